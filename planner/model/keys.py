"""Typed row keys: the model names its rows; no other module builds or parses a solver name."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from enum import StrEnum


class Family(StrEnum):
    """Constraint families of the contract (section 3), plus the solve's and the robust plan's own."""

    BUDGET_TOTAL = "budget"
    BUDGET_CUMULATIVE = "cumulative budget"
    BUDGET_PERIOD = "period budget"
    SUPPLY = "supply"
    TARGET = "target"
    POWER = "power"
    SHARE = "share"
    STAGE2 = "objective"
    NONANTICIPATIVITY = "non-anticipativity"
    BRANCH_BUDGET = "branch budget"
    WORKLOAD_SPLIT = "workload split"  # contract v3: training + inference chips <= chips in service
    CLUSTER = "cluster"  # contract v3: training chips of a family at a place in whole clusters
    NEAR_OPTIMAL = "near-optimal"  # an alternative: the objective within X% of its optimum
    CVAR = "cvar"  # a sample-average plan: a future's excess over the worst-share threshold
    CHANCE = "chance"  # a sample-average plan: a target met in a share of the futures


class Relax(StrEnum):
    """How the diagnosis of an infeasible scenario loosens the model: families made elastic (a penalised slack per row) or dropped."""

    TARGETS = "targets"  # every target row elastic
    POWER = "power"  # every site-power row elastic
    SHARES = "shares"  # every share row elastic
    DROP_TARGETS = "no-targets"  # no target rows at all


BUDGET_FAMILIES = (Family.BUDGET_TOTAL, Family.BUDGET_CUMULATIVE, Family.BUDGET_PERIOD)


@dataclass(frozen=True)
class RowKey:
    """What a row is: its family and the coordinates that tell it apart from its siblings.

    ``period`` is a quarter name, ``site`` a site name, ``share`` the index of a share rule in
    the policy, ``group`` the value a share constrains, ``bound`` ``min`` or ``max``, ``measure``
    a target's measure (``pflops``, ``memory_tb``, ``training_pflops``, ``inference_memory_bw_tbps``
    or ``inference_memory_tb``), ``branch`` a robust-plan branch and ``item`` an option index. A
    workload split's ``site`` is its place and ``group`` its SKU; a cluster row's ``group`` its family.
    """

    family: Family
    period: str | None = None
    site: str | None = None
    share: int | None = None
    group: str | None = None
    bound: str | None = None
    measure: str | None = None
    branch: str | None = None
    item: int | None = None

    def solver_name(self) -> str:
        """A name PuLP and MPS files accept (only ``[A-Za-z0-9_]``); two keys that sanitise alike get distinct names from :meth:`planner.model.rows.Model.add`, which appends the row's index to the second."""
        parts = [self.branch] if self.branch is not None else []
        parts.append(self.family.name.lower())
        for f in fields(self):
            if f.name in ("family", "branch"):
                continue
            value = getattr(self, f.name)
            if value is not None:
                parts.append(str(value))
        return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))

    def matches(self, **coords: object) -> bool:
        """True when every given coordinate equals the key's."""
        return all(getattr(self, k) == v for k, v in coords.items())
