"""Super-admin operations: dead-lettered (poisoned) messages of a queue and their replay."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from functions.http_api.deps import DEFAULT_PAGE_SIZE, AccessDep, ContainerDep, Cursor, Limit
from shared.admin.dead_letters import DeadLetterMessage, dead_letter_store_for
from shared.auth.access import Access
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.webhooks import WEBHOOKS_QUEUE

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
log = logging.getLogger(__name__)

_CURSOR_KIND = "dead-letters"
QueueName = Annotated[str, Query(min_length=3, max_length=54, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$",
                                 description="the queue whose dead letters to read")]


def require_super_admin(access: AccessDep) -> Access:
    if not access.is_super_admin:
        raise Forbidden("this action needs a super admin")
    return access


SuperAdmin = Annotated[Access, Depends(require_super_admin)]


class DeadLetterPublic(BaseModel):
    id: str
    queue: str
    reason: str | None
    error_description: str | None
    delivery_count: int | None
    enqueued_at: datetime | None
    dead_lettered_at: datetime | None
    content_type: str | None
    body: str

    @classmethod
    def of(cls, m: DeadLetterMessage) -> DeadLetterPublic:
        return cls(id=m.message_id, queue=m.queue, reason=m.reason, error_description=m.error_description,
                   delivery_count=m.delivery_count, enqueued_at=m.enqueued_at, dead_lettered_at=m.dead_lettered_at,
                   content_type=m.content_type, body=m.body)


class Replayed(BaseModel):
    queue: str
    message_id: str
    replayed: int


@router.get("/dead-letters", summary="Dead-lettered messages of a queue, oldest first (super admins)",
            responses={403: {"description": "not a super admin"}})
async def list_dead_letters(_admin: SuperAdmin, container: ContainerDep, queue: QueueName = WEBHOOKS_QUEUE,
                            limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None) -> Page[DeadLetterPublic]:
    start: int | None = None
    if cursor:
        cursor_queue, start = decode_cursor(cursor, _CURSOR_KIND, (str, int))
        if cursor_queue != queue:
            raise ValidationFailed("the cursor is not valid for this list; start again without it")
    store = dead_letter_store_for(container.settings)
    page = await asyncio.to_thread(store.peek, queue, limit, start)
    next_cursor = (encode_cursor(_CURSOR_KIND, [queue, page.next_sequence_number])
                   if page.next_sequence_number is not None else None)
    return Page(items=[DeadLetterPublic.of(m) for m in page.items], next_cursor=next_cursor)


@router.post("/dead-letters/{message_id}/replay",
             summary="Put a dead-lettered message back on its queue (super admins)",
             responses={403: {"description": "not a super admin"}, 404: {"description": "no such dead letter"}})
async def replay_dead_letter(admin: SuperAdmin, container: ContainerDep,
                             message_id: Annotated[str, Path(min_length=1, max_length=200)],
                             queue: QueueName = WEBHOOKS_QUEUE) -> Replayed:
    store = dead_letter_store_for(container.settings)
    replayed = await asyncio.to_thread(store.replay, queue, message_id)
    if not replayed:
        raise NotFound("dead letter not found")
    log.info("dead letter replayed", extra={"queue": queue, "message_id": message_id,
                                            "actor_id": str(admin.user_id), "count": replayed})
    return Replayed(queue=queue, message_id=message_id, replayed=replayed)
