"""Database: a service statement is committed when it returns (the webhook 2xx relies on it); a service
transaction on the same autocommit pool still commits only at its end."""

from __future__ import annotations

import uuid
from typing import Any

from shared.bootstrap import Container

_INSERT = ("insert into webhook_deliveries (platform, delivery_id, topic, payload) "
           "values ('shopify', %s, 'orders/create', '{}')")
_COUNT = "select count(*) as n from webhook_deliveries where delivery_id = %s"


async def test_a_service_statement_is_committed_as_soon_as_it_returns(container: Container,
                                                                      service_conn: Any) -> None:
    delivery_id = f"pool-test-{uuid.uuid4()}"
    async with container.db.service_statement() as conn:
        await conn.execute(_INSERT, (delivery_id,))
        seen_inside = service_conn.execute(_COUNT, (delivery_id,)).fetchone()["n"]
    service_conn.execute("delete from webhook_deliveries where delivery_id = %s", (delivery_id,))
    assert seen_inside == 1


async def test_a_service_transaction_commits_only_at_its_end(container: Container, service_conn: Any) -> None:
    delivery_id = f"pool-test-{uuid.uuid4()}"
    async with container.db.as_service() as conn:
        await conn.execute(_INSERT, (delivery_id,))
        seen_inside = service_conn.execute(_COUNT, (delivery_id,)).fetchone()["n"]
    seen_after = service_conn.execute(_COUNT, (delivery_id,)).fetchone()["n"]
    service_conn.execute("delete from webhook_deliveries where delivery_id = %s", (delivery_id,))
    assert (seen_inside, seen_after) == (0, 1)
