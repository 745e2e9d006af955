"""POST /advisor/ask: a merchant's question about one of their stores, answered from computed figures.

With a model: a bounded Chat Completions tool-calling loop over the store's tools; the final answer is
structured (text + cited figure ids) and every number in it must be the value of a cited figure — one retry
with the violation explained, then the offline answer. Without a model (or on any failure): the
deterministic offline answerer, same shape, `source: "offline"`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, Field

from shared.advice.language.client import CallContext, LanguageModel, LanguageModelError
from shared.advice.language.figures import CitedFigure
from shared.advice.language.offline import answer_offline
from shared.advice.language.prompts import ask_messages, data_block, retry_message
from shared.advice.language.tools import FigureLedger, StoreTools, tool_definitions
from shared.advice.numbers import untraceable_numbers
from shared.analytics.summary import store_context
from shared.auth.access import Access
from shared.errors import NotFound

log = logging.getLogger(__name__)

MAX_MODEL_TURNS = 6  # tool rounds + the final answer + its one retry
MAX_TOOL_CALLS_PER_TURN = 6
MAX_QUESTION_CHARS = 500


class AskCreate(BaseModel):
    store_id: uuid.UUID
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class Citation(BaseModel):
    figure_id: str
    metric: str
    period: str
    query: str


class AskPublic(BaseModel):
    answer: str
    citations: list[Citation]
    figures: list[CitedFigure]
    source: Literal["model", "offline"]


class ModelAnswer(BaseModel):
    """The model's final answer."""

    answer: str = Field(description="the answer to the merchant, at most 5 sentences")
    figure_ids: list[str] = Field(description="ids of every figure whose value the answer states")


@dataclass(frozen=True)
class StoreRow:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str


async def _store(conn: AsyncConnection[DictRow], access: Access, store_id: uuid.UUID) -> StoreRow:
    cur = await conn.execute("select id, org_id, name from stores where id = %s", (store_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("store not found")
    access.require_member(row["org_id"], "store")
    return StoreRow(row["id"], row["org_id"], row["name"] or "")


def _public(answer: str, cited: list[CitedFigure], source: Literal["model", "offline"]) -> AskPublic:
    return AskPublic(
        answer=answer, source=source, figures=cited,
        citations=[Citation(figure_id=f.id, metric=f.metric, period=f.period, query=f.query) for f in cited])


async def ask(conn: AsyncConnection[DictRow], access: Access, body: AskCreate, *,
              model: LanguageModel | None) -> AskPublic:
    """Answer `body.question` about a store of the caller's organization (another's → NotFound)."""
    store = await _store(conn, access, body.store_id)
    ctx = await store_context(conn, store.id)
    if model is not None:
        ledger = FigureLedger()
        tools = StoreTools(conn, store.id, ledger)
        messages = ask_messages(body.question, store_name=store.name, currency=ctx.currency,
                                timezone=ctx.timezone, today=ctx.today)
        answer = await ModelAsk(model, tools, CallContext(store.org_id, "ask", store.id), store.name).run(messages)
        if answer is not None:
            return answer
    offline_tools = StoreTools(conn, store.id, FigureLedger())
    result = await answer_offline(offline_tools, body.question, ctx.today)
    return _public(result.answer, result.figures, "offline")


class ModelAsk:
    """The tool-calling loop of one question; `run` returns None when the offline answer must stand in."""

    def __init__(self, model: LanguageModel, tools: StoreTools, ctx: CallContext, store_name: str) -> None:
        self.model = model
        self.tools = tools
        self.ctx = ctx
        self.store_name = store_name
        self.retried = False
        self.fallback_reason: str | None = None

    async def run(self, messages: list[dict[str, Any]]) -> AskPublic | None:
        definitions = tool_definitions()
        for _turn in range(MAX_MODEL_TURNS):
            try:
                completion = await self.model.complete(self.ctx, messages, ModelAnswer, tools=definitions)
            except LanguageModelError as error:
                return self._give_up(error.reason)
            if completion.tool_calls:
                messages.append(_assistant_tool_message(completion.tool_calls))
                messages += await self._run_tools(completion.tool_calls)
                continue
            assert completion.parsed is not None
            verdict = self._check(completion.parsed)
            if isinstance(verdict, AskPublic):
                return verdict
            if self.retried:
                return self._give_up("untraceable")
            self.retried = True
            messages.append({"role": "assistant", "content": completion.message.content or ""})
            messages.append(retry_message(verdict))
        return self._give_up("too_many_turns")

    def _give_up(self, reason: str) -> AskPublic | None:
        self.fallback_reason = reason
        log.info("question answered offline", extra={"reason": reason, "store_id": str(self.tools.store_id)})
        return None

    def _check(self, parsed: ModelAnswer) -> AskPublic | list[str]:
        """The public answer, or the numbers (and unknown ids) that make it unusable."""
        ledger = self.tools.ledger
        unknown = [i for i in parsed.figure_ids if i not in ledger.figures]
        cited = [ledger.figures[i] for i in dict.fromkeys(parsed.figure_ids) if i in ledger.figures]
        quoted = [*ledger.names(), self.store_name]
        bad = untraceable_numbers(parsed.answer, cited, quoted=quoted)
        if bad or unknown:
            return bad + [f"unknown figure id {i}" for i in unknown]
        return _public(parsed.answer, cited, "model")

    async def _run_tools(self, calls: list[Any]) -> list[dict[str, Any]]:
        out = []
        for i, call in enumerate(calls):
            if i >= MAX_TOOL_CALLS_PER_TURN:
                result: dict[str, Any] = {"error": "too many tool calls in one turn"}
            else:
                result = await self.tools.call(call.function.name, call.function.arguments)
            out.append({"role": "tool", "tool_call_id": call.id, "content": data_block(result)})
        return out


def _assistant_tool_message(calls: list[Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
        for c in calls]}

