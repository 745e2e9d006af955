"""The Shopify Admin GraphQL client behind the `BulkStoreClient` port (blocking; one per store and worker).

Incremental reads page `updated_at:>='…'` sorted by UPDATED_AT with the cursor Shopify hands back;
backfills run bulk operations and stream their JSONL. Pacing follows the cost-based throttle
(pacing.py); retries and error mapping live in http.py; GraphQL text in queries.py; JSON → records in
mapping.py; the JSONL pairing in bulk.py.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import httpx

from shared.stores.platform import (
    BulkItem,
    BulkState,
    BulkStatus,
    FetchedPage,
    PlatformError,
    PlatformUnavailable,
    ThrottleReport,
    WebhookSubscription,
)
from shared.stores.records import Entity, OrderRecord, ProductRecord, Record, RefundRecord, ShopInfo
from shared.stores.shopify import mapping, queries
from shared.stores.shopify.bulk import bulk_items
from shared.stores.shopify.http import QueryCostTooHigh, RetryPolicy, ShopifyHttp
from shared.stores.shopify.mapping import Node
from shared.stores.shopify.pacing import MAX_PAGE_SIZE, MAX_QUERY_COST, PacingState, shared_pacing
from shared.stores.urls import is_loopback

DEFAULT_API_VERSION = "2026-10"
_REFUND_BATCH = 25  # refunded orders read per query while streaming a bulk export (cost-sized below this)
_BULK_STATES: dict[str, BulkState] = {
    "CREATED": "running", "RUNNING": "running", "CANCELING": "running",
    "COMPLETED": "completed", "FAILED": "failed", "CANCELED": "failed", "EXPIRED": "failed",
}
# WebhookSubscriptionTopic names of the topics shared/webhooks/apply.py applies (GDPR topics are set in the
# app's configuration, not by the API).
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "ORDERS_DELETE",
                  "PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE",
                  "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "REFUNDS_CREATE", "APP_UNINSTALLED")
_BUSY_CODES = {"OPERATION_IN_PROGRESS", "LIMIT_REACHED"}
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class ShopifyClient:
    """One connected Shopify store. Not thread-safe: one per worker, closed when done."""

    def __init__(
        self,
        *,
        shop_domain: str,
        access_token: str,
        api_version: str = DEFAULT_API_VERSION,
        api_base_url: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        page_cost_share: float = 0.2,
        customer_pii: bool = False,
        bulk_busy_wait: float = 15.0,
        bulk_busy_attempts: int = 40,
        pacing: PacingState | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        endpoint = f"{api_origin(shop_domain, api_base_url)}/admin/api/{api_version}/graphql.json"
        self.throttle = ThrottleReport()
        self._pacing = pacing or shared_pacing(endpoint, access_token)
        self._http = ShopifyHttp(endpoint=endpoint, access_token=access_token, timeout=timeout,
                                 policy=retry or RetryPolicy(), throttle=self.throttle, pacing=self._pacing,
                                 page_cost_share=page_cost_share,
                                 sleep=sleep, clock=clock, jitter=jitter, transport=transport)
        self._share, self._pii = page_cost_share, customer_pii
        self._busy_wait, self._busy_attempts = bulk_busy_wait, bulk_busy_attempts

    def __repr__(self) -> str:
        return f"ShopifyClient({self._http!r})"

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def verify(self) -> ShopInfo:
        shop = self._http.execute(queries.SHOP, {}, cost_key="shop")["shop"]
        return ShopInfo(name=shop["name"], currency=shop["currencyCode"], timezone=shop["ianaTimezone"],
                        domain=shop.get("myshopifyDomain"))

    # -- webhooks -------------------------------------------------------------------------------------------

    def register_webhooks(self, callback_base: str, topics: list[str],
                          secret: str | None) -> list[WebhookSubscription]:
        """`webhookSubscriptionCreate` (JSON format) for each topic not yet delivering to `callback_base`;
        the others keep their subscription, whose id is adopted.

        `secret` is ignored: Shopify signs every delivery with the app's secret."""
        existing = self._webhook_subscriptions(callback_base)
        result: list[WebhookSubscription] = []
        raced: list[str] = []
        for topic in topics:
            if topic in existing:
                result.append(WebhookSubscription(topic, existing[topic], created=False))
                continue
            data = self._http.execute(queries.WEBHOOK_CREATE, {
                "topic": topic, "webhookSubscription": {"callbackUrl": callback_base, "format": "JSON"}},
                cost_key="webhooks.create")
            payload: Node = data.get("webhookSubscriptionCreate") or {}
            errors = payload.get("userErrors") or []
            if any("already been taken" in str(e.get("message", "")) for e in errors):
                raced.append(topic)  # created meanwhile by another connect of the same shop: adopt it below
                continue
            subscription = payload.get("webhookSubscription")
            if errors or not subscription:
                messages = "; ".join(str(e.get("message"))[:200] for e in errors) or "no subscription returned"
                raise PlatformError(f"Shopify refused the {topic} webhook: {messages}")
            result.append(WebhookSubscription(topic, str(subscription["id"]), created=True))
        if raced:
            now = self._webhook_subscriptions(callback_base)
            result += [WebhookSubscription(t, now[t], created=False) for t in raced if t in now]
        return result

    def delete_webhook(self, subscription_id: str) -> bool:
        """`webhookSubscriptionDelete`; False when Shopify says the subscription does not exist."""
        data = self._http.execute(queries.WEBHOOK_DELETE, {"id": subscription_id}, cost_key="webhooks.delete")
        payload: Node = data.get("webhookSubscriptionDelete") or {}
        errors = payload.get("userErrors") or []
        if payload.get("deletedWebhookSubscriptionId") and not errors:
            return True
        if any("does not exist" in str(e.get("message", "")) for e in errors):
            return False
        messages = "; ".join(str(e.get("message"))[:200] for e in errors) or "nothing deleted"
        raise PlatformError(f"Shopify refused to delete webhook {subscription_id}: {messages}")

    def _webhook_subscriptions(self, callback_base: str) -> dict[str, str]:
        """Topic → id of the subscriptions delivering to `callback_base`."""
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            connection = self._http.execute(queries.WEBHOOK_SUBSCRIPTIONS, {"after": cursor},
                                            cost_key="webhooks")["webhookSubscriptions"]
            found.update((str(n["topic"]), str(n["id"])) for n in mapping.nodes(connection)
                         if n.get("callbackUrl") == callback_base)
            if not mapping.has_next(connection):
                return found
            cursor = connection["pageInfo"]["endCursor"]

    # -- paging ---------------------------------------------------------------------------------------------

    def fetch_page(self, entity: Entity, *, updated_since: datetime | None, cursor: str | None,
                   page_size: int) -> FetchedPage:
        """One page of `entity`, oldest update first; `updated_since` is inclusive, to the second."""
        connection = self._page(entity, queries.updated_since_filter(updated_since), cursor, page_size)
        records: list[Record] = [self._record(entity, node) for node in mapping.nodes(connection)]
        stamps = [r.updated_at for r in records if r.updated_at is not None]
        has_next = mapping.has_next(connection)
        return FetchedPage(records, connection["pageInfo"]["endCursor"] if has_next else None,
                           max(stamps, default=None))

    def _page(self, entity: Entity, search: str | None, cursor: str | None, page_size: int) -> Node:
        query = queries.page_query(entity, pii=self._pii)
        wanted = max(1, min(MAX_PAGE_SIZE, page_size))
        while True:
            first = self._pacing.page_size(entity, wanted, self._share)
            try:
                data = self._http.execute(query, {"first": first, "after": cursor, "query": search},
                                          cost_key=entity, first=first)
                connection: Node = data[entity]
                return connection
            except QueryCostTooHigh as exc:
                if first == 1:
                    raise
                # Learn the limit (the error states it; else it is below this cost) and price this size as
                # too dear, so the next try is smaller.
                limit = exc.limit or (exc.cost - 1 if exc.cost else None)
                if limit:
                    self._pacing.lower_query_limit(limit)
                self._pacing.record(entity, first, exc.cost or 2.0 * MAX_QUERY_COST)

    def _record(self, entity: Entity, node: Node) -> Record:
        if entity == "products":
            return self._product(node)
        if entity == "customers":
            return mapping.customer_record(node)
        return self._order(node)

    def _product(self, node: Node) -> ProductRecord:
        variants = self._remaining(queries.product_variants_query(), node["id"], "product", "variants",
                                   node["variants"])
        return mapping.product_record(node, [mapping.variant_record(v) for v in variants])

    def _order(self, node: Node) -> OrderRecord:
        lines = self._remaining(queries.order_lines_query(), node["id"], "order", "lineItems", node["lineItems"])
        if any(_refund_overflows(refund) for refund in node.get("refunds") or ()):
            node = {**node, "refunds": self._full_refunds(node["id"])["refunds"]}
        return mapping.order_record(node, [mapping.line_record(n) for n in lines], mapping.refunds_of(node))

    def _remaining(self, query: str, owner_id: str, root: str, field: str, connection: Node) -> list[Node]:
        """A nested connection's nodes: the first page came with its owner, the rest one full page a call."""
        found = mapping.nodes(connection)
        while mapping.has_next(connection):
            data = self._http.execute(query, {"id": owner_id, "after": connection["pageInfo"]["endCursor"]},
                                      cost_key=f"{root}.{field}")
            owner = data.get(root)
            if owner is None:  # deleted while we read it: what we have is all there will be
                break
            connection = owner[field]
            found.extend(mapping.nodes(connection))
        return found

    def _full_refunds(self, order_id: str) -> Node:
        data = self._http.execute(queries.order_refunds_query(1, full=True), {"id0": order_id},
                                  cost_key="refunds.full")
        order: Node | None = data.get("o0")
        if order is None:
            return {"id": order_id, "refunds": []}
        if any(_refund_overflows(refund) for refund in order.get("refunds") or ()):
            raise PlatformError(f"{order_id} has a refund with more than {queries.FULL_PAGE} lines")
        return order

    def _refunds_for(self, order_ids: Sequence[str]) -> dict[str, tuple[RefundRecord, ...]]:
        """Refunds of several orders, a cost-sized batch of aliased `order(id:)` reads per call."""
        found: dict[str, tuple[RefundRecord, ...]] = {}
        start = 0
        while start < len(order_ids):
            count = self._pacing.page_size("refunds", len(order_ids) - start, self._share)
            batch = order_ids[start:start + count]
            data = self._http.execute(queries.order_refunds_query(len(batch)),
                                      {f"id{i}": order_id for i, order_id in enumerate(batch)},
                                      cost_key="refunds", first=len(batch))
            for i, order_id in enumerate(batch):
                order: Node | None = data.get(f"o{i}")
                if order is None:
                    continue  # deleted since the export ran
                if any(_refund_overflows(refund) for refund in order.get("refunds") or ()):
                    order = self._full_refunds(order_id)
                found[order_id] = tuple(mapping.refunds_of(order))
            start += len(batch)
        return found

    # -- bulk operations ------------------------------------------------------------------------------------

    def start_bulk(self, entity: Entity, *, updated_since: datetime | None) -> str:
        """Start an export of `entity`; while the shop's bulk slots are taken, wait and try again."""
        text = queries.bulk_query(entity, queries.updated_since_filter(updated_since), pii=self._pii)
        for _ in range(self._busy_attempts):
            payload = self._http.execute(queries.BULK_RUN, {"query": text}, cost_key="bulk.run")
            result: Node = payload["bulkOperationRunQuery"] or {}
            errors = result.get("userErrors") or []
            if not errors and result.get("bulkOperation"):
                operation_id: str = result["bulkOperation"]["id"]
                return operation_id
            if not any(_is_busy(error) for error in errors):
                messages = "; ".join(str(e.get("message"))[:200] for e in errors) or "no operation returned"
                raise PlatformError(f"Shopify refused the bulk query: {messages}")
            self._http.wait_for_platform(self._busy_wait)
        raise PlatformUnavailable("other bulk operations kept the shop busy")

    def bulk_status(self, operation_id: str) -> BulkStatus:
        operation = self._http.execute(queries.BULK_STATUS, {"id": operation_id}, cost_key="bulk.status")
        op: Node | None = operation.get("bulkOperation")
        if op is None:
            raise PlatformError(f"no bulk operation {operation_id}")
        status = str(op["status"])
        state = _BULK_STATES.get(status)
        if state is None:
            raise PlatformError(f"unknown bulk operation status {status}")
        error = None if state != "failed" else f"{status}: {op.get('errorCode') or 'no error code'}"
        extra = {key: str(op[name]) for key, name in (("status", "status"), ("error_code", "errorCode"),
                 ("partial_data_url", "partialDataUrl"), ("file_size", "fileSize"),
                 ("completed_at", "completedAt")) if op.get(name) is not None}
        return BulkStatus(state=state, url=op.get("url"), object_count=int(op.get("objectCount") or 0),
                          root_object_count=int(op.get("rootObjectCount") or 0), error=error, extra=extra)

    def iter_bulk(self, url: str, entity: Entity) -> Iterator[BulkItem]:
        """Stream an export's items (orders come with their refunds, read while streaming)."""
        lines = self._http.stream_lines(url)
        if entity != "orders":
            yield from bulk_items(lines, entity)
            return
        yield from bulk_items(lines, entity, fetch_refunds=self._refunds_for,
                              batch_size=lambda: self._pacing.page_size("refunds", _REFUND_BATCH, self._share))


def _refund_overflows(refund: Node) -> bool:
    return mapping.has_next(refund.get("refundLineItems")) or mapping.has_next(refund.get("refundShippingLines"))


def _is_busy(error: Node) -> bool:
    return error.get("code") in _BUSY_CODES or "already in progress" in str(error.get("message", ""))


def api_origin(shop_domain: str, api_base_url: str | None) -> str:
    """`https://{shop}.myshopify.com`, or the override; plain http only to a loopback host (tests)."""
    if api_base_url:
        url = httpx.URL(api_base_url)
        if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.host)):
            raise ValueError(f"Shopify needs https (got {url.scheme}://{url.host}); http only to loopback")
        return str(url.copy_with(query=None, fragment=None)).rstrip("/")
    host = shop_domain.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if "." not in host:
        host += ".myshopify.com"
    if not _HOST.match(host):
        raise ValueError(f"not a shop domain: {shop_domain!r}")
    return f"https://{host}"

