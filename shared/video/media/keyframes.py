"""One thumbnail per shot, chosen and JPEG-encoded when the shot ends, handed to a callback, never accumulated.

While a shot plays we keep at most `_CAPACITY` candidate thumbnails spread evenly over it (every frame at first;
when full, every other one is dropped and the sampling stride doubles), so memory stays a few small pictures
however long the shot. At the cut we take the sharpest candidate from the middle 60 % of the shot: its first and last
frames are where transitions, motion blur and encoder key-frame pumping sit.

With more shots than `max_keyframes`, thumbnails are spread over the timeline: by the time t of the video no more
than ceil(max_keyframes * t / duration) are emitted, so a burst of quick cuts at the start cannot use up the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
from av.video.codeccontext import VideoCodecContext

from shared.video.media.models import Keyframe

_CAPACITY = 8
_MIDDLE_BAND = 0.2  # share of the shot ignored at each end when choosing
_JPEG_QUANTIZER = "3"  # MJPEG qscale 2 (best) .. 31; 3 looks clean at about 8 KB for 480x270


@dataclass
class _Candidate:
    t: float
    sharpness: float
    thumb: av.VideoFrame


def sharpness(luma: npt.NDArray[np.float32]) -> float:
    """Variance of the 4-neighbour Laplacian: edges and texture raise it, blur lowers it."""
    if luma.shape[0] < 3 or luma.shape[1] < 3:
        return 0.0
    lap = luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1] - 4 * luma[1:-1, 1:-1]
    return float(lap.var())


def thumbnail_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """At most `max_width` wide (never enlarged), the aspect kept, both sides even as YUV 4:2:0 requires."""
    w = min(width, max_width)
    h = max(2, round(height * w / width / 2) * 2)
    return max(2, w // 2 * 2), h


class JpegEncoder:
    """One MJPEG encoder per scan: every JPEG is a complete intra picture, so the context is reusable."""

    def __init__(self, width: int, height: int) -> None:
        codec = av.CodecContext.create("mjpeg", "w")
        assert isinstance(codec, VideoCodecContext)
        self._codec = codec
        self._codec.width, self._codec.height = width, height
        self._codec.pix_fmt = "yuv420p"
        self._codec.color_range = av.video.reformatter.ColorRange.JPEG  # JPEG is full range (0..255)
        self._codec.time_base = Fraction(1, 25)
        self._codec.options = {"qmin": _JPEG_QUANTIZER, "qmax": _JPEG_QUANTIZER}
        self._pts = 0

    def encode(self, picture: av.VideoFrame) -> bytes:
        # PyAV rescales pts from the frame's time base: give both the encoder's so each pts is new.
        picture.time_base = self._codec.time_base
        picture.pts, self._pts = self._pts, self._pts + 1
        return b"".join(bytes(packet) for packet in self._codec.encode(picture))


@dataclass
class ShotKeyframes:
    on_keyframe: Callable[[Keyframe], None]
    max_keyframes: int
    duration_s: float | None
    thumb_size: tuple[int, int]  # as coded; turned by `rotation` when emitted
    rotation: int = 0  # degrees counterclockwise the player turns the picture (phones filming upright)
    emitted: list[float] = field(default_factory=list)
    _candidates: list[_Candidate] = field(default_factory=list)
    _stride: int = 1
    _seen: int = 0
    _encoder: JpegEncoder | None = None

    def offer(self, t: float, frame: av.VideoFrame, luma: npt.NDArray[np.float32]) -> None:
        """Every frame of the current shot, in order; only every `_stride`-th is kept."""
        seen, self._seen = self._seen, self._seen + 1
        if len(self.emitted) >= self.max_keyframes or seen % self._stride:
            return
        if len(self._candidates) >= _CAPACITY:
            self._candidates = self._candidates[::2]
            self._stride *= 2
            if seen % self._stride:
                return
        width, height = self.thumb_size
        thumb = frame.reformat(
            width=width, height=height, format="yuv420p", dst_color_range="JPEG", interpolation="AREA"
        )
        self._candidates.append(_Candidate(t, sharpness(luma), thumb))

    def end_shot(self, shot: int, start: float, end: float) -> None:
        """The shot [start, end) is over: emit its thumbnail if the budget allows, then start afresh."""
        candidates, self._candidates, self._stride, self._seen = self._candidates, [], 1, 0
        if not candidates or len(self.emitted) >= self._allowed_by(end):
            return
        best = _choose(candidates, start, end)
        picture = upright(best.thumb, self.rotation)
        if self._encoder is None:
            self._encoder = JpegEncoder(picture.width, picture.height)
        jpeg = self._encoder.encode(picture)
        keyframe = Keyframe(
            index=len(self.emitted),
            t=round(best.t, 3),
            width=picture.width,
            height=picture.height,
            shot=shot,
            sharpness=round(best.sharpness, 2),
            jpeg=jpeg,
        )
        self.emitted.append(keyframe.t)
        self.on_keyframe(keyframe)

    def _allowed_by(self, t: float) -> int:
        if not self.duration_s:
            return self.max_keyframes
        return min(self.max_keyframes, max(1, math.ceil(self.max_keyframes * t / self.duration_s - 1e-9)))


def upright(picture: av.VideoFrame, rotation: int) -> av.VideoFrame:
    """The picture as a player shows it: turned `rotation` degrees counterclockwise (a multiple of 90)."""
    turns = round(rotation / 90) % 4
    if not turns:
        return picture
    turned = np.ascontiguousarray(np.rot90(picture.to_ndarray(format="rgb24"), turns), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(turned, format="rgb24").reformat(format="yuv420p", dst_color_range="JPEG")


def _choose(candidates: list[_Candidate], start: float, end: float) -> _Candidate:
    length = end - start
    low, high = start + _MIDDLE_BAND * length, end - _MIDDLE_BAND * length
    middle = [c for c in candidates if low <= c.t <= high] or candidates
    mid = (start + end) / 2
    # Sharpest wins; among near-equals (within 5 %) the one closer to the middle of the shot.
    top = max(c.sharpness for c in middle)
    close = [c for c in middle if c.sharpness >= 0.95 * top]
    return min(close, key=lambda c: abs(c.t - mid))
