"""Re-derive a solved plan with the independent contract implementation in ``contract.py``.

Only the paths of the input files are taken from the plan; every figure is recomputed from
the files by code that shares nothing with ``planner``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import contract


def check_plan(plan: Any) -> contract.Figures:
    """Assert that the plan's JSON meets every constraint of the contract and that its figures add up."""
    data = plan.data
    inst = contract.load(Path(data.scenario.source), Path(data.catalog.folder))
    return contract.check_plan(inst, plan.to_dict())
