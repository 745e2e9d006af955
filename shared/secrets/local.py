"""A SecretStore in one Fernet-encrypted file, for devhost. Not for production."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from shared.ports import SecretNotFound
from shared.secrets import check_secret_name


class LocalEncryptedSecretStore:
    """Secrets encrypted at rest with a key kept outside the file; writes are atomic renames."""

    def __init__(self, path: Path, key: str) -> None:
        self._path = path
        self._fernet = Fernet(key.encode())
        self._lock = threading.Lock()

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def _load(self) -> dict[str, str]:
        if not self._path.exists():
            return {}
        try:
            data: dict[str, str] = json.loads(self._fernet.decrypt(self._path.read_bytes()))
        except InvalidToken as exc:
            raise RuntimeError(f"cannot decrypt {self._path}: wrong LOCAL_SECRETS_KEY") from exc
        return data

    def _save(self, data: dict[str, str]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_bytes(self._fernet.encrypt(json.dumps(data).encode()))
        os.chmod(tmp, 0o600)
        tmp.replace(self._path)

    def get(self, name: str) -> str:
        with self._lock:
            data = self._load()
        try:
            return data[check_secret_name(name)]
        except KeyError:
            raise SecretNotFound(name) from None

    def set(self, name: str, value: str) -> None:
        with self._lock:
            data = self._load()
            data[check_secret_name(name)] = value
            self._save(data)

    def delete(self, name: str) -> None:
        with self._lock:
            data = self._load()
            if data.pop(check_secret_name(name), None) is not None:
                self._save(data)
