"""GraphQL text of the Shopify client (Admin API 2026-10; field shapes per reference §7).

Money is selected as `shopMoney { amount }` only: we aggregate in the shop's currency and record the
presentment currency code beside it. Field lists are plain strings rather than fragments so the same
text serves paged queries and bulk queries alike.

Nested page sizes are module constants read when a query is built, so tests can shrink them to make
every follow-up path run. They are small on purpose: a connection's cost multiplies through its
parent's, and one order page has to stay within ~20 % of the bucket.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shared.stores.records import Entity

VARIANT_PAGE = 100  # variants per product in a product page; more are fetched per product
LINE_PAGE = 10  # line items per order in an order page; an order with more gets follow-up reads
REFUND_LINE_PAGE = 5  # refund lines per refund; an order with a longer refund is re-read with FULL_PAGE
REFUND_SHIPPING_PAGE = 2
FULL_PAGE = 250

_SHOP_MONEY = "{ shopMoney { amount } }"
SHOP = "query Shop { shop { name ianaTimezone currencyCode myshopifyDomain } }"

PRODUCT_FIELDS = "id title handle status vendor productType tags createdAt updatedAt"
VARIANT_FIELDS = (
    "id title sku price compareAtPrice inventoryQuantity createdAt updatedAt "
    "inventoryItem { tracked unitCost { amount } }"
)
CUSTOMER_FIELDS = "id createdAt updatedAt numberOfOrders amountSpent { amount }"
CUSTOMER_PII_FIELDS = "email firstName lastName"  # protected customer data level 2 (reference §3)
ORDER_FIELDS = (
    "id name createdAt processedAt updatedAt cancelledAt closedAt test displayFinancialStatus "
    "currencyCode presentmentCurrencyCode customer { id } "
    f"subtotalPriceSet {_SHOP_MONEY} totalDiscountsSet {_SHOP_MONEY} totalShippingPriceSet {_SHOP_MONEY} "
    f"totalTaxSet {_SHOP_MONEY} totalPriceSet {_SHOP_MONEY}"
)
# originalTotalSet is originalUnitPriceSet times quantity: derived, not bought (a MoneyBag costs 2 points a line).
LINE_FIELDS = (
    f"id name sku quantity originalUnitPriceSet {_SHOP_MONEY} discountedTotalSet {_SHOP_MONEY} "
    "variant { id } product { id }"
)
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"


def _refund_fields(lines: int, shipping: int) -> str:
    # Refund shipping comes from refundShippingLines (the refunded shipping line, with its tax);
    # orderAdjustments hold discrepancy corrections, which are neither returns nor shipping.
    return (
        f"id createdAt note totalRefundedSet {_SHOP_MONEY} "
        f"refundLineItems(first: {lines}) {{ nodes {{ quantity restockType lineItem {{ id }} "
        f"subtotalSet {_SHOP_MONEY} totalTaxSet {_SHOP_MONEY} }} pageInfo {{ hasNextPage }} }} "
        f"refundShippingLines(first: {shipping}) {{ nodes {{ subtotalAmountSet {_SHOP_MONEY} "
        f"taxAmountSet {_SHOP_MONEY} }} pageInfo {{ hasNextPage }} }}"
    )


def _customer_fields(pii: bool) -> str:
    return f"{CUSTOMER_FIELDS} {CUSTOMER_PII_FIELDS}" if pii else CUSTOMER_FIELDS


def page_query(entity: Entity, *, pii: bool = False) -> str:
    """One page of `entity`, oldest update first; variables `first`, `after`, `query`."""
    if entity == "products":
        node = f"{PRODUCT_FIELDS} variants(first: {VARIANT_PAGE}) {{ nodes {{ {VARIANT_FIELDS} }} {_PAGE_INFO} }}"
    elif entity == "customers":
        node = _customer_fields(pii)
    elif entity == "orders":
        node = (f"{ORDER_FIELDS} lineItems(first: {LINE_PAGE}) {{ nodes {{ {LINE_FIELDS} }} {_PAGE_INFO} }} "
                f"refunds {{ {_refund_fields(REFUND_LINE_PAGE, REFUND_SHIPPING_PAGE)} }}")
    else:
        raise ValueError(f"unknown entity {entity!r}")
    return (
        f"query Page($first: Int!, $after: String, $query: String) {{ "
        f"{entity}(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{ "
        f"nodes {{ {node} }} {_PAGE_INFO} }} }}"
    )


def product_variants_query() -> str:
    return (f"query Variants($id: ID!, $after: String) {{ product(id: $id) {{ "
            f"variants(first: {FULL_PAGE}, after: $after) {{ nodes {{ {VARIANT_FIELDS} }} {_PAGE_INFO} }} }} }}")


def order_lines_query() -> str:
    return (f"query Lines($id: ID!, $after: String) {{ order(id: $id) {{ "
            f"lineItems(first: {FULL_PAGE}, after: $after) {{ nodes {{ {LINE_FIELDS} }} {_PAGE_INFO} }} }} }}")


def order_refunds_query(count: int, *, full: bool = False) -> str:
    """Refunds of `count` orders at once, aliased `o0`… with variables `id0`… (bulk runs cannot nest them)."""
    fields = _refund_fields(FULL_PAGE, FULL_PAGE) if full else _refund_fields(REFUND_LINE_PAGE, REFUND_SHIPPING_PAGE)
    params = ", ".join(f"$id{i}: ID!" for i in range(count))
    aliases = " ".join(f"o{i}: order(id: $id{i}) {{ id updatedAt refunds {{ {fields} }} }}" for i in range(count))
    return f"query Refunds({params}) {{ {aliases} }}"


def bulk_query(entity: Entity, search: str | None, *, pii: bool = False) -> str:
    """The bulk export of `entity`: every node selects `id` and nested connections stay one level deep.

    Orders carry only the ids of their refunds: `refunds` is a list, and a bulk query may not put a
    connection (refund lines, refund shipping) inside a list (reference §6), so the client reads the
    refunds of refunded orders with paged queries while it streams the file.
    """
    arguments = f"(query: {json.dumps(search)})" if search else ""
    if entity == "products":
        node = f"{PRODUCT_FIELDS} variants {{ edges {{ node {{ {VARIANT_FIELDS} }} }} }}"
    elif entity == "customers":
        node = _customer_fields(pii)
    elif entity == "orders":
        node = f"{ORDER_FIELDS} refunds {{ id }} lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }}"
    else:
        raise ValueError(f"unknown entity {entity!r}")
    return f"{{ {entity}{arguments} {{ edges {{ node {{ {node} }} }} }} }}"


BULK_RUN = (
    "mutation Run($query: String!) { bulkOperationRunQuery(query: $query, groupObjects: false) { "
    "bulkOperation { id status } userErrors { field message code } } }"
)
BULK_STATUS = (
    "query Status($id: ID!) { bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount "
    "fileSize url partialDataUrl createdAt completedAt } }"
)

WEBHOOK_SUBSCRIPTIONS = (
    "query Webhooks($after: String) { webhookSubscriptions(first: 100, after: $after) { "
    "nodes { id topic callbackUrl } pageInfo { hasNextPage endCursor } } }"
)
WEBHOOK_CREATE = (
    "mutation Subscribe($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) { "
    "webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) { "
    "webhookSubscription { id topic callbackUrl } userErrors { field message } } }"
)
WEBHOOK_DELETE = (
    "mutation Unsubscribe($id: ID!) { webhookSubscriptionDelete(id: $id) { "
    "deletedWebhookSubscriptionId userErrors { field message } } }"
)


def updated_since_filter(updated_since: datetime | None) -> str | None:
    """`updated_at:>='…'` (quoted: Shopify ignores an unquoted timestamp), truncated to the second.

    Truncating can only widen the window; the caller has already shifted the watermark back.
    """
    if updated_since is None:
        return None
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    return f"updated_at:>='{updated_since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
