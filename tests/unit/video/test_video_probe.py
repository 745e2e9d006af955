"""probe(): the facts of a real video, and a clear NotAVideo reason for everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.video.media import NotAVideo, probe, scan_audio, scan_frames
from tests.unit.video.video_support import Clip
from tests.video_clips import (
    make_audio_only,
    make_clip,
    make_corrupt,
    make_still_image,
    make_text_file,
    make_truncated,
)


def test_probe_reports_duration_picture_codecs_audio_and_bitrate(clips: dict[str, Clip]) -> None:
    clip = clips["cuts"]
    info = probe(clip.path)
    assert info.duration_s == pytest.approx(10.0, abs=0.05)
    assert (info.width, info.height, info.fps) == (320, 180, 25.0)
    assert (info.video_codec, info.audio_codec, info.has_audio) == ("h264", "aac", True)
    assert info.size_bytes == clip.path.stat().st_size
    assert info.bitrate is not None
    assert info.bitrate == pytest.approx(info.size_bytes * 8 / info.duration_s, rel=0.05)


def test_probe_of_a_clip_without_sound_says_so(clips: dict[str, Clip]) -> None:
    info = probe(clips["mute"].path)
    assert (info.has_audio, info.audio_codec) == (False, None)
    assert info.duration_s == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize(
    ("name", "codec", "fps", "size"),
    [("vp8", "vp8", 25.0, (320, 180)), ("mpeg4", "mpeg4", 24.0, (320, 180)), ("portrait", "h264", 25.0, (180, 320))],
)
def test_probe_reads_other_codecs_and_shapes(
    clips: dict[str, Clip], name: str, codec: str, fps: float, size: tuple[int, int]
) -> None:
    info = probe(clips[name].path)
    assert (info.video_codec, info.fps, (info.width, info.height)) == (codec, fps, size)


def test_a_browser_recording_without_a_declared_duration_is_measured_from_its_packets(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "recorded.webm", duration_s=3.0, cuts_at=[1.0], codec="libvpx", live=True)
    info = probe(path)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert info.bitrate == pytest.approx(info.size_bytes * 8 / info.duration_s, rel=0.01)
    scan = scan_frames(path, on_keyframe=lambda _: None)
    assert scan.cuts == [pytest.approx(1.0, abs=0.04)]
    assert scan.duration_s == pytest.approx(3.0, abs=0.05)


def test_a_text_file_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(NotAVideo) as caught:
        probe(make_text_file(tmp_path / "notes.mp4"))
    assert caught.value.reason.startswith("could not decode")
    assert str(tmp_path) not in caught.value.reason  # our temp path means nothing to a merchant


def test_an_upload_cut_off_before_its_mp4_index_is_truncated(clips: dict[str, Clip], tmp_path: Path) -> None:
    with pytest.raises(NotAVideo) as caught:
        probe(make_truncated(clips["cuts"].path, tmp_path / "half.mp4"))
    assert caught.value.reason.startswith("truncated")
    assert "moov" in caught.value.reason


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_a_file_whose_data_stops_half_way_is_truncated_even_with_its_index_intact(tmp_path: Path, suffix: str) -> None:
    codec = "libvpx" if suffix == ".webm" else "libx264"
    whole = make_clip(tmp_path / f"whole{suffix}", duration_s=8.0, cuts_at=[2.0], codec=codec, faststart=True)
    with pytest.raises(NotAVideo) as caught:
        probe(make_truncated(whole, tmp_path / f"half{suffix}", keep=0.5))
    assert caught.value.reason.startswith("truncated: the data stops at")


def test_audio_only_has_no_video_stream(tmp_path: Path) -> None:
    path = make_audio_only(tmp_path / "song.m4a")
    with pytest.raises(NotAVideo, match="no video stream"):
        probe(path)
    with pytest.raises(NotAVideo, match="no video stream"):
        scan_frames(path, on_keyframe=lambda _: None)


def test_a_still_image_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(NotAVideo, match="still image"):
        probe(make_still_image(tmp_path / "photo.mp4"))


def test_an_empty_file_is_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(NotAVideo, match="empty"):
        probe(tmp_path / "empty.mp4")


def test_a_file_with_streams_but_no_decodable_frame_fails_every_pass(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "ok.mp4", duration_s=2.0, faststart=True)
    broken = make_corrupt(source, tmp_path / "zeros.mp4")
    with pytest.raises(NotAVideo, match="could not decode"):
        probe(broken)
    with pytest.raises(NotAVideo, match="could not decode"):
        scan_frames(broken, on_keyframe=lambda _: None)
    with pytest.raises(NotAVideo, match="could not decode the audio"):
        scan_audio(broken)


def test_a_missing_file_is_our_bug_not_the_merchants(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "gone.mp4")
