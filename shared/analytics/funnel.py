"""Conversion and the storefront funnel, from the events the storefront sends (POST /events).

Sessions are distinct `session_id`s with any event in the period (shop-local days). The funnel is open:
each step counts the sessions that had that kind of event in the period, whatever they did before.
Conversion rate = orders ÷ sessions (orders as the summary counts them); it is null where no events exist.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field

from shared.analytics.summary import daily_rows, store_context, validate_range

STEPS = ("product_view", "add_to_cart", "checkout_started", "purchase")


class FunnelStep(BaseModel):
    step: str
    sessions: int
    rate_from_previous: float | None = Field(description="sessions ÷ the previous step's; null when it had none")
    rate_from_start: float | None = Field(description="sessions ÷ all sessions; null when there were none")


class FunnelPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    store_id: uuid.UUID
    timezone: str
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    events_present: bool
    sessions: int
    orders: int
    conversion_rate: float | None = Field(description="orders ÷ sessions, 4 decimals; null without events")
    steps: list[FunnelStep]
    as_of: datetime | None
    syncs: list[uuid.UUID]


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole to 4 decimals, half-up; None when whole is 0 (no basis, not zero conversion)."""
    if whole == 0:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def build_steps(sessions: int, by_step: dict[str, int]) -> list[FunnelStep]:
    steps, previous = [], sessions
    for name in STEPS:
        count = by_step.get(name, 0)
        steps.append(FunnelStep(step=name, sessions=count, rate_from_previous=ratio(count, previous),
                                rate_from_start=ratio(count, sessions)))
        previous = count
    return steps


async def funnel(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID, date_from: date,
                 date_to: date) -> FunnelPublic:
    validate_range(date_from, date_to)
    store = await store_context(conn, store_id)
    cur = await conn.execute(
        "select count(distinct session_id) as sessions, "
        + ", ".join(f"count(distinct session_id) filter (where type = '{s}') as {s}" for s in STEPS)
        + " from events where store_id = %s and (occurred_at at time zone %s)::date between %s and %s",
        (store_id, store.timezone, date_from, date_to))
    row = await cur.fetchone() or {}
    sessions = int(row.get("sessions") or 0)
    orders = sum(int(r["orders"]) for r in await daily_rows(conn, store, date_from, date_to)
                 if date_from <= r["day"] <= date_to)
    return FunnelPublic.model_validate({
        "store_id": store_id, "timezone": store.timezone, "from": date_from, "to": date_to,
        "events_present": sessions > 0, "sessions": sessions, "orders": orders,
        "conversion_rate": ratio(orders, sessions),
        "steps": build_steps(sessions, {s: int(row.get(s) or 0) for s in STEPS}), "as_of": store.as_of,
        "syncs": store.syncs})
