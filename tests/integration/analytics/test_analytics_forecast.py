"""GET /api/v1/analytics/forecast against real Postgres: a product with 120 days of weekly-seasonal sales,
inserted as orders on shop-local days; the stock-out date and reorder arithmetic are re-derived here."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support import Tenant, build_tenant

TZ = "America/New_York"
WEEK = [2, 3, 3, 4, 6, 10, 8]  # units by weekday, Monday first
DAYS = 120


def units_on(day: date, i: int) -> int:
    return WEEK[day.weekday()] + (1 if i % 3 == 0 else 0)


@dataclass
class World:
    tenant: Tenant
    seasonal: uuid.UUID
    sold_out: uuid.UUID
    untracked: uuid.UUID
    today: date


def _product(conn: psycopg.Connection[Any], t: Tenant, store: uuid.UUID, key: str, stock: int | None) -> uuid.UUID:
    pid: uuid.UUID = conn.execute(
        "insert into products (org_id, store_id, external_id, title) values (%s, %s, %s, %s) returning id",
        (t.org_id, store, f"fc-{key}", key)).fetchone()["id"]
    conn.execute("insert into variants (org_id, store_id, product_id, external_id, price, inventory_quantity) "
                 "values (%s, %s, %s, %s, 1, %s)", (t.org_id, store, pid, f"fc-{key}-v", stock))
    return pid


def _order(conn: psycopg.Connection[Any], t: Tenant, store: uuid.UUID, key: str, product: uuid.UUID, day: date,
           qty: int, test: bool = False) -> None:
    at = datetime.combine(day, time(12), ZoneInfo(TZ)).astimezone(UTC)
    oid = conn.execute(
        "insert into orders (org_id, store_id, external_id, placed_at, test, currency) "
        "values (%s, %s, %s, %s, %s, 'USD') returning id", (t.org_id, store, key, at, test)).fetchone()["id"]
    conn.execute("insert into order_lines (org_id, store_id, order_id, external_id, product_id, quantity, unit_price) "
                 "values (%s, %s, %s, %s, %s, %s, 10)", (t.org_id, store, oid, f"{key}-l", product, qty))


@pytest.fixture(scope="module")
def fc(database_url: str, world: dict[str, Tenant]) -> World:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"fc{uuid.uuid4().hex[:6]}", currency="USD")
        store = conn.execute(
            "insert into stores (org_id, platform, name, shop_domain, currency, timezone, last_synced_at) "
            "values (%s, 'shopify', 'Forecast', %s, 'USD', %s, now()) returning id",
            (t.org_id, f"fc-{uuid.uuid4().hex[:6]}.myshopify.com", TZ)).fetchone()["id"]
        conn.execute("insert into sync_jobs (org_id, store_id, mode, status, instance_id, finished_at) "
                     "values (%s, %s, 'full', 'succeeded', %s, now())", (t.org_id, store, f"sync-{store}-1"))
        today = conn.execute("select (now() at time zone %s)::date as d", (TZ,)).fetchone()["d"]
        seasonal = _product(conn, t, store, "seasonal", 40)
        sold_out = _product(conn, t, store, "sold-out", 0)
        untracked = _product(conn, t, store, "untracked", None)
        for i in range(DAYS):
            day = today - timedelta(days=DAYS - i)
            _order(conn, t, store, f"s{i}", seasonal, day, units_on(day, i))
            _order(conn, t, store, f"u{i}", untracked, day, units_on(day, i))
            if i < DAYS - 5:  # the last five days: nothing left to sell
                _order(conn, t, store, f"o{i}", sold_out, day, units_on(day, i))
        _order(conn, t, store, "test", seasonal, today - timedelta(days=3), 500, test=True)  # never counts
        _order(conn, t, store, "today", seasonal, today, 50)  # today is not complete: not in the history
        return World(t, seasonal, sold_out, untracked, today)


async def fetch(client: httpx.AsyncClient, t: Tenant, product: uuid.UUID, **params: str) -> httpx.Response:
    return await client.get("/api/v1/analytics/forecast", headers=t.member,
                            params={"product_id": str(product), **params})


async def test_weekly_seasonal_product(client: httpx.AsyncClient, fc: World) -> None:
    r = await fetch(client, fc.tenant, fc.seasonal, horizon_days="28")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["demand_class"], body["interval_method"]) == ("AutoETS", "regular", "model")
    assert body["history"] == [str(fc.today - timedelta(days=DAYS)), str(fc.today - timedelta(days=1))]
    assert body["out_of_stock_days"] == 0 and body["on_hand"] == 40
    points = body["points"]
    assert [p["date"] for p in points] == [str(fc.today + timedelta(days=i)) for i in range(28)]
    for p in points:
        assert 0 <= p["lower"] <= p["mean"] <= p["upper"]
        weekday = date.fromisoformat(p["date"]).weekday()
        assert abs(p["mean"] - (WEEK[weekday] + 1 / 3)) < 1.0, p  # the weekly pattern, not the test order
    # stock-out: the first day whose cumulative forecast demand exceeds the 40 on hand
    cumulative, want = 0.0, None
    for p in points:
        cumulative += p["mean"]
        if cumulative > 40:
            want = p["date"]
            break
    assert want is not None and body["stockout_date"] == want
    re = body["reorder"]
    assert re["lead_time_days"] == 14 and re["service_level"] == 0.95 and re["on_hand"] == 40
    assert re["lead_time_demand"] == pytest.approx(sum(p["mean"] for p in points[:14]), abs=1e-3)
    assert re["z"] == pytest.approx(NormalDist().inv_cdf(0.95), abs=1e-4)
    assert re["safety_stock"] == pytest.approx(re["z"] * re["residual_sd"] * math.sqrt(14), abs=1e-3)
    assert re["quantity"] == math.ceil(re["lead_time_demand"] + re["safety_stock"] - 40)
    assert body["as_of"] is not None and len(body["syncs"]) == 1


async def test_lead_time_longer_than_the_horizon(client: httpx.AsyncClient, fc: World) -> None:
    short = (await fetch(client, fc.tenant, fc.seasonal, horizon_days="7", lead_time_days="28")).json()
    long = (await fetch(client, fc.tenant, fc.seasonal, horizon_days="28")).json()
    assert len(short["points"]) == 7
    assert short["reorder"]["lead_time_demand"] == pytest.approx(sum(p["mean"] for p in long["points"]), abs=1e-2)


async def test_days_out_of_stock_are_not_zero_demand(client: httpx.AsyncClient, fc: World) -> None:
    body = (await fetch(client, fc.tenant, fc.sold_out, horizon_days="7")).json()
    assert body["out_of_stock_days"] == 5 and body["on_hand"] == 0
    assert body["stockout_date"] == str(fc.today)
    assert sum(p["mean"] for p in body["points"]) > 25  # about 36 a week, not dragged down by the zeros
    assert body["reorder"]["quantity"] > 0


async def test_untracked_stock_has_no_stockout_or_reorder(client: httpx.AsyncClient, fc: World) -> None:
    body = (await fetch(client, fc.tenant, fc.untracked, horizon_days="3")).json()
    assert body["on_hand"] is None and body["stockout_date"] is None and body["reorder"] is None
    assert len(body["points"]) == 3


async def test_another_organizations_product_is_not_found(client: httpx.AsyncClient, fc: World,
                                                          world: dict[str, Tenant]) -> None:
    r = await fetch(client, world["b"], fc.seasonal, horizon_days="7")
    assert r.status_code == 404, r.text
    r = await fetch(client, fc.tenant, uuid.uuid4(), horizon_days="7")
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("params", [
    {"horizon_days": "0"}, {"horizon_days": "91"}, {"horizon_days": "7", "lead_time_days": "0"},
    {"horizon_days": "7", "lead_time_days": "121"}, {"horizon_days": "7", "service_level": "1"},
    {"horizon_days": "abc"},
])
async def test_bad_parameters_are_422(client: httpx.AsyncClient, fc: World, params: dict[str, str]) -> None:
    r = await fetch(client, fc.tenant, fc.seasonal, **params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"]


async def test_missing_or_malformed_product_id_is_422(client: httpx.AsyncClient, fc: World) -> None:
    for params in ({"horizon_days": "7"}, {"product_id": "nope", "horizon_days": "7"}):
        r = await client.get("/api/v1/analytics/forecast", headers=fc.tenant.member, params=params)
        assert r.status_code == 422, r.text


async def test_needs_a_token(client: httpx.AsyncClient, fc: World) -> None:
    r = await client.get("/api/v1/analytics/forecast", params={"product_id": str(fc.seasonal)})
    assert r.status_code == 401
