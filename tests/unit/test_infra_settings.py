"""The Bicep (compiled only in GitHub: no Bicep CLI here) gives production every setting the app documents.

A text check of infra/modules/functionapp.bicep against local.settings.json.example: each documented setting is
an app setting there, except the ones listed below as local-only (with why); secrets are Key Vault references.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = (ROOT / "infra/modules/functionapp.bicep").read_text()
STORAGE = (ROOT / "infra/modules/storage.bicep").read_text()
ROLES = (ROOT / "infra/modules/roles.bicep").read_text()

NOT_IN_PRODUCTION = {
    "_comment": "a note",
    "FUNCTIONS_WORKER_RUNTIME": "Flex Consumption takes the runtime from functionAppConfig and refuses the setting",
    "AzureWebJobsFeatureFlags": "worker indexing is the default for the Python v2 model",
    "AzureWebJobsStorage": "identity-based: AzureWebJobsStorage__blobServiceUri/__queueServiceUri/__tableServiceUri",
    "AZURE_STORAGE_CONNECTION_STRING": "no account key in production: SAS URLs use a user delegation key",
    "LOCAL_SECRETS_PATH": "local secret file; Key Vault in Azure",
    "LOCAL_SECRETS_KEY": "local secret file; Key Vault in Azure",
}
SECRETS = ("DATABASE_URL", "SUPABASE_JWT_SECRET", "OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")


def _app_settings() -> dict[str, str]:
    """`NAME: value` entries of the settings objects in functionapp.bicep (value: a quoted string or a token)."""
    return dict(re.findall(r"(?:^|\{)\s*'?([A-Za-z_]\w*)'?: ('[^'\n]*'|[^\s}]+)", APP, flags=re.MULTILINE))


def test_every_production_setting_of_the_example_is_an_app_setting() -> None:
    documented = json.loads((ROOT / "local.settings.json.example").read_text())["Values"].keys()
    settings = _app_settings()
    missing = sorted(name for name in documented if name not in NOT_IN_PRODUCTION and name not in settings)
    assert not missing, f"add these to infra/modules/functionapp.bicep (or to NOT_IN_PRODUCTION, saying why): {missing}"
    for name in ("AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri"):
        assert name in settings


def test_secrets_are_key_vault_references_and_no_account_key_is_set() -> None:
    settings = _app_settings()
    for name in SECRETS:
        assert settings[name].startswith("'${vault}"), name
    assert "listKeys" not in re.sub(r"busRule\.listKeys", "", APP)  # the only key is the bus's (the app needs it)
    assert "AccountKey=" not in APP


def test_storage_has_the_video_containers_upload_cors_and_the_event_topic() -> None:
    assert "'deployments', videoContainer, thumbnailContainer" in STORAGE
    assert "param videoContainer string = 'videos'" in STORAGE
    assert "param thumbnailContainer string = 'video-thumbnails'" in STORAGE
    assert "allowedMethods: [ 'PUT', 'OPTIONS' ]" in STORAGE and "allowedOrigins: corsOrigins" in STORAGE
    assert "'Microsoft.Storage.StorageAccounts'" in STORAGE


def test_the_identity_has_the_roles_the_app_uses() -> None:
    for role in ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
                 "db58b8e5-c6ad-4a2a-8342-4190687cbf4a", "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
                 "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
                 "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", "4633458b-17de-408a-b874-0445c86b69e6",
                 "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"):
        assert f"'{role}'" in ROLES, role


def test_the_service_bus_has_the_queue_the_trigger_reads() -> None:
    bus = (ROOT / "infra/modules/servicebus.bicep").read_text()
    assert "param queues array = [ 'webhooks' ]" in bus
    assert 'queue_name="webhooks"' in (ROOT / "functions/events.py").read_text()
