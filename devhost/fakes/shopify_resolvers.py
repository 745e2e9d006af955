"""Resolver tables of the Shopify fake: type name -> field name -> `(source, ctx, **args)`.

Catalog and customer types live here; orders in `shopify_order_resolvers`. `resolver_tables`
is what the schema wires into graphql-core and what the bulk exporter walks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devhost.fakes.model import Customer, Product, ProductStatus, Shop, Variant
from devhost.fakes.shopify_context import ShopifyContext
from devhost.fakes.shopify_ids import amount, gid, iso, legacy_id, parse_gid
from devhost.fakes.shopify_order_resolvers import (
    Resolver,
    line_item_fields,
    order_fields,
    refund_fields,
    refund_line_fields,
    refund_shipping_fields,
    transaction_fields,
)
from devhost.fakes.shopify_paging import NestedConnection, RootConnection, shopify_visible


def shop_fields() -> dict[str, Resolver]:
    def abbreviation(shop: Shop, ctx: ShopifyContext) -> str:
        return datetime.now(shop.zone).tzname() or "UTC"

    return {
        "id": lambda shop, ctx: "gid://shopify/Shop/1",
        "name": lambda shop, ctx: shop.name,
        "myshopifyDomain": lambda shop, ctx: f"{shop.domain}.myshopify.com",
        "ianaTimezone": lambda shop, ctx: shop.iana_timezone,
        "timezoneAbbreviation": abbreviation,
        "currencyCode": lambda shop, ctx: shop.currency,
    }


def product_fields() -> dict[str, Resolver]:
    return {
        "id": lambda p, ctx: gid("Product", p.id),
        "legacyResourceId": lambda p, ctx: str(legacy_id("Product", p.id)),
        "title": lambda p, ctx: p.title,
        "handle": lambda p, ctx: p.handle,
        "status": lambda p, ctx: str(p.status),
        "productType": lambda p, ctx: p.product_type,
        "vendor": lambda p, ctx: p.vendor,
        "tags": lambda p, ctx: list(p.tags),
        "createdAt": lambda p, ctx: iso(p.created_at),
        "updatedAt": lambda p, ctx: iso(p.updated_at),
        "publishedAt": lambda p, ctx: iso(p.created_at) if p.status is ProductStatus.ACTIVE else None,
        "totalInventory": lambda p, ctx: sum(v.inventory for v in p.variants),
        "variants": NestedConnection(lambda p, ctx: p.variants),
    }


def variant_fields() -> dict[str, Resolver]:
    def product_of(v: Variant, ctx: ShopifyContext) -> Product | None:
        return ctx.store.product(v.product_id)

    def display_name(v: Variant, ctx: ShopifyContext) -> str:
        product = product_of(v, ctx)
        return f"{product.title if product else ''} - {v.title}"

    return {
        "id": lambda v, ctx: gid("ProductVariant", v.id),
        "legacyResourceId": lambda v, ctx: str(legacy_id("ProductVariant", v.id)),
        "title": lambda v, ctx: v.title,
        "displayName": display_name,
        "sku": lambda v, ctx: v.sku,
        "price": lambda v, ctx: amount(v.price_cents),
        "compareAtPrice": lambda v, ctx: None if v.compare_at_cents is None else amount(v.compare_at_cents),
        "inventoryQuantity": lambda v, ctx: v.inventory,
        "createdAt": lambda v, ctx: iso(v.created_at),
        "updatedAt": lambda v, ctx: iso(v.updated_at),
        "product": product_of,
        "inventoryItem": lambda v, ctx: v,  # one inventory item per variant: same source
    }


def inventory_item_fields() -> dict[str, Resolver]:
    return {
        "id": lambda v, ctx: gid("InventoryItem", v.id),
        "legacyResourceId": lambda v, ctx: str(legacy_id("InventoryItem", v.id)),
        "sku": lambda v, ctx: v.sku,
        "tracked": lambda v, ctx: True,
        "unitCost": lambda v, ctx: None if v.cost_cents is None else ctx.money(v.cost_cents),
    }


def customer_fields() -> dict[str, Resolver]:
    return {
        "id": lambda c, ctx: gid("Customer", c.id),
        "legacyResourceId": lambda c, ctx: str(legacy_id("Customer", c.id)),
        "firstName": lambda c, ctx: c.first_name,
        "lastName": lambda c, ctx: c.last_name,
        "displayName": lambda c, ctx: f"{c.first_name} {c.last_name}",
        "email": lambda c, ctx: c.email,
        "createdAt": lambda c, ctx: iso(c.created_at),
        "updatedAt": lambda c, ctx: iso(c.updated_at),
        "numberOfOrders": lambda c, ctx: str(c.orders_count),  # UnsignedInt64 travels as a string
        "amountSpent": lambda c, ctx: ctx.money(c.spent_cents),
        "tags": lambda c, ctx: [],
    }


def query_root_fields() -> dict[str, Resolver]:
    def order(_: Any, ctx: ShopifyContext, id: str) -> Any:
        found = ctx.store.order(parse_gid(id, "Order"))
        return found if found is not None and shopify_visible(found) else None

    def product(_: Any, ctx: ShopifyContext, id: str) -> Product | None:
        return ctx.store.product(parse_gid(id, "Product"))

    def variant(_: Any, ctx: ShopifyContext, id: str) -> Variant | None:
        return ctx.store.variant(parse_gid(id, "ProductVariant"))

    def customer(_: Any, ctx: ShopifyContext, id: str) -> Customer | None:
        return ctx.store.customer(parse_gid(id, "Customer"))

    return {
        "shop": lambda _, ctx: ctx.store.shop,
        "products": RootConnection("products"),
        "orders": RootConnection("orders"),
        "customers": RootConnection("customers"),
        "order": order,
        "product": product,
        "productVariant": variant,
        "customer": customer,
    }


def resolver_tables() -> dict[str, dict[str, Resolver]]:
    """Every data type's resolvers (bulk-operation fields are added by the bulk module)."""
    return {
        "QueryRoot": query_root_fields(),
        "Shop": shop_fields(),
        "Product": product_fields(),
        "ProductVariant": variant_fields(),
        "InventoryItem": inventory_item_fields(),
        "Customer": customer_fields(),
        "Order": order_fields(),
        "LineItem": line_item_fields(),
        "Refund": refund_fields(),
        "RefundLineItem": refund_line_fields(),
        "RefundShippingLine": refund_shipping_fields(),
        "OrderTransaction": transaction_fields(),
    }
