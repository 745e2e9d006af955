"""Store resources as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

Platform = Literal["shopify", "woocommerce"]


class LastSync(BaseModel):
    id: uuid.UUID
    status: str
    mode: str
    started_at: datetime | None
    finished_at: datetime | None


class StorePublic(BaseModel):
    id: uuid.UUID
    org_id: uuid.UUID
    platform: Platform
    name: str
    shop_domain: str | None
    base_url: str | None
    currency: str | None
    timezone: str
    status: str
    freshness_minutes: int
    last_synced_at: datetime | None
    # True when the last successful sync is younger than the store's freshness setting.
    fresh: bool
    last_sync: LastSync | None
    created_at: datetime
