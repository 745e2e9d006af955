"""Fixtures of the webhook tests."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support import Tenant, build_tenant


@pytest.fixture
def tenant(database_url: str) -> tuple[Tenant, str]:
    """A new organization with its Shopify store, and the store's shop domain."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        t = build_tenant(conn, f"wh{uuid.uuid4().hex[:6]}")
        domain = conn.execute("select shop_domain from stores where id = %s", (t.store_id,)).fetchone()
    return t, domain["shop_domain"]
