"""What applying a delivery produced, the stores it concerns, and the audit trail they share."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

Conn = Connection[DictRow]


@dataclass
class Applied:
    status: str  # "processed" | "ignored" | "already" (an earlier message applied it)
    detail: str = ""
    # Secrets to delete once the transaction has committed (the SecretStore is not transactional).
    secrets_to_delete: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoreRef:
    id: uuid.UUID
    org_id: uuid.UUID
    status: str
    credentials_secret: str | None


Handler = Callable[[Conn, dict[str, Any], list[StoreRef]], Applied]


def active(stores: Sequence[StoreRef]) -> list[StoreRef]:
    return [s for s in stores if s.status == "active"]


def audit(conn: Conn, org_id: uuid.UUID | None, action: str, target_type: str, target_id: str,
          details: dict[str, Any]) -> None:
    conn.execute(
        "insert into audit_log (org_id, actor_id, action, target_type, target_id, details) "
        "values (%s, null, %s, %s, %s, %s)", (org_id, action, target_type, target_id, Jsonb(details)))
