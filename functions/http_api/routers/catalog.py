"""Products, orders and customers of the caller's stores."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from functions.http_api.deps import DEFAULT_PAGE_SIZE, Cursor, Limit, UserConn
from shared.catalog import customers, orders, products
from shared.catalog.models import CustomerPublic, OrderDetail, OrderSummary, ProductDetail, ProductSummary
from shared.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["catalog"])

ShortText = Annotated[str | None, Query(max_length=200)]


@router.get("/products", summary="Products, filtered and searched (q: full text + typo-tolerant)")
async def list_products(
    conn: UserConn,
    store_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, description="words of title, SKU, vendor or tags")] = None,
    status: ShortText = None,
    vendor: ShortText = None,
    product_type: ShortText = None,
    low_stock: Annotated[bool, Query(description=f"a variant at or below {products.LOW_STOCK_THRESHOLD} units")]
    = False,
    sort: products.ProductSort = "title",
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[ProductSummary]:
    filters = products.ProductFilters(store_id=store_id, q=q, status=status, vendor=vendor,
                                      product_type=product_type, low_stock=low_stock, sort=sort)
    items, next_cursor = await products.list_products(conn, filters, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/products/{product_id}", summary="A product with its variants, stock and cost")
async def get_product(product_id: uuid.UUID, conn: UserConn) -> ProductDetail:
    return await products.get_product(conn, product_id)


@router.get("/orders", summary="Orders, newest first")
async def list_orders(
    conn: UserConn,
    store_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    placed_from: Annotated[datetime | None, Query(alias="from", description="placed at or after (ISO-8601)")]
    = None,
    placed_to: Annotated[datetime | None, Query(alias="to", description="placed before (ISO-8601)")] = None,
    financial_status: ShortText = None,
    test: bool | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[OrderSummary]:
    filters = orders.OrderFilters(store_id=store_id, customer_id=customer_id, placed_from=placed_from,
                                  placed_to=placed_to, financial_status=financial_status, test=test)
    items, next_cursor = await orders.list_orders(conn, filters, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/orders/{order_id}", summary="An order with its lines and refunds")
async def get_order(order_id: uuid.UUID, conn: UserConn) -> OrderDetail:
    return await orders.get_order(conn, order_id)


@router.get("/customers", summary="Customers, newest first")
async def list_customers(
    conn: UserConn,
    store_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, description="part of the e-mail or name")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[CustomerPublic]:
    items, next_cursor = await customers.list_customers(conn, store_id=store_id, q=q, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/customers/{customer_id}", summary="One customer")
async def get_customer(customer_id: uuid.UUID, conn: UserConn) -> CustomerPublic:
    return await customers.get_customer(conn, customer_id)
