"""Local users, organizations and memberships: what Supabase Auth and an admin invite would create.

devhost uses it to make the demo organization and user; tests use it to build their worlds.
"""

from __future__ import annotations

import uuid

from psycopg import Connection
from psycopg.rows import DictRow

_NAMESPACE = uuid.UUID("6f1f6d7e-3b7a-4c1e-9d2a-5e0c2b8a9f10")


def local_user_id(email: str) -> uuid.UUID:
    """A stable id per e-mail, so a local token minted later names the same user."""
    return uuid.uuid5(_NAMESPACE, email.strip().lower())


def ensure_user(conn: Connection[DictRow], email: str, display_name: str | None = None) -> uuid.UUID:
    user_id = local_user_id(email)
    conn.execute("insert into auth.users (id, email) values (%s, %s) on conflict (id) do nothing", (user_id, email))
    conn.execute(
        "insert into profiles (id, email, display_name) values (%s, %s, %s) on conflict (id) do nothing",
        (user_id, email, display_name or email.split("@")[0]),
    )
    return user_id


def ensure_org(conn: Connection[DictRow], name: str, org_id: uuid.UUID | None = None) -> uuid.UUID:
    org_id = org_id or uuid.uuid5(_NAMESPACE, f"org:{name}")
    conn.execute("insert into organizations (id, name) values (%s, %s) on conflict (id) do nothing", (org_id, name))
    return org_id


def ensure_membership(conn: Connection[DictRow], org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    if role not in ("member", "admin"):
        raise ValueError("role is member or admin")
    conn.execute(
        "insert into memberships (org_id, user_id, role) values (%s, %s, %s) "
        "on conflict (org_id, user_id) do update set role = excluded.role",
        (org_id, user_id, role),
    )


def make_super_admin(conn: Connection[DictRow], user_id: uuid.UUID) -> None:
    conn.execute("insert into super_admins (user_id) values (%s) on conflict do nothing", (user_id,))
