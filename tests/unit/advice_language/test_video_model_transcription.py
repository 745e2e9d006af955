"""LanguageModel.transcribe against the fake endpoint: formats by model, retries, failures, usage by audio seconds."""

from __future__ import annotations

import wave
from decimal import Decimal
from pathlib import Path

import pytest

from devhost.fakes.openai import Failure, FakeOpenAI, answer, failure, transcript
from shared.advice.language.client import (
    CallContext,
    LanguageModel,
    LanguageModelError,
    build_language_model,
    segments_supported,
)
from shared.advice.language.usage import MemoryUsageRecorder, audio_cost_micro_usd
from shared.config import Settings
from tests.unit.advice_language.conftest import ORG, model_settings

CTX = CallContext(ORG, "video_transcript")


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "speech.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(b"\0\0" * 16_000)
    return path


def _model(base_url: str, usage: MemoryUsageRecorder, **overrides: object) -> LanguageModel:
    model = build_language_model(model_settings(base_url, **overrides), usage=usage)
    assert model is not None
    return model


async def test_whisper_gives_segments_and_usage_counts_audio_seconds(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder, wav: Path
) -> None:
    model = _model(fake_openai_server[1], usage, openai_transcribe_model="whisper-1",
                   llm_price_transcribe_per_minute="0.006")
    fake_openai.enqueue_transcription(transcript("Hi. Shop now.", [(0.0, 0.4, " Hi."), (0.5, 1.0, " Shop now.")]))
    result = await model.transcribe(CTX, wav, audio_seconds=30.0)
    assert (result.text, result.language, result.model) == ("Hi. Shop now.", "english", "whisper-1")
    assert [(s.start, s.end, s.text) for s in result.segments] == [(0.0, 0.4, "Hi."), (0.5, 1.0, "Shop now.")]
    [sent] = fake_openai.transcriptions
    assert sent["response_format"] == "verbose_json" and sent["timestamp_granularities"] == ["segment"]
    assert sent["filename"] == "speech.wav" and sent["size"] == 44 + 2 * 16_000  # WAV header + one second
    [row] = usage.records
    assert (row.purpose, row.outcome, row.audio_seconds, row.cost_micro_usd) == ("video_transcript", "ok", 30.0, 3000)


async def test_gpt_4o_transcribe_models_get_json_text_without_segments(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder, wav: Path
) -> None:
    model = _model(fake_openai_server[1], usage)  # default: gpt-4o-mini-transcribe
    fake_openai.enqueue_transcription(transcript("Link in bio.", [(0.0, 1.0, "Link in bio.")]))
    result = await model.transcribe(CTX, wav, audio_seconds=1.0)
    assert result.text == "Link in bio." and result.segments == [] and result.model == "gpt-4o-mini-transcribe"
    assert fake_openai.transcriptions[0]["response_format"] == "json"
    assert usage.records[0].prompt_tokens == 10 and usage.records[0].audio_seconds == 1.0
    assert not segments_supported("gpt-4o-mini-transcribe") and segments_supported("Whisper-Deployment")


async def test_rate_limits_are_retried_then_fail_with_the_reason(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder, wav: Path
) -> None:
    model = _model(fake_openai_server[1], usage, llm_max_retries=1)
    fake_openai.enqueue_transcription(failure(429, retry_after=0.05), transcript("ok"))
    assert (await model.transcribe(CTX, wav, audio_seconds=1.0)).text == "ok"
    fake_openai.enqueue_transcription(failure(429, retry_after=0.05), failure(503, retry_after=0.05))
    with pytest.raises(LanguageModelError) as error:
        await model.transcribe(CTX, wav, audio_seconds=1.0)
    assert error.value.reason == "server_error" and len(fake_openai.transcriptions) == 4
    fake_openai.enqueue_transcription(failure(400))
    with pytest.raises(LanguageModelError, match="api_error"):
        await model.transcribe(CTX, wav, audio_seconds=1.0)
    assert len(fake_openai.transcriptions) == 5  # a 400 is not retried
    assert [r.outcome for r in usage.records] == ["ok"]  # failed HTTP calls have nothing to count


async def test_a_slow_transcription_times_out(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, usage: MemoryUsageRecorder, wav: Path
) -> None:
    model = _model(fake_openai_server[1], usage, llm_max_retries=0, llm_transcribe_timeout_seconds=0.3)
    fake_openai.enqueue_transcription(Failure(500, delay=1.0))
    with pytest.raises(LanguageModelError, match="timeout"):
        await model.transcribe(CTX, wav, audio_seconds=1.0)


async def test_azure_transcriptions_go_to_the_transcription_deployment(
    fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI, wav: Path
) -> None:
    settings = Settings(azure_openai_endpoint=fake_openai_server[1], azure_openai_api_key="azure-key",
                        azure_openai_deployment="advisor", openai_transcribe_model="whisper")
    model = build_language_model(settings, usage=MemoryUsageRecorder())
    assert model is not None
    fake_openai.enqueue_transcription(transcript("hello", [(0.0, 1.0, "hello")]))
    result = await model.transcribe(CTX, wav, audio_seconds=1.0)
    assert result.segments and fake_openai.transcriptions[0]["model"] == "whisper"
    assert fake_openai.headers[0]["api-key"] == "azure-key"


async def test_the_fake_records_image_parts(llm: LanguageModel, fake_openai: FakeOpenAI) -> None:
    from pydantic import BaseModel

    class Seen(BaseModel):
        ok: bool

    fake_openai.enqueue(answer({"ok": True}))
    content = [{"type": "text", "text": "Keyframe 0"},
               {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/", "detail": "low"}}]
    await llm.complete(CTX, [{"role": "user", "content": content}], Seen)
    assert fake_openai.images == [{"request": 0, "url": "data:image/jpeg;base64,/9j/", "detail": "low"}]


def test_audio_cost_is_per_minute_in_micro_usd() -> None:
    assert audio_cost_micro_usd(90.0, per_minute=Decimal("0.003")) == 4500
