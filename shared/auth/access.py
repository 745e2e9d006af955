"""The caller's organizations and roles, and the 404/403 rules of SPEC.md."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shared.auth.tokens import Principal
from shared.errors import Forbidden, NotFound

ROLES = ("member", "admin")


@dataclass(frozen=True)
class Membership:
    org_id: uuid.UUID
    org_name: str
    role: str


@dataclass(frozen=True)
class Access:
    """What the caller may do: member of some organizations, admin of some, maybe super admin."""

    principal: Principal
    memberships: tuple[Membership, ...]
    is_super_admin: bool

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    def role_in(self, org_id: uuid.UUID) -> str | None:
        if self.is_super_admin:
            return "admin"
        return next((m.role for m in self.memberships if m.org_id == org_id), None)

    def require_member(self, org_id: uuid.UUID, what: str = "resource") -> None:
        """Another organization's resource does not exist for this caller (404, never 403)."""
        if self.role_in(org_id) is None:
            raise NotFound(f"{what} not found")

    def require_admin(self, org_id: uuid.UUID, what: str = "resource") -> None:
        self.require_member(org_id, what)
        if self.role_in(org_id) != "admin":
            raise Forbidden("this action needs the admin role in the organization")

    def default_org(self) -> uuid.UUID:
        """The organization to act in when the request names none: the caller's only one."""
        if len(self.memberships) == 1:
            return self.memberships[0].org_id
        if not self.memberships:
            raise Forbidden("you are not a member of any organization")
        raise NotFound("name the organization: you belong to several (org_id)")


async def load_access(conn: AsyncConnection[DictRow], principal: Principal) -> Access:
    """Read the caller's memberships inside their own RLS-scoped transaction."""
    cur = await conn.execute(
        "select m.org_id, o.name as org_name, m.role from memberships m "
        "join organizations o on o.id = m.org_id where m.user_id = %s order by o.name, o.id",
        (principal.user_id,),
    )
    memberships = tuple(Membership(r["org_id"], r["org_name"], r["role"]) for r in await cur.fetchall())
    cur = await conn.execute("select app.is_super_admin() as yes")
    row = await cur.fetchone()
    return Access(principal=principal, memberships=memberships, is_super_admin=bool(row and row["yes"]))
