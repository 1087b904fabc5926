"""Benchmark: each run of a plan solved with the cluster counts first, against HiGHS on the whole MIP.

Usage: python benchmarks/clusters_first.py [SCENARIO]
       python benchmarks/clusters_first.py --synthetic 200x4x8x3 [--seed 7]

Solves the scenario (default ``budgets/workloads-7b.yaml``) as ``gpuplan plan`` does and prints,
for each stage, every HiGHS run of ``HighsBackend._clusters_first``: the bound (the relaxation
with only the cluster counts integer), the plan (the kernel search with the counts fixed: its
MIP, then the LP and that MIP together) and, when that plan falls short of the gap, the full MIP
from it, each with its seconds, nodes, objective and HiGHS's bound; then the plan's status,
stage-1 value and solver time. Then solves it again with ``SolverOptions(clusters_first=False)`` (HiGHS on
the whole MIP, as before) and prints each stage's seconds, nodes and value. ``--synthetic
SKUSxCHANNELSxQUARTERSxSITES`` uses the min-cost instance of ``benchmarks/workloads.py``
(``benchmarks/synthetic.py`` with workload targets and clusters; ``--seed``) instead. One run
each, one HiGHS thread. Not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def traced(scenario: Path, clusters_first: bool) -> None:
    """Solve ``scenario`` once, printing each HiGHS MIP run by stage and the plan's time."""
    from planner.model.backends import HighsBackend
    from planner.model.runs import SolverOptions
    from planner.plans.plan import solve

    phase = ["whole MIP"]
    stage = [0]
    plain = {name: getattr(HighsBackend, name) for name in ("run", "_solve", "_cluster_plan", "_run")}

    def run(self: HighsBackend, *args: Any, **kw: Any) -> Any:
        if not kw.get("mip", args[2] if len(args) > 2 else True):
            return plain["run"](self, *args, **kw)  # an LP: the plan's limits
        stage[0] += 1
        phase[0] = "bound" if clusters_first else "whole MIP"
        print(f"  stage {stage[0]}", flush=True)
        return plain["run"](self, *args, **kw)

    def cluster_plan(self: HighsBackend, *args: Any) -> Any:
        phase[0] = "plan: kernel MIP"
        begin = time.perf_counter()
        found = plain["_cluster_plan"](self, *args)
        print(f"    {'plan: LP and kernel MIP':<30} {time.perf_counter() - begin:7.2f} s", flush=True)
        return found

    def full(self: HighsBackend, *args: Any, **kw: Any) -> Any:
        if clusters_first:
            phase[0] = "full MIP from the plan"
        return plain["_run"](self, *args, **kw)

    def one(self: HighsBackend, start: Any) -> None:
        begin = time.perf_counter()
        plain["_solve"](self, start)
        info = self.h.getInfo()
        if not self._mip:
            return  # an LP: the plan's limits, after the stages
        print(
            f"    {phase[0]:<30} {time.perf_counter() - begin:7.2f} s {int(info.mip_node_count):>7} nodes  "
            f"objective {float(info.objective_function_value):>18,.2f}  bound {float(info.mip_dual_bound):>18,.2f}",
            flush=True,
        )

    patches = {"run": run, "_solve": one, "_cluster_plan": cluster_plan, "_run": full}
    for name, fn in patches.items():
        setattr(HighsBackend, name, fn)
    begin = time.perf_counter()
    try:
        plan = solve(scenario, options=SolverOptions(clusters_first=clusters_first))
    finally:
        for name, fn in plain.items():
            setattr(HighsBackend, name, fn)
    print(
        f"  plan: {plan.status}, stage-1 value {plan.value:,.2f}, solver {plan.seconds:.2f} s, "
        f"whole solve() {time.perf_counter() - begin:.2f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--synthetic", help="SKUSxCHANNELSxQUARTERSxSITES: the min-cost instance with clusters"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "budgets" / "workloads-7b.yaml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(args.scenario)
        if args.synthetic:
            from synthetic import make

            skus, channels, quarters, sites = (int(v) for v in args.synthetic.split("x"))
            scenario = make(
                Path(tmp) / "synthetic",
                skus,
                channels,
                quarters,
                objective="min-cost",
                seed=args.seed,
                sites=sites,
                workloads=True,
            )
        print(f"{args.synthetic or args.scenario}: the cluster counts first (gpuplan plan)")
        traced(scenario, True)
        print("HiGHS on the whole MIP (SolverOptions(clusters_first=False))")
        traced(scenario, False)


if __name__ == "__main__":
    main()
