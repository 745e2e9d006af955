"""pacing() arithmetic and the scoring rules: each score moves for its stated reason, with evidence and advice."""

from __future__ import annotations

import itertools

import pytest

from shared.video.media import (
    AudioScan,
    DimensionScore,
    Evidence,
    FrameScan,
    OpeningStats,
    VideoInsights,
    VideoProbe,
    pacing,
    probe,
    scan_audio,
    scan_frames,
    score_video,
)
from tests.unit.video.video_support import Clip


def _probe(**changes: object) -> VideoProbe:
    base = VideoProbe(
        duration_s=20.0, width=1280, height=720, fps=30.0, video_codec="h264", audio_codec="aac",
        has_audio=True, bitrate=4_000_000, size_bytes=10_000_000,
    )  # fmt: skip
    return base.model_copy(update=changes)


def _frames(cuts: list[float], duration: float = 20.0, **opening: object) -> FrameScan:
    bounds = [0.0, *cuts, duration]
    shots = list(itertools.pairwise(bounds))
    first = cuts[0] if cuts else None
    stats = {"motion": 0.02, "cut_within_3s": first is not None and first < 3, "first_cut_s": first}
    stats |= {"brightness": 0.5, "contrast": 0.2} | opening
    return FrameScan(
        cuts=cuts, frame_count=int(duration * 30), fps=30.0, shots=shots,
        keyframe_times=[(a + b) / 2 for a, b in shots], opening=OpeningStats.model_validate(stats),
        duration_s=duration, brightness=0.5, contrast=0.2, analyzed_s=duration,
    )  # fmt: skip


def _audio(**changes: object) -> AudioScan:
    base = AudioScan(loudness_lufs=-14.0, peak_dbfs=-3.0, silences=[], silent_opening=False, duration_s=20.0)
    return base.model_copy(update=changes)


def _score(insights: VideoInsights, dimension: str) -> DimensionScore:
    return next(s for s in insights.scores if s.dimension == dimension)


def test_pacing_counts_cuts_per_10_seconds_and_measures_shots() -> None:
    pace = pacing(_frames([2.0, 4.0, 6.0, 18.0]))
    assert pace.cuts_per_10s == 2.0
    assert pace.mean_shot_s == 4.0
    assert (pace.longest_shot_s, pace.longest_shot_start_s) == (12.0, 6.0)


def test_pacing_of_a_single_shot() -> None:
    pace = pacing(_frames([], duration=7.5))
    assert (pace.cuts_per_10s, pace.mean_shot_s, pace.longest_shot_s) == (0.0, 7.5, 7.5)


def test_an_early_cut_hooks_and_a_late_one_is_called_out_with_its_time(clips: dict[str, Clip]) -> None:
    def insights(name: str) -> VideoInsights:
        path = clips[name].path
        return score_video(probe(path), scan_frames(path, on_keyframe=lambda _: None), scan_audio(path))

    early, late = _score(insights("early_cut"), "hook"), _score(insights("late_cut"), "hook")
    assert early.score > late.score
    assert early.suggestions == []
    assert early.evidence[0].t == pytest.approx(1.0, abs=0.04)
    assert late.suggestions == ["Cut to the product within the first 3 s: your first cut is at 7.0 s."]
    assert [e.t for e in late.evidence] == [0.0, pytest.approx(7.0, abs=0.04)]
    assert late.evidence[0].keyframe_index == 0  # the thumbnail of the opening shot


def test_strong_motion_softens_a_missing_early_cut() -> None:
    still = _score(score_video(_probe(), _frames([7.0], motion=0.01), _audio()), "hook")
    moving = _score(score_video(_probe(), _frames([7.0], motion=0.08), _audio()), "hook")
    assert (still.score, moving.score) == (55, 85)


def test_a_dark_flat_silent_opening_loses_hook_points_for_each_reason() -> None:
    audio = _audio(silences=[(0.0, 1.6)], silent_opening=True)
    hook = _score(score_video(_probe(), _frames([1.0], brightness=0.1, contrast=0.03), audio), "hook")
    assert hook.score == 100 - 20 - 15 - 20
    assert any("Brighten the opening" in s for s in hook.suggestions)
    assert any("first 1.6 s are silent" in s for s in hook.suggestions)


@pytest.mark.parametrize(
    ("cuts", "expected"),
    [
        ([3.0, 7.0, 12.0, 16.0], 100),  # 2 per 10 s
        ([5.0, 12.0], 100 - 30),  # 1 per 10 s: -30 per missing cut per 10 s
        ([float(t) for t in range(1, 20)], 100 - 42),  # 9.5 per 10 s: -12 per extra one
        ([2.0, 4.0, 6.0, 8.0], 100 - 15),  # right rate, but one 12 s shot
    ],
)
def test_pacing_score_rewards_2_to_6_cuts_per_10_seconds(cuts: list[float], expected: int) -> None:
    assert _score(score_video(_probe(), _frames(cuts), _audio()), "pacing").score == expected


def test_audio_rules_no_track_quiet_clipping_and_gaps() -> None:
    frames = _frames([3.0, 7.0, 12.0, 16.0])
    assert _score(score_video(_probe(), frames, None), "audio").score == 50
    quiet = _score(score_video(_probe(), frames, _audio(loudness_lufs=-24.0)), "audio")
    assert quiet.score == 70 and "-24.0 LUFS" in quiet.suggestions[0]
    clipped = _score(score_video(_probe(), frames, _audio(peak_dbfs=-0.1)), "audio")
    assert clipped.score == 90
    gappy = _score(score_video(_probe(), frames, _audio(silences=[(8.0, 9.5), (19.5, 20.0)])), "audio")
    assert gappy.score == 90  # the silence at the very end is a fade-out, not a gap
    assert gappy.evidence[-1] == Evidence(t=8.0, keyframe_index=None, note="silence 8.0-9.5 s")


@pytest.mark.parametrize(
    ("seconds", "expected"), [(4.0, 60), (10.0, 85), (30.0, 100), (60.01, 100), (75.0, 80), (300.0, 40)]
)
def test_length_bands(seconds: float, expected: int) -> None:
    insights = score_video(_probe(duration_s=seconds), _frames([3.0], duration=seconds), _audio())
    assert _score(insights, "length").score == expected


def test_visual_quality_rules() -> None:
    frames = _frames([3.0])
    assert _score(score_video(_probe(), frames, _audio()), "visual_quality").score == 100
    small = _score(
        score_video(_probe(width=320, height=180, fps=15.0, bitrate=None), frames, _audio()), "visual_quality"
    )
    assert small.score == 100 - 40 - 15
    starved = _score(score_video(_probe(bitrate=300_000), frames, _audio()), "visual_quality")
    assert starved.score == 90


def test_without_a_model_the_insights_are_measured_only_and_weighted() -> None:
    insights = score_video(_probe(), _frames([1.0, 5.0, 9.0, 13.0, 17.0]), _audio())
    assert insights.measured_only is True
    assert {s.basis for s in insights.scores} == {"measured"}
    assert [s.dimension for s in insights.scores] == ["hook", "pacing", "visual_quality", "audio", "length"]
    assert insights.overall == 100
    assert insights.summary.startswith("Measured only (no vision model): overall 100/100")
    assert score_video(_probe(), _frames([1.0, 5.0, 9.0, 13.0, 17.0]), _audio()) == insights  # deterministic


def test_model_scores_are_added_and_marked_as_such() -> None:
    styling = DimensionScore(dimension="product_visibility", score=40, evidence=[], suggestions=[], basis="model")
    insights = score_video(_probe(), _frames([1.0, 5.0, 9.0, 13.0, 17.0]), _audio(), vision=[styling])
    assert insights.measured_only is False
    assert insights.scores[-1] == styling
    assert insights.overall == round((100 * 1.0 + 40 * 0.15) / 1.15)
