"""The incremental refresh (change queue filled by triggers) leaves every rollup exactly as a full rebuild would:
store days, product days, customers' order days and first orders, after edits that move orders between days,
change which orders count, re-link lines and refunds, and change customers' first orders."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from shared.analytics.metrics import refresh_pending, refresh_store_metrics
from tests.support import Tenant, build_tenant

Conn = psycopg.Connection[Any]
START = datetime(2026, 6, 1, tzinfo=UTC)
STATUSES = ["completed", "processing", "on-hold", "refunded", "pending", "cancelled"]

_TABLES = {
    "daily_store_metrics": "day, gross_sales, discounts, returns, net_sales, shipping, taxes, fees, total_sales, "
    "orders, units_sold, refunds, new_customers, returning_customers, customers_again, "
    "returning_week, returning_month",
    "daily_product_metrics": "day, product_id, units_sold, gross_sales, line_discounts, returns, refunds, sources",
    "daily_customer_orders": "day, customer_key, prev_day, next_day, gap",
    "customer_first_orders": "customer_key, first_day",
}


def _seed(conn: Conn, t: Tenant, platform: str, tz: str, n_orders: int, seed: int) -> uuid.UUID:
    rnd = random.Random(seed)
    domain = (
        ("shop_domain", f"ro-{uuid.uuid4().hex[:6]}.myshopify.com")
        if platform == "shopify"
        else ("base_url", f"https://ro-{uuid.uuid4().hex[:6]}.example")
    )
    store: uuid.UUID = conn.execute(
        f"insert into stores (org_id, platform, name, {domain[0]}, currency, timezone) "
        "values (%s, %s, 'Rollups', %s, 'USD', %s) returning id",
        (t.org_id, platform, domain[1], tz),
    ).fetchone()["id"]
    products = [
        conn.execute(
            "insert into products (org_id, store_id, external_id, title) values (%s, %s, %s, %s) returning id",
            (t.org_id, store, f"p{i}", f"P{i}"),
        ).fetchone()["id"]
        for i in range(6)
    ]
    linked = {
        f"k{i}": conn.execute(
            "insert into customers (org_id, store_id, external_id) values (%s, %s, %s) returning id",
            (t.org_id, store, f"k{i}"),
        ).fetchone()["id"]
        for i in range(4)
    }
    for i in range(n_orders):
        at = START + timedelta(hours=rnd.randrange(0, 24 * 60), minutes=rnd.randrange(60))
        key = rnd.choice([None, *[f"c{j}" for j in range(12)], *linked])
        # some linked customers' orders carry only customer_id (the key comes from the customer row)
        ext = None if key in linked and rnd.random() < 0.5 else key
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, customer_id, customer_external_id, placed_at, test, "
            "status, currency, total_discounts, total_shipping, total_tax, total_fees) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, 'USD', %s, %s, %s, %s) returning id",
            (
                t.org_id,
                store,
                f"o{i}",
                linked.get(key or ""),
                ext,
                at,
                rnd.random() < 0.05,
                rnd.choice(STATUSES) if platform == "woocommerce" else None,
                rnd.choice(["0", "1.50", "3.00"]),
                "4.95",
                "2.10",
                rnd.choice(["0", "1.00"]),
            ),
        ).fetchone()["id"]
        lines = []
        for j in range(rnd.randint(1, 3)):
            lines.append(
                conn.execute(
                    "insert into order_lines (org_id, store_id, order_id, external_id, product_id, quantity, "
                    "unit_price, line_discount) values (%s, %s, %s, %s, %s, %s, %s, %s) returning id",
                    (
                        t.org_id,
                        store,
                        oid,
                        f"o{i}-l{j}",
                        rnd.choice([None, *products]),
                        rnd.randint(1, 3),
                        rnd.choice(["9.99", "20.00", "35.50"]),
                        rnd.choice(["0", "0.50"]),
                    ),
                ).fetchone()["id"]
            )
        if rnd.random() < 0.3:
            refunded_at = at + timedelta(days=rnd.randint(0, 9))
            rid = conn.execute(
                "insert into refunds (org_id, store_id, order_id, external_id, refunded_at, shipping, tax) "
                "values (%s, %s, %s, %s, %s, %s, %s) returning id",
                (t.org_id, store, oid, f"r{i}", refunded_at, "1.00", "0.30"),
            ).fetchone()["id"]
            conn.execute(
                "insert into refund_lines (org_id, store_id, refund_id, order_line_id, line_external_id, "
                "quantity, subtotal) values (%s, %s, %s, %s, %s, 1, %s)",
                (t.org_id, store, rid, lines[0] if i % 2 else None, f"o{i}-l0", "5.00"),
            )
    return store


def _snapshot(conn: Conn, store: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row of the store; store days without orders or refunds are all zeros and read the same as a
    missing day, so they are left out (a rebuild writes them from the first order on, a refresh only when touched)."""

    def rows(table: str, cols: str) -> list[tuple[Any, ...]]:
        busy = " and (orders <> 0 or refunds <> 0)" if table == "daily_store_metrics" else ""
        return [
            tuple(r.values())
            for r in conn.execute(
                f"select {cols} from {table} where store_id = %s{busy} order by {cols}", (store,)
            ).fetchall()
        ]

    snapshot = {table: rows(table, cols) for table, cols in _TABLES.items()}
    # Each order's and refund's stored contribution (what the next refresh subtracts); product entries sorted.
    for table, cols, arrays in (
        (
            "analytics_order_facts",
            "order_id, day, gross, discounts, shipping, taxes, fees, units",
            "product_ids, product_units, product_gross, product_discounts",
        ),
        ("analytics_refund_facts", "refund_id, day, returns, shipping, taxes", "product_ids, product_returns"),
    ):
        snapshot[table] = [
            tuple(r.values())
            for r in conn.execute(
                f"select {cols}, (select array_agg(u::text order by u::text) from unnest({arrays}) u) as entries "
                f"from {table} where store_id = %s order by 1",
                (store,),
            ).fetchall()
        ]
    return snapshot


def _queued(conn: Conn, store: uuid.UUID) -> tuple[int, int]:
    """(queued orders, refunds and days; queued customers)."""
    touched = conn.execute(
        "select (select count(*) from analytics_dirty_orders where store_id = %(s)s) "
        "+ (select count(*) from analytics_dirty_refunds where store_id = %(s)s) "
        "+ (select count(*) from analytics_dirty_days where store_id = %(s)s) as n",
        {"s": store},
    ).fetchone()
    keys = conn.execute("select count(*) as n from analytics_dirty_customers where store_id = %s", (store,)).fetchone()
    return touched["n"], keys["n"]


def _assert_incremental_equals_rebuild(conn: Conn, store: uuid.UUID) -> int:
    refreshed = refresh_pending(conn, store)
    assert _queued(conn, store) == (0, 0)
    incremental = _snapshot(conn, store)
    refresh_store_metrics(conn, store)  # full rebuild
    assert _snapshot(conn, store) == incremental
    return refreshed


def _edits(conn: Conn, store: uuid.UUID, seed: int) -> None:
    rnd = random.Random(seed)
    ids = [
        r["id"]
        for r in conn.execute("select id from orders where store_id = %s order by external_id", (store,)).fetchall()
    ]
    pick = rnd.sample(ids, 8)
    conn.execute("update orders set total_discounts = total_discounts + 1 where id = %s", (pick[0],))
    # across midnight and to another week: both the old and the new day change
    conn.execute("update orders set placed_at = placed_at + interval '9 days 7 hours' where id = %s", (pick[1],))
    conn.execute("update orders set placed_at = placed_at - interval '40 days' where id = %s", (pick[2],))  # 1st
    conn.execute("update orders set test = not test, status = 'cancelled' where id = %s", (pick[3],))
    conn.execute("delete from orders where id = %s", (pick[4],))
    conn.execute("update orders set customer_external_id = 'c-new' where id = %s", (pick[5],))
    conn.execute("update order_lines set product_id = null where order_id = %s", (pick[6],))
    conn.execute("update order_lines set quantity = quantity + 2 where order_id = %s", (pick[7],))
    conn.execute(
        "update refunds set refunded_at = refunded_at + interval '3 days' where id = "
        "(select id from refunds where store_id = %s order by external_id limit 1)",
        (store,),
    )
    conn.execute(
        "delete from refund_lines where id = "
        "(select id from refund_lines where store_id = %s order by line_external_id desc limit 1)",
        (store,),
    )


def test_incremental_refresh_equals_a_full_rebuild(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        for platform, tz, seed in (("shopify", "America/New_York", 1), ("woocommerce", "Asia/Kolkata", 2)):
            store = _seed(conn, t, platform, tz, 160, seed)
            built = refresh_store_metrics(conn, store)
            assert built > 60
            assert (
                conn.execute(
                    "select count(*) as n from daily_product_metrics where store_id = %s", (store,)
                ).fetchone()["n"]
                > 0
            )
            assert _queued(conn, store) == (0, 0)
            for round_ in range(3):
                _edits(conn, store, seed * 10 + round_)
                days, keys = _queued(conn, store)
                assert 0 < days < built and keys > 0
                refreshed = _assert_incremental_equals_rebuild(conn, store)
                assert refreshed < built  # only the touched days, not the history


def test_product_days_appear_and_vanish_with_their_last_line(database_url: str) -> None:
    """Product days exist while a line or a refund adds to them (sources): two lines of one product in one
    order, a new order on a new day, a refund re-linked to another product, a product's last line deleted."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "shopify", "Europe/Berlin", 60, 11)
        refresh_store_metrics(conn, store)
        p = {
            r["external_id"]: r["id"]
            for r in conn.execute("select id, external_id from products where store_id = %s", (store,)).fetchall()
        }
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, customer_external_id, placed_at, currency, "
            "total_discounts) values (%s, %s, 'x1', 'k1', '2026-09-20T23:30Z', 'USD', 3.00) returning id",
            (t.org_id, store),
        ).fetchone()["id"]
        for n, product in ((1, "p1"), (2, "p1"), (3, None)):
            conn.execute(
                "insert into order_lines (org_id, store_id, order_id, external_id, product_id, quantity, unit_price, "
                "line_discount) values (%s, %s, %s, %s, %s, 2, 7.25, 0.50)",
                (t.org_id, store, oid, f"x1-{n}", p[product] if product else None),
            )
        rid = conn.execute(
            "insert into refunds (org_id, store_id, order_id, external_id, refunded_at, shipping) "
            "values (%s, %s, %s, 'rx1', '2026-09-25T10:00Z', 2.00) returning id",
            (t.org_id, store, oid),
        ).fetchone()["id"]
        conn.execute(
            "insert into refund_lines (org_id, store_id, refund_id, line_external_id, quantity, subtotal) "
            "values (%s, %s, %s, 'x1-2', 1, 6.75)",
            (t.org_id, store, rid),
        )
        _assert_incremental_equals_rebuild(conn, store)
        conn.execute(
            "update order_lines set product_id = %s where external_id = 'x1-2' and store_id = %s", (p["p2"], store)
        )
        _assert_incremental_equals_rebuild(conn, store)
        conn.execute("delete from order_lines where order_id = %s and external_id in ('x1-1', 'x1-2')", (oid,))
        _assert_incremental_equals_rebuild(conn, store)
        assert (
            conn.execute(
                "select count(*) as n from daily_product_metrics where store_id = %s and day = '2026-09-21'", (store,)
            ).fetchone()["n"]
            == 0
        )


def test_days_queued_while_a_first_build_ran_are_refreshed_exactly(database_url: str) -> None:
    """Writes to a store not yet built queue days, not orders; a writer racing the first build leaves such days
    behind after it: the refresh recomputes the facts of every order and refund of those days."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "woocommerce", "America/New_York", 120, 12)
        refresh_store_metrics(conn, store)
        state = conn.execute("select * from analytics_state where store_id = %s", (store,)).fetchone()
        conn.execute("delete from analytics_state where store_id = %s", (store,))  # as seen by the racing writer
        _edits(conn, store, 121)
        days = conn.execute("select count(*) as n from analytics_dirty_days where store_id = %s", (store,)).fetchone()
        assert days["n"] > 0
        orders = conn.execute("select count(*) as n from analytics_dirty_orders where store_id = %s", (store,))
        assert orders.fetchone()["n"] == 0
        conn.execute(
            "insert into analytics_state (store_id, full_needed, built_at, refreshed_at) values (%s, false, %s, %s)",
            (store, state["built_at"], state["refreshed_at"]),
        )
        _assert_incremental_equals_rebuild(conn, store)


def test_an_explicit_range_refresh_also_applies_the_queue(database_url: str) -> None:
    """The nightly drift check's range refresh: the queue is applied (orders moved out of the range too) and the
    range's days are recomputed from the rows; a drifted day in the range is repaired."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "shopify", "Asia/Kolkata", 120, 13)
        refresh_store_metrics(conn, store)
        _edits(conn, store, 131)
        conn.execute(
            "update daily_store_metrics set gross_sales = gross_sales + 1 where store_id = %s and day = '2026-06-20'",
            (store,),
        )
        refresh_store_metrics(conn, store, START.date() + timedelta(days=10), START.date() + timedelta(days=30))
        assert _queued(conn, store) == (0, 0)
        incremental = _snapshot(conn, store)
        refresh_store_metrics(conn, store)
        assert _snapshot(conn, store) == incremental


def test_a_store_never_built_is_built_whole_by_the_pending_refresh(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "shopify", "UTC", 30, 3)
        today = conn.execute("select (now() at time zone 'UTC')::date as d").fetchone()["d"]
        first = conn.execute("select min(placed_at)::date as d from orders where store_id = %s", (store,)).fetchone()[
            "d"
        ]
        assert refresh_pending(conn, store) == (today - first).days + 1
        assert refresh_pending(conn, store) == 0  # nothing queued any more
        incremental = _snapshot(conn, store)
        refresh_store_metrics(conn, store)
        assert _snapshot(conn, store) == incremental


def test_a_customer_renamed_and_orders_changing_currency_are_refreshed_exactly(database_url: str) -> None:
    """A customer row's external id keys the orders that carry only its id; an order whose currency stops or
    starts being the shop's leaves or enters every figure, its refunds too (docs/metrics.md "Currencies")."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "woocommerce", "Europe/Berlin", 120, 5)
        refresh_store_metrics(conn, store)
        keyed_by_row = conn.execute(
            "select c.id from customers c join orders o on o.customer_id = c.id "
            "where c.store_id = %s and o.customer_external_id is null limit 1", (store,)).fetchone()
        conn.execute("update customers set external_id = 'renamed' where id = %s", (keyed_by_row["id"],))
        assert _queued(conn, store)[1] == 2  # the old key and the new one
        _assert_incremental_equals_rebuild(conn, store)
        assert conn.execute("select count(*) as n from daily_customer_orders where store_id = %s "
                            "and customer_key = 'renamed'", (store,)).fetchone()["n"] > 0

        refunded = conn.execute("select order_id from refunds where store_id = %s order by external_id limit 2",
                                (store,)).fetchall()
        orders_before = conn.execute("select sum(orders) as n from daily_store_metrics where store_id = %s",
                                     (store,)).fetchone()["n"]
        conn.execute("update orders set currency = 'EUR' where id = any(%s)", ([r["order_id"] for r in refunded],))
        _assert_incremental_equals_rebuild(conn, store)
        counting = conn.execute(
            "select count(*) as n from orders o join stores s on s.id = o.store_id where o.id = any(%s) "
            "and app.order_counts(s.platform, o.status, o.test)", ([r["order_id"] for r in refunded],)).fetchone()
        assert conn.execute("select sum(orders) as n from daily_store_metrics where store_id = %s",
                            (store,)).fetchone()["n"] == orders_before - counting["n"]
        conn.execute("update orders set currency = 'USD' where id = any(%s)", ([r["order_id"] for r in refunded],))
        _assert_incremental_equals_rebuild(conn, store)
        assert conn.execute("select sum(orders) as n from daily_store_metrics where store_id = %s",
                            (store,)).fetchone()["n"] == orders_before


def test_a_time_zone_change_rebuilds_the_store(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "shopify", "UTC", 40, 4)
        refresh_store_metrics(conn, store)
        conn.execute("update stores set timezone = 'Pacific/Auckland' where id = %s", (store,))
        _assert_incremental_equals_rebuild(conn, store)
        assert (
            conn.execute("select full_needed from analytics_state where store_id = %s", (store,)).fetchone()[
                "full_needed"
            ]
            is False
        )


async def test_a_write_outside_a_sync_is_read_at_once(client: httpx.AsyncClient, database_url: str) -> None:
    """A webhook (or any write) queues its days; the next read refreshes them, no sync needed."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "shopify", "UTC", 20, 5)
        refresh_store_metrics(conn, store)
    params = {"store_id": str(store), "from": "2026-05-01", "to": "2026-08-31"}
    before = (await client.get("/api/v1/analytics/summary", headers=t.member, params=params)).json()
    products_before = (await client.get("/api/v1/analytics/products", headers=t.member, params=params)).json()
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        oid = conn.execute(
            "insert into orders (org_id, store_id, external_id, customer_external_id, placed_at, "
            "currency) values (%s, %s, 'late', 'brand-new', '2026-07-01T12:00Z', 'USD') returning id",
            (t.org_id, store),
        ).fetchone()["id"]
        pid = conn.execute("select id from products where store_id = %s and external_id = 'p0'", (store,)).fetchone()[
            "id"
        ]
        conn.execute(
            "insert into order_lines (org_id, store_id, order_id, external_id, product_id, quantity, "
            "unit_price) values (%s, %s, %s, 'late-1', %s, 1, 100.00)",
            (t.org_id, store, oid, pid),
        )
    after = (await client.get("/api/v1/analytics/summary", headers=t.member, params=params)).json()
    products_after = (await client.get("/api/v1/analytics/products", headers=t.member, params=params)).json()
    cur, prev = after["period"]["metrics"], before["period"]["metrics"]
    assert cur["orders"] == prev["orders"] + 1 and cur["new_customers"] == prev["new_customers"] + 1
    assert float(cur["gross_sales"]["amount"]) == float(prev["gross_sales"]["amount"]) + 100.0

    def units(body: dict[str, Any]) -> int:
        return next(i["units_sold"] for i in body["items"] if i["external_id"] == "p0")

    assert units(products_after) == units(products_before) + 1


def test_returning_customers_of_long_periods_match_a_direct_count(database_url: str) -> None:
    """Periods of 90 days and more use prefix sums and the gap index instead of reading their rows: same answer."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "woocommerce", "America/New_York", 400, 6)
        # a few customers with long gaps: back after 100 and 200 days
        conn.execute(
            "update orders set placed_at = placed_at - interval '200 days' where store_id = %s "
            "and external_id in ('o1', 'o2', 'o3')",
            (store,),
        )
        conn.execute(
            "update orders set placed_at = placed_at + interval '100 days' where store_id = %s "
            "and external_id in ('o4', 'o5')",
            (store,),
        )
        refresh_store_metrics(conn, store)
        _edits(conn, store, 61)
        refresh_pending(conn, store)
        rnd = random.Random(7)
        for _ in range(25):
            start = START.date() - timedelta(days=rnd.randrange(0, 240))
            end = start + timedelta(days=rnd.randrange(89, 300))
            fast = conn.execute("select app.returning_customers(%s, %s, %s) as n", (store, start, end)).fetchone()
            direct = conn.execute(
                "select count(*) as n from daily_customer_orders where store_id = %s and day between %s and %s "
                "and prev_day < %s",
                (store, start, end, start),
            ).fetchone()
            counted = conn.execute(
                "select returning_customers as n from app.customer_counts(%s, %s, %s, 'period')", (store, start, end)
            ).fetchone()
            assert fast["n"] == direct["n"] == (counted["n"] if counted else 0), (start, end)


async def test_weekly_and_monthly_customer_counts_match_a_distinct_count(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Buckets sum the days' returning_week / returning_month; a first bucket clipped by `from` is counted
    directly. Both equal app.customer_counts, which counts distinct customers per bucket."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"ro{uuid.uuid4().hex[:6]}")
        store = _seed(conn, t, "shopify", "Europe/Berlin", 300, 8)
        refresh_store_metrics(conn, store)
        _edits(conn, store, 81)  # left queued: the read refreshes first
        for start, end in (("2026-06-03", "2026-08-05"), ("2026-06-01", "2026-07-31"), ("2026-06-17", "2026-06-20")):
            for interval in ("week", "month"):
                got: dict[str, dict[str, int]] = {}
                for metric in ("new_customers", "returning_customers"):
                    r = await client.get(
                        "/api/v1/analytics/timeseries",
                        headers=t.member,
                        params={
                            "store_id": str(store),
                            "metric": metric,
                            "interval": interval,
                            "from": start,
                            "to": end,
                        },
                    )
                    assert r.status_code == 200, r.text
                    got[metric] = {p["t"]: p["value"] for p in r.json()["points"]}
                want = {
                    r["bucket"].isoformat(): (r["new_customers"], r["returning_customers"])
                    for r in conn.execute(
                        "select * from app.customer_counts(%s, %s, %s, %s)", (store, start, end, interval)
                    ).fetchall()
                }
                assert any(v != (0, 0) for v in want.values())
                for bucket, value in got["new_customers"].items():
                    assert (value, got["returning_customers"][bucket]) == want.get(bucket, (0, 0)), (interval, bucket)
