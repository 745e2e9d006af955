"""The WooCommerce REST v3 client (the `StoreClient` port) and its record mapping."""

from shared.stores.woocommerce.client import MAX_PAGE_SIZE, WooCommerceClient
from shared.stores.woocommerce.http import RetryPolicy

__all__ = ["MAX_PAGE_SIZE", "RetryPolicy", "WooCommerceClient"]
