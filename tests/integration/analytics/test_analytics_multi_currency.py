"""Done when (issue 5), from the store's own API: a WooCommerce store booking orders in several currencies (most
with WooPayments' exchange rate, some without), with refunds in later periods, cancellations and the other
excluded statuses, test orders, in a time zone other than UTC, is synced through the fake WooCommerce; then every
summary and time series figure equals an independent calculation from the raw orders and refunds its REST API
returns (docs/metrics.md, "Currencies"), to the cent, and the orders without a rate are left out and counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

import function_app
from devhost.durable import LocalDurableEngine
from devhost.fakes import CatalogConfig, create_fake_woocommerce, generate_store
from devhost.fakes.catalog_orders import OrderMix
from devhost.servers import serve_in_thread
from shared import runtime
from shared.bootstrap import build_container
from shared.config import Settings
from tests.fake_stores import WOO_KEY, WOO_SECRET, connect_fake_store, run_full_sync
from tests.support import Tenant

D = Decimal
CENT = D("0.01")
SHOP_CURRENCY, ZONE = "USD", "Pacific/Auckland"
WOO_EXCLUDED = {"pending", "failed", "cancelled", "checkout-draft", "trash"}
MONEY = ("gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "fees", "total_sales", "aov")
Json = dict[str, Any]


@dataclass
class Store:
    tenant: Tenant
    orders: list[Json]  # as GET /orders?status=any returns them
    refunds: dict[int, list[Json]]  # order id -> GET /orders/{id}/refunds
    last_day: date


@pytest.fixture(scope="module")
def store(database_url: str, settings: Settings) -> Store:
    mix = OrderMix(foreign_currency=0.4, partial_refund=0.1, full_refund=0.03, cancelled=0.04, test=0.03)
    model = generate_store(CatalogConfig(seed=23, products=12, customers=60, orders=450, days=120, timezone=ZONE,
                                         currency=SHOP_CURRENCY, mix=mix))
    foreign = [o.id for o in model.orders if o.presentment_currency != SHOP_CURRENCY]
    rateless = frozenset(foreign[::5])  # a fifth of them from a currency plugin that keeps no rate
    app = create_fake_woocommerce(model, consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, multi_currency=True,
                                  rateless_orders=rateless)
    fake = serve_in_thread(app)
    try:
        with LocalDurableEngine(function_app.app) as engine:
            runtime.install(build_container(settings, orchestrations=engine.client))
            tenant = connect_fake_store(database_url, settings, "woocommerce", fake.base_url, label="fx",
                                        timezone=ZONE, currency=SHOP_CURRENCY)
            job = run_full_sync(database_url, engine, tenant.store_id)
            assert job["status"] == "succeeded", job["errors"]
        orders, refunds = _raw(fake.base_url)
    finally:
        fake.stop()
    return Store(tenant, orders, refunds, model.as_of.astimezone(ZoneInfo(ZONE)).date())


def _raw(base_url: str) -> tuple[list[Json], dict[int, list[Json]]]:
    """Every order and refund as the REST API gives them, read page by page like any client."""
    orders: list[Json] = []
    with httpx.Client(base_url=f"{base_url}/wp-json/wc/v3", auth=(WOO_KEY, WOO_SECRET), timeout=30) as http:
        page = 1
        while batch := http.get("orders", params={"status": "any", "per_page": 100, "page": page}).json():
            orders += batch
            page += 1
        refunds = {o["id"]: http.get(f"orders/{o['id']}/refunds").json() for o in orders if o["refunds"]}
    return orders, refunds


# The independent calculation (docs/metrics.md) ----------------------------------------------------------------

def _meta(order: Json) -> dict[str, Any]:
    return {m["key"]: m["value"] for m in order["meta_data"]}


def _to_shop(order: Json) -> Callable[[str], int] | None:
    """Amount string → shop cents, or None when the order cannot be converted."""
    if order["currency"] == SHOP_CURRENCY:
        return lambda amount: int(D(amount) * 100)
    meta = _meta(order)
    if meta.get("_wcpay_multi_currency_order_default_currency") != SHOP_CURRENCY:
        return None
    rate = D(str(meta["_wcpay_multi_currency_order_exchange_rate"]))
    return lambda amount: int((D(amount) / rate).quantize(CENT, ROUND_HALF_UP) * 100)


def _counts(order: Json) -> bool:
    return order["status"] not in WOO_EXCLUDED and _meta(order).get("_wcpay_mode") != "test"


def _day(gmt: str) -> date:
    return datetime.fromisoformat(gmt + "+00:00").astimezone(ZoneInfo(ZONE)).date()


def expected(s: Store, start: date, end: date) -> dict[str, Any]:
    cents = dict.fromkeys(("gross_sales", "discounts", "returns", "shipping", "taxes", "fees"), 0)
    n = {"orders": 0, "units_sold": 0, "refunds": 0}
    left_out: list[str] = []
    first_day: dict[int, date] = {}
    buyers: set[int] = set()
    for o in s.orders:
        if not _counts(o):
            continue
        day = _day(o["date_created_gmt"])
        fx = _to_shop(o)
        if fx is None:
            if start <= day <= end:
                left_out.append(o["currency"])
            continue
        if o["customer_id"]:
            first_day[o["customer_id"]] = min(day, first_day.get(o["customer_id"], day))
        if start <= day <= end:
            if o["customer_id"]:
                buyers.add(o["customer_id"])
            n["orders"] += 1
            for li in o["line_items"]:
                q, subtotal = li["quantity"], fx(li["subtotal"])
                unit = int((D(subtotal) / q).to_integral_value(ROUND_CEILING))  # the unit price, up to the cent
                n["units_sold"] += q
                cents["gross_sales"] += unit * q
                cents["discounts"] += unit * q - fx(li["total"])
            cents["shipping"] += fx(o["shipping_total"])
            cents["taxes"] += fx(o["total_tax"])
            cents["fees"] += sum(fx(f["total"]) for f in o["fee_lines"])
        for r in s.refunds.get(o["id"], []):
            if start <= _day(r["date_created_gmt"]) <= end:
                n["refunds"] += 1
                cents["returns"] += sum(abs(fx(li["total"])) for li in r["line_items"])
                cents["taxes"] -= sum(abs(fx(li["total_tax"])) for li in r["line_items"])
                cents["shipping"] -= sum(abs(fx(sl["total"])) for sl in r["shipping_lines"])
                cents["taxes"] -= sum(abs(fx(sl["total_tax"])) for sl in r["shipping_lines"])
    cents["net_sales"] = cents["gross_sales"] - cents["discounts"] - cents["returns"]
    cents["total_sales"] = cents["net_sales"] + cents["shipping"] + cents["taxes"] + cents["fees"]
    aov = D(cents["gross_sales"] - cents["discounts"]) / 100 / n["orders"] if n["orders"] else D(0)
    money = {k: str(D(v) / 100) for k, v in cents.items()} | {"aov": str(aov.quantize(CENT, ROUND_HALF_UP))}
    new = sum(1 for c in buyers if start <= first_day[c] <= end)
    return {"metrics": {**{k: {"amount": v, "currency": SHOP_CURRENCY} for k, v in money.items()}, **n,
                        "new_customers": new, "returning_customers": len(buyers) - new},
            "unconverted": {"orders": len(left_out), "currencies": sorted(set(left_out))}}


def _normalised(period: Json) -> Json:
    """Amounts as exact decimals ("12.5" and "12.50" are the same number)."""
    metrics = {k: ({"amount": str(D(v["amount"]).normalize()), "currency": v["currency"]} if k in MONEY else v)
               for k, v in period["metrics"].items()}
    return {"metrics": metrics, "unconverted": period["unconverted"]}


def _expected_normalised(s: Store, start: date, end: date) -> Json:
    e = expected(s, start, end)
    for k in MONEY:
        e["metrics"][k]["amount"] = str(D(e["metrics"][k]["amount"]).normalize())
    return e


# The tests ----------------------------------------------------------------------------------------------------

def test_the_store_really_has_converted_unconverted_and_shop_currency_orders(store: Store) -> None:
    counting = [o for o in store.orders if _counts(o)]
    converted = [o for o in counting if o["currency"] != SHOP_CURRENCY and _to_shop(o) is not None]
    assert len(converted) > 50 and len({o["currency"] for o in converted}) >= 2
    assert sum(1 for o in counting if _to_shop(o) is None) >= 10
    assert any(o["status"] == "cancelled" for o in store.orders) and any(not _counts(o) for o in store.orders)
    later = [r for o in counting for r in store.refunds.get(o["id"], [])
             if _day(r["date_created_gmt"]) > _day(o["date_created_gmt"])]
    assert len(later) >= 5


async def test_every_summary_figure_equals_the_independent_calculation_from_the_raw_orders(
        client: httpx.AsyncClient, store: Store) -> None:
    end = store.last_day
    for length in (30, 60):
        start = end - timedelta(days=length - 1)
        r = await client.get("/api/v1/analytics/summary", headers=store.tenant.member,
                             params={"store_id": str(store.tenant.store_id), "from": start.isoformat(),
                                     "to": end.isoformat()})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["currency"] == SHOP_CURRENCY
        assert _normalised(body["period"]) == _expected_normalised(store, start, end)
        prev_end = start - timedelta(days=1)
        assert _normalised(body["previous_period"]) == _expected_normalised(
            store, prev_end - timedelta(days=length - 1), prev_end)


async def test_the_daily_net_sales_series_equals_the_independent_calculation(client: httpx.AsyncClient,
                                                                             store: Store) -> None:
    start = store.last_day - timedelta(days=44)
    r = await client.get("/api/v1/analytics/timeseries", headers=store.tenant.member,
                         params={"store_id": str(store.tenant.store_id), "metric": "net_sales", "interval": "day",
                                 "from": start.isoformat(), "to": store.last_day.isoformat()})
    assert r.status_code == 200, r.text
    got = {p["t"]: D(p["value"]) for p in r.json()["points"]}
    want = {(start + timedelta(days=i)).isoformat():
            D(expected(store, start + timedelta(days=i), start + timedelta(days=i))["metrics"]["net_sales"]["amount"])
            for i in range(45)}
    assert got == want


def test_converted_orders_keep_the_buyers_currency_and_the_rate_beside_the_shops_amounts(
        database_url: str, store: Store) -> None:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = {r["external_id"]: r for r in conn.execute(
            "select external_id, currency, presentment_currency, exchange_rate, total_price from orders "
            "where store_id = %s", (store.tenant.store_id,)).fetchall()}
    for o in store.orders:
        row, fx = rows[str(o["id"])], _to_shop(o)
        if o["currency"] == SHOP_CURRENCY:
            assert (row["currency"], row["exchange_rate"]) == (SHOP_CURRENCY, None)
        elif fx is None:
            assert (row["currency"], row["exchange_rate"]) == (o["currency"], None)
            assert row["total_price"] == D(o["total"])
        else:
            assert (row["currency"], row["presentment_currency"]) == (SHOP_CURRENCY, o["currency"])
            rate = D(str(_meta(o)["_wcpay_multi_currency_order_exchange_rate"]))
            assert abs(row["exchange_rate"] * rate - 1) < D("1e-8")
            assert row["total_price"] == D(fx(o["total"])) / 100


async def test_another_organizations_member_gets_no_figures_of_this_store(
        client: httpx.AsyncClient, store: Store, world: dict[str, Tenant]) -> None:
    r = await client.get("/api/v1/analytics/summary", headers=world["b"].member,
                         params={"store_id": str(store.tenant.store_id), "from": "2026-10-01", "to": "2026-10-31"})
    assert r.status_code == 404


def test_an_exchange_rate_arriving_later_brings_the_order_into_the_figures(database_url: str, store: Store) -> None:
    """An unconverted order updated with its rate (WooPayments' meta helper) is re-queued and counts."""
    o = next(o for o in store.orders if _counts(o) and _to_shop(o) is None)
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        def day_orders() -> int:
            row = conn.execute(
                "select orders from daily_store_metrics where store_id = %s and day = %s",
                (store.tenant.store_id, _day(o["date_created_gmt"]))).fetchone()
            return int(row["orders"]) if row else 0
        conn.execute("select app.refresh_store_analytics_pending(%s)", (store.tenant.store_id,))
        before = day_orders()
        conn.execute("update orders set currency = %s, exchange_rate = 1.1 where store_id = %s and external_id = %s",
                     (SHOP_CURRENCY, store.tenant.store_id, str(o["id"])))
        conn.execute("select app.refresh_store_analytics_pending(%s)", (store.tenant.store_id,))
        assert day_orders() == before + 1
        conn.execute("update orders set currency = %s, exchange_rate = null where store_id = %s "
                     "and external_id = %s", (o["currency"], store.tenant.store_id, str(o["id"])))
        conn.execute("select app.refresh_store_analytics_pending(%s)", (store.tenant.store_id,))
        assert day_orders() == before


def test_a_store_currency_change_rebuilds_it(database_url: str, store: Store) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("select app.refresh_store_analytics_pending(%s)", (store.tenant.store_id,))
        conn.execute("update stores set currency = currency where id = %s", (store.tenant.store_id,))
        assert not conn.execute("select full_needed from analytics_state where store_id = %s",
                                (store.tenant.store_id,)).fetchone()["full_needed"]
        conn.execute("update stores set currency = 'XTS' where id = %s", (store.tenant.store_id,))
        try:
            assert conn.execute("select full_needed from analytics_state where store_id = %s",
                                (store.tenant.store_id,)).fetchone()["full_needed"]
        finally:
            conn.execute("update stores set currency = %s where id = %s", (SHOP_CURRENCY, store.tenant.store_id))
