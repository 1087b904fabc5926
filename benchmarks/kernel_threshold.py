"""Where the kernel start pays: `solve` with and without it at growing synthetic sizes.

Usage: python benchmarks/kernel_threshold.py [--repeat 3]

For min-cost and max-compute scenarios of 25x2x4 to 100x4x12 (benchmarks/synthetic.py, seed 7),
times ``planner.solve`` in this process with ``SolverOptions(warm_start=False)`` (HiGHS alone)
and ``warm_start=True`` (the kernel start forced), at the default gap, and prints medians and
their ratio. The default threshold (``KERNEL_MIN_COLUMNS``) was chosen from this table. Not a
test: CI does not run it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

from planner.inputs.catalog import load_catalog  # noqa: E402
from planner.inputs.scenario import load_scenario  # noqa: E402
from planner.model.data import prepare  # noqa: E402
from planner.model.runs import SolverOptions  # noqa: E402
from planner.plans.plan import solve  # noqa: E402

SIZES = [(25, 2, 4), (50, 4, 8), (80, 4, 8), (100, 4, 12)]


def median_seconds(path: Path, warm_start: bool, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        solve(path, options=SolverOptions(warm_start=warm_start))
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("| size | objective | columns | HiGHS alone s | kernel start s | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            for objective in ("min-cost", "max-compute"):
                path = synthetic.make(Path(tmp) / f"{size}{objective}", *size, objective=objective, seed=7)
                scenario = load_scenario(path)
                columns = len(prepare(scenario, load_catalog(scenario.catalog_path())).offers)
                alone = median_seconds(path, False, args.repeat)
                kernel = median_seconds(path, True, args.repeat)
                print(
                    f"| {'x'.join(map(str, size))} | {objective} | {columns:,} | {alone:.3f} | {kernel:.3f} "
                    f"| {kernel / alone:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
