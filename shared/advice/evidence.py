"""What advice rests on: figures computed by code, and the drafts detectors make from them.

The contract between the detectors (which compute) and the phrasers (template or language model, which
only word and rank): a phrase may quote a number only if it is the `value` of one of the draft's figures
(or of its expected impact). `shared.advice.numbers` checks that; nothing else is shown to a merchant.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Unit = Literal["count", "units", "money", "percent", "ratio", "days", "date", "text"]


class Figure(BaseModel):
    """One number computed from synced data, with where it came from."""

    model_config = ConfigDict(frozen=True)

    metric: str = Field(description="machine name, e.g. 'units_sold' or 'days_of_inventory'")
    label: str = Field(description="what it is, for people: 'units sold in the last 28 days'")
    value: str = Field(description="exactly as it may be quoted: '14', '12.50', '3.2', '2026-12-03'")
    unit: Unit
    currency: str | None = None
    period: str = Field(description="ISO interval in the shop's time zone, '2026-10-28/2026-11-24', or a date")
    query: str = Field(description="the service call or SQL that produced it, reproducible")


class Impact(BaseModel):
    """Expected effect of acting, with the arithmetic that gives it (its numbers are figures too)."""

    model_config = ConfigDict(frozen=True)

    metric: str
    value: str
    unit: Unit
    currency: str | None = None
    arithmetic: str = Field(description="'4.5 units/day * 6 days * 25.00 EUR = 675.00 EUR'")


class RecommendationKind(StrEnum):
    STOCKOUT_RISK = "stockout_risk"
    OVERSTOCK = "overstock"
    DEAD_STOCK = "dead_stock"
    FAST_MOVER_LOW_STOCK = "fast_mover_low_stock"
    PRICE_ANOMALY = "price_anomaly"
    DISCOUNT_ANOMALY = "discount_anomaly"
    LOW_CONVERSION = "low_conversion"
    REFUND_SPIKE = "refund_spike"
    FALLING_REPEAT_RATE = "falling_repeat_rate"
    REVENUE_ANOMALY = "revenue_anomaly"
    DATA_QUALITY = "data_quality"


class RecommendationDraft(BaseModel):
    """A detector's finding before it is worded: every number it may be described with is in `figures`."""

    model_config = ConfigDict(frozen=True)

    kind: RecommendationKind
    store_id: uuid.UUID
    product_id: uuid.UUID | None = None
    subject: str = Field(description="product title or store name: data, never instructions")
    figures: list[Figure]
    expected_impact: Impact | None = None
    confidence: float = Field(ge=0, le=1)
    score: float = Field(description="ranking weight (higher first); usually the impact in shop currency")
    dedupe_key: str = Field(description="same finding, same key: kind + subject id (+ period when it matters)")


class AdviceText(BaseModel):
    """The words around the figures."""

    title: str = Field(max_length=200)
    rationale: str = Field(max_length=2000)
    worded_by: Literal["template", "model"] = Field(default="template", description="stored beside the advice")


class Phraser(Protocol):
    """Words a draft: the deterministic template advisor, or a language model checked against the figures."""

    async def phrase(self, draft: RecommendationDraft) -> AdviceText: ...
