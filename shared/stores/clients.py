"""The default ClientFactory: the Shopify or WooCommerce client for a store connection."""

from __future__ import annotations

from shared.stores.connections import StoreConnection
from shared.stores.platform import StoreClient


def build_store_client(connection: StoreConnection) -> StoreClient:
    if connection.platform == "shopify":
        from shared.stores.shopify.client import ShopifyClient

        assert connection.shop_domain is not None
        shopify: StoreClient = ShopifyClient(shop_domain=connection.shop_domain,
                                             access_token=connection.credentials["access_token"],
                                             api_base_url=connection.api_base_url)
        return shopify
    if connection.platform == "woocommerce":
        from shared.stores.woocommerce.client import WooCommerceClient

        assert connection.base_url is not None
        woo: StoreClient = WooCommerceClient(base_url=connection.base_url,
                                             consumer_key=connection.credentials["consumer_key"],
                                             consumer_secret=connection.credentials["consumer_secret"],
                                             api_base_url=connection.api_base_url)
        return woo
    raise ValueError(f"unknown platform {connection.platform!r}")
