"""One streamed pass over the video frames: scene cuts, shots, thumbnails, the opening 3 s and picture statistics.

Cost is kept down by decoding with FFmpeg's threads and looking at each frame only as a small YUV picture (longest
side `analysis_size`, 128 px, through swscale's area filter); every frame is looked at, because a cut must be placed
on its exact frame. Memory stays flat: two small pictures for differences, `CutRules.window` frames of look-ahead,
and a handful of thumbnail candidates for the current shot. Thumbnails leave through `on_keyframe` as each shot ends.

`fast_decode` (the default) tells H.264/HEVC decoders to skip the deblocking (loop) filter: about 7 % less decoding
CPU on the benchmark clip (5 Mbit/s 720p). It changes pixels only along block edges, which the 128 px analysis
picture averages away; thumbnails, scaled down 2.7x from 720p, can show faint blocking on starved bitrates.
Decoders without a loop filter ignore the option.

Brightness is mean luma on the video (limited, 16..235) scale mapped to 0..1; contrast is the mean per-frame
standard deviation of luma on the same scale (a half-black, half-white frame is 0.5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.container import InputContainer
from av.video.stream import VideoStream

from shared.video.media.container import (
    av_reason,
    check_picture_size,
    declared_duration_s,
    open_input,
    origin_s,
    video_stream,
)
from shared.video.media.cuts import CutDetector, CutRules
from shared.video.media.keyframes import ShotKeyframes, thumbnail_size
from shared.video.media.models import FrameScan, Keyframe, NotAVideo, OpeningStats

OPENING_S = 3.0
_MAX_BAD_PACKETS = 25  # a few damaged packets are skipped as players do; more means the file is broken
_LUMA_BLACK, _LUMA_RANGE = 16.0, 219.0

Picture = npt.NDArray[np.float32]


@dataclass
class _Stats:
    """Running sums, so nothing per frame is kept."""

    frames: int = 0
    brightness: float = 0.0
    contrast: float = 0.0
    motion: float = 0.0
    motion_frames: int = 0

    def add(self, luma: Picture, motion: float | None) -> None:
        self.frames += 1
        self.brightness += float(np.clip((luma.mean() - _LUMA_BLACK) / _LUMA_RANGE, 0.0, 1.0))
        self.contrast += float(luma.std() / _LUMA_RANGE)
        if motion is not None:
            self.motion += motion
            self.motion_frames += 1

    def mean(self, total: float, count: int) -> float:
        return round(total / count, 4) if count else 0.0


@dataclass
class _Shots:
    keyframes: ShotKeyframes
    cuts: list[float] = field(default_factory=list)
    shots: list[tuple[float, float]] = field(default_factory=list)
    start: float = 0.0

    def frame(self, t: float, frame: av.VideoFrame, luma: Picture, is_cut: bool) -> None:
        if is_cut:
            self.close(t)
            self.cuts.append(round(t, 3))
            self.start = t
        self.keyframes.offer(t, frame, luma)

    def close(self, end: float) -> None:
        self.keyframes.end_shot(len(self.shots), self.start, end)
        self.shots.append((round(self.start, 3), round(end, 3)))


@dataclass
class _FramePass:
    """The state of one pass: the previous small picture, running statistics, the cut detector and the shots."""

    grid: tuple[int, int]
    shots: _Shots
    detector: CutDetector[tuple[float, av.VideoFrame, Picture]]
    whole: _Stats = field(default_factory=_Stats)
    opening: _Stats = field(default_factory=_Stats)
    previous: Picture | None = None
    last_t: float = 0.0

    def add(self, index: int, t: float, frame: av.VideoFrame) -> None:
        if index == 0:
            self.shots.keyframes.rotation = frame.rotation
        width, height = self.grid
        small = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA")
        picture = small.to_ndarray().astype(np.float32)
        luma = picture[:height]  # the Y plane; U and V follow it in the yuv420p array
        score = motion = None
        if self.previous is not None:
            score = float(np.abs(picture - self.previous).mean() / 255)
            motion = float(np.abs(luma - self.previous[:height]).mean() / 255)
        self.whole.add(luma, motion)
        if t < OPENING_S:
            self.opening.add(luma, motion)
        for (ft, fr, fl), is_cut in self.detector.push(index, t, score, (t, frame, luma)):
            self.shots.frame(ft, fr, fl, is_cut)
        self.previous, self.last_t = picture, t

    def finish(self, stream: VideoStream, duration: float | None, bad_packets: int) -> FrameScan:
        if self.whole.frames == 0:
            raise NotAVideo("no decodable video frames")
        for (ft, fr, fl), is_cut in self.detector.flush():
            self.shots.frame(ft, fr, fl, is_cut)
        fps = _fps(stream, self.whole.frames, self.last_t)
        end = self.last_t + (1 / fps if fps else 0.0)
        self.shots.close(end)
        whole = self.whole
        return FrameScan(
            cuts=self.shots.cuts,
            frame_count=whole.frames,
            fps=fps,
            shots=self.shots.shots,
            keyframe_times=self.shots.keyframes.emitted,
            opening=_opening(self.opening, self.shots.cuts),
            duration_s=round(duration if duration else end, 3),
            brightness=whole.mean(whole.brightness, whole.frames),
            contrast=whole.mean(whole.contrast, whole.frames),
            bad_packets=bad_packets,
            analyzed_s=round(end, 3),
        )


def scan_frames(
    path: Path,
    *,
    on_keyframe: Callable[[Keyframe], None],
    max_keyframes: int = 12,
    thumb_width: int = 480,
    analysis_size: int = 128,
    max_duration_s: float | None = 900.0,
    rules: CutRules | None = None,
    fast_decode: bool = True,
) -> FrameScan:
    """Decode every frame of `path` once; raise NotAVideo if it cannot be decoded. Stops at `max_duration_s`.

    `on_keyframe` receives each shot's thumbnail (a JPEG at most `thumb_width` wide) as soon as the shot ends.
    `fast_decode` skips H.264/HEVC deblocking (see the module docstring).
    """
    with open_input(path) as container:
        stream = video_stream(container)
        stream.thread_type = "AUTO"  # FFmpeg decodes several frames at once, one per core
        if fast_decode:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        duration = declared_duration_s(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        check_picture_size(width, height)
        keyframes = ShotKeyframes(on_keyframe, max_keyframes, duration, thumbnail_size(width, height, thumb_width))
        scan = _FramePass(_grid(width, height, analysis_size), _Shots(keyframes), CutDetector(rules or CutRules()))
        bad = [0]
        for index, (t, frame) in enumerate(_frames(container, stream, max_duration_s, bad)):
            scan.add(index, t, frame)
        return scan.finish(stream, duration, bad[0])


def _frames(
    container: InputContainer, stream: VideoStream, max_duration_s: float | None, bad: list[int]
) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded frames with their time from the start of the file; damaged packets are counted in `bad[0]`."""
    origin = origin_s(container)
    fallback_rate = float(stream.average_rate or stream.guessed_rate or 25)
    n = 0
    for packet in container.demux(stream):
        try:
            decoded = packet.decode()
        except av.FFmpegError as error:
            bad[0] += 1
            if bad[0] > _MAX_BAD_PACKETS:
                raise NotAVideo(f"could not decode: too many damaged packets ({av_reason(error)})") from error
            continue
        for frame in decoded:
            t = frame.time - origin if frame.time is not None else n / fallback_rate
            if max_duration_s is not None and t >= max_duration_s:
                return
            n += 1
            yield max(0.0, t), frame


def _grid(width: int, height: int, size: int) -> tuple[int, int]:
    """The small picture's size: the longer side `size` (never enlarged), even sides, the aspect kept."""
    if width >= height:
        return thumbnail_size(width, height, size)
    tall, wide = thumbnail_size(height, width, size)
    return wide, tall


def _fps(stream: VideoStream, frames: int, last_t: float) -> float:
    rate = stream.average_rate or stream.guessed_rate
    if rate:
        return round(float(rate), 3)
    return round((frames - 1) / last_t, 3) if last_t > 0 else 0.0


def _opening(stats: _Stats, cuts: list[float]) -> OpeningStats:
    return OpeningStats(
        window_s=OPENING_S,
        motion=stats.mean(stats.motion, stats.motion_frames),
        cut_within_3s=any(c < OPENING_S for c in cuts),
        first_cut_s=cuts[0] if cuts else None,
        brightness=stats.mean(stats.brightness, stats.frames),
        contrast=stats.mean(stats.contrast, stats.frames),
    )
