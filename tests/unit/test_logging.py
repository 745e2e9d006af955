"""Log lines never carry tokens, secrets or e-mail addresses."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logging import configure_logging, mask_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dGhpcyBpcyBub3QgYSByZWFsIHNpZw"


def test_mask_text_hides_bearer_tokens_jwts_and_emails() -> None:
    masked = mask_text(f"Authorization: Bearer abc.def-ghi sent {JWT} for jane.doe@example.com")
    assert "abc.def-ghi" not in masked
    assert JWT not in masked
    assert "jane.doe@example.com" not in masked


def test_json_log_lines_mask_sensitive_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("test").info("connecting store", extra={
        "access_token": "shpat_secret_value", "store": "acme", "credentials": {"consumer_secret": "cs_x"},
        "note": f"token {JWT}"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["store"] == "acme"
    assert "shpat_secret_value" not in line
    assert "cs_x" not in line
    assert JWT not in line
