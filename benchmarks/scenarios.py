"""Bundled scenarios against base-7b: the whole `gpuplan plan` command and its solver time.

Usage: python benchmarks/scenarios.py [--repeat 3] [SCENARIO ...]

Runs the whole ``gpuplan plan`` command (fresh processes, terminal report discarded) on
``budgets/base-7b.yaml`` and on each scenario given (default: ``budgets/base-2025-2027.yaml``, the
twelve-quarter finance case, and ``budgets/workloads-7b.yaml``, the workload case), ``--repeat``
times each in turn, and prints the medians of the wall time and of the solver time the report
states, and each one's ratio to base-7b. Not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "budgets/base-7b.yaml"
DEFAULT = ["budgets/base-2025-2027.yaml", "budgets/workloads-7b.yaml"]


def run(path: str) -> tuple[float, float]:
    """Wall seconds of the whole command and the solver seconds its first line reports."""
    begin = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "planner", "plan", path], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    wall = time.perf_counter() - begin
    found = re.search(r"gap [0-9.e-]+, ([0-9.]+)\s*s\)", out.replace("\n", " "))
    assert found, out[:300]
    return wall, float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("scenarios", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    files = [BASE, *args.scenarios]
    times: dict[str, list[tuple[float, float]]] = {f: [] for f in files}
    for _ in range(args.repeat):
        for f in files:
            times[f].append(run(f))
    medians = {
        f: (statistics.median(w for w, _ in t), statistics.median(s for _, s in t)) for f, t in times.items()
    }
    print(f"{'scenario':<30} {'command s':>9} {'solver s':>8}   (medians of {args.repeat} runs)")
    for f, (wall, solver) in medians.items():
        print(f"{f:<30} {wall:>9.2f} {solver:>8.2f}")
    w1, s1 = medians[BASE]
    for f in args.scenarios:
        w, s = medians[f]
        print(f"{f} / base-7b: command {w / w1:.2f}x, solver {s / s1:.2f}x")


if __name__ == "__main__":
    main()
