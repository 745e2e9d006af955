"""The nightly check: recompute a recent window of the rollups (store and product days) from the raw rows and
report any drift.

A day drifts when its stored rollup differs from a fresh computation: a write path that forgot to
refresh (a webhook, a manual fix), or a bug. The recomputed values replace the drifted ones; each
drifted store is written to the audit log so it can be looked into.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from shared.analytics.metrics import refresh_store_metrics

WINDOW_DAYS = 35
_COMPARED = ("gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "total_sales", "orders",
             "units_sold", "refunds", "new_customers", "returning_customers", "customers_again", "returning_week",
             "returning_month")


@dataclass(frozen=True)
class Drift:
    store_id: uuid.UUID
    days: list[str]


_PRODUCT_COMPARED = ("units_sold", "gross_sales", "line_discounts", "returns", "refunds")


def _snapshot(conn: Connection[DictRow], store_id: uuid.UUID, day_from: Any, day_to: Any) -> dict[Any, tuple[Any, ...]]:
    """Per day: the store figures and the day's product rows (sorted), so a drifted product cell marks its day."""
    rows = conn.execute(
        f"select day, {', '.join(_COMPARED)} from daily_store_metrics where store_id = %s and day between %s and %s",
        (store_id, day_from, day_to)).fetchall()
    products = conn.execute(
        f"select day, product_id, {', '.join(_PRODUCT_COMPARED)} from daily_product_metrics "
        "where store_id = %s and day between %s and %s order by day, product_id",
        (store_id, day_from, day_to)).fetchall()
    cells: dict[Any, list[tuple[Any, ...]]] = {}
    for p in products:
        cells.setdefault(p["day"], []).append((p["product_id"], *(p[c] for c in _PRODUCT_COMPARED)))
    return {r["day"]: (*(r[c] for c in _COMPARED), tuple(cells.get(r["day"], ()))) for r in rows}


def check_store(conn: Connection[DictRow], store_id: uuid.UUID, org_id: uuid.UUID) -> Drift:
    """Recompute the last WINDOW_DAYS shop-local days of one store; return the days that had drifted."""
    today = conn.execute("select (now() at time zone timezone)::date as today from stores where id = %s",
                         (store_id,)).fetchone()
    if today is None:
        return Drift(store_id, [])
    day_to = today["today"]
    day_from = day_to - timedelta(days=WINDOW_DAYS - 1)
    before = _snapshot(conn, store_id, day_from, day_to)
    refresh_store_metrics(conn, store_id, day_from, day_to)
    after = _snapshot(conn, store_id, day_from, day_to)
    # A day first computed now is not drift: only stored days whose values changed are.
    drifted = sorted(str(day) for day, values in before.items() if after.get(day) != values)
    if drifted:
        conn.execute(
            "insert into audit_log (org_id, action, target_type, target_id, details) "
            "values (%s, 'analytics.drift', 'store', %s, %s)",
            (org_id, str(store_id), Jsonb({"days": drifted, "window_days": WINDOW_DAYS})))
    return Drift(store_id, drifted)


def check_all(conn: Connection[DictRow]) -> list[Drift]:
    stores = conn.execute("select id, org_id from stores where status = 'active' order by id").fetchall()
    return [check_store(conn, s["id"], s["org_id"]) for s in stores]
