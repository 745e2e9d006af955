"""Probe: what the file is (duration, picture, codecs, audio, bitrate), proven by decoding its first frame.

Work is bounded whatever the file's size: the header, at most `_MAX_PROBE_PACKETS` packets to find a first frame,
and one seek near the end to prove the data reaches the duration the header declares (a cut-off upload with its
index up front opens fine and would otherwise only fail half way through the analysis). A file that declares no
duration (WebM recorded in a browser) has its packets' times read to the end instead, without decoding them.
"""

from __future__ import annotations

from pathlib import Path

import av
from av.container import InputContainer
from av.video.stream import VideoStream

from shared.video.media.container import (
    av_reason,
    check_picture_size,
    declared_duration_s,
    is_image_container,
    open_input,
    origin_s,
    video_stream,
)
from shared.video.media.models import NotAVideo, VideoProbe

_MAX_PROBE_PACKETS = 600  # a decoder needs a keyframe; 600 packets covers 10 s GOPs at 60 fps
_MAX_BAD_PACKETS = 25
_MAX_TAIL_PACKETS = 4000
_MAX_COUNTED_PACKETS = 2_000_000  # an hour at 60 fps with audio is about 400,000 packets
_TAIL_SLACK_S = 1.5  # how far short of the declared end the last packet may stop (last GOP, audio priming)


def probe(path: Path) -> VideoProbe:
    """Describe the video at `path`, or raise NotAVideo saying why it is not one."""
    size = path.stat().st_size if path.is_file() else 0
    with open_input(path) as container:
        if is_image_container(container):
            raise NotAVideo("a still image, not a video")
        stream = video_stream(container)
        codec = stream.codec_context
        check_picture_size(codec.width, codec.height)
        audio = next(iter(container.streams.audio), None)
        rotation = _decode_first_frame(container, stream)
        width, height = (codec.height, codec.width) if rotation % 180 else (codec.width, codec.height)
        duration = declared_duration_s(container, stream)
        if duration is None or duration <= 0:
            duration = _duration_from_packets(container)
        else:
            _check_tail(container, duration)
        if duration <= 0:
            raise NotAVideo("could not decode: the duration is unknown")
        return VideoProbe(
            duration_s=round(duration, 3),
            width=width,
            height=height,
            fps=_fps(stream, duration),
            video_codec=codec.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            has_audio=audio is not None,
            bitrate=container.bit_rate or (round(size * 8 / duration) if duration > 0 else None),
            size_bytes=size,
            container=container.format.name,
            rotation=rotation,
        )


def _decode_first_frame(container: InputContainer, stream: VideoStream) -> int:
    """Decode until one frame comes out and return its rotation; a few damaged packets are skipped as players do."""
    bad: list[str] = []
    for n, packet in enumerate(container.demux(stream)):
        if n >= _MAX_PROBE_PACKETS or len(bad) > _MAX_BAD_PACKETS:
            break
        try:
            frames = packet.decode()
            if frames:
                return frames[0].rotation
        except av.FFmpegError as error:
            bad.append(av_reason(error))
    if bad:
        raise NotAVideo(f"could not decode: {bad[-1]}")
    raise NotAVideo("no decodable video frames")


def _check_tail(container: InputContainer, duration: float) -> None:
    """Seek to just before the declared end and demand packets that reach it."""
    target = max(0.0, duration - 2 * _TAIL_SLACK_S)
    try:
        reached = _reach(container, target, _MAX_TAIL_PACKETS)
    except av.FFmpegError as error:
        raise NotAVideo(f"truncated: the data breaks off before the end ({av_reason(error)})") from error
    if reached < duration - _TAIL_SLACK_S:
        raise NotAVideo(f"truncated: the data stops at {reached:.1f} s of the {duration:.1f} s the file declares")


def _duration_from_packets(container: InputContainer) -> float:
    """Browser recordings (MediaRecorder WebM) carry no duration: read every packet's time, decoding nothing."""
    try:
        return _reach(container, 0.0, _MAX_COUNTED_PACKETS)
    except av.FFmpegError as error:
        raise NotAVideo(f"could not decode: {av_reason(error)}") from error


def _reach(container: InputContainer, start_s: float, max_packets: int) -> float:
    """How far (seconds from the start) the packets from `start_s` on reach."""
    origin = origin_s(container)
    container.seek(int((origin + start_s) * av.time_base), any_frame=False, backward=True)
    reached = 0.0
    for n, packet in enumerate(container.demux()):
        if n >= max_packets:
            break
        if packet.pts is not None and packet.time_base is not None:
            reached = max(reached, float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin)
    return reached


def _fps(stream: VideoStream, duration: float) -> float:
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if rate:
        return round(float(rate), 3)
    return round(stream.frames / duration, 3) if stream.frames and duration > 0 else 0.0
