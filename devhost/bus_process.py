"""The local bus in a worker process of its own, as the Functions host runs several language workers
(FUNCTIONS_WORKER_PROCESS_COUNT) and Azure scales bus triggers apart from HTTP.

Applying messages is Python CPU work; in the HTTP process it competes for the GIL with the event loop that
acknowledges webhooks (measured in docs/decisions/0005-webhooks.md). The child builds its own container
from the same environment (prepare_environment has filled it) and serves every queue / Service Bus trigger
with LocalBus. It stops with its parent: on a clean stop it lets handlers finish; when the parent dies
(kill -9) it exits at once and leaves the messages it held to their lock expiry, like a crashed host.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from multiprocessing.synchronize import Event
from typing import Any

log = logging.getLogger(__name__)
_STOP_GRACE = 10.0


class _NoOrchestrations:
    """Bus triggers here have no durable engine (it lives in the HTTP process); none of ours needs one."""

    async def start(self, name: str, input: Any, instance_id: str) -> str:
        raise RuntimeError("no durable engine in the devhost bus process")

    async def status(self, instance_id: str) -> None:
        raise RuntimeError("no durable engine in the devhost bus process")

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        raise RuntimeError("no durable engine in the devhost bus process")

    async def terminate(self, instance_id: str, reason: str) -> None:
        raise RuntimeError("no durable engine in the devhost bus process")


class BusProcess:
    """Starts and stops the child that runs LocalBus; same start()/stop() as LocalBus."""

    def __init__(self, *, connection_string: str) -> None:
        self._connection_string = connection_string
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._process: Any = None

    def start(self) -> None:
        self._process = self._context.Process(
            target=_serve, args=(self._connection_string, os.getpid(), self._stop), name="devhost-bus")
        self._process.start()

    def stop(self, timeout: float = _STOP_GRACE) -> bool:
        if self._process is None:
            return True
        self._stop.set()
        self._process.join(timeout + 5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        return bool(self._process.exitcode == 0)


def _serve(connection_string: str, parent_pid: int, stop: Event) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us
    from devhost.bus import LocalBus
    from devhost.discovery import discover
    from devhost.host import durable_client_args
    from shared import runtime
    from shared.bootstrap import build_container
    from shared.config import get_settings
    from shared.logging import configure_logging

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    import function_app

    container = build_container(get_settings(), orchestrations=_NoOrchestrations())
    runtime.install(container)
    bus = LocalBus(discover(function_app.app), connection_string=connection_string, extra_args=durable_client_args)
    bus.start()
    while not stop.wait(0.5):
        if os.getppid() != parent_pid:  # the host died: so do we, without settling anything
            os._exit(1)
    bus.stop(_STOP_GRACE)
    container.db.close_sync()
