"""What the media analysis hands back: plain pydantic models, safe to pass between activities as JSON.

Times are seconds from the start of the file; 0..1 figures are shares of the full scale.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class NotAVideo(Exception):
    """The file is not a decodable video; `reason` is short, human-readable and safe to show to the merchant."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VideoProbe(BaseModel):
    duration_s: float
    width: int  # as displayed: a phone video coded 1920x1080 with rotation 90 is 1080 wide
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    has_audio: bool
    bitrate: int | None  # bits per second of the whole file, as the container states or size / duration
    size_bytes: int
    container: str = ""  # the demuxer's name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    rotation: int = 0  # degrees counterclockwise the player turns the coded picture


class Keyframe(BaseModel):
    index: int  # 0, 1, 2 ... in the order emitted (one per shot at most)
    t: float
    width: int
    height: int
    shot: int = 0  # which shot (0-based) the frame was taken from
    sharpness: float = 0.0  # variance of the Laplacian of the small luma picture: higher is crisper
    jpeg: bytes = Field(exclude=True, repr=False)


class OpeningStats(BaseModel):
    """The first 3 seconds, where a viewer decides to stay."""

    window_s: float = 3.0
    motion: float  # mean absolute luma difference between consecutive frames, 0..1
    cut_within_3s: bool
    first_cut_s: float | None
    brightness: float  # mean luma, 0 (black) .. 1 (white)
    contrast: float  # mean per-frame luma standard deviation, 0..0.5 in practice


class FrameScan(BaseModel):
    cuts: list[float]  # time of the first frame of each new shot
    frame_count: int
    fps: float
    shots: list[tuple[float, float]]  # [start, end) of each shot
    keyframe_times: list[float]
    opening: OpeningStats
    duration_s: float
    brightness: float = 0.0  # whole video, same scale as the opening's
    contrast: float = 0.0
    bad_packets: int = 0  # packets the decoder rejected and skipped
    analyzed_s: float = 0.0  # how far the scan went (less than duration_s only when capped by max_duration_s)


class AudioScan(BaseModel):
    loudness_lufs: float | None  # integrated, ITU-R BS.1770-4 (K-weighted, gated); None when all of it is silence
    peak_dbfs: float  # sample peak (not true peak); -inf dB is reported as -120.0
    silences: list[tuple[float, float]]  # [start, end) spans of at least 0.5 s under the silence threshold
    silent_opening: bool  # the first second is silence
    duration_s: float = 0.0
    sample_rate: int = 0
    channels: int = 0


class Pacing(BaseModel):
    cuts_per_10s: float
    mean_shot_s: float
    longest_shot_s: float
    longest_shot_start_s: float = 0.0


class Evidence(BaseModel):
    t: float | None
    keyframe_index: int | None
    note: str


class DimensionScore(BaseModel):
    dimension: str  # "hook", "pacing", "visual_quality", "audio", "length", or a model's own
    score: int = Field(ge=0, le=100)
    evidence: list[Evidence]
    suggestions: list[str]
    basis: Literal["measured", "model"]


class VideoInsights(BaseModel):
    scores: list[DimensionScore]
    overall: int = Field(ge=0, le=100)
    measured_only: bool
    summary: str
