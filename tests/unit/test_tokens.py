"""Supabase access tokens: HS256 with the project secret, and asymmetric keys from a JWKS endpoint."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.tokens import TokenVerifier, mint_token
from shared.errors import Unauthorized

SECRET = "a-test-secret-that-is-long-enough-32+"


def _rsa() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> Any:
    return _rsa()


@pytest.fixture(scope="module")
def jwks_url(signing_key: Any) -> Iterator[str]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "key-1", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/auth/v1/.well-known/jwks.json"
    server.shutdown()


def _claims(**overrides: Any) -> dict[str, Any]:
    return {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated",
            "exp": int(time.time()) + 600, "email": "a@b.test", **overrides}


def test_hs256_token_round_trip() -> None:
    user = uuid.uuid4()
    principal = TokenVerifier(hs256_secret=SECRET).verify(mint_token(secret=SECRET, user_id=user, email="x@y.test"))
    assert principal.user_id == user
    assert principal.email == "x@y.test"


def test_rs256_token_verified_with_the_jwks_key(jwks_url: str, signing_key: Any) -> None:
    claims = _claims()
    token = jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": "key-1"})
    principal = TokenVerifier(hs256_secret="", jwks_url=jwks_url).verify(token)
    assert str(principal.user_id) == claims["sub"]


def test_rs256_token_signed_by_another_key_is_refused(jwks_url: str) -> None:
    token = jwt.encode(_claims(), _rsa(), algorithm="RS256", headers={"kid": "key-1"})
    with pytest.raises(Unauthorized):
        TokenVerifier(hs256_secret="", jwks_url=jwks_url).verify(token)


def test_hs256_token_is_refused_when_only_jwks_is_configured(jwks_url: str) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        TokenVerifier(hs256_secret="", jwks_url=jwks_url).verify(token)


@pytest.mark.parametrize("overrides", [{"exp": int(time.time()) - 120}, {"aud": "anon"}, {"role": "service_role"},
                                       {"sub": "not-a-uuid"}])
def test_bad_claims_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        TokenVerifier(hs256_secret=SECRET).verify(jwt.encode(_claims(**overrides), SECRET, algorithm="HS256"))


def test_a_token_without_exp_is_refused() -> None:
    claims = _claims()
    del claims["exp"]
    with pytest.raises(Unauthorized):
        TokenVerifier(hs256_secret=SECRET).verify(jwt.encode(claims, SECRET, algorithm="HS256"))
