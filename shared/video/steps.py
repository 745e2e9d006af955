"""The analysis steps, each idempotent (see pipeline.run_step): probe, scan, transcript, vision, insights.

Each downloads the upload to a temporary file (streamed) and deletes it after; thumbnails are written
under <org>/<video>/ in the thumbnails container with fixed names, so a repeated scan overwrites them.
The model pass (transcript, vision) never fails a video: without a model its steps record `not_configured`;
a refusal, malformed answer, timeout or rate limit (after the client's retries) records `failed` with the
reason, and the insights stay measured only, saying why (`model_pass`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.db.pool import Database
from shared.video import media
from shared.video.impact import WINDOW_DAYS, product_impact
from shared.video.model_pass import (
    KeyframeImage,
    VisionFindings,
    keep_known,
    spoken_calls_to_action,
    vision_messages,
    vision_scores,
)
from shared.video.models import EXTENSIONS
from shared.video.pipeline import Unanalyzable, VideoGone, VideoRow, run_step, stored_result
from shared.video.service import thumbnail_prefix
from shared.video.speech import speech_audio
from shared.video.storage import VideoStorage

if TYPE_CHECKING:
    from shared.advice.language.client import CallContext, LanguageModel

log = logging.getLogger(__name__)

MAX_KEYFRAMES = 12
NOT_CONFIGURED: dict[str, Any] = {"status": "not_configured", "reason": "no language model is configured"}


def _check_upload(storage: VideoStorage, video: VideoRow, max_bytes: int) -> None:
    size = storage.upload_size(video.blob_name)
    if size is None:
        raise Unanalyzable("the uploaded file is missing (deleted, or never uploaded)")
    if size > max_bytes:
        raise Unanalyzable(f"the uploaded file is {size} bytes, more than the limit of {max_bytes}")


def probe(db: Database, storage: VideoStorage, video_id: uuid.UUID, *, max_bytes: int) -> dict[str, Any]:
    def work(video: VideoRow) -> dict[str, Any]:
        _check_upload(storage, video, max_bytes)
        with storage.downloaded(video.blob_name, EXTENSIONS.get(video.content_type, "")) as path:
            try:
                return media.probe(path).model_dump(mode="json")
            except media.NotAVideo as exc:
                raise Unanalyzable(f"not a video we can read: {exc.reason}") from None

    return run_step(db, video_id, "probe", work)


def scan(db: Database, storage: VideoStorage, video_id: uuid.UUID) -> dict[str, Any]:
    scanned: list[VideoRow] = []

    def work(video: VideoRow) -> dict[str, Any]:
        thumbnails: list[dict[str, Any]] = []
        scanned.append(video)

        def keep(frame: media.Keyframe) -> None:
            blob = f"{thumbnail_prefix(video.org_id, video.id)}keyframe-{frame.index:02d}.jpg"
            storage.put_thumbnail(blob, frame.jpeg)
            thumbnails.append({**frame.model_dump(mode="json"), "blob": blob})

        with storage.downloaded(video.blob_name, EXTENSIONS.get(video.content_type, "")) as path:
            try:
                frames = media.scan_frames(path, on_keyframe=keep, max_keyframes=MAX_KEYFRAMES)
                audio = media.scan_audio(path)
            except media.NotAVideo as exc:
                raise Unanalyzable(f"the video could not be decoded: {exc.reason}") from None
        return {"frames": frames.model_dump(mode="json"),
                "audio": None if audio is None else audio.model_dump(mode="json"), "thumbnails": thumbnails}

    try:
        return run_step(db, video_id, "scan", work)
    except VideoGone:
        for video in scanned:  # deleted while scanning: the thumbnails written meanwhile go too
            storage.delete_video(video.blob_name, thumbnail_prefix(video.org_id, video.id))
        raise


def _context(video: VideoRow, purpose: str) -> CallContext:
    from shared.advice.language.client import CallContext

    return CallContext(org_id=video.org_id, purpose=purpose, store_id=video.store_id)


def transcript(db: Database, storage: VideoStorage, model: LanguageModel | None,
               video_id: uuid.UUID) -> dict[str, Any]:
    """Speech to text of the first 10 minutes of the audio (mono 16 kHz WAV), with segment times if the model
    gives them."""

    def work(video: VideoRow) -> dict[str, Any]:
        from shared.advice.language.client import LanguageModelError

        if model is None:
            return dict(NOT_CONFIGURED)
        with db.service_sync() as conn:
            probed = stored_result(conn, video.id, "probe")
        if probed is None:
            raise RuntimeError("the probe step must finish before the transcript")
        if not probed.get("has_audio"):
            return {"status": "no_audio", "reason": "the video has no audio track"}
        with storage.downloaded(video.blob_name, EXTENSIONS.get(video.content_type, "")) as path:
            try:
                with speech_audio(path) as speech:
                    if speech is None:
                        return {"status": "no_audio", "reason": "the audio track has no decodable sound"}
                    truncated = speech.truncated
                    result = asyncio.run(model.transcribe(_context(video, "video_transcript"), speech.path,
                                                          audio_seconds=speech.duration_s))
            except media.NotAVideo as exc:
                return {"status": "failed", "reason": f"audio: {exc.reason}"}
            except LanguageModelError as exc:
                log.warning("video transcript failed", extra={"video_id": str(video.id), "reason": exc.reason})
                return {"status": "failed", "reason": exc.reason,
                        "model": model.config.settings.openai_transcribe_model}
        return {"status": "done", "model": result.model, "language": result.language, "text": result.text,
                "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in result.segments],
                "audio_seconds": result.audio_seconds, "truncated": truncated}

    return run_step(db, video_id, "transcript", work)


_PRODUCT_TITLES = ("select p.title from video_products vp join products p on p.id = vp.product_id "
                   "where vp.video_id = %s order by p.title, p.id")


def vision(db: Database, storage: VideoStorage, model: LanguageModel | None, video_id: uuid.UUID) -> dict[str, Any]:
    """The keyframes (low detail) and the linked products' titles (as data) to the model, structured findings
    back; findings citing a keyframe that was not sent are dropped and counted."""

    def work(video: VideoRow) -> dict[str, Any]:
        from shared.advice.language.client import LanguageModelError

        if model is None:
            return dict(NOT_CONFIGURED)
        with db.service_sync() as conn:
            probed, scanned = stored_result(conn, video.id, "probe"), stored_result(conn, video.id, "scan")
            titles = [r["title"] for r in conn.execute(_PRODUCT_TITLES, (video.id,)).fetchall()]
        if probed is None or scanned is None:
            raise RuntimeError("the probe and scan steps must finish before the vision pass")
        images = []
        for thumb in scanned["thumbnails"]:
            jpeg = storage.read_thumbnail(thumb["blob"])
            if jpeg is None:
                return {"status": "failed", "reason": f"keyframe {thumb['index']} is missing from storage"}
            images.append(KeyframeImage(index=int(thumb["index"]), t=float(thumb["t"]), jpeg=jpeg))
        if not images:
            return {"status": "skipped", "reason": "no keyframes to look at"}
        messages = vision_messages(images, titles, float(probed["duration_s"]))
        try:
            completion = asyncio.run(model.complete(_context(video, "video_vision"), messages, VisionFindings))
        except LanguageModelError as exc:
            log.warning("video vision pass failed", extra={"video_id": str(video.id), "reason": exc.reason})
            return {"status": "failed", "reason": exc.reason, "model": model.model}
        if completion.parsed is None:  # tool calls: none were offered
            return {"status": "failed", "reason": "malformed", "model": model.model}
        times = {i.index: i.t for i in images}
        kept, dropped = keep_known(completion.parsed, times)
        return {"status": "done", "model": model.model, "findings": kept.model_dump(mode="json"),
                "keyframe_times": {str(k): v for k, v in times.items()}, "dropped": dropped}

    return run_step(db, video_id, "vision", work)


def _model_pass(vision_step: dict[str, Any] | None, transcript_step: dict[str, Any] | None,
                modelled: bool) -> dict[str, Any]:
    def state(step: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        if stored is None:
            return {"status": "missing", "reason": f"the {step} step did not finish"}
        keys = ("status", "reason", "model", "dropped")
        return {k: stored[k] for k in keys if stored.get(k) is not None}

    out = {"vision": state("vision", vision_step), "transcript": state("transcript", transcript_step)}
    note = None
    if not modelled:
        v = out["vision"]
        note = ("Measured only: no language model is configured." if v["status"] == "not_configured"
                else f"Measured only: the vision pass {v['status'].replace('_', ' ')} ({v.get('reason', '')}).")
    return {**out, "note": note}


def _public_transcript(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    if not stored or stored.get("status") != "done":
        return None
    return {k: stored.get(k) for k in ("text", "segments", "language", "model", "audio_seconds", "truncated")}


def insights(db: Database, video_id: uuid.UUID, *, now: datetime | None = None) -> dict[str, Any]:
    def work(video: VideoRow) -> dict[str, Any]:
        as_of = now or datetime.now(UTC)
        with db.service_sync() as conn:
            probed, scanned = stored_result(conn, video.id, "probe"), stored_result(conn, video.id, "scan")
            if probed is None or scanned is None:
                raise RuntimeError("the probe and scan steps must finish before insights")
            seen, heard = stored_result(conn, video.id, "vision"), stored_result(conn, video.id, "transcript")
            products = product_impact(conn, video_id=video.id, pivot=video.created_at, as_of=as_of)
        frames = media.FrameScan.model_validate(scanned["frames"])
        audio = None if scanned["audio"] is None else media.AudioScan.model_validate(scanned["audio"])
        modelled = None
        if seen is not None and seen.get("status") == "done":
            times = {int(k): float(v) for k, v in seen["keyframe_times"].items()}
            modelled = vision_scores(VisionFindings.model_validate(seen["findings"]), times,
                                     spoken_calls_to_action(heard))
        scored = media.score_video(media.VideoProbe.model_validate(probed), frames, audio, modelled)
        return {**scored.model_dump(mode="json"), "pacing": media.pacing(frames).model_dump(mode="json"),
                "transcript": _public_transcript(heard),
                "model_pass": _model_pass(seen, heard, not scored.measured_only),
                "cuts": frames.cuts, "opening": frames.opening.model_dump(mode="json"),
                "audio": scanned["audio"], "thumbnails": scanned["thumbnails"],
                "products": [p.model_dump(mode="json") for p in products],
                "product_window_days": WINDOW_DAYS, "as_of": as_of.isoformat()}

    return run_step(db, video_id, "insights", work)
