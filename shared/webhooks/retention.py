"""How long delivery rows keep their payloads and their dedupe keys.

A processed (or ignored) delivery's payload is personal data we no longer need once it is applied: after
`payload_days` it is replaced by `{"scrubbed": true}` (`scrubbed_at` set). The row itself is the dedupe
key that makes a redelivery a no-op; Shopify retries a failed delivery for 4 hours (8 tries, since Sep 2024)
and a retry carries the original webhook id, so rows are deleted only after `dedupe_days`, never fewer
than two days (MIN_DEDUPE_DAYS). Rows still `received` (not applied, maybe dead-lettered and waiting for
an operator) are never touched. Both run in bounded batches so one pass never holds long locks.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection
from psycopg.rows import DictRow

DEFAULT_PAYLOAD_DAYS = 7
DEFAULT_DEDUPE_DAYS = 30
MIN_DEDUPE_DAYS = 2  # well past Shopify's 4 h retry window, with room for a late manual replay
_BATCH = 5_000


@dataclass(frozen=True)
class RetentionResult:
    scrubbed: int
    deleted: int


def retention_days(payload_days: int, dedupe_days: int) -> tuple[int, int]:
    """The effective (payload, dedupe) days: payloads kept at least a day, keys at least MIN_DEDUPE_DAYS
    and never shorter than the payloads."""
    payload = max(1, payload_days)
    return payload, max(MIN_DEDUPE_DAYS, dedupe_days, payload)


def scrub_payloads(conn: Connection[DictRow], *, older_than_days: int, limit: int = _BATCH) -> int:
    """Blank the payloads of deliveries applied more than `older_than_days` ago; how many were blanked."""
    cur = conn.execute(
        "update webhook_deliveries set payload = '{\"scrubbed\": true}'::jsonb, scrubbed_at = now() "
        "where id in (select id from webhook_deliveries where status <> 'received' and scrubbed_at is null "
        "and processed_at < now() - make_interval(days => %s) order by processed_at limit %s "
        "for update skip locked)", (older_than_days, limit))
    return cur.rowcount


def delete_old(conn: Connection[DictRow], *, older_than_days: int, limit: int = _BATCH) -> int:
    """Delete applied deliveries (their dedupe keys) received more than `older_than_days` ago."""
    days = max(MIN_DEDUPE_DAYS, older_than_days)
    cur = conn.execute(
        "delete from webhook_deliveries where id in (select id from webhook_deliveries where status <> 'received' "
        "and received_at < now() - make_interval(days => %s) order by received_at limit %s "
        "for update skip locked)", (days, limit))
    return cur.rowcount
