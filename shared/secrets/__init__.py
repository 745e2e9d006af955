"""SecretStore adapters: Azure Key Vault, and an encrypted file for the local host."""

from __future__ import annotations

import re

_VALID = re.compile(r"^[0-9A-Za-z-]{1,127}$")


def check_secret_name(name: str) -> str:
    """Key Vault's rule (letters, digits, dashes; ≤127), applied everywhere so local matches Azure."""
    if not _VALID.match(name):
        raise ValueError("secret names use letters, digits and dashes only (at most 127)")
    return name
