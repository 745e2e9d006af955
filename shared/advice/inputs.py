"""Gathering a store's facts for the detectors: calls of the analytics services, nothing recomputed.

Only catalog data the services do not expose (product status, variant costs, the sync state) is read here
directly. Forecasts (the expensive part) are asked for only for products whose days of inventory already say
the stock is short (`stock.needs_forecast`), at most MAX_FORECASTS of them, the best sellers first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.advice.detectors.stock import FORECAST_HORIZON, needs_forecast
from shared.advice.facts import CatalogFacts, RevenueFacts, StoreFacts, SyncFacts, Window, Windows
from shared.analytics import forecast as fc
from shared.analytics import funnel as fu
from shared.analytics import products as pr
from shared.analytics import summary as su
from shared.analytics.products import ProductMetrics

MAX_FORECASTS = 25
PAGE = 1000

_STORE = """
select s.name, s.freshness_minutes, s.last_synced_at,
       (select j.status from sync_jobs j where j.store_id = s.id and j.status in ('succeeded', 'failed')
        order by j.finished_at desc nulls last, j.created_at desc limit 1) as last_status
from stores s where s.id = %s
"""

_CATALOG = """
select p.id, p.status, count(v.id)::int as variants,
       count(v.id) filter (where v.cost is null)::int as missing_cost,
       bool_or(v.cost is null and coalesce(v.inventory_quantity, 0) > 0) as stocked_without_cost,
       coalesce(sum(v.cost * greatest(coalesce(v.inventory_quantity, 0), 0)), 0) as at_cost,
       coalesce(sum(v.price * greatest(coalesce(v.inventory_quantity, 0), 0)), 0) as at_price
from products p left join variants v on v.product_id = p.id
where p.store_id = %s and p.deleted_at is null
group by p.id, p.status
"""

_VIEWS = """
select product_id, count(distinct session_id)::int as views
from events
where store_id = %s and type = 'product_view' and product_id is not null
  and (occurred_at at time zone %s)::date between %s and %s
group by product_id
"""


async def _views(conn: AsyncConnection[DictRow], ctx: su.StoreContext, w: Window) -> dict[uuid.UUID, int]:
    """Sessions that viewed each product (no analytics service counts views per product)."""
    cur = await conn.execute(_VIEWS, (ctx.id, ctx.timezone, w.date_from, w.date_to))
    return {r["product_id"]: r["views"] for r in await cur.fetchall()}


async def _products(conn: AsyncConnection[DictRow], store_id: uuid.UUID,
                    window: Window) -> dict[uuid.UUID, ProductMetrics]:
    out: dict[uuid.UUID, ProductMetrics] = {}
    cursor: str | None = None
    while True:
        page = await pr.product_metrics(conn, store_id=store_id, date_from=window.date_from, date_to=window.date_to,
                                        limit=PAGE, cursor=cursor)
        out.update({p.product_id: p for p in page.items})
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _catalog(row: dict[str, Any]) -> CatalogFacts:
    return CatalogFacts(row["id"], str(row["status"]).lower(), row["variants"], row["missing_cost"],
                        None if row["stocked_without_cost"] else Decimal(row["at_cost"]), Decimal(row["at_price"]))


async def _catalog_and_sync(conn: AsyncConnection[DictRow],
                            store_id: uuid.UUID) -> tuple[str, dict[uuid.UUID, CatalogFacts], SyncFacts]:
    cur = await conn.execute(_STORE, (store_id,))
    s = await cur.fetchone()
    assert s is not None  # store_context raised NotFound before
    cur = await conn.execute(_CATALOG, (store_id,))
    catalog = {r["id"]: _catalog(r) for r in await cur.fetchall()}
    return s["name"], catalog, SyncFacts(s["last_synced_at"], s["last_status"], None, s["freshness_minutes"])


async def _forecasts(conn: AsyncConnection[DictRow], recent: dict[uuid.UUID, ProductMetrics],
                     lead_time_days: int) -> dict[uuid.UUID, fc.ForecastPublic]:
    wanted = sorted((p for p in recent.values() if needs_forecast(p, lead_time_days)),
                    key=lambda p: (-p.units_sold, str(p.product_id)))[:MAX_FORECASTS]
    return {p.product_id: await fc.forecast(conn, p.product_id, FORECAST_HORIZON, lead_time_days) for p in wanted}


async def _revenue(conn: AsyncConnection[DictRow], store_id: uuid.UUID, w: Windows) -> RevenueFacts:
    series = await su.timeseries(conn, store_id=store_id, metric="net_sales", interval="day",
                                 date_from=w.revenue_history.date_from, date_to=w.revenue_holdout.date_to)
    values = [Decimal(str(p.value)) for p in series.points]
    history, actual = values[:w.revenue_history.days], values[w.revenue_history.days:]
    f = fc.forecast_series([float(v) for v in history], w.revenue_holdout.days)
    return RevenueFacts(actual, f.mean, f.lower, f.upper, f.model)


async def _funnels(conn: AsyncConnection[DictRow], store_id: uuid.UUID,
                   w: Window) -> tuple[fu.FunnelPublic, fu.FunnelPublic | None]:
    recent = await fu.funnel(conn, store_id=store_id, date_from=w.date_from, date_to=w.date_to)
    if not recent.events_present:
        return recent, None
    before = Window.ending(w.date_from.fromordinal(w.date_from.toordinal() - 1), w.days)
    return recent, await fu.funnel(conn, store_id=store_id, date_from=before.date_from, date_to=before.date_to)


async def gather(conn: AsyncConnection[DictRow], store_id: uuid.UUID, *, as_of: date | None = None,
                 lead_time_days: int = 14, now: datetime | None = None) -> StoreFacts:
    """The store's facts for the shop-local day `as_of` (default: today in the shop's time zone)."""
    ctx = await su.store_context(conn, store_id)
    day = as_of or ctx.today
    w = Windows.for_day(day)
    name, catalog, sync = await _catalog_and_sync(conn, store_id)
    recent = await _products(conn, store_id, w.recent)
    funnel_recent, funnel_previous = await _funnels(conn, store_id, w.recent)
    return StoreFacts(
        store_id=store_id, name=name, currency=ctx.currency, as_of=day, now=now or datetime.now(UTC), windows=w,
        lead_time_days=lead_time_days, recent=recent, short=await _products(conn, store_id, w.short),
        dead=await _products(conn, store_id, w.dead), baseline=await _products(conn, store_id, w.baseline),
        summary_recent=await su.summary(conn, store_id=store_id, date_from=w.recent.date_from,
                                        date_to=w.recent.date_to),
        summary_short=await su.summary(conn, store_id=store_id, date_from=w.short.date_from, date_to=w.short.date_to),
        summary_baseline=await su.summary(conn, store_id=store_id, date_from=w.baseline.date_from,
                                          date_to=w.baseline.date_to),
        funnel_recent=funnel_recent, funnel_previous=funnel_previous,
        forecasts=await _forecasts(conn, recent, lead_time_days), catalog=catalog, sync=sync,
        revenue=await _revenue(conn, store_id, w),
        product_views=await _views(conn, ctx, w.recent) if funnel_recent.events_present else {})
