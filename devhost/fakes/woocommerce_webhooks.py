"""Webhooks of the WooCommerce fake: `GET/POST /wp-json/wc/v3/webhooks` and `DELETE …/webhooks/{id}`,
kept in `app.state.webhooks`.

Validation and answers follow core's webhooks controller: a topic must be `<resource>.<event>` of
core's resources (or `action.<hook>`), the delivery URL an http(s) URL, else 400 with the
`woocommerce_rest_shop_webhook_invalid_*` error; the secret is stored but never shown (edit context).
A delete needs `force=true` (webhooks cannot be trashed: 501 `woocommerce_rest_trash_not_supported`),
an unknown id is 404 `woocommerce_rest_shop_webhook_invalid_id`, and a deleted webhook is answered with
its last state. Ids are never reused. Nothing is ever delivered.
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

from devhost.fakes.woocommerce_api import WooApi, no_route, woo_error

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
    _last_id: int = 0  # post ids only grow: a deleted webhook's id is never handed out again

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        topic = str(body["topic"]).lower()
        resource, _, event = topic.partition(".")
        with self._lock:
            self._last_id += 1
            row = {"id": self._last_id, "name": str(body.get("name") or f"Webhook created on {now}"),
                   "status": body.get("status") or "active", "topic": topic, "resource": resource, "event": event,
                   "hooks": [f"woocommerce_{resource}_{event}"], "delivery_url": str(body["delivery_url"]),
                   "secret": str(body.get("secret") or secrets.token_urlsafe(37)),
                   "date_created": now, "date_created_gmt": now, "date_modified": now, "date_modified_gmt": now}
            self.rows.append(row)
        return row

    def listed(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.rows)

    def delete(self, webhook_id: int) -> dict[str, Any] | None:
        """The deleted row, or None when there is no webhook with that id."""
        with self._lock:
            for row in self.rows:
                if row["id"] == webhook_id:
                    self.rows.remove(row)
                    return row
        return None


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

    @app.delete(f"{api}/webhooks/{{webhook_id}}")
    async def delete_webhook(request: Request, webhook_id: str) -> Response:
        if not webhook_id.isdigit():  # core's route only matches `(?P<id>[\d]+)`
            return no_route()
        denied = woo.denied(request, listing=False)
        if denied is not None:
            if denied.status_code == 401 and b"woocommerce_rest_cannot_view" in denied.body:
                return woo_error("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this "
                                 "resource.", 401)
            return denied
        if request.query_params.get("force", "false").lower() not in ("true", "1"):
            return woo_error("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        row = hooks.delete(int(webhook_id))
        if row is None:
            return woo_error("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
        return JSONResponse(public(row))

    return hooks
