"""The WooCommerce REST v3 client behind the `StoreClient` port (blocking; one per store and worker).

Orders and products are read oldest modification first, with a keyset cursor rather than bare page
numbers. Page numbers shift when rows change mid-scan: an already-read order that is modified again
jumps to the end of a `modified asc` listing, every later row moves up one place, and the first row
of the next page slides onto the page just read: skipped, while the watermark moves past it. So each
cursor restarts the listing at the last modified second it saw (`modified_after` = that second - 1 s,
as Woo's filter is a strict "after") and drops the rows of that second it already returned, by id
(no assumption on how the server orders ties). Rows modified meanwhile come again later (upserts are
idempotent), no row is skipped, and no request pays for a deep OFFSET. Only when a whole page shares
one second does the cursor turn to the next page number of that same window.

Customers have no `modified_after` (reference §4): every run is a full scan by id. New customers
get higher ids and land at the end, so only a deletion during the scan can shift a page, and the
next run's full scan picks up what it skipped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.stores.platform import FetchedPage, PlatformError, ThrottleReport, WebhookSubscription
from shared.stores.records import Entity, Record, ShopInfo
from shared.stores.woocommerce import mapping
from shared.stores.woocommerce.http import Params, Reply, RetryPolicy, WooHttp, WooNotFound, api_root

MAX_PAGE_SIZE = 100  # core rejects per_page above 100 (reference §3)
_SECOND = timedelta(seconds=1)
# A page can come back all already-seen rows (a cursor window holding only its own boundary second);
# hop on a few times rather than hand the caller an empty page, but never loop unbounded.
_MAX_HOPS = 5
# Topics shared/webhooks/apply.py applies; registered when a store connects.
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted",
                  "product.created", "product.updated", "product.deleted")
_ORDER_STATUSES = "any"  # every status but trash; analytics applies SPEC's exclusions to `status`


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where a listing resumes: `page` of the window `modified_after=after`, minus ids already returned."""

    page: int = 1
    after: datetime | None = None
    seen: frozenset[int] = field(default_factory=frozenset)  # ids returned whose modified second is after + 1 s

    def encode(self) -> str:
        if self.after is None and not self.seen:
            return str(self.page)
        ids = ",".join(str(i) for i in sorted(self.seen))
        return f"{self.page}|{self.after.strftime('%Y-%m-%dT%H:%M:%S') if self.after else ''}|{ids}"

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        try:
            page, _, rest = text.partition("|")
            after, _, ids = rest.partition("|")
            if int(page) < 1:
                raise ValueError("pages start at 1")
            return cls(
                page=int(page),
                after=datetime.fromisoformat(after).replace(tzinfo=UTC) if after else None,
                seen=frozenset(int(i) for i in ids.split(",") if i),
            )
        except ValueError as exc:
            raise ValueError(f"not a WooCommerce cursor: {text!r}") from exc

    def already_returned(self, row: Any) -> bool:
        return self.after is not None and row["id"] in self.seen and mapping.modified_at(row) == self.after + _SECOND


class WooCommerceClient:
    """One connected WooCommerce store. Not thread-safe: one per worker, closed when done."""

    def __init__(
        self,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        api_base_url: str | None = None,
        query_string_auth: bool = False,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.throttle = ThrottleReport()
        self._base_url = base_url
        self._root = api_root(base_url, api_base_url)
        self._http = WooHttp(
            root=self._root, consumer_key=consumer_key, consumer_secret=consumer_secret,
            query_string_auth=query_string_auth, timeout=timeout, policy=retry or RetryPolicy(),
            throttle=self.throttle, sleep=sleep, clock=clock, jitter=jitter, transport=transport,
        )

    def __enter__(self) -> WooCommerceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def verify(self) -> ShopInfo:
        """Two GETs: the keys are proven on an authenticated endpoint first (bad keys: nothing else is
        called), then name and time zone come from the public WordPress index, as WooCommerce's own
        endpoints carry neither (system_status's zone is PHP's, reference §5)."""
        currency = self._http.get("data/currencies/current").data
        index = self._http.get(str(self._root.copy_with(path=self._root.path.removesuffix("wc/v3/")))).data
        if not isinstance(currency, dict) or not isinstance(index, dict):
            raise PlatformError("WooCommerce answered the store settings with an unexpected shape")
        return mapping.shop_info(index, currency, httpx.URL(self._base_url).host or None)

    def fetch_page(self, entity: Entity, *, updated_since: datetime | None, cursor: str | None,
                   page_size: int) -> FetchedPage:
        """One page of `entity`; `updated_since` is inclusive (to the second) and ignored for customers."""
        per_page = max(1, min(MAX_PAGE_SIZE, page_size))
        if entity == "customers":
            return self._customers(_Cursor.decode(cursor) if cursor else _Cursor(), per_page)
        if entity not in ("products", "orders"):
            raise ValueError(f"unknown entity {entity!r}")
        start = _Cursor.decode(cursor) if cursor else _Cursor(after=_window_start(updated_since))
        rows, next_cursor = self._modified_page(entity, start, per_page)
        if entity == "products":
            records: list[Record] = [mapping.product_record(row, self._variations(row)) for row in rows]
        else:
            records = [mapping.order_record(row, self._refunds(row)) for row in rows]
        return _page(records, next_cursor)

    # -- webhooks -------------------------------------------------------------------------------------------

    def register_webhooks(self, callback_base: str, topics: list[str],
                          secret: str | None) -> list[WebhookSubscription]:
        """`POST webhooks` for each topic without an active webhook delivering to `callback_base` yet; an
        active one is adopted.

        The store signs deliveries with `secret` (HMAC-SHA256, base64 in X-WC-Webhook-Signature)."""
        existing = {str(row.get("topic")): str(row["id"]) for row in self._walk("webhooks", {})
                    if row.get("status") == "active" and row.get("delivery_url") == callback_base}
        result: list[WebhookSubscription] = []
        for topic in topics:
            if topic in existing:
                result.append(WebhookSubscription(topic, existing[topic], created=False))
                continue
            body: dict[str, Any] = {"name": f"Retail AI Advisor {topic}", "topic": topic,
                                    "delivery_url": callback_base, "status": "active"}
            if secret is not None:
                body["secret"] = secret
            reply = self._http.post("webhooks", body)
            if not isinstance(reply.data, dict) or "id" not in reply.data:
                raise PlatformError(f"WooCommerce webhooks: no id in the answer to creating {topic}")
            result.append(WebhookSubscription(topic, str(reply.data["id"]), created=True))
        return result

    def delete_webhook(self, subscription_id: str) -> bool:
        """`DELETE webhooks/{id}?force=true` (webhooks cannot be trashed); False when the id is unknown."""
        if not subscription_id.isdigit():
            raise PlatformError(f"not a WooCommerce webhook id: {subscription_id!r}")
        try:
            self._http.delete(f"webhooks/{subscription_id}", {"force": "true"})
        except WooNotFound as exc:
            if exc.code == "woocommerce_rest_shop_webhook_invalid_id":
                return False
            raise  # rest_no_route: not the API we expect (a plugin or WAF in the way)
        return True

    # -- listings -------------------------------------------------------------------------------------------

    def _modified_page(self, resource: str, cursor: _Cursor, per_page: int) -> tuple[list[Any], _Cursor | None]:
        """Rows not yet returned from `cursor` on, and the cursor after them (None at the end)."""
        for _ in range(_MAX_HOPS):
            params: dict[str, str | int] = {"orderby": "modified", "order": "asc", "per_page": per_page,
                                            "page": cursor.page}
            if resource == "orders":
                params["status"] = _ORDER_STATUSES
            if cursor.after is not None:
                params |= {"modified_after": _iso(cursor.after), "dates_are_gmt": "true"}
            reply = self._http.get(resource, params)
            rows = _rows(reply, resource)
            fresh = [row for row in rows if not cursor.already_returned(row)]
            more = bool(rows) and _has_more(reply, cursor.page, per_page, len(rows))
            after = _advance(cursor, rows) if more else None
            if fresh or after is None:
                return fresh, after
            cursor = after
        return [], cursor

    def _customers(self, cursor: _Cursor, per_page: int) -> FetchedPage:
        params: Params = {"role": "all", "orderby": "id", "order": "asc", "per_page": per_page, "page": cursor.page}
        reply = self._http.get("customers", params)
        rows = _rows(reply, "customers")
        more = _has_more(reply, cursor.page, per_page, len(rows))
        return _page([mapping.customer_record(row) for row in rows], _Cursor(page=cursor.page + 1) if more else None)

    def _variations(self, product: Any) -> list[Any]:
        """A variable product's variations (paged separately from products, reference §5)."""
        if product.get("type") != "variable" or not product.get("variations"):
            return []
        return list(self._walk(f"products/{int(product['id'])}/variations", {}))

    def _refunds(self, order: Any) -> list[Any]:
        """An order's refunds with their lines; the order itself carries only {id, reason, total}."""
        if not order.get("refunds"):
            return []
        return list(self._walk(f"orders/{int(order['id'])}/refunds", {}))

    def _walk(self, path: str, params: Params) -> Iterator[Any]:
        """Every row of a small child listing, page by page."""
        page = 1
        while True:
            reply = self._http.get(path, {**params, "per_page": MAX_PAGE_SIZE, "page": page})
            rows = _rows(reply, path)
            yield from rows
            if not _has_more(reply, page, MAX_PAGE_SIZE, len(rows)):
                return
            page += 1


def _window_start(updated_since: datetime | None) -> datetime | None:
    """`modified_after` for "updated at or after `updated_since`": Woo's filter is strict, to the second."""
    if updated_since is None:
        return None
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    return updated_since.astimezone(UTC).replace(microsecond=0) - _SECOND


def _advance(cursor: _Cursor, rows: Sequence[Any]) -> _Cursor:
    """The cursor after a full page: restart at its last second, or (one-second page) turn the page."""
    last = max(mapping.modified_at(row) for row in rows)
    boundary = last - _SECOND
    if cursor.after is None or boundary > cursor.after:
        return _Cursor(after=boundary, seen=frozenset(row["id"] for row in rows if mapping.modified_at(row) == last))
    return _Cursor(page=cursor.page + 1, after=cursor.after, seen=cursor.seen)


def _has_more(reply: Reply, page: int, per_page: int, count: int) -> bool:
    """From X-WP-TotalPages, else a Link rel=next, else a full page (proxies do strip headers)."""
    total = reply.headers.get("x-wp-totalpages")
    if total is not None and total.strip().isdigit():
        return page < int(total)
    link = reply.headers.get("link")
    if link is not None:
        return 'rel="next"' in link
    return count >= per_page


def _rows(reply: Reply, path: str) -> list[Any]:
    if not isinstance(reply.data, list) or not all(isinstance(row, dict) and "id" in row for row in reply.data):
        raise PlatformError(f"WooCommerce {path}: expected a JSON list of objects with ids")
    return reply.data


def _page(records: list[Record], cursor: _Cursor | None) -> FetchedPage:
    stamps = [r.updated_at for r in records if r.updated_at is not None]
    return FetchedPage(records=records, next_cursor=cursor.encode() if cursor else None,
                       max_updated_at=max(stamps, default=None))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
