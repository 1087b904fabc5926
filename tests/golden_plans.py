"""The bundled scenarios' plan JSON, and the explicit command that rewrites the golden files.

Update deliberately, then review the diff::

    python tests/golden_plans.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SCENARIOS = ["base-7b", "cn-only-7b", "tight-5b", "large-10b", "h20-license-refused", "min-cost-targets"]


def plan_json(name: str) -> str:
    """The plan of a bundled scenario exactly as ``gpuplan plan --format json`` prints it."""
    from planner.export import plan_json as render
    from planner.plan import solve

    return render(solve(ROOT / "budgets" / f"{name}.yaml"))


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in SCENARIOS:
        (GOLDEN / f"{name}.json").write_text(plan_json(name))
        print(f"wrote {GOLDEN / f'{name}.json'}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
