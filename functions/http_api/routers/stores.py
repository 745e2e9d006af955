"""Stores: list, read (with last sync and freshness), disconnect."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from functions.http_api.deps import (
    DEFAULT_PAGE_SIZE,
    AccessDep,
    ContainerDep,
    CurrentPrincipal,
    Cursor,
    Limit,
    UserConn,
)
from shared.pagination import Page
from shared.stores import connect, jobs, service
from shared.stores.connect import StoreCreate, check_api_base_url
from shared.stores.models import StorePublic

router = APIRouter(prefix="/api/v1/stores", tags=["stores"])
log = logging.getLogger(__name__)


@router.get("", summary="The caller's connected stores")
async def list_stores(conn: UserConn, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None,
                      org_id: uuid.UUID | None = None) -> Page[StorePublic]:
    items, next_cursor = await service.list_stores(conn, limit=limit, cursor=cursor, org_id=org_id)
    return Page(items=items, next_cursor=next_cursor)


@router.post("", status_code=201, summary="Connect a store (admins): verifies the credentials with the platform",
             responses={422: {"description": "invalid input or credentials refused by the platform"},
                        502: {"description": "the platform could not be reached"}})
async def connect_store(body: StoreCreate, conn: UserConn, access: AccessDep, container: ContainerDep,
                        response: Response) -> StorePublic:
    settings = container.settings
    check_api_base_url(body.api_base_url, allowed_hosts=settings.api_base_url_allowlist,
                       local=not settings.is_production)
    store_id = await connect.connect_store(conn, access=access, body=body, clients=container.store_clients,
                                           secrets=container.secrets, public_base_url=settings.public_base_url)
    response.headers["Location"] = f"/api/v1/stores/{store_id}"
    return await service.get_store(conn, store_id)


class SyncCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["full", "incremental"] = "incremental"


class SyncStarted(BaseModel):
    id: uuid.UUID
    status: str
    status_url: str


@router.post("/{store_id}/syncs", status_code=202, summary="Start a sync; 409 while one is running",
             responses={409: {"description": "a sync is already running for this store"}})
async def start_sync(store_id: uuid.UUID, body: SyncCreate, container: ContainerDep,
                     principal: CurrentPrincipal) -> SyncStarted:
    sync = await jobs.start_sync(container.db, principal, store_id=store_id, mode=body.mode,
                                 orchestrations=container.orchestrations)
    return SyncStarted(id=sync.id, status=sync.status, status_url=sync.status_url)


@router.get("/{store_id}", summary="One store, with its last sync and freshness")
async def get_store(store_id: uuid.UUID, conn: UserConn) -> StorePublic:
    return await service.get_store(conn, store_id)


@router.delete("/{store_id}", status_code=204, summary="Disconnect a store (admins)",
               responses={403: {"description": "not an admin"}, 404: {"description": "no such store"}})
async def disconnect_store(store_id: uuid.UUID, conn: UserConn, access: AccessDep, container: ContainerDep,
                           purge: Annotated[bool, Query(description="also delete its synced data")] = False,
                           ) -> Response:
    cancelled = await service.disconnect_store(conn, access=access, store_id=store_id, purge=purge,
                                               secrets=container.secrets, clients=container.store_clients)
    for instance_id in cancelled:
        try:
            await container.orchestrations.terminate(instance_id, "store disconnected")
        except Exception:
            # The job row is already cancelled; a finished or unknown instance needs no terminate.
            log.warning("could not terminate sync", extra={"instance_id": instance_id})
    return Response(status_code=204)
