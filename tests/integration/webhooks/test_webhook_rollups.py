"""A webhook batch refreshes the rollups of the stores it changed, without waiting for a read or a sync."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shared.analytics.metrics import refresh_pending
from shared.bootstrap import Container
from shared.webhooks.processing import process_batch, refresh_analytics
from tests.integration.webhooks.test_webhook_api import order_payload
from tests.support import build_tenant


def _gross(conn: psycopg.Connection[Any], store_id: uuid.UUID, day: date) -> Any:
    row = conn.execute("select gross_sales from daily_store_metrics where store_id = %s and day = %s",
                       (store_id, day)).fetchone()
    return None if row is None else row["gross_sales"]


def test_an_applied_batch_refreshes_its_stores_rollup(database_url: str, container: Container) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wr{uuid.uuid4().hex[:6]}")
        refresh_pending(conn, t.store_id)  # the store's rollups exist before the webhooks come
        domain = conn.execute("select shop_domain from stores where id = %s", (t.store_id,)).fetchone()
        day = date(2026, 11, 20)  # order_payload's created_at, 10:00 UTC: the same day in the shop's zone
        before = _gross(conn, t.store_id, day)
        ids = [conn.execute(
            "insert into webhook_deliveries (org_id, store_id, platform, delivery_id, topic, shop_domain, payload) "
            "values (%s, %s, 'shopify', %s, 'orders/create', %s, %s) returning id",
            (t.org_id, t.store_id, uuid.uuid4().hex, domain["shop_domain"],
             json.dumps(order_payload(900_000 + n, "2026-11-20T10:05:00Z", quantity=n + 1)))).fetchone()["id"]
            for n in range(2)]
        process_batch(container.db, container.secrets, ids, resend=lambda failed: None)
        assert _gross(conn, t.store_id, day) == before  # applied, not yet rolled up
        assert refresh_analytics(container.db, ids) >= 1
        # 1 + 2 hoodies at 49.00 on that day, nothing read in between
        assert _gross(conn, t.store_id, day) == (before or 0) + 3 * 49
        assert not conn.execute("select app.analytics_pending(%s) as p", (t.store_id,)).fetchone()["p"]


def test_a_store_being_refreshed_elsewhere_is_skipped_and_stays_queued(database_url: str,
                                                                       container: Container) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wr{uuid.uuid4().hex[:6]}")
        refresh_pending(conn, t.store_id)
        domain = conn.execute("select shop_domain from stores where id = %s", (t.store_id,)).fetchone()
        ids = [conn.execute(
            "insert into webhook_deliveries (org_id, store_id, platform, delivery_id, topic, shop_domain, payload) "
            "values (%s, %s, 'shopify', %s, 'orders/create', %s, %s) returning id",
            (t.org_id, t.store_id, uuid.uuid4().hex, domain["shop_domain"],
             json.dumps(order_payload(910_000, "2026-11-20T10:05:00Z")))).fetchone()["id"]]
        process_batch(container.db, container.secrets, ids, resend=lambda failed: None)
        with psycopg.connect(database_url, row_factory=dict_row) as other:  # another worker's refresh, running
            other.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"analytics:{t.store_id}",))
            assert refresh_analytics(container.db, ids) == 0  # not waited for
            assert conn.execute("select app.analytics_pending(%s) as p", (t.store_id,)).fetchone()["p"]
        assert refresh_analytics(container.db, ids) >= 1
        assert not conn.execute("select app.analytics_pending(%s) as p", (t.store_id,)).fetchone()["p"]
