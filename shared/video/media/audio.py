"""The audio pass: decode the first audio stream, resample to 48 kHz float, measure loudness, peak and silences.

Only audio packets are decoded (video packets are read past, not decoded), and samples are measured as they come:
memory does not grow with the length of the file beyond one float per 50 ms (see loudness.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer

from shared.video.media.container import av_reason, open_input, origin_s
from shared.video.media.loudness import RATE, LoudnessMeter
from shared.video.media.models import AudioScan, NotAVideo

SILENT_OPENING_S = 1.0  # a second of silence at the start is long enough for a scrolling viewer to notice
_MAX_BAD_PACKETS = 25


def scan_audio(path: Path, *, max_duration_s: float | None = 900.0) -> AudioScan | None:
    """Loudness, peak and silences of the first audio stream, or None when the file has no audio."""
    with open_input(path) as container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            return None
        channels = stream.codec_context.channels or 1
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
        meter: LoudnessMeter | None = None
        for frame in _frames(container, stream, max_duration_s):
            for chunk in resampler.resample(frame):
                if meter is None:
                    meter = LoudnessMeter(1 if layout == "mono" else 2, start_s=_start(frame, container))
                meter.add(chunk.to_ndarray().astype(np.float64))
        if meter is None:  # an audio stream without a single decodable frame says nothing
            return None
        for chunk in resampler.resample(None):
            meter.add(chunk.to_ndarray().astype(np.float64))
        meter.finish()
        return AudioScan(
            loudness_lufs=meter.integrated_lufs(),
            peak_dbfs=meter.peak_dbfs,
            silences=meter.silences,
            silent_opening=_silent_opening(meter),
            duration_s=round(meter.duration_s, 3),
            sample_rate=stream.codec_context.sample_rate or 0,
            channels=channels,
        )


def _frames(container: InputContainer, stream: AudioStream, max_duration_s: float | None) -> Iterator[av.AudioFrame]:
    bad = 0
    origin = origin_s(container)
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError as error:
            bad += 1
            if bad > _MAX_BAD_PACKETS:
                raise NotAVideo(f"could not decode the audio: too many damaged packets ({av_reason(error)})") from error
            continue
        for frame in frames:
            if max_duration_s is not None and frame.time is not None and frame.time - origin >= max_duration_s:
                return
            yield frame


def _start(frame: av.AudioFrame, container: InputContainer) -> float:
    return max(0.0, (frame.time or 0.0) - origin_s(container))


def _silent_opening(meter: LoudnessMeter) -> bool:
    first = meter.silences[0] if meter.silences else None
    return first is not None and first[0] <= meter.start_s + 0.05 and first[1] >= SILENT_OPENING_S
