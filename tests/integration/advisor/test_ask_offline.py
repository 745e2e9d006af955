"""POST /advisor/ask without a model: the deterministic advisor answers from the real analytics services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from shared.advice.evidence import Figure
from shared.advice.language.offline import I_DONT_KNOW
from shared.advice.numbers import untraceable_numbers
from tests.support import PRODUCTS, Tenant, build_tenant

TITLES = [p[0] for p in PRODUCTS]


@pytest.fixture
def shop(service_conn: psycopg.Connection[Any]) -> Tenant:
    """build_tenant's store: 3 orders of one Blue Hoodie (49.00 EUR) in the last hours; 15 hoodies on hand."""
    return build_tenant(service_conn, f"ask-{uuid.uuid4().hex[:6]}")


async def ask(client: httpx.AsyncClient, t: Tenant, question: str) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/advisor/ask", json={"store_id": str(t.store_id), "question": question}, headers=t.member
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def assert_cited_and_traceable(body: dict[str, Any]) -> None:
    figures = [Figure.model_validate({k: v for k, v in f.items() if k != "id"}) for f in body["figures"]]
    assert [c["figure_id"] for c in body["citations"]] == [f["id"] for f in body["figures"]]
    assert untraceable_numbers(body["answer"], figures, quoted=TITLES) == []


async def test_sales_for_a_period(client: httpx.AsyncClient, shop: Tenant) -> None:
    body = await ask(client, shop, "What were my sales in the last 30 days?")
    assert body["source"] == "offline"
    assert "147.00 EUR" in body["answer"] and "3 orders" in body["answer"]
    net = next(f for f in body["figures"] if f["metric"] == "net_sales")
    assert (net["value"], net["currency"], net["unit"]) == ("147.00", "EUR", "money")
    assert net["query"].startswith("analytics.summary(")
    assert_cited_and_traceable(body)


async def test_best_sellers(client: httpx.AsyncClient, shop: Tenant) -> None:
    body = await ask(client, shop, "Which products are my best sellers in the last 7 days?")
    assert body["answer"].startswith("Best sellers by net sales")
    assert "“Blue Hoodie” (147.00 EUR net, 3 units)" in body["answer"]
    assert_cited_and_traceable(body)


async def test_stock_out_and_reorder_for_a_named_product(client: httpx.AsyncClient, shop: Tenant) -> None:
    body = await ask(client, shop, "When will the blue hoodie run out of stock? How much should I reorder?")
    metrics = {f["metric"]: f["value"] for f in body["figures"]}
    assert metrics["on_hand"] == "15"
    assert "forecast_units" in metrics and "reorder_quantity" in metrics
    assert body["answer"].startswith("“Blue Hoodie” has 15 units on hand")
    assert_cited_and_traceable(body)


async def test_customers_and_repeat(client: httpx.AsyncClient, shop: Tenant) -> None:
    body = await ask(client, shop, "How many repeat customers did I have this year?")
    metrics = {f["metric"]: f["value"] for f in body["figures"]}
    assert metrics["new_customers"] == "3" and metrics["returning_customers"] == "0"
    assert metrics["customers"] == "3"
    assert_cited_and_traceable(body)


async def test_conversion_with_and_without_events(
    client: httpx.AsyncClient, shop: Tenant, service_conn: psycopg.Connection[Any]
) -> None:
    body = await ask(client, shop, "What is my conversion rate last week?")
    assert body["answer"].startswith(I_DONT_KNOW) and body["figures"] == [] and body["citations"] == []
    now = datetime.now(UTC)
    for i in range(6):
        service_conn.execute(
            "insert into events (org_id, store_id, type, session_id, occurred_at) values (%s, %s, 'page_view', %s, %s)",
            (shop.org_id, shop.store_id, f"s{i}", now - timedelta(minutes=5)),
        )
    body = await ask(client, shop, "What is my conversion rate in the last 30 days?")
    metrics = {f["metric"]: f["value"] for f in body["figures"]}
    assert (metrics["sessions"], metrics["orders"], metrics["conversion_rate_pct"]) == ("6", "3", "50")
    assert_cited_and_traceable(body)


@pytest.mark.parametrize(
    "question", ["What's the weather like in Berlin?", "When will the Purple Unicorn run out of stock?"]
)
async def test_unmatched_questions_get_i_dont_know(client: httpx.AsyncClient, shop: Tenant, question: str) -> None:
    body = await ask(client, shop, question)
    assert body == {"answer": I_DONT_KNOW, "citations": [], "figures": [], "source": "offline"}


async def test_another_orgs_store_is_404_and_bad_questions_are_422(
    client: httpx.AsyncClient, world: dict[str, Tenant]
) -> None:
    a, b = world["a"], world["b"]
    r = await client.post(
        "/api/v1/advisor/ask", json={"store_id": str(a.store_id), "question": "sales?"}, headers=b.member
    )
    assert r.status_code == 404
    r = await client.post(
        "/api/v1/advisor/ask", json={"store_id": str(uuid.uuid4()), "question": "sales?"}, headers=a.member
    )
    assert r.status_code == 404
    for question in ("", "x" * 501):
        r = await client.post(
            "/api/v1/advisor/ask", json={"store_id": str(a.store_id), "question": question}, headers=a.member
        )
        assert r.status_code == 422
    r = await client.post("/api/v1/advisor/ask", json={"store_id": str(a.store_id), "question": "sales?"})
    assert r.status_code == 401
