"""Synthetic test clips made with PyAV: shots at known cut times, motion inside each shot, a tone with known silences.

Each shot has its own pattern (stripes, checks, rings ...) in its own colours, scrolling, with a box sliding across,
so a cut detector sees real motion inside a shot and a complete change of picture at a cut. The audio is a 1 kHz sine
at -12 dBFS peak: by ITU-R BS.1770 a 1 kHz sine reads 3.01 dB under its peak, so the tone measures -15.05 LUFS
(`TONE_LUFS`), silences are digital zero.

    make_clip(tmp / "a.mp4", duration_s=10, cuts_at=[1.0, 4.0], silence=[(6.0, 7.0)])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.container import OutputContainer
from av.video.stream import VideoStream

TONE_HZ = 1000.0
TONE_AMPLITUDE = 0.25  # -12.04 dBFS peak
TONE_LUFS = 20 * math.log10(TONE_AMPLITUDE) - 3.01
AUDIO_RATE = 48_000

# Colour pairs with clearly different luma and hue, so neighbouring shots never look alike.
_PALETTE = [
    ((230, 60, 40), (20, 20, 90)),
    ((30, 200, 80), (240, 240, 220)),
    ((40, 70, 220), (250, 210, 30)),
    ((250, 250, 250), (60, 30, 10)),
    ((120, 20, 140), (120, 230, 230)),
    ((15, 15, 15), (250, 140, 20)),
    ((200, 200, 60), (30, 90, 60)),
    ((100, 140, 255), (90, 10, 30)),
]
_AUDIO_CODECS = {".mp4": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}

Image = npt.NDArray[np.uint8]


def make_clip(
    path: Path,
    *,
    duration_s: float,
    size: tuple[int, int] = (320, 180),
    fps: int = 25,
    cuts_at: Sequence[float] = (),
    audio: bool = True,
    silence: Sequence[tuple[float, float]] = (),
    codec: str = "libx264",
    preset: str = "veryfast",
    faststart: bool = False,
    grain: int = 0,
    bitrate: int | None = None,
    rotation: int = 0,
    live: bool = False,
) -> Path:
    """Write a clip; a cut at `c` seconds makes frame round(c * fps) the first frame of a new shot.

    `faststart` puts the MP4 index first (so a truncated copy still opens and the loss shows at the end).
    `grain` adds sensor-like noise of that many levels: flat synthetic pictures compress to almost nothing, grain
    brings the bitrate (and the decoder's work) up to a camera's; `bitrate` (bit/s) asks the encoder for that rate.
    `rotation` (degrees counterclockwise) is written as display metadata, as phones do for upright video.
    `live` (WebM only) writes no duration and no index, as a browser's MediaRecorder does.
    """
    cut_frames = sorted(round(c * fps) for c in cuts_at)
    options = {"movflags": "faststart"} if faststart else {}
    if live:
        options["live"] = "1"
    with av.open(str(path), "w", options=options) as out:
        video = _video_stream(out, codec, size, fps, preset=preset, bitrate=bitrate)
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream(_AUDIO_CODECS.get(path.suffix, "aac"), rate=AUDIO_RATE, layout="mono") if audio else None
        for n, image in enumerate(_frames(size[0], size[1], round(duration_s * fps), cut_frames, grain)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = n
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            for chunk in _tone_frames(duration_s, silence, sound.codec_context.frame_size or 1024):
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def _video_stream(
    out: OutputContainer, codec: str, size: tuple[int, int], fps: int, *, preset: str, bitrate: int | None
) -> VideoStream:
    video = out.add_stream(codec, rate=fps)
    video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
    video.time_base = Fraction(1, fps)
    if codec == "libx264":
        video.options = {"preset": preset}
    if bitrate or codec != "libx264":
        video.bit_rate = bitrate or max(400_000, size[0] * size[1] * fps // 8)
    return video


def make_audio_only(path: Path, *, duration_s: float = 3.0, rate: int = AUDIO_RATE, channels: int = 1) -> Path:
    """An .m4a with the tone (on every channel) and no video stream."""
    with av.open(str(path), "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=rate, layout="mono" if channels == 1 else "stereo")
        for chunk in _tone_frames(duration_s, (), sound.codec_context.frame_size or 1024, rate, channels):
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
    return path


def make_truncated(source: Path, path: Path, *, keep: float = 0.5) -> Path:
    """The first `keep` share of `source`'s bytes: an upload cut off half way."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_text_file(path: Path) -> Path:
    path.write_text("This is not a video.\n" * 200, encoding="utf-8")
    return path


def _frames(width: int, height: int, n_frames: int, cut_frames: list[int], grain: int = 0) -> Iterator[Image]:
    shot, shot_start, cut_set = -1, 0, set(cut_frames)
    canvas: Image = np.zeros((0, 0, 3), np.uint8)
    period = 1
    box = (max(4, height // 5), max(4, height // 5))
    noise = _grain_tiles(width, height, grain)
    for n in range(n_frames):
        if n == 0 or n in cut_set:
            shot, shot_start = shot + 1, n
            canvas, period = _shot_canvas(shot, width, height)
        k = n - shot_start
        # Scroll the pattern a little each frame and slide a box across: motion that is not a cut.
        offset = (k * max(1, width // 160)) % period
        image = canvas[:, offset : offset + width].copy()
        bx = int((k * width / 90) % (width - box[1]))
        by = int(height * (0.3 + 0.2 * math.sin(k / 10)))
        image[by : by + box[0], bx : bx + box[1]] = 255 - image[by, bx]
        if noise:
            image = np.clip(image.astype(np.int16) + noise[n % len(noise)], 0, 255).astype(np.uint8)
        yield image


def _grain_tiles(width: int, height: int, grain: int) -> list[npt.NDArray[np.int16]]:
    """A few frames of noise to cycle through: drawing fresh noise for every 720p frame would dominate the run."""
    if grain <= 0:
        return []
    rng = np.random.default_rng(7)
    return [rng.integers(-grain, grain + 1, (height, width, 1), dtype=np.int16) for _ in range(7)]


def _shot_canvas(shot: int, width: int, height: int) -> tuple[Image, int]:
    """A pattern wider than the frame by one period, so slicing at any offset scrolls it seamlessly."""
    a, b = _PALETTE[shot % len(_PALETTE)]
    period = max(8, width // (4 + 3 * (shot % 3)))
    x = np.arange(width + period)[None, :]
    y = np.arange(height)[:, None]
    kind = shot % 4
    if kind == 0:
        mask = np.broadcast_to((x % period) < period // 2, (height, width + period))
    elif kind == 1:
        mask = ((x // (period // 2)) + (y // (period // 2))) % 2 == 0
    elif kind == 2:
        mask = ((x + y) % period) < period // 3
    else:
        mask = (np.hypot(x % period - period / 2, y - height / 2) % (period / 2)) < period / 4
    canvas = np.where(mask[..., None], np.array(a, np.uint8), np.array(b, np.uint8)).astype(np.uint8)
    return canvas, period


def _tone_frames(
    duration_s: float,
    silence: Sequence[tuple[float, float]],
    frame_size: int,
    rate: int = AUDIO_RATE,
    channels: int = 1,
) -> Iterator[av.AudioFrame]:
    total = round(duration_s * rate)
    for start in range(0, total, frame_size):
        idx = np.arange(start, min(start + frame_size, total))
        t = idx / rate
        samples = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
        for s0, s1 in silence:
            samples[(t >= s0) & (t < s1)] = 0.0
        if len(samples) < frame_size:  # the encoder takes whole frames only
            samples = np.pad(samples, (0, frame_size - len(samples)))
        planes = np.repeat(samples.astype(np.float32)[None, :], channels, axis=0)
        frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="mono" if channels == 1 else "stereo")
        frame.sample_rate, frame.pts = rate, start
        yield frame


def make_corrupt(source: Path, path: Path) -> Path:
    """`source` with its header intact and every byte of media data zeroed: streams declared, nothing decodable.

    Make `source` with faststart=True so the header (moov) comes before the media data (mdat).
    """
    data = bytearray(source.read_bytes())
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)
    path.write_bytes(bytes(data))
    return path


def make_still_image(path: Path, *, size: tuple[int, int] = (320, 180)) -> Path:
    """A PNG (whatever `path`'s suffix): one picture, not a video."""
    picture = av.VideoFrame.from_ndarray(next(_frames(size[0], size[1], 1, [])), format="rgb24")
    codec = av.CodecContext.create("png", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = size[0], size[1], "rgb24"
    path.write_bytes(b"".join(bytes(p) for p in codec.encode(picture)))
    return path
