"""GET /api/v1/analytics/products against real Postgres: every figure equals an independent calculation from
the raw rows inserted here (shop-local days, refunds on their own date, each platform's counting rules)."""

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
PERIOD = (date(2026, 10, 5), date(2026, 10, 28))  # 24 days; halves Oct 5-16 and Oct 17-28
WINDOW = (date(2026, 10, 1), date(2026, 10, 28))  # 28 days ending at `to` (in the past)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Product:
    key: str
    stock: list[int | None]
    deleted: bool = False


@dataclass
class Line:
    product: str
    qty: int
    unit: str
    discount: str = "0"


@dataclass
class Refund:
    at: datetime
    lines: list[tuple[int, str]]  # (index of the order's line, refunded subtotal)


@dataclass
class Order:
    at: datetime
    lines: list[Line]
    status: str | None = None
    test: bool = False
    order_discount: str = "0"
    refunds: list[Refund] = field(default_factory=list)


# America/New_York is UTC-4 in October 2026 (until Nov 1).
NY_PRODUCTS = [Product("alpha", [3, 7]), Product("beta", [2, None]), Product("gamma", [-1]),
               Product("idle", [10]), Product("untracked", [None]), Product("gone", [5], deleted=True)]
NY_ORDERS = [
    # Oct 4 23:00 local: before the period, inside the 28-day window; refunded inside the period.
    Order(utc(2026, 10, 5, 3), [Line("alpha", 5, "100.00")], refunds=[Refund(utc(2026, 10, 8, 12), [(0, "100.00")])]),
    Order(utc(2026, 10, 6, 12), [Line("alpha", 6, "100.00", "50.00")], order_discount="10.00",
          refunds=[Refund(utc(2026, 10, 21, 12), [(0, "50.00")])]),
    Order(utc(2026, 10, 20, 12), [Line("alpha", 4, "100.00")],
          refunds=[Refund(utc(2026, 11, 2, 12), [(0, "100.00")])]),  # refunded after the period
    Order(utc(2026, 10, 10, 12), [Line("beta", 2, "75.00")], status="cancelled"),  # cancelled: counts
    Order(utc(2026, 10, 29, 3), [Line("gamma", 1, "50.00")]),  # Oct 28 23:00 local: last day
    Order(utc(2026, 10, 29, 4, 30), [Line("gamma", 1, "999.00")]),  # Oct 29 00:30 local: after the period
    Order(utc(2026, 10, 12, 12), [Line("gamma", 3, "999.00")], test=True),
]
WOO_PRODUCTS = [Product("mug", [4]), Product("pot", [6])]
WOO_ORDERS = [
    Order(utc(2026, 10, 6, 9), [Line("mug", 2, "10.00", "1.00")], status="completed"),
    Order(utc(2026, 10, 5, 22, 30), [Line("pot", 1, "30.00")], status="processing"),  # Oct 6 00:30 Berlin
    Order(utc(2026, 10, 7, 9), [Line("pot", 9, "500.00")], status="pending"),
    *[Order(utc(2026, 10, 8, 9), [Line("mug", 1, "77.00")], status=s) for s in sorted(WOO_EXCLUDED - {"pending"})],
]


# The independent calculation ---------------------------------------------------------------------------

def _counts(o: Order, platform: str) -> bool:
    return not o.test and (platform == "shopify" or (o.status or "") not in WOO_EXCLUDED)


def expected(products: list[Product], orders: list[Order], platform: str, tz: str, start: date, end: date,
             window: tuple[date, date]) -> dict[str, dict[str, Any]]:
    zone = ZoneInfo(tz)

    def local(at: datetime) -> date:
        return at.astimezone(zone).date()

    n = (end - start).days + 1
    h1 = (start, start + timedelta(days=n // 2 - 1))
    h2 = (end - timedelta(days=n // 2 - 1), end)
    cents = {p.key: {"sales": 0, "returns": 0, "h1": 0, "h2": 0} for p in products}
    units = dict.fromkeys(cents, 0)
    window_units = dict.fromkeys(cents, 0)
    for o in (o for o in orders if _counts(o, platform)):
        day = local(o.at)
        for li in o.lines:
            value = round(D(li.unit) * 100) * li.qty - round(D(li.discount) * 100)
            if start <= day <= end:
                units[li.product] += li.qty
                cents[li.product]["sales"] += value
            if window[0] <= day <= window[1]:
                window_units[li.product] += li.qty
            for half in ("h1", "h2"):
                lo, hi = h1 if half == "h1" else h2
                if lo <= day <= hi:
                    cents[li.product][half] += value
        for r in o.refunds:
            rday = local(r.at)
            for index, subtotal in r.lines:
                key, value = o.lines[index].product, round(D(subtotal) * 100)
                if start <= rday <= end:
                    cents[key]["returns"] += value
                if h1[0] <= rday <= h1[1]:
                    cents[key]["h1"] -= value
                if h2[0] <= rday <= h2[1]:
                    cents[key]["h2"] -= value
    out: dict[str, dict[str, Any]] = {}
    for p in products:
        c = cents[p.key]
        if p.deleted and not (units[p.key] or c["sales"] or c["returns"]):
            continue
        tracked = [s for s in p.stock if s is not None]
        on_hand = sum(tracked) if tracked else None
        stock = max(on_hand or 0, 0)
        u = units[p.key]
        out[p.key] = {
            "units_sold": u,
            "net": c["sales"] - c["returns"],
            "net_sales": f"{D(c['sales'] - c['returns']) / 100:.2f}",
            "returns": f"{D(c['returns']) / 100:.2f}",
            "on_hand": on_hand,
            "sell_through_pct": None if on_hand is None or u + stock == 0 else float(
                (D(u * 100) / (u + stock)).quantize(D("0.01"), rounding=ROUND_HALF_UP)),
            "days_of_inventory": None if on_hand is None or window_units[p.key] == 0 else float(
                (D(stock * 28) / window_units[p.key]).quantize(D("0.01"), rounding=ROUND_HALF_UP)),
            "trend_pct": None if c["h1"] == 0 else float(
                (D(c["h2"] - c["h1"]) * 100 / abs(c["h1"])).quantize(D("0.01"), rounding=ROUND_HALF_UP)),
        }
    return out


def got_of(items: list[dict[str, Any]], ids: dict[uuid.UUID, str]) -> dict[str, dict[str, Any]]:
    return {ids[uuid.UUID(i["product_id"])]: {
        "units_sold": i["units_sold"], "net_sales": i["net_sales"]["amount"], "returns": i["returns"]["amount"],
        "on_hand": i["on_hand"], "sell_through_pct": i["sell_through_pct"],
        "days_of_inventory": i["days_of_inventory"], "trend_pct": i["trend_pct"]} for i in items}


# Arranging the rows ------------------------------------------------------------------------------------

@dataclass
class Shop:
    id: uuid.UUID
    products: dict[str, uuid.UUID]

    @property
    def names(self) -> dict[uuid.UUID, str]:
        return {v: k for k, v in self.products.items()}


def insert_shop(conn: psycopg.Connection[Any], t: Tenant, platform: str, tz: str, products: list[Product],
                orders: list[Order]) -> Shop:
    store = insert_synced_store(conn, t, platform, tz, "Products")
    ids: dict[str, uuid.UUID] = {}
    for i, p in enumerate(products):
        ids[p.key] = conn.execute(
            "insert into products (org_id, store_id, external_id, title, deleted_at) values (%s, %s, %s, %s, %s) "
            "returning id", (t.org_id, store, f"p{i}", p.key, utc(2026, 11, 1) if p.deleted else None)
        ).fetchone()["id"]
        for j, qty in enumerate(p.stock):
            conn.execute("insert into variants (org_id, store_id, product_id, external_id, price, inventory_quantity) "
                         "values (%s, %s, %s, %s, 1, %s)", (t.org_id, store, ids[p.key], f"p{i}-v{j}", qty))
    for i, o in enumerate(orders):
        line_disc = sum((D(li.discount) for li in o.lines), D(0))
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, placed_at, test, status, currency, total_discounts) "
            "values (%s, %s, %s, %s, %s, %s, 'USD', %s) returning id",
            (t.org_id, store, f"o{i}", o.at, o.test, o.status, line_disc + D(o.order_discount))).fetchone()["id"]
        line_ids = [conn.execute(
            "insert into order_lines (org_id, store_id, order_id, external_id, product_id, quantity, unit_price, "
            "line_discount) values (%s, %s, %s, %s, %s, %s, %s, %s) returning id",
            (t.org_id, store, oid, f"o{i}-l{j}", ids[li.product], li.qty, li.unit, li.discount)).fetchone()["id"]
            for j, li in enumerate(o.lines)]
        for k, r in enumerate(o.refunds):
            rid = conn.execute(
                "insert into refunds (org_id, store_id, order_id, external_id, refunded_at) "
                "values (%s, %s, %s, %s, %s) returning id", (t.org_id, store, oid, f"o{i}-r{k}", r.at)).fetchone()["id"]
            for index, subtotal in r.lines:
                # refunds of even orders are linked to the line by id, of odd ones only by its external id
                conn.execute(
                    "insert into refund_lines (org_id, store_id, refund_id, order_line_id, line_external_id, quantity, "
                    "subtotal) values (%s, %s, %s, %s, %s, 1, %s)",
                    (t.org_id, store, rid, line_ids[index] if i % 2 == 0 else None, f"o{i}-l{index}", subtotal))
    return Shop(store, ids)


@dataclass
class Shops:
    tenant: Tenant
    ny: Shop
    woo: Shop


@pytest.fixture(scope="module")
def shops(database_url: str, world: dict[str, Tenant]) -> Shops:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ap{uuid.uuid4().hex[:6]}", currency="USD")
        return Shops(t, insert_shop(conn, t, "shopify", "America/New_York", NY_PRODUCTS, NY_ORDERS),
                     insert_shop(conn, t, "woocommerce", "Europe/Berlin", WOO_PRODUCTS, WOO_ORDERS))


async def fetch(client: httpx.AsyncClient, t: Tenant, store: uuid.UUID, start: str = "2026-10-05",
                end: str = "2026-10-28", **extra: str) -> httpx.Response:
    return await client.get("/api/v1/analytics/products", headers=t.member,
                            params={"store_id": str(store), "from": start, "to": end, **extra})


# The tests ---------------------------------------------------------------------------------------------

async def test_figures_match_an_independent_calculation_in_the_shops_time_zone(
        client: httpx.AsyncClient, shops: Shops) -> None:
    r = await fetch(client, shops.tenant, shops.ny.id)
    assert r.status_code == 200, r.text
    body = r.json()
    want = expected(NY_PRODUCTS, NY_ORDERS, "shopify", "America/New_York", *PERIOD, WINDOW)
    assert got_of(body["items"], shops.ny.names) == {k: {n: v for n, v in w.items() if n != "net"}
                                                     for k, w in want.items()}
    assert body["doi_window"] == ["2026-10-01", "2026-10-28"]
    assert body["currency"] == "USD" and body["as_of"] is not None and len(body["syncs"]) == 1
    assert body["next_cursor"] is None


async def test_hand_checked_figures(client: httpx.AsyncClient, shops: Shops) -> None:
    got = got_of((await fetch(client, shops.tenant, shops.ny.id)).json()["items"], shops.ny.names)
    # alpha: 550.00 (Oct 6, line discount; the order discount is not spread) + 400.00 (Oct 20) - 100.00 (refund
    # of the Oct 4 order, dated Oct 8) - 50.00 (Oct 21); the Nov 2 refund is outside. Halves: 450 -> 350.
    assert got["alpha"] == {"units_sold": 10, "net_sales": "800.00", "returns": "150.00", "on_hand": 10,
                            "sell_through_pct": 50.0, "days_of_inventory": 18.67, "trend_pct": -22.22}
    assert got["beta"]["units_sold"] == 2 and got["beta"]["net_sales"] == "150.00"  # the cancelled order counts
    assert got["gamma"]["units_sold"] == 1 and got["gamma"]["net_sales"] == "50.00"  # local Oct 28, not test
    assert got["gamma"]["on_hand"] == -1 and got["gamma"]["sell_through_pct"] == 100.0
    assert got["idle"] == {"units_sold": 0, "net_sales": "0.00", "returns": "0.00", "on_hand": 10,
                           "sell_through_pct": 0.0, "days_of_inventory": None, "trend_pct": None}
    assert got["untracked"]["on_hand"] is None and got["untracked"]["sell_through_pct"] is None
    assert "gone" not in got  # deleted, nothing sold


async def test_abc_boundaries_are_decided_by_the_share_before_the_product(
        client: httpx.AsyncClient, shops: Shops) -> None:
    items = (await fetch(client, shops.tenant, shops.ny.id)).json()["items"]
    names = shops.ny.names
    # net 800 / 150 / 50 of 1000: beta starts at exactly 80 % -> B, gamma at exactly 95 % -> C.
    assert {names[uuid.UUID(i["product_id"])]: i["abc_class"] for i in items} == {
        "alpha": "A", "beta": "B", "gamma": "C", "idle": "C", "untracked": "C"}


async def test_sorted_by_net_sales_then_id(client: httpx.AsyncClient, shops: Shops) -> None:
    items = (await fetch(client, shops.tenant, shops.ny.id)).json()["items"]
    keys = [(-D(i["net_sales"]["amount"]), i["product_id"]) for i in items]
    assert keys == sorted(keys)
    assert [shops.ny.names[uuid.UUID(i["product_id"])] for i in items][:3] == ["alpha", "beta", "gamma"]


async def test_woocommerce_pending_orders_do_not_count(client: httpx.AsyncClient, shops: Shops) -> None:
    r = await fetch(client, shops.tenant, shops.woo.id)
    assert r.status_code == 200, r.text
    got = got_of(r.json()["items"], shops.woo.names)
    want = expected(WOO_PRODUCTS, WOO_ORDERS, "woocommerce", "Europe/Berlin", *PERIOD, WINDOW)
    assert got == {k: {n: v for n, v in w.items() if n != "net"} for k, w in want.items()}
    assert got["pot"]["units_sold"] == 1 and got["pot"]["net_sales"] == "30.00"  # not the pending 9 x 500
    assert got["mug"]["units_sold"] == 2 and got["mug"]["net_sales"] == "19.00"


async def test_pages_follow_the_cursor(client: httpx.AsyncClient, shops: Shops) -> None:
    everything = (await fetch(client, shops.tenant, shops.ny.id)).json()["items"]
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    sizes = []
    while True:
        extra = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = (await fetch(client, shops.tenant, shops.ny.id, **extra)).json()
        seen += body["items"]
        sizes.append(len(body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == everything and sizes == [2, 2, 1]
    # a cursor belongs to its store and period
    first = (await fetch(client, shops.tenant, shops.ny.id, limit="2")).json()["next_cursor"]
    r = await fetch(client, shops.tenant, shops.ny.id, end="2026-10-27", cursor=first)
    assert r.status_code == 422


async def test_another_organizations_store_is_not_found(client: httpx.AsyncClient, shops: Shops,
                                                        world: dict[str, Tenant]) -> None:
    r = await fetch(client, world["b"], shops.ny.id)
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("params", [
    {"from": "2026-10-11", "to": "2026-10-05"},
    {"from": "2023-01-01", "to": "2026-10-05"},
    {"from": "2026-10-05", "to": "not-a-date"},
    {"from": "2026-10-05"},
    {"from": "2026-10-05", "to": "2026-10-06", "limit": "0"},
    {"from": "2026-10-05", "to": "2026-10-06", "cursor": "garbage"},
])
async def test_bad_ranges_are_422(client: httpx.AsyncClient, shops: Shops, params: dict[str, str]) -> None:
    r = await client.get("/api/v1/analytics/products", headers=shops.tenant.member,
                         params={"store_id": str(shops.ny.id), **params})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] or params.get("cursor")
