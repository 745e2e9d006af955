"""The template phraser quotes figure values verbatim and no other number; ranking keeps a handful."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.advice.detectors import sales, stock, store, views
from shared.advice.evidence import RecommendationDraft, RecommendationKind
from shared.advice.facts import RevenueFacts, SyncFacts
from shared.advice.numbers import untraceable_numbers
from shared.advice.ranking import expected_value, rank
from shared.advice.templates import TEMPLATES, TemplatePhraser
from tests.unit.advice.advice_support import catalog, facts, forecast, funnel, metrics, product, summary

NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:-\d{2}-\d{2})?")


def _drafts() -> list[RecommendationDraft]:
    f = facts()
    w = f.windows
    hot = product("Trail 2000 Runner", units=28, net="700.00", on_hand=5, doi=5.0)
    dead = product("Old Lamp", units=0, net="0.00", on_hand=12)
    out = [
        stock.stockout_risk(hot, forecast(hot, stockout_in=5), f),
        stock.stockout_risk(hot, forecast(hot, stockout_in=0), f),
        stock.fast_mover_low_stock(product(units=40, net="1000.00", on_hand=30, doi=21.0, abc="A", trend=35.0), f),
        stock.overstock(product(units=10, net="250.00", on_hand=200, doi=560.0), f),
        stock.dead_stock(dead, facts(catalog={dead.product_id: catalog(dead)})),
        stock.dead_stock(dead, facts(catalog={dead.product_id: catalog(dead, at_cost=None)})),
        sales.price_anomaly(product(units=10, net="320.00"), product(units=20, net="500.00"), f),
        sales.discount_anomaly(
            facts(summary_recent=summary(w.recent.date_from, 28, metrics(discounts="150.00"), metrics()))
        ),
        sales.store_refund_spike(
            facts(
                summary_short=summary(w.short.date_from, 14, metrics(orders=100, refunds=8), metrics()),
                summary_baseline=summary(w.baseline.date_from, 84, metrics(orders=300, refunds=9), metrics()),
            )
        ),
        sales.product_refund_spike(
            product(units=10, net="150.00", returns="100.00"), product(units=40, net="950.00", returns="50.00"), f
        ),
        store.revenue_anomaly(
            facts(revenue=RevenueFacts([Decimal("50.00")] * 7, [100.0] * 7, [80.0] * 7, [120.0] * 7, "AutoETS"))
        ),
        store.revenue_anomaly(
            facts(revenue=RevenueFacts([Decimal("200.00")] * 7, [100.0] * 7, [80.0] * 7, [120.0] * 7, "AutoETS"))
        ),
        store.falling_repeat_rate(
            facts(
                summary_recent=summary(
                    w.recent.date_from,
                    28,
                    metrics(new_customers=70, returning_customers=30),
                    metrics(new_customers=50, returning_customers=50),
                )
            )
        ),
        store.falling_conversion(
            facts(
                funnel_recent=funnel(w.recent.date_from, 28, 1000, 15),
                funnel_previous=funnel(w.recent.date_from - timedelta(days=28), 28, 1000, 30),
            )
        ),
        views.low_view_conversion(
            product("Poor Tee", units=4, net="100.00"),
            facts(
                recent={
                    product("Poor Tee").product_id: product("Poor Tee", units=4, net="100.00"),
                    product("Good Tee").product_id: product("Good Tee", units=60, net="1500.00"),
                },
                product_views={product("Poor Tee").product_id: 200, product("Good Tee").product_id: 400},
            ),
        ),
        store.missing_costs(facts(catalog={dead.product_id: catalog(dead, variants=10, missing=3)})),
        store.stale_sync(facts(sync=SyncFacts(datetime(2026, 11, 20, tzinfo=UTC), "failed", None, 360))),
        store.stale_sync(facts(sync=SyncFacts(None, None, None, 360))),
    ]
    assert all(d is not None for d in out)
    return [d for d in out if d is not None]


DRAFTS = _drafts()


def test_every_kind_has_a_template_and_a_case_here() -> None:
    assert set(TEMPLATES) == set(RecommendationKind)
    assert {d.kind for d in DRAFTS} == set(RecommendationKind)


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: d.dedupe_key.split(":")[0])
def test_every_number_in_the_words_is_a_figure_value(draft: RecommendationDraft) -> None:
    text = asyncio.run(TemplatePhraser().phrase(draft))
    words = f"{text.title}\n{text.rationale}"
    assert untraceable_numbers(words, draft.figures, draft.expected_impact, quoted=[draft.subject]) == []
    # The same check, independently: every digit run (subject aside) is a figure or impact value.
    allowed = {f.value for f in draft.figures} | ({draft.expected_impact.value} if draft.expected_impact else set())
    for number in NUMBER.findall(words.replace(draft.subject, "")):
        assert number in allowed, (number, words)


def test_the_template_phraser_is_deterministic() -> None:
    phraser = TemplatePhraser()
    assert [phraser.phrase_sync(d) for d in DRAFTS] == [phraser.phrase_sync(d) for d in DRAFTS]


def test_ranking_caps_skips_open_ones_and_keeps_one_per_product() -> None:
    picked = rank(DRAFTS, 5)
    assert len(picked) == 5
    values = [expected_value(d) for d in picked]
    assert values == sorted(values, reverse=True)
    products = [d.product_id for d in picked if d.product_id is not None]
    assert len(products) == len(set(products))
    skipped = rank(DRAFTS, 5, frozenset({picked[0].dedupe_key}))
    assert picked[0].dedupe_key not in {d.dedupe_key for d in skipped}
    assert rank(DRAFTS, 0) == []


def test_ranking_weighs_confidence_and_keeps_kinds_varied() -> None:
    f = facts()
    short = product("Coastal Belt", units=60, net="1500.00", on_hand=4, doi=2.0)
    risk = stock.stockout_risk(short, forecast(short, stockout_in=2), f)
    assert risk is not None
    overstocked = [stock.overstock(product(f"Vase {chr(65 + i)}", units=5, net="125.00", on_hand=700, doi=3920.0), f)
                   for i in range(6)]
    drafts = [d for d in overstocked if d is not None]
    # Overstock findings worth a little more money but less certain than the stock-out do not crowd it out.
    drafts = [d.model_copy(update={"score": risk.score * 1.1, "confidence": 0.6}) for d in drafts]
    picked = rank([*drafts, risk.model_copy(update={"confidence": 0.8})], 5)
    assert picked[0].kind == RecommendationKind.STOCKOUT_RISK
    assert [d.kind for d in picked].count(RecommendationKind.OVERSTOCK) == 2
