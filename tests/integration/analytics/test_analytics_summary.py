"""Summary and time series against real Postgres: every figure equals an independent calculation from the
raw rows inserted here (shop-local days, refunds on their own date, counting rules of each platform)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support import Tenant, build_tenant, insert_synced_store

D = Decimal
WOO_EXCLUDED = {"pending", "failed", "cancelled", "checkout-draft", "trash"}


@dataclass
class Line:
    qty: int
    unit: str
    discount: str = "0"


@dataclass
class Refund:
    at: datetime
    subtotals: list[str] = field(default_factory=list)
    shipping: str = "0"
    tax: str = "0"


@dataclass
class Order:
    at: datetime
    lines: list[Line]
    customer: str | None = None
    order_discount: str = "0"  # order-level, on top of the line discounts
    shipping: str = "0"
    tax: str = "0"
    fees: str = "0"
    status: str | None = None
    test: bool = False
    refunds: list[Refund] = field(default_factory=list)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# America/New_York is UTC-4 in October 2026.
NY_ORDERS = [
    Order(utc(2026, 10, 5, 4, 30), [Line(2, "20.00", "5.00"), Line(1, "15.50")], "c1", order_discount="3.00",
          shipping="7.00", tax="4.12", refunds=[Refund(utc(2026, 10, 10, 12), shipping="7.00")]),  # Oct 5 00:30
    Order(utc(2026, 10, 5, 3, 59), [Line(1, "100.00")], "c2", order_discount="10.00", shipping="5.00", tax="8.00",
          refunds=[Refund(utc(2026, 10, 9, 12), ["45.00"], shipping="5.00", tax="3.60")]),  # Oct 4 23:59
    Order(utc(2026, 10, 7, 15), [Line(3, "9.99", "2.97")], "c2", tax="2.16"),
    Order(utc(2026, 10, 8, 12), [Line(1, "50.00")], "c3", shipping="4.00", tax="4.00", status="cancelled",
          refunds=[Refund(utc(2026, 10, 8, 13), ["50.00"], shipping="4.00", tax="4.00")]),
    Order(utc(2026, 10, 6, 12), [Line(1, "999.00")], "c4", test=True,
          refunds=[Refund(utc(2026, 10, 7, 12), ["999.00"])]),
    Order(utc(2026, 10, 11, 3, 30), [Line(2, "12.00")], None, fees="1.50"),  # guest, Oct 10 23:30
    Order(utc(2026, 10, 12, 4, 30), [Line(1, "12.00")], None),  # Oct 12 00:30: after the period
    Order(utc(2026, 8, 15, 12), [Line(1, "30.00")], "c5"),
    Order(utc(2026, 9, 30, 12), [Line(1, "30.00")], "c5", shipping="3.33", tax="1.01"),
    Order(utc(2026, 9, 29, 2), [Line(1, "10.01")], "c6"),  # Sep 28 22:00 local
]

WOO_ORDERS = [
    Order(utc(2026, 10, 5, 10), [Line(2, "10.00", "2.00")], "w1", shipping="4.90", tax="3.42", fees="2.50",
          status="completed"),
    Order(utc(2026, 10, 5, 22, 30), [Line(1, "19.99", "1.99")], "w2", tax="3.42", fees="-1.00",
          status="processing"),  # Oct 6 00:30 in Berlin
    Order(utc(2026, 10, 6, 9), [Line(1, "40.00")], "w1", status="refunded",
          refunds=[Refund(utc(2026, 10, 7, 9), ["40.00"], tax="0.00")]),
    Order(utc(2026, 10, 6, 10), [Line(1, "15.00")], "w3", status="on-hold"),
    *[Order(utc(2026, 10, 6, 11), [Line(1, "77.00")], "w4", status=s) for s in sorted(WOO_EXCLUDED)],
]


# The independent calculation ---------------------------------------------------------------------------

def counts(o: Order, platform: str) -> bool:
    return not o.test and (platform == "shopify" or (o.status or "") not in WOO_EXCLUDED)


def expected(orders: list[Order], platform: str, tz: str, start: date, end: date) -> dict[str, Any]:
    zone = ZoneInfo(tz)

    def local(at: datetime) -> date:
        return at.astimezone(zone).date()

    cents: dict[str, int] = dict.fromkeys(
        ("gross_sales", "discounts", "returns", "shipping", "taxes", "fees"), 0)
    n = {"orders": 0, "units_sold": 0, "refunds": 0}
    counting = [o for o in orders if counts(o, platform)]
    for o in counting:
        if start <= local(o.at) <= end:
            n["orders"] += 1
            for li in o.lines:
                n["units_sold"] += li.qty
                cents["gross_sales"] += round(D(li.unit) * 100) * li.qty
                cents["discounts"] += round(D(li.discount) * 100)
            cents["discounts"] += round(D(o.order_discount) * 100)
            cents["shipping"] += round(D(o.shipping) * 100)
            cents["taxes"] += round(D(o.tax) * 100)
            cents["fees"] += round(D(o.fees) * 100)
        for r in o.refunds:
            if start <= local(r.at) <= end:
                n["refunds"] += 1
                cents["returns"] += sum(round(D(s) * 100) for s in r.subtotals)
                cents["shipping"] -= round(D(r.shipping) * 100)
                cents["taxes"] -= round(D(r.tax) * 100)
    cents["net_sales"] = cents["gross_sales"] - cents["discounts"] - cents["returns"]
    cents["total_sales"] = cents["net_sales"] + cents["shipping"] + cents["taxes"] + cents["fees"]
    first: dict[str, date] = {}
    for o in counting:
        if o.customer:
            first[o.customer] = min(first.get(o.customer, date.max), local(o.at))
    buyers = {o.customer for o in counting if o.customer and start <= local(o.at) <= end}
    n["new_customers"] = sum(1 for c in buyers if first[c] >= start)
    n["returning_customers"] = sum(1 for c in buyers if first[c] < start)
    aov = (D(cents["gross_sales"] - cents["discounts"]) / 100 / n["orders"]).quantize(
        D("0.01"), rounding=ROUND_HALF_UP) if n["orders"] else D("0.00")
    out: dict[str, Any] = {k: f"{D(v) / 100:.2f}" for k, v in cents.items()}
    out["aov"] = f"{aov:.2f}"
    out.update(n)
    return out


def metrics_of(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v["amount"] if isinstance(v, dict) else v for k, v in body["metrics"].items()}


# Arranging the rows ------------------------------------------------------------------------------------

def insert_store(conn: psycopg.Connection[Any], t: Tenant, platform: str, tz: str, orders: list[Order]) -> uuid.UUID:
    store = insert_synced_store(conn, t, platform, tz, "Analytics")
    customers: dict[str, uuid.UUID] = {}
    for i, o in enumerate(orders):
        cid = None
        if o.customer:
            if o.customer not in customers:
                customers[o.customer] = conn.execute(
                    "insert into customers (org_id, store_id, external_id) values (%s, %s, %s) returning id",
                    (t.org_id, store, o.customer)).fetchone()["id"]
            cid = customers[o.customer]
        line_disc = sum((D(li.discount) for li in o.lines), D(0))
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, customer_id, customer_external_id, placed_at, "
            "test, status, cancelled_at, currency, total_discounts, total_shipping, total_tax, total_fees) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'USD', %s, %s, %s, %s) returning id",
            (t.org_id, store, f"o{i}", cid, o.customer, o.at, o.test, o.status,
             o.at if o.status == "cancelled" else None, line_disc + D(o.order_discount), o.shipping, o.tax,
             o.fees)).fetchone()["id"]
        for j, li in enumerate(o.lines):
            conn.execute(
                "insert into order_lines (org_id, store_id, order_id, external_id, quantity, unit_price, "
                "line_discount) values (%s, %s, %s, %s, %s, %s, %s)",
                (t.org_id, store, oid, f"o{i}-l{j}", li.qty, li.unit, li.discount))
        for k, r in enumerate(o.refunds):
            rid = conn.execute(
                "insert into refunds (org_id, store_id, order_id, external_id, refunded_at, shipping, tax) "
                "values (%s, %s, %s, %s, %s, %s, %s) returning id",
                (t.org_id, store, oid, f"o{i}-r{k}", r.at, r.shipping, r.tax)).fetchone()["id"]
            for j, subtotal in enumerate(r.subtotals):
                conn.execute(
                    "insert into refund_lines (org_id, store_id, refund_id, line_external_id, quantity, subtotal) "
                    "values (%s, %s, %s, %s, 1, %s)", (t.org_id, store, rid, f"o{i}-l{j}", subtotal))
    return store


@dataclass
class Shops:
    tenant: Tenant
    ny: uuid.UUID
    woo: uuid.UUID


@pytest.fixture(scope="module")
def shops(database_url: str, world: dict[str, Tenant]) -> Shops:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"an{uuid.uuid4().hex[:6]}", currency="USD")
        return Shops(t, insert_store(conn, t, "shopify", "America/New_York", NY_ORDERS),
                     insert_store(conn, t, "woocommerce", "Europe/Berlin", WOO_ORDERS))


async def summary(client: httpx.AsyncClient, t: Tenant, store: uuid.UUID, start: str, end: str) -> httpx.Response:
    return await client.get("/api/v1/analytics/summary", headers=t.member,
                            params={"store_id": str(store), "from": start, "to": end})


# The tests ---------------------------------------------------------------------------------------------

async def test_summary_matches_an_independent_calculation_in_the_shops_time_zone(
        client: httpx.AsyncClient, shops: Shops) -> None:
    r = await summary(client, shops.tenant, shops.ny, "2026-10-05", "2026-10-11")
    assert r.status_code == 200, r.text
    body = r.json()
    assert metrics_of(body["period"]) == expected(NY_ORDERS, "shopify", "America/New_York",
                                                  date(2026, 10, 5), date(2026, 10, 11))
    assert body["previous_period"]["from"] == "2026-09-28" and body["previous_period"]["to"] == "2026-10-04"
    assert metrics_of(body["previous_period"]) == expected(NY_ORDERS, "shopify", "America/New_York",
                                                           date(2026, 9, 28), date(2026, 10, 4))
    assert body["period"]["metrics"]["net_sales"] == {"amount": body["period"]["metrics"]["net_sales"]["amount"],
                                                      "currency": "USD"}
    assert body["as_of"] is not None and len(body["syncs"]) == 1


async def test_worked_example_of_docs_metrics_md(client: httpx.AsyncClient, shops: Shops) -> None:
    body = (await summary(client, shops.tenant, shops.ny, "2026-10-05", "2026-10-11")).json()
    assert metrics_of(body["period"]) == {
        "gross_sales": "159.47", "discounts": "10.97", "returns": "95.00", "net_sales": "53.50",
        "shipping": "-5.00", "taxes": "2.68", "fees": "1.50", "total_sales": "52.68", "aov": "37.13",
        "orders": 4, "units_sold": 9, "refunds": 3, "new_customers": 2, "returning_customers": 1,
    }
    assert metrics_of(body["previous_period"])["gross_sales"] == "140.01"
    assert body["change"]["gross_sales"] == 13.90
    assert body["change"]["fees"] is None  # nothing the week before


async def test_change_is_percent_against_the_previous_period(client: httpx.AsyncClient, shops: Shops) -> None:
    body = (await summary(client, shops.tenant, shops.ny, "2026-10-05", "2026-10-11")).json()
    cur, prev = metrics_of(body["period"]), metrics_of(body["previous_period"])
    for name, pct in body["change"].items():
        if D(str(prev[name])) == 0:
            assert pct is None, name
        else:
            want = ((D(str(cur[name])) - D(str(prev[name]))) * 100 / abs(D(str(prev[name])))).quantize(
                D("0.01"), rounding=ROUND_HALF_UP)
            assert D(str(pct)) == want, name


async def test_woocommerce_counts_only_woo_analytics_statuses(client: httpx.AsyncClient, shops: Shops) -> None:
    r = await summary(client, shops.tenant, shops.woo, "2026-10-05", "2026-10-11")
    assert r.status_code == 200, r.text
    got = metrics_of(r.json()["period"])
    assert got == expected(WOO_ORDERS, "woocommerce", "Europe/Berlin", date(2026, 10, 5), date(2026, 10, 11))
    assert got["orders"] == 4 and got["discounts"] == "3.99" and got["fees"] == "1.50"


async def test_timeseries_by_day_has_zeros_for_quiet_days(client: httpx.AsyncClient, shops: Shops) -> None:
    r = await client.get("/api/v1/analytics/timeseries", headers=shops.tenant.member, params={
        "store_id": str(shops.ny), "metric": "net_sales", "interval": "day", "from": "2026-10-04", "to": "2026-10-12"})
    assert r.status_code == 200, r.text
    body = r.json()
    days = [date(2026, 10, 4) + timedelta(days=i) for i in range(9)]
    assert [p["t"] for p in body["points"]] == [d.isoformat() for d in days]
    assert [p["value"] for p in body["points"]] == [
        expected(NY_ORDERS, "shopify", "America/New_York", d, d)["net_sales"] for d in days]
    assert body["points"][2]["value"] == "0.00"  # Oct 6: only a test order
    assert body["unit"] == "money" and body["currency"] == "USD" and body["as_of"]


@pytest.mark.parametrize(("interval", "start", "end", "buckets"), [
    ("week", "2026-09-28", "2026-10-11", [("2026-09-28", "2026-10-04"), ("2026-10-05", "2026-10-11")]),
    ("month", "2026-08-01", "2026-10-31", [("2026-08-01", "2026-08-31"), ("2026-09-01", "2026-09-30"),
                                           ("2026-10-01", "2026-10-31")]),
    ("week", "2026-09-30", "2026-10-06", [("2026-09-30", "2026-10-04"), ("2026-10-05", "2026-10-06")]),
])
@pytest.mark.parametrize("metric", ["gross_sales", "orders", "returning_customers", "new_customers", "aov",
                                    "total_sales", "refunds"])
async def test_timeseries_weeks_start_monday_and_months_on_the_first(
        client: httpx.AsyncClient, shops: Shops, interval: str, start: str, end: str,
        buckets: list[tuple[str, str]], metric: str) -> None:
    r = await client.get("/api/v1/analytics/timeseries", headers=shops.tenant.member, params={
        "store_id": str(shops.ny), "metric": metric, "interval": interval, "from": start, "to": end})
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    firsts = [date.fromisoformat(a) for a, _ in buckets]
    labels = [d - timedelta(days=d.weekday()) if interval == "week" else d.replace(day=1) for d in firsts]
    assert [p["t"] for p in points] == [d.isoformat() for d in labels]
    assert [p["value"] for p in points] == [
        expected(NY_ORDERS, "shopify", "America/New_York", date.fromisoformat(a), date.fromisoformat(b))[metric]
        for a, b in buckets]


async def test_another_organizations_store_is_not_found(client: httpx.AsyncClient, shops: Shops,
                                                        world: dict[str, Tenant]) -> None:
    other = world["b"]
    r = await summary(client, other, shops.ny, "2026-10-05", "2026-10-11")
    assert r.status_code == 404
    r = await client.get("/api/v1/analytics/timeseries", headers=other.member, params={
        "store_id": str(shops.ny), "metric": "orders", "from": "2026-10-05", "to": "2026-10-11"})
    assert r.status_code == 404


async def test_the_database_refuses_a_refresh_of_another_organizations_store(
        container: Any, shops: Shops, world: dict[str, Tenant]) -> None:
    from shared.analytics.metrics import refresh_store_metrics_async

    claims = {"sub": str(world["b"].member_id), "role": "authenticated"}
    with pytest.raises(psycopg.errors.NoDataFound):
        async with container.db.as_user(claims) as conn:
            await refresh_store_metrics_async(conn, shops.ny, date(2026, 10, 1), date(2026, 10, 2))


@pytest.mark.parametrize("params", [
    {"from": "2026-10-11", "to": "2026-10-05"},
    {"from": "2023-01-01", "to": "2026-10-05"},
    {"from": "2026-10-05", "to": "not-a-date"},
    {"from": "2026-10-05"},
])
async def test_bad_ranges_are_422(client: httpx.AsyncClient, shops: Shops, params: dict[str, str]) -> None:
    r = await client.get("/api/v1/analytics/summary", headers=shops.tenant.member,
                         params={"store_id": str(shops.ny), **params})
    assert r.status_code == 422, r.text
    assert r.json()["errors"]
    r = await client.get("/api/v1/analytics/timeseries", headers=shops.tenant.member,
                         params={"store_id": str(shops.ny), "metric": "orders", **params})
    assert r.status_code == 422


async def test_unknown_metric_or_interval_is_422(client: httpx.AsyncClient, shops: Shops) -> None:
    base = {"store_id": str(shops.ny), "from": "2026-10-05", "to": "2026-10-11"}
    for extra in ({"metric": "profit"}, {"metric": "orders", "interval": "year"}):
        r = await client.get("/api/v1/analytics/timeseries", headers=shops.tenant.member, params={**base, **extra})
        assert r.status_code == 422, extra


async def test_refresh_after_a_sync_covers_first_order_to_today(database_url: str, shops: Shops) -> None:
    from shared.analytics.metrics import refresh_for_sync_job

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        store = insert_store(conn, shops.tenant, "shopify", "America/New_York",
                             [Order(utc(2026, 10, 6, 12), [Line(2, "5.00")], "z")])
        job = conn.execute("select id from sync_jobs where store_id = %s", (store,)).fetchone()["id"]
        written = refresh_for_sync_job(conn, job)
        today = conn.execute("select (now() at time zone 'America/New_York')::date as d").fetchone()["d"]
        row = conn.execute("select * from daily_store_metrics where store_id = %s and day = '2026-10-06'",
                           (store,)).fetchone()
        conn.commit()
    assert written == (today - date(2026, 10, 6)).days + 1
    assert (row["gross_sales"], row["orders"], row["units_sold"], row["new_customers"]) == (D("10.00"), 1, 2, 1)


async def test_rollup_older_than_the_last_sync_is_recomputed_on_read(client: httpx.AsyncClient, shops: Shops,
                                                                      database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        store = insert_store(conn, shops.tenant, "shopify", "UTC", [Order(utc(2026, 10, 6, 12), [Line(1, "5.00")])])
    first = (await summary(client, shops.tenant, store, "2026-10-06", "2026-10-06")).json()
    assert metrics_of(first["period"])["gross_sales"] == "5.00"
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        oid = conn.execute("select id from orders where store_id = %s", (store,)).fetchone()["id"]
        conn.execute("update order_lines set quantity = 3 where order_id = %s", (oid,))
        conn.execute("update stores set last_synced_at = now() where id = %s", (store,))
    again = (await summary(client, shops.tenant, store, "2026-10-06", "2026-10-06")).json()
    assert metrics_of(again["period"])["gross_sales"] == "15.00"
