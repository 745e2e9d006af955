"""Follow-up of accepted recommendations: after a window, the metric they aimed at before vs after acceptance.

Windows are the `window_days` shop-local days before the day of acceptance and the `window_days` from it on;
the figures come from the same analytics services the detectors used. Direction per kind: more units sold is
better for stock, price and product advice; a lower refund or discount share is better; a higher returning
share or net sales is better. A change under 5 % either way is "unchanged". Data-quality advice is measured by
whether the same finding came back after acceptance (1) or not (0).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from shared.advice.detectors.common import money, share_pct
from shared.advice.evidence import RecommendationKind as K
from shared.advice.facts import Window
from shared.advice.recommendations import Outcome
from shared.analytics import products as pr
from shared.analytics import summary as su

DEFAULT_WINDOW_DAYS = 14
UNCHANGED_PCT = Decimal(5)
LOWER_IS_BETTER = {"return_share_pct", "refund_rate_pct", "discount_share_pct", "recurred"}

_DUE = """
select r.id, r.store_id, r.product_id, r.kind, r.dedupe_key, r.accepted_at,
       (r.accepted_at at time zone s.timezone)::date as accepted_day
from recommendations r join stores s on s.id = r.store_id
where r.status = 'accepted' and r.accepted_at <= %s
order by r.accepted_at, r.id
"""


Verdict = Literal["improved", "unchanged", "worse"]


def verdict(metric: str, before: Decimal, after: Decimal) -> Verdict:
    """improved / worse when the metric moved ≥ 5 % (of before; any move from 0) in the good / bad direction."""
    if before == after or (before != 0 and abs(after - before) * 100 < UNCHANGED_PCT * abs(before)):
        return "unchanged"
    better = after < before if metric in LOWER_IS_BETTER else after > before
    return "improved" if better else "worse"


async def _product(conn: AsyncConnection[DictRow], store_id: uuid.UUID, product_id: uuid.UUID,
                   w: Window) -> pr.ProductMetrics | None:
    cursor: str | None = None
    while True:
        page = await pr.product_metrics(conn, store_id=store_id, date_from=w.date_from, date_to=w.date_to,
                                        limit=1000, cursor=cursor)
        found = next((p for p in page.items if p.product_id == product_id), None)
        if found is not None or page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def _product_metric(conn: AsyncConnection[DictRow], row: dict[str, Any], w: Window) -> tuple[str, str]:
    p = await _product(conn, row["store_id"], row["product_id"], w)
    if row["kind"] == K.REFUND_SPIKE:
        if p is None:
            return "return_share_pct", "0.0"
        returns = Decimal(p.returns.amount)
        return "return_share_pct", str(share_pct(returns, Decimal(p.net_sales.amount) + returns) or Decimal("0.0"))
    return "units_sold", str(0 if p is None else p.units_sold)


async def _store_metric(conn: AsyncConnection[DictRow], row: dict[str, Any], w: Window) -> tuple[str, str]:
    s = (await su.summary(conn, store_id=row["store_id"], date_from=w.date_from, date_to=w.date_to)).period.metrics
    kind = row["kind"]
    if kind == K.REFUND_SPIKE:
        return "refund_rate_pct", str(share_pct(s.refunds, s.orders) or Decimal("0.0"))
    if kind == K.DISCOUNT_ANOMALY:
        return "discount_share_pct", str(share_pct(Decimal(s.discounts.amount), Decimal(s.gross_sales.amount))
                                         or Decimal("0.0"))
    if kind == K.FALLING_REPEAT_RATE:
        n = s.new_customers + s.returning_customers
        return "returning_share_pct", str(share_pct(s.returning_customers, n) or Decimal("0.0"))
    return "net_sales", money(s.net_sales.amount)


async def _recurred(conn: AsyncConnection[DictRow], row: dict[str, Any], w: Window) -> tuple[str, str]:
    if w.date_to < row["accepted_day"]:
        return "recurred", "1"  # it was found before acceptance: that is why it was shown
    cur = await conn.execute("select exists (select 1 from recommendations where store_id = %s and dedupe_key = %s "
                             "and created_at > %s) as again", (row["store_id"], row["dedupe_key"], row["accepted_at"]))
    again = await cur.fetchone()
    return "recurred", "1" if again and again["again"] else "0"


async def measure(conn: AsyncConnection[DictRow], row: dict[str, Any], window_days: int) -> Outcome:
    day: date = row["accepted_day"]
    before = Window(day - timedelta(days=window_days), day - timedelta(days=1))
    after = Window(day, day + timedelta(days=window_days - 1))
    if row["kind"] == K.DATA_QUALITY:
        fn = _recurred
    elif row["product_id"] is not None:
        fn = _product_metric
    else:
        fn = _store_metric
    metric, b = await fn(conn, row, before)
    _, a = await fn(conn, row, after)
    return Outcome(metric=metric, before=b, after=a, window=f"{before.period} vs {after.period}",
                   verdict=verdict(metric, Decimal(b), Decimal(a)))


async def measure_due(conn: AsyncConnection[DictRow], *, now: datetime,
                      window_days: int = DEFAULT_WINDOW_DAYS) -> list[uuid.UUID]:
    """Measure every accepted recommendation whose window has passed; status → measured, outcome recorded."""
    cur = await conn.execute(_DUE, (now - timedelta(days=window_days),))
    measured = []
    for row in await cur.fetchall():
        outcome = await measure(conn, row, window_days)
        await conn.execute(
            "update recommendations set status = 'measured', outcome = %s, measured_at = now(), updated_at = now() "
            "where id = %s and status = 'accepted'", (Jsonb(outcome.model_dump(mode="json")), row["id"]))
        await conn.execute(
            "insert into audit_log (org_id, action, target_type, target_id, details) "
            "select org_id, 'recommendation.measured', 'recommendation', id::text, %s from recommendations "
            "where id = %s", (Jsonb(outcome.model_dump(mode="json")), row["id"]))
        measured.append(row["id"])
    return measured

