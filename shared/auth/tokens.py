"""Verifies Supabase access tokens (HS256 project secret or JWKS keys) and mints local ones."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from shared.errors import Unauthorized

_ASYMMETRIC = ["RS256", "ES256", "EdDSA"]
_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    """Who is calling: the Supabase user id and the verified claims."""

    user_id: uuid.UUID
    email: str | None
    claims: dict[str, Any]


class TokenVerifier:
    """Checks signature, expiry, audience (and issuer when configured); never logs the token."""

    def __init__(self, *, hs256_secret: str, jwks_url: str = "", audience: str = "authenticated",
                 issuer: str = "") -> None:
        if not hs256_secret and not jwks_url:
            raise ValueError("configure SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL")
        self._secret = hs256_secret
        self._audience = audience
        self._issuer = issuer or None
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=600) if jwks_url else None

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg == "HS256" and self._secret:
            return self._secret, ["HS256"]
        if alg in _ASYMMETRIC and self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, [alg]
        raise Unauthorized("unsupported token algorithm")

    def verify(self, token: str) -> Principal:
        """The caller behind `token`; Unauthorized when it is malformed, forged, expired or not for us."""
        try:
            key, algorithms = self._key_for(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "sub"]},
            )
            user_id = uuid.UUID(str(claims["sub"]))
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired") from exc
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise Unauthorized("the access token is invalid") from exc
        if claims.get("role") not in (None, "authenticated"):
            raise Unauthorized("the access token is not a user token")
        return Principal(user_id=user_id, email=claims.get("email"), claims=claims)


def mint_token(*, secret: str, user_id: uuid.UUID, email: str | None, ttl_seconds: int = 86_400,
               audience: str = "authenticated", issuer: str = "") -> str:
    """An HS256 access token shaped like Supabase's, for local users (devhost and tests)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "aud": audience,
        "role": "authenticated",
        "iat": now,
        "exp": now + ttl_seconds,
        "email": email,
        "aal": "aal1",
        "session_id": str(uuid.uuid4()),
    }
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
