"""The README's run command, for real: devhost as a process over HTTP, with its own Postgres and Azurite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import psutil
import pytest

from shared.secrets.local import LocalEncryptedSecretStore
from shared.webhooks import SHOPIFY_APP_SECRET
from shared.webhooks.signatures import sign
from tests.support_servers import start_devhost

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
_CLEARED = ("DATABASE_URL", "AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage", "ServiceBusConnection",
            "SUPABASE_JWT_SECRET", "LOCAL_SECRETS_KEY", "LOCAL_SECRETS_PATH")


@dataclass
class Devhost:
    process: subprocess.Popen[bytes]
    base: str
    data_dir: Path

    @property
    def token(self) -> str:
        return (self.data_dir / "token").read_text().strip()


def _start(data_dir: Path) -> Devhost:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    process, base = start_devhost(data_dir, env)
    return Devhost(process, base, data_dir)


def _stop(host: Devhost, how: signal.Signals = signal.SIGINT) -> int:
    host.process.send_signal(how)
    return host.process.wait(timeout=30)


def _running_in(data_dir: Path) -> list[str]:
    """The processes (Postgres, Azurite) still working on `data_dir`."""
    names = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        if any(str(data_dir) in part for part in proc.info["cmdline"] or []) and proc.info["name"] != "python":
            names.append(proc.info["name"])
    return names


@pytest.fixture(scope="module")
def devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    host = _start(tmp_path_factory.mktemp("devhost") / "data")
    yield host
    if host.process.poll() is None:
        _stop(host)


def test_demo_user_reaches_the_api_with_the_printed_token(devhost: Devhost) -> None:
    auth = {"Authorization": f"Bearer {devhost.token}"}
    me = httpx.get(f"{devhost.base}/api/v1/me", headers=auth)
    assert me.status_code == 200
    assert me.json()["organizations"][0]["name"] == "Demo Organization"
    assert me.json()["organizations"][0]["role"] == "admin"
    assert httpx.get(f"{devhost.base}/api/v1/me").status_code == 401


def test_the_demo_stores_are_connected_and_synced_within_a_minute(devhost: Devhost) -> None:
    auth = {"Authorization": f"Bearer {devhost.token}"}
    deadline = time.monotonic() + 90
    while True:
        stores = httpx.get(f"{devhost.base}/api/v1/stores", headers=auth).json()["items"]
        states = {s["platform"]: (s["last_sync"] or {}).get("status") for s in stores}
        if set(states.values()) == {"succeeded"} or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert states == {"shopify": "succeeded", "woocommerce": "succeeded"}
    for store in stores:
        sync = httpx.get(f"{devhost.base}/api/v1/syncs/{store['last_sync']['id']}", headers=auth).json()
        assert sync["counts"]["orders"] > 1000, sync
        assert sync["counts"]["refunds"] > 0
        products = httpx.get(f"{devhost.base}/api/v1/products", params={"store_id": store["id"]}, headers=auth)
        assert len(products.json()["items"]) == 50
        orders = httpx.get(f"{devhost.base}/api/v1/orders", params={"store_id": store["id"], "limit": 5},
                           headers=auth).json()
        assert len(orders["items"]) == 5
        assert orders["next_cursor"]


def test_a_signed_webhook_travels_through_the_local_bus_into_the_api(devhost: Devhost) -> None:
    auth = {"Authorization": f"Bearer {devhost.token}"}
    state = json.loads((devhost.data_dir / "devhost.json").read_text())
    LocalEncryptedSecretStore(devhost.data_dir / "secrets.enc", state["secrets_key"]).set(
        SHOPIFY_APP_SECRET, "e2e-app-secret")
    stores = httpx.get(f"{devhost.base}/api/v1/stores", headers=auth).json()["items"]
    shop = next(s for s in stores if s["platform"] == "shopify")
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    body = json.dumps({
        "id": 99000001, "admin_graphql_api_id": "gid://shopify/Order/99000001", "name": "#E2E", "currency": "USD",
        "created_at": now, "updated_at": now, "financial_status": "paid", "test": False,
        "subtotal_price": "30.00", "total_price": "30.00", "line_items": [
            {"id": 990000011, "quantity": 2, "price": "15.00", "name": "Webhook Mug", "discount_allocations": []}],
        "refunds": []}).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign("e2e-app-secret", body), "X-Shopify-Topic": "orders/create",
               "X-Shopify-Shop-Domain": shop["shop_domain"], "X-Shopify-Webhook-Id": "e2e-delivery-1",
               "Content-Type": "application/json"}
    # The shop-local days around now, whatever the store's time zone.
    today = datetime.now(UTC).date()
    days = {"store_id": shop["id"], "from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    before = httpx.get(f"{devhost.base}/api/v1/analytics/summary", params=days, headers=auth).json()["period"]
    assert httpx.post(f"{devhost.base}/webhooks/shopify", content=body, headers=headers).status_code == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        newest = httpx.get(f"{devhost.base}/api/v1/orders", params={"store_id": shop["id"], "limit": 1},
                           headers=auth).json()["items"]
        if newest and newest[0]["external_id"] == "gid://shopify/Order/99000001":
            break
        time.sleep(0.3)
    assert newest[0]["total_price"] == {"amount": "30.00", "currency": "USD"}
    # In the rollups as soon as it is applied: a read refreshes what the webhook batch left queued.
    after = httpx.get(f"{devhost.base}/api/v1/analytics/summary", params=days, headers=auth).json()["period"]
    assert after["metrics"]["orders"] == before["metrics"]["orders"] + 1
    assert (Decimal(after["metrics"]["gross_sales"]["amount"])
            == Decimal(before["metrics"]["gross_sales"]["amount"]) + Decimal("30.00"))
    again = httpx.post(f"{devhost.base}/webhooks/shopify", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"


def test_ready_checks_database_storage_and_bus(devhost: Devhost) -> None:
    r = httpx.get(f"{devhost.base}/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "storage": "ok", "bus": "ok"}
    assert httpx.get(f"{devhost.base}/openapi.json").json()["info"]["title"] == "Retail AI Advisor API"


def test_admin_endpoint_invokes_a_timer_function(devhost: Devhost) -> None:
    assert httpx.post(f"{devhost.base}/admin/functions/sweep_stuck_syncs").status_code == 202
    assert httpx.post(f"{devhost.base}/admin/functions/no_such_function").status_code == 404


def test_token_command_mints_a_token_the_host_accepts(devhost: Devhost) -> None:
    out = subprocess.run([sys.executable, "-m", "devhost", "token", "--data-dir", str(devhost.data_dir)],
                         cwd=ROOT, capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k not in _CLEARED})
    r = httpx.get(f"{devhost.base}/api/v1/me", headers={"Authorization": f"Bearer {out.stdout.strip()}"})
    assert r.status_code == 200


def test_ctrl_c_or_sigterm_stops_cleanly_and_data_survives_a_restart(devhost: Devhost) -> None:
    org_before = httpx.get(f"{devhost.base}/api/v1/me",
                           headers={"Authorization": f"Bearer {devhost.token}"}).json()["organizations"]
    assert _stop(devhost) == 0
    assert _running_in(devhost.data_dir) == []  # Postgres and Azurite stopped with it
    again = _start(devhost.data_dir)
    try:
        me = httpx.get(f"{again.base}/api/v1/me", headers={"Authorization": f"Bearer {again.token}"})
        assert me.json()["organizations"] == org_before
    finally:
        # What process managers, `docker stop` or an IDE's stop button send: the same clean stop.
        assert _stop(again, signal.SIGTERM) == 0
    assert _running_in(devhost.data_dir) == []
