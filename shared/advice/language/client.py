"""The one language-model client of a process: OpenAI or Azure OpenAI by configuration, structured outputs
checked by pydantic, bounded retries that honour Retry-After, and a usage row per call.

`build_language_model(settings, usage=...)` returns None without a key: callers then use the deterministic
advisor. Every failure a caller must survive is a `LanguageModelError` with a short `reason`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from shared.advice.language.usage import (
    BudgetExceeded,
    TokenBudget,
    UsageRecord,
    UsageRecorder,
    audio_cost_micro_usd,
    cost_micro_usd,
)
from shared.config import Settings

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessage

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")

BACKOFF_BASE_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
# A Retry-After longer than this is not waited for: the caller falls back instead of holding a request open.
MAX_RETRY_AFTER_SECONDS = 10.0


class LanguageModelError(Exception):
    """The model gave nothing usable. `reason`: timeout, rate_limited, server_error, connection, refusal,
    malformed, length, content_filter, api_error; or budget (the organization's monthly tokens are used up: no
    call was made)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class CallContext:
    """Whom a call is for (the usage row's owner) and why."""

    org_id: uuid.UUID
    purpose: str
    store_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Completion(Generic[T]):
    """One model turn: either tool calls (`parsed` None) or the structured answer."""

    message: ChatCompletionMessage
    parsed: T | None
    prompt_tokens: int
    completion_tokens: int

    @property
    def tool_calls(self) -> list[Any]:
        return list(self.message.tool_calls or [])


@dataclass(frozen=True)
class TranscriptSegment:
    start: float  # seconds into the audio sent
    end: float
    text: str


@dataclass(frozen=True)
class Transcription:
    """Speech to text: the whole text, and its segments with times when the model gives them (whisper*)."""

    text: str
    language: str | None
    model: str
    audio_seconds: float
    segments: list[TranscriptSegment] = field(default_factory=list)


def segments_supported(model: str) -> bool:
    """Only whisper models answer `verbose_json` (segment times); gpt-4o*-transcribe answer `json`, text only."""
    return "whisper" in model.lower()


@dataclass(frozen=True)
class ModelConfig:
    model: str  # the OpenAI model, or the Azure deployment name
    timeout_seconds: float
    max_retries: int
    settings: Settings


def retry_delay(attempt: int, retry_after: float | None) -> float | None:
    """Seconds before retry number `attempt` (0-based): the server's Retry-After when it gives one (None when
    that is longer than we wait), else exponential backoff with jitter."""
    if retry_after is not None and retry_after >= 0:
        return float(retry_after) if retry_after <= MAX_RETRY_AFTER_SECONDS else None
    backoff: float = min(BACKOFF_BASE_SECONDS * 2.0 ** attempt, MAX_BACKOFF_SECONDS)
    return backoff * (0.75 + 0.25 * random.random())  # noqa: S311 - jitter, not cryptography


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) / scale
            except ValueError:
                return None
    return None


def _classify(error: Exception) -> tuple[str, bool]:
    """(reason, worth retrying) for an exception of the openai client."""
    import openai

    if isinstance(error, openai.APITimeoutError):
        return "timeout", True
    if isinstance(error, openai.APIConnectionError):
        return "connection", True
    if isinstance(error, openai.RateLimitError):
        return "rate_limited", True
    if isinstance(error, openai.InternalServerError):
        return "server_error", True
    return "api_error", False


class LanguageModel:
    """Chat Completions with structured output; one underlying client per event loop (activities run their own
    loops, and an async HTTP pool belongs to the loop that opened it)."""

    def __init__(self, config: ModelConfig, usage: UsageRecorder, *,
                 http_client_factory: Any = None) -> None:
        self.config = config
        self._usage = usage
        self.budget = TokenBudget(usage, config.settings.llm_monthly_token_limit)
        self._http_client_factory = http_client_factory
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = (
            weakref.WeakKeyDictionary())

    @property
    def model(self) -> str:
        return self.config.model

    def _client(self) -> AsyncOpenAI:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            http_client: httpx2.AsyncClient | None = (
                self._http_client_factory() if self._http_client_factory else None)
            client = _build_openai(self.config, http_client)
            self._clients[loop] = client
        return client

    async def complete(self, ctx: CallContext, messages: Sequence[dict[str, Any]], response_format: type[T], *,
                       tools: Sequence[dict[str, Any]] | None = None, model: str | None = None) -> Completion[T]:
        """One turn. Tool calls come back unparsed for the caller to run; a final answer comes back as
        `response_format`. Raises LanguageModelError (after retries for 429, 5xx, timeouts)."""
        model = model or self.config.model
        await self._check_budget(ctx)
        response = await self._create_with_retries(messages, response_format, tools, model)
        usage = response.usage
        prompt, completion = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
        try:
            result = self._interpret(response, response_format, prompt, completion)
        except LanguageModelError as error:
            await self._record(ctx, model, prompt, completion, error.reason)
            raise
        await self._record(ctx, model, prompt, completion, "ok")
        return result

    async def _check_budget(self, ctx: CallContext) -> None:
        """LanguageModelError("budget") when the organization's monthly tokens are used up. A failed reading of
        the usage rows lets the call go ahead: accounting must not take the advisor down."""
        try:
            await self.budget.check(ctx.org_id)
        except BudgetExceeded as exceeded:
            log.warning("language model budget exhausted", extra={
                "org_id": str(ctx.org_id), "purpose": ctx.purpose, "used": exceeded.used, "limit": exceeded.limit})
            raise LanguageModelError("budget", str(exceeded)) from None
        except Exception:
            log.exception("could not read the organization's language model usage")

    @staticmethod
    def _interpret(response: ChatCompletion, response_format: type[T], prompt: int,
                   completion: int) -> Completion[T]:
        if not response.choices:
            raise LanguageModelError("malformed", "no choices")
        choice = response.choices[0]
        message = choice.message
        if message.refusal:
            raise LanguageModelError("refusal", message.refusal[:200])
        if choice.finish_reason == "length":
            raise LanguageModelError("length")
        if choice.finish_reason == "content_filter":
            raise LanguageModelError("content_filter")
        if message.tool_calls:
            return Completion(message, None, prompt, completion)
        try:
            parsed = response_format.model_validate_json(message.content or "")
        except ValidationError as error:
            raise LanguageModelError("malformed", f"{error.error_count()} validation errors") from None
        return Completion(message, parsed, prompt, completion)

    async def _create_with_retries(self, messages: Sequence[dict[str, Any]], response_format: type[BaseModel],
                                   tools: Sequence[dict[str, Any]] | None, model: str) -> ChatCompletion:
        from openai.lib._parsing import type_to_response_format_param

        kwargs: dict[str, Any] = {"model": model, "messages": list(messages),
                                  "response_format": type_to_response_format_param(response_format)}
        if tools:
            kwargs["tools"] = list(tools)
            kwargs["parallel_tool_calls"] = True

        async def create() -> ChatCompletion:
            response: ChatCompletion = await self._client().chat.completions.create(**kwargs)
            return response

        return await self._retrying(create)

    async def _retrying(self, call: Callable[[], Awaitable[R]]) -> R:
        """`call()`, retried on 429, 5xx, timeouts and connection errors; LanguageModelError when spent."""
        import openai

        for attempt in range(self.config.max_retries + 1):
            try:
                return await call()
            except openai.OpenAIError as error:
                reason, retryable = _classify(error)
                delay = retry_delay(attempt, _retry_after(error)) if retryable else None
                if delay is None or attempt == self.config.max_retries:
                    log.warning("language model call failed", extra={"reason": reason, "attempt": attempt + 1})
                    raise LanguageModelError(reason) from None
                log.info("language model call retried", extra={"reason": reason, "delay_s": round(delay, 2)})
                await asyncio.sleep(delay)
        raise LanguageModelError("api_error", "no attempt made")  # unreachable: the loop returns or raises

    async def transcribe(self, ctx: CallContext, audio: Path, *, audio_seconds: float,
                         model: str | None = None) -> Transcription:
        """Speech to text of an audio file (at most 25 MB: the API's limit), with segment times when the model
        gives them. Retried like `complete`; the usage row counts `audio_seconds` (billed by duration).
        Raises LanguageModelError."""
        model = model or self.config.settings.openai_transcribe_model
        kwargs: dict[str, Any] = {"model": model, "file": audio,
                                  "timeout": self.config.settings.llm_transcribe_timeout_seconds}
        if segments_supported(model):
            kwargs.update(response_format="verbose_json", timestamp_granularities=["segment"])
        else:
            kwargs["response_format"] = "json"

        async def create() -> Any:
            return await self._client().audio.transcriptions.create(**kwargs)

        await self._check_budget(ctx)

        response = await self._retrying(create)
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "input_tokens", 0) or 0)
        completion = int(getattr(usage, "output_tokens", 0) or 0)
        text = getattr(response, "text", None)
        if not isinstance(text, str):
            await self._record(ctx, model, prompt, completion, "malformed", audio_seconds=audio_seconds)
            raise LanguageModelError("malformed", "no text in the transcription")
        segments = [TranscriptSegment(start=round(float(seg.start), 3), end=round(float(seg.end), 3),
                                      text=str(seg.text).strip())
                    for seg in getattr(response, "segments", None) or []]
        await self._record(ctx, model, prompt, completion, "ok", audio_seconds=audio_seconds)
        language = getattr(response, "language", None)
        return Transcription(text=text.strip(), language=language if isinstance(language, str) else None,
                             model=model, audio_seconds=audio_seconds, segments=segments)

    async def _record(self, ctx: CallContext, model: str, prompt: int, completion: int, outcome: str, *,
                      audio_seconds: float | None = None) -> None:
        settings = self.config.settings
        if audio_seconds is None:
            cost = cost_micro_usd(prompt, completion, input_per_1m=settings.llm_price_input_per_1m,
                                  output_per_1m=settings.llm_price_output_per_1m)
        else:
            cost = audio_cost_micro_usd(audio_seconds, per_minute=settings.llm_price_transcribe_per_minute)
        self.budget.spent(ctx.org_id, prompt + completion)
        try:
            await self._usage.record(UsageRecord(ctx.org_id, ctx.purpose, model, prompt, completion, cost,
                                                 ctx.store_id, outcome, audio_seconds))
        except Exception:  # accounting must not turn a good answer into an error
            log.exception("could not record language model usage")


def _build_openai(config: ModelConfig, http_client: httpx2.AsyncClient | None) -> AsyncOpenAI:
    from openai import AsyncAzureOpenAI, AsyncOpenAI

    s = config.settings
    # Retries are ours (above): the SDK's own would multiply them and ignore our Retry-After cap.
    common: dict[str, Any] = {"timeout": config.timeout_seconds, "max_retries": 0, "http_client": http_client}
    if uses_azure(s):
        return AsyncAzureOpenAI(azure_endpoint=s.azure_openai_endpoint,
                                api_key=s.azure_openai_api_key.get_secret_value(),
                                api_version=s.azure_openai_api_version, **common)
    return AsyncOpenAI(api_key=s.openai_api_key.get_secret_value(), base_url=s.openai_base_url or None, **common)


def uses_azure(settings: Settings) -> bool:
    return bool(settings.azure_openai_endpoint and settings.azure_openai_api_key.get_secret_value())


def is_configured(settings: Settings) -> bool:
    return uses_azure(settings) or bool(settings.openai_api_key.get_secret_value())


def build_language_model(settings: Settings, *, usage: UsageRecorder,
                         http_client_factory: Any = None) -> LanguageModel | None:
    """The process's model client, or None without a key (the offline advisor answers then)."""
    if not is_configured(settings):
        return None
    model = settings.azure_openai_deployment or settings.openai_model if uses_azure(settings) \
        else settings.openai_model
    config = ModelConfig(model=model, timeout_seconds=settings.llm_timeout_seconds,
                         max_retries=max(settings.llm_max_retries, 0), settings=settings)
    return LanguageModel(config, usage, http_client_factory=http_client_factory)
