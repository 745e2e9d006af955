"""llm_usage rows: written by the service, read by members of their organization only, never written by users."""

from __future__ import annotations

import pytest

from shared.advice.language.usage import DatabaseUsageRecorder, UsageRecord
from shared.bootstrap import Container
from tests.support import Tenant


async def test_usage_rows_are_visible_to_their_org_only_and_not_writable_by_users(
    container: Container, world: dict[str, Tenant]
) -> None:
    a, b = world["a"], world["b"]
    await DatabaseUsageRecorder(container.db).record(
        UsageRecord(a.org_id, "phrase", "gpt-test", 1000, 500, 450, a.store_id, "untraceable")
    )
    async with container.db.as_user({"sub": str(a.member_id), "role": "authenticated"}) as conn:
        cur = await conn.execute("select cost_micro_usd, outcome from llm_usage where purpose = 'phrase'")
        assert {(r["cost_micro_usd"], r["outcome"]) for r in await cur.fetchall()} >= {(450, "untraceable")}
    async with container.db.as_user({"sub": str(b.member_id), "role": "authenticated"}) as conn:
        cur = await conn.execute("select distinct org_id from llm_usage")
        assert {r["org_id"] for r in await cur.fetchall()} <= {b.org_id}
    with pytest.raises(Exception, match="permission denied"):
        async with container.db.as_user({"sub": str(a.admin_id), "role": "authenticated"}) as conn:
            await conn.execute(
                "insert into llm_usage (org_id, purpose, model, prompt_tokens, completion_tokens, "
                "cost_micro_usd) values (%s, 'ask', 'm', 0, 0, 0)",
                (a.org_id,),
            )
