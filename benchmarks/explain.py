"""Benchmark: `gpuplan explain` on base-7b against `gpuplan plan`, with one re-solve thread and with one per CPU.

Usage: python benchmarks/explain.py [--repeat 3] [--skipped] [SCENARIO]

Each run is the whole command in a fresh process (terminal report discarded); prints the medians
of the wall times and their ratios to the plan's, and first how far the LP relaxation sits above
the MILP at explain's gap: the LP re-solve alone lets a MILP re-solve be skipped only where that
is less than the gap. ``--skipped`` instead counts the MILP re-solves an LP proved unmoved (the
LP re-solve, or the LP over the added room) in one in-process explain. Not a test: CI does not
run it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> float:
    """Wall seconds of one ``gpuplan`` command."""
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - begin


def integrality_gap(scenario: str) -> str:
    """The first-stage LP and MILP values at explain's gap, and the gap's own tolerance."""
    from planner.analyses.explaining import TIGHT_GAP
    from planner.inputs.scenario import load_scenario
    from planner.model.build import build
    from planner.model.data import prepare
    from planner.model.resolve import stage1_goal
    from planner.model.runs import SolverOptions
    from planner.model.solve import optimize
    from planner.plans.plan import catalog_for

    loaded = load_scenario(ROOT / scenario)
    data = prepare(loaded, catalog_for(loaded, None))
    options = SolverOptions(mip_gap=TIGHT_GAP)
    lp, mip = (
        optimize(m, stage1_goal(m), options, mip=i).value for i in (False, True) for m in [build(data)]
    )
    assert lp is not None and mip is not None
    return (
        f"stage 1 at gap {TIGHT_GAP:g}: LP {lp:,.2f}, MILP {mip:,.2f}; LP - MILP {abs(lp - mip):,.2f} "
        f"against the gap's {TIGHT_GAP * abs(mip):,.2f}"
    )


def skipped(scenario: str) -> str:
    """How many of explain's MILP re-solves an LP proved unmoved, and why (rows with no value are not shown by explain)."""
    from collections import Counter

    from planner.analyses.explaining import explain
    from planner.model.resolve import Resolved, Resolver

    results: list[Resolved] = []
    resolve = Resolver.resolve

    def counted(self: Resolver, change: Any) -> Resolved:
        results.append(resolve(self, change))
        return results[-1]

    Resolver.resolve = counted  # type: ignore[method-assign]
    try:
        explain(ROOT / scenario)
    finally:
        Resolver.resolve = resolve  # type: ignore[method-assign]
    kinds = {
        "the LP re-solve allows": "LP re-solve",
        "a plan using the added room": "LP over the added room",
        "no plan can use the added room": "no plan uses the added room",
    }
    why = Counter(next(v for k, v in kinds.items() if k in r.skipped) for r in results if r.skipped)
    return f"{len(results)} limits re-solved, {sum(why.values())} MILP re-solves skipped: {dict(why)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skipped", action="store_true", help="only count the MILP re-solves skipped, and stop"
    )
    parser.add_argument("scenario", nargs="?", default="budgets/base-7b.yaml")
    args = parser.parse_args()
    if args.skipped:
        print(skipped(args.scenario))
        return
    print(integrality_gap(args.scenario))
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
