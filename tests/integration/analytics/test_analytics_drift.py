"""The nightly drift check puts back what the raw rows say, reports the days that differed, and only those."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shared.analytics.drift import check_store
from shared.analytics.metrics import refresh_store_metrics
from tests.support import build_tenant


def test_a_tampered_day_is_repaired_and_reported_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"drift-{uuid.uuid4().hex[:6]}")
        refresh_store_metrics(conn, t.store_id)
        day = conn.execute("select (now() at time zone timezone)::date - 0 as d from stores where id = %s",
                           (t.store_id,)).fetchone()["d"]
        correct = conn.execute("select net_sales, orders from daily_store_metrics where store_id = %s and day = %s",
                               (t.store_id, day)).fetchone()
        assert correct is not None
        conn.execute("update daily_store_metrics set net_sales = net_sales + 1, orders = orders + 5 "
                     "where store_id = %s and day = %s", (t.store_id, day))

        drift = check_store(conn, t.store_id, t.org_id)
        assert drift.days == [str(day)]
        repaired = conn.execute("select net_sales, orders from daily_store_metrics where store_id = %s and day = %s",
                                (t.store_id, day)).fetchone()
        assert repaired == correct
        audit: Any = conn.execute("select details from audit_log where action = 'analytics.drift' and target_id = %s",
                                  (str(t.store_id),)).fetchall()
        assert [a["details"]["days"] for a in audit] == [[str(day)]]
        assert check_store(conn, t.store_id, t.org_id).days == []


def test_days_computed_for_the_first_time_are_not_drift(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"drift-{uuid.uuid4().hex[:6]}")
        conn.execute("update orders set placed_at = %s where store_id = %s",
                     (datetime.now(UTC) - timedelta(days=3), t.store_id))
        assert check_store(conn, t.store_id, t.org_id).days == []
