"""Per-product analytics (SPEC "Metric definitions", "Rules for the corners"; docs/metrics.md "Products").

SQL only sums the daily product rollup (`daily_product_metrics`, built from the synced rows with the same
counting rule as the summary, `app.order_counts`); every derived figure (ABC class, sell-through, days of
inventory, trend) is a pure function below, without I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field

from shared.analytics.metrics import change_pct
from shared.analytics.summary import ensure_current, store_context, validate_range
from shared.errors import ValidationFailed
from shared.money import CENT, Money
from shared.pagination import decode_cursor, encode_cursor, page_of

AbcClass = Literal["A", "B", "C"]
K = TypeVar("K")

DOI_WINDOW_DAYS = 28
A_SHARE = Decimal(80)  # percent
B_SHARE = Decimal(95)


# The pure pieces ---------------------------------------------------------------------------------------

def abc_classes(net_by_product: Mapping[K, Decimal]) -> dict[K, AbcClass]:
    """ABC by share of net sales: sorted by net sales desc (then key, as text), a product's class is
    decided by the cumulative share of the products *before* it: A while < 80 %, B while < 95 %, else C.

    Shares are of the positive net sales (a product whose returns exceed its sales adds nothing and sorts
    last); without any positive net sales every product is C. Exact decimal arithmetic, no rounding.
    """
    total = sum((max(v, Decimal(0)) for v in net_by_product.values()), Decimal(0))
    ordered = sorted(net_by_product.items(), key=lambda kv: (-kv[1], str(kv[0])))
    out: dict[K, AbcClass] = {}
    before = Decimal(0)
    for key, net in ordered:
        if total <= 0:
            out[key] = "C"
        elif before * 100 < A_SHARE * total:
            out[key] = "A"
        elif before * 100 < B_SHARE * total:
            out[key] = "B"
        else:
            out[key] = "C"
        before += max(net, Decimal(0))
    return out


def _pct(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def sell_through_pct(units_sold: int, on_hand: int | None) -> float | None:
    """units sold ÷ (units sold + on hand) in percent, two decimals half-up.

    None when inventory is not tracked (on_hand None) or both are 0; negative stock (oversold) counts as 0.
    """
    if on_hand is None:
        return None
    stock = max(on_hand, 0)
    if units_sold + stock <= 0:
        return None
    return _pct(Decimal(units_sold) * 100 / Decimal(units_sold + stock))


def days_of_inventory(on_hand: int | None, window_units: int, window_days: int = DOI_WINDOW_DAYS) -> float | None:
    """on hand ÷ average daily units sold over the window, two decimals half-up.

    None without sales in the window or when inventory is not tracked; negative stock counts as 0.
    """
    if on_hand is None or window_units <= 0:
        return None
    return _pct(Decimal(max(on_hand, 0)) * window_days / Decimal(window_units))


def doi_window(date_to: date, today: date, days: int = DOI_WINDOW_DAYS) -> tuple[date, date]:
    """The `days` shop-local days ending at `to`, or at today when `to` is in the future (both inclusive)."""
    end = min(date_to, today)
    return end - timedelta(days=days - 1), end


def halves(date_from: date, date_to: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """The first and last half of [from, to], each floor(n/2) days (inclusive bounds); with an odd number of
    days the middle day is in neither. A one-day period has two empty halves (start after end)."""
    half = ((date_to - date_from).days + 1) // 2
    return ((date_from, date_from + timedelta(days=half - 1)),
            (date_to - timedelta(days=half - 1), date_to))


def trend_pct(first_half: Decimal, last_half: Decimal) -> float | None:
    """Net sales of the last half against the first half, in percent; None when the first half is 0."""
    return change_pct(last_half, first_half)


# The API models ----------------------------------------------------------------------------------------

class ProductMetrics(BaseModel):
    product_id: uuid.UUID
    external_id: str
    title: str
    units_sold: int = Field(description="ordered quantity on counting orders placed in the period")
    net_sales: Money = Field(description="line value after line discounts - this product's returns")
    returns: Money = Field(description="refunded line value dated in the period")
    abc_class: AbcClass
    on_hand: int | None = Field(description="Σ variants' inventory now; null when no variant tracks stock")
    sell_through_pct: float | None = Field(description="units sold ÷ (units sold + on hand) * 100")
    days_of_inventory: float | None = Field(description="on hand ÷ average daily units of the last 28 days")
    trend_pct: float | None = Field(description="net sales of the last half of the period vs the first half")


class ProductsPage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    store_id: uuid.UUID
    currency: str
    timezone: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    doi_window: list[date] = Field(description="first and last day of the days-of-inventory window")
    items: list[ProductMetrics]
    next_cursor: str | None
    as_of: datetime | None = Field(description="the store's last successful sync")
    syncs: list[uuid.UUID]


# Gathering ---------------------------------------------------------------------------------------------

# Per-product sums of the daily product rollup (app.rollup_days: line value and units of counting orders on
# their placing day, returns on the refund's day), under Row Level Security.
_SUMS = """
with sums as (
  select d.product_id,
         sum(d.units_sold) filter (where d.day between %(from)s and %(to)s) as units,
         sum(d.gross_sales - d.line_discounts) filter (where d.day between %(from)s and %(to)s) as sales,
         sum(d.gross_sales - d.line_discounts) filter (where d.day between %(h1a)s and %(h1b)s) as sales_h1,
         sum(d.gross_sales - d.line_discounts) filter (where d.day between %(h2a)s and %(h2b)s) as sales_h2,
         sum(d.units_sold) filter (where d.day between %(wa)s and %(wb)s) as window_units,
         sum(d.returns) filter (where d.day between %(from)s and %(to)s) as returns,
         sum(d.returns) filter (where d.day between %(h1a)s and %(h1b)s) as returns_h1,
         sum(d.returns) filter (where d.day between %(h2a)s and %(h2b)s) as returns_h2
  from daily_product_metrics d
  where d.store_id = %(store)s and d.day between %(lo)s and %(hi)s
  group by d.product_id
)
select p.id, p.external_id, p.title, inv.on_hand,
       coalesce(sb.units, 0)::bigint as units, coalesce(sb.sales, 0) as sales,
       coalesce(sb.sales_h1, 0) as sales_h1, coalesce(sb.sales_h2, 0) as sales_h2,
       coalesce(sb.window_units, 0)::bigint as window_units, coalesce(sb.returns, 0) as returns,
       coalesce(sb.returns_h1, 0) as returns_h1, coalesce(sb.returns_h2, 0) as returns_h2
from products p
left join lateral (
  select sum(v.inventory_quantity)::bigint as on_hand from variants v where v.product_id = p.id
) inv on true
left join sums sb on sb.product_id = p.id
where p.store_id = %(store)s
  and (p.deleted_at is null or coalesce(sb.units, 0) <> 0 or coalesce(sb.sales, 0) <> 0
       or coalesce(sb.returns, 0) <> 0)
"""


@dataclass(frozen=True)
class _Row:
    id: uuid.UUID
    external_id: str
    title: str
    on_hand: int | None
    units: int
    sales: Decimal
    returns: Decimal
    net_h1: Decimal
    net_h2: Decimal
    window_units: int

    @property
    def net(self) -> Decimal:
        return self.sales - self.returns


def _row(r: dict[str, Any]) -> _Row:
    return _Row(r["id"], r["external_id"], r["title"], None if r["on_hand"] is None else int(r["on_hand"]),
                int(r["units"]), Decimal(r["sales"]), Decimal(r["returns"]),
                Decimal(r["sales_h1"]) - Decimal(r["returns_h1"]), Decimal(r["sales_h2"]) - Decimal(r["returns_h2"]),
                int(r["window_units"]))


def _cursor_kind(store_id: uuid.UUID, date_from: date, date_to: date) -> str:
    return f"analytics:products:{store_id}:{date_from}:{date_to}"


async def product_metrics(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, date_from: date, date_to: date,
                          limit: int, cursor: str | None) -> ProductsPage:
    """Every product of the store with its period figures, by net sales desc then id, a page at a time.

    The cursor is positional (an offset into that order) and only valid for the same store and period.
    """
    validate_range(date_from, date_to)
    kind = _cursor_kind(store_id, date_from, date_to)
    offset = int(decode_cursor(cursor, kind, (int,))[0]) if cursor else 0
    if offset < 0:
        raise ValidationFailed("the cursor is not valid for this list; start again without it")
    store = await store_context(conn, store_id)
    (h1a, h1b), (h2a, h2b) = halves(date_from, date_to)
    wa, wb = doi_window(date_to, store.today)
    params = {"store": store.id, "from": date_from, "to": date_to, "h1a": h1a, "h1b": h1b, "h2a": h2a, "h2b": h2b,
              "wa": wa, "wb": wb, "lo": min(date_from, wa), "hi": max(date_to, wb)}
    await ensure_current(conn, store)
    cur = await conn.execute(_SUMS, params)
    rows = [_row(r) for r in await cur.fetchall()]
    classes = abc_classes({r.id: r.net for r in rows})
    rows.sort(key=lambda r: (-r.net, str(r.id)))
    window_days = (wb - wa).days + 1
    items = [
        ProductMetrics(
            product_id=r.id, external_id=r.external_id, title=r.title, units_sold=r.units,
            net_sales=Money.of(r.net, store.currency), returns=Money.of(r.returns, store.currency),
            abc_class=classes[r.id], on_hand=r.on_hand, sell_through_pct=sell_through_pct(r.units, r.on_hand),
            days_of_inventory=days_of_inventory(r.on_hand, r.window_units, window_days),
            trend_pct=trend_pct(r.net_h1, r.net_h2),
        )
        for r in rows[offset:offset + limit + 1]
    ]
    page, next_cursor = page_of(items, limit, lambda _i: encode_cursor(kind, [offset + limit]))
    return ProductsPage.model_validate({
        "store_id": store.id, "currency": store.currency, "timezone": store.timezone, "from": date_from,
        "to": date_to, "doi_window": [wa, wb], "items": page, "next_cursor": next_cursor, "as_of": store.as_of,
        "syncs": store.syncs,
    })
