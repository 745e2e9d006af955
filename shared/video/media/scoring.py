"""Insights: a score per dimension (rules.py says how and why), an overall score and a one-line summary.

Overall is the weighted mean of the measured dimensions: hook 30 % (it decides whether the rest is seen), pacing,
visual quality 20 % each, audio and length 15 % each. Scores a vision model adds (basis "model") count 15 % each
on top, and the weights are renormalised. Without a model the insights say they are measured only.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.video.media.models import AudioScan, DimensionScore, FrameScan, VideoInsights, VideoProbe
from shared.video.media.pacing import pacing
from shared.video.media.rules import audio_score, clamp_round, hook, length, pacing_score, visual_quality

WEIGHTS = {"hook": 0.30, "pacing": 0.20, "visual_quality": 0.20, "audio": 0.15, "length": 0.15}
MODEL_WEIGHT = 0.15


def score_video(
    probe: VideoProbe, frames: FrameScan, audio: AudioScan | None, vision: object | None = None
) -> VideoInsights:
    """Score the measured facts; `vision` may add model-based scores (see `model_scores`)."""
    measured = [
        hook(frames, audio),
        pacing_score(frames, pacing(frames)),
        visual_quality(probe, frames),
        audio_score(audio, frames.duration_s),
        length(probe),
    ]
    modelled = model_scores(vision)
    scores = measured + modelled
    weights = [WEIGHTS.get(s.dimension, MODEL_WEIGHT) if s.basis == "measured" else MODEL_WEIGHT for s in scores]
    overall = clamp_round(sum(w * s.score for w, s in zip(weights, scores, strict=True)) / sum(weights))
    return VideoInsights(scores=scores, overall=overall, measured_only=not modelled, summary=_summary(scores, overall))


def model_scores(vision: object | None) -> list[DimensionScore]:
    """Scores from a vision/transcript pass: an object with a `scores` list, or an iterable of DimensionScore.

    Anything else (including None) adds nothing. They are kept apart from the measured ones by basis="model".
    """
    if vision is None:
        return []
    items = getattr(vision, "scores", vision)
    if not isinstance(items, Iterable):
        return []
    found = [item for item in items if isinstance(item, DimensionScore)]
    return [s if s.basis == "model" else s.model_copy(update={"basis": "model"}) for s in found]


def _summary(scores: list[DimensionScore], overall: int) -> str:
    basis = "Measured only (no vision model)" if all(s.basis == "measured" for s in scores) else "Measured and model"
    weakest = min(scores, key=lambda s: s.score)
    strongest = max(scores, key=lambda s: s.score)
    text = f"{basis}: overall {overall}/100. Strongest: {strongest.dimension} ({strongest.score})."
    if weakest.score < 100:
        advice = f" {weakest.suggestions[0]}" if weakest.suggestions else ""
        text += f" Weakest: {weakest.dimension} ({weakest.score}).{advice}"
    return text
