"""Webhook signatures: base64(HMAC-SHA256(secret, raw body)), checked in constant time over the raw bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac

from shared.webhooks.signatures import is_woo_ping, sign, verify

SECRET = "hush-app-secret"
BODY = b'{"id": 450789469, "total_price": "10.00"}'


def test_sign_matches_the_platform_recipe() -> None:
    expected = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, BODY) == expected


def test_valid_signature_verifies() -> None:
    assert verify([SECRET], BODY, sign(SECRET, BODY))


def test_forged_signature_with_another_secret_fails() -> None:
    assert not verify([SECRET], BODY, sign("attacker-secret", BODY))


def test_missing_or_empty_signature_fails() -> None:
    assert not verify([SECRET], BODY, None)
    assert not verify([SECRET], BODY, "")


def test_tampered_body_fails() -> None:
    signature = sign(SECRET, BODY)
    assert not verify([SECRET], BODY.replace(b"10.00", b"0.01"), signature)
    # Re-serialised JSON is a different byte string: only the raw body verifies.
    assert not verify([SECRET], b'{"id":450789469,"total_price":"10.00"}', signature)


def test_garbage_and_non_ascii_signatures_fail() -> None:
    assert not verify([SECRET], BODY, "not base64 at all")
    assert not verify([SECRET], BODY, "ünïcødé")


def test_no_secret_verifies_nothing() -> None:
    assert not verify([], BODY, sign("", BODY))
    assert not verify([""], BODY, sign("", BODY))


def test_either_secret_verifies_during_a_rotation() -> None:
    assert verify(["new-secret", "old-secret"], BODY, sign("old-secret", BODY))
    assert verify(["new-secret", "old-secret"], BODY, sign("new-secret", BODY))


def test_woo_ping_is_an_unsigned_form_body() -> None:
    assert is_woo_ping(b"webhook_id=42", None)
    assert not is_woo_ping(b"webhook_id=42", "c2lnbmVk")
    assert not is_woo_ping(b'{"webhook_id": 42}', None)
    assert not is_woo_ping(b"webhook_id=42&x=1", None)
