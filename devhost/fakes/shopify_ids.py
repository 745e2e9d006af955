"""How Shopify spells ids, money and times, so every module of the fake spells them the same."""

from __future__ import annotations

from datetime import UTC, datetime

from graphql import GraphQLError

# Real legacy ids are 13-digit numbers; offsets keep clients from assuming small integers
# (and from mixing kinds: a product id is never a valid variant id).
_OFFSETS = {
    "Product": 8_100_000_000_000,
    "ProductVariant": 44_200_000_000_000,
    "InventoryItem": 46_300_000_000_000,
    "Customer": 7_400_000_000_000,
    "Order": 5_900_000_000_000,
    "LineItem": 14_500_000_000_000,
    "Refund": 930_000_000_000,
    "RefundLineItem": 480_000_000_000,
    "RefundShippingLine": 52_000_000_000,
    "OrderTransaction": 6_800_000_000_000,
    "BulkOperation": 4_100_000_000_000,
}


def legacy_id(kind: str, model_id: int) -> int:
    return _OFFSETS[kind] + model_id


def gid(kind: str, model_id: int) -> str:
    return f"gid://shopify/{kind}/{legacy_id(kind, model_id)}"


def parse_gid(value: str, kind: str) -> int:
    """The model id behind a GID of `kind`; a GraphQL error for anything else."""
    prefix = f"gid://shopify/{kind}/"
    number = value.removeprefix(prefix)
    if number == value or not number.isdigit():
        raise GraphQLError(f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"})
    return int(number) - _OFFSETS[kind]


def amount(cents: int) -> str:
    """Shopify's Decimal rendering: no trailing zeros but one decimal digit ("12.5", "10.0").

    Deliberately not "12.50": clients must parse amounts as decimals, not slice strings.
    """
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    digits = f"{frac:02d}".rstrip("0") or "0"
    return f"{sign}{whole}.{digits}"


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, as Shopify's DateTime scalar."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
