"""Opaque cursors and the list envelope of SPEC.md: {"items": [...], "next_cursor": str | null}."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_MAX_CURSOR_CHARS = 512


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(kind: str, values: list[Any]) -> str:
    """A cursor names the list it belongs to, so one list's cursor is refused by another."""
    raw = json.dumps([kind, *values], separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, types: tuple[type, ...]) -> list[Any]:
    """The key values in `cursor`, checked against the expected kind and types; 422 otherwise."""
    bad = ValidationFailed("the cursor is not valid for this list; start again without it")
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(decoded, list) or len(decoded) != len(types) + 1 or decoded[0] != kind:
        raise bad
    values = decoded[1:]
    for value, expected in zip(values, types, strict=True):
        if value is not None and not isinstance(value, expected):
            raise bad
    return values


def page_of(rows: list[T], limit: int, cursor_of: Any) -> tuple[list[T], str | None]:
    """Split rows fetched with limit+1 into the page and the cursor of the next one."""
    if len(rows) > limit:
        page = rows[:limit]
        return page, cursor_of(page[-1])
    return rows, None
