"""What the trigger runners share: app-setting expressions, calling user code, stoppable worker threads."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from devhost.discovery import DiscoveredFunction

log = logging.getLogger(__name__)

# Supplies the non-trigger arguments of a function (a durable client, output bindings ...).
ExtraArgs = Callable[[DiscoveredFunction], Mapping[str, Any]]

_SETTING = re.compile(r"%([^%]+)%")


class SettingNotFoundError(KeyError):
    """A binding names an app setting (%NAME%) that is not set."""


def resolve_settings(value: str, settings: Mapping[str, str] | None = None) -> str:
    """Replace %NAME% by the app setting NAME, as the Functions host does in binding properties."""
    source = os.environ if settings is None else settings

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in source:
            raise SettingNotFoundError(f"app setting {name!r} (used in {value!r}) is not set")
        return source[name]

    return _SETTING.sub(lookup, value)


def call_function(fn: DiscoveredFunction, trigger_value: Any, extra_args: ExtraArgs | None = None) -> Any:
    """Call the user's function with its trigger argument; an async def runs to completion here."""
    kwargs = dict(extra_args(fn)) if extra_args else {}
    kwargs[fn.trigger["name"]] = trigger_value
    result = fn.callable(**kwargs)
    if inspect.isawaitable(result):
        # Runner threads have no event loop of their own, so each async call gets a fresh one.
        return asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class Backoff:
    """Idle polling delay: doubles while there is nothing to do, back to the minimum on work."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.current = minimum

    def reset(self) -> None:
        self.current = self.minimum

    def next_delay(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay


class WorkerThreads:
    """Daemon threads that share one stop signal; stop() waits for them up to a timeout."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self, target: Callable[[], None], count: int = 1, label: str = "") -> None:
        self.stopping.clear()
        for i in range(count):
            thread = threading.Thread(
                target=self._guarded, args=(target,), name=f"{self.name}-{label or i}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float) -> bool:
        """Signal and join; False when some thread is still busy (e.g. inside a handler) at the timeout."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        stuck = [t.name for t in self._threads if t.is_alive()]
        self._threads = [t for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("%s: threads still busy after %.1fs: %s", self.name, timeout, ", ".join(stuck))
        return not stuck

    def sleep(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True when stopping."""
        return self.stopping.wait(seconds)

    def _guarded(self, target: Callable[[], None]) -> None:
        try:
            target()
        except Exception:
            # A dead loop thread would silently stop a trigger; say so loudly instead.
            log.exception("%s: worker thread crashed", self.name)
