"""Per-request state handed to every resolver of the Shopify fake (graphql-core's `context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devhost.fakes.model import StoreModel
from devhost.fakes.shopify_ids import amount
from devhost.fakes.shopify_paging import ShopifyIndex

if TYPE_CHECKING:
    from devhost.fakes.shopify_bulk import BulkRegistry


@dataclass(slots=True)
class ShopifyContext:
    store: StoreModel
    index: ShopifyIndex
    bulk: BulkRegistry
    token: str
    base_url: str  # where this app is reachable, for bulk download URLs
    search: list[dict[str, Any]] = field(default_factory=list)  # becomes extensions.search

    def money(self, cents: int, currency: str | None = None) -> dict[str, str]:
        return {"amount": amount(cents), "currencyCode": currency or self.store.shop.currency}
