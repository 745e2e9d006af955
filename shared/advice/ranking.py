"""Which findings a store sees: a handful a day, by expected value, varied, one per subject.

A finding's expected value is its score (about the money at stake, in shop currency) times its confidence, so
a likely stock-out outranks a slightly larger but less certain overstock. At most `PER_KIND` findings of one
kind are shown in a run: a catalog that is overstocked everywhere would otherwise fill the day with the same
advice and push a stock-out or a refund spike out of sight (the rest come on later days, as room frees up).
"""

from __future__ import annotations

from collections import Counter

from shared.advice.evidence import RecommendationDraft, RecommendationKind

DEFAULT_DAILY_LIMIT = 5
PER_KIND = 2


def expected_value(draft: RecommendationDraft) -> float:
    return draft.score * draft.confidence


def rank(drafts: list[RecommendationDraft], limit: int = DEFAULT_DAILY_LIMIT,
         skip_keys: frozenset[str] = frozenset(), per_kind: int = PER_KIND) -> list[RecommendationDraft]:
    """The best `limit` drafts: expected value desc, then confidence desc, then key (a total order, so runs
    repeat), at most `per_kind` of a kind.

    Drafts whose dedupe key is in `skip_keys` (already open) are left out; so is a second draft about the same
    product, since one piece of advice per product at a time is easier to act on.
    """
    ordered = sorted(drafts, key=lambda d: (-expected_value(d), -d.confidence, d.dedupe_key))
    out: list[RecommendationDraft] = []
    products: set[object] = set()
    kinds: Counter[RecommendationKind] = Counter()
    for draft in ordered:
        if len(out) >= limit:
            break
        if draft.dedupe_key in skip_keys or kinds[draft.kind] >= per_kind or (
                draft.product_id is not None and draft.product_id in products):
            continue
        out.append(draft)
        kinds[draft.kind] += 1
        if draft.product_id is not None:
            products.add(draft.product_id)
    return out
