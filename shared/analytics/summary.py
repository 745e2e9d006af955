"""Period summary and time series of a store's metrics (SPEC "Metric definitions"; docs/metrics.md).

Money and order figures are sums of the daily rollup (refreshed first when writes wait in its change
queue); new and returning customers are counted distinct per period, since a customer buying on two days
is one customer (`app.returning_customers` over the customers' order days; docs/decisions/0009).
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


class UnconvertedOrders(BaseModel):
    orders: int = Field(description="counting orders placed in the period in another currency than the shop's, "
                                    "with no exchange rate to convert them: left out of every figure")
    currencies: list[str] = Field(description="their currencies (ISO 4217)")


class PeriodPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    metrics: SummaryMetrics
    unconverted: UnconvertedOrders


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
    rollup_pending: bool = False  # writes wait in the change queue: refresh before reading the rollups


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
        "(now() at time zone s.timezone)::date as today, app.analytics_pending(s.id) as pending, "
        "(select j.id from sync_jobs j where j.store_id = s.id and j.status = 'succeeded' "
        " order by j.finished_at desc nulls last, j.created_at desc limit 1) as last_sync "
        "from stores s where s.id = %s", (store_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("store not found")
    return StoreContext(row["id"], row["currency"].strip(), row["timezone"], row["today"], row["last_synced_at"],
                        [row["last_sync"]] if row["last_sync"] else [], bool(row["pending"]))


async def ensure_current(conn: AsyncConnection[DictRow], store: StoreContext) -> None:
    """Refresh the rollups first when the change queue holds writes (the flag came with the store context)."""
    if store.rollup_pending:
        await m.refresh_pending_async(conn, store.id)


async def daily_rows(conn: AsyncConnection[DictRow], store: StoreContext, date_from: date,
                     date_to: date) -> list[dict[str, Any]]:
    await ensure_current(conn, store)
    cur = await conn.execute(
        f"select day, {', '.join((*m.ROLLUP_METRICS, *m.CUSTOMER_METRICS))}, returning_week, returning_month "
        "from daily_store_metrics "
        "where store_id = %s and day between %s and %s order by day", (store.id, date_from, date_to))
    return list(await cur.fetchall())


async def _bucket_customers(conn: AsyncConnection[DictRow], store_id: uuid.UUID, rows: list[dict[str, Any]],
                            keys: list[date], date_from: date, date_to: date,
                            interval: m.Interval) -> dict[date, tuple[int, int]]:
    """New and returning customers per bucket, from the daily rows: new ones are additive, and a day's
    `returning_week` / `returning_month` counts its customers whose previous order was before the day's week /
    month, so a whole bucket sums them. Only a first bucket clipped by `from` (returning = previous order before
    `from`) is counted from the customers' order days."""
    column = {"day": "returning_customers", "week": "returning_week", "month": "returning_month"}[interval]
    out: dict[date, tuple[int, int]] = {}
    for row in rows:
        key = m.bucket_start(row["day"], interval)
        new, returning = out.get(key, (0, 0))
        out[key] = (new + row["new_customers"], returning + row[column])
    if keys and keys[0] < date_from:
        end = min(date_to, keys[1] - timedelta(days=1)) if len(keys) > 1 else date_to
        clipped = await _customers(conn, store_id, date_from, end, "period")
        out[keys[0]] = clipped.get(date_from, (0, 0))
    return out


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


# Both periods in one statement: sums of the daily rollup (new customers are additive: one first day each) and
# the returning customers of each period, counted distinct by app.returning_customers over the customers' order days.
_PERIODS = f"""
select p.cur, {", ".join(f"coalesce(sum(d.{k}), 0) as {k}" for k in (*m.ROLLUP_METRICS, "new_customers"))},
       coalesce(max(case when p.cur then rc.cur else rc.prev end), 0) as returning_customers
from (values (true), (false)) p (cur)
cross join (select app.returning_customers(%(s)s, %(f)s, %(t)s) as cur,
                   app.returning_customers(%(s)s, %(pf)s, %(pt)s) as prev offset 0) rc
left join daily_store_metrics d on d.store_id = %(s)s and d.day between %(pf)s and %(t)s and (d.day >= %(f)s) = p.cur
group by p.cur
"""


# Counting orders whose amounts are not in the shop's currency (docs/metrics.md "Currencies"), per period. The
# currency and zone are parameters, not the joined columns: the two ranges on the currency and the one on
# placed_at then reach those orders alone through orders_store_currency_idx (with the joined columns the
# planner reads every order of the periods).
_UNCONVERTED = """
select (o.placed_at at time zone s.timezone)::date >= %(f)s as cur, count(*)::integer as orders,
       array_agg(distinct o.currency::text) as currencies
from stores s
join orders o on o.store_id = s.id and (o.currency < %(c)s::bpchar or o.currency > %(c)s::bpchar)
  and o.placed_at >= (%(pf)s::timestamp at time zone %(tz)s::text)
  and o.placed_at < ((%(t)s::date + 1)::timestamp at time zone %(tz)s::text)
where s.id = %(s)s and s.currency = %(c)s::bpchar and app.order_counts(s.platform, o.status, o.test)
group by 1
"""


async def _unconverted(conn: AsyncConnection[DictRow], store: StoreContext, date_from: date, date_to: date,
                       prev_from: date) -> dict[bool, UnconvertedOrders]:
    cur = await conn.execute(_UNCONVERTED, {"s": store.id, "c": store.currency, "tz": store.timezone,
                                            "f": date_from, "t": date_to, "pf": prev_from})
    found = {bool(r["cur"]): UnconvertedOrders(orders=r["orders"], currencies=sorted(r["currencies"]))
             for r in await cur.fetchall()}
    return {p: found.get(p, UnconvertedOrders(orders=0, currencies=[])) for p in (True, False)}


async def _both_periods(conn: AsyncConnection[DictRow], store: StoreContext, date_from: date, date_to: date,
                        prev_from: date, prev_to: date) -> tuple[Totals, Totals]:
    await ensure_current(conn, store)
    cur = await conn.execute(_PERIODS, {"s": store.id, "f": date_from, "t": date_to, "pf": prev_from,
                                        "pt": prev_to})
    out: dict[bool, Totals] = {}
    for row in await cur.fetchall():
        totals = _empty()
        for name in (*m.ROLLUP_METRICS, *m.CUSTOMER_METRICS):
            totals[name] += row[name]
        totals["aov"] = m.aov(totals["gross_sales"], totals["discounts"], totals["orders"])
        out[bool(row["cur"])] = totals
    return out[True], out[False]


def _period(date_from: date, date_to: date, metrics: SummaryMetrics, unconverted: UnconvertedOrders) -> PeriodPublic:
    return PeriodPublic.model_validate({"from": date_from, "to": date_to, "metrics": metrics,
                                        "unconverted": unconverted})


async def summary(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, date_from: date,
                  date_to: date) -> SummaryPublic:
    """The period's metrics beside the previous period of equal length, with change in percent."""
    validate_range(date_from, date_to)
    store = await store_context(conn, store_id)
    length = timedelta(days=(date_to - date_from).days + 1)
    prev_from, prev_to = date_from - length, date_from - timedelta(days=1)
    current, previous = await _both_periods(conn, store, date_from, date_to, prev_from, prev_to)
    unconverted = await _unconverted(conn, store, date_from, date_to, prev_from)
    return SummaryPublic(
        store_id=store.id, currency=store.currency, timezone=store.timezone,
        period=_period(date_from, date_to, _metrics_of(current, store.currency), unconverted[True]),
        previous_period=_period(prev_from, prev_to, _metrics_of(previous, store.currency), unconverted[False]),
        change={k: m.change_pct(current[k], previous[k]) for k in SummaryMetrics.model_fields},
        as_of=store.as_of, syncs=store.syncs,
    )


async def timeseries(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, metric: Metric, interval: m.Interval,
                     date_from: date, date_to: date) -> TimeseriesPublic:
    """One metric per day, ISO week (Monday) or month; `t` is the bucket's first day, empty buckets are 0."""
    validate_range(date_from, date_to)
    store = await store_context(conn, store_id)
    rows = await daily_rows(conn, store, date_from, date_to)
    keys = list(m.buckets(date_from, date_to, interval))
    customers = await _bucket_customers(conn, store.id, rows, keys, date_from, date_to, interval) \
        if metric in m.CUSTOMER_METRICS else {}
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
