"""Applies supabase/migrations/*.sql once each, in order, each in its own transaction.

Applied versions are recorded in supabase_migrations.schema_migrations, the table the Supabase CLI
uses, so `supabase db push` in production and this migrator locally agree on what has run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2] / "supabase"
MIGRATIONS_DIR = ROOT / "migrations"
LOCAL_COMPAT_DIR = ROOT / "local"
_NAME = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every migrator process.
_LOCK_KEY = 7_210_453_001


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file, sorted by version; a misnamed .sql file is an error, not a skip."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file name must be <14-digit version>_<name>.sql: {path.name}")
        found.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version")
    return found


def _ensure_bookkeeping(conn: psycopg.Connection) -> None:
    conn.execute("create schema if not exists supabase_migrations")
    conn.execute(
        "create table if not exists supabase_migrations.schema_migrations "
        "(version text primary key, statements text[], name text)"
    )


def _apply_local_compat(conn: psycopg.Connection) -> None:
    """Create the auth schema and roles Supabase has, unless this database already has them."""
    has_auth_uid = conn.execute("select to_regprocedure('auth.uid()') is not null").fetchone()
    if has_auth_uid and has_auth_uid[0]:
        return
    for path in sorted(LOCAL_COMPAT_DIR.glob("*.sql")):
        log.info("applying local compatibility script %s", path.name)
        conn.execute(path.read_text(encoding="utf-8"))


def migrate(database_url: str, *, local_compat: bool = True, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the versions applied now (empty when up to date)."""
    migrations = discover(directory)
    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            with conn.transaction():
                if local_compat:
                    _apply_local_compat(conn)
                _ensure_bookkeeping(conn)
            done = {row[0] for row in conn.execute("select version from supabase_migrations.schema_migrations")}
            for migration in migrations:
                if migration.version in done:
                    continue
                log.info("applying migration %s_%s", migration.version, migration.name)
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "insert into supabase_migrations.schema_migrations (version, statements, name) "
                        "values (%s, %s, %s)",
                        (migration.version, [migration.sql], migration.name),
                    )
                applied_now.append(migration.version)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
