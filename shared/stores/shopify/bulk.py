"""Bulk-operation JSONL → BulkItems, line by line, in flat memory (reference §6).

With `groupObjects: false` every nested connection item (a variant, an order line) is its own line
with `__parentId`, somewhere after its parent — not necessarily right after. Parents are yielded as
they come (parent id None, no nested children), children with their parent's id.

Refunds cannot ride in the file: `Order.refunds` is a list and a bulk query may not put a connection
(refund lines, refund shipping) inside a list. The file carries each order's refund ids only; an order
that has some is held back with the children that arrive for it meanwhile, and when a small batch has
gathered, one paged query reads their refunds and the batch is released, parents first. Memory stays
bounded by the batch, whatever the file's size or ordering.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.stores.platform import BulkItem, PlatformError
from shared.stores.records import Entity, OrderLineRecord, Record, RefundRecord, VariantRecord
from shared.stores.shopify import mapping

# Order ids → their refunds; an id missing from the answer (an order deleted since) gets none.
RefundFetcher = Callable[[Sequence[str]], dict[str, tuple[RefundRecord, ...]]]


@dataclass
class _HeldOrders:
    """Refunded orders waiting for their refunds, and children that arrived for them meanwhile."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[OrderLineRecord]] = field(default_factory=dict)

    def release(self, fetch: RefundFetcher) -> Iterator[BulkItem]:
        if not self.orders:
            return
        refunds = fetch(list(self.orders))
        for order_id, node in self.orders.items():
            yield None, mapping.order_record(node, refunds=refunds.get(order_id, ()))
            for child in self.children.get(order_id, ()):
                yield order_id, child
        self.orders, self.children = {}, {}


def bulk_items(lines: Iterable[str], entity: Entity, *, fetch_refunds: RefundFetcher | None = None,
               batch_size: Callable[[], int] = lambda: 10) -> Iterator[BulkItem]:
    """Items of one bulk export of `entity`; `fetch_refunds` is required for orders."""
    if entity == "orders" and fetch_refunds is None:
        raise ValueError("orders need a refund fetcher")
    held = _HeldOrders()
    for number, raw in enumerate(lines, start=1):
        node = _parse(raw, number)
        parent_id = node.get("__parentId")
        if parent_id is not None:
            child = _child(entity, node)
            if parent_id in held.orders and isinstance(child, OrderLineRecord):
                held.children.setdefault(parent_id, []).append(child)
            else:
                yield parent_id, child
        elif entity == "orders" and node.get("refunds"):
            held.orders[node["id"]] = node
            if fetch_refunds is not None and len(held.orders) >= max(1, batch_size()):
                yield from held.release(fetch_refunds)
        else:
            yield None, _parent(entity, node)
    if fetch_refunds is not None:
        yield from held.release(fetch_refunds)


def _parse(raw: str, number: int) -> dict[str, Any]:
    try:
        node = json.loads(raw)
    except ValueError as exc:
        raise PlatformError(f"bulk file line {number} is not JSON") from exc
    if not isinstance(node, dict) or "id" not in node:
        raise PlatformError(f"bulk file line {number} is not an object with an id")
    return node


def _parent(entity: Entity, node: dict[str, Any]) -> Record:
    if entity == "products":
        return mapping.product_record(node)
    if entity == "customers":
        return mapping.customer_record(node)
    return mapping.order_record(node)


def _child(entity: Entity, node: dict[str, Any]) -> VariantRecord | OrderLineRecord:
    kind = str(node["id"]).split("/")[-2] if str(node["id"]).startswith("gid://") else ""
    if entity == "products" and kind == "ProductVariant":
        return mapping.variant_record(node)
    if entity == "orders" and kind == "LineItem":
        return mapping.line_record(node)
    raise PlatformError(f"unexpected nested {kind or 'item'} in a bulk export of {entity}")
