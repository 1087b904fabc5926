"""Benchmark: HiGHS alone on each stage of a scenario's plan, under other HiGHS options.

Usage: python benchmarks/highs_options.py [--repeat 1] [--set "KEY=VALUE ..."]... [SCENARIO]
       python benchmarks/highs_options.py --synthetic 40x3x8x3 [--seed 1] [--set ...]

Solves the scenario (default ``budgets/workloads-7b.yaml``) once as ``gpuplan plan`` did before
it fixed cluster counts first (``SolverOptions(clusters_first=False)``: HiGHS on the whole MIP of
each stage), printing its time, and writes each MIP that HiGHS runs (stage 1; stage 2 with stage 1's value
kept, and stage 1's plan as its start; on a model with a kernel start, its sub-MIP, here without
its node limit, and the full MIP from its plan are runs of their own, numbered as stages) to a
temporary ``.mps`` file. Then solves each file with HiGHS alone (one thread, seed 0, the plan's
gap, the same start) under its default options and under each ``--set``
(several ``KEY=VALUE`` pairs in one ``--set`` go together), ``--repeat`` times, and prints the
median seconds, nodes and objective of each stage and their total. ``--synthetic
SKUSxCHANNELSxQUARTERSxSITES`` uses the instance of ``benchmarks/synthetic.py`` with workload
targets and clusters (``--seed``) instead of a scenario file.

Stage 2's file is the one the default options lead to: other options may end stage 1 at another
plan within the gap, and so a stage 2 bounded by another value. The total is therefore what the
options would do to each run of the default path, not a plan's time under those options. Not a
test: CI does not run it (issue #26: whether HiGHS's options alone bring workloads-7b near 5x
base-7b's time).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def value(text: str) -> Any:
    """A HiGHS option value from the command line: bool, int, float or string."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def dump_stages(scenario: str, folder: Path) -> tuple[list[tuple[Path, Path | None]], float]:
    """Solve ``scenario`` as ``gpuplan plan`` does (printing the time, files written included), writing each MIP run (and its start) to ``folder``; the files and the plan's gap."""
    from planner.model.backends import HighsBackend
    from planner.model.runs import SolverOptions
    from planner.plans.plan import solve

    runs: list[tuple[Path, Path | None]] = []
    solve_once = HighsBackend._solve

    def written(self: HighsBackend, start: Any) -> None:
        if self._mip:
            model = folder / f"stage{len(runs) + 1}.mps"
            self.h.writeModel(str(model))
            saved = None
            if start is not None:
                saved = folder / f"stage{len(runs) + 1}-start.npy"
                np.save(saved, np.asarray(start, dtype=np.float64))
            runs.append((model, saved))
        solve_once(self, start)

    HighsBackend._solve = written  # type: ignore[method-assign]
    begin = time.perf_counter()
    try:
        plan = solve(ROOT / scenario, options=SolverOptions(clusters_first=False))
    finally:
        HighsBackend._solve = solve_once  # type: ignore[method-assign]
    assert plan.status == "optimal", plan.status
    print(
        f"{scenario}: gpuplan's plan on the whole MIP {time.perf_counter() - begin:.2f} s ({len(runs)} MIP runs)",
        flush=True,
    )
    return runs, SolverOptions().mip_gap


def highs_alone(
    model: Path, start: Path | None, gap: float, options: dict[str, Any]
) -> tuple[float, int, float]:
    """Seconds, nodes and objective of HiGHS alone on ``model`` from ``start``, with ``options``."""
    import highspy

    h = highspy.Highs()
    for key, val in {
        "output_flag": False,
        "threads": 1,
        "random_seed": 0,
        "mip_rel_gap": gap,
        **options,
    }.items():
        if h.setOptionValue(key, val) != highspy.HighsStatus.kOk:
            raise SystemExit(f"HiGHS refused the option {key} = {val!r}")
    h.readModel(str(model))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.load(start))
        sol.value_valid = True
        h.setSolution(sol)
    begin = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - begin
    info = h.getInfo()
    return seconds, int(info.mip_node_count), float(info.objective_function_value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--set", action="append", default=[], help='HiGHS options, e.g. "mip_heuristic_effort=0.3"'
    )
    parser.add_argument(
        "--synthetic", help="SKUSxCHANNELSxQUARTERSxSITES: a synthetic instance with clusters"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("scenario", nargs="?", default="budgets/workloads-7b.yaml")
    args = parser.parse_args()
    sets: list[dict[str, Any]] = [{}]
    for given in args.set:
        pairs = [p.split("=", 1) for p in given.split()]
        sets.append({k: value(v) for k, v in pairs})
    with tempfile.TemporaryDirectory() as tmp:
        if args.synthetic:
            from synthetic import make

            skus, channels, quarters, sites = (int(v) for v in args.synthetic.split("x"))
            folder = Path(tmp) / "synthetic"
            made = make(folder, skus, channels, quarters, seed=args.seed, sites=sites, workloads=True)
            args.scenario = str(made)
        runs, gap = dump_stages(args.scenario, Path(tmp))
        print(
            f"{args.scenario}: HiGHS alone on each stage's model, gap {gap:g}, one thread, medians of {args.repeat}"
        )
        header = "  ".join(
            f"{f'stage {i + 1} s':>10} {'nodes':>7} {'objective':>16}" for i in range(len(runs))
        )
        print(f"{'options':<44} {header}  {'total s':>8}")
        for options in sets:
            cells, total = [], 0.0
            for model, start in runs:
                found = [highs_alone(model, start, gap, options) for _ in range(args.repeat)]
                seconds = statistics.median(s for s, _, _ in found)
                nodes = int(statistics.median(n for _, n, _ in found))
                total += seconds
                cells.append(f"{seconds:>10.2f} {nodes:>7} {found[0][2]:>16,.2f}")
            name = " ".join(f"{k}={v}" for k, v in options.items()) or "(defaults)"
            print(f"{name:<44} {'  '.join(cells)}  {total:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
