"""Daily store metrics (docs/metrics.md): the rollup's refresh, and the pure arithmetic around it.

The figures themselves are computed in SQL (`app.refresh_daily_store_metrics`, migration
20261125000200_analytics.sql) in the shop's time zone and currency; this module calls it, reads
stale ranges, and holds the small pure pieces (buckets, AOV, change %) the service needs.
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
_HISTORY = """
select min((o.placed_at at time zone s.timezone)::date) as first_day,
       (now() at time zone s.timezone)::date as today
from stores s left join orders o on o.store_id = s.id
where s.id = %s
group by s.timezone
"""


def refresh_store_metrics(conn: Connection[DictRow], store_id: uuid.UUID, date_from: date | None = None,
                          date_to: date | None = None) -> int:
    """Recompute the store's daily rollup for [date_from, date_to] (shop-local days); returns rows written.

    Without dates: from the store's first order to today in its time zone (what a sync should call,
    since a synced order or refund can change any day from its placing day on). Blocking, for activities.
    """
    if date_from is None or date_to is None:
        row = conn.execute(_HISTORY, (store_id,)).fetchone()
        if row is None:
            return 0
        date_to = date_to or row["today"]
        date_from = date_from or min(row["first_day"] or date_to, date_to)
    result = conn.execute(_REFRESH, (store_id, date_from, date_to)).fetchone()
    return int(result["rows"]) if result else 0


def refresh_for_sync_job(conn: Connection[DictRow], job_id: uuid.UUID) -> int:
    """refresh_store_metrics for the store of a sync job: the whole history, for use right after it succeeded."""
    row = conn.execute("select store_id from sync_jobs where id = %s", (job_id,)).fetchone()
    return 0 if row is None else refresh_store_metrics(conn, row["store_id"])


async def refresh_store_metrics_async(conn: AsyncConnection[DictRow], store_id: uuid.UUID, date_from: date,
                                      date_to: date) -> int:
    """The same refresh from a request (the SQL function refuses stores outside the caller's organizations)."""
    cur = await conn.execute(_REFRESH, (store_id, date_from, date_to))
    result = await cur.fetchone()
    return int(result["rows"]) if result else 0


async def ensure_fresh(conn: AsyncConnection[DictRow], store_id: uuid.UUID, date_from: date, date_to: date,
                       today: date) -> None:
    """Refresh [date_from, min(date_to, today)] when a day is missing or older than the store's last sync."""
    last = min(date_to, today)
    if last < date_from:
        return
    cur = await conn.execute(
        "select count(*) as n, bool_or(m.computed_at < s.last_synced_at) as stale "
        "from stores s left join daily_store_metrics m on m.store_id = s.id and m.day between %s and %s "
        "where s.id = %s",
        (date_from, last, store_id))
    row = await cur.fetchone()
    if row is None or row["n"] < (last - date_from).days + 1 or row["stale"]:
        await refresh_store_metrics_async(conn, store_id, date_from, last)


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
