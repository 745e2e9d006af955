"""What the detectors read: the outputs of the analytics services for one store and one as-of day.

Pure data, no I/O: `shared.advice.inputs` fills it from the services, tests build it by hand. Every window
ends on the last complete shop-local day (`as_of - 1`), so a run on the same day sees the same figures.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.analytics.forecast import ForecastPublic
from shared.analytics.funnel import FunnelPublic
from shared.analytics.products import ProductMetrics
from shared.analytics.summary import SummaryPublic

RECENT_DAYS = 28  # the window most detectors look at (the same as days of inventory)
SHORT_DAYS = 14  # refund spikes show within two weeks
DEAD_DAYS = 90  # no sale for a quarter: dead stock
BASELINE_DAYS = 84  # twelve weeks before the recent window: a product's or the store's own normal
REVENUE_HOLDOUT_DAYS = 7  # the last week of net sales, against a forecast fit on the weeks before
REVENUE_HISTORY_DAYS = 112


@dataclass(frozen=True)
class Window:
    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def period(self) -> str:
        """ISO interval, as figures quote it."""
        return f"{self.date_from.isoformat()}/{self.date_to.isoformat()}"

    @property
    def span(self) -> str:
        """As service calls are written in a figure's `query`."""
        return f"{self.date_from.isoformat()}..{self.date_to.isoformat()}"

    @staticmethod
    def ending(last: date, days: int) -> Window:
        return Window(last - timedelta(days=days - 1), last)


@dataclass(frozen=True)
class Windows:
    recent: Window
    short: Window
    dead: Window
    baseline: Window
    revenue_history: Window
    revenue_holdout: Window

    @staticmethod
    def for_day(as_of: date) -> Windows:
        last = as_of - timedelta(days=1)
        recent = Window.ending(last, RECENT_DAYS)
        holdout = Window.ending(last, REVENUE_HOLDOUT_DAYS)
        return Windows(
            recent=recent, short=Window.ending(last, SHORT_DAYS), dead=Window.ending(last, DEAD_DAYS),
            baseline=Window.ending(recent.date_from - timedelta(days=1), BASELINE_DAYS),
            revenue_history=Window.ending(holdout.date_from - timedelta(days=1), REVENUE_HISTORY_DAYS),
            revenue_holdout=holdout)


@dataclass(frozen=True)
class CatalogFacts:
    """A product's catalog data (synced, not computed): status, costs and stock value."""

    product_id: uuid.UUID
    status: str
    variants: int
    variants_missing_cost: int
    stock_value_at_cost: Decimal | None  # Σ cost * max(on hand, 0); None when a stocked variant has no cost
    stock_value_at_price: Decimal  # Σ price * max(on hand, 0)


@dataclass(frozen=True)
class SyncFacts:
    last_synced_at: datetime | None
    last_status: str | None  # of the newest finished sync job
    last_error: str | None
    freshness_minutes: int


@dataclass(frozen=True)
class RevenueFacts:
    """The store's daily net sales forecast over the holdout week (analytics.timeseries + forecast_series)."""

    actual: list[Decimal]
    mean: list[float]
    lower: list[float]
    upper: list[float]
    model: str


@dataclass(frozen=True)
class StoreFacts:
    store_id: uuid.UUID
    name: str
    currency: str
    as_of: date
    now: datetime
    windows: Windows
    lead_time_days: int
    recent: dict[uuid.UUID, ProductMetrics]
    short: dict[uuid.UUID, ProductMetrics]
    dead: dict[uuid.UUID, ProductMetrics]
    baseline: dict[uuid.UUID, ProductMetrics]
    summary_recent: SummaryPublic | None = None
    summary_short: SummaryPublic | None = None
    summary_baseline: SummaryPublic | None = None
    funnel_recent: FunnelPublic | None = None
    funnel_previous: FunnelPublic | None = None
    forecasts: dict[uuid.UUID, ForecastPublic] = field(default_factory=dict)
    catalog: dict[uuid.UUID, CatalogFacts] = field(default_factory=dict)
    sync: SyncFacts | None = None
    revenue: RevenueFacts | None = None
    product_views: dict[uuid.UUID, int] = field(default_factory=dict)  # sessions with a product_view
