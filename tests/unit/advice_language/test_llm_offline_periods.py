"""The offline advisor's date phrases and the tool schemas the model sees."""

from __future__ import annotations

from datetime import date

import pytest

from shared.advice.language.offline import Period, parse_period
from shared.advice.language.tools import tool_definitions

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("sales from 2026-10-01 to 2026-10-31?", Period(date(2026, 10, 1), date(2026, 10, 31))),
        ("revenue 2026-10-31 and 2026-10-01", Period(date(2026, 10, 1), date(2026, 10, 31))),
        ("sales in the last 7 days", Period(date(2026, 11, 19), TODAY)),
        ("past 90 days revenue", Period(date(2026, 8, 28), TODAY)),
        ("sales yesterday", Period(date(2026, 11, 24), date(2026, 11, 24))),
        ("sales today", Period(TODAY, TODAY)),
        ("sales last week", Period(date(2026, 11, 16), date(2026, 11, 22))),
        ("sales this week", Period(date(2026, 11, 23), TODAY)),
        ("sales last month", Period(date(2026, 10, 1), date(2026, 10, 31))),
        ("sales this month", Period(date(2026, 11, 1), TODAY)),
        ("sales last year", Period(date(2025, 1, 1), date(2025, 12, 31))),
        ("sales this year", Period(date(2026, 1, 1), TODAY)),
        ("sales in October", Period(date(2026, 10, 1), date(2026, 10, 31))),
        ("sales in December", Period(date(2025, 12, 1), date(2025, 12, 31))),
        ("what did I sell in feb 2024", Period(date(2024, 2, 1), date(2024, 2, 29))),
        ("how are sales", Period(date(2026, 10, 27), TODAY)),
        ("may I see sales", Period(date(2026, 10, 27), TODAY)),
    ],
)
def test_periods(question: str, expected: Period) -> None:
    assert parse_period(question, TODAY) == expected


def test_tools_are_strict_and_never_take_a_store() -> None:
    tools = tool_definitions()
    assert [t["function"]["name"] for t in tools] == [
        "get_summary",
        "get_top_products",
        "get_product_forecast",
        "get_customer_segments",
        "get_funnel",
    ]
    for t in tools:
        params = t["function"]["parameters"]
        assert t["function"]["strict"] is True and params["additionalProperties"] is False
        assert not any("store" in p for p in params["properties"])
