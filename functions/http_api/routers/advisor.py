"""The advisor: questions about a store, answered from computed figures that the answer cites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from functions.http_api.deps import AccessDep, ContainerDep, UserConn
from shared.advice.language.ask import AskCreate, AskPublic, ask

router = APIRouter(prefix="/api/v1/advisor", tags=["advisor"])


@router.post(
    "/ask", summary="Answer a question about a store; every number in the answer is a cited, computed figure",
    responses={404: {"description": "a store that is not the caller's"},
               422: {"description": "a question that is empty or longer than 500 characters"}},
)
async def post_ask(body: Annotated[AskCreate, Body()], conn: UserConn, access: AccessDep,
                   container: ContainerDep) -> AskPublic:
    return await ask(conn, access, body, model=container.language_model)
