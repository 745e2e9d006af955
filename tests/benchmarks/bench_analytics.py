"""Analytics benchmark: one store with ~1,000,000 order lines over 400 products.

Prints: the full rebuild of the rollups (store days, product days, customers' order days); the incremental
refresh after 1,000 changed orders (spread over the whole history, and recent ones); /analytics/summary,
/analytics/timeseries and /analytics/products p50/p95 over HTTP (the app under uvicorn, a real token, RLS on);
the same figures computed by scanning the order lines (no rollup), and the ratio.

    python -m tests.benchmarks analytics
    BENCH_LINES=200000 python -m tests.benchmarks analytics     # a quicker look
    BENCH_HTTP=0 python -m tests.benchmarks analytics           # rebuild, refreshes and write costs only
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from devhost.postgres import EmbeddedPostgres
from devhost.servers import serve_in_thread
from functions.http_api.app import create_app
from shared.analytics.metrics import refresh_pending, refresh_store_metrics
from shared.auth.tokens import mint_token
from shared.bootstrap import build_container
from shared.config import Settings
from shared.db.migrate import migrate
from shared.identity import ensure_membership, ensure_org, ensure_user
from shared.secrets.local import LocalEncryptedSecretStore

SECRET = "bench-jwt-secret-that-is-long-enough!!"
DAYS = 730
PRODUCTS = 400

# Orders over two years (weekly rhythm), 2-3 lines each, 5 % refunded a few days later.
_SEED = """
insert into orders (org_id, store_id, external_id, placed_at, currency, subtotal, total_discounts, total_shipping,
                    total_tax, total_price, customer_external_id)
select %(org)s, %(store)s, 'O' || g,
       %(start)s::timestamptz + (g * interval '1 second' * %(spacing)s),
       'USD', 0, 1.50, 4.95, 2.10, 0, 'C' || (g %% 20000)
from generate_series(1, %(orders)s) g;
insert into products (org_id, store_id, external_id, title)
select %(org)s, %(store)s, 'P' || g, 'Product ' || g from generate_series(1, %(products)s) g;
insert into order_lines (org_id, store_id, order_id, external_id, quantity, unit_price, line_discount, sku, product_id)
select o.org_id, o.store_id, o.id, o.external_id || '-' || n, 1 + (n %% 3), 9.99 + (n * 5), 0.50, 'SKU' || n,
       p.ids[1 + (hashtext(o.external_id || n) & 2147483647) %% %(products)s]
from orders o cross join generate_series(1, 3) n
cross join (select array_agg(id order by external_id) as ids from products where store_id = %(store)s) p
where o.store_id = %(store)s and (n < 3 or o.external_id like '%%5');
insert into refunds (org_id, store_id, order_id, external_id, refunded_at, total)
select org_id, store_id, id, 'R' || external_id, placed_at + interval '4 days', 10.49
from orders where store_id = %(store)s and external_id like '%%7';
insert into refund_lines (org_id, store_id, refund_id, order_line_id, line_external_id, quantity, subtotal)
select r.org_id, r.store_id, r.id, l.id, l.external_id, 1, l.unit_price - l.line_discount
from refunds r join order_lines l on l.order_id = r.order_id and l.external_id like '%%-1'
where r.store_id = %(store)s;
"""

# The summary's money figures straight from the raw rows: what every request would cost without a rollup.
_SCAN = """
select sum(l.unit_price * l.quantity) as gross, sum(l.line_discount) as discounts, count(distinct o.id) as orders,
       (select coalesce(sum(rl.subtotal), 0) from refunds r join refund_lines rl on rl.refund_id = r.id
         where r.store_id = %(store)s
           and (r.refunded_at at time zone 'America/New_York')::date between %(from)s and %(to)s) as returns
from orders o join order_lines l on l.order_id = o.id
where o.store_id = %(store)s and not o.test
  and (o.placed_at at time zone 'America/New_York')::date between %(from)s and %(to)s
"""

# /analytics/products' sums straight from the raw rows (the query it ran before the product rollup).
_PRODUCT_SCAN = """
select ol.product_id, sum(ol.quantity) as units, sum(ol.unit_price * ol.quantity - ol.line_discount) as sales,
       (select coalesce(sum(rl.subtotal), 0) from refunds r join refund_lines rl on rl.refund_id = r.id
        join order_lines x on x.id = rl.order_line_id
        where r.store_id = %(store)s and x.product_id = ol.product_id
          and (r.refunded_at at time zone 'America/New_York')::date between %(from)s and %(to)s) as returns
from orders o join order_lines ol on ol.order_id = o.id
where o.store_id = %(store)s and not o.test and ol.product_id is not null
  and o.placed_at >= (%(from)s::date::timestamp at time zone 'America/New_York')
  and o.placed_at < ((%(to)s::date + 1)::timestamp at time zone 'America/New_York')
group by ol.product_id
"""


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    lines_target = int(os.environ.get("BENCH_LINES", "1000000"))
    orders = lines_target * 10 // 23  # 2.3 lines an order on average
    with ExitStack() as stack:
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            # Registered first, removed last: after Postgres has stopped (a run leaves ~1 GB otherwise).
            pg = EmbeddedPostgres(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pg-"))) / "data")
            url = pg.start()
            stack.callback(pg.stop)
        migrate(url)
        start = date.today() - timedelta(days=DAYS)
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            user = ensure_user(conn, "analytics-bench@example.com")
            org = ensure_org(conn, f"Bench {uuid.uuid4().hex[:6]}", uuid.uuid4())
            ensure_membership(conn, org, user, "admin")
            store = conn.execute("insert into stores (org_id, platform, name, shop_domain, currency, timezone) "
                                 "values (%s, 'shopify', 'Bench', %s, 'USD', 'America/New_York') returning id",
                                 (org, f"b{uuid.uuid4().hex[:8]}.myshopify.com")).fetchone()["id"]
            t0 = time.perf_counter()
            params = {
                "org": org,
                "store": store,
                "start": start,
                "orders": orders,
                "spacing": DAYS * 86_400 // orders,
                "products": PRODUCTS,
            }
            for statement in filter(str.strip, _SEED.split(";\n")):
                conn.execute(statement, params)
            conn.execute("analyze")
            lines = conn.execute("select count(*) as n from order_lines where store_id = %s", (store,)).fetchone()
            print(f"seeded {orders:,} orders / {lines['n']:,} order lines in {time.perf_counter() - t0:.1f} s")
            conn.autocommit = False
            t0 = time.perf_counter()
            with conn.transaction():
                refresh_store_metrics(conn, store)
            rows = conn.execute(
                "select (select count(*) from daily_product_metrics where store_id = %(s)s) as p, "
                "(select count(*) from daily_customer_orders where store_id = %(s)s) as c",
                {"s": store},
            ).fetchone()
            print(
                f"full rebuild of the rollups ({DAYS} days; {rows['p']:,} product days, {rows['c']:,} customer "
                f"order days): {time.perf_counter() - t0:.1f} s  (target < 15 s)"
            )
            conn.commit()
            conn.autocommit = True
            conn.execute("vacuum analyze")  # the rollups and whatever else the rebuild wrote, as autovacuum would
            conn.autocommit = False
            for label, where in (
                ("spread over the 2 years", "true"),
                ("placed in the last 7 days", "placed_at > now() - interval '7 days'"),
            ):
                _incremental(conn, store, label, where)
            _sync_pages(conn, store)
        if os.environ.get("BENCH_HTTP", "1") != "0":
            _http(stack, url, store, user)


def _incremental(conn: psycopg.Connection[Any], store: uuid.UUID, label: str, where: str) -> None:
    """1,000 orders change (a discount, and for a tenth the placing day); the writes queue their days and
    customers; the refresh recomputes just those."""
    changed = conn.execute(
        f"select id from orders where store_id = %s and {where} order by random() limit 1000", (store,)
    ).fetchall()
    ids = [r["id"] for r in changed]
    t0 = time.perf_counter()
    with conn.transaction():
        conn.execute("update orders set total_discounts = total_discounts + 1 where id = any(%s)", (ids,))
        conn.execute("update orders set placed_at = placed_at + interval '1 day' where id = any(%s)", (ids[:100],))
    written = time.perf_counter() - t0
    queued = conn.execute("select count(*) as n from analytics_dirty_days where store_id = %s", (store,)).fetchone()
    t0 = time.perf_counter()
    with conn.transaction():
        days = refresh_pending(conn, store)
    print(
        f"incremental refresh after 1,000 changed orders {label} ({queued['n']} days queued, {days} days "
        f"recomputed): {time.perf_counter() - t0:.2f} s  (target < 1 s; the writes with their queue triggers "
        f"took {written:.2f} s)"
    )


def _sync_pages(conn: psycopg.Connection[Any], store: uuid.UUID) -> None:
    """A sync re-writing 20,000 orders of a built store in pages of 250 (one statement each, as the sync's
    upserts): what the queue triggers add to bulk writes, and the refresh after it."""
    ids = [
        r["id"]
        for r in conn.execute(
            "select id from orders where store_id = %s order by placed_at desc limit 20000", (store,)
        ).fetchall()
    ]
    t0 = time.perf_counter()
    with conn.transaction():
        for i in range(0, len(ids), 250):
            conn.execute("update orders set synced_at = now() where id = any(%s)", (ids[i : i + 250],))
    written = time.perf_counter() - t0
    t0 = time.perf_counter()
    with conn.transaction():
        days = refresh_pending(conn, store)
    print(
        f"sync re-writing {len(ids):,} orders in pages of 250: writes {written:.2f} s; refresh after it "
        f"({days} days): {time.perf_counter() - t0:.2f} s"
    )


def _http(stack: ExitStack, url: str, store: uuid.UUID, user: uuid.UUID) -> None:
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-analytics-")))
    settings = Settings(environment="test", database_url=url, supabase_jwt_secret=SECRET,
                        local_secrets_path=tmp / "s.enc", local_secrets_key=LocalEncryptedSecretStore.generate_key(),
                        rate_limit_per_minute=1_000_000)
    container = build_container(settings, orchestrations=None)  # type: ignore[arg-type]
    server = serve_in_thread(create_app(container), lifespan="on")  # opens the pools on its loop
    stack.callback(server.stop)
    asyncio.run(_wait_started(server.base_url))
    token = mint_token(secret=SECRET, user_id=user, email="analytics-bench@example.com")
    client = stack.enter_context(httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}))
    to = date.today() - timedelta(days=1)
    for label, days in (("30 days", 30), ("365 days", 365)):
        frm = to - timedelta(days=days - 1)
        params = {"store_id": str(store), "from": frm.isoformat(), "to": to.isoformat()}
        client.get("/api/v1/analytics/summary", params=params).raise_for_status()  # warm: rollup present
        summary = _timed(lambda p=params: client.get("/api/v1/analytics/summary", params=p).raise_for_status(), 100)
        series = _timed(
            lambda p=params: client.get(
                "/api/v1/analytics/timeseries", params={**p, "metric": "net_sales", "interval": "day"}
            ).raise_for_status(),
            100,
        )
        weekly = _timed(
            lambda p=params: client.get(
                "/api/v1/analytics/timeseries", params={**p, "metric": "returning_customers", "interval": "week"}
            ).raise_for_status(),
            50,
        )
        products = _timed(
            lambda p=params: client.get("/api/v1/analytics/products", params={**p, "limit": 50}).raise_for_status(), 50
        )
        with psycopg.connect(url) as conn:
            scan = _timed(lambda f=frm: conn.execute(_SCAN, {"store": store, "from": f, "to": to}).fetchall(), 10)
            pscan = _timed(
                lambda f=frm: conn.execute(_PRODUCT_SCAN, {"store": store, "from": f, "to": to}).fetchall(), 3
            )  # tens of seconds each at 1M lines
        ps, pt, pp, sc, psc = (_pct(summary, 50), _pct(series, 50), _pct(products, 50), _pct(scan, 50), _pct(pscan, 50))
        print(
            f"{label}: summary p50 {ps:.1f} ms p95 {_pct(summary, 95):.1f} ms; timeseries (net sales by day) "
            f"p50 {pt:.1f} ms p95 {_pct(series, 95):.1f} ms (target p95 < 50 ms); scanning the lines without the "
            f"rollup p50 {sc:.1f} ms → summary {sc / ps:.1f}x, timeseries {sc / pt:.1f}x faster (target >= 10x)"
        )
        print(
            f"{label}: timeseries (returning customers by week) p50 {_pct(weekly, 50):.1f} ms p95 "
            f"{_pct(weekly, 95):.1f} ms; products p50 {pp:.1f} ms p95 {_pct(products, 95):.1f} ms; products' sums "
            f"scanning the lines p50 {psc:.1f} ms → {psc / pp:.1f}x"
        )


async def _wait_started(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            if (await client.get(f"{base}/health")).status_code == 200:
                return
            await asyncio.sleep(0.05)
