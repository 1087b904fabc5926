"""The bundled scenarios' plan JSON, stress results and robust plans, and the explicit command that rewrites the golden files.

Update deliberately, then review the diff::

    python tests/golden_plans.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SCENARIOS = ["base-7b", "cn-only-7b", "tight-5b", "large-10b", "h20-license-refused", "min-cost-targets"]
#: (scenario, shock file) pairs whose ``gpuplan stress --format json`` output is kept: every kind of
#: shock (rule on purchases, rule on leases abroad, supply, price, lead time, efficiency, budget
#: cut), both objectives, re-plans that strand orders and re-plans that cannot meet a target
STRESS = [
    ("base-7b", "channel-cutoff"),
    ("base-7b", "domestic-shortfall"),
    ("base-7b", "remote-access-2025"),
    ("min-cost-targets", "domestic-shortfall"),
]
#: (scenario, shock file) pairs whose ``gpuplan plan --robust --format json`` output is kept
ROBUST = [("base-7b", "remote-access-2025"), ("min-cost-targets", "domestic-shortfall")]


def plan_json(name: str) -> str:
    """The plan of a bundled scenario exactly as ``gpuplan plan --format json`` prints it."""
    from planner.outputs.export import plan_json as render
    from planner.plans.plan import solve

    return render(solve(ROOT / "budgets" / f"{name}.yaml"))


def stress_json(name: str, shocks: str) -> str:
    """``gpuplan stress SCENARIO --shocks SHOCKS --format json`` exactly as printed."""
    import json

    from planner.analyses.stressing import stress

    result = stress(ROOT / "budgets" / f"{name}.yaml", ROOT / "budgets" / "shocks" / f"{shocks}.yaml")
    return json.dumps(result.to_dict(), indent=2) + "\n"


def robust_json(name: str, shocks: str) -> str:
    """``gpuplan plan SCENARIO --robust SHOCKS --format json`` exactly as printed."""
    from planner.analyses.stressing import robust_plan
    from planner.outputs.export import plan_json as render

    return render(
        robust_plan(ROOT / "budgets" / f"{name}.yaml", ROOT / "budgets" / "shocks" / f"{shocks}.yaml")
    )


def golden_files() -> dict[str, Callable[[], str]]:
    """Golden file name -> what produces its text now."""
    files = {f"{name}.json": partial(plan_json, name) for name in SCENARIOS}
    files.update({f"stress-{n}-{s}.json": partial(stress_json, n, s) for n, s in STRESS})
    files.update({f"robust-{n}-{s}.json": partial(robust_json, n, s) for n, s in ROBUST})
    return files


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for file, make in golden_files().items():
        (GOLDEN / file).write_text(make())
        print(f"wrote {GOLDEN / file}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
