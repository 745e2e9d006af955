"""Webhook signatures: base64(HMAC-SHA256(secret, raw body)), compared in constant time.

Shopify signs with the app's client secret (X-Shopify-Hmac-Sha256), WooCommerce with the webhook's own
secret (X-WC-Webhook-Signature). Both sign the raw request bytes: verify before parsing anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable

# WooCommerce's first "ping": a form body `webhook_id=<id>`, no X-WC-* headers and no signature.
_WOO_PING = re.compile(rb"^webhook_id=\d+$")


def sign(secret: str, body: bytes) -> str:
    """The signature a platform sends for `body` (also what tests use to sign their deliveries)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def verify(secrets: Iterable[str], body: bytes, signature: str | None) -> bool:
    """True when `signature` signs `body` under any of `secrets` (two during a rotation).

    Every secret is tried (no early exit), and empty secrets never verify anything.
    """
    if not signature:
        return False
    given = signature.strip().encode("ascii", errors="replace")
    ok = False
    for secret in secrets:
        if secret:
            ok |= hmac.compare_digest(sign(secret, body).encode("ascii"), given)
    return ok


def is_woo_ping(body: bytes, signature: str | None) -> bool:
    """WooCommerce's unsigned ping on webhook creation, answered 200 before any signature check."""
    return not signature and _WOO_PING.match(body.strip()) is not None
