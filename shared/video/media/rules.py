"""Deterministic scoring rules, one function per dimension. Every score starts at 100 and loses points per finding.

The thresholds are rules of thumb for short-form product video (feeds, product pages), not fitted to outcome data;
each is here with its reason so that it can be argued with and changed in one place.

hook (the first 3 s, where a scrolling viewer decides to stay):
  - no cut within 3 s: -45, or -15 when the opening moves a lot anyway (mean luma change >= 0.05 per frame, about
    twice what a slow pan or a turning product gives): a change of picture is what stops the scroll.
  - dark opening (mean brightness < 0.25) -20, blown out (> 0.90) -10: the product must be visible in a thumbnail.
  - flat opening (luma contrast < 0.08) -15: nothing stands out from the background.
  - silent first second -20: with sound on, silence reads as a broken or slow video.
pacing (cuts per 10 s):
  - 2..6 per 10 s (a new shot every 1.7..5 s) is full marks: slower loses attention, faster leaves too little time to
    take in the product. Under 2: -30 per missing cut per 10 s; over 6: -12 per extra cut (floor 30).
  - a shot longer than 8 s in an edited video: -15 (break it up or trim it).
visual_quality:
  - short side under 720 px -25 (under 480 px -40): feeds and product pages show 720p or more.
  - under 24 fps -15: motion looks choppy.
  - dark (mean brightness < 0.20) -20, overexposed (> 0.85) -10, flat (contrast < 0.08) -15.
  - under 0.02 bits per pixel per frame (0.55 Mbit/s at 720p30) -10: expect blocky compression on real footage.
audio (no track: 50; a track that is silent throughout: 30):
  - integrated loudness outside -18..-10 LUFS: -5 per LU (at most -40). Platforms play at about -14 LUFS and turn
    louder files down, quieter ones are left quiet.
  - sample peak above -1 dBFS -10: clipping once re-encoded.
  - each silence of 0.5 s or more after the start and before the end: -10 (at most -30).
length (seconds): 15..60 full marks (time to show the product and its use, short enough to be watched through);
  6..15 -> 85; under 6 -> 60; 60..90 -> 80; 90..180 -> 60; longer -> 40.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shared.video.media.models import AudioScan, DimensionScore, Evidence, FrameScan, Pacing, VideoProbe

STRONG_MOTION = 0.05
DARK, BRIGHT, FLAT = 0.25, 0.90, 0.08
PACE_LOW, PACE_HIGH, LONG_SHOT_S = 2.0, 6.0, 8.0
LOUD_LOW, LOUD_HIGH, PEAK_MAX = -18.0, -10.0, -1.0


@dataclass
class Card:
    """A dimension's score being built: deductions come with the suggestion that would win the points back."""

    dimension: str
    score: int = 100
    evidence: list[Evidence] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def deduct(self, points: float, suggestion: str) -> None:
        self.score -= round(points)
        self.suggestions.append(suggestion)

    def note(self, t: float | None, note: str, keyframe: int | None = None) -> None:
        self.evidence.append(Evidence(t=t, keyframe_index=keyframe, note=note))

    def done(self) -> DimensionScore:
        score = max(0, min(100, self.score))
        return DimensionScore(
            dimension=self.dimension,
            score=score,
            evidence=self.evidence,
            suggestions=self.suggestions,
            basis="measured",
        )


def keyframe_for(frames: FrameScan, t: float) -> int | None:
    """The index of the thumbnail taken from the shot that shows time `t`, if one was emitted."""
    for start, end in frames.shots:
        if start <= t < end:
            return next((i for i, k in enumerate(frames.keyframe_times) if start <= k < end), None)
    return None


def hook(frames: FrameScan, audio: AudioScan | None) -> DimensionScore:
    card, opening = Card("hook"), frames.opening
    first = opening.first_cut_s
    if opening.cut_within_3s and first is not None:
        card.note(first, f"first cut at {first:.1f} s", keyframe_for(frames, first))
    else:
        where = f"your first cut is at {first:.1f} s" if first is not None else "the video never cuts"
        strong = opening.motion >= STRONG_MOTION
        card.deduct(15 if strong else 45, f"Cut to the product within the first 3 s: {where}.")
        card.note(0.0, f"no cut in the first 3 s; opening motion {opening.motion:.3f}", keyframe_for(frames, 0.0))
        if first is not None:
            card.note(first, f"first cut at {first:.1f} s", keyframe_for(frames, first))
    if opening.brightness < DARK:
        card.deduct(
            20, f"Brighten the opening: its mean brightness is {opening.brightness:.0%} (aim above {DARK:.0%})."
        )
        card.note(0.0, f"dark opening ({opening.brightness:.0%})", keyframe_for(frames, 0.0))
    elif opening.brightness > BRIGHT:
        card.deduct(10, f"The opening is blown out ({opening.brightness:.0%} brightness): expose for the product.")
    if opening.contrast < FLAT:
        card.deduct(15, f"The opening looks flat (contrast {opening.contrast:.0%}): open on a subject that stands out.")
        card.note(0.0, f"flat opening (contrast {opening.contrast:.0%})", keyframe_for(frames, 0.0))
    if audio is not None and audio.silent_opening and audio.silences:
        end = audio.silences[0][1]
        card.deduct(20, f"Start the sound right away: the first {end:.1f} s are silent.")
        card.note(0.0, f"silence from 0.0 to {end:.1f} s")
    return card.done()


def pacing_score(frames: FrameScan, pace: Pacing) -> DimensionScore:
    card, rate = Card("pacing"), pace.cuts_per_10s
    cuts = f"{len(frames.cuts)} cut" + ("" if len(frames.cuts) == 1 else "s")
    card.note(None, f"{cuts}, {rate:.1f} per 10 s; mean shot {pace.mean_shot_s:.1f} s")
    if rate < PACE_LOW:
        card.deduct(
            30 * (PACE_LOW - rate), f"Add cuts: {rate:.1f} per 10 s is slow; aim for 2-6 (a new shot every 2-5 s)."
        )
    elif rate > PACE_HIGH:
        points = min(70, 12 * (rate - PACE_HIGH))
        card.deduct(points, f"Slow the edit down: {rate:.1f} cuts per 10 s leave {pace.mean_shot_s:.1f} s per shot.")
    if frames.cuts and pace.longest_shot_s > LONG_SHOT_S:
        start, end = pace.longest_shot_start_s, pace.longest_shot_start_s + pace.longest_shot_s
        card.deduct(15, f"Break up or trim the {pace.longest_shot_s:.1f} s shot from {start:.1f} s to {end:.1f} s.")
        card.note(start, f"longest shot {pace.longest_shot_s:.1f} s", keyframe_for(frames, start))
    return card.done()


def visual_quality(probe: VideoProbe, frames: FrameScan) -> DimensionScore:
    card, short = Card("visual_quality"), min(probe.width, probe.height)
    card.note(None, f"{probe.width}x{probe.height} at {probe.fps:g} fps, {probe.video_codec}")
    if short < 720:
        card.deduct(40 if short < 480 else 25, f"Export at 720p or more: this file is {probe.width}x{probe.height}.")
    if 0 < probe.fps < 24:
        card.deduct(15, f"Motion will look choppy at {probe.fps:g} fps: export at 24-30 fps.")
    if frames.brightness < 0.20:
        card.deduct(20, f"The video is dark (mean brightness {frames.brightness:.0%}): add light on the product.")
    elif frames.brightness > 0.85:
        card.deduct(10, f"The video is overexposed (mean brightness {frames.brightness:.0%}).")
    if frames.contrast < FLAT:
        card.deduct(15, f"The picture is flat (contrast {frames.contrast:.0%}): separate product and background.")
    pixels = probe.width * probe.height * probe.fps
    if probe.bitrate and pixels and probe.bitrate / pixels < 0.02:
        megabits = probe.bitrate / 1e6
        card.deduct(10, f"The bitrate is low ({megabits:.1f} Mbit/s): export at 5 Mbit/s or more to avoid blockiness.")
    return card.done()


def audio_score(audio: AudioScan | None, duration_s: float) -> DimensionScore:
    card = Card("audio")
    if audio is None:
        card.deduct(50, "Add sound: music or a voice-over (and captions for viewers watching muted).")
        card.note(None, "no audio track")
        return card.done()
    if audio.loudness_lufs is None:
        card.deduct(70, "The audio track is silent throughout: add music or a voice-over, or remove the track.")
        return card.done()
    lufs = audio.loudness_lufs
    card.note(None, f"integrated loudness {lufs:.1f} LUFS, peak {audio.peak_dbfs:.1f} dBFS")
    if lufs < LOUD_LOW:
        card.deduct(
            min(40, 5 * (LOUD_LOW - lufs)), f"Raise the level: {lufs:.1f} LUFS is quiet; platforms play at -14."
        )
    elif lufs > LOUD_HIGH:
        card.deduct(
            min(40, 5 * (lufs - LOUD_HIGH)), f"Lower the level: {lufs:.1f} LUFS will be turned down (-14 is the norm)."
        )
    if audio.peak_dbfs > PEAK_MAX:
        card.deduct(10, f"Peaks reach {audio.peak_dbfs:.1f} dBFS: leave 1 dB of headroom so it does not clip.")
    inner = [(s, e) for s, e in audio.silences if s > 0.05 and e < duration_s - 0.1]
    for start, end in inner[:3]:
        card.deduct(10, f"Fill or cut the {end - start:.1f} s of silence at {start:.1f} s.")
        card.note(start, f"silence {start:.1f}-{end:.1f} s")
    return card.done()


def length(probe: VideoProbe) -> DimensionScore:
    card, seconds = Card("length"), round(probe.duration_s)  # whole seconds: 60.01 s is a 60 s video
    card.note(None, f"{probe.duration_s:.1f} s long")
    for limit, points, suggestion in _LENGTH_BANDS:
        if seconds < limit:
            if points:
                card.deduct(points, suggestion)
            return card.done()
    card.deduct(60, "Cut a 30-60 s version for feeds; keep this one for the product page.")
    return card.done()


# (under this many seconds, points lost, suggestion); 60 s itself is still full marks.
_LENGTH_BANDS = [
    (6, 40, "Too short to show the product: aim for 15-60 s."),
    (15, 15, "There is time for another angle or the product in use (15-60 s works best)."),
    (61, 0, ""),
    (91, 20, "Trim to 60 s or less for feeds."),
    (181, 40, "Cut a 30-60 s version for feeds; keep this one for the product page."),
]


def clamp_round(value: float) -> int:
    return max(0, min(100, math.floor(value + 0.5)))
