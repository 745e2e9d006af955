"""Liveness (no dependencies) and readiness (database, storage and bus reachable)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from functions.http_api.deps import ContainerDep
from functions.http_api.problems import PROBLEM_JSON, TYPE_BASE

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Dependencies are reachable", responses={503: {"description": "one is not"}})
async def ready(container: ContainerDep) -> JSONResponse:
    await container.start()
    checks: dict[str, str] = {}
    for name, probe in container.probes.items():
        try:
            await probe()
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness check failed", extra={"check": name, "error": type(exc).__name__})
            checks[name] = "unreachable"
    failed = [name for name, state in checks.items() if state != "ok"]
    if failed:
        return JSONResponse(
            {"type": TYPE_BASE + "not-ready", "title": "Not ready", "status": 503,
             "detail": f"unreachable: {', '.join(failed)}", "instance": "/ready", "checks": checks},
            status_code=503, media_type=PROBLEM_JSON,
        )
    return JSONResponse({"status": "ready", "checks": checks})
