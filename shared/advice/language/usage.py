"""Token and cost accounting: one `llm_usage` row per model call, per organization (what a call cost)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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

    async def tokens_this_month(self, org_id: uuid.UUID) -> int:
        """Prompt + completion tokens the organization used since the start of this calendar month (UTC)."""
        ...


class MemoryUsageRecorder:
    """Keeps records in a list: for tests and for callers that write them elsewhere."""

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    async def record(self, usage: UsageRecord) -> None:
        self.records.append(usage)

    async def tokens_this_month(self, org_id: uuid.UUID) -> int:
        return sum(r.prompt_tokens + r.completion_tokens for r in self.records if r.org_id == org_id)


_INSERT = (
    "insert into llm_usage (org_id, store_id, purpose, model, prompt_tokens, completion_tokens, cost_micro_usd, "
    "outcome, audio_seconds) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
# One range scan of llm_usage_org_created_idx (org_id, created_at): this month's rows of one organization.
_MONTH_TOKENS = (
    "select coalesce(sum(prompt_tokens + completion_tokens), 0)::bigint as used from llm_usage "
    "where org_id = %s and created_at >= %s"
)


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current calendar month, UTC (the budget's period)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


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

    def _month_tokens(self, org_id: uuid.UUID) -> int:
        with self._db.service_sync() as conn:
            row = conn.execute(_MONTH_TOKENS, (org_id, month_start())).fetchone()
        return int(row["used"]) if row else 0

    async def tokens_this_month(self, org_id: uuid.UUID) -> int:
        return await asyncio.to_thread(self._month_tokens, org_id)


class BudgetExceeded(Exception):
    """The organization has used its monthly tokens (the client turns this into LanguageModelError("budget"))."""

    def __init__(self, used: int, limit: int) -> None:
        super().__init__(f"{used} of {limit} tokens used this month")
        self.used = used
        self.limit = limit


class TokenBudget:
    """The monthly token cap per organization, read from the usage rows before each model call.

    `limit` 0 means no cap (nothing is read). A reading is reused for `ttl_seconds` per organization, and the
    tokens of calls recorded through this process in the meantime are added to it, so a busy organization costs
    one indexed query every few seconds. The cap is soft: calls already under way finish, and parallel calls
    may overshoot it by what they use.
    """

    def __init__(self, usage: UsageRecorder, limit: int, *, ttl_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._usage = usage
        self.limit = limit
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[uuid.UUID, tuple[float, int]] = {}  # org -> (read at, tokens)
        self._lock = threading.Lock()  # activities run on threads of their own

    async def used(self, org_id: uuid.UUID) -> int:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(org_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        tokens = await self._usage.tokens_this_month(org_id)
        with self._lock:
            self._cache[org_id] = (now, tokens)
        return tokens

    async def check(self, org_id: uuid.UUID) -> None:
        """Raises BudgetExceeded when the organization has no tokens left this month."""
        if self.limit <= 0:
            return
        used = await self.used(org_id)
        if used >= self.limit:
            raise BudgetExceeded(used, self.limit)

    def spent(self, org_id: uuid.UUID, tokens: int) -> None:
        """Count a recorded call's tokens in the cached reading (the next read from the rows replaces it)."""
        with self._lock:
            cached = self._cache.get(org_id)
            if cached is not None:
                self._cache[org_id] = (cached[0], cached[1] + tokens)
