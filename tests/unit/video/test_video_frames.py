"""scan_frames(): cuts on the exact frame, no cuts inside moving shots, the opening, thumbnails streamed per shot."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest

from shared.video.media import FrameScan, Keyframe, probe, scan_frames
from tests.unit.video.video_support import Clip
from tests.video_clips import make_clip


def _scan(clip: Clip, **options: int) -> tuple[FrameScan, list[Keyframe]]:
    received: list[Keyframe] = []
    return scan_frames(clip.path, on_keyframe=received.append, **options), received


@pytest.mark.parametrize(
    "name", ["cuts", "odd_times", "early_cut", "late_cut", "vp8", "mpeg4", "portrait", "many_shots"]
)
def test_every_cut_is_found_within_one_frame_of_where_it_was_made(clips: dict[str, Clip], name: str) -> None:
    clip = clips[name]
    scan, _ = _scan(clip)
    assert len(scan.cuts) == len(clip.cuts_at), (scan.cuts, clip.cuts_at)
    for found, made in zip(scan.cuts, clip.cuts_at, strict=True):
        # The generator starts the new shot on frame round(made * fps); one frame either side is the requirement.
        assert abs(found - made) <= 1 / clip.fps + 1e-6, (found, made)


def test_cuts_in_the_first_second_and_the_last_half_second_are_found(clips: dict[str, Clip]) -> None:
    scan, _ = _scan(clips["cuts"])
    assert scan.cuts[0] == pytest.approx(0.8, abs=0.04)
    assert scan.cuts[-1] == pytest.approx(9.6, abs=0.04)  # 0.4 s before the end


def test_motion_inside_a_shot_is_not_a_cut(clips: dict[str, Clip]) -> None:
    scan, _ = _scan(clips["one_shot"])
    assert scan.cuts == []
    assert scan.shots == [(0.0, pytest.approx(8.0, abs=0.05))]
    assert scan.opening.motion > 0.005  # the content does move: the detector is not just seeing a still


def test_shots_tile_the_video_from_start_to_end(clips: dict[str, Clip]) -> None:
    scan, _ = _scan(clips["cuts"])
    assert [start for start, _ in scan.shots[1:]] == scan.cuts
    assert all(end == nxt for (_, end), (nxt, _) in zip(scan.shots, scan.shots[1:], strict=False))
    assert scan.shots[0][0] == 0.0
    assert scan.shots[-1][1] == pytest.approx(10.0, abs=0.05)
    assert (scan.frame_count, scan.fps) == (250, 25.0)


def test_the_opening_knows_when_the_first_cut_comes(clips: dict[str, Clip]) -> None:
    early, _ = _scan(clips["early_cut"])
    late, _ = _scan(clips["late_cut"])
    assert (early.opening.cut_within_3s, early.opening.first_cut_s) == (True, pytest.approx(1.0, abs=0.04))
    assert (late.opening.cut_within_3s, late.opening.first_cut_s) == (False, pytest.approx(7.0, abs=0.04))
    for opening in (early.opening, late.opening):
        assert 0.2 < opening.brightness < 0.9
        assert 0.05 < opening.contrast < 0.5


def test_one_thumbnail_per_shot_taken_from_inside_the_shot(clips: dict[str, Clip]) -> None:
    scan, received = _scan(clips["early_cut"])
    assert [k.index for k in received] == [0, 1, 2, 3]
    assert [k.t for k in received] == scan.keyframe_times
    for keyframe, (start, end) in zip(received, scan.shots, strict=True):
        assert start < keyframe.t < end
        assert keyframe.shot == received.index(keyframe)


def test_thumbnails_are_jpegs_of_the_stated_size(
    clips: dict[str, Clip], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, received = _scan(clips["portrait"], thumb_width=120)
    folder = tmp_path_factory.mktemp("thumbs")
    for keyframe in received:
        assert keyframe.jpeg[:2] == b"\xff\xd8"
        assert (keyframe.width, keyframe.height) == (120, 214)
        (folder / f"{keyframe.index}.jpg").write_bytes(keyframe.jpeg)
        with av.open(str(folder / f"{keyframe.index}.jpg")) as picture:
            frame = next(picture.decode(video=0))
            assert (frame.width, frame.height) == (120, 214)
    assert "jpeg" not in received[0].model_dump()


def test_with_more_shots_than_thumbnails_they_are_spread_over_the_video(clips: dict[str, Clip]) -> None:
    scan, received = _scan(clips["many_shots"], max_keyframes=4)
    assert len(scan.shots) == 16
    assert len(received) == 4
    times = [k.t for k in received]
    assert times == sorted(times)
    # Not the first four shots (all within 3 s) but one in each quarter of the 12 s timeline.
    assert times[0] < 3.0 and times[-1] > 8.5
    assert all(later - earlier > 2.0 for earlier, later in itertools.pairwise(times))


def test_thumbnails_reach_the_caller_while_the_scan_is_still_running(clips: dict[str, Clip]) -> None:
    class Stop(Exception):
        pass

    def stop_at_first(keyframe: Keyframe) -> None:
        raise Stop(keyframe.t)

    # The first shot ends at 1.0 s of a 10 s clip: its thumbnail must leave then, not after the last frame.
    with pytest.raises(Stop) as caught:
        scan_frames(clips["early_cut"].path, on_keyframe=stop_at_first)
    assert 0.0 < caught.value.args[0] < 1.0


def test_the_scan_can_be_capped_in_time(clips: dict[str, Clip]) -> None:
    scan, _ = _scan(clips["early_cut"], max_duration_s=5)
    assert scan.analyzed_s == pytest.approx(5.0, abs=0.05)
    assert scan.cuts == [pytest.approx(1.0, abs=0.04), pytest.approx(4.0, abs=0.04)]
    assert scan.duration_s == pytest.approx(10.0, abs=0.05)


def test_a_scan_survives_a_json_round_trip(clips: dict[str, Clip]) -> None:
    scan, _ = _scan(clips["cuts"])
    assert FrameScan.model_validate_json(scan.model_dump_json()) == scan


def test_a_phone_video_with_rotation_metadata_gets_upright_thumbnails(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("rotated")
    clip = make_clip(folder / "upright.mp4", duration_s=2.0, cuts_at=[1.0], audio=False, rotation=90)
    info = probe(clip)
    assert (info.width, info.height, info.rotation) == (180, 320, 90)
    received: list[Keyframe] = []
    scan = scan_frames(clip, on_keyframe=received.append)
    assert scan.cuts == [pytest.approx(1.0, abs=0.04)]
    keyframe = received[0]
    assert (keyframe.width, keyframe.height) == (180, 320)
    (folder / "thumb.jpg").write_bytes(keyframe.jpeg)
    with av.open(str(folder / "thumb.jpg")) as picture:
        shown = next(picture.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    with av.open(str(clip)) as video:
        coded = next(f for f in video.decode(video=0) if abs((f.time or 0) - keyframe.t) < 1e-3)
        coded_rgb = coded.to_ndarray(format="rgb24").astype(float)
    # Turned a quarter counterclockwise, as the metadata says, the coded frame matches the thumbnail.
    assert np.abs(np.rot90(coded_rgb, 1) - shown).mean() < 8
    assert np.abs(np.rot90(coded_rgb, 3) - shown).mean() > 20


def test_memory_does_not_grow_with_the_length_of_the_video(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("lengths")
    short = make_clip(folder / "short.mp4", duration_s=2.0, cuts_at=[1.0], audio=False)
    long = make_clip(folder / "long.mp4", duration_s=12.0, cuts_at=[1.0], audio=False)

    def peak(path: Path) -> int:
        tracemalloc.start()  # numpy's arrays are traced: holding frames (or their small copies) would show here
        try:
            scan_frames(path, on_keyframe=lambda _: None)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(short)  # warm-up: first-call allocations (codec tables, imports) are not the scan's
    assert peak(long) < peak(short) * 1.5 + 256 * 1024  # 6x the frames, about the same peak
