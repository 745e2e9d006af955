"""The local SecretStore keeps secrets encrypted at rest, behind a key kept elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.ports import SecretNotFound
from shared.secrets.local import LocalEncryptedSecretStore


def test_set_get_delete_and_encrypted_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    store = LocalEncryptedSecretStore(path, LocalEncryptedSecretStore.generate_key())
    store.set("store-1-credentials", '{"access_token": "shpat_abcdef"}')
    assert store.get("store-1-credentials") == '{"access_token": "shpat_abcdef"}'
    assert b"shpat_abcdef" not in path.read_bytes()
    store.delete("store-1-credentials")
    store.delete("store-1-credentials")
    with pytest.raises(SecretNotFound):
        store.get("store-1-credentials")


def test_the_wrong_key_cannot_read_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    LocalEncryptedSecretStore(path, LocalEncryptedSecretStore.generate_key()).set("a", "b")
    with pytest.raises(RuntimeError, match="wrong LOCAL_SECRETS_KEY"):
        LocalEncryptedSecretStore(path, LocalEncryptedSecretStore.generate_key()).get("a")


@pytest.mark.parametrize("name", ["has space", "under_score", "x" * 128, ""])
def test_names_follow_key_vault_rules(tmp_path: Path, name: str) -> None:
    store = LocalEncryptedSecretStore(tmp_path / "s.enc", LocalEncryptedSecretStore.generate_key())
    with pytest.raises(ValueError, match="letters, digits and dashes"):
        store.set(name, "v")
