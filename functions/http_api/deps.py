"""Dependency aliases: the container, the verified caller, and a transaction scoped to the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.auth.access import Access, load_access
from shared.auth.tokens import Principal
from shared.bootstrap import Container
from shared.errors import Unauthorized
from shared.pagination import DEFAULT_LIMIT, MAX_LIMIT
from shared.ratelimit import RateLimiter

_bearer = HTTPBearer(auto_error=False, description="Supabase access token (JWT)")


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_principal(
    request: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send a bearer token: Authorization: Bearer <access token>")
    principal = container.tokens.verify(credentials.credentials)
    limiter: RateLimiter = request.app.state.rate_limiter
    endpoint_class = "read" if request.method in ("GET", "HEAD") else "write"
    limiter.hit(str(principal.user_id), endpoint_class)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_user_conn(container: ContainerDep, principal: CurrentPrincipal) -> AsyncIterator[
        AsyncConnection[DictRow]]:
    """One transaction per request, as role `authenticated` with the caller's claims (RLS applies)."""
    async with container.db.as_user(principal.claims) as conn:
        yield conn


UserConn = Annotated[AsyncConnection[DictRow], Depends(get_user_conn)]


async def get_access(conn: UserConn, principal: CurrentPrincipal) -> Access:
    return await load_access(conn, principal)


AccessDep = Annotated[Access, Depends(get_access)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Cursor = Annotated[str | None, Query(max_length=512, description="opaque cursor from next_cursor")]
DEFAULT_PAGE_SIZE = DEFAULT_LIMIT
