"""Relay connections for the fake: opaque keyset cursors and first/after/last/before windows.

A cursor encodes the sort key of its node (value, id), as Shopify's do, not a position: a
client that resumes from a cursor sees the same next page even if earlier pages were re-read.
Top-level listings (filtered and sorted) are cached per (resource, query, sort key), so paging
through 200k orders costs one filter pass plus a bisect per page.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from devhost.fakes.model import Order, PaymentState, StoreModel
from devhost.fakes.shopify_ids import legacy_id
from devhost.fakes.shopify_search import SearchWarning, parse_search

SortKey = tuple[Any, Any]
KeyFn = Callable[[Any], SortKey]

_KINDS = {"orders": "Order", "products": "Product", "customers": "Customer"}


def _stamp(attr: str) -> Callable[[Any], int]:
    return lambda item: int(getattr(item, attr).timestamp())


_SORTS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "orders": {
        "ID": lambda o: o.id,
        "ORDER_NUMBER": lambda o: o.number,
        "CREATED_AT": _stamp("created_at"),
        "UPDATED_AT": _stamp("updated_at"),
        "PROCESSED_AT": _stamp("processed_at"),
    },
    "products": {
        "ID": lambda p: p.id,
        "TITLE": lambda p: p.title,
        "CREATED_AT": _stamp("created_at"),
        "UPDATED_AT": _stamp("updated_at"),
    },
    "customers": {"ID": lambda c: c.id, "CREATED_AT": _stamp("created_at"), "UPDATED_AT": _stamp("updated_at")},
}


def shopify_visible(order: Order) -> bool:
    """Failed payments and abandoned checkouts never become Shopify orders; deleted ones are gone."""
    return not order.deleted and order.payment not in (PaymentState.FAILED, PaymentState.DRAFT)


def encode_cursor(key: SortKey) -> str:
    payload = json.dumps({"last_id": key[1], "last_value": key[0]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def decode_cursor(cursor: str) -> SortKey:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (payload["last_value"], payload["last_id"])
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise GraphQLError("Invalid cursor.", extensions={"code": "BAD_REQUEST"}) from exc


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    has_next: bool
    has_previous: bool


def window(
    items: Sequence[Any],
    key: KeyFn,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
) -> Page:
    """The slice of `items` (ascending by `key`) that the connection arguments select."""
    n = len(items)
    try:
        lo = 0 if after is None else _position(items, key, decode_cursor(after), reverse, after_cursor=True)
        hi = n if before is None else _position(items, key, decode_cursor(before), reverse, after_cursor=False)
    except TypeError as exc:  # a cursor from another sort order (e.g. a title vs an id)
        raise GraphQLError("Invalid cursor.", extensions={"code": "BAD_REQUEST"}) from exc
    hi = max(lo, hi)
    start, stop = lo, hi
    if first is not None:
        stop = min(stop, start + first)
    if last is not None:
        start = max(start, stop - last)
    picked = [items[n - 1 - i] for i in range(start, stop)] if reverse else list(items[start:stop])
    has_next = stop < hi if first is not None else hi < n
    has_previous = start > lo if last is not None else lo > 0
    return Page(picked, has_next, has_previous)


def _position(items: Sequence[Any], key: KeyFn, cursor: SortKey, reverse: bool, *, after_cursor: bool) -> int:
    """Index in the (possibly reversed) view just after/before the cursor's node."""
    if not reverse:
        return bisect_right(items, cursor, key=key) if after_cursor else bisect_left(items, cursor, key=key)
    n = len(items)
    return n - bisect_left(items, cursor, key=key) if after_cursor else n - bisect_right(items, cursor, key=key)


def connection(page: Page, key: KeyFn) -> dict[str, Any]:
    cursors = [encode_cursor(key(item)) for item in page.items]
    return {
        "nodes": page.items,
        "edges": [{"cursor": c, "node": node} for c, node in zip(cursors, page.items, strict=True)],
        "pageInfo": {
            "hasNextPage": page.has_next,
            "hasPreviousPage": page.has_previous,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


@dataclass(frozen=True, slots=True)
class Listing:
    items: list[Any]  # filtered, ascending by key
    key: KeyFn
    warnings: tuple[SearchWarning, ...]


class ShopifyIndex:
    """Filtered, sorted top-level listings of one store, with a small LRU cache."""

    def __init__(self, store: StoreModel, cache_size: int = 16) -> None:
        self._store = store
        self._cache: OrderedDict[tuple[str, str, str], Listing] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # bulk downloads read listings from Starlette's threadpool
        self._sources: dict[str, Sequence[Any]] = {
            "orders": [o for o in store.orders if shopify_visible(o)],
            "products": store.products,
            "customers": store.customers,
        }

    def listing(self, resource: str, query: str | None, sort_key: str) -> Listing:
        with self._lock:
            return self._listing(resource, query, sort_key)

    def _listing(self, resource: str, query: str | None, sort_key: str) -> Listing:
        cache_key = (resource, query or "", sort_key)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        kind = _KINDS[resource]
        predicates, warnings = parse_search(
            resource, query, self._store.shop.zone, lambda item: legacy_id(kind, item.id)
        )
        sort_value = _SORTS[resource][sort_key]

        def key(item: Any) -> SortKey:
            return (sort_value(item), item.id)

        items = [item for item in self._sources[resource] if all(p(item) for p in predicates)]
        items.sort(key=key)
        listing = Listing(items, key, tuple(warnings))
        self._cache[cache_key] = listing
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return listing

    def all_items(self, resource: str) -> Sequence[Any]:
        return self._sources[resource]


def by_id(item: Any) -> SortKey:
    """Key for nested lists (line items, variants, refund lines), which are in id order."""
    return (item.id, item.id)


class NestedConnection:
    """Resolver of a connection under a node (line items, variants, refund lines).

    The bulk exporter reads `items` to emit every child, ignoring page arguments like Shopify.
    """

    def __init__(self, items: Callable[[Any, Any], Sequence[Any]]) -> None:
        self.items = items  # (source, ctx) -> every child, in id order

    def __call__(
        self,
        source: Any,
        ctx: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
    ) -> dict[str, Any]:
        items = self.items(source, ctx)
        page = window(items, by_id, first=first, after=after, last=last, before=before, reverse=reverse)
        return connection(page, by_id)


class RootConnection:
    """Resolver of `products` / `orders` / `customers` on the query root."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    def __call__(
        self,
        source: Any,
        ctx: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
        query: str | None = None,
        sortKey: str = "ID",
    ) -> dict[str, Any]:
        listing = ctx.index.listing(self.resource, query, sortKey)
        if listing.warnings:
            ctx.search.append(search_extension(self.resource, query, listing.warnings))
        page = window(listing.items, listing.key, first=first, after=after, last=last, before=before, reverse=reverse)
        return connection(page, listing.key)


def search_extension(path: str, query: str | None, warnings: Sequence[SearchWarning]) -> dict[str, Any]:
    return {
        "path": [path],
        "query": query,
        "warnings": [{"field": w.field, "message": w.message} for w in warnings],
    }
