"""Webhook triggers: deliveries applied from the `webhooks` queue; timers that refresh the rollups of changes
still queued, queue deliveries whose message was never sent, enforce payload retention and retry failed webhook
registrations."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from shared.analytics.metrics import stores_with_queued_changes
from shared.runtime import container
from shared.webhooks import WEBHOOKS_QUEUE, MessageBus, bus_for, decode_batch, encode_batch, encode_message, retention
from shared.webhooks.inbox import mark_enqueued_sync, unsent_deliveries
from shared.webhooks.processing import process_batch, refresh_analytics, refresh_stores
from shared.webhooks.subscriptions import retry_failed_registrations

bp = df.Blueprint()
log = logging.getLogger(__name__)
_SWEEP_BATCH = 100


def _send_alone(bus: MessageBus, delivery_ids: list[uuid.UUID]) -> None:
    for delivery_id in delivery_ids:
        bus.send(WEBHOOKS_QUEUE, encode_message(delivery_id), str(delivery_id))


@bp.service_bus_queue_trigger(arg_name="msg", queue_name="webhooks", connection="ServiceBusConnection")
def apply_webhook(msg: func.ServiceBusMessage) -> None:
    """Apply the deliveries a message names, in one transaction. Idempotent (an applied delivery is skipped).
    A lone delivery that fails raises, so the bus retries and dead-letters it after its max delivery count;
    a failed member of a batch is queued again alone."""
    delivery_ids = decode_batch(msg.get_body())
    c = container()
    results = process_batch(c.db, c.secrets, delivery_ids,
                            resend=lambda failed: _send_alone(bus_for(c.settings), failed))
    # The batch's stores' rollups, incrementally, unless refreshed within the interval (see refresh_analytics).
    days = refresh_analytics(c.db, delivery_ids,
                             min_interval=timedelta(seconds=c.settings.webhook_rollup_interval_seconds))
    log.info("webhook deliveries applied", extra={"deliveries": len(delivery_ids), "rollup_days": days,
                                                  "statuses": dict(Counter(r.status for r in results))})


@bp.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=False)
def refresh_queued_analytics(timer: func.TimerRequest) -> None:
    """Every minute: stores with changes still queued for their rollups (a webhook batch skips a store refreshed
    moments ago, and the stream may stop right after) are refreshed, so the rollups are never more than about a
    minute behind even when nobody reads them. A store refreshed within the interval is left for the next."""
    c = container()
    with c.db.service_sync() as conn:
        stores = stores_with_queued_changes(conn)
    if stores:
        days = refresh_stores(c.db, stores,
                              min_interval=timedelta(seconds=c.settings.webhook_rollup_interval_seconds))
        log.info("queued analytics refreshed", extra={"stores": len(stores), "rollup_days": days})


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def requeue_unsent_webhooks(timer: func.TimerRequest) -> None:
    """Every 5 minutes: deliveries recorded but never queued (the send failed, the process died before the
    outbox flushed) are queued now, in batches."""
    c = container()
    with c.db.service_sync() as conn:
        pending = unsent_deliveries(conn)
    if not pending:
        return
    bus = bus_for(c.settings)
    for start in range(0, len(pending), _SWEEP_BATCH):
        batch = pending[start:start + _SWEEP_BATCH]
        bus.send(WEBHOOKS_QUEUE, *encode_batch(batch))
        with c.db.service_sync() as conn:
            mark_enqueued_sync(conn, batch)
    log.warning("queued webhook deliveries that had not been sent", extra={"count": len(pending)})


@bp.timer_trigger(arg_name="timer", schedule="0 30 3 * * *", run_on_startup=False)
def webhook_retention(timer: func.TimerRequest) -> None:
    """Daily (03:30 UTC): blank the payloads of deliveries applied more than WEBHOOK_PAYLOAD_RETENTION_DAYS ago, delete
    rows (dedupe keys) older than WEBHOOK_DEDUPE_RETENTION_DAYS (at least 2); see shared/webhooks/retention.py."""
    c = container()
    payload_days, dedupe_days = retention.retention_days(c.settings.webhook_payload_retention_days,
                                                         c.settings.webhook_dedupe_retention_days)
    scrubbed = deleted = 0
    while True:
        with c.db.service_sync() as conn:
            done = retention.RetentionResult(retention.scrub_payloads(conn, older_than_days=payload_days),
                                             retention.delete_old(conn, older_than_days=dedupe_days))
        scrubbed, deleted = scrubbed + done.scrubbed, deleted + done.deleted
        if not done.scrubbed and not done.deleted:
            break
    log.info("webhook retention", extra={"scrubbed": scrubbed, "deleted": deleted,
                                         "payload_days": payload_days, "dedupe_days": dedupe_days})


@bp.timer_trigger(arg_name="timer", schedule="0 20 * * * *", run_on_startup=False)
async def retry_webhook_registrations(timer: func.TimerRequest) -> None:
    """Hourly: stores whose webhook registration failed (when they connected, or at the last retry) try again."""
    c = container()
    outcomes = await retry_failed_registrations(c.settings.database_url, secrets=c.secrets, clients=c.store_clients,
                                                public_base_url=c.settings.public_base_url)
    if outcomes:
        log.info("retried webhook registrations", extra={
            "registered": [str(o.store_id) for o in outcomes if o.registered],
            "failed": [str(o.store_id) for o in outcomes if not o.registered]})
