"""Service Bus triggers: webhook deliveries applied from the `webhooks` queue, and the sweeper that
queues deliveries whose message was never sent."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from shared.runtime import container
from shared.webhooks import WEBHOOKS_QUEUE, bus_of, decode_message, encode_message
from shared.webhooks.apply import process_delivery
from shared.webhooks.inbox import mark_enqueued_sync, unsent_deliveries

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.service_bus_queue_trigger(arg_name="msg", queue_name="webhooks", connection="ServiceBusConnection")
def apply_webhook(msg: func.ServiceBusMessage) -> None:
    """Apply one delivery. Idempotent (an applied delivery is skipped); a failure raises, so the bus retries
    and dead-letters after its max delivery count."""
    delivery_id = decode_message(msg.get_body())
    c = container()
    result = process_delivery(c.db, c.secrets, delivery_id)
    log.info("webhook delivery applied", extra={"delivery": str(delivery_id), "status": result.status,
                                                "detail": result.detail})


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def requeue_unsent_webhooks(timer: func.TimerRequest) -> None:
    """Every 5 minutes: deliveries recorded but never queued (the send failed) are queued now."""
    c = container()
    with c.db.service_sync() as conn:
        pending = unsent_deliveries(conn)
    if not pending:
        return
    bus = bus_of(c)
    for delivery_id in pending:
        bus.send(WEBHOOKS_QUEUE, encode_message(delivery_id), str(delivery_id))
        with c.db.service_sync() as conn:
            mark_enqueued_sync(conn, delivery_id)
    log.warning("queued webhook deliveries that had not been sent", extra={"count": len(pending)})
