"""scan_audio() on generated clips and the loudness meter on exact signals (ITU-R BS.1770 reference points)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared.video.media import scan_audio
from shared.video.media.loudness import RATE, LoudnessMeter
from tests.unit.video.video_support import Clip
from tests.video_clips import TONE_AMPLITUDE, TONE_LUFS, make_audio_only


def _sine(seconds: float, *, hz: float = 1000.0, amplitude: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * hz * t)


def _measure(*channels: np.ndarray, chunk: int = 4096) -> LoudnessMeter:
    data = np.vstack(channels)
    meter = LoudnessMeter(len(channels))
    for start in range(0, data.shape[1], chunk):
        meter.add(data[:, start : start + chunk])
    meter.finish()
    return meter


def test_a_full_scale_1khz_sine_reads_minus_3_01_lufs() -> None:
    assert _measure(_sine(5.0)).integrated_lufs() == pytest.approx(-3.01, abs=0.05)


def test_the_same_tone_on_two_channels_is_3_db_louder() -> None:
    tone = _sine(5.0, amplitude=0.5)
    assert _measure(tone, tone).integrated_lufs() == pytest.approx(20 * np.log10(0.5) - 3.01 + 3.01, abs=0.05)


def test_k_weighting_discounts_low_rumble() -> None:
    rumble = _measure(_sine(5.0, hz=30.0)).integrated_lufs()
    assert rumble is not None and rumble < -3.01 - 3  # the RLB high-pass takes several dB off 30 Hz


def test_silence_is_gated_out_of_the_integrated_loudness() -> None:
    tone = _sine(4.0, amplitude=0.25)
    with_gaps = np.concatenate([tone, np.zeros(RATE * 6), tone])
    assert _measure(with_gaps).integrated_lufs() == pytest.approx(_measure(tone).integrated_lufs(), abs=0.2)


def test_all_silence_has_no_loudness_and_a_floor_peak() -> None:
    meter = _measure(np.zeros(RATE * 2))
    assert meter.integrated_lufs() is None
    assert meter.peak_dbfs == -120.0
    assert meter.silences == [(0.0, 2.0)]


def test_results_do_not_depend_on_how_the_samples_are_chunked() -> None:
    signal = np.concatenate([_sine(1.3, amplitude=0.3), np.zeros(int(0.9 * RATE)), _sine(2.1, amplitude=0.1)])
    one, other = _measure(signal, chunk=1000), _measure(signal, chunk=48_001)
    assert one.integrated_lufs() == other.integrated_lufs()
    assert one.silences == other.silences == [(1.3, 2.2)]


def test_a_clip_tone_measures_its_loudness_and_peak(clips: dict[str, Clip]) -> None:
    scan = scan_audio(clips["early_cut"].path)
    assert scan is not None
    assert scan.loudness_lufs == pytest.approx(TONE_LUFS, abs=0.5)
    # The tone peaks at -12.04 dBFS; AAC rings where the tone starts and stops, so a few dB over it, never under.
    assert 20 * np.log10(TONE_AMPLITUDE) - 0.3 < scan.peak_dbfs < 20 * np.log10(TONE_AMPLITUDE) + 4.5
    assert (scan.silences, scan.silent_opening) == ([], False)
    assert (scan.sample_rate, scan.channels) == (48_000, 1)
    assert scan.duration_s == pytest.approx(10.0, abs=0.05)


@pytest.mark.parametrize("name", ["cuts", "silent_start"])
def test_silences_are_found_where_they_were_made(clips: dict[str, Clip], name: str) -> None:
    clip = clips[name]
    scan = scan_audio(clip.path)
    assert scan is not None
    assert len(scan.silences) == len(clip.silence)
    for (start, end), (made_start, made_end) in zip(scan.silences, clip.silence, strict=True):
        assert start == pytest.approx(made_start, abs=0.06)  # one 50 ms segment, plus codec smear
        assert end == pytest.approx(made_end, abs=0.06)
    assert scan.silent_opening is (name == "silent_start")


def test_silences_do_not_pull_the_loudness_down(clips: dict[str, Clip]) -> None:
    scan = scan_audio(clips["silent_start"].path)
    assert scan is not None and scan.loudness_lufs == pytest.approx(TONE_LUFS, abs=1.0)


def test_a_clip_without_audio_has_no_audio_scan(clips: dict[str, Clip]) -> None:
    assert scan_audio(clips["mute"].path) is None


def test_44_1_khz_stereo_is_resampled_and_its_channels_summed(tmp_path: Path) -> None:
    scan = scan_audio(make_audio_only(tmp_path / "stereo.m4a", rate=44_100, channels=2))
    assert scan is not None
    assert (scan.sample_rate, scan.channels) == (44_100, 2)
    assert scan.loudness_lufs == pytest.approx(TONE_LUFS + 3.01, abs=0.3)  # the same tone on two channels


def test_opus_in_webm_is_measured_too(clips: dict[str, Clip]) -> None:
    scan = scan_audio(clips["vp8"].path)
    assert scan is not None and scan.loudness_lufs == pytest.approx(TONE_LUFS, abs=0.5)
