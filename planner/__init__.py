"""gpuplan: a GPU procurement capacity planner.

The library behind the ``gpuplan`` command, for scripts and notebooks (names are imported lazily
so that ``gpuplan --help`` stays fast)::

    import planner

    plan = planner.solve("budgets/base-7b.yaml")      # a Plan: purchases, periods, sites, totals
    plan.purchases                                     # DataFrame, one row per purchase or lease
    plan.to_dict()                                     # the contract's JSON
    planner.compare(["budgets/base-7b.yaml", "budgets/tight-5b.yaml"])   # DataFrame, one row each
    planner.sweep("budgets/base-7b.yaml", ["3B", "5B", "7e9"])          # DataFrame, one row a budget
    planner.explain("budgets/base-7b.yaml").marginal   # binding, marginal and not_bought DataFrames
    planner.stress("budgets/base-7b.yaml", "budgets/shocks/remote-access-2025.yaml")
    planner.risk("budgets/base-7b.yaml", "budgets/shocks/risk-2025.yaml", samples=200)

Amounts accept the strings the command line does (``"7B"``, ``"7e9"``, ``"7,000,000,000"``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "InputError",
    "Plan",
    "PlannerError",
    "SolverOptions",
    "compare",
    "explain",
    "load_catalog",
    "load_scenario",
    "risk",
    "robust_plan",
    "solve",
    "stress",
    "sweep",
]

_WHERE = {
    "load_catalog": "planner.inputs.catalog",
    "load_scenario": "planner.inputs.scenario",
    "solve": "planner.plans.plan",
    "compare": "planner.analyses.analysis",
    "sweep": "planner.analyses.analysis",
    "explain": "planner.analyses.explaining",
    "stress": "planner.analyses.stressing",
    "robust_plan": "planner.analyses.stressing",
    "risk": "planner.analyses.sampling",
    "Plan": "planner.plans.results",
    "SolverOptions": "planner.model.solve",
    "PlannerError": "planner.errors",
    "InputError": "planner.errors",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
