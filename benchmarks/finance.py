"""Money over the asset's life: `gpuplan plan` on the three-year public case against the one-year one.

Usage: python benchmarks/finance.py [--repeat 3]

Runs the whole ``gpuplan plan`` command (fresh processes, terminal report to /dev/null) on
``budgets/base-7b.yaml`` (4 quarters, contract v2) and ``budgets/base-2025-2027.yaml`` (12 quarters,
the section-6 finance terms), ``--repeat`` times each in turn, and prints the medians of the
wall time and of the solver time the report states, and their ratios. Not a test: CI does not run it.
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
FILES = ("budgets/base-7b.yaml", "budgets/base-2025-2027.yaml")


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
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {f: [] for f in FILES}
    for _ in range(args.repeat):
        for f in FILES:
            times[f].append(run(f))
    medians = {
        f: (statistics.median(w for w, _ in t), statistics.median(s for _, s in t)) for f, t in times.items()
    }
    print(f"{'scenario':<30} {'command s':>9} {'solver s':>8}   (medians of {args.repeat})")
    for f, (wall, solver) in medians.items():
        print(f"{f:<30} {wall:>9.2f} {solver:>8.2f}")
    (w1, s1), (w3, s3) = medians[FILES[0]], medians[FILES[1]]
    print(f"ratio three years / one year: command {w3 / w1:.2f}x, solver {s3 / s1:.2f}x")


if __name__ == "__main__":
    main()
