"""The SecretStore on Azure Key Vault, authenticated with DefaultAzureCredential (managed identity)."""

from __future__ import annotations

import contextlib

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from shared.ports import SecretNotFound
from shared.secrets import check_secret_name


class KeyVaultSecretStore:
    def __init__(self, vault_url: str, client: SecretClient | None = None) -> None:
        self._client = client or SecretClient(vault_url=vault_url, credential=DefaultAzureCredential())

    def get(self, name: str) -> str:
        try:
            value = self._client.get_secret(check_secret_name(name)).value
        except ResourceNotFoundError:
            raise SecretNotFound(name) from None
        if value is None:
            raise SecretNotFound(name)
        return value

    def set(self, name: str, value: str) -> None:
        self._client.set_secret(check_secret_name(name), value, content_type="application/json")

    def delete(self, name: str) -> None:
        # Soft-delete, then purge where the vault allows it, so a reconnect can reuse the name.
        try:
            poller = self._client.begin_delete_secret(check_secret_name(name))
            poller.wait()
        except ResourceNotFoundError:
            return
        # Purge protection or a missing purge permission leaves it soft-deleted, which is enough.
        with contextlib.suppress(HttpResponseError):
            self._client.purge_deleted_secret(name)
