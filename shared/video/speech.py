"""The audio a transcription needs: the first audio stream as mono 16 kHz 16-bit WAV, streamed through PyAV.

Only audio packets are decoded, frame by frame, straight into the output file: memory does not grow with the
length of the video. At most MAX_SPEECH_S seconds are kept (10 minutes = 19.2 MB, under the API's 25 MB limit).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av

from shared.video.media.container import av_reason, open_input, origin_s
from shared.video.media.models import NotAVideo

SPEECH_RATE = 16_000
MAX_SPEECH_S = 600.0
_MAX_BAD_PACKETS = 25


@dataclass(frozen=True)
class SpeechAudio:
    path: Path
    duration_s: float
    truncated: bool  # the video's audio went on past max_duration_s


def _write_wav(video: Path, target: Path, max_duration_s: float) -> tuple[float, bool] | None:
    """(seconds written, truncated), or None when the video has no audio stream."""
    with open_input(video) as container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            return None
        origin, bad, samples, truncated = origin_s(container), 0, 0, False
        limit = round(max_duration_s * SPEECH_RATE)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SPEECH_RATE)
        with av.open(str(target), "w", format="wav") as out:
            wav = out.add_stream("pcm_s16le", rate=SPEECH_RATE, layout="mono")

            def write(frames: list[av.AudioFrame]) -> None:
                nonlocal samples
                for chunk in frames:
                    chunk.pts = None
                    out.mux(wav.encode(chunk))
                    samples += chunk.samples

            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.FFmpegError as error:
                    bad += 1
                    if bad > _MAX_BAD_PACKETS:
                        raise NotAVideo(f"could not decode the audio ({av_reason(error)})") from error
                    continue
                for frame in decoded:
                    if samples >= limit or (frame.time is not None and frame.time - origin >= max_duration_s):
                        truncated = True
                        break
                    write(resampler.resample(frame))
                if truncated:
                    break
            write(resampler.resample(None))
            out.mux(wav.encode(None))
        return round(samples / SPEECH_RATE, 3), truncated


@contextlib.contextmanager
def speech_audio(video: Path, *, max_duration_s: float = MAX_SPEECH_S) -> Iterator[SpeechAudio | None]:
    """The video's speech track in a temporary WAV file, deleted after; None without an audio stream.

    Raises NotAVideo when the audio cannot be decoded.
    """
    fd, name = tempfile.mkstemp(prefix="speech-", suffix=".wav")
    os.close(fd)
    path = Path(name)
    try:
        written = _write_wav(video, path, max_duration_s)
        yield None if written is None or written[0] <= 0 else SpeechAudio(path, written[0], written[1])
    finally:
        path.unlink(missing_ok=True)
