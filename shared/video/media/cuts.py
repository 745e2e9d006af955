"""Scene-cut detection from frame differences, streamed, in the manner of PySceneDetect's AdaptiveDetector.

Each frame's score is the mean absolute difference (0..1) of its small YUV picture from the previous frame's. A hard
cut changes nearly every pixel at once, so its score stands out against the frames around it, while motion inside a
shot (a pan, a hand, a product turning) raises the scores of many frames together. A frame starts a new shot when:

- its score is at least `min_content` (0.06): below that nothing visible changed (PySceneDetect's adaptive detector
  uses 15/255 = 0.059 for the same floor), and
- its score is at least `ratio` (3x) the mean score of the `window` (2) frames before and after it, so steady motion
  (a fast pan scores high on every frame) is not a cut, and
- the previous cut is at least `min_shot_s` (0.25 s) away: one shot cannot be shorter than a flash of a few frames.

On clips from tests/video_clips.py the in-shot scores stay under 0.07 and the cut scores above 0.17.
Decisions wait for `window` frames of look-ahead; a cut is reported at the first frame of the new shot, exactly.
Fades and dissolves spread the change over many frames and are (deliberately) not reported as cuts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class CutRules:
    min_content: float = 0.06
    ratio: float = 3.0
    window: int = 2
    min_shot_s: float = 0.25


@dataclass
class _Pending(Generic[T]):
    index: int
    t: float
    score: float | None  # None for the very first frame: nothing to differ from
    payload: T


@dataclass
class CutDetector(Generic[T]):
    """Feed frames in order with their difference score; get them back, `window` frames later, with a verdict."""

    rules: CutRules = field(default_factory=CutRules)
    _ahead: deque[_Pending[T]] = field(default_factory=deque)
    _behind: deque[float] = field(default_factory=deque)
    _last_cut_t: float | None = None  # the start of the video counts as the start of a shot

    def push(self, index: int, t: float, score: float | None, payload: T) -> list[tuple[T, bool]]:
        """Add a frame; return the frames now decided, each with True when it is the first frame of a new shot."""
        if self._last_cut_t is None:
            self._last_cut_t = t
        self._ahead.append(_Pending(index, t, score, payload))
        decided: list[tuple[T, bool]] = []
        while len(self._ahead) > self.rules.window:
            decided.append(self._decide_oldest())
        return decided

    def flush(self) -> list[tuple[T, bool]]:
        """At the end of the stream: decide the frames still waiting for look-ahead, with what is there."""
        return [self._decide_oldest() for _ in range(len(self._ahead))]

    def _decide_oldest(self) -> tuple[T, bool]:
        current = self._ahead.popleft()
        ahead = [p.score for p in list(self._ahead)[: self.rules.window] if p.score is not None]
        is_cut = current.score is not None and self._stands_out(current.score, list(self._behind) + ahead)
        if is_cut and self._last_cut_t is not None and current.t - self._last_cut_t < self.rules.min_shot_s:
            is_cut = False
        if is_cut:
            self._last_cut_t = current.t
        if current.score is not None:
            self._behind.append(current.score)
            if len(self._behind) > self.rules.window:
                self._behind.popleft()
        return current.payload, is_cut

    def _stands_out(self, score: float, neighbours: list[float]) -> bool:
        if score < self.rules.min_content:
            return False
        if not neighbours:
            return True
        # The tiny floor keeps a cut between two still shots (neighbours all 0) from dividing by zero.
        return score >= self.rules.ratio * max(sum(neighbours) / len(neighbours), 1e-3)
