"""Benchmark: `gpuplan explain` on base-7b against `gpuplan plan`, with one re-solve thread and with one per CPU.

Usage: python benchmarks/explain.py [--repeat 3] [--skipped | --phases] [SCENARIO]

Each run is the whole command in a fresh process (terminal report discarded); prints the medians
of the wall times and their ratios to the plan's, and first how far the LP relaxation sits above
the MILP at explain's gap: the LP re-solve alone lets a MILP re-solve be skipped only where that
is less than the gap. ``--skipped`` instead counts the MILP re-solves an LP proved unmoved (the
LP re-solve, or the LP over the added room) in one in-process explain; ``--phases`` times HiGHS's runs (LPs, the
kernel's MIPs, the full MIPs, with their nodes) and the model builds of one in-process explain on
one thread. Not a test: CI does not run it.
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


def phases(scenario: str) -> str:
    """Where one thread's explain spends its solver and model-building time: HiGHS's runs by kind, with their nodes, and the model builds of the re-solves."""
    from planner.analyses.explaining import explain_plan
    from planner.model import resolve
    from planner.model.backends import HighsBackend
    from planner.plans.plan import solve

    plan = solve(ROOT / scenario)
    runs: dict[str, list[tuple[float, int]]] = {"LP": [], "kernel MIP": [], "full MIP": []}
    builds: list[float] = []
    solve_once, build = HighsBackend._solve, resolve.build

    def timed_solve(self: HighsBackend, start: Any) -> None:
        kernel = self.h.getOptionValue("mip_max_nodes")[1] < self._hs.kHighsIInf
        begin = time.perf_counter()
        solve_once(self, start)
        kind = "LP" if not self._mip else "kernel MIP" if kernel else "full MIP"
        nodes = int(self.h.getInfo().mip_node_count) if self._mip else 0
        runs[kind].append((time.perf_counter() - begin, nodes))

    def timed_build(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        out = build(*args, **kwargs)
        builds.append(time.perf_counter() - begin)
        return out

    HighsBackend._solve = timed_solve  # type: ignore[method-assign]
    resolve.build = timed_build  # type: ignore[assignment]
    try:
        begin = time.perf_counter()
        explain_plan(plan, workers=1)
        wall = time.perf_counter() - begin
    finally:
        HighsBackend._solve = solve_once  # type: ignore[method-assign]
        resolve.build = build  # type: ignore[assignment]
    lines = [f"{scenario}: explain of the solved plan, one thread, in this process: {wall:.2f} s"]
    lines.append(
        f"{'HiGHS runs':<12} {'n':>4} {'total s':>8} {'median ms':>10} {'nodes: median':>14} {'max':>5}"
    )
    for kind, found in runs.items():
        seconds, nodes = [t for t, _ in found], [k for _, k in found]
        lines.append(
            f"{kind:<12} {len(found):>4} {sum(seconds):>8.2f} {1000 * statistics.median(seconds):>10.1f} "
            f"{statistics.median(nodes):>14.0f} {max(nodes):>5}"
        )
    lines.append(
        f"{'model builds':<12} {len(builds):>4} {sum(builds):>8.2f} {1000 * statistics.median(builds):>10.1f}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skipped", action="store_true", help="only count the MILP re-solves skipped, and stop"
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="only time HiGHS's runs and the model builds of one thread, and stop",
    )
    parser.add_argument("scenario", nargs="?", default="budgets/base-7b.yaml")
    args = parser.parse_args()
    if args.skipped:
        print(skipped(args.scenario))
        return
    if args.phases:
        print(phases(args.scenario))
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
