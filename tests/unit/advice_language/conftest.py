"""The fake OpenAI endpoint on loopback and the real openai client pointed at it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devhost.fakes.openai import FakeOpenAI
from shared.advice.language.client import LanguageModel, build_language_model
from shared.advice.language.usage import MemoryUsageRecorder
from shared.config import Settings

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")






@pytest.fixture
def usage() -> MemoryUsageRecorder:
    return MemoryUsageRecorder()


def model_settings(base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_api_key": "sk-test",
        "openai_base_url": f"{base_url}/v1",
        "openai_model": "gpt-test",
        "llm_timeout_seconds": 0.5,
        "llm_max_retries": 2,
        "llm_price_input_per_1m": "0.15",
        "llm_price_output_per_1m": "0.60",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def llm(fake_openai_server: tuple[FakeOpenAI, str], fake_openai: FakeOpenAI,
        usage: MemoryUsageRecorder) -> LanguageModel:
    model = build_language_model(model_settings(fake_openai_server[1]), usage=usage)
    assert model is not None
    return model
