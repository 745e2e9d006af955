"""Shopify Admin GraphQL client (the `BulkStoreClient` port): paging, bulk exports, cost-based pacing."""

from shared.stores.shopify.client import DEFAULT_API_VERSION, ShopifyClient
from shared.stores.shopify.http import RetryPolicy

__all__ = ["DEFAULT_API_VERSION", "RetryPolicy", "ShopifyClient"]
