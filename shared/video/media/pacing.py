"""Pacing of the edit: how often it cuts and how long its shots run."""

from __future__ import annotations

from shared.video.media.models import FrameScan, Pacing


def pacing(scan: FrameScan) -> Pacing:
    """Cuts per 10 s over the part that was scanned; shot lengths from the scan's shots."""
    span = scan.analyzed_s or scan.duration_s
    if span <= 0 or not scan.shots:
        return Pacing(cuts_per_10s=0.0, mean_shot_s=0.0, longest_shot_s=0.0)
    lengths = [end - start for start, end in scan.shots]
    longest = max(range(len(lengths)), key=lambda i: lengths[i])
    return Pacing(
        cuts_per_10s=round(len(scan.cuts) * 10 / span, 2),
        mean_shot_s=round(sum(lengths) / len(lengths), 2),
        longest_shot_s=round(lengths[longest], 2),
        longest_shot_start_s=scan.shots[longest][0],
    )
