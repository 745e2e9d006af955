"""Video analysis benchmark: a 60 s 1280x720 H.264 clip (30 fps, ~5 Mbit/s, AAC), analysed end to end.

Prints the analysis time (probe + frame pass + audio pass + scoring) as a ratio to the clip's duration, target at
most 0.25x, and the analysing process's peak memory (max RSS), target under 500 MB. Each run happens in a fresh
subprocess so its peak RSS is the analysis's own, not the clip generator's. The clip is generated first (not timed):
20 shots cut every 2.9 s, grain so the encoder spends bits as on camera footage, 2 s of silence.

    python -m tests.benchmarks video
    BENCH_VIDEO_RUNS=3 python -m tests.benchmarks video

CPU seconds are printed beside the wall time: on a shared machine the wall time mostly measures the neighbours.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.video_clips import make_clip

DURATION_S, SIZE, FPS = 60.0, (1280, 720), 30
CUTS = [round(1.0 + i * 2.9, 3) for i in range(20)]
TARGET_RATIO, TARGET_RSS_MB = 0.25, 500


def analyse(path: Path) -> dict[str, object]:
    """The analysis as the pipeline's activities run it; thumbnails are counted, as an upload would consume them."""
    from shared.video.media import Keyframe, probe, scan_audio, scan_frames, score_video

    baseline_mb = _peak_rss_mb()
    cpu_before = _cpu_s()
    thumbs: list[int] = []

    def upload(keyframe: Keyframe) -> None:
        thumbs.append(len(keyframe.jpeg))

    marks = [time.perf_counter()]
    info = probe(path)
    marks.append(time.perf_counter())
    frames = scan_frames(path, on_keyframe=upload)
    marks.append(time.perf_counter())
    audio = scan_audio(path)
    marks.append(time.perf_counter())
    insights = score_video(info, frames, audio)
    marks.append(time.perf_counter())
    spans = [later - earlier for earlier, later in itertools.pairwise(marks)]
    stages = dict(zip(["probe", "frames", "audio", "score"], spans, strict=True))
    return {
        "seconds": marks[-1] - marks[0],
        "stages": stages,
        "cpu_s": _cpu_s() - cpu_before,
        "peak_rss_mb": _peak_rss_mb(),
        "baseline_rss_mb": baseline_mb,
        "duration_s": info.duration_s,
        "bitrate": info.bitrate,
        "cuts": frames.cuts,
        "thumbnails": len(thumbs),
        "thumbnail_bytes": sum(thumbs),
        "loudness_lufs": audio.loudness_lufs if audio else None,
        "overall": insights.overall,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, because ru_maxrss survives exec: a child would inherit the
    parent's peak (the clip generator's) and report that instead of its own."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_isolated(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_video", "--analyse", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _cut_errors(found: list[float]) -> tuple[int, float]:
    """How many of the made cuts were found within one frame, and the largest error among those."""
    hits = [min(abs(f - c) for f in found) for c in CUTS] if found else []
    within = [e for e in hits if e <= 1 / FPS + 1e-6]
    return len(within), max(within, default=0.0)


def main() -> None:
    runs = int(os.environ.get("BENCH_VIDEO_RUNS", "2"))
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "bench.mp4"
        made = time.perf_counter()
        make_clip(clip, duration_s=DURATION_S, size=SIZE, fps=FPS, cuts_at=CUTS, silence=[(10.0, 12.0)], grain=6,
                  bitrate=5_000_000)  # fmt: skip
        print(f"clip: {SIZE[0]}x{SIZE[1]} {FPS} fps H.264+AAC, {DURATION_S:.0f} s, "
              f"{clip.stat().st_size / 1e6:.1f} MB, generated in {time.perf_counter() - made:.1f} s")  # fmt: skip
        results = []
        for n in range(runs):
            load = os.getloadavg()[0]
            result = _run_isolated(clip)
            results.append(result)
            seconds, stages = float(result["seconds"]), result["stages"]
            assert isinstance(stages, dict)
            stage_text = ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
            cpu = float(str(result["cpu_s"]))
            print(f"run {n + 1}: {seconds:.2f} s = {seconds / DURATION_S:.3f}x the clip's duration "
                  f"({cpu:.1f} CPU s = {cpu / DURATION_S:.3f}x) "
                  f"(target <= {TARGET_RATIO}x); peak RSS {result['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB} MB; "
                  f"{result['baseline_rss_mb']:.0f} MB after imports); load average {load:.1f} on "
                  f"{os.cpu_count()} cores [{stage_text}]")  # fmt: skip
        best = min(results, key=lambda r: float(str(r["seconds"])))
        cuts = best["cuts"]
        assert isinstance(cuts, list)
        within, worst = _cut_errors(cuts)
        peak = max(float(str(r["peak_rss_mb"])) for r in results)
        print(f"best: {float(str(best['seconds'])) / DURATION_S:.3f}x (target <= {TARGET_RATIO}x), "
              f"peak RSS {peak:.0f} MB (target < {TARGET_RSS_MB} MB)")  # fmt: skip
        print(f"cuts: {within}/{len(CUTS)} found within one frame (worst {worst * 1000:.0f} ms), {len(cuts)} reported; "
              f"{best['thumbnails']} thumbnails, {int(str(best['thumbnail_bytes'])) // 1024} KB; "
              f"{best['loudness_lufs']} LUFS; overall score {best['overall']}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--analyse":
        print(json.dumps(analyse(Path(sys.argv[2]))))
    else:
        main()
