"""Daily rollups (docs/metrics.md, docs/decisions/0009-analytics-rollups.md): their refresh, and the pure
arithmetic around them.

The figures themselves are computed in SQL (migrations 20261125000800_analytics_rollups.sql and
20261125001000_analytics_refresh_speed.sql) in the shop's time zone and currency: triggers queue the orders, refunds
and customers every write touches, `app.refresh_store_analytics_pending` recomputes just those and adds the
difference to their days. This module calls the refreshes and holds the small pure pieces (buckets, AOV,
change %) the services need.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow

from shared.money import CENT

Interval = Literal["day", "week", "month"]

MONEY_METRICS = ("gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "fees", "total_sales")
COUNT_METRICS = ("orders", "units_sold", "refunds", "new_customers", "returning_customers")
CUSTOMER_METRICS = ("new_customers", "returning_customers")
# Sums of the daily rollup; customers are counted distinct per period instead (not additive over days).
ROLLUP_METRICS = (*MONEY_METRICS, "orders", "units_sold", "refunds")

_REFRESH = "select app.refresh_store_analytics(%s, %s, %s) as rows"
_REBUILD = "select app.rebuild_store_analytics(%s) as rows"
_PENDING = "select app.refresh_store_analytics_pending(%s) as rows"


def refresh_store_metrics(conn: Connection[DictRow], store_id: uuid.UUID, date_from: date | None = None,
                          date_to: date | None = None) -> int:
    """Recompute the store's rollups for [date_from, date_to] (shop-local days); returns store days written.

    Without dates: a full rebuild, every customer and every day from the store's first order to today in its
    time zone. Either way every customer's order days are recomputed too. Blocking, for activities and jobs.
    """
    if date_from is None or date_to is None:
        result = conn.execute(_REBUILD, (store_id,)).fetchone()
    else:
        result = conn.execute(_REFRESH, (store_id, date_from, date_to)).fetchone()
    return int(result["rows"]) if result else 0


def refresh_pending(conn: Connection[DictRow], store_id: uuid.UUID) -> int:
    """Recompute only what changed since the last refresh (the orders, refunds and customers the change queue
    holds; everything when the store was never built). Returns the number of store days written."""
    result = conn.execute(_PENDING, (store_id,)).fetchone()
    return int(result["rows"]) if result else 0


def stores_with_queued_changes(conn: Connection[DictRow]) -> list[uuid.UUID]:
    """Built stores whose change queue holds something (index probes per store): what a refresh would take.
    Stores never built are left to their sync, which builds them."""
    rows = conn.execute(
        "select a.store_id from analytics_state a where not a.full_needed and ("
        " exists (select 1 from analytics_dirty_orders x where x.store_id = a.store_id)"
        " or exists (select 1 from analytics_dirty_refunds x where x.store_id = a.store_id)"
        " or exists (select 1 from analytics_dirty_days x where x.store_id = a.store_id)"
        " or exists (select 1 from analytics_dirty_customers x where x.store_id = a.store_id))"
        " order by a.store_id").fetchall()
    return [r["store_id"] for r in rows]


def refresh_for_sync_job(conn: Connection[DictRow], job_id: uuid.UUID) -> int:
    """refresh_pending for the store of a sync job, for use right after it succeeded: the days and customers
    the sync's writes touched (a first sync builds the whole history)."""
    row = conn.execute("select store_id from sync_jobs where id = %s", (job_id,)).fetchone()
    return 0 if row is None else refresh_pending(conn, row["store_id"])


async def refresh_store_metrics_async(conn: AsyncConnection[DictRow], store_id: uuid.UUID, date_from: date,
                                      date_to: date) -> int:
    """The same refresh from a request (the SQL function refuses stores outside the caller's organizations)."""
    cur = await conn.execute(_REFRESH, (store_id, date_from, date_to))
    result = await cur.fetchone()
    return int(result["rows"]) if result else 0


async def refresh_pending_async(conn: AsyncConnection[DictRow], store_id: uuid.UUID) -> int:
    """refresh_pending from a request (refuses stores outside the caller's organizations)."""
    cur = await conn.execute(_PENDING, (store_id,))
    result = await cur.fetchone()
    return int(result["rows"]) if result else 0


async def ensure_fresh(conn: AsyncConnection[DictRow], store_id: uuid.UUID, date_from: date, date_to: date,
                       today: date) -> None:
    """Bring the rollups up to date when writes are waiting in the change queue (or it was never built).

    The dates are kept for callers; the queue knows exactly which days changed, so a fresh rollup costs one
    cheap probe. The analytics services skip even that: `store_context` reads the same flag.
    """
    del date_from, date_to, today
    cur = await conn.execute("select app.analytics_pending(%s) as pending", (store_id,))
    row = await cur.fetchone()
    if row is not None and row["pending"]:
        await refresh_pending_async(conn, store_id)


def aov(gross: Decimal, discounts: Decimal, orders: int) -> Decimal:
    """(gross - discounts) / orders, half-up to the cent; zero without orders."""
    if orders <= 0:
        return Decimal("0.00")
    return ((gross - discounts) / Decimal(orders)).quantize(CENT, rounding=ROUND_HALF_UP)


def change_pct(current: Decimal | int, previous: Decimal | int) -> float | None:
    """Change in percent against |previous|, two decimals half-up; None when previous is zero."""
    if previous == 0:
        return None
    pct = (Decimal(current) - Decimal(previous)) * 100 / abs(Decimal(previous))
    return float(pct.quantize(CENT, rounding=ROUND_HALF_UP))


def bucket_start(day: date, interval: Interval) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if interval == "month":
        return day.replace(day=1)
    return day


def buckets(date_from: date, date_to: date, interval: Interval) -> Iterator[date]:
    """Every bucket start touching [date_from, date_to], in order (the first may begin before date_from)."""
    current = bucket_start(date_from, interval)
    while current <= date_to:
        yield current
        if interval == "day":
            current += timedelta(days=1)
        elif interval == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
