"""The slice of the Shopify Admin GraphQL schema the fake serves, built with graphql-core.

Field names, nullability and scalars follow the 2026-10 Admin API for what a sync client reads
(reference §5 to §7). Anything not listed here is rejected by validation, as Shopify rejects a
field that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, build_schema

from devhost.fakes import shopify_webhooks as webhooks
from devhost.fakes.shopify_order_resolvers import Resolver

_PAGE_ARGS = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"
_CONNECTIONS = (
    "Product", "ProductVariant", "Customer", "Order", "LineItem", "RefundLineItem",
    "RefundShippingLine", "OrderTransaction", "OrderAdjustment", "WebhookSubscription",
)

_SDL = """
schema { query: QueryRoot mutation: Mutation }

scalar DateTime
scalar Decimal
scalar Money
scalar URL
scalar UnsignedInt64

enum CurrencyCode { USD EUR GBP CAD AUD NZD CHF SEK NOK DKK PLN CZK JPY MXN BRL INR SGD HKD ZAR }
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum ProductSortKeys { ID TITLE CREATED_AT UPDATED_AT }
enum OrderSortKeys { ID ORDER_NUMBER CREATED_AT UPDATED_AT PROCESSED_AT }
enum CustomerSortKeys { ID CREATED_AT UPDATED_AT }
enum OrderDisplayFinancialStatus { AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED }
enum OrderDisplayFulfillmentStatus { FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT
  RESTOCKED SCHEDULED UNFULFILLED }
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }
enum RefundLineItemRestockType { CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }
enum OrderTransactionKind { AUTHORIZATION CAPTURE CHANGE EMV_AUTHORIZATION REFUND SALE SUGGESTED_REFUND VOID }
enum OrderTransactionStatus { AWAITING_RESPONSE ERROR FAILURE PENDING SUCCESS UNKNOWN }
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationType { MUTATION QUERY }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationUserErrorCode { INVALID LIMIT_REACHED OPERATION_IN_PROGRESS }

type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type Shop { id: ID! name: String! myshopifyDomain: String! ianaTimezone: String! timezoneAbbreviation: String!
  currencyCode: CurrencyCode! }

type Product { id: ID! legacyResourceId: UnsignedInt64! title: String! handle: String! status: ProductStatus!
  productType: String! vendor: String! tags: [String!]! createdAt: DateTime! updatedAt: DateTime!
  publishedAt: DateTime totalInventory: Int! variants(PAGE_ARGS): ProductVariantConnection! }
type ProductVariant { id: ID! legacyResourceId: UnsignedInt64! title: String! displayName: String! sku: String
  price: Money! compareAtPrice: Money inventoryQuantity: Int createdAt: DateTime! updatedAt: DateTime!
  product: Product! inventoryItem: InventoryItem! }
type InventoryItem { id: ID! legacyResourceId: UnsignedInt64! sku: String tracked: Boolean! unitCost: MoneyV2 }

type Customer { id: ID! legacyResourceId: UnsignedInt64! firstName: String lastName: String displayName: String!
  email: String createdAt: DateTime! updatedAt: DateTime! numberOfOrders: UnsignedInt64! amountSpent: MoneyV2!
  tags: [String!]! }

type Order { id: ID! legacyResourceId: UnsignedInt64! name: String! email: String createdAt: DateTime!
  processedAt: DateTime! updatedAt: DateTime! closedAt: DateTime cancelledAt: DateTime closed: Boolean!
  cancelReason: OrderCancelReason test: Boolean! displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus! currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode! taxesIncluded: Boolean!
  subtotalPriceSet: MoneyBag totalPriceSet: MoneyBag! totalDiscountsSet: MoneyBag totalTaxSet: MoneyBag
  totalShippingPriceSet: MoneyBag! totalRefundedSet: MoneyBag! totalRefundedShippingSet: MoneyBag!
  currentSubtotalPriceSet: MoneyBag! currentTotalPriceSet: MoneyBag! currentTotalDiscountsSet: MoneyBag!
  currentTotalTaxSet: MoneyBag! currentShippingPriceSet: MoneyBag!
  customer: Customer lineItems(PAGE_ARGS): LineItemConnection! refunds(first: Int): [Refund!]! }
type LineItem { id: ID! name: String! title: String! variantTitle: String quantity: Int! currentQuantity: Int!
  sku: String requiresShipping: Boolean! taxable: Boolean! originalUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag! discountedTotalSet: MoneyBag! totalDiscountSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]! taxLines: [TaxLine!]! variant: ProductVariant product: Product }
type DiscountAllocation { allocatedAmountSet: MoneyBag! }
type TaxLine { title: String! priceSet: MoneyBag! }
type Refund { id: ID! legacyResourceId: UnsignedInt64! createdAt: DateTime updatedAt: DateTime! note: String
  totalRefundedSet: MoneyBag! order: Order! refundLineItems(PAGE_ARGS): RefundLineItemConnection!
  refundShippingLines(PAGE_ARGS): RefundShippingLineConnection! transactions(PAGE_ARGS): OrderTransactionConnection!
  orderAdjustments(PAGE_ARGS): OrderAdjustmentConnection! }
type RefundLineItem { id: ID! quantity: Int! restockType: RefundLineItemRestockType! restocked: Boolean!
  lineItem: LineItem! priceSet: MoneyBag! subtotalSet: MoneyBag! totalTaxSet: MoneyBag! }
type RefundShippingLine { id: ID! subtotalAmountSet: MoneyBag! taxAmountSet: MoneyBag! }
type OrderTransaction { id: ID! kind: OrderTransactionKind! status: OrderTransactionStatus! processedAt: DateTime
  createdAt: DateTime! gateway: String! test: Boolean! amountSet: MoneyBag! }
type OrderAdjustment { id: ID! reason: String amountSet: MoneyBag! taxAmountSet: MoneyBag! }

type BulkOperation { id: ID! status: BulkOperationStatus! errorCode: BulkOperationErrorCode createdAt: DateTime!
  completedAt: DateTime objectCount: UnsignedInt64! rootObjectCount: UnsignedInt64! fileSize: UnsignedInt64
  url: URL partialDataUrl: URL query: String! type: BulkOperationType! }
type BulkOperationUserError { field: [String!] message: String! code: BulkOperationUserErrorCode }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }

type QueryRoot {
  shop: Shop!
  products(PAGE_ARGS, query: String, sortKey: ProductSortKeys = ID): ProductConnection!
  orders(PAGE_ARGS, query: String, sortKey: OrderSortKeys = PROCESSED_AT): OrderConnection!
  customers(PAGE_ARGS, query: String, sortKey: CustomerSortKeys = ID): CustomerConnection!
  product(id: ID!): Product
  productVariant(id: ID!): ProductVariant
  order(id: ID!): Order
  customer(id: ID!): Customer
  bulkOperation(id: ID!): BulkOperation
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
  WEBHOOK_QUERY
}

type Mutation { bulkOperationRunQuery(query: String!, groupObjects: Boolean = false): BulkOperationRunQueryPayload
  WEBHOOK_MUTATION }
"""


def schema_sdl() -> str:
    connections = "".join(
        f"type {name}Connection {{ nodes: [{name}!]! edges: [{name}Edge!]! pageInfo: PageInfo! }}\n"
        f"type {name}Edge {{ cursor: String! node: {name}! }}\n"
        for name in _CONNECTIONS
    )
    sdl = _SDL.replace("WEBHOOK_QUERY", webhooks.QUERY_FIELDS).replace("WEBHOOK_MUTATION", webhooks.MUTATION_FIELDS)
    return sdl.replace("PAGE_ARGS", _PAGE_ARGS) + webhooks.SDL + connections


def build_shopify_schema(tables: Mapping[str, Mapping[str, Resolver]]) -> GraphQLSchema:
    """The executable schema: SDL types with our `(source, ctx, **args)` resolvers attached."""
    schema = build_schema(schema_sdl())
    for type_name, fields in tables.items():
        graphql_type = schema.get_type(type_name)
        if not isinstance(graphql_type, GraphQLObjectType):
            raise TypeError(f"{type_name} is not an object type of the schema")
        for field_name, resolver in fields.items():
            graphql_type.fields[field_name].resolve = _adapt(resolver)
    return schema


def _adapt(resolver: Resolver) -> Any:
    def resolve(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        return resolver(source, info.context, **args)

    return resolve


def is_connection(type_name: str) -> bool:
    return type_name.endswith("Connection")
