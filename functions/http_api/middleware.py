"""Pure ASGI middleware: request ids and access logs, security headers, and the body size cap."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.http_api.problems import PROBLEM_JSON, TYPE_BASE

log = logging.getLogger("http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# /docs loads Swagger UI from its CDN; everything else is JSON and needs no sources at all.
_DOCS_CSP = (b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             b"img-src 'self' data: https://fastapi.tiangolo.com; "
             b"connect-src 'self'; frame-ancestors 'none'")
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class RequestContextMiddleware:
    """A request id per request (taken from X-Request-ID when well formed), bound to every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        path: str = scope["path"]
        csp = _DOCS_CSP if path in ("/docs", "/redoc") else _API_CSP

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode()), (b"content-security-policy", csp),
                         *_COMMON_HEADERS]
                if path.startswith("/api/"):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info("request", extra={"method": scope["method"], "path": path, "status": status,
                                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)})


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413, by Content-Length up front or by counting a stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = HTTPException(413, f"the request body is larger than {self.max_bytes} bytes")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # Refused before the app runs: a handler that never reads its body must not act on it.
            await _send_problem(send, scope["path"], 413, "Payload too large", str(too_large.detail))
            return
        await self.app(scope, _counting_receive(receive, self.max_bytes, too_large), send)


async def _send_problem(send: Send, path: str, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": TYPE_BASE + title.lower().replace(" ", "-"), "title": title, "status": status,
                       "detail": detail, "instance": path}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _counting_receive(inner: Receive, max_bytes: int, exc: HTTPException) -> Receive:
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message: dict[str, Any] = dict(await inner())
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise exc
        return message

    return receive
