"""The monthly token budget per organization (LLM_MONTHLY_TOKEN_LIMIT): over it no request leaves, the caller
gets LanguageModelError("budget") and falls back like for any other failure; the reading is cached briefly."""

from __future__ import annotations

import uuid
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from devhost.fakes.openai import FakeOpenAI, answer, transcript
from shared.advice.language.client import CallContext, LanguageModel, LanguageModelError, build_language_model
from shared.advice.language.phraser import ModelPhraser
from shared.advice.language.usage import MemoryUsageRecorder, TokenBudget, UsageRecord, month_start
from tests.unit.advice_language.conftest import ORG, model_settings
from tests.unit.advice_language.test_llm_phraser import RecordingTemplates, draft

OTHER = uuid.UUID("00000000-0000-4000-8000-000000000002")


class Out(BaseModel):
    title: str
    n: int


def _model(base_url: str, usage: MemoryUsageRecorder, limit: int) -> LanguageModel:
    model = build_language_model(model_settings(base_url, llm_monthly_token_limit=limit), usage=usage)
    assert model is not None
    return model


def _used(usage: MemoryUsageRecorder, org: uuid.UUID, tokens: int) -> None:
    usage.records.append(UsageRecord(org, "ask", "gpt-test", tokens, 0, 0))


async def test_over_budget_no_request_is_sent_and_the_reason_is_budget(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder
) -> None:
    model = _model(fake_openai_server[1], usage, limit=1_000)
    _used(usage, ORG, 1_000)
    with pytest.raises(LanguageModelError) as caught:
        await model.complete(CallContext(ORG, "ask"), [], Out)
    assert caught.value.reason == "budget"
    assert fake_openai.requests == []
    fake_openai.enqueue(answer({"title": "a", "n": 1}))  # another organization has its own budget
    assert (await model.complete(CallContext(OTHER, "ask"), [], Out)).parsed == Out(title="a", n=1)


async def test_the_calls_of_this_process_count_before_the_next_reading(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder
) -> None:
    model = _model(fake_openai_server[1], usage, limit=200)
    fake_openai.enqueue(answer({"title": "a", "n": 1}, prompt_tokens=150, completion_tokens=60))
    await model.complete(CallContext(ORG, "phrase"), [], Out)  # 0 used before: allowed, 210 after
    usage.records.clear()  # the cached reading (plus what was spent) stands for a few seconds
    with pytest.raises(LanguageModelError) as caught:
        await model.complete(CallContext(ORG, "phrase"), [], Out)
    assert caught.value.reason == "budget" and len(fake_openai.requests) == 1


async def test_the_phraser_falls_back_to_the_templates_over_budget(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder
) -> None:
    model = _model(fake_openai_server[1], usage, limit=500)
    _used(usage, ORG, 600)
    fallback = RecordingTemplates()
    p = ModelPhraser(model, fallback=fallback, org_id=ORG)
    text = await p.phrase(draft())
    assert (text.title, text.worded_by) == ("template: Blue Hoodie", "template")
    assert p.fallbacks == {"budget": 1} and p.last_worded_by == "fallback"
    assert fake_openai.requests == [] and len(usage.records) == 1  # no call, no usage row


async def test_a_transcription_is_refused_over_budget_too(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder, tmp_path: Path
) -> None:
    wav = tmp_path / "speech.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(b"\0\0" * 1_600)
    model = _model(fake_openai_server[1], usage, limit=100)
    _used(usage, ORG, 100)
    fake_openai.enqueue_transcription(transcript("Shop now."))
    with pytest.raises(LanguageModelError) as caught:
        await model.transcribe(CallContext(ORG, "video_transcript"), wav, audio_seconds=0.1)
    assert caught.value.reason == "budget" and fake_openai.transcriptions == []


class CountingUsage(MemoryUsageRecorder):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.reads = 0
        self.fail = fail

    async def tokens_this_month(self, org_id: uuid.UUID) -> int:
        self.reads += 1
        if self.fail:
            raise ConnectionError("database down")
        return await super().tokens_this_month(org_id)


async def test_readings_are_cached_per_organization_for_a_few_seconds() -> None:
    usage, now = CountingUsage(), [100.0]
    budget = TokenBudget(usage, 1_000, ttl_seconds=5, clock=lambda: now[0])
    _used(usage, ORG, 999)
    await budget.check(ORG)
    await budget.check(ORG)
    await budget.check(OTHER)
    assert usage.reads == 2
    budget.spent(ORG, 1)  # a call of this process, counted before the next reading
    with pytest.raises(Exception, match="1000 of 1000"):
        await budget.check(ORG)
    now[0] += 5
    usage.records.clear()
    await budget.check(ORG)  # read again: the rows say 0
    assert usage.reads == 3


async def test_no_cap_reads_nothing_and_a_failed_reading_lets_the_call_go(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI
) -> None:
    unlimited = CountingUsage(fail=True)
    await TokenBudget(unlimited, 0).check(ORG)
    assert unlimited.reads == 0
    broken = CountingUsage(fail=True)
    model = build_language_model(model_settings(fake_openai_server[1], llm_monthly_token_limit=10), usage=broken)
    assert model is not None
    fake_openai.enqueue(answer({"title": "a", "n": 1}))
    assert (await model.complete(CallContext(ORG, "ask"), [], Out)).parsed is not None
    assert broken.reads == 1


def test_the_budget_month_starts_on_the_first_at_midnight_utc() -> None:
    assert month_start(datetime(2026, 11, 25, 21, 37, tzinfo=UTC)) == datetime(2026, 11, 1, tzinfo=UTC)
