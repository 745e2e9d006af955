"""Kill -9 the host while webhook deliveries are in flight: after a restart every delivery is applied once.

devhost runs as a process against a Postgres and an Azurite that outlive it (as Azure's database and bus
outlive a Functions instance). Deliveries are versions of a few orders, posted out of order; the host is
killed mid-stream, when some are applied, some queued or only recorded, and the rest not acknowledged.
The "platform" then retries only what it got no 2xx for. The sweeper and the lock expiry must bring the
rest home: every row processed with one attempt, every order in its newest version, no doubled lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from devhost.azurite import Azurite
from shared.db.migrate import migrate
from shared.secrets.local import LocalEncryptedSecretStore
from shared.webhooks import SHOPIFY_APP_SECRET
from shared.webhooks.signatures import sign
from tests.support import build_tenant
from tests.support_servers import start_devhost

SECRET = "crash-test-app-secret"
ORDERS, VERSIONS = 40, 5
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_database(pg_server_url: str) -> Iterator[str]:
    """A database of its own: the host's timers must not touch the stores other tests arranged."""
    name = f"crash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url) | {"dbname": name}
    url = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    migrate(url)
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Azurite(Path(tmp_path_factory.mktemp("azurite-crash")))
    yield server.start()
    server.stop()


def _start(data_dir: Path, database_url: str, storage: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ServiceBusConnection", "AZURE_STORAGE_CONNECTION_STRING")}
    env |= {"DATABASE_URL": database_url, "AzureWebJobsStorage": storage, "LOG_LEVEL": "WARNING"}
    return start_devhost(data_dir, env, "--no-demo-stores")


def _delivery(order: int, version: int) -> tuple[str, bytes]:
    order_id = 97_000_000 + order
    updated = f"2026-11-25T10:{version:02d}:00Z"
    body = json.dumps(
        {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#K{order}",
            "currency": "EUR",
            "created_at": "2026-11-25T10:00:00Z",
            "updated_at": updated,
            "financial_status": "paid",
            "test": False,
            "subtotal_price": f"{10 * (version + 1)}.00",
            "total_price": f"{10 * (version + 1)}.00",
            "refunds": [],
            "line_items": [
                {
                    "id": order_id * 10 + line,
                    "quantity": version + 1,
                    "price": "5.00",
                    "name": f"Item {line}",
                    "discount_allocations": [],
                }
                for line in range(2)
            ],
        }
    ).encode()
    return f"crash-{order}-{version}", body


async def _post_all(
    base: str,
    domain: str,
    deliveries: list[tuple[str, bytes]],
    acked: set[str],
    stop_after: int | None = None,
    on_stop: Any = None,
) -> None:
    """Posts with 16 at a time; calls `on_stop` once `stop_after` have been acknowledged."""
    pending = list(deliveries)

    async def worker(client: httpx.AsyncClient) -> None:
        while pending:
            webhook_id, body = pending.pop()
            headers = {
                "X-Shopify-Hmac-Sha256": sign(SECRET, body),
                "X-Shopify-Topic": "orders/updated",
                "X-Shopify-Shop-Domain": domain,
                "X-Shopify-Webhook-Id": webhook_id,
                "Content-Type": "application/json",
            }
            try:
                response = await client.post(f"{base}/webhooks/shopify", content=body, headers=headers)
            except httpx.TransportError:
                continue  # the host is gone: not acknowledged, the platform will retry it
            if response.status_code in (200, 202):
                acked.add(webhook_id)
            if stop_after is not None and len(acked) >= stop_after and on_stop is not None:
                on_stop()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    rows = conn.execute(
        "select status, count(*) as n from webhook_deliveries where delivery_id like 'crash-%%' group by status"
    ).fetchall()
    return {r["status"]: r["n"] for r in rows}


def test_every_delivery_is_applied_once_after_the_host_is_killed(
    tmp_path: Path, own_database: str, azurite: str
) -> None:
    database_url = own_database
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        tenant = build_tenant(conn, f"crash{uuid.uuid4().hex[:6]}")
        domain = conn.execute("select shop_domain from stores where id = %s", (tenant.store_id,)).fetchone()[
            "shop_domain"
        ]
    deliveries = [_delivery(o, v) for o in range(ORDERS) for v in range(VERSIONS)]
    random.Random(7).shuffle(deliveries)
    data_dir = tmp_path / "data"
    first, base = _start(data_dir, database_url, azurite)
    state = json.loads((data_dir / "devhost.json").read_text())
    LocalEncryptedSecretStore(data_dir / "secrets.enc", state["secrets_key"]).set(SHOPIFY_APP_SECRET, SECRET)

    def kill() -> None:
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)

    acked: set[str] = set()
    asyncio.run(_post_all(base, domain, deliveries, acked, stop_after=len(deliveries) // 2, on_stop=kill))
    first.wait(10)
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        at_kill = _counts(conn)
    assert len(acked) < len(deliveries), "the host died after everything was acknowledged"
    assert at_kill.get("received", 0) > 0, f"nothing was in flight when the host died: {at_kill}"

    second, base = _start(data_dir, database_url, azurite)
    try:
        asyncio.run(_post_all(base, domain, [d for d in deliveries if d[0] not in acked], acked))
        assert len(acked) == len(deliveries)
        _wait_until_all_processed(base, database_url)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(30)
    _assert_applied_once(database_url, tenant.store_id)


def _wait_until_all_processed(base: str, database_url: str) -> None:
    """Lock expiry (30 s) brings back the messages the dead host held; the sweeper queues rows it never sent."""
    deadline = time.monotonic() + 150
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        while (counts := _counts(conn)).get("processed", 0) < ORDERS * VERSIONS:
            assert time.monotonic() < deadline, f"not all deliveries were applied: {counts}"
            httpx.post(f"{base}/admin/functions/requeue_unsent_webhooks", timeout=30)
            time.sleep(3)


def _assert_applied_once(database_url: str, store_id: uuid.UUID) -> None:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select delivery_id, status, attempts, processed_at, error from webhook_deliveries "
            "where delivery_id like 'crash-%%'"
        ).fetchall()
        assert len(rows) == ORDERS * VERSIONS  # one row per delivery id, however often it was posted
        # Applied once: one successful attempt each (an apply killed mid-transaction rolled back entirely).
        assert {(r["status"], r["attempts"]) for r in rows} == {("processed", 1)}
        assert all(r["processed_at"] is not None for r in rows)
        assert all(r["error"] is None or r["error"].endswith("a newer version is stored") for r in rows)
        orders = conn.execute(
            "select o.external_id, o.total_price, o.updated_at_platform, count(l.id) as lines, "
            "sum(l.quantity) as units from orders o left join order_lines l on l.order_id = o.id "
            "where o.store_id = %s and o.external_id like 'gid://shopify/Order/97%%' group by o.id",
            (store_id,),
        ).fetchall()
    assert len(orders) == ORDERS
    newest = VERSIONS - 1
    assert {(str(o["total_price"]), o["lines"], o["units"]) for o in orders} == {
        (f"{10 * (newest + 1)}.00", 2, 2 * (newest + 1))
    }
