"""HiGHS alone on a two-row knapsack of integer columns, against the columns' range: the root's reduced-cost fixing.

Usage: python benchmarks/redcost_walk.py [--columns 200] [--seeds 3]

A reproducer for HiGHS, independent of gpuplan's model: maximise ``sum c_j x_j`` subject to two
knapsack rows, ``x_j`` integer in ``[0, R]``, for ranges ``R`` from 10 to 3,000. Every instance
is solved at the root (one node), yet the time grows with ``R`` up to 1,000 and then stays: at the
root HiGHS 1.16 records, for each integer column with a reduced cost, the cut-off bound of each
step of its range (at most 1,000 steps) in an ordered map, and walks the map from its start at
every insertion (``HighsRedcostFixing::addRootRedcost``), which is quadratic in the steps. Under
``perf record`` on the R = 1,000 instance most samples are in that walk (README, Performance).
Prints the median seconds over ``--seeds`` random instances per range. Not a test: CI does not
run it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import highspy
import numpy as np

RANGES = (10, 100, 300, 1000, 3000)


def knapsack(columns: int, bound: int, seed: int) -> Any:
    """The instance: random profits and weights in [1, 2], two rows with room for about a third of the columns at their bound."""
    rng = np.random.default_rng(seed)
    h = highspy.Highs()
    for option, value in (("output_flag", False), ("threads", 1), ("random_seed", 0)):
        h.setOptionValue(option, value)
    idx = np.arange(columns, dtype=np.int32)
    h.addVars(columns, np.zeros(columns), np.full(columns, float(bound)))
    h.changeColsCost(columns, idx, -rng.uniform(1, 2, columns))
    h.changeColsIntegrality(columns, idx, np.ones(columns, dtype=np.uint8))
    room = 0.3 * bound * columns
    for scale in (1.5, 1.7):
        h.addRow(-np.inf, room * scale, columns, idx, rng.uniform(1, 2, columns))
    return h


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'range R':>8} {'median s':>9} {'nodes':>6}   ({args.columns} integer columns, 2 rows)")
    for bound in RANGES:
        seconds, nodes = [], []
        for seed in range(args.seeds):
            h = knapsack(args.columns, bound, seed)
            begin = time.perf_counter()
            h.run()
            seconds.append(time.perf_counter() - begin)
            nodes.append(int(h.getInfo().mip_node_count))
        print(f"{bound:>8} {statistics.median(seconds):>9.3f} {max(nodes):>6}")


if __name__ == "__main__":
    main()
