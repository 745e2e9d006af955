"""CutDetector on hand-made difference scores: what stands out is a cut, what is merely busy is not."""

from __future__ import annotations

from shared.video.media.cuts import CutDetector, CutRules

FPS = 25


def _cuts(scores: list[float | None], rules: CutRules | None = None) -> list[int]:
    detector: CutDetector[int] = CutDetector(rules or CutRules())
    decided: list[tuple[int, bool]] = []
    for i, score in enumerate(scores):
        decided += detector.push(i, i / FPS, score, i)
    decided += detector.flush()
    assert [i for i, _ in decided] == list(range(len(scores)))  # every frame comes back once, in order
    return [i for i, cut in decided if cut]


def test_a_lone_spike_over_quiet_frames_is_a_cut_on_its_own_frame() -> None:
    assert _cuts([None] + [0.01] * 9 + [0.02, 0.30, 0.02, 0.01, 0.01]) == [11]


def test_steady_fast_motion_is_not_a_cut() -> None:
    assert _cuts([None] + [0.20] * 30) == []


def test_a_spike_below_the_content_floor_is_not_a_cut() -> None:
    assert _cuts([None] + [0.001] * 9 + [0.04, 0.001, 0.001]) == []


def test_a_change_three_times_the_neighbours_is_needed() -> None:
    quiet: list[float | None] = [None] + [0.10] * 9
    assert _cuts([*quiet, 0.25, 0.10, 0.10]) == []  # 2.5x: a jolt of the camera
    assert _cuts([*quiet, 0.35, 0.10, 0.10]) == [10]


def test_a_second_change_within_the_minimum_shot_is_ignored() -> None:
    scores: list[float | None] = [None] + [0.01] * 20
    scores[10], scores[13] = 0.3, 0.3  # 3 frames apart = 0.12 s
    assert _cuts(scores) == [10]
    scores[13], scores[17] = 0.01, 0.3  # 7 frames = 0.28 s
    assert _cuts(scores) == [10, 17]


def test_cuts_on_the_last_frames_are_decided_when_the_stream_ends() -> None:
    assert _cuts([None] + [0.01] * 10 + [0.4]) == [11]


def test_the_first_frame_is_never_a_cut_and_nothing_cuts_within_min_shot_of_it() -> None:
    assert _cuts([None, 0.5, 0.01, 0.01, 0.01, 0.01]) == []
    assert _cuts([None, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.5, 0.01]) == [8]
