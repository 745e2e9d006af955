"""Deterministic seeded generator of a demo store (products, customers, a year of orders).

Everything draws from one `random.Random(seed)` in a fixed order, so the same config gives the
same store, byte for byte. Sizes scale to the benchmark (10k products, 50k customers, 200k
orders) in seconds; the products/customers/orders generators yield one object at a time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from devhost.fakes.catalog_calendar import order_times
from devhost.fakes.catalog_orders import OrderFactory, OrderMix, plant_fates
from devhost.fakes.catalog_planted import plant_situations
from devhost.fakes.model import Customer, Order, PaymentState, Product, ProductStatus, Shop, StoreModel, Variant

_TYPES: dict[str, tuple[str, int, int, tuple[str, ...]]] = {
    # product_type: (sku prefix, min price cents, max price cents, nouns)
    "Apparel": ("APP", 1500, 9000, ("Tee", "Hoodie", "Jacket", "Shirt", "Sweater", "Cardigan")),
    "Footwear": ("FTW", 4000, 16000, ("Sneaker", "Boot", "Sandal", "Loafer", "Runner")),
    "Accessories": ("ACC", 900, 6000, ("Cap", "Scarf", "Belt", "Tote", "Beanie", "Wallet")),
    "Home": ("HOM", 1200, 12000, ("Mug", "Blanket", "Candle", "Vase", "Cushion", "Lamp")),
    "Beauty": ("BEA", 700, 4500, ("Balm", "Serum", "Soap", "Lotion", "Mist")),
    "Outdoor": ("OUT", 2000, 25000, ("Tent", "Pack", "Bottle", "Lantern", "Hammock")),
}
_ADJECTIVES = ("Classic", "Everyday", "Alpine", "Coastal", "Urban", "Heritage", "Trail", "Cozy", "Bold", "Nordic")
_VENDORS = ("Northwind", "Alder & Co", "Peak Supply", "Harbor Goods", "Fjord Works")
_TAGS = ("new", "bestseller", "eco", "limited", "sale", "gift", "summer", "winter")
_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_COLORS = ("Black", "White", "Navy", "Olive", "Sand", "Rust", "Grey", "Teal")
_FIRST = ("Ava", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena")
_LAST = ("Smith", "Garcia", "Nguyen", "Okafor", "Rossi", "Schmidt", "Kim", "Dubois", "Silva", "Haddad")


@dataclass(frozen=True, slots=True)
class CatalogConfig:
    """Sizes and knobs of a generated store; the defaults are the local demo store."""

    seed: int = 42
    products: int = 60
    variants_per_product: float = 2.5  # average; about 30 % of products have a single variant
    customers: int = 400
    orders: int = 3000
    days: int = 365  # orders span the `days` local days before `as_of`
    as_of: datetime = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    shop_name: str = "Northwind Outfitters (demo)"
    shop_domain: str = "northwind-demo"
    timezone: str = "America/New_York"
    currency: str = "USD"
    mix: OrderMix = field(default_factory=OrderMix)

    def __post_init__(self) -> None:
        if self.products < 3 or self.customers < 1 or self.orders < 0 or self.days < 1:
            raise ValueError("need at least 3 products, 1 customer, 0 orders and 1 day")
        if self.variants_per_product < 1:
            raise ValueError("variants_per_product must be at least 1")
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")


def generate_store(config: CatalogConfig | None = None) -> StoreModel:
    """Build the whole store model for `config` (the demo store by default)."""
    cfg = config or CatalogConfig()
    rng = random.Random(cfg.seed)
    shop = Shop(name=cfg.shop_name, domain=cfg.shop_domain, iana_timezone=cfg.timezone, currency=cfg.currency)
    products = tuple(iter_products(cfg, rng))
    variants = tuple(v for p in products for v in p.variants)
    customers = tuple(iter_customers(cfg, rng))
    orders = tuple(iter_orders(cfg, rng, shop, products, customers))
    planted = plant_situations(products, orders, cfg.as_of)  # no draws from rng: the rest stays as it was
    _settle_customers(rng, customers, orders, cfg.as_of)
    return StoreModel(
        seed=cfg.seed,
        shop=shop,
        as_of=cfg.as_of,
        products=products,
        variants=variants,
        customers=customers,
        orders=orders,
        planted=planted,
    )


def iter_products(cfg: CatalogConfig, rng: random.Random) -> Iterator[Product]:
    """Products with ids 1..n; statuses planted (at least one DRAFT and one ARCHIVED)."""
    statuses = _planted_statuses(rng, cfg.products)
    counts = _variant_counts(rng, cfg.products, cfg.variants_per_product)
    start = cfg.as_of - timedelta(days=cfg.days)
    next_variant_id = 1
    for index in range(cfg.products):
        product_id = index + 1
        ptype = rng.choice(tuple(_TYPES))
        prefix, low, high, nouns = _TYPES[ptype]
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(nouns)}"
        created = _random_time(rng, start - timedelta(days=730), start - timedelta(days=1))
        updated = _random_time(rng, created, cfg.as_of - timedelta(hours=1))
        draft = Product(
            id=product_id,
            title=title,
            handle=f"{title.lower().replace(' ', '-')}-{product_id}",
            vendor=rng.choice(_VENDORS),
            product_type=ptype,
            tags=tuple(sorted(rng.sample(_TAGS, rng.randint(0, 3)))),
            status=statuses[index],
            created_at=created,
            updated_at=updated,
            variants=(),
        )
        draft.variants = _variants(rng, draft, next_variant_id, counts[index], prefix, _price(rng, low, high))
        next_variant_id += counts[index]
        yield draft


def _variants(
    rng: random.Random, product: Product, first_id: int, count: int, prefix: str, base: int
) -> tuple[Variant, ...]:
    on_sale = rng.random() < 0.25
    variants = []
    for offset, title in enumerate(_variant_titles(count)):
        price = base + (300 if title.startswith(("XL", "XXL")) else 0)
        variants.append(
            Variant(
                id=first_id + offset,
                product_id=product.id,
                title=title,
                sku=None if rng.random() < 0.02 else f"{prefix}-{product.id:05d}-{offset + 1:02d}",
                price_cents=price,
                compare_at_cents=_price_ending(int(price * rng.uniform(1.15, 1.5))) if on_sale else None,
                cost_cents=None if rng.random() < 0.15 else int(price * rng.uniform(0.3, 0.6)),
                inventory=_inventory(rng),
                created_at=product.created_at,
                updated_at=_random_time(rng, product.created_at, product.updated_at),
            )
        )
    return tuple(variants)


def iter_customers(cfg: CatalogConfig, rng: random.Random) -> Iterator[Customer]:
    """Registered customers; created/updated are settled once their orders are known."""
    start = cfg.as_of - timedelta(days=cfg.days)
    for customer_id in range(1, cfg.customers + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        signup = _random_time(rng, start - timedelta(days=365), cfg.as_of - timedelta(hours=1))
        yield Customer(
            id=customer_id,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{customer_id}@example.com".lower(),
            created_at=signup,
            updated_at=signup,
        )


def iter_orders(
    cfg: CatalogConfig,
    rng: random.Random,
    shop: Shop,
    products: tuple[Product, ...],
    customers: tuple[Customer, ...],
) -> Iterator[Order]:
    """Orders in created order (ids ascending), each with its lines, discounts and refunds."""
    times = order_times(rng, cfg.orders, cfg.days, cfg.as_of, shop.zone)
    fates = plant_fates(rng, cfg.orders, cfg.mix)
    factory = OrderFactory(rng, cfg.mix, cfg.as_of, shop.currency, products, customers)
    for index, created in enumerate(times):
        yield factory.build(index + 1, created, fates[index])


def _settle_customers(
    rng: random.Random, customers: tuple[Customer, ...], orders: tuple[Order, ...], as_of: datetime
) -> None:
    """Order counts, amount spent, and sign-up before the first order (Shopify's own numbers)."""
    first_seen: dict[int, datetime] = {}
    for order in orders:
        if order.customer_id is None or order.deleted or order.payment in (PaymentState.FAILED, PaymentState.DRAFT):
            continue
        customer = customers[order.customer_id - 1]
        customer.orders_count += 1
        customer.spent_cents += order.total_cents - order.refunded_cents
        first_seen.setdefault(customer.id, order.created_at)
        customer.updated_at = max(customer.updated_at, order.updated_at)
    for customer in customers:
        first = first_seen.get(customer.id)
        if first is not None and first <= customer.created_at:
            customer.created_at = first - timedelta(seconds=rng.randint(600, 30 * 86400))
        customer.updated_at = min(max(customer.updated_at, customer.created_at), as_of)


def _planted_statuses(rng: random.Random, n: int) -> list[ProductStatus]:
    drafts = max(1, round(n * 0.10))
    archived = max(1, round(n * 0.05))
    statuses = [ProductStatus.DRAFT] * drafts + [ProductStatus.ARCHIVED] * archived
    statuses += [ProductStatus.ACTIVE] * (n - len(statuses))
    rng.shuffle(statuses)
    return statuses


def _variant_counts(rng: random.Random, n: int, per_product: float) -> list[int]:
    counts = [1] * n
    variable = [i for i in range(n) if rng.random() < 0.7] or list(range(n))
    for _ in range(max(0, round(n * per_product) - n)):
        counts[rng.choice(variable)] += 1
    return counts


def _variant_titles(count: int) -> list[str]:
    if count == 1:
        return ["Default Title"]
    combos = [f"{size} / {color}" for color in _COLORS for size in _SIZES]
    return [combos[i] if i < len(combos) else f"Option {i + 1}" for i in range(count)]


def _price(rng: random.Random, low: int, high: int) -> int:
    return _price_ending(rng.randint(low, high))


def _price_ending(cents: int) -> int:
    """Shelf prices end in .99, .95 or .00, like a real catalog."""
    return max(99, (cents // 100) * 100 + (99, 95, 0)[cents % 3])


def _inventory(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.10:
        return 0  # out of stock
    if roll < 0.12:
        return -rng.randint(1, 5)  # oversold: Shopify allows negative stock
    return rng.randint(1, 250)


def _random_time(rng: random.Random, low: datetime, high: datetime) -> datetime:
    span = max(0, int((high - low).total_seconds()))
    return low + timedelta(seconds=rng.randint(0, span))
