"""Customer analytics: RFM segments and first-order-month cohorts (SPEC "Metric definitions"; docs/metrics.md
"Customers").

SQL only gathers per-customer facts (first and last counting order day, counting orders, line value, returns)
and per-customer-per-month values, in the shop's time zone, with `app.order_counts` deciding which orders
count (the same rule as the summary). Everything derived — quintile scores, the segment grid, the cohort
matrix, shares and retention — is a pure function below, without I/O, summing money in integer cents.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from shared.analytics.summary import store_context
from shared.errors import FieldError, ValidationFailed
from shared.money import Money

K = TypeVar("K", bound=Hashable)

DEFAULT_COHORT_MONTHS = 12
MAX_COHORT_MONTHS = 36
RATIO = Decimal("0.0001")

Segment = Literal["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention",
                  "about_to_sleep", "at_risk", "cant_lose_them", "hibernating", "lost"]

# Display order (best first) and the common names.
SEGMENT_LABELS: dict[Segment, str] = {
    "champions": "Champions",
    "loyal": "Loyal",
    "potential_loyalist": "Potential loyalist",
    "new": "New",
    "promising": "Promising",
    "need_attention": "Need attention",
    "about_to_sleep": "About to sleep",
    "at_risk": "At risk",
    "cant_lose_them": "Can't lose them",
    "hibernating": "Hibernating",
    "lost": "Lost",
}

# The (R, F) grid: SEGMENT_GRID[r - 1][f - 1]. Rows are recency scores 1..5, columns frequency scores 1..5.
SEGMENT_GRID: tuple[tuple[Segment, ...], ...] = (
    # F=1            F=2                   F=3                   F=4         F=5
    ("lost", "lost", "at_risk", "at_risk", "cant_lose_them"),  # R=1
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),  # R=2
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),  # R=3
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),  # R=4
    ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),  # R=5
)


# The pure pieces ---------------------------------------------------------------------------------------

def quintile_scores(values: Mapping[K, int], *, higher_is_better: bool = True) -> dict[K, int]:
    """Scores 1..5 by quintiles: score = 1 + floor(5 * (number of values worse than v) ÷ n).

    "Worse" is strictly smaller (or strictly greater with `higher_is_better=False`), so equal values always
    share a score — the lowest their tie group reaches — whatever the order of the input; when everyone is
    equal, everyone scores 1. Integer arithmetic only.
    """
    n = len(values)
    if n == 0:
        return {}
    ordered = sorted(values.values())
    out: dict[K, int] = {}
    for key, v in values.items():
        worse = bisect_left(ordered, v) if higher_is_better else n - bisect_right(ordered, v)
        out[key] = 1 + (5 * worse) // n
    return out


def segment_of(r: int, f: int) -> Segment:
    """The segment of a recency and a frequency score (each 1..5), from SEGMENT_GRID."""
    if not (1 <= r <= 5 and 1 <= f <= 5):
        raise ValueError(f"scores must be 1..5, got R={r} F={f}")
    return SEGMENT_GRID[r - 1][f - 1]


@dataclass(frozen=True)
class CustomerFacts:
    """One customer's counting orders up to the as-of date (money in cents)."""

    key: str
    first_day: date
    last_day: date
    orders: int
    sales_cents: int  # Σ line value after line discounts of counting orders placed up to as-of
    returns_cents: int  # Σ refund line subtotals of those orders, refunds dated up to as-of

    @property
    def monetary_cents(self) -> int:
        return self.sales_cents - self.returns_cents


@dataclass(frozen=True)
class CustomerRfm:
    key: str
    recency_days: int
    frequency: int
    monetary_cents: int
    r: int
    f: int
    m: int
    segment: Segment


def rfm(facts: Iterable[CustomerFacts], as_of: date) -> list[CustomerRfm]:
    """Recency (days from the last counting order to as-of), frequency, monetary and their quintile scores;
    customers without a counting order are not passed in. Sorted by key."""
    rows = sorted(facts, key=lambda c: c.key)
    recency = {c.key: (as_of - c.last_day).days for c in rows}
    r = quintile_scores(recency, higher_is_better=False)
    f = quintile_scores({c.key: c.orders for c in rows})
    m = quintile_scores({c.key: c.monetary_cents for c in rows})
    return [CustomerRfm(c.key, recency[c.key], c.orders, c.monetary_cents, r[c.key], f[c.key], m[c.key],
                        segment_of(r[c.key], f[c.key])) for c in rows]


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole, four decimals half-up; None when whole is 0."""
    if whole <= 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP))


def per_customer_cents(total_cents: int, customers: int) -> int | None:
    """total ÷ customers, half-up to the cent (away from zero for negatives); None without customers."""
    if customers <= 0:
        return None
    return int((Decimal(total_cents) / Decimal(customers)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class SegmentTotals:
    segment: Segment
    customers: int
    value_cents: int
    share: float  # of all RFM customers, 4 decimals; 0.0 when there are none


def segment_totals(rows: Iterable[CustomerRfm]) -> list[SegmentTotals]:
    """Every segment in display order (zeros included): customers, Σ monetary, share of customers."""
    count: dict[Segment, int] = defaultdict(int)
    value: dict[Segment, int] = defaultdict(int)
    total = 0
    for row in rows:
        count[row.segment] += 1
        value[row.segment] += row.monetary_cents
        total += 1
    return [SegmentTotals(s, count[s], value[s], ratio(count[s], total) or 0.0) for s in SEGMENT_LABELS]


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """Whole calendar months from first's month to last's month (0 for the same month)."""
    return (last.year - first.year) * 12 + last.month - first.month


def cohort_window(as_of: date, months: int) -> list[date]:
    """The first days of the `months` calendar months ending with as-of's month, oldest first."""
    last = month_start(as_of)
    return [add_months(last, -i) for i in range(months - 1, -1, -1)]


@dataclass(frozen=True)
class MonthValue:
    """One customer's counting orders placed and value in one shop-local month (cents)."""

    key: str
    month: date
    orders: int
    value_cents: int  # line value after line discounts of orders placed - returns dated in the month


@dataclass(frozen=True)
class CohortCell:
    offset: int
    month: date
    active_customers: int
    retention: float | None
    cumulative_value_cents: int
    cumulative_value_per_customer_cents: int | None


@dataclass(frozen=True)
class Cohort:
    month: date
    size: int
    cells: list[CohortCell]


def cohort_matrix(first_months: Mapping[str, date], monthly: Iterable[MonthValue], as_of: date,
                  months: int) -> list[Cohort]:
    """Cohorts of first counting order month for the `months` months ending with as-of's month.

    A cohort's size is the number of customers whose first counting order ever falls in its month. For each
    offset 0..(months to as-of's month): active = cohort customers with a counting order placed that month;
    retention = active ÷ size; cumulative value = Σ the cohort's monthly values from offset 0 through this
    one (÷ size per customer). Monthly values of other customers or outside the window are ignored.
    """
    window = cohort_window(as_of, months)
    last = window[-1]
    members: dict[date, set[str]] = defaultdict(set)
    for key, first in first_months.items():
        members[month_start(first)].add(key)
    active: dict[tuple[date, date], int] = defaultdict(int)
    value: dict[tuple[date, date], int] = defaultdict(int)
    for mv in monthly:
        cohort = first_months.get(mv.key)
        if cohort is None:
            continue
        cell = (month_start(cohort), month_start(mv.month))
        if mv.orders > 0:
            active[cell] += 1
        value[cell] += mv.value_cents
    out: list[Cohort] = []
    for cohort_month in window:
        size = len(members.get(cohort_month, ()))
        cells: list[CohortCell] = []
        running = 0
        for offset in range(months_between(cohort_month, last) + 1):
            month = add_months(cohort_month, offset)
            running += value[(cohort_month, month)]
            n_active = active[(cohort_month, month)]
            cells.append(CohortCell(offset, month, n_active, ratio(n_active, size), running,
                                    per_customer_cents(running, size)))
        out.append(Cohort(cohort_month, size, cells))
    return out


def validate_params(as_of: date, today: date, cohort_months: int) -> None:
    errors: list[FieldError] = []
    if as_of > today:
        errors.append(FieldError(["query", "as_of_date"], f"must not be after today in the shop ({today})"))
    if not 1 <= cohort_months <= MAX_COHORT_MONTHS:
        errors.append(FieldError(["query", "cohort_months"], f"must be 1..{MAX_COHORT_MONTHS}"))
    if errors:
        raise ValidationFailed("invalid parameters", errors)


def cents(amount: Decimal | int | None) -> int:
    """A numeric(…, 2) amount as integer cents (exact)."""
    return int(Decimal(amount or 0).scaleb(2).to_integral_value())


# The API models ----------------------------------------------------------------------------------------

class SegmentPublic(BaseModel):
    segment: Segment
    label: str
    customers: int
    value: Money = Field(description="Σ monetary (line value after line discounts - returns) of its customers")
    share: float = Field(description="customers ÷ all customers with a counting order, 4 decimals")


class RfmPublic(BaseModel):
    customers: int = Field(description="customers with ≥ 1 counting order up to as_of_date")
    value: Money
    segments: list[SegmentPublic]


class CohortCellPublic(BaseModel):
    offset: int = Field(description="months after the cohort's month (0 = the cohort's month)")
    month: date
    active_customers: int
    retention: float | None = Field(description="active ÷ size, 4 decimals; null for an empty cohort")
    cumulative_value: Money
    cumulative_value_per_customer: Money | None = Field(description="cumulative value ÷ size; null when empty")


class CohortPublic(BaseModel):
    month: date = Field(description="first day of the month of the customers' first counting order")
    size: int
    periods: list[CohortCellPublic]


class CustomersAnalyticsPublic(BaseModel):
    store_id: uuid.UUID
    currency: str
    timezone: str
    as_of_date: date = Field(description="shop-local day the figures are computed at (inclusive)")
    cohort_months: int
    rfm: RfmPublic
    cohorts: list[CohortPublic]
    as_of: datetime | None = Field(description="the store's last successful sync")
    syncs: list[uuid.UUID] = Field(description="the store's last succeeded sync the figures rest on")


# Gathering ---------------------------------------------------------------------------------------------

# Counting orders of identified customers placed up to the end of as-of (shop-local), with their line value
# after line discounts; and the refund line subtotals of those orders refunded up to as-of.
_BASE = """
with s as (
  select st.id, st.platform, st.timezone, st.currency,
         ((%(as_of)s::date + 1)::timestamp at time zone st.timezone) as until
  from stores st where st.id = %(store)s
), keyed as (
  select o.id, coalesce(o.customer_external_id, c.external_id) as customer_key,
         (o.placed_at at time zone s.timezone)::date as day
  from s
  join orders o on o.store_id = s.id
  left join customers c on c.id = o.customer_id
  where app.order_counts(s.platform, o.status, o.test, o.currency, s.currency) and o.placed_at < s.until
    and coalesce(o.customer_external_id, c.external_id) is not null
), sales as (
  select k.customer_key, k.day,
         coalesce((select sum(ol.unit_price * ol.quantity - ol.line_discount)
                   from order_lines ol where ol.order_id = k.id), 0) as value
  from keyed k
), returned as (
  select k.customer_key, (r.refunded_at at time zone s.timezone)::date as day,
         coalesce((select sum(rl.subtotal) from refund_lines rl where rl.refund_id = r.id), 0) as value
  from keyed k
  join refunds r on r.order_id = k.id
  cross join s
  where r.refunded_at < s.until
)
"""

_FACTS = _BASE + """
, per_customer as (
  select customer_key, min(day) as first_day, max(day) as last_day, count(*) as orders, sum(value) as sales
  from sales group by customer_key
)
select p.customer_key, p.first_day, p.last_day, p.orders, p.sales,
       coalesce((select sum(x.value) from returned x where x.customer_key = p.customer_key), 0) as returns
from per_customer p
"""

_MONTHLY = _BASE + """
, firsts as (
  select customer_key from sales group by customer_key having min(day) >= %(window_start)s
), orders_by as (
  select customer_key, date_trunc('month', day::timestamp)::date as month, count(*) as orders,
         sum(value) as sales
  from sales where customer_key in (select customer_key from firsts) group by 1, 2
), returns_by as (
  select customer_key, date_trunc('month', day::timestamp)::date as month, sum(value) as returns
  from returned where customer_key in (select customer_key from firsts) group by 1, 2
)
select coalesce(o.customer_key, r.customer_key) as customer_key, coalesce(o.month, r.month) as month,
       coalesce(o.orders, 0) as orders, coalesce(o.sales, 0) as sales, coalesce(r.returns, 0) as returns
from orders_by o
full join returns_by r on r.customer_key = o.customer_key and r.month = o.month
"""


async def _facts(conn: AsyncConnection[DictRow], store_id: uuid.UUID, as_of: date) -> list[CustomerFacts]:
    cur = await conn.execute(_FACTS, {"store": store_id, "as_of": as_of})
    return [CustomerFacts(r["customer_key"], r["first_day"], r["last_day"], int(r["orders"]), cents(r["sales"]),
                          cents(r["returns"])) for r in await cur.fetchall()]


async def _monthly(conn: AsyncConnection[DictRow], store_id: uuid.UUID, as_of: date,
                   window_start: date) -> list[MonthValue]:
    cur = await conn.execute(_MONTHLY, {"store": store_id, "as_of": as_of, "window_start": window_start})
    return [MonthValue(r["customer_key"], r["month"], int(r["orders"]), cents(r["sales"]) - cents(r["returns"]))
            for r in await cur.fetchall()]


def _money(amount_cents: int, currency: str) -> Money:
    return Money.of(Decimal(amount_cents).scaleb(-2), currency)


async def customer_analytics(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, as_of_date: date | None = None,
                             cohort_months: int = DEFAULT_COHORT_MONTHS) -> CustomersAnalyticsPublic:
    """RFM segments as of a shop-local day (default today) and the last `cohort_months` first-order cohorts."""
    store = await store_context(conn, store_id)
    as_of = as_of_date or store.today
    validate_params(as_of, store.today, cohort_months)
    facts = await _facts(conn, store.id, as_of)
    window = cohort_window(as_of, cohort_months)
    monthly = await _monthly(conn, store.id, as_of, window[0])
    scored = rfm(facts, as_of)
    segments = segment_totals(scored)
    cohorts = cohort_matrix({f.key: f.first_day for f in facts if f.first_day >= window[0]}, monthly, as_of,
                            cohort_months)
    cur = store.currency
    return CustomersAnalyticsPublic(
        store_id=store.id, currency=cur, timezone=store.timezone, as_of_date=as_of, cohort_months=cohort_months,
        rfm=RfmPublic(
            customers=len(scored), value=_money(sum(r.monetary_cents for r in scored), cur),
            segments=[SegmentPublic(segment=s.segment, label=SEGMENT_LABELS[s.segment], customers=s.customers,
                                    value=_money(s.value_cents, cur), share=s.share) for s in segments]),
        cohorts=[CohortPublic(month=c.month, size=c.size, periods=[
            CohortCellPublic(offset=x.offset, month=x.month, active_customers=x.active_customers,
                             retention=x.retention, cumulative_value=_money(x.cumulative_value_cents, cur),
                             cumulative_value_per_customer=None if x.cumulative_value_per_customer_cents is None
                             else _money(x.cumulative_value_per_customer_cents, cur))
            for x in c.cells]) for c in cohorts],
        as_of=store.as_of, syncs=store.syncs,
    )
