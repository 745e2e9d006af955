"""The advisor's recommendations: list them, accept or dismiss an open one (SPEC; docs/api.md "Recommendations")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from functions.http_api.deps import DEFAULT_PAGE_SIZE, AccessDep, Cursor, Limit, UserConn
from shared.advice import recommendations as service
from shared.pagination import Page

router = APIRouter(prefix="/api/v1/recommendations", tags=["advisor"])

StatusFilter = Annotated[service.Status | None, Query(description="only recommendations with this status")]


@router.get("", summary="The advisor's recommendations, newest first, each with the figures it rests on")
async def list_recommendations(conn: UserConn, store_id: uuid.UUID | None = None, status: StatusFilter = None,
                               limit: Limit = DEFAULT_PAGE_SIZE,
                               cursor: Cursor = None) -> Page[service.RecommendationPublic]:
    items, next_cursor = await service.list_recommendations(conn, store_id=store_id, status=status, limit=limit,
                                                            cursor=cursor)
    return Page[service.RecommendationPublic](items=items, next_cursor=next_cursor)


async def _feedback(conn: UserConn, access: AccessDep, recommendation_id: uuid.UUID,
                    action: Literal["accept", "dismiss"]) -> service.RecommendationPublic:
    # Any member may give feedback; RLS hides other organizations' recommendations (404).
    return await service.feedback(conn, recommendation_id, access.user_id, action)


_CONFLICT: dict[int | str, dict[str, Any]] = {404: {"description": "no such recommendation for the caller"},
                                              409: {"description": "the recommendation is not open"}}


@router.post("/{recommendation_id}/accept", summary="Accept an open recommendation (its outcome is measured later)",
             responses=_CONFLICT)
async def accept(recommendation_id: uuid.UUID, conn: UserConn, access: AccessDep) -> service.RecommendationPublic:
    return await _feedback(conn, access, recommendation_id, "accept")


@router.post("/{recommendation_id}/dismiss", summary="Dismiss an open recommendation", responses=_CONFLICT)
async def dismiss(recommendation_id: uuid.UUID, conn: UserConn, access: AccessDep) -> service.RecommendationPublic:
    return await _feedback(conn, access, recommendation_id, "dismiss")
