"""Peek-lock renewal for the local bus: keeps received storage-queue messages hidden while handlers run."""

from __future__ import annotations

import logging
import threading

from azure.core.exceptions import AzureError
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StoredMessage

from devhost.runners import WorkerThreads

log = logging.getLogger(__name__)


class Lease:
    """The lock on one received message. Every renewal changes the pop receipt settling needs."""

    def __init__(self, client: QueueClient, message_id: str, pop_receipt: str) -> None:
        self._client = client
        self.message_id = message_id
        self._pop_receipt = pop_receipt
        self._lock = threading.Lock()
        self.active = True

    @property
    def pop_receipt(self) -> str:
        with self._lock:
            return self._pop_receipt

    def renew(self, seconds: int) -> None:
        with self._lock:
            if not self.active:
                return
            try:
                updated = self._client.update_message(self.message_id, self._pop_receipt, visibility_timeout=seconds)
            except AzureError:
                # Someone else holds the message now; the handler's result will fail to settle and say so.
                log.warning("could not renew the lock on message %s", self.message_id, exc_info=True)
                self.active = False
                return
            self._pop_receipt = str(updated.pop_receipt)

    def end(self) -> str:
        """Stop renewing; returns the pop receipt to complete or abandon with."""
        with self._lock:
            self.active = False
            return self._pop_receipt


class LeaseRenewer:
    """One thread renews every active lease at half the lock duration, like the host's auto lock renewal."""

    def __init__(self, lock_duration: int) -> None:
        self.lock_duration = lock_duration
        self._threads = WorkerThreads("bus-locks")
        self._leases: list[Lease] = []
        self._guard = threading.Lock()

    def start(self) -> None:
        self._threads.start(self._loop, label="renewer")

    def stop(self) -> None:
        self._threads.stop(timeout=5.0)

    def add(self, client: QueueClient, message: StoredMessage) -> Lease:
        lease = Lease(client, str(message.id), str(message.pop_receipt))
        with self._guard:
            self._leases.append(lease)
        return lease

    def _loop(self) -> None:
        while not self._threads.sleep(self.lock_duration / 2):
            with self._guard:
                self._leases = [lease for lease in self._leases if lease.active]
                current = list(self._leases)
            for lease in current:
                lease.renew(self.lock_duration)
