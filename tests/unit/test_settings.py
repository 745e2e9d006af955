"""Every setting the app reads is documented in local.settings.json.example, and read from the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import AliasChoices

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_names() -> dict[str, str]:
    names = {}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices), field_name
        names[field_name] = str(alias.choices[0])
    return names


def test_every_setting_is_documented_in_the_example() -> None:
    documented = json.loads((ROOT / "local.settings.json.example").read_text())["Values"].keys()
    missing = {env for env in _env_names().values() if env not in documented}
    assert not missing


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("CORS_ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    s = Settings()
    assert s.database_url == "postgresql://x/y"
    assert s.cors_origins == ["https://app.example.com"]
    assert s.storage_connection_string == "UseDevelopmentStorage=true"
