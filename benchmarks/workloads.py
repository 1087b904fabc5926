"""Benchmark: a large instance with workload targets and clusters, gpuplan against HiGHS alone.

Usage: python benchmarks/workloads.py [--repeat 3] [--size 200x4x8x3] [--gap 1e-4]

The synthetic scenario of ``benchmarks/synthetic.py`` with ``workloads=True``: SKUS chips in
families of one vendor (every fifth serves inference only), CHANNELS purchase channels, QUARTERS
quarters, SITES sites (one in CN, the others abroad, each abroad with a cloud's lease offers);
training targets in clusters of 1,024 chips and inference bandwidth targets in the second half of
the quarters, min-cost. Measures, in fresh processes, the whole ``gpuplan plan`` (load, build,
solve, JSON) and HiGHS alone on the same model written with ``--write-model``, both at ``--gap``
(the plan's default 1e-4), one HiGHS thread, HiGHS alone once with each seed from 0 to
``--repeat`` - 1 (issue #26: the median of 3 seeds); prints the medians and their ratio. Not a
test: CI does not run it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import bench_size  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", default="200x4x8x3", help="SKUSxCHANNELSxQUARTERSxSITES")
    ap.add_argument("--gap", type=float, default=1e-4)
    args = ap.parse_args()
    skus, channels, quarters, sites = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        row = bench_size(
            skus, channels, quarters, args.repeat, args.gap, Path(tmp), sites, workloads=True, seeds=True
        )
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; medians of "
        f"{args.repeat} fresh runs (HiGHS alone: seeds 0 to {args.repeat - 1}); min-cost with training clusters and inference targets, MIP gap "
        f"{args.gap:g}."
    )
    print(
        f"{row['size']}: {row['offers']:,} usable offers, {row['rows']:,} rows; build {row['build']:.2f} s, "
        f"solve {row['solve']:.2f} s; whole `gpuplan plan` {row['whole']:.2f} s; HiGHS alone on the .mps "
        f"{row['highs']:.2f} s; ratio {row['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
