"""Conversion and funnel from storefront events: distinct sessions per step on shop-local days."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from shared.analytics.funnel import build_steps, ratio
from tests.support import Tenant, build_tenant


def test_ratio_is_null_without_a_basis_and_rounds_half_up() -> None:
    assert ratio(0, 0) is None
    assert ratio(1, 3) == 0.3333
    assert ratio(2, 3) == 0.6667
    steps = build_steps(4, {"product_view": 2, "add_to_cart": 0, "checkout_started": 0, "purchase": 0})
    assert [(s.sessions, s.rate_from_previous) for s in steps] == [(2, 0.5), (0, 0.0), (0, None), (0, None)]


def _event(conn: psycopg.Connection[Any], t: Tenant, session: str, kind: str, at: datetime) -> None:
    conn.execute("insert into events (org_id, store_id, type, session_id, occurred_at) values (%s, %s, %s, %s, %s)",
                 (t.org_id, t.store_id, kind, session, at))


async def test_funnel_counts_sessions_on_local_days_and_converts_against_orders(
        client: httpx.AsyncClient, service_conn: psycopg.Connection[Any]) -> None:
    t = build_tenant(service_conn, f"funnel-{uuid.uuid4().hex[:6]}")  # Europe/Berlin: UTC+1 in November
    service_conn.execute("delete from orders where store_id = %s", (t.store_id,))
    inside = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for session, kinds in {"s1": ["page_view", "product_view", "add_to_cart", "checkout_started", "purchase"],
                           "s2": ["page_view", "product_view", "add_to_cart"],
                           "s3": ["product_view"], "s4": ["page_view"]}.items():
        for kind in kinds:
            _event(service_conn, t, session, kind, inside)
    _event(service_conn, t, "s5", "page_view", datetime(2026, 11, 11, 23, 30, tzinfo=UTC))  # Nov 12 in Berlin
    _event(service_conn, t, "s6", "page_view", datetime(2026, 11, 9, 23, 30, tzinfo=UTC))  # Nov 10 in Berlin
    for placed in (datetime(2026, 11, 10, 9, tzinfo=UTC), datetime(2026, 11, 11, 9, tzinfo=UTC)):
        service_conn.execute(
            "insert into orders (org_id, store_id, external_id, placed_at, currency, total_price) "
            "values (%s, %s, %s, %s, 'EUR', 10)", (t.org_id, t.store_id, f"F{placed.day}", placed))
    r = await client.get("/api/v1/analytics/funnel", params={"store_id": str(t.store_id), "from": "2026-11-10",
                                                             "to": "2026-11-11"}, headers=t.member)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sessions"], body["orders"], body["events_present"]) == (5, 2, True)  # s1-s4 and s6
    assert body["conversion_rate"] == 0.4
    assert [(s["step"], s["sessions"]) for s in body["steps"]] == [
        ("product_view", 3), ("add_to_cart", 2), ("checkout_started", 1), ("purchase", 1)]
    empty = await client.get("/api/v1/analytics/funnel", params={"store_id": str(t.store_id), "from": "2026-10-01",
                                                                 "to": "2026-10-02"}, headers=t.member)
    assert (empty.json()["events_present"], empty.json()["conversion_rate"]) == (False, None)


async def test_funnel_of_another_orgs_store_is_404(client: httpx.AsyncClient, world: dict[str, Tenant]) -> None:
    r = await client.get("/api/v1/analytics/funnel", params={"store_id": str(world["a"].store_id),
                                                             "from": "2026-11-01", "to": "2026-11-02"},
                         headers=world["b"].member)
    assert r.status_code == 404
