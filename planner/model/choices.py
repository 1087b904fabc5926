"""The names a user chooses between, as enums: solvers and objectives (no other module spells them).

A ``StrEnum`` member equals its string, so a scenario's ``objective`` or the JSON's read back
compare with these directly; the scenario schema keeps the literal strings for its messages.
"""

from __future__ import annotations

from enum import StrEnum


class Solver(StrEnum):
    """The MILP solvers: HiGHS in-process (live models), or PuLP's bundled CBC."""

    HIGHS = "highs"
    CBC = "cbc"


class Objective(StrEnum):
    """A scenario's objective (contract, section 3; ``max-training`` section 7)."""

    MAX_COMPUTE = "max-compute"
    MIN_COST = "min-cost"
    MAX_TRAINING = "max-training"

    @property
    def maximizes(self) -> bool:
        """Whether the first stage maximises (compute or training) rather than minimising cost."""
        return self != Objective.MIN_COST
