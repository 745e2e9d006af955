"""store_sync: one durable run per sync job, page by page, resumable from the database checkpoint.

The orchestrator only orchestrates: every read and write happens in the activities, which keep the
checkpoint in sync_jobs. It continues as new every few hundred pages so its history stays small, and
a restarted instance (same id, e.g. after devhost restarts) picks up from the checkpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel

from shared import runtime
from shared.stores import sync
from shared.stores.records import Entity

bp = df.Blueprint()

PAGES_PER_GENERATION = 200
# Transient platform or database trouble: retry the page a few times before failing the sync.
PAGE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=4)


class SyncInput(BaseModel):
    job_id: uuid.UUID


class PageInput(BaseModel):
    job_id: uuid.UUID
    entity: Entity


@bp.orchestration_trigger(context_name="context")
def store_sync(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    job = SyncInput.model_validate(context.get_input())
    payload = job.model_dump(mode="json")
    try:
        pending: list[str] = yield context.call_activity("sync_begin", payload)
        pages = 0
        for entity in pending:
            done = False
            while not done:
                step = yield context.call_activity_with_retry(
                    "sync_page", PAGE_RETRY, {**payload, "entity": entity})
                if step.get("cancelled"):
                    return "cancelled"
                done = step["done"]
                pages += 1
                if pages >= PAGES_PER_GENERATION and not done:
                    context.continue_as_new(payload)
                    return "continued"
    except Exception as exc:
        outcome: str = yield context.call_activity("sync_finish", {**payload, "error": _reason(exc)})
        return outcome
    outcome = yield context.call_activity("sync_finish", {**payload, "error": None})
    return outcome


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


@bp.activity_trigger(input_name="payload")
def sync_begin(payload: dict[str, Any]) -> list[str]:
    job = SyncInput.model_validate(payload)
    try:
        with runtime.container().db.service_sync() as conn:
            return list(sync.begin(conn, job.job_id))
    except sync.SyncCancelled:
        return []


@bp.activity_trigger(input_name="payload")
def sync_page(payload: dict[str, Any]) -> dict[str, Any]:
    step = PageInput.model_validate(payload)
    c = runtime.container()
    try:
        result = sync.sync_page(c.db, step.job_id, step.entity, c.store_clients, c.secrets)
    except sync.SyncCancelled:
        return {"entity": step.entity, "records": 0, "done": True, "cancelled": True}
    return {"entity": result.entity, "records": result.records, "done": result.done, "cancelled": False}


@bp.activity_trigger(input_name="payload")
def sync_finish(payload: dict[str, Any]) -> str:
    job = SyncInput.model_validate(payload)
    error = payload.get("error")
    with runtime.container().db.service_sync() as conn:
        return sync.finish(conn, job.job_id, None if error is None else str(error))
