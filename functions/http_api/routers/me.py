"""The caller: user, organizations and role in each."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from functions.http_api.deps import AccessDep

router = APIRouter(prefix="/api/v1", tags=["me"])


class OrganizationRole(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class MePublic(BaseModel):
    id: uuid.UUID
    email: str | None
    is_super_admin: bool
    organizations: list[OrganizationRole]


@router.get("/me", summary="The caller, their organizations and role in each")
async def me(access: AccessDep) -> MePublic:
    return MePublic(
        id=access.user_id, email=access.principal.email, is_super_admin=access.is_super_admin,
        organizations=[OrganizationRole(id=m.org_id, name=m.org_name, role=m.role) for m in access.memberships],
    )
