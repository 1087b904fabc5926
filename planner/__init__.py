"""gpuplan: a GPU procurement capacity planner.

Public API (imported lazily so that ``gpuplan --help`` stays fast)::

    from planner import load_scenario, load_catalog, solve
    plan = solve("budgets/base-7b.yaml")
    plan.purchases      # DataFrame, one row per purchase
    plan.to_dict()      # the contract's JSON
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["load_catalog", "load_scenario", "solve", "Plan", "SolverOptions", "PlannerError", "InputError"]

_WHERE = {
    "load_catalog": "planner.catalog",
    "load_scenario": "planner.scenario",
    "solve": "planner.plan",
    "Plan": "planner.results",
    "SolverOptions": "planner.model.solve",
    "PlannerError": "planner.errors",
    "InputError": "planner.errors",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
