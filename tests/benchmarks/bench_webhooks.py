"""Webhook benchmark: signed Shopify deliveries at a sustained rate against devhost (the real local host).

Measures what the sender sees (deliveries accepted per second, acknowledgement latency p50/p99) and what
the merchant sees (lag from receipt until the change is applied, p50/p95), from the delivery rows.
Prints figures; asserts nothing about time.

    python -m tests.benchmarks webhooks        # 3,000 deliveries, 64 at a time
    BENCH_WEBHOOKS=500 python -m tests.benchmarks webhooks
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from shared.secrets.local import LocalEncryptedSecretStore
from shared.webhooks import SHOPIFY_APP_SECRET
from shared.webhooks.signatures import sign

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-app-secret"


def _start_devhost(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AzureWebJobsStorage",
                                                            "AZURE_STORAGE_CONNECTION_STRING")}
    env["LOG_LEVEL"] = "WARNING"
    log = (data_dir.parent / "devhost.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "run", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("devhost did not start")


def _delivery(n: int) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    order_id = 98_000_000 + n
    return json.dumps({
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#B{n}",
        "currency": "USD", "created_at": now, "updated_at": now, "financial_status": "paid", "test": False,
        "subtotal_price": "20.00", "total_price": "20.00", "refunds": [],
        "line_items": [{"id": order_id * 10, "quantity": 1, "price": "20.00", "name": "Bench item",
                        "discount_allocations": []}]}).encode()


async def _fire(base: str, domain: str, total: int, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            n = queue.get_nowait()
            body = _delivery(n)
            headers = {"X-Shopify-Hmac-Sha256": sign(SECRET, body), "X-Shopify-Topic": "orders/create",
                       "X-Shopify-Shop-Domain": domain, "X-Shopify-Webhook-Id": f"bench-{n}",
                       "Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                response = await client.post(f"{base}/webhooks/shopify", content=body, headers=headers)
            except httpx.TransportError:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)
            failures += response.status_code != 202

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, failures


def _lags(database_url: str, total: int, failures: int, timeout: float = 300) -> list[float]:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            # Every recorded delivery (a request the client gave up on may still have been recorded, or not).
            done = conn.execute(
                "select count(*) filter (where status = 'processed'), count(*) from "
                "webhook_deliveries where delivery_id like 'bench-%%'"
            ).fetchone()
            if done and done[0] >= max(done[1], total - failures):
                break
            time.sleep(0.5)
        rows = conn.execute("select extract(epoch from processed_at - received_at) from webhook_deliveries "
                            "where delivery_id like 'bench-%%' and processed_at is not null").fetchall()
    return [float(r[0]) for r in rows]


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def _synced_stores(base: str, token: str) -> list[dict[str, Any]]:
    """The demo stores once their first syncs are done, so the load does not compete with them."""
    for _ in range(600):
        stores = httpx.get(f"{base}/api/v1/stores", headers={"Authorization": f"Bearer {token}"}).json()["items"]
        if stores and all((s["last_sync"] or {}).get("status") == "succeeded" for s in stores):
            return list(stores)
        time.sleep(0.5)
    raise RuntimeError("the demo stores did not finish syncing")


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by devhost's own process and by its children (Postgres, Azurite, the bus
    worker process): a figure that, unlike the rates, hardly depends on what else the machine runs."""
    host = psutil.Process(pid)
    own = sum(host.cpu_times()[:2])
    children = 0.0
    for child in host.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += sum(child.cpu_times()[:2])
    return own, children


def main() -> None:
    total = int(os.environ.get("BENCH_WEBHOOKS", "3000"))
    concurrency = int(os.environ.get("BENCH_WEBHOOK_CONCURRENCY", "64"))
    data_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-")) / "data"
    process, base = _start_devhost(data_dir)
    try:
        state = json.loads((data_dir / "devhost.json").read_text())
        LocalEncryptedSecretStore(data_dir / "secrets.enc", state["secrets_key"]).set(SHOPIFY_APP_SECRET, SECRET)
        token = (data_dir / "token").read_text().strip()
        stores = _synced_stores(base, token)
        domain = next(s["shop_domain"] for s in stores if s["platform"] == "shopify")
        cpu_before = _cpu_seconds(process.pid)
        latencies, seconds, failures = asyncio.run(_fire(base, domain, total, concurrency))
        cpu_fired = _cpu_seconds(process.pid)
        print(f"load average before: {os.getloadavg()}; logs: {data_dir.parent / 'devhost.log'}")
        print(
            f"{total} deliveries, {concurrency} at a time: {total / seconds:,.0f} accepted/s "
            f"(target >= 500), ack p50 {_pct(latencies, 50) * 1000:.0f} ms, p99 {_pct(latencies, 99) * 1000:.0f} ms "
            f"(target < 100 ms), non-202: {failures}"
        )
        lags = _lags(f"postgresql://postgres:@/postgres?host={data_dir / 'postgres'}", total, failures)
        cpu_after = _cpu_seconds(process.pid)
        for label, end in (("while firing", cpu_fired), ("until all applied", cpu_after)):
            host, rest = ((e - b) * 1000 / total for e, b in zip(end, cpu_before, strict=True))
            print(f"CPU per 1,000 deliveries {label}: devhost {host:.2f} s, its children {rest:.2f} s")
        print(
            f"applied {len(lags)}/{total}; lag receipt → applied: p50 {_pct(lags, 50):.2f} s, "
            f"p95 {_pct(lags, 95):.2f} s (target < 2 s); load average after: {os.getloadavg()}"
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
