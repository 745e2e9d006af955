"""An API client whose container has a language model pointed at the fake OpenAI endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from devhost.fakes.openai import FakeOpenAI
from functions.http_api.app import create_app
from shared.advice.language.client import build_language_model
from shared.advice.language.usage import DatabaseUsageRecorder
from shared.bootstrap import Container
from shared.config import Settings


@pytest.fixture(scope="session")
async def model_client(
    container: Container, settings: Settings, fake_openai_server: tuple[FakeOpenAI, str]
) -> AsyncIterator[httpx.AsyncClient]:
    model_settings = settings.model_copy(
        update={
            "openai_api_key": SecretStr("sk-test"),
            "openai_base_url": f"{fake_openai_server[1]}/v1",
            "openai_model": "gpt-test",
            "llm_timeout_seconds": 2.0,
            "llm_max_retries": 1,
        }
    )
    model = build_language_model(model_settings, usage=DatabaseUsageRecorder(container.db))
    app = create_app(dataclasses.replace(container, language_model=model))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
