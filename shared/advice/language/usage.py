"""Token and cost accounting: one `llm_usage` row per model call, per organization (what a call cost)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from shared.db.pool import Database


@dataclass(frozen=True)
class UsageRecord:
    org_id: uuid.UUID
    purpose: str  # "phrase", "ask", "rank", "video_transcript", "video_vision"
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    store_id: uuid.UUID | None = None
    outcome: str = "ok"  # "ok", or why the answer was not used: "refusal", "malformed", "untraceable", ...
    audio_seconds: float | None = None  # transcriptions: the audio sent (they are billed by duration)


def cost_micro_usd(prompt_tokens: int, completion_tokens: int, *, input_per_1m: Decimal,
                   output_per_1m: Decimal) -> int:
    """USD per 1M tokens x tokens = micro-USD exactly (10^6 micro-USD per USD, 10^6 tokens per price unit)."""
    cost = Decimal(prompt_tokens) * input_per_1m + Decimal(completion_tokens) * output_per_1m
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def audio_cost_micro_usd(seconds: float, *, per_minute: Decimal) -> int:
    """USD per minute of audio x minutes, in micro-USD (rounded half up)."""
    cost = Decimal(str(seconds)) / 60 * per_minute * 1_000_000
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class UsageRecorder(Protocol):
    async def record(self, usage: UsageRecord) -> None: ...


class MemoryUsageRecorder:
    """Keeps records in a list: for tests and for callers that write them elsewhere."""

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    async def record(self, usage: UsageRecord) -> None:
        self.records.append(usage)


_INSERT = (
    "insert into llm_usage (org_id, store_id, purpose, model, prompt_tokens, completion_tokens, cost_micro_usd, "
    "outcome, audio_seconds) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


class DatabaseUsageRecorder:
    """Writes each record as the service, in its own transaction, so usage survives the request failing.

    Through the thread-safe sync pool: the phraser also runs inside activities, on event loops of their own,
    where the API's async pool cannot be used.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def _write(self, u: UsageRecord) -> None:
        with self._db.service_sync() as conn:
            conn.execute(_INSERT, (u.org_id, u.store_id, u.purpose, u.model, u.prompt_tokens, u.completion_tokens,
                                   u.cost_micro_usd, u.outcome, u.audio_seconds))

    async def record(self, usage: UsageRecord) -> None:
        await asyncio.to_thread(self._write, usage)
