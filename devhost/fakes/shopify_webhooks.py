"""Webhook subscriptions of the Shopify fake: `webhookSubscriptions`, `webhookSubscriptionCreate` and
`webhookSubscriptionDelete`.

Kept in `app.state.webhooks` (one list per fake shop), checked as Shopify does: an http(s) address is
required, plain http is refused, and one address per topic ("Address for this topic has already been
taken"). Deleting an id the shop does not have (never created, already deleted, another kind's GID) is a
userError on `id` ("Webhook subscription does not exist"), a string that is no GID a top-level error.
Ids are never reused. Nothing is ever delivered: the fake only records what was subscribed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLError

from devhost.fakes.shopify_ids import iso
from devhost.fakes.shopify_order_resolvers import Resolver

SDL = """
enum WebhookSubscriptionTopic { APP_UNINSTALLED CUSTOMERS_CREATE CUSTOMERS_DELETE CUSTOMERS_UPDATE ORDERS_CANCELLED
  ORDERS_CREATE ORDERS_DELETE ORDERS_EDITED ORDERS_FULFILLED ORDERS_PAID ORDERS_PARTIALLY_FULFILLED ORDERS_UPDATED
  PRODUCTS_CREATE PRODUCTS_DELETE PRODUCTS_UPDATE REFUNDS_CREATE SHOP_UPDATE }
enum WebhookSubscriptionFormat { JSON XML }
type WebhookSubscription { id: ID! legacyResourceId: UnsignedInt64! topic: WebhookSubscriptionTopic!
  callbackUrl: URL! uri: String! format: WebhookSubscriptionFormat! createdAt: DateTime! updatedAt: DateTime! }
input WebhookSubscriptionInput { callbackUrl: URL uri: String format: WebhookSubscriptionFormat
  includeFields: [String!] metafieldNamespaces: [String!] }
type UserError { field: [String!] message: String! }
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }
"""
QUERY_FIELDS = ("webhookSubscriptions(first: Int, after: String, last: Int, before: String, reverse: Boolean = false, "
                "topics: [WebhookSubscriptionTopic!], callbackUrl: URL): WebhookSubscriptionConnection!")
MUTATION_FIELDS = ("webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!, "
                   "webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload\n"
                   "  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload")
_GID = "gid://shopify/WebhookSubscription/"


@dataclass(frozen=True, slots=True)
class Subscription:
    number: int
    topic: str
    address: str
    format: str
    created_at: datetime

    def node(self) -> dict[str, Any]:
        return {"id": f"gid://shopify/WebhookSubscription/{self.number}", "legacyResourceId": str(self.number),
                "topic": self.topic, "callbackUrl": self.address, "uri": self.address, "format": self.format,
                "createdAt": iso(self.created_at), "updatedAt": iso(self.created_at)}


@dataclass(slots=True)
class WebhookRegistry:
    """The shop's subscriptions, in creation order."""

    subscriptions: list[Subscription] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_number: int = 0  # ids only grow: a deleted subscription's id is never handed out again

    def create(self, topic: str, spec: dict[str, Any]) -> dict[str, Any]:
        address = str(spec.get("uri") or spec.get("callbackUrl") or "")
        parts = urlsplit(address)
        problem = None
        if not address:
            problem = "Address can't be blank"
        elif parts.scheme == "http":
            problem = "Address protocol http:// is not supported"
        elif parts.scheme != "https" or not parts.hostname:
            problem = "Address is invalid"
        with self._lock:
            if problem is None and any(s.topic == topic and s.address == address for s in self.subscriptions):
                problem = "Address for this topic has already been taken"
            if problem is not None:
                return {"webhookSubscription": None,
                        "userErrors": [{"field": ["webhookSubscription", "callbackUrl"], "message": problem}]}
            self._last_number += 1
            subscription = Subscription(self._last_number, topic, address, str(spec.get("format") or "JSON"),
                                        datetime.now(UTC))
            self.subscriptions.append(subscription)
        return {"webhookSubscription": subscription.node(), "userErrors": []}

    def delete(self, subscription_id: str) -> dict[str, Any]:
        if not subscription_id.startswith("gid://shopify/") or subscription_id.count("/") != 4:
            raise GraphQLError(f"Invalid global id '{subscription_id}'",
                               extensions={"code": "argumentLiteralsIncompatible"})
        number = subscription_id.removeprefix(_GID)
        with self._lock:
            found = [s for s in self.subscriptions if number.isdigit() and s.number == int(number)]
            if not found:
                return {"deletedWebhookSubscriptionId": None,
                        "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
            self.subscriptions.remove(found[0])
        return {"deletedWebhookSubscriptionId": subscription_id, "userErrors": []}

    def page(self, first: int | None = None, after: str | None = None, topics: list[str] | None = None,
             callbackUrl: str | None = None, **_: Any) -> dict[str, Any]:
        with self._lock:
            chosen = [s for s in self.subscriptions if (not topics or s.topic in topics)
                      and (callbackUrl is None or s.address == callbackUrl)]
        start = int(after) if after and after.isdigit() else 0
        size = first if first is not None else len(chosen)
        window = chosen[start:start + size]
        edges = [{"cursor": str(start + i + 1), "node": s.node()} for i, s in enumerate(window)]
        return {"nodes": [e["node"] for e in edges], "edges": edges,
                "pageInfo": {"hasNextPage": start + size < len(chosen), "hasPreviousPage": start > 0,
                             "startCursor": edges[0]["cursor"] if edges else None,
                             "endCursor": edges[-1]["cursor"] if edges else None}}


def webhook_query_fields(registry: WebhookRegistry) -> dict[str, Resolver]:
    return {"webhookSubscriptions": lambda _, ctx, **args: registry.page(**args)}


def webhook_mutation_fields(registry: WebhookRegistry) -> dict[str, Resolver]:
    return {"webhookSubscriptionCreate":
            lambda _, ctx, topic, webhookSubscription: registry.create(topic, webhookSubscription),
            "webhookSubscriptionDelete": lambda _, ctx, id: registry.delete(id)}
