"""Customer analytics against real Postgres: RFM segments and cohorts equal an independent calculation from the
raw rows inserted here (shop-local days and months, refunds on their own date, each platform's counting rule,
guest and test orders left out)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
URL = "/api/v1/analytics/customers"


@dataclass
class Refund:
    at: datetime
    subtotal: str
    shipping: str = "0"


@dataclass
class Order:
    customer: str | None
    at: datetime
    unit: str
    qty: int = 1
    discount: str = "0"  # line discount
    order_discount: str = "0"  # order-level: not part of a customer's value
    status: str | None = None
    test: bool = False
    refunds: list[Refund] = field(default_factory=list)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def noon(m: int, d: int, y: int = 2026) -> datetime:
    return utc(y, m, d, 16)  # midday in New York


NY_ORDERS = [
    Order("a", noon(3, 10), "40.00"), Order("a", noon(6, 5), "15.00", 2), Order("a", noon(10, 20), "22.50"),
    Order("b", noon(7, 4), "30.00", discount="5.00", order_discount="4.00"),
    Order("b", noon(8, 15), "50.00", 2, refunds=[Refund(noon(9, 2), "10.00", shipping="5.00")]),
    Order("b", noon(9, 15), "12.00"), Order("b", noon(10, 25), "18.00"),
    Order("c", noon(7, 20), "80.00", refunds=[Refund(noon(8, 3), "80.00")]),
    Order("d", utc(2026, 8, 1, 3, 30), "25.00"),  # Jul 31 23:30 in New York: a July customer
    Order("d", noon(10, 1), "25.00"),
    Order("e", noon(8, 10), "60.00"), Order("e", noon(9, 5), "999.00", test=True),
    Order("f", noon(8, 28), "35.00"), Order("f", noon(9, 30), "35.00", status="cancelled",
                                            refunds=[Refund(noon(9, 30), "35.00")]),
    Order("g", noon(9, 3), "45.00", refunds=[Refund(noon(11, 2), "45.00")]),  # refunded after as-of
    Order("g", noon(11, 5), "45.00"),  # after as-of
    Order("h", noon(10, 30), "9.99", 3, discount="2.97"),
    Order("i", utc(2026, 11, 1, 3), "70.00"),  # Oct 31 23:00 in New York: inside as-of
    Order("j", noon(2, 1), "20.00"), Order("j", noon(2, 20), "20.00"), Order("j", noon(4, 1), "20.00"),
    Order("j", noon(5, 1), "20.00"), Order("j", noon(5, 20), "20.00"),
    Order("k", noon(1, 5), "100.00"),
    Order("l", noon(10, 2), "11.00"), Order("l", noon(10, 15), "11.00"),
    Order("t", noon(10, 10), "500.00", test=True, refunds=[Refund(noon(10, 11), "500.00")]),  # test only
    Order(None, noon(7, 5), "100.00"), Order(None, noon(10, 12), "300.00"),  # guests
]

WOO_ORDERS = [
    Order("w1", utc(2026, 9, 10, 10), "20.00", status="completed"),
    Order("w1", utc(2026, 10, 1, 10), "500.00", status="pending"),
    Order("w1", utc(2026, 10, 5, 10), "40.00", status="refunded", refunds=[Refund(utc(2026, 10, 6, 10), "40.00")]),
    Order("w2", utc(2026, 10, 2, 10), "70.00", status="pending"),
    Order("w2", utc(2026, 10, 3, 10), "70.00", status="failed"),
    Order("w3", utc(2026, 8, 20, 10), "19.99", discount="1.99", status="processing"),
    Order("w3", utc(2026, 9, 30, 22, 30), "33.00", status="on-hold"),  # Oct 1 00:30 in Berlin
    Order(None, utc(2026, 10, 4, 10), "55.00", status="completed"),
]


# The independent calculation ---------------------------------------------------------------------------

def c(amount: str) -> int:
    return int(D(amount) * 100)


def money(cents: int) -> dict[str, str]:
    return {"amount": f"{D(cents) / 100:.2f}", "currency": "USD"}


def four(part: int, whole: int) -> float:
    return float((D(part) / D(whole)).quantize(D("0.0001"), rounding=ROUND_HALF_UP))


def scores(values: dict[str, int], lower_is_better: bool = False) -> dict[str, int]:
    """Quintile score: 1 + floor(5 * (how many others are strictly worse) / n)."""
    n = len(values)
    out = {}
    for k, v in values.items():
        worse = sum(1 for x in values.values() if (x > v if lower_is_better else x < v))
        out[k] = 1 + 5 * worse // n
    return out


def segment(r: int, f: int) -> str:
    if r == 5 and f == 1:
        return "new"
    if r == 4 and f == 1:
        return "promising"
    if r >= 4 and f in (2, 3):
        return "potential_loyalist"
    if r == 5 and f >= 4:
        return "champions"
    if r in (3, 4) and f >= 4:
        return "loyal"
    if r == 3:
        return "need_attention" if f == 3 else "about_to_sleep"
    if f == 5:
        return "cant_lose_them"
    if f >= 3:
        return "at_risk"
    return "hibernating" if r == 2 else "lost"


SEGMENTS = ["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
            "at_risk", "cant_lose_them", "hibernating", "lost"]


def month_of(d: date) -> date:
    return d.replace(day=1)


def expected(orders: list[Order], platform: str, tz: str, as_of: date, months: int) -> dict[str, Any]:
    zone = ZoneInfo(tz)

    def local(at: datetime) -> date:
        return at.astimezone(zone).date()

    counting = [o for o in orders if o.customer and not o.test and local(o.at) <= as_of
                and (platform == "shopify" or (o.status or "") not in WOO_EXCLUDED)]
    days: dict[str, list[date]] = defaultdict(list)
    value: dict[str, int] = defaultdict(int)
    monthly_value: dict[tuple[str, date], int] = defaultdict(int)
    monthly_active: set[tuple[str, date]] = set()
    for o in counting:
        assert o.customer
        d = local(o.at)
        days[o.customer].append(d)
        sale = c(o.unit) * o.qty - c(o.discount)
        value[o.customer] += sale
        monthly_value[(o.customer, month_of(d))] += sale
        monthly_active.add((o.customer, month_of(d)))
        for r in o.refunds:
            if local(r.at) <= as_of:
                value[o.customer] -= c(r.subtotal)
                monthly_value[(o.customer, month_of(local(r.at)))] -= c(r.subtotal)
    people = sorted(days)
    r = scores({p: (as_of - max(days[p])).days for p in people}, lower_is_better=True)
    f = scores({p: len(days[p]) for p in people})
    seg = {p: segment(r[p], f[p]) for p in people}
    segments = [{"segment": s, "customers": sum(1 for p in people if seg[p] == s),
                 "value": money(sum(value[p] for p in people if seg[p] == s)),
                 "share": four(sum(1 for p in people if seg[p] == s), len(people)) if people else 0.0}
                for s in SEGMENTS]
    cohort_months = []
    y, m = as_of.year, as_of.month
    for _ in range(months):
        cohort_months.insert(0, date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    cohorts = []
    for cm in cohort_months:
        members = [p for p in people if month_of(min(days[p])) == cm]
        periods, running, month, offset = [], 0, cm, 0
        while month <= month_of(as_of):
            active = sum(1 for p in members if (p, month) in monthly_active)
            running += sum(monthly_value[(p, month)] for p in members)
            per = (D(running) / len(members)).quantize(D(1), rounding=ROUND_HALF_UP) if members else None
            periods.append({"offset": offset, "month": month.isoformat(), "active_customers": active,
                            "retention": four(active, len(members)) if members else None,
                            "cumulative_value": money(running),
                            "cumulative_value_per_customer": money(int(per)) if per is not None else None})
            offset += 1
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        cohorts.append({"month": cm.isoformat(), "size": len(members), "periods": periods})
    return {"customers": len(people), "value": money(sum(value.values())), "segments": segments,
            "cohorts": cohorts}


def got(body: dict[str, Any]) -> dict[str, Any]:
    rfm = body["rfm"]
    return {"customers": rfm["customers"], "value": rfm["value"],
            "segments": [{k: v for k, v in s.items() if k != "label"} for s in rfm["segments"]],
            "cohorts": body["cohorts"]}


# Arranging the rows ------------------------------------------------------------------------------------

def insert_store(conn: psycopg.Connection[Any], t: Tenant, platform: str, tz: str, orders: list[Order]) -> uuid.UUID:
    store = insert_synced_store(conn, t, platform, tz, "Customers")
    customers: dict[str, uuid.UUID] = {}
    for i, o in enumerate(orders):
        cid = None
        if o.customer:
            if o.customer not in customers:
                customers[o.customer] = conn.execute(
                    "insert into customers (org_id, store_id, external_id) values (%s, %s, %s) returning id",
                    (t.org_id, store, o.customer)).fetchone()["id"]
            cid = customers[o.customer]
        # Half the identified orders carry only customer_id (the key then comes from the customers row).
        ext = o.customer if i % 2 == 0 else None
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, customer_id, customer_external_id, placed_at, "
            "test, status, currency, total_discounts) values (%s, %s, %s, %s, %s, %s, %s, %s, 'USD', %s) "
            "returning id",
            (t.org_id, store, f"o{i}", cid, ext, o.at, o.test, o.status,
             D(o.discount) + D(o.order_discount))).fetchone()["id"]
        conn.execute(
            "insert into order_lines (org_id, store_id, order_id, external_id, quantity, unit_price, line_discount) "
            "values (%s, %s, %s, %s, %s, %s, %s)", (t.org_id, store, oid, f"o{i}-l0", o.qty, o.unit, o.discount))
        for k, r in enumerate(o.refunds):
            rid = conn.execute(
                "insert into refunds (org_id, store_id, order_id, external_id, refunded_at, shipping) "
                "values (%s, %s, %s, %s, %s, %s) returning id",
                (t.org_id, store, oid, f"o{i}-r{k}", r.at, r.shipping)).fetchone()["id"]
            conn.execute(
                "insert into refund_lines (org_id, store_id, refund_id, line_external_id, quantity, subtotal) "
                "values (%s, %s, %s, %s, 1, %s)", (t.org_id, store, rid, f"o{i}-l0", r.subtotal))
    return store


@dataclass
class Shops:
    tenant: Tenant
    ny: uuid.UUID
    woo: uuid.UUID


@pytest.fixture(scope="module")
def shops(database_url: str, world: dict[str, Tenant]) -> Shops:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"cu{uuid.uuid4().hex[:6]}", currency="USD")
        return Shops(t, insert_store(conn, t, "shopify", "America/New_York", NY_ORDERS),
                     insert_store(conn, t, "woocommerce", "Europe/Berlin", WOO_ORDERS))


async def customers(client: httpx.AsyncClient, t: Tenant, store: uuid.UUID, **params: Any) -> httpx.Response:
    return await client.get(URL, headers=t.member, params={"store_id": str(store), **params})


# The tests ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("as_of", "months"), [("2026-10-31", 4), ("2026-10-31", 12), ("2026-09-15", 3),
                                               ("2026-08-31", 1)])
async def test_segments_and_cohorts_match_an_independent_calculation(
        client: httpx.AsyncClient, shops: Shops, as_of: str, months: int) -> None:
    r = await customers(client, shops.tenant, shops.ny, as_of_date=as_of, cohort_months=months)
    assert r.status_code == 200, r.text
    body = r.json()
    assert got(body) == expected(NY_ORDERS, "shopify", "America/New_York", date.fromisoformat(as_of), months)
    assert body["as_of_date"] == as_of and body["cohort_months"] == months and len(body["cohorts"]) == months
    assert body["currency"] == "USD" and body["timezone"] == "America/New_York"
    assert body["as_of"] is not None and len(body["syncs"]) == 1


async def test_the_arranged_history_reads_as_intended(client: httpx.AsyncClient, shops: Shops) -> None:
    """Pins a few figures by hand, so the independent calculation cannot drift with the code."""
    body = (await customers(client, shops.tenant, shops.ny, as_of_date="2026-10-31", cohort_months=4)).json()
    # a..l: 12 customers; t (test order only) and the guests are nobody; g's later order and refund are
    # after as-of; e's test order does not count.
    assert body["rfm"]["customers"] == 12
    # F: 1 order -> 1, 2 -> 3, 3 -> 4, 4 and 5 -> 5; R by days since the last order (i 0, h 1 -> 5; b 6, a 11 -> 4;
    # l 16, d 30, f 31 -> 3; g 58, e 82 -> 2; c 103, j 164, k 299 -> 1).
    assert {s["segment"]: (s["customers"], s["value"]["amount"]) for s in body["rfm"]["segments"]
            if s["customers"]} == {
        "new": (2, "97.00"),  # h 27.00, i 70.00
        "loyal": (2, "237.50"),  # a (4, 4) 40 + 30 + 22.50, b (4, 5) 25 + 100 - 10 + 12 + 18
        "need_attention": (3, "107.00"),  # l 22, d 50, f 35 + 35 - 35
        "hibernating": (2, "105.00"),  # g 45 (its refund is after as-of), e 60 (its test order is nothing)
        "cant_lose_them": (1, "100.00"),  # j, five orders long ago
        "lost": (2, "100.00"),  # c fully refunded 0.00, k 100.00
    }
    labels = {s["segment"]: s["label"] for s in body["rfm"]["segments"]}
    assert labels["cant_lose_them"] == "Can't lose them" and labels["potential_loyalist"] == "Potential loyalist"
    july = body["cohorts"][0]
    assert july["month"] == "2026-07-01" and july["size"] == 3  # b, c, d (d's order is Jul 31 local)
    # July: b 25.00 (30 - 5 line discount; the 4.00 order discount is not a customer's value), c 80.00, d 25.00
    assert july["periods"][0]["cumulative_value"]["amount"] == "130.00"
    # August: b 100.00, c's refund -80.00 -> 150.00; active: b only (d's order was July in New York)
    assert july["periods"][1]["active_customers"] == 1 and july["periods"][1]["retention"] == 0.3333
    assert july["periods"][1]["cumulative_value"]["amount"] == "150.00"
    assert july["periods"][1]["cumulative_value_per_customer"]["amount"] == "50.00"
    october = body["cohorts"][3]
    assert october["size"] == 3 and october["periods"] == [{  # h, i (Oct 31 23:00 local), l
        "offset": 0, "month": "2026-10-01", "active_customers": 3, "retention": 1.0,
        "cumulative_value": {"amount": "119.00", "currency": "USD"},  # 3 * 9.99 - 2.97 + 70.00 + 22.00 = 119.00
        "cumulative_value_per_customer": {"amount": "39.67", "currency": "USD"}}]
    # The last cumulative value of every cohort adds up to its customers' monetary value.
    assert sum(D(co["periods"][-1]["cumulative_value"]["amount"]) for co in body["cohorts"]) == \
        D("130.00") + 100 - 80 - 10 + 12 + 18 + 25 + 60 + 35 + 35 - 35 + 45 + D("119.00")


async def test_woocommerce_counts_only_woo_analytics_statuses(client: httpx.AsyncClient, shops: Shops) -> None:
    r = await customers(client, shops.tenant, shops.woo, as_of_date="2026-10-31", cohort_months=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert got(body) == expected(WOO_ORDERS, "woocommerce", "Europe/Berlin", date(2026, 10, 31), 3)
    assert body["rfm"]["customers"] == 2  # w1 and w3; w2 has only pending and failed orders
    assert body["rfm"]["value"]["amount"] == "71.00"  # w1 20.00 + 40.00 - 40.00, w3 18.00 + 33.00
    sep = body["cohorts"][1]
    assert (sep["month"], sep["size"]) == ("2026-09-01", 1)
    assert sep["periods"][1]["active_customers"] == 1  # w1's refunded-status order counts; pending does not


async def test_defaults_are_today_in_the_shop_and_twelve_months(client: httpx.AsyncClient, shops: Shops,
                                                                database_url: str) -> None:
    r = await customers(client, shops.tenant, shops.ny)
    assert r.status_code == 200, r.text
    body = r.json()
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        today = conn.execute("select (now() at time zone 'America/New_York')::date as d").fetchone()["d"]
    assert body["as_of_date"] == today.isoformat() and body["cohort_months"] == 12
    assert got(body) == expected(NY_ORDERS, "shopify", "America/New_York", today, 12)


async def test_a_store_without_customers_has_empty_segments(client: httpx.AsyncClient, shops: Shops,
                                                            database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        store = insert_store(conn, shops.tenant, "shopify", "UTC", [Order(None, noon(10, 1), "5.00")])
    body = (await customers(client, shops.tenant, store, as_of_date="2026-10-31", cohort_months=2)).json()
    assert body["rfm"]["customers"] == 0 and body["rfm"]["value"]["amount"] == "0.00"
    assert all(s["customers"] == 0 and s["share"] == 0.0 for s in body["rfm"]["segments"])
    assert body["cohorts"][1]["periods"][0]["retention"] is None
    assert body["cohorts"][1]["periods"][0]["cumulative_value_per_customer"] is None


async def test_another_organizations_store_is_not_found(client: httpx.AsyncClient, shops: Shops,
                                                        world: dict[str, Tenant]) -> None:
    r = await customers(client, world["b"], shops.ny, as_of_date="2026-10-31")
    assert r.status_code == 404, r.text
    r = await customers(client, shops.tenant, uuid.uuid4())
    assert r.status_code == 404


@pytest.mark.parametrize("params", [
    {"cohort_months": "0"}, {"cohort_months": "37"}, {"cohort_months": "twelve"},
    {"as_of_date": "2026-13-01"}, {"as_of_date": "2999-01-01"},
])
async def test_bad_parameters_are_422(client: httpx.AsyncClient, shops: Shops, params: dict[str, str]) -> None:
    r = await customers(client, shops.tenant, shops.ny, **params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"]


async def test_bad_or_missing_store_id_is_422(client: httpx.AsyncClient, shops: Shops) -> None:
    assert (await client.get(URL, headers=shops.tenant.member, params={"store_id": "nope"})).status_code == 422
    assert (await client.get(URL, headers=shops.tenant.member)).status_code == 422
    assert (await client.get(URL, params={"store_id": str(shops.ny)})).status_code == 401
