"""Pure media analysis for video insights: probe, one streamed pass over the frames, one over the audio, and scores.

No I/O beyond reading the local file it is given; thumbnails leave through a callback as they are made. Usage:

    info = probe(path)                                     # NotAVideo(reason) for anything that is not a video
    frames = scan_frames(path, on_keyframe=upload)         # cuts, shots, opening stats; JPEG thumbnails streamed
    audio = scan_audio(path)                               # None without an audio stream
    insights = score_video(info, frames, audio)            # measured_only=True without a vision model
"""

from shared.video.media.audio import scan_audio
from shared.video.media.cuts import CutRules
from shared.video.media.frames import scan_frames
from shared.video.media.models import (
    AudioScan,
    DimensionScore,
    Evidence,
    FrameScan,
    Keyframe,
    NotAVideo,
    OpeningStats,
    Pacing,
    VideoInsights,
    VideoProbe,
)
from shared.video.media.pacing import pacing
from shared.video.media.probe import probe
from shared.video.media.scoring import score_video

__all__ = [
    "AudioScan",
    "CutRules",
    "DimensionScore",
    "Evidence",
    "FrameScan",
    "Keyframe",
    "NotAVideo",
    "OpeningStats",
    "Pacing",
    "VideoInsights",
    "VideoProbe",
    "pacing",
    "probe",
    "scan_audio",
    "scan_frames",
    "score_video",
]
