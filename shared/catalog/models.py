"""Catalog resources as the API shows them (money as decimal strings with their currency)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from shared.money import Money


class VariantPublic(BaseModel):
    id: uuid.UUID
    external_id: str
    title: str | None
    sku: str | None
    price: Money
    compare_at_price: Money | None
    cost: Money | None
    inventory_quantity: int | None


class ProductSummary(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    external_id: str
    title: str
    status: str
    vendor: str | None
    product_type: str | None
    tags: list[str]
    variants_count: int
    inventory_total: int | None
    price_min: Money | None
    price_max: Money | None
    updated_at: datetime | None


class ProductDetail(ProductSummary):
    handle: str | None
    created_at: datetime | None
    variants: list[VariantPublic]


class OrderLinePublic(BaseModel):
    id: uuid.UUID
    product_id: uuid.UUID | None
    variant_id: uuid.UUID | None
    sku: str | None
    title: str | None
    quantity: int
    unit_price: Money
    line_discount: Money


class RefundPublic(BaseModel):
    id: uuid.UUID
    refunded_at: datetime
    total: Money
    note: str | None


class OrderSummary(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    external_id: str
    name: str | None
    customer_id: uuid.UUID | None
    placed_at: datetime
    cancelled_at: datetime | None
    test: bool
    status: str | None
    financial_status: str | None
    presentment_currency: str | None
    subtotal: Money
    total_discounts: Money
    total_shipping: Money
    total_tax: Money
    total_price: Money


class OrderDetail(OrderSummary):
    lines: list[OrderLinePublic]
    refunds: list[RefundPublic]


class CustomerPublic(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    external_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    orders_count: int | None
    total_spent: Money | None
    created_at: datetime | None
    updated_at: datetime | None
