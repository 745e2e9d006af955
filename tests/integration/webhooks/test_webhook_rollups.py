"""A webhook batch refreshes the rollups of the stores it changed, without waiting for a read or a sync."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from shared.analytics.metrics import refresh_pending, stores_with_queued_changes
from shared.bootstrap import Container
from shared.webhooks.processing import process_batch, refresh_analytics, refresh_stores
from tests.integration.webhooks.test_webhook_api import order_payload
from tests.support import Tenant, build_tenant

NOW = timedelta(0)  # no minimum interval between refreshes


def _gross(conn: psycopg.Connection[Any], store_id: uuid.UUID, day: date) -> Any:
    row = conn.execute("select gross_sales from daily_store_metrics where store_id = %s and day = %s",
                       (store_id, day)).fetchone()
    return None if row is None else row["gross_sales"]


def _delivery(conn: psycopg.Connection[Any], t: Tenant, domain: str, payload: dict[str, Any]) -> uuid.UUID:
    row = conn.execute(
        "insert into webhook_deliveries (org_id, store_id, platform, delivery_id, topic, shop_domain, payload) "
        "values (%s, %s, 'shopify', %s, 'orders/create', %s, %s) returning id",
        (t.org_id, t.store_id, uuid.uuid4().hex, domain, json.dumps(payload))).fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


def _pending(conn: psycopg.Connection[Any], store_id: uuid.UUID) -> bool:
    return bool(conn.execute("select app.analytics_pending(%s) as p", (store_id,)).fetchone()["p"])


def test_an_applied_batch_refreshes_its_stores_rollup(database_url: str, container: Container) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wr{uuid.uuid4().hex[:6]}")
        refresh_pending(conn, t.store_id)  # the store's rollups exist before the webhooks come
        domain = conn.execute("select shop_domain from stores where id = %s", (t.store_id,)).fetchone()
        day = date(2026, 11, 20)  # order_payload's created_at, 10:00 UTC: the same day in the shop's zone
        before = _gross(conn, t.store_id, day)
        ids = [_delivery(conn, t, domain["shop_domain"], order_payload(900_000 + n, "2026-11-20T10:05:00Z",
                                                                         quantity=n + 1)) for n in range(2)]
        process_batch(container.db, container.secrets, ids, resend=lambda failed: None)
        assert _gross(conn, t.store_id, day) == before  # applied, not yet rolled up
        assert refresh_analytics(container.db, ids, min_interval=NOW) >= 1
        # 1 + 2 hoodies at 49.00 on that day, nothing read in between
        assert _gross(conn, t.store_id, day) == (before or 0) + 3 * 49
        assert not _pending(conn, t.store_id)


def test_a_store_being_refreshed_elsewhere_is_skipped_and_stays_queued(database_url: str,
                                                                       container: Container) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wr{uuid.uuid4().hex[:6]}")
        refresh_pending(conn, t.store_id)
        domain = conn.execute("select shop_domain from stores where id = %s", (t.store_id,)).fetchone()
        ids = [_delivery(conn, t, domain["shop_domain"], order_payload(910_000, "2026-11-20T10:05:00Z"))]
        process_batch(container.db, container.secrets, ids, resend=lambda failed: None)
        with psycopg.connect(database_url, row_factory=dict_row) as other:  # another worker's refresh, running
            other.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"analytics:{t.store_id}",))
            assert refresh_analytics(container.db, ids, min_interval=NOW) == 0  # not waited for
            assert _pending(conn, t.store_id)
        assert refresh_analytics(container.db, ids, min_interval=NOW) >= 1
        assert not _pending(conn, t.store_id)


def test_a_store_refreshed_within_the_interval_is_left_queued_for_the_next_refresh(
        database_url: str, container: Container) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wr{uuid.uuid4().hex[:6]}")
        refresh_pending(conn, t.store_id)  # refreshed just now
        domain = conn.execute("select shop_domain from stores where id = %s", (t.store_id,)).fetchone()["shop_domain"]
        day = date(2026, 11, 20)
        before = _gross(conn, t.store_id, day) or 0
        ids = [_delivery(conn, t, domain, order_payload(920_000, "2026-11-20T10:05:00Z", quantity=2))]
        process_batch(container.db, container.secrets, ids, resend=lambda failed: None)

        assert refresh_analytics(container.db, ids, min_interval=timedelta(minutes=5)) == 0
        assert _pending(conn, t.store_id) and (_gross(conn, t.store_id, day) or 0) == before
        assert t.store_id in stores_with_queued_changes(conn)  # what the minute timer picks up

        # The timer's pass: the interval has gone by (here: is shorter than the time since that refresh).
        assert refresh_stores(container.db, [t.store_id], min_interval=NOW) >= 1
        assert not _pending(conn, t.store_id) and _gross(conn, t.store_id, day) == before + 2 * 49
        assert t.store_id not in stores_with_queued_changes(conn)


def test_stores_never_built_are_not_picked_by_the_queued_refresh(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wr{uuid.uuid4().hex[:6]}")  # its rollups were never built: its sync builds them
        assert _pending(conn, t.store_id)
        assert t.store_id not in stores_with_queued_changes(conn)
