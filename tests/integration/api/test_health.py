"""/health needs nothing; /ready reports each dependency; OpenAPI and docs are served."""

from __future__ import annotations

import httpx

from shared.bootstrap import Container


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_ready_names_the_failing_dependency(client: httpx.AsyncClient, container: Container) -> None:
    async def broken() -> None:
        raise ConnectionError("storage down")

    container.probes["storage"] = broken
    try:
        r = await client.get("/ready")
    finally:
        del container.probes["storage"]
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "storage": "unreachable"}
    assert "storage" in r.json()["detail"]


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/products" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200
