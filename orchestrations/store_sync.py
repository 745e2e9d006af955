"""store_sync: one durable run per sync job, resumable from the database checkpoint.

Each entity is either paged (one activity per page) or, for Shopify full syncs, exported in bulk: start
the export, poll it on a durable timer, then stream the file in. The orchestrator only orchestrates;
every read and write happens in the activities, which keep the checkpoint in sync_jobs. It continues as
new every few hundred pages so its history stays small, and a restarted instance (same id, e.g. after
devhost restarts) picks up from the checkpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel

from shared import runtime
from shared.analytics.metrics import refresh_for_sync_job
from shared.stores import sync
from shared.stores.records import Entity

bp = df.Blueprint()

PAGES_PER_GENERATION = 200
BULK_POLL_SECONDS = 1
BULK_MAX_POLLS = 5_000  # ~3 h at the poll interval; Shopify's own limit is 10 days, ours is patience
# Transient platform or database trouble: retry a step a few times before failing the sync.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=4)


class SyncInput(BaseModel):
    job_id: uuid.UUID


class StepInput(BaseModel):
    job_id: uuid.UUID
    entity: Entity


@bp.orchestration_trigger(context_name="context")
def store_sync(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    payload = SyncInput.model_validate(context.get_input()).model_dump(mode="json")
    try:
        plan: list[dict[str, Any]] = yield context.call_activity("sync_begin", payload)
        # Start every export at once (Shopify runs up to five per shop since 2026-01), then take them in order.
        bulk = [{**payload, "entity": step["entity"]} for step in plan if step["bulk"]]
        if bulk:
            started = yield context.task_all(
                [context.call_activity_with_retry("sync_bulk_start", RETRY, step) for step in bulk])
            if "cancelled" in started:
                return "cancelled"
        pages = 0
        for step in plan:
            step_input = {**payload, "entity": step["entity"]}
            if step["bulk"]:
                outcome = yield from _bulk(context, step_input)
            else:
                outcome = yield from _pages(context, step_input, PAGES_PER_GENERATION - pages)
            if outcome == "cancelled":
                return "cancelled"
            if outcome == "continue":
                context.continue_as_new(payload)
                return "continued"
            pages += int(outcome)
    except Exception as exc:
        failed: str = yield context.call_activity("sync_finish", {**payload, "error": _reason(exc)})
        return failed
    finished: str = yield context.call_activity("sync_finish", {**payload, "error": None})
    if finished == "succeeded":
        # The store's advice follows its fresh data (orchestrations/advisor.py; it reports, never raises).
        yield context.call_activity("advisor_run_store", payload)
    return finished


def _pages(context: df.DurableOrchestrationContext, step_input: dict[str, Any],
           budget: int) -> Generator[Any, Any, str]:
    """Page through one entity; "continue" when the generation's page budget is spent first."""
    pages = 0
    while True:
        step = yield context.call_activity_with_retry("sync_page", RETRY, step_input)
        if step["cancelled"]:
            return "cancelled"
        pages += 1
        if step["done"]:
            return str(pages)
        if pages >= budget:
            return "continue"


def _bulk(context: df.DurableOrchestrationContext, step_input: dict[str, Any]) -> Generator[Any, Any, str]:
    """Poll the entity's export (started already) on a durable timer, then stream it in."""
    for _ in range(BULK_MAX_POLLS):
        state = yield context.call_activity_with_retry("sync_bulk_poll", RETRY, step_input)
        if state == "cancelled":
            return "cancelled"
        if state == "completed":
            stored = yield context.call_activity_with_retry("sync_bulk_ingest", RETRY, step_input)
            return "cancelled" if stored == "cancelled" else "0"
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=BULK_POLL_SECONDS))
    raise TimeoutError(f"the {step_input['entity']} export did not finish")


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


@bp.activity_trigger(input_name="payload")
def sync_begin(payload: dict[str, Any]) -> list[dict[str, Any]]:
    job = SyncInput.model_validate(payload)
    try:
        with runtime.container().db.service_sync() as conn:
            return [{"entity": s.entity, "bulk": s.bulk} for s in sync.begin(conn, job.job_id)]
    except sync.SyncCancelled:
        return []


@bp.activity_trigger(input_name="payload")
def sync_page(payload: dict[str, Any]) -> dict[str, Any]:
    step = StepInput.model_validate(payload)
    c = runtime.container()
    try:
        result = sync.sync_page(c.db, step.job_id, step.entity, c.store_clients, c.secrets)
    except sync.SyncCancelled:
        return {"entity": step.entity, "records": 0, "done": True, "cancelled": True}
    return {"entity": result.entity, "records": result.records, "done": result.done, "cancelled": False}


def _bulk_step(step_fn: Callable[..., Any], payload: dict[str, Any]) -> Any:
    """Run one bulk step for the payload's job and entity; "cancelled" when the job no longer runs."""
    step = StepInput.model_validate(payload)
    c = runtime.container()
    try:
        return step_fn(c.db, step.job_id, step.entity, c.store_clients, c.secrets)
    except sync.SyncCancelled:
        return "cancelled"


@bp.activity_trigger(input_name="payload")
def sync_bulk_start(payload: dict[str, Any]) -> str:
    return _bulk_step(sync.bulk_start, payload)


@bp.activity_trigger(input_name="payload")
def sync_bulk_poll(payload: dict[str, Any]) -> str:
    return _bulk_step(sync.bulk_poll, payload)


@bp.activity_trigger(input_name="payload")
def sync_bulk_ingest(payload: dict[str, Any]) -> int | str:
    return _bulk_step(sync.bulk_ingest, payload)


@bp.activity_trigger(input_name="payload")
def sync_finish(payload: dict[str, Any]) -> str:
    job = SyncInput.model_validate(payload)
    error = payload.get("error")
    with runtime.container().db.service_sync() as conn:
        status = sync.finish(conn, job.job_id, None if error is None else str(error))
        if status == "succeeded":
            # The days this sync touched are recomputed with it, so the first read after a sync is fast.
            refresh_for_sync_job(conn, job.job_id)
        return status
