"""The local Service Bus: serviceBusTrigger and queueTrigger functions served from Azurite storage queues.

Peek-lock is the storage queue's visibility timeout: a received message stays hidden while its handler
runs (the lock is renewed), is deleted on success, made visible again at once on failure, and comes back
by itself after `lock_duration` if the process dies. The dequeue count is the delivery count; past
`max_delivery_count` the message moves to `<queue>-deadletter` in a JSON record with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient
from azure.storage.queue import QueueMessage as StoredMessage

from devhost.bus_messages import (
    MAX_DELIVERY_COUNT_EXCEEDED,
    DeadLetter,
    Envelope,
    encode_queue_body,
    queue_message,
    service_bus_message,
)
from devhost.bus_routes import (
    SERVICE_BUS_MAX_DELIVERY_COUNT,
    Route,
    dead_letter_queue_name,
    routes_for,
    storage_queue_name,
)
from devhost.discovery import DiscoveredFunction
from devhost.leases import Lease, LeaseRenewer
from devhost.runners import Backoff, ExtraArgs, WorkerThreads, call_function

log = logging.getLogger(__name__)

# Storage queues hold 64 KiB of text per message, less than Service Bus (256 KiB on Standard).
MAX_STORAGE_MESSAGE_BYTES = 64 * 1024


class MessageTooLargeError(ValueError):
    """The message, as stored, exceeds what a storage queue message can hold."""


@dataclass
class _Run:
    """One start()..stop() of the bus; an abandoned run never settles the messages it still holds."""

    workers: WorkerThreads
    renewer: LeaseRenewer
    abandoned: threading.Event = field(default_factory=threading.Event)


class LocalBus:
    """Delivers messages to the app's queue-triggered functions; send() and dead-letter helpers for callers."""

    def __init__(
        self,
        functions: Iterable[DiscoveredFunction],
        *,
        connection_string: str,
        lock_duration: int = 30,
        max_delivery_count: int = SERVICE_BUS_MAX_DELIVERY_COUNT,
        max_delivery_counts: Mapping[str, int] | None = None,
        workers: int = 2,
        batch_size: int = 4,
        poll_interval: tuple[float, float] = (0.05, 1.0),
        extra_args: ExtraArgs | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.routes = routes_for(functions, settings, max_delivery_counts, max_delivery_count)
        self.lock_duration = max(1, lock_duration)  # storage visibility timeouts are whole seconds
        self._service = QueueServiceClient.from_connection_string(connection_string)
        self._workers, self._batch_size, self._poll_interval = workers, batch_size, poll_interval
        self._extra_args = extra_args
        self._clients: dict[str, QueueClient] = {}
        self._run: _Run | None = None

    @property
    def names(self) -> list[str]:
        """The queue- and Service Bus-triggered functions this bus delivers to."""
        return sorted({r.fn.name for r in self.routes})

    def start(self) -> None:
        if self._run is not None:
            return
        for queue in {r.queue for r in self.routes}:
            self._ensure_queue(queue)
            self._ensure_queue(dead_letter_queue_name(queue))
        run = _Run(WorkerThreads("bus"), LeaseRenewer(self.lock_duration))
        run.renewer.start()
        if self.routes:
            run.workers.start(partial(self._work, run), count=self._workers)
        self._run = run
        log.info("local bus serving %s", ", ".join(f"{r.entity}->{r.fn.name}" for r in self.routes) or "nothing")

    def stop(self, timeout: float = 10.0) -> bool:
        """Let handlers finish for up to `timeout`; after that their messages are left to their lock expiry,
        as if the process had died. False in that case."""
        run, self._run = self._run, None
        if run is None:
            return True
        finished = run.workers.stop(timeout)
        if not finished:
            run.abandoned.set()
        run.renewer.stop()
        return finished

    def send(
        self,
        queue_name: str,
        body: bytes | str,
        message_id: str | None = None,
        properties: Mapping[str, Any] | None = None,
        *,
        content_type: str | None = None,
        correlation_id: str | None = None,
        subject: str | None = None,
    ) -> str:
        """Send to a Service Bus queue or topic (every subscription gets a copy) or a storage queue."""
        message_id = message_id or uuid.uuid4().hex
        raw = body.encode() if isinstance(body, str) else body
        storage_only = {r.queue for r in self.routes if not r.is_service_bus}
        envelope = Envelope(message_id, raw, dict(properties or {}), content_type, correlation_id, subject)
        for queue in self._targets(queue_name):
            text = encode_queue_body(raw) if queue in storage_only else envelope.to_text()
            self._send_text(queue, text)
        return message_id

    def peek_dead_letters(self, queue_name: str, max_messages: int = 32) -> list[DeadLetter]:
        """Dead letters of a queue or subscription ("topic/Subscriptions/sub"), oldest first, left in place."""
        client = self._client(dead_letter_queue_name(self.queue_for(queue_name)))
        try:
            return [DeadLetter.from_text(str(m.content)) for m in client.peek_messages(max_messages=max_messages)]
        except ResourceNotFoundError:
            return []

    def replay_dead_letter(self, queue_name: str, message_id: str | None = None) -> int:
        """Move dead letters (all, or those with `message_id`) back to their queue as new messages."""
        queue = self.queue_for(queue_name)
        dead = self._client(dead_letter_queue_name(queue))
        replayed, skipped = 0, []
        while page := self._receive(dead, visibility_timeout=30):
            for stored in page:
                letter = DeadLetter.from_text(str(stored.content))
                if message_id is not None and letter.message_id != message_id:
                    skipped.append(stored)
                    continue
                self._send_text(queue, letter.original)
                dead.delete_message(stored)
                replayed += 1
        for stored in skipped:
            dead.update_message(stored, visibility_timeout=0)
        return replayed

    def queue_for(self, name: str) -> str:
        """The storage queue behind a Service Bus queue, a subscription path or a storage queue name."""
        for route in self.routes:
            if name.lower() in (route.entity.lower(), route.queue):
                return route.queue
        return storage_queue_name(name)

    def _targets(self, name: str) -> list[str]:
        subscribers = sorted({r.queue for r in self.routes if r.topic and r.topic.lower() == name.lower()})
        return subscribers or [self.queue_for(name)]

    def _work(self, run: _Run) -> None:
        backoff = Backoff(*self._poll_interval)
        while not run.workers.stopping.is_set():
            try:
                handled = sum(self._receive_and_handle(run, route) for route in self.routes)
            except AzureError:
                # Azurite restarting or gone: keep polling, slowly, rather than let the thread die.
                log.warning("local bus: storage call failed", exc_info=True)
                handled = 0
            except Exception:
                # Handler errors never get here; anything else must not silently end delivery.
                log.exception("local bus: unexpected error while delivering")
                handled = 0
            if handled:
                backoff.reset()
            elif run.workers.sleep(backoff.next_delay()):
                return

    def _receive_and_handle(self, run: _Run, route: Route) -> int:
        client = self._client(route.queue)
        page = self._receive(client, visibility_timeout=self.lock_duration, batch=self._batch_size)
        # Every received message is locked now, including those waiting behind the first one.
        leases = [run.renewer.add(client, stored) for stored in page]
        for stored, lease in zip(page, leases, strict=True):
            if run.workers.stopping.is_set():
                lease.end()
                self._abandon(client, stored.id, lease.pop_receipt)
                continue
            self._handle(run, route, client, stored, lease)
        return len(page)

    def _handle(self, run: _Run, route: Route, client: QueueClient, stored: StoredMessage, lease: Lease) -> None:
        delivery = stored.dequeue_count or 1
        if delivery > route.max_delivery_count:
            # Only lock expiries (crashes, hangs) get here: Service Bus dead-letters without another try.
            lease.end()
            reason = f"Lock expired {delivery - 1} times; the handler never completed the message."
            self._dead_letter(route, client, stored, lease.pop_receipt, reason, delivery - 1)
            return
        error: Exception | None = None
        try:
            trigger_value = self._trigger_value(route, stored)
            call_function(route.fn, trigger_value, self._extra_args)
        except Exception as exc:
            error = exc
            log.warning("%s failed on message %s (delivery %d)", route.fn.name, stored.id, delivery, exc_info=True)
        pop_receipt = lease.end()
        if run.abandoned.is_set():
            return  # the host has "died": no settlement, the lock runs out and the message comes back
        if error is None:
            self._complete(client, stored.id, pop_receipt)
        elif delivery >= route.max_delivery_count:
            reason = (
                f"Message could not be consumed after {delivery} delivery attempts. "
                f"Last error: {type(error).__name__}: {error}"
            )
            self._dead_letter(route, client, stored, pop_receipt, reason, delivery)
        else:
            self._abandon(client, stored.id, pop_receipt)

    def _trigger_value(self, route: Route, stored: StoredMessage) -> Any:
        if not route.is_service_bus:
            return queue_message(stored)
        message = service_bus_message(stored)
        return [message] if route.fn.trigger.get("cardinality") == "many" else message

    def _dead_letter(
        self, route: Route, client: QueueClient, stored: StoredMessage, pop_receipt: str, reason: str, count: int
    ) -> None:
        message_id = _message_id(route, stored)
        letter = DeadLetter(
            source_queue=route.entity,
            message_id=message_id,
            reason=MAX_DELIVERY_COUNT_EXCEEDED,
            error_description=reason,
            delivery_count=count,
            dead_lettered_at=datetime.now(UTC),
            original=str(stored.content),
        )
        # Written before the delete: a crash in between leaves a duplicate, never a lost message.
        self._send_text(dead_letter_queue_name(route.queue), letter.to_text())
        self._complete(client, stored.id, pop_receipt)
        log.error("%s: message %s dead-lettered: %s", route.entity, message_id, reason)

    def _complete(self, client: QueueClient, message_id: str, pop_receipt: str) -> None:
        try:
            client.delete_message(message_id, pop_receipt)
        except HttpResponseError:
            # The lock was lost (handler outlived it and renewal failed): it will be delivered again.
            log.warning("message %s lost its lock before it could be completed", message_id)

    def _abandon(self, client: QueueClient, message_id: str, pop_receipt: str) -> None:
        try:
            client.update_message(message_id, pop_receipt, visibility_timeout=0)
        except HttpResponseError:
            log.warning("message %s lost its lock before it could be abandoned", message_id)

    def _receive(self, client: QueueClient, *, visibility_timeout: int, batch: int = 32) -> list[StoredMessage]:
        pages = client.receive_messages(
            messages_per_page=batch, max_messages=batch, visibility_timeout=visibility_timeout
        ).by_page()
        try:
            return list(next(pages, []))
        except ResourceNotFoundError:
            self._ensure_queue(client.queue_name)
            return []

    def _send_text(self, queue: str, text: str) -> None:
        if len(text.encode()) > MAX_STORAGE_MESSAGE_BYTES:
            # Azurite's own refusal is a bare 413; say which limit was hit and what to do instead.
            raise MessageTooLargeError(
                f"message for {queue!r} is {len(text.encode())} bytes encoded; storage queues take "
                f"{MAX_STORAGE_MESSAGE_BYTES} (bodies up to ~46 KiB): send a blob reference instead"
            )
        client = self._client(queue)
        try:
            client.send_message(text)
        except ResourceNotFoundError:
            # Service Bus entities exist before anyone sends; here a queue appears on first use.
            self._ensure_queue(queue)
            client.send_message(text)

    def _ensure_queue(self, queue: str) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._client(queue).create_queue()

    def _client(self, queue: str) -> QueueClient:
        if queue not in self._clients:
            self._clients[queue] = self._service.get_queue_client(queue)
        return self._clients[queue]


def _message_id(route: Route, stored: StoredMessage) -> str:
    if route.is_service_bus:
        # A corrupt envelope is a likely reason to be here; it must not stop the dead-lettering.
        with contextlib.suppress(KeyError, ValueError, TypeError):
            return Envelope.from_stored(stored).message_id
    return str(stored.id)
