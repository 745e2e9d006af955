"""advisor: the nightly run of the detectors over every active store, and the follow-up of accepted advice.

A timer (04:00 UTC) starts `advisor_nightly` once per day (instance id `advisor-nightly-<date>`); it fans out
one `advisor_run_store` activity per active store (task_all), then measures the accepted recommendations whose
window has passed. A store's run also follows each successful sync of it (`store_sync` calls
`advisor_run_store` with the job id). Activities are idempotent: a run adds nothing a second time on the same
day (see `shared.advice.recommendations`), and a measured recommendation is not measured again. Each store
run writes an `advisor.run` row to audit_log; the orchestrator's result carries the totals.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from shared import runtime
from shared.advice import followup
from shared.advice.evidence import Phraser
from shared.advice.recommendations import run_for_store
from shared.advice.templates import TemplatePhraser
from shared.ports import InstanceAlreadyRunning

bp = df.Blueprint()
log = logging.getLogger(__name__)

NIGHTLY = "advisor_nightly"
_RESTARTABLE = (df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated)


@asynccontextmanager
async def _service_conn(*, transaction: bool = True) -> AsyncIterator[AsyncConnection[DictRow]]:
    """A connection of its own: activities run on worker threads with fresh loops (not the API's pool).

    With `transaction=False` it is in autocommit mode and the caller opens its own (short) transactions: a store's
    run words its advice with a language model between them, with no transaction open."""
    conn = await AsyncConnection.connect(runtime.container().db.url, row_factory=dict_row, prepare_threshold=None,
                                         autocommit=not transaction)
    try:
        if transaction:
            async with conn.transaction():
                yield conn
        else:
            yield conn
    finally:
        await conn.close()


def _phraser(org_id: uuid.UUID) -> Phraser:
    """The language model's phraser (checked against the figures, the template as fallback) when configured."""
    template = TemplatePhraser()
    model = runtime.container().language_model
    if model is None:
        return template
    from shared.advice.language.phraser import ModelPhraser

    return ModelPhraser(model, fallback=template, org_id=org_id)


@bp.timer_trigger(arg_name="timer", schedule="0 0 4 * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def advisor_nightly_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient | None) -> None:
    """Nightly: start the day's advisor run (once; a second start the same day is refused by its instance id)."""
    instance_id = f"advisor-nightly-{datetime.now(UTC).date().isoformat()}"
    try:
        if client is None:  # devhost: the container's port is the local engine
            await runtime.container().orchestrations.start(NIGHTLY, {}, instance_id)
            return
        existing = await client.get_status(instance_id)
        if existing is not None and existing.runtime_status not in (None, *_RESTARTABLE):
            raise InstanceAlreadyRunning(instance_id)  # running, or done today already
        await client.start_new(NIGHTLY, instance_id, {})
    except InstanceAlreadyRunning:
        log.info("advisor run already started today", extra={"instance_id": instance_id})


@bp.orchestration_trigger(context_name="context")
def advisor_nightly(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    options = context.get_input() or {}  # optional overrides: {"limit": n, "followup_days": n}
    stores: list[str] = yield context.call_activity("advisor_active_stores", {})
    runs: list[dict[str, Any]] = yield context.task_all(
        [context.call_activity("advisor_run_store", {"store_id": s, "limit": options.get("limit")}) for s in stores])
    measured: list[str] = yield context.call_activity(
        "advisor_measure_followups", {"now": context.current_utc_datetime.isoformat(),
                                      "window_days": options.get("followup_days")})
    return {"stores": len(stores), "created": sum(r.get("created", 0) for r in runs),
            "failed": sum(1 for r in runs if r.get("error")), "measured": len(measured)}


@bp.activity_trigger(input_name="payload")
def advisor_active_stores(payload: dict[str, Any]) -> list[str]:
    with runtime.container().db.service_sync() as conn:
        rows = conn.execute("select id from stores where status = 'active' and last_synced_at is not null "
                            "order by id").fetchall()
    return [str(r["id"]) for r in rows]


async def _run(payload: dict[str, Any]) -> dict[str, Any]:
    settings = runtime.container().settings
    async with _service_conn(transaction=False) as conn:  # run_for_store opens its own short transactions
        store_id = payload.get("store_id")
        if store_id is None:  # after a sync: the job names the store
            cur = await conn.execute("select store_id from sync_jobs where id = %s and status = 'succeeded'",
                                     (payload["job_id"],))
            row = await cur.fetchone()
            if row is None:
                return {"store_id": None, "created": 0, "skipped": "no succeeded sync"}
            store_id = row["store_id"]
        cur = await conn.execute("select org_id from stores where id = %s", (store_id,))
        org = await cur.fetchone()
        if org is None:
            return {"store_id": str(store_id), "created": 0, "skipped": "no such store"}
        result = await run_for_store(
            conn, uuid.UUID(str(store_id)), phraser=_phraser(org["org_id"]),
            limit=payload.get("limit") or settings.advisor_daily_limit, lead_time_days=settings.advisor_lead_time_days)
    return {"store_id": str(result.store_id), "run_day": result.run_day.isoformat(), "detected": result.detected,
            "created": len(result.created)}


@bp.activity_trigger(input_name="payload")
def advisor_run_store(payload: dict[str, Any]) -> dict[str, Any]:
    """One store's run; a failure is reported in the result (and logged), so one store cannot stop the rest."""
    try:
        return asyncio.run(_run(payload))
    except Exception as exc:
        log.exception("advisor run failed", extra={"payload": payload})
        return {"store_id": payload.get("store_id"), "created": 0, "error": str(exc).splitlines()[0][:300]
                if str(exc) else type(exc).__name__}


async def _measure(now: datetime, window_days: int) -> list[str]:
    async with _service_conn() as conn:
        return [str(i) for i in await followup.measure_due(conn, now=now, window_days=window_days)]


@bp.activity_trigger(input_name="payload")
def advisor_measure_followups(payload: dict[str, Any]) -> list[str]:
    now = datetime.fromisoformat(payload["now"]) if payload.get("now") else datetime.now(UTC)
    days = payload.get("window_days") or runtime.container().settings.advisor_followup_days
    return asyncio.run(_measure(now, int(days)))
