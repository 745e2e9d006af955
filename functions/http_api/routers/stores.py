"""Stores: list, read (with last sync and freshness), disconnect."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from functions.http_api.deps import DEFAULT_PAGE_SIZE, AccessDep, ContainerDep, Cursor, Limit, UserConn
from shared.pagination import Page
from shared.stores import service
from shared.stores.models import StorePublic

router = APIRouter(prefix="/api/v1/stores", tags=["stores"])
log = logging.getLogger(__name__)


@router.get("", summary="The caller's connected stores")
async def list_stores(conn: UserConn, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None,
                      org_id: uuid.UUID | None = None) -> Page[StorePublic]:
    items, next_cursor = await service.list_stores(conn, limit=limit, cursor=cursor, org_id=org_id)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{store_id}", summary="One store, with its last sync and freshness")
async def get_store(store_id: uuid.UUID, conn: UserConn) -> StorePublic:
    return await service.get_store(conn, store_id)


@router.delete("/{store_id}", status_code=204, summary="Disconnect a store (admins)",
               responses={403: {"description": "not an admin"}, 404: {"description": "no such store"}})
async def disconnect_store(store_id: uuid.UUID, conn: UserConn, access: AccessDep, container: ContainerDep,
                           purge: Annotated[bool, Query(description="also delete its synced data")] = False,
                           ) -> Response:
    cancelled = await service.disconnect_store(conn, access=access, store_id=store_id, purge=purge,
                                               secrets=container.secrets)
    for instance_id in cancelled:
        try:
            await container.orchestrations.terminate(instance_id, "store disconnected")
        except Exception:
            # The job row is already cancelled; a finished or unknown instance needs no terminate.
            log.warning("could not terminate sync", extra={"instance_id": instance_id})
    return Response(status_code=204)
