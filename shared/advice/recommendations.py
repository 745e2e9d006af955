"""Recommendations: run the detectors for a store and keep the best few, list them, and take feedback.

A run is idempotent for a shop-local day: it adds at most `limit` recommendations per store and day (counting
what earlier runs of that day added), never a second open one with the same dedupe key (a partial unique index
backs that up), and the same facts give the same drafts, ranked the same way. No transaction is open while the
drafts are worded (the phraser may call a language model): a run reads, words, then writes in a short
transaction under the store's advisory lock.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from shared.advice.detectors import detect
from shared.advice.evidence import AdviceText, Figure, Impact, Phraser, RecommendationDraft
from shared.advice.facts import StoreFacts
from shared.advice.inputs import gather
from shared.advice.ranking import DEFAULT_DAILY_LIMIT, rank
from shared.advice.templates import TemplatePhraser
from shared.errors import Conflict, NotFound
from shared.pagination import decode_cursor, encode_cursor, page_of

Status = Literal["open", "accepted", "dismissed", "expired", "measured"]
EXPIRE_AFTER_DAYS = 30  # an open recommendation nobody acted on goes stale: its figures are a month old
# Drafts worded beyond the room the day has left: a concurrent run may have added some of the same findings (or
# used the room) between the read and the write. Two keep that rare case full at the cost of two extra wordings.
SPARES = 2


class Outcome(BaseModel):
    metric: str
    before: str
    after: str
    window: str = Field(description="'<before from>/<before to> vs <after from>/<after to>' (shop-local days)")
    verdict: Literal["improved", "unchanged", "worse"]


class RecommendationPublic(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    product_id: uuid.UUID | None
    kind: str
    title: str
    rationale: str
    evidence: list[Figure]
    expected_impact: Impact | None
    confidence: float
    status: Status
    phraser: Literal["template", "model"]
    created_at: datetime
    accepted_at: datetime | None
    outcome: Outcome | None


@dataclass(frozen=True)
class RunResult:
    store_id: uuid.UUID
    run_day: date
    detected: int
    created: list[uuid.UUID]
    expired: int


def _public(row: dict[str, Any]) -> RecommendationPublic:
    return RecommendationPublic(
        id=row["id"], store_id=row["store_id"], product_id=row["product_id"], kind=row["kind"], title=row["title"],
        rationale=row["rationale"], evidence=[Figure.model_validate(f) for f in row["evidence"]],
        expected_impact=None if row["expected_impact"] is None else Impact.model_validate(row["expected_impact"]),
        confidence=float(row["confidence"]), status=row["status"], phraser=row["phraser"],
        created_at=row["created_at"], accepted_at=row["accepted_at"],
        outcome=None if row["outcome"] is None else Outcome.model_validate(row["outcome"]))


async def _expire(conn: AsyncConnection[DictRow], store_id: uuid.UUID, day: date, found: list[str]) -> int:
    """Open ones of earlier days expire when today's facts no longer show them, or after EXPIRE_AFTER_DAYS."""
    cur = await conn.execute(
        "update recommendations set status = 'expired', updated_at = now() "
        "where store_id = %s and status = 'open' and run_day < %s and (run_day < %s or dedupe_key <> all(%s))",
        (store_id, day, day - timedelta(days=EXPIRE_AFTER_DAYS), found))
    return cur.rowcount


async def _insert(conn: AsyncConnection[DictRow], org_id: uuid.UUID, day: date, draft: RecommendationDraft,
                  text: AdviceText) -> uuid.UUID | None:
    impact = None if draft.expected_impact is None else Jsonb(draft.expected_impact.model_dump(mode="json"))
    cur = await conn.execute(
        "insert into recommendations (org_id, store_id, product_id, kind, title, rationale, evidence, "
        "expected_impact, confidence, score, dedupe_key, run_day, phraser) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "on conflict (store_id, dedupe_key) where status = 'open' do nothing returning id",
        (org_id, draft.store_id, draft.product_id, draft.kind.value, text.title, text.rationale,
         Jsonb([f.model_dump(mode="json") for f in draft.figures]), impact, round(draft.confidence, 3), draft.score,
         draft.dedupe_key, day, text.worded_by))
    row = await cur.fetchone()
    return None if row is None else row["id"]


@dataclass(frozen=True)
class _DayState:
    org_id: uuid.UUID
    today: int  # recommendations the store's runs already added on the day
    open_keys: frozenset[str]


async def _day_state(conn: AsyncConnection[DictRow], store_id: uuid.UUID, day: date) -> _DayState:
    cur = await conn.execute(
        "select s.org_id, (select count(*) from recommendations r where r.store_id = s.id and r.run_day = %s) as today,"
        " array(select r.dedupe_key from recommendations r where r.store_id = s.id and r.status = 'open') as open "
        "from stores s where s.id = %s", (day, store_id))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("store not found")
    return _DayState(row["org_id"], int(row["today"]), frozenset(row["open"]))


def candidates(drafts: list[RecommendationDraft], state: _DayState, limit: int) -> list[RecommendationDraft]:
    """What is worth wording before the write: the best drafts for the room the day has left, plus SPARES in
    case a concurrent run takes some of them first (none when the day is full: no model call is made)."""
    room = max(0, limit - state.today)
    return rank(drafts, room + SPARES, state.open_keys) if room else []


async def persist(conn: AsyncConnection[DictRow], store_id: uuid.UUID, day: date,
                  worded: list[tuple[RecommendationDraft, AdviceText]], found: list[str],
                  limit: int = DEFAULT_DAILY_LIMIT) -> tuple[list[uuid.UUID], int]:
    """In the caller's (short) transaction, under the store's advisory lock: keep the worded drafts, in their
    order, that the day still has room for now; (ids created, open ones expired).

    The day's count and the open keys are read again under the lock, so two runs racing on a store add at
    most `limit` together, and never the same open finding twice (the partial unique index backs that up).
    """
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"advisor:{store_id}",))
    expired = await _expire(conn, store_id, day, found)
    state = await _day_state(conn, store_id, day)
    room = max(0, limit - state.today)
    created: list[uuid.UUID] = []
    for draft, text in worded:
        if len(created) >= room:
            break
        if draft.dedupe_key in state.open_keys:
            continue
        rid = await _insert(conn, state.org_id, day, draft, text)
        if rid is not None:
            created.append(rid)
    return created, expired


async def _audit(conn: AsyncConnection[DictRow], store_id: uuid.UUID, action: str, details: dict[str, Any]) -> None:
    await conn.execute(
        "insert into audit_log (org_id, action, target_type, target_id, details) "
        "select org_id, %s, 'store', id::text, %s from stores where id = %s",
        (action, Jsonb(json.loads(json.dumps(details, default=str))), store_id))


async def run_for_store(conn: AsyncConnection[DictRow], store_id: uuid.UUID, *, phraser: Phraser | None = None,
                        as_of: date | None = None, limit: int = DEFAULT_DAILY_LIMIT, lead_time_days: int = 14,
                        facts: StoreFacts | None = None) -> RunResult:
    """Detect, rank, word and keep a store's recommendations for `as_of` (default: the shop's today).

    `conn` must have no transaction open: the run opens its own short ones. (1) read: the facts, the day's count
    and the open keys; (2) detect and pick the candidates, and word them with **no transaction open** (a model
    call may take LLM_TIMEOUT_SECONDS; neither a snapshot nor the store's lock is held meanwhile); (3) write,
    under the store's advisory lock: re-read the day, insert what still fits, expire, audit.
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("run_for_store needs a connection with no transaction open")
    async with conn.transaction():
        if facts is None:
            facts = await gather(conn, store_id, as_of=as_of, lead_time_days=lead_time_days)
        state = await _day_state(conn, store_id, facts.as_of)
    drafts = detect(facts)
    picked = candidates(drafts, state, limit)
    phraser = phraser or TemplatePhraser()
    worded = [(draft, await phraser.phrase(draft)) for draft in picked]
    async with conn.transaction():
        created, expired = await persist(conn, store_id, facts.as_of, worded, [d.dedupe_key for d in drafts], limit)
        await _audit(conn, store_id, "advisor.run", {"run_day": facts.as_of, "detected": len(drafts),
                                                     "worded": len(worded), "created": len(created),
                                                     "expired": expired})
    return RunResult(store_id, facts.as_of, len(drafts), created, expired)


_LIST = "select * from recommendations r"


async def list_recommendations(conn: AsyncConnection[DictRow], *, store_id: uuid.UUID | None, status: Status | None,
                               limit: int, cursor: str | None) -> tuple[list[RecommendationPublic], str | None]:
    """Newest first (created_at, id); RLS keeps other organizations' rows out, a hidden store is 404."""
    if store_id is not None:
        cur = await conn.execute("select 1 from stores where id = %s", (store_id,))
        if await cur.fetchone() is None:
            raise NotFound("store not found")
    kind = f"recommendations:{store_id}:{status}"
    where, params = ["true"], []
    for clause, value in (("r.store_id = %s", store_id), ("r.status = %s", status)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if cursor:
        created, last_id = decode_cursor(cursor, kind, (str, str))
        where.append("(r.created_at, r.id) < (%s::timestamptz, %s::uuid)")
        params += [created, last_id]
    cur = await conn.execute(f"{_LIST} where {' and '.join(where)} order by r.created_at desc, r.id desc limit %s",
                             [*params, limit + 1])
    rows = await cur.fetchall()
    page, next_cursor = page_of(rows, limit, lambda r: encode_cursor(kind, [r["created_at"].isoformat(), str(r["id"])]))
    return [_public(r) for r in page], next_cursor


async def feedback(conn: AsyncConnection[DictRow], recommendation_id: uuid.UUID, user_id: uuid.UUID,
                   action: Literal["accept", "dismiss"]) -> RecommendationPublic:
    """Accept or dismiss an open recommendation (as the caller: another organization's is 404; not open is 409)."""
    cur = await conn.execute("select * from recommendations where id = %s for update", (recommendation_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("recommendation not found")
    if row["status"] != "open":
        raise Conflict(f"the recommendation is not open ({row['status']})")
    column, status = ("accepted_at", "accepted") if action == "accept" else ("dismissed_at", "dismissed")
    cur = await conn.execute(
        f"update recommendations set status = %s, {column} = now(), acted_by = %s, updated_at = now() "
        "where id = %s returning *", (status, user_id, recommendation_id))
    updated = await cur.fetchone()
    assert updated is not None
    await conn.execute(
        "insert into audit_log (org_id, actor_id, action, target_type, target_id, details) "
        "values (%s, %s, %s, 'recommendation', %s, %s)",
        (row["org_id"], user_id, f"recommendation.{action}", str(recommendation_id),
         Jsonb({"kind": row["kind"], "store_id": str(row["store_id"])})))
    return _public(updated)
