"""Webhooks of the WooCommerce fake: `GET/POST /wp-json/wc/v3/webhooks`, kept in `app.state.webhooks`.

Validation and answers follow core's webhooks controller: a topic must be `<resource>.<event>` of
core's resources (or `action.<hook>`), the delivery URL an http(s) URL, else 400 with the
`woocommerce_rest_shop_webhook_invalid_*` error; the secret is stored but never shown (edit context).
Nothing is ever delivered.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from devhost.fakes.woocommerce_api import WooApi, woo_error

_RESOURCES = ("coupon", "customer", "order", "product")
_EVENTS = ("created", "updated", "deleted", "restored")
_STATUSES = ("active", "paused", "disabled")


def valid_topic(topic: str) -> bool:
    resource, _, event = topic.partition(".")
    return (resource in _RESOURCES and event in _EVENTS) or (resource == "action" and bool(event))


@dataclass(slots=True)
class WooWebhooks:
    """The store's webhooks as core stores them (secret included), in creation order."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        topic = str(body["topic"]).lower()
        resource, _, event = topic.partition(".")
        with self._lock:
            row = {"id": len(self.rows) + 1, "name": str(body.get("name") or f"Webhook created on {now}"),
                   "status": body.get("status") or "active", "topic": topic, "resource": resource, "event": event,
                   "hooks": [f"woocommerce_{resource}_{event}"], "delivery_url": str(body["delivery_url"]),
                   "secret": str(body.get("secret") or secrets.token_urlsafe(37)),
                   "date_created": now, "date_created_gmt": now, "date_modified": now, "date_modified_gmt": now}
            self.rows.append(row)
        return row

    def listed(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.rows)


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "secret"}


def add_webhook_routes(app: FastAPI, woo: WooApi, api: str) -> WooWebhooks:
    hooks = WooWebhooks()

    @app.get(f"{api}/webhooks")
    async def list_webhooks(request: Request) -> Response:
        denied = woo.denied(request, listing=True)
        if denied is not None:
            return denied
        query = request.query_params
        per_page = int(query.get("per_page", "10")) if query.get("per_page", "10").isdigit() else 0
        page = int(query.get("page", "1")) if query.get("page", "1").isdigit() else 0
        if not 1 <= per_page <= 100 or page < 1:
            return woo_error("rest_invalid_param", "Invalid parameter(s): per_page, page", 400)
        status = query.get("status", "all")
        rows = [r for r in hooks.listed() if status == "all" or r["status"] == status]
        start = (page - 1) * per_page
        body = [public(r) for r in rows[start:start + per_page]]
        headers = {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(math.ceil(len(rows) / per_page))}
        return JSONResponse(body, headers=headers)

    @app.post(f"{api}/webhooks")
    async def create_webhook(request: Request) -> Response:
        denied = woo.denied(request, listing=False)
        if denied is not None:
            return denied
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except ValueError:
            return woo_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        if not isinstance(body, dict):
            body = {}
        if not body.get("topic") or not valid_topic(str(body["topic"]).lower()):
            return woo_error("woocommerce_rest_shop_webhook_invalid_topic",
                             "Webhook topic is required and must be valid.", 400)
        url = urlsplit(str(body.get("delivery_url") or ""))
        if url.scheme not in ("http", "https") or not url.hostname:
            return woo_error("woocommerce_rest_shop_webhook_invalid_delivery_url",
                             "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400)
        if body.get("status", "active") not in _STATUSES:
            return woo_error("rest_invalid_param", "Invalid parameter(s): status", 400)
        return JSONResponse(public(hooks.create(body)), status_code=201)

    return hooks
