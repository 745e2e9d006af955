"""Benchmarks: `python -m tests.benchmarks [name ...]` (all by default). They print figures and ratios."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "sync": "tests.benchmarks.bench_sync",
    "webhooks": "tests.benchmarks.bench_webhooks",
    "analytics": "tests.benchmarks.bench_analytics",
    "video": "tests.benchmarks.bench_video",
    "forecast": "tests.benchmarks.bench_forecast",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}")
        importlib.import_module(BENCHMARKS[name]).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
