"""The language model client against the fake endpoint: structured output, retries, failures, usage."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from devhost.fakes.openai import FakeOpenAI, Reply, answer, failure
from shared.advice.language.client import (
    MAX_RETRY_AFTER_SECONDS,
    CallContext,
    LanguageModel,
    LanguageModelError,
    build_language_model,
    retry_delay,
)
from shared.advice.language.usage import MemoryUsageRecorder, cost_micro_usd
from shared.config import Settings
from tests.unit.advice_language.conftest import ORG

CTX = CallContext(ORG, "phrase")


class Out(BaseModel):
    title: str
    n: int


async def test_structured_output_is_parsed_and_the_request_carries_the_json_schema(
    llm: LanguageModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue(answer({"title": "Hi", "n": 3}))
    result = await llm.complete(CTX, [{"role": "user", "content": "x"}], Out)
    assert result.parsed == Out(title="Hi", n=3)
    body = fake_openai.requests[0]
    assert body["model"] == "gpt-test"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert set(body["response_format"]["json_schema"]["schema"]["required"]) == {"title", "n"}
    assert fake_openai.headers[0]["authorization"] == "Bearer sk-test"


async def test_429_with_retry_after_is_retried_after_the_delay(
    llm: LanguageModel, fake_openai: FakeOpenAI, usage: MemoryUsageRecorder
) -> None:
    fake_openai.enqueue(failure(429, retry_after=0.3), failure(500), answer({"title": "ok", "n": 1}))
    started = time.monotonic()
    result = await llm.complete(CTX, [{"role": "user", "content": "x"}], Out)
    assert result.parsed is not None
    assert time.monotonic() - started >= 0.3
    assert len(fake_openai.requests) == 3
    assert len(usage.records) == 1  # only the answered call used tokens


async def test_retries_run_out_into_a_rate_limited_error(llm: LanguageModel, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(*[failure(429, retry_after=0.01)] * 3)
    with pytest.raises(LanguageModelError) as caught:
        await llm.complete(CTX, [], Out)
    assert caught.value.reason == "rate_limited"
    assert len(fake_openai.requests) == 3  # the first try and LLM_MAX_RETRIES=2 retries


async def test_a_retry_after_longer_than_we_wait_is_not_waited_for(llm: LanguageModel, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(failure(429, retry_after=MAX_RETRY_AFTER_SECONDS + 50))
    with pytest.raises(LanguageModelError):
        await llm.complete(CTX, [], Out)
    assert len(fake_openai.requests) == 1


async def test_a_slow_answer_times_out(llm: LanguageModel, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(*[Reply(content='{"title":"late","n":1}', delay=1.5)] * 3)
    with pytest.raises(LanguageModelError) as caught:
        await llm.complete(CTX, [], Out)
    assert caught.value.reason == "timeout"


async def test_a_client_error_is_not_retried(llm: LanguageModel, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(failure(400))
    with pytest.raises(LanguageModelError) as caught:
        await llm.complete(CTX, [], Out)
    assert caught.value.reason == "api_error"
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(refusal="I can't help with that."), "refusal"),
        (Reply(content='{"title": "cut'), "malformed"),
        (Reply(content='{"title": "no n"}'), "malformed"),
        (Reply(content='{"title": "x", "n": 1}', finish_reason="length"), "length"),
    ],
)
async def test_unusable_answers_raise_and_still_record_their_tokens(
    llm: LanguageModel, fake_openai: FakeOpenAI, usage: MemoryUsageRecorder, reply: Reply, reason: str
) -> None:
    fake_openai.enqueue(reply)
    with pytest.raises(LanguageModelError) as caught:
        await llm.complete(CTX, [], Out)
    assert caught.value.reason == reason
    assert [(r.outcome, r.prompt_tokens, r.completion_tokens) for r in usage.records] == [(reason, 120, 30)]


async def test_usage_is_recorded_per_call_with_cost_in_micro_usd(
    llm: LanguageModel, fake_openai: FakeOpenAI, usage: MemoryUsageRecorder
) -> None:
    fake_openai.enqueue(answer({"title": "a", "n": 1}, prompt_tokens=1000, completion_tokens=500))
    await llm.complete(CallContext(ORG, "ask"), [], Out)
    [record] = usage.records
    assert (record.org_id, record.purpose, record.model, record.outcome) == (ORG, "ask", "gpt-test", "ok")
    # 1000 x 0.15 + 500 x 0.60 USD per 1M tokens = 450 micro-USD
    assert record.cost_micro_usd == 450


def test_cost_rounds_half_up_to_whole_micro_usd() -> None:
    from decimal import Decimal

    assert cost_micro_usd(1, 1, input_per_1m=Decimal("0.15"), output_per_1m=Decimal("0.6")) == 1
    assert cost_micro_usd(0, 0, input_per_1m=Decimal("5"), output_per_1m=Decimal("15")) == 0


def test_backoff_grows_and_honours_retry_after() -> None:
    assert retry_delay(0, 2.0) == 2.0
    assert retry_delay(0, MAX_RETRY_AFTER_SECONDS + 1) is None
    assert 0.375 <= (retry_delay(0, None) or 0) <= 0.5
    assert 1.5 <= (retry_delay(2, None) or 0) <= 2.0


def test_no_key_means_no_model_and_azure_wins_when_configured() -> None:
    recorder = MemoryUsageRecorder()
    assert build_language_model(Settings(), usage=recorder) is None
    azure = build_language_model(
        Settings(
            azure_openai_endpoint="https://x.openai.azure.com",
            azure_openai_api_key="k",
            azure_openai_deployment="advisor-4o",
            openai_api_key="sk",
        ),
        usage=recorder,
    )
    assert azure is not None and azure.model == "advisor-4o"


async def test_azure_requests_go_to_the_deployment_with_the_api_version(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI
) -> None:
    settings = Settings(
        azure_openai_endpoint=fake_openai_server[1],
        azure_openai_api_key="azure-key",
        azure_openai_deployment="advisor",
        azure_openai_api_version="2024-10-21",
    )
    model = build_language_model(settings, usage=MemoryUsageRecorder())
    assert model is not None
    fake_openai.enqueue(answer({"title": "a", "n": 2}))
    result = await model.complete(CTX, [], Out)
    assert result.parsed == Out(title="a", n=2)
    assert fake_openai.headers[0]["api-key"] == "azure-key"
