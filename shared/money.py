"""Money on the wire: a decimal string beside its currency code, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

CENT = Decimal("0.01")


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: str
    currency: str

    @classmethod
    def of(cls, amount: Decimal | int | str | None, currency: str) -> Money:
        value = Decimal(amount if amount is not None else 0).quantize(CENT, rounding=ROUND_HALF_UP)
        return cls(amount=f"{value:.2f}", currency=currency.strip().upper())


def money_or_none(amount: Decimal | None, currency: str | None) -> Money | None:
    if amount is None or currency is None:
        return None
    return Money.of(amount, currency)
