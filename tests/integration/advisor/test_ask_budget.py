"""The monthly token budget against the real llm_usage rows: over it, POST /advisor/ask answers offline without
calling the model; last month's usage does not count."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from devhost.fakes.openai import FakeOpenAI, answer
from functions.http_api.app import create_app
from shared.advice.language.client import build_language_model
from shared.advice.language.usage import DatabaseUsageRecorder, UsageRecord
from shared.bootstrap import Container
from shared.config import Settings
from tests.support import Tenant, build_tenant

LIMIT = 5_000


@pytest.fixture
async def budget_client(
    container: Container, settings: Settings, fake_openai_server: tuple[FakeOpenAI, str]
) -> AsyncIterator[httpx.AsyncClient]:
    model_settings = settings.model_copy(
        update={
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": f"{fake_openai_server[1]}/v1",
            "openai_model": "gpt-test",
            "llm_timeout_seconds": 2.0,
            "llm_max_retries": 0,
            "llm_monthly_token_limit": LIMIT,
        }
    )
    model = build_language_model(model_settings, usage=DatabaseUsageRecorder(container.db))
    app = create_app(dataclasses.replace(container, language_model=model))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def _ask(client: httpx.AsyncClient, t: Tenant) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/advisor/ask",
        headers=t.member,
        json={"store_id": str(t.store_id), "question": "How much did I sell in the last 7 days?"},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_an_organization_over_its_monthly_tokens_gets_the_offline_answer(
    budget_client: httpx.AsyncClient, fake_openai: FakeOpenAI, container: Container,
    service_conn: psycopg.Connection[Any],
) -> None:
    spent = build_tenant(service_conn, f"budget-{uuid.uuid4().hex[:6]}")
    await DatabaseUsageRecorder(container.db).record(
        UsageRecord(spent.org_id, "phrase", "gpt-test", LIMIT - 1_000, 1_000, 1, spent.store_id)
    )
    body = await _ask(budget_client, spent)
    assert body["source"] == "offline" and body["figures"] and body["citations"]
    assert fake_openai.requests == []  # no request left the server

    fresh = build_tenant(service_conn, f"budget-{uuid.uuid4().hex[:6]}")
    service_conn.execute(  # a big month before this one does not count
        "insert into llm_usage (org_id, purpose, model, prompt_tokens, completion_tokens, cost_micro_usd, created_at)"
        " values (%s, 'ask', 'gpt-test', %s, 0, 0, date_trunc('month', now(), 'UTC') - interval '1 second')",
        (fresh.org_id, LIMIT * 10),
    )
    fake_openai.enqueue(answer({"answer": "Sales were steady.", "figure_ids": []}))
    body = await _ask(budget_client, fresh)
    assert body["source"] == "model" and len(fake_openai.requests) == 1
