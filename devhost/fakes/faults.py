"""Configurable, reproducible failures in front of a fake API (5xx, resets, 429, throttle storms).

Faults are decided per API request by its 1-based number and by seeded draws, so a failing test
replays exactly. They sit in an ASGI middleware, outside auth, the way a load balancer or WAF
would fail in front of the real platform.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

ASGIApp = Callable[..., Any]


class FaultKind(StrEnum):
    SERVER_ERROR = "server_error"
    RESET = "reset"
    TOO_MANY_REQUESTS = "too_many_requests"
    DRAIN_BUCKET = "drain_bucket"


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which API requests fail. `*_on` are 1-based request numbers; `*_rate` are seeded chances."""

    server_error_on: Collection[int] = ()
    server_error_rate: float = 0.0
    server_error_status: int = 503
    reset_on: Collection[int] = ()
    reset_rate: float = 0.0
    too_many_on: Collection[int] = ()
    too_many_rate: float = 0.0
    retry_after_seconds: int = 2
    # Shopify only: empty the cost bucket before these requests (a THROTTLED storm follows
    # until it refills at restoreRate), and make these 1-based bulk operations FAIL.
    drain_bucket_on: Collection[int] = ()
    fail_bulk_operations: Collection[int] = ()
    seed: int = 0


@dataclass(slots=True)
class ApiStats:
    """What a fake saw; tests and benchmarks read it from `app.state.stats`."""

    requests: int = 0  # API requests received, faulted ones included
    auth_failures: int = 0
    faults: Counter[str] = field(default_factory=Counter)


class FaultInjector:
    def __init__(self, config: FaultConfig, stats: ApiStats) -> None:
        self._config = config
        self._stats = stats
        self._rng = random.Random(config.seed)

    def next_request(self) -> FaultKind | None:
        """Count one request and decide its fault, if any."""
        cfg = self._config
        self._stats.requests += 1
        number = self._stats.requests
        # Three draws every time, so changing one rate never reshuffles the others.
        reset, error, busy = self._rng.random(), self._rng.random(), self._rng.random()
        kind: FaultKind | None = None
        if number in cfg.reset_on or reset < cfg.reset_rate:
            kind = FaultKind.RESET
        elif number in cfg.server_error_on or error < cfg.server_error_rate:
            kind = FaultKind.SERVER_ERROR
        elif number in cfg.too_many_on or busy < cfg.too_many_rate:
            kind = FaultKind.TOO_MANY_REQUESTS
        elif number in cfg.drain_bucket_on:
            kind = FaultKind.DRAIN_BUCKET
        if kind is not None:
            self._stats.faults[kind] += 1
        return kind


@dataclass(frozen=True, slots=True)
class FaultResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class FaultMiddleware:
    """Answers faulted requests itself; everything else passes through untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        applies_to: Callable[[str], bool],
        render: Callable[[FaultKind], FaultResponse],
        on_drain: Callable[[], None] | None = None,
    ) -> None:
        self._app, self._injector, self._applies_to = app, injector, applies_to
        self._render, self._on_drain = render, on_drain

    async def __call__(self, scope: dict[str, Any], receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "http" or not self._applies_to(scope["path"]):
            await self._app(scope, receive, send)
            return
        kind = self._injector.next_request()
        if kind is None or kind is FaultKind.DRAIN_BUCKET:
            if kind is FaultKind.DRAIN_BUCKET and self._on_drain is not None:
                self._on_drain()
            await self._app(scope, receive, send)
            return
        if kind is FaultKind.RESET:
            await _reset(send)
            return
        response = self._render(kind)
        headers = [(b"content-type", response.content_type.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in response.headers]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


async def _reset(send: ASGIApp) -> None:
    """Drop the connection mid-response.

    Headers promise a body that never arrives, then the app raises: uvicorn closes the socket
    (the client sees a truncated response), and httpx's ASGITransport re-raises the exception,
    so raising the error a client gets from a dropped socket keeps both paths identical.
    """
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"data":', "more_body": True})
    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
