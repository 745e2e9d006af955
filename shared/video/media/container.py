"""Opening a media file with PyAV so that every FFmpeg failure ends as `NotAVideo` with a reason a merchant can read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from shared.video.media.models import NotAVideo

# Demuxers that read single pictures: a JPEG renamed .mp4 opens as a one-frame "video", which it is not.
# 8K: larger pictures are not product videos, and decoding them would cost gigabytes.
MAX_PIXELS = 8192 * 4320
_IMAGE_DEMUXER_SUFFIXES = ("_pipe",)
_IMAGE_DEMUXERS = {"image2", "gif", "apng", "webp_pipe"}


def av_reason(error: av.FFmpegError) -> str:
    """FFmpeg's message without the file name: the name is our temp path, meaningless to the merchant."""
    return error.strerror or type(error).__name__


@contextmanager
def open_input(path: Path) -> Iterator[InputContainer]:
    """Open `path` for reading; a missing file is our bug (FileNotFoundError), anything unreadable is NotAVideo."""
    if not path.is_file():
        raise FileNotFoundError(str(path))
    if path.stat().st_size == 0:
        raise NotAVideo("empty file")
    try:
        container = av.open(str(path), "r", metadata_errors="ignore")
    except av.FFmpegError as error:
        raise NotAVideo(_open_failure(path, error)) from error
    with container:
        yield container


def _open_failure(path: Path, error: av.FFmpegError) -> str:
    with path.open("rb") as f:
        head = f.read(12)
    if head[4:8] == b"ftyp":
        # An MP4 whose index (moov) would have come after the media data: the upload stopped before the end.
        return (
            f"truncated: the MP4 index (moov atom) is missing, the upload is probably incomplete ({av_reason(error)})"
        )
    return f"could not decode: {av_reason(error)}"


def check_picture_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise NotAVideo("could not decode: the picture size is unknown")
    if width * height > MAX_PIXELS:
        raise NotAVideo(f"unsupported: {width}x{height} is larger than 8K")


def is_image_container(container: InputContainer) -> bool:
    name = container.format.name
    return name in _IMAGE_DEMUXERS or name.endswith(_IMAGE_DEMUXER_SUFFIXES)


def video_stream(container: InputContainer) -> VideoStream:
    """The first real video stream; cover art attached to an audio file does not count."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    raise NotAVideo("no video stream (audio only)" if container.streams.audio else "no video stream")


def origin_s(container: InputContainer) -> float:
    """Where time zero is: MPEG-TS and some phone files do not start at 0, our timestamps do."""
    start = container.start_time
    # A negative start is encoder priming (AAC's first 1024 samples): the picture still starts at 0.
    return max(0.0, start / av.time_base) if start is not None else 0.0


def declared_duration_s(container: InputContainer, stream: VideoStream | None = None) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream is not None and stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None
