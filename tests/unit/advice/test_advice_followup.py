"""Follow-up verdicts and the detectors' windows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.advice.facts import Window, Windows
from shared.advice.followup import verdict


def test_verdict_direction_and_the_five_percent_band() -> None:
    assert verdict("units_sold", Decimal(20), Decimal(21)) == "improved"
    assert verdict("units_sold", Decimal(20), Decimal("20.9")) == "unchanged"
    assert verdict("units_sold", Decimal(20), Decimal(18)) == "worse"
    assert verdict("refund_rate_pct", Decimal("12.0"), Decimal("6.0")) == "improved"
    assert verdict("return_share_pct", Decimal("0.0"), Decimal("3.0")) == "worse"
    assert verdict("recurred", Decimal(1), Decimal(0)) == "improved"
    assert verdict("net_sales", Decimal(0), Decimal(0)) == "unchanged"


def test_windows_end_yesterday_and_do_not_overlap_the_baseline() -> None:
    w = Windows.for_day(date(2026, 11, 25))
    assert w.recent == Window(date(2026, 10, 28), date(2026, 11, 24)) and w.recent.days == 28
    assert w.short.date_to == w.dead.date_to == w.revenue_holdout.date_to == date(2026, 11, 24)
    assert w.baseline.date_to == date(2026, 10, 27) and w.baseline.days == 84
    assert w.revenue_history.date_to == date(2026, 11, 17) and w.revenue_holdout.days == 7
    assert w.recent.period == "2026-10-28/2026-11-24" and w.recent.span == "2026-10-28..2026-11-24"
