"""The linked products before and after a video: units, net sales, views and conversion in equal windows.

Counting rules are those of shared/analytics (SPEC "Rules for the corners"): only orders for which
`app.order_counts` holds, in the shop's currency; per product net sales = line value after line discounts
minus that product's returns, returns dated on the refund. Views are `product_view` events; conversion = orders with the
product ÷ sessions that viewed it (null without views). Windows are WINDOW_DAYS long on either side of
the video's creation; the one after is clipped at `as_of` while it is still running (`days_observed`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import Connection
from psycopg.rows import DictRow
from pydantic import BaseModel

from shared.money import Money

WINDOW_DAYS = 14


class ImpactWindow(BaseModel):
    start: datetime
    end: datetime
    days_observed: float
    units: int
    orders: int
    net_sales: Money
    product_views: int
    view_sessions: int
    conversion_rate: float | None


class ProductImpact(BaseModel):
    product_id: uuid.UUID
    title: str
    before: ImpactWindow
    after: ImpactWindow


_SQL = """
with s as (
  select st.id, st.platform, st.currency from stores st where st.id = %(store)s
), sold as (
  select ol.product_id, o.placed_at >= %(pivot)s as after, sum(ol.quantity) as units, count(distinct o.id) as orders,
         sum(ol.unit_price * ol.quantity - ol.line_discount) as sales
  from s join orders o on o.store_id = s.id join order_lines ol on ol.order_id = o.id
  where ol.product_id = any(%(products)s) and app.order_counts(s.platform, o.status, o.test, o.currency, s.currency)
    and o.placed_at >= %(lo)s and o.placed_at < %(hi)s
  group by 1, 2
), returned as (
  select ol.product_id, r.refunded_at >= %(pivot)s as after, sum(rl.subtotal) as returns
  from s join refunds r on r.store_id = s.id join orders o on o.id = r.order_id
  join refund_lines rl on rl.refund_id = r.id
  join order_lines ol on ol.id = coalesce(rl.order_line_id, (
    select x.id from order_lines x where x.store_id = rl.store_id and x.external_id = rl.line_external_id))
  where ol.product_id = any(%(products)s) and app.order_counts(s.platform, o.status, o.test, o.currency, s.currency)
    and r.refunded_at >= %(lo)s and r.refunded_at < %(hi)s
  group by 1, 2
), viewed as (
  select e.product_id, e.occurred_at >= %(pivot)s as after, count(*) as views,
         count(distinct e.session_id) as sessions
  from s join events e on e.store_id = s.id
  where e.type = 'product_view' and e.product_id = any(%(products)s)
    and e.occurred_at >= %(lo)s and e.occurred_at < %(hi)s
  group by 1, 2
)
select p.id as product_id, p.title, w.after,
       coalesce(sd.units, 0)::bigint as units, coalesce(sd.orders, 0)::bigint as orders,
       coalesce(sd.sales, 0) - coalesce(rt.returns, 0) as net_sales,
       coalesce(vw.views, 0)::bigint as views, coalesce(vw.sessions, 0)::bigint as sessions
from products p
cross join (values (false), (true)) as w(after)
left join sold sd on sd.product_id = p.id and sd.after = w.after
left join returned rt on rt.product_id = p.id and rt.after = w.after
left join viewed vw on vw.product_id = p.id and vw.after = w.after
where p.id = any(%(products)s) and p.store_id = %(store)s
order by p.title, p.id, w.after
"""


def _window(row: dict[str, Any], start: datetime, end: datetime, currency: str) -> ImpactWindow:
    sessions = int(row["sessions"])
    rate = None if sessions == 0 else round(int(row["orders"]) / sessions, 4)
    return ImpactWindow(start=start, end=end, days_observed=round((end - start).total_seconds() / 86400, 2),
                        units=int(row["units"]), orders=int(row["orders"]),
                        net_sales=Money.of(Decimal(row["net_sales"]), currency), product_views=int(row["views"]),
                        view_sessions=sessions, conversion_rate=rate)


def product_impact(conn: Connection[DictRow], *, video_id: uuid.UUID, pivot: datetime,
                   as_of: datetime) -> list[ProductImpact]:
    """Each linked product's figures in the WINDOW_DAYS before `pivot` and after it (up to `as_of`)."""
    video = conn.execute("select v.store_id, coalesce(st.currency, 'USD') as currency from videos v "
                         "join stores st on st.id = v.store_id where v.id = %s", (video_id,)).fetchone()
    linked = [r["product_id"] for r in conn.execute(
        "select product_id from video_products where video_id = %s", (video_id,)).fetchall()]
    if video is None or not linked:
        return []
    lo, hi = pivot - timedelta(days=WINDOW_DAYS), min(pivot + timedelta(days=WINDOW_DAYS), max(as_of, pivot))
    rows = conn.execute(_SQL, {"store": video["store_id"], "products": linked, "pivot": pivot, "lo": lo,
                               "hi": hi}).fetchall()
    by_product: dict[uuid.UUID, dict[bool, dict[str, Any]]] = {}
    for row in rows:
        by_product.setdefault(row["product_id"], {})[row["after"]] = row
    return [ProductImpact(product_id=pid, title=windows[False]["title"],
                          before=_window(windows[False], lo, pivot, video["currency"]),
                          after=_window(windows[True], pivot, hi, video["currency"]))
            for pid, windows in by_product.items()]
