"""How to reach a connected store: its platform, addresses and credentials (from the SecretStore)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from psycopg import Connection
from psycopg.rows import DictRow

from shared.ports import SecretStore
from shared.stores.platform import StoreClient


@dataclass(frozen=True)
class StoreConnection:
    platform: str
    shop_domain: str | None
    base_url: str | None
    api_base_url: str | None
    credentials: dict[str, str] = field(repr=False)


ClientFactory = Callable[[StoreConnection], StoreClient]


def credentials_secret_name(store_id: uuid.UUID) -> str:
    return f"store-{store_id}-credentials"


def load_connection(conn: Connection[DictRow], store_id: uuid.UUID, secrets: SecretStore) -> StoreConnection:
    row = conn.execute(
        "select platform, shop_domain, base_url, api_base_url, credentials_secret from stores "
        "where id = %s and status = 'active'", (store_id,)).fetchone()
    if row is None or not row["credentials_secret"]:
        raise LookupError(f"store {store_id} is not connected")
    credentials = json.loads(secrets.get(row["credentials_secret"]))
    return StoreConnection(row["platform"], row["shop_domain"], row["base_url"], row["api_base_url"], credentials)
