"""Period summary and time series of a store's metrics (SPEC "Metric definitions"; docs/metrics.md).

Money and order figures are sums of the daily rollup (refreshed first when a day is missing or older
than the store's last sync); new and returning customers are counted distinct per period, since a
customer buying on two days is one customer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field

from shared.analytics import metrics as m
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.money import Money

MAX_RANGE_DAYS = 1096  # three years, a leap day included
Metric = Literal["gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "fees", "total_sales",
                 "aov", "orders", "units_sold", "refunds", "new_customers", "returning_customers"]
Bucketing = Literal["day", "week", "month", "period"]


class SummaryMetrics(BaseModel):
    gross_sales: Money
    discounts: Money
    returns: Money
    net_sales: Money
    shipping: Money
    taxes: Money
    fees: Money
    total_sales: Money
    aov: Money
    orders: int
    units_sold: int
    refunds: int
    new_customers: int
    returning_customers: int


class PeriodPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    metrics: SummaryMetrics


class SummaryPublic(BaseModel):
    store_id: uuid.UUID
    currency: str
    timezone: str
    period: PeriodPublic
    previous_period: PeriodPublic
    change: dict[str, float | None] = Field(description="percent against the previous period; null when it was 0")
    as_of: datetime | None = Field(description="the store's last successful sync")
    syncs: list[uuid.UUID] = Field(description="the store's last succeeded sync the figures rest on")


class TimeseriesPoint(BaseModel):
    t: date
    value: str | int


class TimeseriesPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    store_id: uuid.UUID
    metric: Metric
    interval: m.Interval
    unit: Literal["money", "count"]
    currency: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    points: list[TimeseriesPoint]
    as_of: datetime | None
    syncs: list[uuid.UUID]


@dataclass(frozen=True)
class StoreContext:
    id: uuid.UUID
    currency: str
    timezone: str
    today: date
    as_of: datetime | None
    syncs: list[uuid.UUID]


Totals = dict[str, Any]  # metric name -> Decimal (money) or int (counts)


def validate_range(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise ValidationFailed("`from` is after `to`", [FieldError(["query", "from"], "must not be after `to`")])
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed("the range is too long",
                               [FieldError(["query", "to"], f"at most {MAX_RANGE_DAYS} days after `from`")])


async def store_context(conn: AsyncConnection[DictRow], store_id: uuid.UUID) -> StoreContext:
    cur = await conn.execute(
        "select s.id, coalesce(s.currency, 'USD') as currency, s.timezone, s.last_synced_at, "
        "(now() at time zone s.timezone)::date as today, "
        "(select j.id from sync_jobs j where j.store_id = s.id and j.status = 'succeeded' "
        " order by j.finished_at desc nulls last, j.created_at desc limit 1) as last_sync "
        "from stores s where s.id = %s", (store_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("store not found")
    return StoreContext(row["id"], row["currency"].strip(), row["timezone"], row["today"], row["last_synced_at"],
                  [row["last_sync"]] if row["last_sync"] else [])


async def daily_rows(conn: AsyncConnection[DictRow], store: StoreContext, date_from: date,
                      date_to: date) -> list[dict[str, Any]]:
    await m.ensure_fresh(conn, store.id, date_from, date_to, store.today)
    cur = await conn.execute(
        f"select day, {', '.join(m.ROLLUP_METRICS)} from daily_store_metrics "
        "where store_id = %s and day between %s and %s order by day", (store.id, date_from, date_to))
    return list(await cur.fetchall())


async def _customers(conn: AsyncConnection[DictRow], store_id: uuid.UUID, date_from: date, date_to: date,
                     bucketing: Bucketing) -> dict[date, tuple[int, int]]:
    cur = await conn.execute("select * from app.customer_counts(%s, %s, %s, %s)",
                             (store_id, date_from, date_to, bucketing))
    return {r["bucket"]: (r["new_customers"], r["returning_customers"]) for r in await cur.fetchall()}


def _empty() -> Totals:
    totals: Totals = {k: Decimal("0.00") for k in m.MONEY_METRICS}
    totals.update({k: 0 for k in m.COUNT_METRICS})
    return totals


def _bucket_totals(rows: list[dict[str, Any]], customers: dict[date, tuple[int, int]], keys: list[date],
                   key_of: Callable[[date], date]) -> dict[date, Totals]:
    """Sum daily rows into the given buckets (zeros where nothing happened) and add customer counts."""
    out: dict[date, Totals] = defaultdict(_empty)
    for key in keys:
        out[key] = _empty()
    for row in rows:
        totals = out[key_of(row["day"])]
        for name in m.ROLLUP_METRICS:
            totals[name] += row[name]
    for key, (new, returning) in customers.items():
        out[key]["new_customers"], out[key]["returning_customers"] = new, returning
    for totals in out.values():
        totals["aov"] = m.aov(totals["gross_sales"], totals["discounts"], totals["orders"])
    return out


def _metrics_of(totals: Totals, currency: str) -> SummaryMetrics:
    values = {k: Money.of(v, currency) if isinstance(v, Decimal) else v for k, v in totals.items()}
    return SummaryMetrics.model_validate(values)


async def _period_totals(conn: AsyncConnection[DictRow], store: StoreContext, date_from: date, date_to: date,
                         rows: list[dict[str, Any]]) -> Totals:
    inside = [r for r in rows if date_from <= r["day"] <= date_to]
    customers = await _customers(conn, store.id, date_from, date_to, "period")
    return _bucket_totals(inside, customers, [date_from], lambda _day: date_from)[date_from]


def _period(date_from: date, date_to: date, metrics: SummaryMetrics) -> PeriodPublic:
    return PeriodPublic.model_validate({"from": date_from, "to": date_to, "metrics": metrics})


async def summary(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, date_from: date,
                  date_to: date) -> SummaryPublic:
    """The period's metrics beside the previous period of equal length, with change in percent."""
    validate_range(date_from, date_to)
    store = await store_context(conn, store_id)
    length = timedelta(days=(date_to - date_from).days + 1)
    prev_from, prev_to = date_from - length, date_from - timedelta(days=1)
    rows = await daily_rows(conn, store, prev_from, date_to)
    current = await _period_totals(conn, store, date_from, date_to, rows)
    previous = await _period_totals(conn, store, prev_from, prev_to, rows)
    return SummaryPublic(
        store_id=store.id, currency=store.currency, timezone=store.timezone,
        period=_period(date_from, date_to, _metrics_of(current, store.currency)),
        previous_period=_period(prev_from, prev_to, _metrics_of(previous, store.currency)),
        change={k: m.change_pct(current[k], previous[k]) for k in SummaryMetrics.model_fields},
        as_of=store.as_of, syncs=store.syncs,
    )


async def timeseries(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, metric: Metric, interval: m.Interval,
                     date_from: date, date_to: date) -> TimeseriesPublic:
    """One metric per day, ISO week (Monday) or month; `t` is the bucket's first day, empty buckets are 0."""
    validate_range(date_from, date_to)
    store = await store_context(conn, store_id)
    rows = await daily_rows(conn, store, date_from, date_to)
    customers = (await _customers(conn, store.id, date_from, date_to, interval)
                 if metric in m.CUSTOMER_METRICS else {})
    keys = list(m.buckets(date_from, date_to, interval))
    totals = _bucket_totals(rows, customers, keys, lambda day: m.bucket_start(day, interval))
    is_money = metric in m.MONEY_METRICS or metric == "aov"
    points = [
        TimeseriesPoint(t=key, value=Money.of(totals[key][metric], store.currency).amount if is_money
                        else int(totals[key][metric]))
        for key in keys
    ]
    return TimeseriesPublic.model_validate({
        "store_id": store.id, "metric": metric, "interval": interval, "unit": "money" if is_money else "count",
        "currency": store.currency, "from": date_from, "to": date_to, "points": points, "as_of": store.as_of,
        "syncs": store.syncs,
    })
