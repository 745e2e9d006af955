"""Connection pools and the two ways to run a transaction: as the calling user, or as the service.

As the user, a transaction runs with role `authenticated` and the caller's JWT claims set, the way
Supabase's PostgREST does it, so Row Level Security decides which rows exist for that caller even
when a query forgets its org filter. As the service (sync, triggers, migrations of data), it runs
as the connecting role, which owns the tables and bypasses RLS: only system code may do that.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

# Supabase's transaction pooler (pgbouncer) cannot keep prepared statements across transactions.
_CONNECT_KWARGS: dict[str, Any] = {"prepare_threshold": None, "row_factory": dict_row}
# The async pool's connections are in autocommit: `as_user` and `as_service` still open a transaction
# (conn.transaction() sends BEGIN and COMMIT either way), and `service_statement` can run a statement without
# that BEGIN/COMMIT pair: one round trip instead of three.
_ASYNC_CONNECT_KWARGS: dict[str, Any] = {**_CONNECT_KWARGS, "autocommit": True}


async def _set_claims(conn: AsyncConnection[DictRow], claims: Mapping[str, Any]) -> None:
    await conn.execute(
        "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)",
        (json.dumps(dict(claims)),),
    )


class Database:
    """An async pool for request handlers and a sync pool for activities and triggers.

    The async pool belongs to the event loop that opened it; devhost runs activities in worker
    threads with their own loops, so those use the thread-safe sync pool instead.
    """

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._async_pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None
        self._sync_pool: ConnectionPool[Connection[DictRow]] | None = None

    async def open(self) -> None:
        if self._async_pool is None:
            pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
                self.url,
                min_size=self._min_size,
                max_size=self._max_size,
                kwargs=_ASYNC_CONNECT_KWARGS,
                open=False,
                name="api",
            )
            await pool.open(wait=True, timeout=30)
            self._async_pool = pool

    async def close(self) -> None:
        pool, self._async_pool = self._async_pool, None
        if pool is not None:
            await pool.close()
        self.close_sync()

    def close_sync(self) -> None:
        sync_pool, self._sync_pool = self._sync_pool, None
        if sync_pool is not None:
            sync_pool.close()

    def _require_async(self) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
        if self._async_pool is None:
            raise RuntimeError("Database.open() was not awaited")
        return self._async_pool

    @asynccontextmanager
    async def as_user(self, claims: Mapping[str, Any]) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A transaction in which RLS sees the caller described by `claims` (must carry `sub`)."""
        if not claims.get("sub"):
            raise ValueError("claims without a subject")
        async with self._require_async().connection() as conn, conn.transaction():
            await _set_claims(conn, claims)
            yield conn

    @asynccontextmanager
    async def as_service(self) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A transaction as the table owner (RLS bypassed). System code only."""
        async with self._require_async().connection() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def service_statement(self) -> AsyncIterator[AsyncConnection[DictRow]]:
        """A connection as the table owner (RLS bypassed) on which each statement commits on its own. System code.

        For a write that is a single statement (the webhook intake's INSERT): one round trip, where a
        transaction costs three. When `execute` returns, the statement is committed: psycopg waits for the
        server's ReadyForQuery, which comes after the implicit commit, and a failed commit raises. Statements
        that must succeed or fail together belong in `as_service`.
        """
        async with self._require_async().connection() as conn:
            yield conn

    async def ping(self) -> None:
        async with self._require_async().connection(timeout=5) as conn:
            await conn.execute("select 1")

    @contextmanager
    def service_sync(self) -> Iterator[Connection[DictRow]]:
        """A blocking transaction as the table owner, for activities and trigger handlers."""
        if self._sync_pool is None:
            self._sync_pool = ConnectionPool(
                self.url, min_size=1, max_size=self._max_size, kwargs=_CONNECT_KWARGS, open=True, name="work"
            )
        with self._sync_pool.connection() as conn, conn.transaction():
            yield conn
