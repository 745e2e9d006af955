"""video_analysis: probe → scan (frames, thumbnails, audio) → transcript → vision → insights → finish, one
instance per video.

The orchestrator only orchestrates; each activity keeps its result in video_steps and returns the stored
one when it ran before, so a re-driven instance (same id, video-<id>) does only what is left. An upload
that is not a video ends `failed` with the reason at once; any other error is retried, and when the
retries are spent the video ends `failed` with that error: never a silent stall. The model pass
(transcript, vision) is optional: its failures are recorded by the steps themselves, and even a step whose
retries are spent only leaves the insights measured only (`model_pass` says why).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel

from shared import runtime
from shared.bootstrap import Container
from shared.video import pipeline, steps
from shared.video.storage import VideoStorage

bp = df.Blueprint()

# Transient Storage or database trouble: a step is tried three times before the video fails.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=3)
STEP_ACTIVITIES = (("probe", "video_probe"), ("scan", "video_scan"), ("transcript", "video_transcript"),
                   ("vision", "video_vision"), ("insights", "video_insights"))
OPTIONAL_STEPS = frozenset({"transcript", "vision"})


class VideoInput(BaseModel):
    video_id: uuid.UUID


class StepOutcome(BaseModel):
    """What a step tells the orchestrator: small, the results themselves stay in the database."""

    status: str  # "done", "failed" (cannot be analyzed: `reason`), "gone" (deleted meanwhile)
    reason: str | None = None


@bp.orchestration_trigger(context_name="context")
def video_analysis(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    payload = VideoInput.model_validate(context.get_input()).model_dump(mode="json")
    reason: str | None = None
    for step, activity in STEP_ACTIVITIES:
        try:
            outcome = yield context.call_activity_with_retry(activity, RETRY, payload)
        except Exception as exc:
            if step in OPTIONAL_STEPS:
                continue
            reason = f"the {step} step failed after {RETRY.max_number_of_attempts} attempts: {_reason(exc)}"
            break
        if outcome["status"] == "gone":
            return "gone"
        if outcome["status"] == "failed":
            reason = outcome["reason"]
            break
    status: str = yield context.call_activity_with_retry("video_finish", RETRY, {**payload, "reason": reason})
    return status


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _storage(c: Container) -> VideoStorage:
    if c.video_storage is None:
        raise RuntimeError("no blob storage configured (AzureWebJobsStorage / AZURE_STORAGE_CONNECTION_STRING)")
    return c.video_storage


def _run(payload: dict[str, Any], work: Callable[[Container, uuid.UUID], object]) -> dict[str, Any]:
    video = VideoInput.model_validate(payload)
    try:
        work(runtime.container(), video.video_id)
    except pipeline.Unanalyzable as exc:
        return StepOutcome(status="failed", reason=exc.reason).model_dump()
    except pipeline.VideoGone:
        return StepOutcome(status="gone").model_dump()
    return StepOutcome(status="done").model_dump()


@bp.activity_trigger(input_name="payload")
def video_probe(payload: dict[str, Any]) -> dict[str, Any]:
    return _run(payload, lambda c, vid: steps.probe(c.db, _storage(c), vid, max_bytes=c.settings.max_video_bytes))


@bp.activity_trigger(input_name="payload")
def video_scan(payload: dict[str, Any]) -> dict[str, Any]:
    return _run(payload, lambda c, vid: steps.scan(c.db, _storage(c), vid))


@bp.activity_trigger(input_name="payload")
def video_transcript(payload: dict[str, Any]) -> dict[str, Any]:
    return _run(payload, lambda c, vid: steps.transcript(c.db, _storage(c), c.language_model, vid))


@bp.activity_trigger(input_name="payload")
def video_vision(payload: dict[str, Any]) -> dict[str, Any]:
    return _run(payload, lambda c, vid: steps.vision(c.db, _storage(c), c.language_model, vid))


@bp.activity_trigger(input_name="payload")
def video_insights(payload: dict[str, Any]) -> dict[str, Any]:
    return _run(payload, lambda c, vid: steps.insights(c.db, vid))


@bp.activity_trigger(input_name="payload")
def video_finish(payload: dict[str, Any]) -> str:
    video = VideoInput.model_validate(payload)
    reason = payload.get("reason")
    try:
        return pipeline.finish(runtime.container().db, video.video_id, None if reason is None else str(reason))
    except pipeline.VideoGone:
        return "gone"
