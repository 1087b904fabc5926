"""Benchmark: `gpuplan risk` on base-7b with budgets/shocks/risk-2025.yaml.

Usage: python benchmarks/risk.py [--samples 1000] [--repeat 1] [--before 0cf416e]

Measures, each run in a fresh process:
- throughput (samples per second) with 1 and with 2 local Dask workers, and their ratio;
- the same with 1 worker on the code of ``--before`` (default: the commit before the re-plans got
  their kernel start and the catalog its kept verdicts, issue #29 item 6: "today's figure"),
  checked out in a temporary git worktree and run on the same machine in the same run, and the
  ratio of the two throughputs;
- the cost of a sample against a warm re-solve of the same model: the mean seconds per re-plan
  step inside the samples, against the seconds HiGHS takes to re-solve the base model already
  loaded (both stages, from scratch on a live model, as sweeps do);
- peak memory per worker process.

Not a test: CI does not run it. Prints a Markdown table for the README.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "budgets" / "base-7b.yaml"
SHOCKS = ROOT / "budgets" / "shocks" / "risk-2025.yaml"
#: the commit before the re-plans' speed-up (issue #29 item 6's "today's figure" is its throughput)
BEFORE = "0cf416e"

RUN = r"""
import json, resource, sys, time
from planner.analyses.sampling import risk

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

if __name__ == "__main__":
    samples, workers = int(sys.argv[1]), int(sys.argv[2])
    from dask.distributed import get_worker  # noqa: F401  (import cost outside the timing)
    import planner.analyses.sampling as r
    t0 = time.perf_counter()
    result = risk(sys.argv[3], sys.argv[4], samples=samples, workers=workers)
    wall = time.perf_counter() - t0
    steps = sum(len(s["occurred"]) for s in result.samples)
    print(json.dumps({"wall": wall, "steps": steps, "client_mb": peak()}))
"""

STEP = r"""
import json, sys, time
import numpy as np
from planner.analyses.stressing import _inputs, replan_step
from planner.inputs.shocks import load_shocks, apply
from planner.analyses.sampling import draw
from planner.model.backends import HighsBackend
from planner.model.build import build
from planner.model.data import prepare
from planner.model.solve import optimize, scenario_goal

scenario, shocks, catalog, options, base = _inputs(sys.argv[1], sys.argv[2], None, None)
shocks = load_shocks(sys.argv[2])
# the re-plan steps of the first samples, timed one by one (a sample's cost is the sum of its steps)
steps = []
for i in range(int(sys.argv[3])):
    occurred, _ = draw(shocks, 0, i)
    current, sc, cat = base, scenario, catalog
    for shock in sorted(occurred, key=lambda s: s.starts):
        t = time.perf_counter()
        shocked = apply(shock, sc, cat)
        step = replan_step(current, shocked, options.for_many_runs(), limits=False)  # as risk's samples
        steps.append(time.perf_counter() - t)
        if not step.after.ok:
            break
        current, sc, cat = step.after, shocked.scenario, shocked.catalog
# a warm re-solve: the base model loaded once in HiGHS, solved again (both stages)
model = build(prepare(scenario, catalog))
goal = scenario_goal(model.main)
backend = HighsBackend(model, options)
optimize(model, goal, options, backend=backend)
warm = []
for _ in range(5):
    t = time.perf_counter()
    optimize(model, goal, options, backend=backend)
    warm.append(time.perf_counter() - t)
print(json.dumps({"step": float(np.median(steps)), "step_mean": float(np.mean(steps)), "steps": len(steps),
                  "warm": float(np.median(warm))}))
"""


def run(code: str, *args: object, root: Path = ROOT) -> dict:
    """Run ``code`` in a fresh process on the package in ``root`` (first on the path) and read its JSON."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def before_wall(rev: str, samples: int) -> float:
    """Wall seconds of ``samples`` samples with 1 worker on the code of commit ``rev`` (a temporary worktree)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True, capture_output=True
        )
        try:
            scenario, shocks = (tree / p.relative_to(ROOT) for p in (SCENARIO, SHOCKS))
            return float(run(RUN, samples, 1, scenario, shocks, root=tree)["wall"])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


def worker_memory(samples: int) -> float:
    """Peak RSS of a worker process running samples (MB), read from inside the worker."""
    probe = r"""
import json, resource, sys
from planner.analyses.sampling import Job, _plans_to_roll, dask_client, run_job
from planner.inputs.scenario import load_scenario
from planner.inputs.shocks import load_shocks
from planner.plans.plan import catalog_for
from planner.model.runs import SolverOptions

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

if __name__ == "__main__":
    s = load_scenario(sys.argv[1]); sh = load_shocks(sys.argv[2]); cat = catalog_for(s)
    plans = _plans_to_roll(s, sh, cat, SolverOptions(), ("base",))
    job = Job(s, cat, sh, SolverOptions(), 0, plans, key="bench")
    with dask_client(1) as client:
        run_job(job, int(sys.argv[3]), client)
        peaks = client.run(rss)
    print(json.dumps({"worker_mb": max(peaks.values())}))
"""
    return float(run(probe, SCENARIO, SHOCKS, samples)["worker_mb"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--step-samples", type=int, default=60)
    ap.add_argument("--before", default=BEFORE, help="the commit whose throughput the ratio is against")
    args = ap.parse_args()
    walls: dict[int, list[float]] = {1: [], 2: []}
    steps = 0
    for _ in range(args.repeat):
        for workers in (1, 2):
            r = run(RUN, args.samples, workers, SCENARIO, SHOCKS)
            walls[workers].append(r["wall"])
            steps = r["steps"]
            print(f"  {workers} worker(s): {r['wall']:.1f} s", file=sys.stderr)
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    before = before_wall(args.before, args.samples)
    print(f"  1 worker on {args.before}: {before:.1f} s", file=sys.stderr)
    s = run(STEP, SCENARIO, SHOCKS, args.step_samples)
    mem = worker_memory(min(args.samples, 100))
    print(
        f"Machine: {platform.machine()}, {platform.python_version()}; base-7b with risk-2025.yaml, "
        f"{args.samples} samples ({steps} re-plan steps), medians of {args.repeat} run(s), each in a fresh process."
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| 1 worker: wall time, throughput | {one:.1f} s, {args.samples / one:.1f} samples/s |")
    print(f"| 2 workers: wall time, throughput | {two:.1f} s, {args.samples / two:.1f} samples/s |")
    print(f"| throughput ratio, 2 workers / 1 | {one / two:.2f} |")
    print(
        f"| 1 worker on {args.before} (before): wall time, throughput | {before:.1f} s, {args.samples / before:.1f} samples/s |"
    )
    print(f"| throughput ratio, now / before (1 worker) | {before / one:.2f} |")
    print(f"| one re-plan step (median of {s['steps']}) | {s['step']:.3f} s |")
    print(f"| warm re-solve of the base model (both stages) | {s['warm']:.3f} s |")
    print(f"| step / warm re-solve | {s['step'] / s['warm']:.2f} |")
    print(f"| per sample, task and transfer overhead included (1 worker) | {one / args.samples:.3f} s |")
    print(f"| peak memory of a worker | {mem:.0f} MB |")


if __name__ == "__main__":
    main()
