"""When orders happen: weekly and yearly seasonality, in the shop's own time zone."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from devhost.fakes.catalog_orders import pick

_WEEKLY = (0.92, 0.88, 0.93, 1.0, 1.12, 1.28, 1.17)  # Monday..Sunday: weekend peak
_HOUR_CUM = tuple(accumulate((1, 1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 8, 9, 8, 8, 8, 8, 9, 10, 11, 11, 9, 6, 3)))


def yearly_factor(day: date) -> float:
    """Holiday peak in mid December, trough in mid June."""
    return 1.0 + 0.35 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 350) / 365.25)


def order_times(rng: random.Random, count: int, days: int, as_of: datetime, zone: ZoneInfo) -> list[datetime]:
    """`count` UTC timestamps over the `days` local days before `as_of`, weekly and yearly seasonal."""
    last_day = as_of.astimezone(zone).date() - timedelta(days=1)
    dates = [last_day - timedelta(days=days - 1 - offset) for offset in range(days)]
    weights = [_WEEKLY[d.weekday()] * yearly_factor(d) for d in dates]
    total = sum(weights)
    times: list[datetime] = []
    running = 0.0
    for index, (day, weight) in enumerate(zip(dates, weights, strict=True)):
        running += weight
        # Cumulative rounding hands out exactly `count` orders whatever the float error.
        upto = count if index == days - 1 else int(count * running / total)
        times.extend(_local_time(rng, day, zone) for _ in range(upto - len(times)))
    times.sort()
    return times


def _local_time(rng: random.Random, day: date, zone: ZoneInfo) -> datetime:
    hour = pick(rng, _HOUR_CUM)
    local = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=zone)
    return local.astimezone(UTC)
