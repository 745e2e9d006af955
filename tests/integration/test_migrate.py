"""The migrator applies each migration once, in order, atomically, and records it as Supabase's CLI does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from shared.db.migrate import discover, migrate


@pytest.fixture
def empty_db(pg_server_url: str) -> Iterator[str]:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    info["dbname"] = name
    yield psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def test_applies_pending_migrations_once_in_order(empty_db: str) -> None:
    versions = [m.version for m in discover()]
    assert versions == sorted(versions)
    assert migrate(empty_db) == versions
    assert migrate(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        recorded = [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations "
                                               "order by version")]
        rls = conn.execute("select count(*) from pg_tables where schemaname = 'public' and not rowsecurity "
                           "and tablename <> 'schema_migrations'").fetchone()
    assert recorded == versions
    assert rls == (0,), "every public table has row level security"


def test_a_failing_migration_leaves_nothing_behind(empty_db: str, tmp_path: Path) -> None:
    (tmp_path / "20990101000000_good.sql").write_text("create table public.good_one (id int);")
    (tmp_path / "20990101000001_bad.sql").write_text("create table public.half (id int); select 1/0;")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(empty_db, directory=tmp_path)
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('public.good_one') is not null").fetchone() == (True,)
        assert conn.execute("select to_regclass('public.half') is null").fetchone() == (True,)
        recorded = [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations")]
    assert recorded == ["20990101000000"]


def test_a_misnamed_migration_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "add_things.sql").write_text("select 1;")
    with pytest.raises(ValueError, match="14-digit version"):
        discover(tmp_path)
