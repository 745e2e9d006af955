"""Integrated loudness (ITU-R BS.1770-4 / EBU R 128), sample peak and silences, from audio fed in chunks.

The input is 48 kHz float samples, one row per channel (the caller resamples to 48 kHz so the standard's K-weighting
coefficients apply exactly; more than two channels are downmixed to stereo first, an approximation of the standard's
per-channel weights that only matters for 5.1 mixes). The audio is cut into 50 ms segments; for each we keep one
number, the channel-summed mean square after K-weighting, and keep track of silent runs. At the end, 400 ms blocks
overlapping by 75 % (8 segments, stepping 2) are gated: absolute gate -70 LUFS, relative gate 10 LU under the
loudness of the blocks that passed the first gate. Memory: one double per 50 ms (0.6 MB for an hour).

A segment is silent when its unweighted RMS, on its loudest channel, is under -50 dBFS: room tone picked up by a
phone is around -60 to -50 dBFS, speech and music beds sit well above -40. A silence is a run of at least 0.5 s.
Peaks are sample peaks (no oversampling), so a true-peak meter can read up to ~0.5 dB higher.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import numpy.typing as npt
from scipy.signal import sosfilt

RATE = 48_000
SEGMENT = RATE // 20  # 50 ms
SILENCE_DBFS = -50.0
MIN_SILENCE_S = 0.5
_BLOCK_SEGMENTS, _STEP_SEGMENTS = 8, 2  # 400 ms blocks every 100 ms
_ABSOLUTE_GATE_LUFS, _RELATIVE_GATE_LU = -70.0, 10.0
_FLOOR_DBFS = -120.0

# BS.1770-4 K-weighting at 48 kHz: a high-shelf (head effects) then the RLB high-pass, as second-order sections.
_K_WEIGHTING = np.array(
    [
        [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]
)

Samples = npt.NDArray[np.float64]


def dbfs(value: float) -> float:
    return max(_FLOOR_DBFS, 20 * math.log10(value)) if value > 0 else _FLOOR_DBFS


class LoudnessMeter:
    """Feed (channels, n) chunks in order with `add`; read `integrated_lufs`, `peak_dbfs` and `silences` after."""

    def __init__(self, channels: int, start_s: float = 0.0) -> None:
        self.channels = channels
        self.start_s = start_s
        self.peak = 0.0
        self._zi = np.zeros((_K_WEIGHTING.shape[0], channels, 2))
        self._carry: Samples = np.zeros((channels, 0))
        self._powers = array("d")
        self._samples = 0
        self._silent_since: int | None = None
        self.silences: list[tuple[float, float]] = []

    def add(self, chunk: Samples) -> None:
        if chunk.size:
            self.peak = max(self.peak, float(np.abs(chunk).max()))
        data = np.concatenate([self._carry, chunk], axis=1) if self._carry.size else chunk
        whole = data.shape[1] // SEGMENT * SEGMENT
        if whole:
            self._segments(data[:, :whole])
        self._carry = data[:, whole:]

    def finish(self) -> None:
        """Measure the last partial segment and close a silence still open at the end."""
        if self._carry.shape[1]:
            self._segments(self._carry)
            self._carry = np.zeros((self.channels, 0))
        self._end_silence(len(self._powers))

    @property
    def duration_s(self) -> float:
        return self._samples / RATE

    @property
    def peak_dbfs(self) -> float:
        return round(dbfs(self.peak), 2)

    def integrated_lufs(self) -> float | None:
        powers = np.asarray(self._powers)
        if len(powers) < _BLOCK_SEGMENTS:
            blocks = powers[None, :].mean(axis=1) if len(powers) else powers
        else:
            windows = np.lib.stride_tricks.sliding_window_view(powers, _BLOCK_SEGMENTS)[::_STEP_SEGMENTS]
            blocks = windows.mean(axis=1)
        loud = blocks[_lufs(blocks) > _ABSOLUTE_GATE_LUFS]
        if not len(loud):
            return None
        relative = _lufs(np.array([loud.mean()]))[0] - _RELATIVE_GATE_LU
        gated = loud[_lufs(loud) > relative]
        return round(float(_lufs(np.array([gated.mean()]))[0]), 2)

    def _segments(self, data: Samples) -> None:
        weighted, self._zi = sosfilt(_K_WEIGHTING, data, axis=1, zi=self._zi)
        self._samples += data.shape[1]
        for start in range(0, data.shape[1], SEGMENT):
            raw = data[:, start : start + SEGMENT]
            # Channel weights are 1.0 for left, right and mono: the sum over channels is the standard's.
            self._powers.append(float((weighted[:, start : start + SEGMENT] ** 2).mean(axis=1).sum()))
            rms = float(np.sqrt((raw**2).mean(axis=1)).max())
            self._track_silence(len(self._powers) - 1, dbfs(rms) < SILENCE_DBFS)

    def _track_silence(self, segment: int, silent: bool) -> None:
        if silent and self._silent_since is None:
            self._silent_since = segment
        elif not silent:
            self._end_silence(segment)

    def _end_silence(self, segment: int) -> None:
        if self._silent_since is None:
            return
        start, self._silent_since = self._silent_since, None
        begin, end = start * SEGMENT / RATE, min(segment * SEGMENT, self._samples) / RATE
        if end - begin >= MIN_SILENCE_S:
            self.silences.append((round(self.start_s + begin, 3), round(self.start_s + end, 3)))


def _lufs(powers: Samples) -> Samples:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(powers)
