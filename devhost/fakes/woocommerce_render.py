"""The store model in WooCommerce REST v3 shapes (reference §5): integer ids, money as 2-dp
strings, `line_items[].price` as a JSON number, dates without offset plus `*_gmt` twins.

Id spaces follow WordPress: variations share the post id space with products (ids after the
last product) and refunds share it with orders (ids after the last order).
Unit cost is exposed the way most stores have it, as Cost-of-Goods plugin meta `_wc_cog_cost`.
Test orders carry WooPayments' `_wcpay_mode: test` meta; Woo itself has no test flag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devhost.fakes.model import (
    Customer,
    LineItem,
    Order,
    PaymentState,
    Product,
    ProductStatus,
    Refund,
    StoreModel,
    Variant,
)

_PRODUCT_STATUS = {ProductStatus.ACTIVE: "publish", ProductStatus.DRAFT: "draft", ProductStatus.ARCHIVED: "private"}
_UNPAID = {PaymentState.FAILED: "failed", PaymentState.DRAFT: "checkout-draft",
           PaymentState.PENDING: "pending", PaymentState.ON_HOLD: "on-hold"}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$", "AUD": "$"}
WC_VERSION = "9.4.2"


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def woo_product_status(product: Product) -> str:
    return _PRODUCT_STATUS[product.status]


def woo_order_status(order: Order) -> str:
    if order.deleted:
        return "trash"
    if order.payment in _UNPAID:
        return _UNPAID[order.payment]
    if order.cancelled_at is not None:
        return "cancelled"
    if order.refunds and order.refunded_cents >= order.total_cents:
        return "refunded"
    return "completed" if order.fulfilled else "processing"


def customer_role(customer: Customer) -> str:
    """A few registered users are not customers; `/customers` hides them unless `role=all`."""
    return "subscriber" if customer.id % 31 == 0 else "customer"


class WooRenderer:
    def __init__(self, store: StoreModel, site_url: str, *, multi_currency: bool,
                 rateless_orders: frozenset[int] = frozenset()) -> None:
        self._store, self._site, self._multi = store, site_url, multi_currency
        self._rateless = rateless_orders
        self._zone = store.shop.zone
        self._types = sorted({p.product_type for p in store.products})
        self._units_sold: Counter[int] = Counter()
        for order in store.orders:
            if order.payment is PaymentState.PAID and not order.deleted:
                for line in order.line_items:
                    if line.product_id is not None:
                        self._units_sold[line.product_id] += line.quantity
        self._n_products, self._n_orders = len(store.products), len(store.orders)
        self._n_lines = sum(len(o.line_items) for o in store.orders)

    def units_sold(self, product: Product) -> int:
        return self._units_sold[product.id]

    def variation_id(self, variant: Variant) -> int:
        return self._n_products + variant.id

    def variant_for(self, variation_id: int) -> Variant | None:
        return self._store.variant(variation_id - self._n_products)

    def refund_id(self, refund: Refund) -> int:
        return self._n_orders + refund.id

    def dates(self, name: str, moment: datetime | None) -> dict[str, str | None]:
        if moment is None:
            return {name: None, f"{name}_gmt": None}
        return {
            name: moment.astimezone(self._zone).strftime("%Y-%m-%dT%H:%M:%S"),
            f"{name}_gmt": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def _links(self, path: str) -> dict[str, list[dict[str, str]]]:
        return {"self": [{"href": f"{self._site}/wp-json/wc/v3/{path}"}]}

    def product(self, product: Product) -> dict[str, Any]:
        variable = len(product.variants) > 1
        first = product.variants[0]
        prices = _prices(first)
        cheapest = min(v.price_cents for v in product.variants)
        return {
            "id": product.id, "name": product.title, "slug": product.handle,
            "permalink": f"{self._site}/product/{product.handle}/",
            **self.dates("date_created", product.created_at), **self.dates("date_modified", product.updated_at),
            "type": "variable" if variable else "simple", "status": woo_product_status(product),
            "featured": False, "catalog_visibility": "visible", "description": "", "short_description": "",
            "sku": "" if variable else (first.sku or ""),
            "price": money(cheapest) if variable else prices["price"],
            "regular_price": "" if variable else prices["regular_price"],
            "sale_price": "" if variable else prices["sale_price"],
            "on_sale": any(v.compare_at_cents for v in product.variants),
            "purchasable": product.status is not ProductStatus.DRAFT,
            "total_sales": self.units_sold(product), "virtual": False, "downloadable": False,
            "tax_status": "taxable", "tax_class": "", "manage_stock": not variable,
            "stock_quantity": None if variable else first.inventory,
            "stock_status": _stock_status(sum(v.inventory for v in product.variants)),
            "backorders": "no", "parent_id": 0,
            "categories": [self.category(product.product_type)],
            "tags": [{"id": 100 + sum(map(ord, t)), "name": t, "slug": t} for t in product.tags],
            "attributes": [{"id": 0, "name": "Option", "position": 0, "visible": True, "variation": True,
                            "options": [v.title for v in product.variants]}] if variable else [],
            "variations": [self.variation_id(v) for v in product.variants] if variable else [],
            "meta_data": [] if variable else _cost_meta(first),
            "_links": self._links(f"products/{product.id}"),
        }

    def category(self, product_type: str) -> dict[str, Any]:
        return {"id": 16 + self._types.index(product_type), "name": product_type, "slug": product_type.lower()}

    def variation(self, product: Product, variant: Variant) -> dict[str, Any]:
        return {
            "id": self.variation_id(variant),
            **self.dates("date_created", variant.created_at), **self.dates("date_modified", variant.updated_at),
            "description": "", "permalink": f"{self._site}/product/{product.handle}/?variation={variant.id}",
            "sku": variant.sku or "", **_prices(variant),
            "on_sale": variant.compare_at_cents is not None,
            "status": "private" if product.status is ProductStatus.ARCHIVED else "publish",
            "purchasable": product.status is not ProductStatus.DRAFT, "virtual": False, "downloadable": False,
            "tax_status": "taxable", "tax_class": "", "manage_stock": True, "stock_quantity": variant.inventory,
            "stock_status": _stock_status(variant.inventory), "backorders": "no", "parent_id": product.id,
            "attributes": [{"id": 0, "name": "Option", "option": variant.title}], "menu_order": 0,
            "meta_data": _cost_meta(variant),
            "_links": self._links(f"products/{product.id}/variations/{self.variation_id(variant)}"),
        }

    def customer(self, customer: Customer) -> dict[str, Any]:
        address = _address(customer.first_name, customer.last_name)
        return {
            "id": customer.id,
            **self.dates("date_created", customer.created_at), **self.dates("date_modified", customer.updated_at),
            "email": customer.email, "first_name": customer.first_name, "last_name": customer.last_name,
            "role": customer_role(customer), "username": customer.email.split("@")[0],
            "billing": {**address, "email": customer.email, "phone": ""}, "shipping": {**address, "phone": ""},
            "is_paying_customer": customer.orders_count > 0,
            "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g", "meta_data": [],
            "_links": self._links(f"customers/{customer.id}"),
        }

    def converter(self, order: Order) -> tuple[str, Callable[[int], str]]:
        """Currency and money formatter: a multi-currency store books orders in the buyer's currency."""
        if self._multi:
            return order.presentment_currency, lambda cents: money(order.to_presentment(cents))
        return self._store.shop.currency, money

    def currency_meta(self, order: Order) -> list[dict[str, Any]]:
        """WooPayments' multi-currency meta on an order in another currency: the shop's currency and the rate
        the order was priced at (order-currency units per shop unit, a float as WooPayments stores it).
        Orders in `rateless_orders` have none, as with currency plugins that keep no rate."""
        if not self._multi or order.presentment_currency == self._store.shop.currency or order.id in self._rateless:
            return []
        return [{"id": 7_100_000 + order.id, "key": "_wcpay_multi_currency_order_exchange_rate",
                 "value": float(order.exchange_rate)},
                {"id": 7_200_000 + order.id, "key": "_wcpay_multi_currency_order_default_currency",
                 "value": self._store.shop.currency}]

    def line_item(self, order: Order, line: LineItem, fmt: Callable[[int], str]) -> dict[str, Any]:
        variant = None if line.variant_id is None else self._store.variant(line.variant_id)
        product = None if line.product_id is None else self._store.product(line.product_id)
        variable = product is not None and len(product.variants) > 1
        sub_tax = line.tax_cents * line.original_total_cents // line.net_cents if line.net_cents else 0
        return {
            "id": line.id,
            "name": f"{line.title} - {line.variant_title}" if variable else line.title,
            "product_id": line.product_id or 0,
            "variation_id": self.variation_id(variant) if variable and variant else 0,
            "quantity": line.quantity, "tax_class": "",
            "subtotal": fmt(line.original_total_cents), "subtotal_tax": fmt(sub_tax),
            "total": fmt(line.net_cents), "total_tax": fmt(line.tax_cents),
            "taxes": [{"id": 1, "total": fmt(line.tax_cents), "subtotal": fmt(sub_tax)}],
            "meta_data": [],
            "sku": None if variant is None else variant.sku,  # looked up now, like core does
            # A float, not a string: core computes total / quantity (the post-discount unit price).
            "price": float(fmt(line.net_cents)) / line.quantity,
            "image": {"id": "", "src": ""}, "parent_name": line.title if variable else None,
        }

    def refund_summary(self, refund: Refund, fmt: Callable[[int], str]) -> dict[str, Any]:
        return {"id": self.refund_id(refund), "reason": refund.note, "total": fmt(-refund.total_cents)}

    def shipping_line_id(self, order: Order) -> int:
        return self._n_lines + order.id

    def store_address(self) -> dict[str, str]:
        return _address("", "")


def _prices(variant: Variant) -> dict[str, str]:
    if variant.compare_at_cents is None:
        return {"price": money(variant.price_cents), "regular_price": money(variant.price_cents), "sale_price": ""}
    return {
        "price": money(variant.price_cents),
        "regular_price": money(variant.compare_at_cents),
        "sale_price": money(variant.price_cents),
    }


def _cost_meta(variant: Variant) -> list[dict[str, Any]]:
    if variant.cost_cents is None:
        return []
    return [{"id": 9_000_000 + variant.id, "key": "_wc_cog_cost", "value": money(variant.cost_cents)}]


def _stock_status(quantity: int) -> str:
    return "instock" if quantity > 0 else "outofstock"


def _address(first: str, last: str) -> dict[str, str]:
    return {"first_name": first, "last_name": last, "company": "", "address_1": "1 Main St", "address_2": "",
            "city": "Springfield", "state": "NY", "postcode": "10001", "country": "US"}


def symbol(currency: str) -> str:
    return _SYMBOLS.get(currency, currency)
