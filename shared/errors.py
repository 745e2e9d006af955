"""Domain errors: plain exceptions that the HTTP layer maps to RFC 9457 problems in one place."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every error a caller can act on; `detail` is safe to show (no secrets, no SQL)."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


@dataclass(frozen=True)
class FieldError:
    loc: list[str | int]
    msg: str


class ValidationFailed(DomainError):
    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class UpstreamUnavailable(DomainError):
    """A store platform or another outside service could not be reached or failed."""

    status = 502
    title = "Upstream service unavailable"


class ServiceUnavailable(DomainError):
    status = 503
    title = "Service unavailable"
