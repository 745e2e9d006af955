"""The clips the media-analysis tests run on: 320x180, a few seconds each, shots and silences at known times."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.video_clips import make_clip


@dataclass(frozen=True)
class Clip:
    path: Path
    fps: int
    cuts_at: tuple[float, ...]
    duration_s: float
    silence: tuple[tuple[float, float], ...] = ()


# name -> (duration, fps, cuts, silences, audio, codec, size)
_CLIPS: dict[str, tuple[float, int, tuple[float, ...], tuple[tuple[float, float], ...], bool, str, tuple[int, int]]] = {
    "cuts": (10.0, 25, (0.8, 2.4, 5.0, 9.6), ((4.0, 5.0),), True, "libx264", (320, 180)),
    "odd_times": (8.0, 30, (1.37, 3.03, 6.5), (), True, "libx264", (320, 180)),
    "one_shot": (8.0, 25, (), (), True, "libx264", (320, 180)),
    "early_cut": (10.0, 25, (1.0, 4.0, 7.0), (), True, "libx264", (320, 180)),
    "late_cut": (10.0, 25, (7.0,), (), True, "libx264", (320, 180)),
    "silent_start": (8.0, 25, (2.0,), ((0.0, 1.5), (5.0, 6.0)), True, "libx264", (320, 180)),
    "mute": (4.0, 25, (2.0,), (), False, "libx264", (320, 180)),
    "vp8": (6.0, 25, (1.2, 3.6), (), True, "libvpx", (320, 180)),
    "mpeg4": (6.0, 24, (2.5,), (), False, "mpeg4", (320, 180)),
    "portrait": (5.0, 25, (1.5, 3.0), (), False, "libx264", (180, 320)),
    "many_shots": (12.0, 25, tuple(0.5 + i * 0.75 for i in range(15)), (), False, "libx264", (320, 180)),
}


def make_clips(folder: Path) -> dict[str, Clip]:
    made = {}
    for name, (duration, fps, cuts, silence, audio, codec, size) in _CLIPS.items():
        suffix = ".webm" if codec == "libvpx" else ".mp4"
        path = make_clip(
            folder / f"{name}{suffix}",
            duration_s=duration,
            size=size,
            fps=fps,
            cuts_at=cuts,
            audio=audio,
            silence=silence,
            codec=codec,
        )
        made[name] = Clip(path, fps, cuts, duration, silence)
    return made
