"""Benchmark: gpuplan at growing synthetic sizes, against HiGHS alone; budget sweeps with 1 and 2 jobs.

Usage: python benchmarks/run.py [--repeat 3] [--sizes 25x2x4,50x4x8,100x4x12,200x8x16] [--quick]

Each measurement runs in a fresh process; the table gives medians. Not a test: CI does not run it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

STAGES = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from planner.inputs.catalog import load_catalog
from planner.inputs.scenario import load_scenario, check_references
from planner.model.data import prepare
from planner.model.build import build
from planner.model.solve import optimize, scenario_goal
from planner.model.runs import SolverOptions
from planner.plans.results import tabulate
from planner.outputs.export import plan_json
from planner.outputs.workbook import write_plan_workbook
from planner.plans.plan import solve
t_import = time.perf_counter() - t0
path, gap, out = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
t = time.perf_counter(); s = load_scenario(path); cat = load_catalog(s.catalog_path()); check_references(s, cat)
t_load = time.perf_counter() - t
t = time.perf_counter(); data = prepare(s, cat); model = build(data); goal = scenario_goal(model.main)
t_build = time.perf_counter() - t
t = time.perf_counter(); result = optimize(model, goal, SolverOptions(mip_gap=gap)); t_solve = time.perf_counter() - t
t = time.perf_counter()
plan = solve(s, cat, SolverOptions(mip_gap=gap))
t_plan = time.perf_counter() - t
t = time.perf_counter(); (out / "p.json").write_text(plan_json(plan)); write_plan_workbook(plan, out / "p.xlsx")
t_write = time.perf_counter() - t
print(json.dumps({"import": t_import, "load": t_load, "build": t_build, "solve": t_solve, "write": t_write,
                  "offers": len(data.offers), "rows": len(model.rows), "status": result.status.value,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

HIGHS_ALONE = r"""
import sys, time, os
t0 = time.perf_counter()
import highspy
h = highspy.Highs(); h.setOptionValue("output_flag", False); h.setOptionValue("threads", 1)
h.setOptionValue("mip_rel_gap", float(sys.argv[2])); h.setOptionValue("random_seed", int(sys.argv[3]))
h.readModel(sys.argv[1]); h.run()
print(time.perf_counter() - t0, h.getModelStatus())
"""


def median(xs):
    return statistics.median(xs)


def timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, env=os.environ | {"PYTHONHASHSEED": "0"}
    )
    return time.perf_counter() - t, out.stdout


def bench_size(
    skus: int,
    channels: int,
    quarters: int,
    repeat: int,
    gap: float,
    work: Path,
    sites: int = 1,
    workloads: bool = False,
    seeds: bool = False,
) -> dict:
    """Time one generated size: gpuplan's stages and whole command, and HiGHS alone on its ``.mps``.

    HiGHS alone runs ``repeat`` times with seed 0, or with ``seeds`` once with each of the seeds
    0 to ``repeat - 1``; the median is reported either way.
    """
    name = f"{skus}x{channels}x{quarters}" + (f", {sites} sites with leases" if sites > 1 else "")
    folder = work / name.replace(", ", "-").replace(" ", "-")
    scenario = synthetic.make(
        folder, skus, channels, quarters, objective="min-cost", sites=sites, workloads=workloads
    )
    stages = [
        json.loads(timed([sys.executable, "-c", STAGES, str(scenario), str(gap), str(folder)])[1])
        for _ in range(repeat)
    ]
    mps = folder / "model.mps"
    subprocess.run(
        [
            "gpuplan",
            "plan",
            str(scenario),
            "--format",
            "json",
            "--mip-gap",
            str(gap),
            "--write-model",
            str(mps),
        ],
        check=True,
        capture_output=True,
    )
    whole = [
        timed(["gpuplan", "plan", str(scenario), "--format", "json", "--mip-gap", str(gap)])[0]
        for _ in range(repeat)
    ]
    alone = [
        timed([sys.executable, "-c", HIGHS_ALONE, str(mps), str(gap), str(k if seeds else 0)])[0]
        for k in range(repeat)
    ]
    row = {
        k: median([s[k] for s in stages]) for k in ("import", "load", "build", "solve", "write", "peak_mb")
    }
    row.update(
        size=name,
        offers=stages[0]["offers"],
        rows=stages[0]["rows"],
        whole=median(whole),
        highs=median(alone),
    )
    row["ratio"] = row["whole"] / row["highs"]
    return row


def bench_sweep(repeat: int, points: int) -> dict:
    base = ROOT / "budgets" / "base-7b.yaml"
    cold = [timed(["gpuplan", "plan", str(base), "--format", "json"])[0] for _ in range(repeat)]
    rng = f"1B:12B:{points}"
    one = [
        timed(["gpuplan", "sweep", str(base), "--budget", rng, "--format", "json"])[0] for _ in range(repeat)
    ]
    two = [
        timed(["gpuplan", "sweep", str(base), "--budget", rng, "--format", "json", "--jobs", "2"])[0]
        for _ in range(repeat)
    ]
    return {
        "cold_plan": median(cold),
        "cold_x_points": median(cold) * points,
        "jobs1": median(one),
        "jobs2": median(two),
        "points": points,
    }


def fit_exponent(rows: list[dict], key: str) -> float:
    import numpy as np

    x = np.log([r["offers"] for r in rows])
    y = np.log([r[key] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--sizes",
        default="25x2x4,50x4x8,100x4x12,200x8x16,135x4x16x3",
        help="SKUSxCHANNELSxQUARTERS[xSITES]; with SITES > 1, sites abroad and lease offers",
    )
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--sweep-only", action="store_true", help="only the base-7b sweep line")
    args = ap.parse_args()
    if args.sweep_only:
        print(sweep_line(bench_sweep(args.repeat, args.points)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for size in args.sizes.split(","):
            s, c, q, *n = (int(v) for v in size.split("x"))
            rows.append(bench_size(s, c, q, args.repeat, args.gap, Path(tmp), n[0] if n else 1))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        t_help = [timed(["gpuplan", "--help"])[0] for _ in range(max(args.repeat, 5))]
        sweep = bench_sweep(args.repeat, args.points)
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; medians of {args.repeat} runs, each in a fresh process; "
        f"min-cost scenarios, MIP gap {args.gap:g}, one HiGHS thread.\n"
    )
    print(
        "| size (SKUs x channels x quarters) | offers (integer vars) | rows | load s | build s | solve s | "
        "write s | peak MB | whole `gpuplan plan` s | HiGHS alone on the .mps s | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['size']} | {r['offers']:,} | {r['rows']:,} | {r['load']:.2f} | {r['build']:.2f} | "
            f"{r['solve']:.2f} | {r['write']:.2f} | {r['peak_mb']:.0f} | {r['whole']:.2f} | {r['highs']:.2f} | "
            f"{r['ratio']:.2f} |"
        )
    print(
        f"\nBuild time exponent against the number of offers (log-log fit): {fit_exponent(rows, 'build'):.2f}"
        " (all sizes)"
    )
    print(f"`gpuplan --help`: {median(t_help):.3f} s")
    print(sweep_line(sweep))


def sweep_line(sweep: dict) -> str:
    """The README's line on the base-7b sweep."""
    return (
        f"Sweep of {sweep['points']} budgets on base-7b: --jobs 1 {sweep['jobs1']:.1f} s, --jobs 2 "
        f"{sweep['jobs2']:.1f} s; {sweep['points']} cold `gpuplan plan` runs "
        f"{sweep['cold_x_points']:.1f} s ({sweep['cold_plan']:.2f} s each). Ratios: jobs 1 / cold = "
        f"{sweep['jobs1'] / sweep['cold_x_points']:.2f}, jobs 1 / jobs 2 = {sweep['jobs1'] / sweep['jobs2']:.2f}"
    )


if __name__ == "__main__":
    main()
