"""Shared fixtures: a real Postgres (embedded unless TEST_DATABASE_URL is set), migrated once per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from devhost.fakes.openai import FakeOpenAI
from devhost.postgres import EmbeddedPostgres
from shared.db.migrate import migrate
from tests.support_servers import serve_asgi


def _with_database(url: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pg")) / "data")
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database with every migration applied, dropped at the end of the run."""
    name = f"test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = _with_database(pg_server_url, name)
    migrate(url)
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[tuple[FakeOpenAI, str]]:
    """The fake OpenAI endpoint (devhost/fakes/openai.py) on loopback, and its base URL."""
    fake = FakeOpenAI()
    with serve_asgi(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def fake_openai(fake_openai_server: tuple[FakeOpenAI, str]) -> Iterator[FakeOpenAI]:
    """The fake with no scripted answers or recorded requests left from another test."""
    fake, _ = fake_openai_server
    fake.reset()
    yield fake
    fake.reset()
