"""The local host: starts what the app needs, then serves every function of function_app.app.

HTTP runs under uvicorn on 127.0.0.1:7071, orchestrators and activities on durabletask's in-memory
backend, timers on their NCRONTAB schedules, blob triggers from Azurite and Service Bus / queue
triggers from the local bus. Postgres and Azurite start here unless DATABASE_URL or a storage
connection string point elsewhere. Data persists in the data directory (.devhost/ by default).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import azure.functions as func
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from devhost.blobs import BlobTriggerRunner
from devhost.bus import LocalBus
from devhost.bus_process import BusProcess
from devhost.demo import ensure_demo_stores, start_demo_platforms
from devhost.discovery import DiscoveredFunction, discover
from devhost.timers import TimerRunner
from shared.secrets.local import LocalEncryptedSecretStore

log = logging.getLogger("devhost")

DEMO_EMAIL = "demo@example.com"
DEMO_ORG = "Demo Organization"
STORAGE_ENV = ("AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage")


@dataclass(frozen=True)
class LocalState:
    """Secrets devhost makes once per data directory: the JWT signing secret and the secret-store key."""

    jwt_secret: str
    secrets_key: str

    @classmethod
    def load_or_create(cls, data_dir: Path) -> LocalState:
        path = data_dir / "devhost.json"
        if path.exists():
            data = json.loads(path.read_text())
            return cls(jwt_secret=data["jwt_secret"], secrets_key=data["secrets_key"])
        data_dir.mkdir(parents=True, exist_ok=True)
        state = cls(jwt_secret=secrets.token_urlsafe(48), secrets_key=LocalEncryptedSecretStore.generate_key())
        path.write_text(json.dumps({"jwt_secret": state.jwt_secret, "secrets_key": state.secrets_key}))
        path.chmod(0o600)
        return state


def prepare_environment(data_dir: Path, stack: ExitStack) -> None:
    """Start Postgres and Azurite unless configured, and put every setting the app reads in os.environ."""
    from devhost.azurite import Azurite
    from devhost.postgres import EmbeddedPostgres

    state = LocalState.load_or_create(data_dir)
    if not os.environ.get("DATABASE_URL"):
        pg = EmbeddedPostgres(data_dir / "postgres")
        os.environ["DATABASE_URL"] = pg.start()
        stack.callback(pg.stop)
    storage = next((os.environ[k] for k in STORAGE_ENV if os.environ.get(k)), "")
    if not storage:
        azurite = Azurite(data_dir / "azurite")
        storage = azurite.start()
        stack.callback(azurite.stop)
    for key in STORAGE_ENV:
        os.environ[key] = storage
    os.environ.setdefault("ServiceBusConnection", storage)
    os.environ.setdefault("APP_ENV", "local")
    os.environ.setdefault("SUPABASE_JWT_SECRET", state.jwt_secret)
    os.environ.setdefault("LOCAL_SECRETS_KEY", state.secrets_key)
    os.environ.setdefault("LOCAL_SECRETS_PATH", str(data_dir / "secrets.enc"))


def seed_demo(database_url: str) -> None:
    """The demo organization and its admin user (idempotent)."""
    import psycopg
    from psycopg.rows import dict_row

    from shared.identity import ensure_membership, ensure_org, ensure_user

    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        user = ensure_user(conn, DEMO_EMAIL, "Demo Merchant")
        org = ensure_org(conn, DEMO_ORG)
        ensure_membership(conn, org, user, "admin")


def admin_routes(invokers: dict[str, Callable[[Any], None]]) -> list[Route]:
    """POST /admin/functions/{name}: run a non-HTTP function now, like the Functions host's admin API."""

    async def invoke(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in invokers:
            return JSONResponse({"title": "Not found", "status": 404, "detail": f"no invocable function {name}"},
                                status_code=404, media_type="application/problem+json")
        body = await request.body()
        payload = json.loads(body).get("input") if body else None
        invokers[name](payload)
        return Response(status_code=202)

    return [Route("/admin/functions/{name}", invoke, methods=["POST"])]


def _invoke_timer(timers: TimerRunner, name: str, _payload: Any) -> None:
    timers.invoke(name)


def durable_client_args(fn: DiscoveredFunction) -> dict[str, Any]:
    """Functions that also bind a Durable client get None: locally the container's port is the engine."""
    return {b["name"]: None for b in fn.bindings if b["type"] == "durableClient"}


def build_asgi(app: func.FunctionApp, stack: ExitStack, *, data_dir: Path, on_ready: Callable[[], None],
               demo_stores: bool = True) -> ASGIApp:
    """Start the engine and trigger runners for `app`; return the ASGI app that serves HTTP and admin calls."""
    from devhost.durable import LocalDurableEngine
    from functions.http_api.app import create_app
    from shared import runtime
    from shared.bootstrap import build_container
    from shared.config import get_settings
    from shared.stores.jobs import resume_unfinished_syncs
    from shared.video.uploads import resume_unfinished_videos

    get_settings.cache_clear()
    settings = get_settings()
    engine = LocalDurableEngine(app)
    engine.start()
    stack.callback(engine.stop)
    container = build_container(settings, orchestrations=engine.client)
    runtime.install(container)
    functions = discover(app)
    storage = settings.storage_connection_string
    timers = TimerRunner(functions, extra_args=durable_client_args)
    blobs = BlobTriggerRunner(functions, connection_string=storage, state_dir=data_dir,
                              extra_args=durable_client_args)
    # Bus triggers in a worker process of their own (devhost/bus_process.py); DEVHOST_BUS_PROCESS=0 keeps
    # them in threads of this process.
    bus: LocalBus | BusProcess = (
        LocalBus(functions, connection_string=storage, extra_args=durable_client_args)
        if os.environ.get("DEVHOST_BUS_PROCESS") == "0" else BusProcess(connection_string=storage))
    for runner in (timers, blobs, bus):
        runner.start()
        stack.callback(runner.stop)
    invokers: dict[str, Callable[[Any], None]] = {name: partial(_invoke_timer, timers, name) for name in timers.names}
    api = create_app(container)
    platforms = start_demo_platforms(stack) if demo_stores else []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await container.start()
        resumed = await resume_unfinished_syncs(container.db, container.orchestrations)
        if resumed:
            log.info("resumed unfinished syncs", extra={"instances": resumed})
        # Like syncs, a video analysis caught by a restart goes on at once (the 5-minute sweeper is the backstop).
        videos = await resume_unfinished_videos(container.db, container.orchestrations)
        if videos:
            log.info("resumed unfinished video analyses", extra={"instances": videos})
        if platforms:
            await ensure_demo_stores(container, DEMO_EMAIL, platforms)
        on_ready()
        yield
        await container.stop()

    host = Starlette(routes=[*admin_routes(invokers), Mount("/", app=api)], lifespan=lifespan)

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP requests go straight to the API app, as in Azure (AsgiMiddleware calls it directly): through
        # `host`, each also passed a second Starlette stack (error middlewares, router, mount), ~10% of the
        # main thread's time under sustained webhooks. Lifespan and the admin routes still go through `host`.
        if scope["type"] == "http" and not scope["path"].startswith("/admin/functions/"):
            await api(scope, receive, send)
        else:
            await host(scope, receive, send)

    return serve
