"""The HTTP entry point: one catch-all function serving the FastAPI app through AsgiMiddleware."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func
from fastapi import FastAPI

from functions.http_api.app import create_app
from functions.http_api.durable_client import DurableClientOrchestrations, current_client
from shared import runtime

bp = df.Blueprint()
runtime.use_orchestrations(DurableClientOrchestrations)
_apps: list[FastAPI] = []


def _app() -> FastAPI:
    # Built on first use, once per worker process: clients are created once, not per invocation.
    if not _apps:
        _apps.append(create_app(runtime.container()))
    return _apps[0]


@bp.route(route="{*route}", methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"],
          auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def http_api(req: func.HttpRequest, context: func.Context,
                   client: df.DurableOrchestrationClient) -> func.HttpResponse:
    app = _app()
    # AsgiMiddleware does not run ASGI lifespan events, so open the pools here (idempotent).
    await runtime.container().start()
    token = current_client.set(client)
    try:
        return await func.AsgiMiddleware(app).handle_async(req, context)
    finally:
        current_client.reset(token)
