"""Retention: applied payloads are blanked after N days, dedupe keys kept at least two days, unapplied rows kept."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from shared.webhooks import retention


def _delivery(conn: Any, *, status: str, age_days: float) -> uuid.UUID:
    processed = None if status == "received" else f"{age_days} days"
    row = conn.execute(
        "insert into webhook_deliveries (platform, delivery_id, topic, shop_domain, status, payload, received_at, "
        "processed_at) values ('shopify', %s, 'orders/create', 'retention.myshopify.com', %s, %s, "
        "now() - %s::interval, now() - %s::interval) returning id",
        (
            f"retention-{uuid.uuid4().hex}",
            status,
            Jsonb({"email": "someone@example.com"}),
            f"{age_days} days",
            processed,
        ),
    ).fetchone()
    return uuid.UUID(str(row["id"]))


def _row(conn: Any, delivery: uuid.UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = conn.execute(
        "select payload, scrubbed_at, status from webhook_deliveries where id = %s", (delivery,)
    ).fetchone()
    return row


def test_applied_payloads_are_scrubbed_after_n_days_and_unapplied_ones_kept(service_conn: Any) -> None:
    old = _delivery(service_conn, status="processed", age_days=8)
    ignored = _delivery(service_conn, status="ignored", age_days=8)
    fresh = _delivery(service_conn, status="processed", age_days=1)
    stuck = _delivery(service_conn, status="received", age_days=40)

    assert retention.scrub_payloads(service_conn, older_than_days=7) >= 2
    assert retention.scrub_payloads(service_conn, older_than_days=7) == 0  # nothing twice

    for scrubbed in (old, ignored):
        row = _row(service_conn, scrubbed)
        assert row is not None and row["payload"] == {"scrubbed": True} and row["scrubbed_at"] is not None
    for kept in (fresh, stuck):
        row = _row(service_conn, kept)
        assert row is not None and row["payload"] == {"email": "someone@example.com"}


def test_dedupe_keys_are_deleted_after_their_days_never_sooner_than_two(service_conn: Any) -> None:
    day_old = _delivery(service_conn, status="processed", age_days=1.5)
    old = _delivery(service_conn, status="processed", age_days=31)
    stuck = _delivery(service_conn, status="received", age_days=60)

    retention.delete_old(service_conn, older_than_days=0)  # asks for 0: clamped to two days
    assert _row(service_conn, day_old) is not None
    assert _row(service_conn, old) is None
    assert _row(service_conn, stuck) is not None  # never applied: an operator's to replay, not retention's


def test_effective_days_keep_keys_at_least_as_long_as_payloads() -> None:
    assert retention.retention_days(7, 30) == (7, 30)
    assert retention.retention_days(0, 0) == (1, retention.MIN_DEDUPE_DAYS)
    assert retention.retention_days(45, 30) == (45, 45)
