"""Webhook benchmark: signed Shopify `orders/create` deliveries against devhost (the real local host).

devhost runs as a subprocess (with its demo stores); the load generator is aiohttp in this process, with
every body and signature built before a phase starts, so the client costs little CPU while it fires (httpx
with 64 concurrent requests topped out near 180 requests/s here and measured itself, not the server).
Two phases, each printed with ratios to the targets of issue 4 (>= 500 accepted/s, ack p99 < 100 ms,
lag p95 < 2 s):

- capacity: closed loop, N connections each sending its next delivery as soon as the last is answered:
  deliveries accepted per second and acknowledgement latency p50/p99 (what the server can take at most);
- sustained: open loop at a fixed rate, each delivery sent at its time on the clock whatever the answers
  (the way a platform sends), at most `max in-flight` outstanding: a delivery due while that many are
  still unanswered is not sent and counts against the rate. Accepted/s, ack p50/p99/max, non-2xx, how late
  the generator itself sent (if that is large the figures are the client's), then the lag from receipt
  until applied (p50/p95) from the delivery rows of this phase.

CPU seconds per 1,000 deliveries (devhost's process and its children, from psutil) are printed per phase:
unlike the rates they hardly depend on what else the shared machine runs. Nothing is asserted about time.

    python -m tests.benchmarks webhooks
    BENCH_WEBHOOKS=3000 BENCH_WEBHOOK_CONNECTIONS=64 \
    BENCH_WEBHOOK_RATE=500 BENCH_WEBHOOK_SECONDS=10 BENCH_WEBHOOK_MAX_IN_FLIGHT=512 python -m tests.benchmarks webhooks
    BENCH_WEBHOOK_PHASES=sustained ...   # one phase only (capacity, sustained)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
import psycopg

from shared.secrets.local import LocalEncryptedSecretStore
from shared.webhooks import SHOPIFY_APP_SECRET
from shared.webhooks.signatures import sign
from tests.support_servers import start_devhost

SECRET = "bench-app-secret"
TARGET_RATE, TARGET_ACK_P99, TARGET_LAG_P95 = 500, 0.100, 2.0

Request = tuple[bytes, dict[str, str]]


@dataclass
class Result:
    """What the sender saw in one phase."""

    latencies: list[float] = field(default_factory=list)  # sending → answer, answered requests only
    accepted: int = 0  # 202
    failed: int = 0  # another status, or no answer at all
    not_sent: int = 0  # open loop: due while max in-flight were outstanding
    lateness: list[float] = field(default_factory=list)  # open loop: how late the generator sent each one
    seconds: float = 0.0


def _start_devhost(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AzureWebJobsStorage",
                                                            "AZURE_STORAGE_CONNECTION_STRING")}
    env["LOG_LEVEL"] = "WARNING"
    return start_devhost(data_dir, env, timeout=90)


def _delivery(n: int) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    order_id = 98_000_000 + n
    return json.dumps({
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#B{n}",
        "currency": "USD", "created_at": now, "updated_at": now, "financial_status": "paid", "test": False,
        "subtotal_price": "20.00", "total_price": "20.00", "refunds": [],
        "line_items": [{"id": order_id * 10, "quantity": 1, "price": "20.00", "name": "Bench item",
                        "discount_allocations": []}]}).encode()


def _requests(domain: str, prefix: str, first: int, count: int) -> list[Request]:
    """Signed deliveries of distinct orders, built up front so that firing them costs the client little."""
    requests = []
    for n in range(first, first + count):
        body = _delivery(n)
        requests.append((body, {"X-Shopify-Hmac-Sha256": sign(SECRET, body), "X-Shopify-Topic": "orders/create",
                                "X-Shopify-Shop-Domain": domain, "X-Shopify-Webhook-Id": f"{prefix}{n}",
                                "Content-Type": "application/json"}))
    return requests


def _session(connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


async def _send(session: aiohttp.ClientSession, url: str, request: Request, result: Result) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, data=request[0], headers=request[1]) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError):
        result.failed += 1
        return
    result.latencies.append(time.perf_counter() - started)
    if response.status == 202:
        result.accepted += 1
    else:
        result.failed += 1


async def _closed_loop(url: str, requests: list[Request], connections: int) -> Result:
    result, pending = Result(), iter(requests)

    async def connection(session: aiohttp.ClientSession) -> None:
        for request in pending:
            await _send(session, url, request, result)

    async with _session(connections) as session:
        started = time.perf_counter()
        await asyncio.gather(*(connection(session) for _ in range(connections)))
        result.seconds = time.perf_counter() - started
    return result


async def _open_loop(url: str, requests: list[Request], rate: float, max_in_flight: int) -> Result:
    result, in_flight = Result(), set[asyncio.Task[None]]()
    async with _session(max_in_flight) as session:
        started = time.perf_counter()
        for i, request in enumerate(requests):
            due = started + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            result.lateness.append(max(0.0, time.perf_counter() - due))
            if len(in_flight) >= max_in_flight:
                result.not_sent += 1
                continue
            task = asyncio.create_task(_send(session, url, request, result))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        result.seconds = time.perf_counter() - started
    return result


def _lags(database_url: str, prefix: str, accepted: int, timeout: float = 300) -> list[float]:
    """Receipt → applied, in seconds, of the phase's deliveries, once all of them are applied (or `timeout`)."""
    like = prefix + "%"
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            # Every recorded delivery (a request the client gave up on may still have been recorded, or not).
            done = conn.execute(
                "select count(*) filter (where status = 'processed'), count(*) from webhook_deliveries "
                "where delivery_id like %s", (like,)).fetchone()
            if done and done[0] >= max(done[1], accepted):
                break
            time.sleep(0.5)
        rows = conn.execute("select extract(epoch from processed_at - received_at) from webhook_deliveries "
                            "where delivery_id like %s and processed_at is not null", (like,)).fetchall()
    return [float(r[0]) for r in rows]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def _ms(values: list[float], p: float) -> str:
    return f"{_pct(values, p) * 1000:.0f} ms"


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


def _measure(pid: int, database_url: str, prefix: str, count: int, fire: Callable[[], Result]) -> list[float]:
    """Fire one phase, wait until its deliveries are applied; print CPU per 1,000 deliveries; return the lags."""
    before = _cpu_seconds(pid)
    result = fire()
    fired = _cpu_seconds(pid)
    _print_sender(result, count)
    sent = count - result.not_sent
    lags = _lags(database_url, prefix, result.accepted)
    applied = _cpu_seconds(pid)
    for label, end in (("while firing", fired), ("until all applied", applied)):
        host, rest = ((e - b) * 1000 / sent for e, b in zip(end, before, strict=True))
        print(f"  CPU per 1,000 deliveries {label}: devhost {host:.2f} s, its children {rest:.2f} s")
    lag_p95 = _pct(lags, 95)
    print(f"  applied {len(lags)}/{result.accepted}; lag receipt → applied: p50 {_pct(lags, 50):.2f} s, "
          f"p95 {lag_p95:.2f} s ({lag_p95 / TARGET_LAG_P95:.2f} of the < 2 s target)")
    return lags


def _print_sender(result: Result, count: int) -> None:
    rate, p99 = result.accepted / result.seconds, _pct(result.latencies, 99)
    print(f"  {result.accepted}/{count} accepted in {result.seconds:.1f} s: {rate:,.0f} accepted/s "
          f"({rate / TARGET_RATE:.2f} of the >= 500/s target); ack p50 {_ms(result.latencies, 50)}, "
          f"p99 {p99 * 1000:.0f} ms ({p99 / TARGET_ACK_P99:.2f} of the < 100 ms target), "
          f"max {max(result.latencies, default=0) * 1000:.0f} ms; non-202 or no answer: {result.failed}")
    if result.lateness:
        print(f"  not sent (max in-flight reached): {result.not_sent}; generator lateness p99 "
              f"{_ms(result.lateness, 99)}, max {max(result.lateness) * 1000:.0f} ms")


def main() -> None:
    count = int(os.environ.get("BENCH_WEBHOOKS", "3000"))
    connections = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "64"))
    rate = float(os.environ.get("BENCH_WEBHOOK_RATE", "500"))
    seconds = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "10"))
    max_in_flight = int(os.environ.get("BENCH_WEBHOOK_MAX_IN_FLIGHT", "512"))
    phases = os.environ.get("BENCH_WEBHOOK_PHASES", "capacity,sustained").split(",")
    data_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-")) / "data"
    process, base = _start_devhost(data_dir)
    url, database_url = f"{base}/webhooks/shopify", f"postgresql://postgres:@/postgres?host={data_dir / 'postgres'}"
    try:
        state = json.loads((data_dir / "devhost.json").read_text())
        LocalEncryptedSecretStore(data_dir / "secrets.enc", state["secrets_key"]).set(SHOPIFY_APP_SECRET, SECRET)
        token = (data_dir / "token").read_text().strip()
        stores = _synced_stores(base, token)
        domain = next(s["shop_domain"] for s in stores if s["platform"] == "shopify")
        print(f"devhost pid {process.pid}, its log in {data_dir.parent}; load average {os.getloadavg()}")
        if "capacity" in phases:
            requests = _requests(domain, "bench-c-", 0, count)
            print(f"capacity: {count} deliveries, closed loop on {connections} connections")
            _measure(process.pid, database_url, "bench-c-", count,
                     lambda: asyncio.run(_closed_loop(url, requests, connections)))
        if "sustained" in phases:
            total = round(rate * seconds)
            requests = _requests(domain, "bench-s-", 1_000_000, total)
            print(f"sustained: {total} deliveries, open loop at {rate:,.0f}/s for {seconds:.0f} s, "
                  f"at most {max_in_flight} in flight; load average {os.getloadavg()}")
            _measure(process.pid, database_url, "bench-s-", total,
                     lambda: asyncio.run(_open_loop(url, requests, rate, max_in_flight)))
        print(f"load average after: {os.getloadavg()}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        shutil.rmtree(data_dir, ignore_errors=True)  # Postgres and Azurite data, ~200 MB a run; the log stays
