"""Pairing a bulk export's JSONL lines into BulkItems, with refunds read for held orders (no server)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from shared.stores.platform import PlatformError
from shared.stores.records import OrderLineRecord, OrderRecord, RefundRecord
from shared.stores.shopify.bulk import bulk_items
from shared.stores.shopify.mapping import timestamp

_MONEY = {"shopMoney": {"amount": "10.0"}}


def _order(n: int, *, refunded: bool = False) -> str:
    return json.dumps({
        "id": f"gid://shopify/Order/{n}", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z",
        "currencyCode": "USD", "totalPriceSet": _MONEY, "refunds": [{"id": f"gid://shopify/Refund/{n}"}] if refunded
        else [],
    })


def _line(n: int, parent: int) -> str:
    return json.dumps({"id": f"gid://shopify/LineItem/{n}", "quantity": 1, "originalUnitPriceSet": _MONEY,
                       "discountedTotalSet": _MONEY, "__parentId": f"gid://shopify/Order/{parent}"})


class _Refunds:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, order_ids: Sequence[str]) -> dict[str, tuple[RefundRecord, ...]]:
        self.calls.append(list(order_ids))
        at = timestamp("2026-01-05T00:00:00Z")
        assert at is not None
        return {i: (RefundRecord(external_id=i.replace("Order", "Refund"), refunded_at=at, total=1),)
                for i in order_ids}


def _kinds(items: list[tuple[str | None, Any]]) -> list[str]:
    """Labels like Order1<- for a parent and LineItem2<2 for a child of order 2."""
    return [f"{item.external_id.rsplit('/', 2)[1]}{item.external_id[-1]}<{(parent or '-')[-1]}"
            for parent, item in items]


def test_children_one_parent_late_follow_their_parents() -> None:
    lines = [_order(1), _order(2), _line(1, 1), _order(3), _line(2, 2), _line(3, 3)]
    items = list(bulk_items(lines, "orders", fetch_refunds=_Refunds()))
    assert _kinds(items) == ["Order1<-", "Order2<-", "LineItem1<1", "Order3<-", "LineItem2<2", "LineItem3<3"]
    assert all(isinstance(item, OrderLineRecord) for parent, item in items if parent)


def test_refunded_orders_are_held_with_their_children_until_their_refunds_are_read() -> None:
    refunds = _Refunds()
    lines = [_order(1, refunded=True), _order(2), _line(1, 1), _order(3, refunded=True), _line(2, 2),
             _line(3, 3), _order(4), _line(4, 4)]
    items = list(bulk_items(lines, "orders", fetch_refunds=refunds, batch_size=lambda: 2))
    # Order 3 fills the batch of two: both are released with the child order 1 got meanwhile; order 3's own
    # child comes later and passes straight through, behind its parent.
    assert _kinds(items) == ["Order2<-", "Order1<-", "LineItem1<1", "Order3<-", "LineItem2<2", "LineItem3<3",
                             "Order4<-", "LineItem4<4"]
    assert refunds.calls == [["gid://shopify/Order/1", "gid://shopify/Order/3"]]
    held = [item for _, item in items if isinstance(item, OrderRecord) and item.refunds]
    assert [o.refunds[0].external_id for o in held] == ["gid://shopify/Refund/1", "gid://shopify/Refund/3"]


def test_the_last_held_orders_are_released_at_the_end_of_the_file() -> None:
    refunds = _Refunds()
    items = list(bulk_items([_order(1, refunded=True), _line(1, 1)], "orders", fetch_refunds=refunds))
    assert _kinds(items) == ["Order1<-", "LineItem1<1"] and len(refunds.calls) == 1


def test_products_stream_variants_as_children() -> None:
    lines = [json.dumps({"id": "gid://shopify/Product/1", "title": "Tee", "status": "ACTIVE"}),
             json.dumps({"id": "gid://shopify/ProductVariant/9", "price": "5.0", "__parentId": "gid://shopify/Product/1"})]
    (parent, product), (owner, variant) = bulk_items(lines, "products")
    assert (parent, owner, product.external_id, variant.external_id) == (None, "gid://shopify/Product/1",
                                                                         "gid://shopify/Product/1",
                                                                         "gid://shopify/ProductVariant/9")


@pytest.mark.parametrize("line", ["not json", "[1, 2]", json.dumps({"id": "gid://shopify/Refund/1",
                                                                  "__parentId": "gid://shopify/Order/1"})])
def test_a_line_that_is_not_what_the_query_asked_for_is_an_error(line: str) -> None:
    with pytest.raises(PlatformError):
        list(bulk_items([_order(1), line], "orders", fetch_refunds=_Refunds()))
