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


def check_catches(plan: Any, break_it: Any) -> None:
    """The independent check passes the plan's JSON, and fails it once ``break_it`` has changed it (so the check can fail)."""
    data = plan.data
    inst = contract.load(Path(data.scenario.source), Path(data.catalog.folder))
    doc = plan.to_dict()
    contract.check_plan(inst, doc)
    break_it(doc)
    try:
        contract.check_plan(inst, doc)
    except AssertionError:
        return
    raise AssertionError("the independent check accepted a broken answer")
