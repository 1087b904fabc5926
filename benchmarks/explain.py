"""Benchmark: `gpuplan explain` on base-7b against `gpuplan plan`, with one re-solve thread and with one per CPU.

Usage: python benchmarks/explain.py [--repeat 3] [SCENARIO]

Each run is the whole command in a fresh process (terminal report discarded); prints the medians
of the wall times and their ratios to the plan's. Not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> float:
    """Wall seconds of one ``gpuplan`` command."""
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("scenario", nargs="?", default="budgets/base-7b.yaml")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    commands = {
        "plan": ["plan", args.scenario],
        "explain --workers 1": ["explain", args.scenario, "--workers", "1"],
        f"explain ({cpus} threads)": ["explain", args.scenario],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            times[name].append(run(*command))
    plan = statistics.median(times["plan"])
    print(f"{args.scenario}, medians of {args.repeat} fresh runs, {cpus} CPUs")
    print(f"{'command':<24} {'wall s':>7} {'/ plan':>7}")
    for name, t in times.items():
        m = statistics.median(t)
        print(f"{name:<24} {m:>7.2f} {m / plan:>6.1f}x")


if __name__ == "__main__":
    main()
