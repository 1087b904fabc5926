"""A robust plan's own account, typed: the shocks it hedges, its price, and each branch's orders.

:func:`planner.analyses.stressing.robust_plan` sets it on the base branch's :class:`Plan` when the
plan is made; the JSON key ``robust`` is its ``to_json()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.plans.results import rounded


@dataclass(frozen=True)
class PriceOfRobustness:
    """What the robust plan gives up against the base plan when no shock comes."""

    unit: str  # effective PFLOPS (max-compute) or USD of cost (min-cost)
    base: float
    robust: float
    given_up: float
    relative: float

    def to_json(self) -> dict[str, Any]:
        """The JSON object, rounded as the plan JSON is."""
        out: dict[str, Any] = rounded(
            {
                "unit": self.unit,
                "base": self.base,
                "robust": self.robust,
                "given_up": self.given_up,
                "relative": self.relative,
            }
        )
        return out


@dataclass(frozen=True)
class RobustBranch:
    """One shock's branch of a robust plan: its first open quarter, status, compute, capex and orders."""

    shock: str
    first_open_quarter: str | None  # None when the shock comes after the horizon
    status: str
    effective_pflops: float
    capex_usd: float
    # the branch's own orders in the contract's purchase form: those ordered before its first open
    # quarter are the base branch's (non-anticipativity, checkable from the JSON)
    purchases: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RobustInfo:
    """How a robust plan was made and what it hedges (the plan JSON's ``robust`` object).

    ``price_of_robustness`` and ``branches`` are None when the robust plan or the base plan has no plan.
    """

    shocks: str
    status: str
    objective: str  # "expected" when the shocks have probabilities, else "base branch"
    price_of_robustness: PriceOfRobustness | None = None
    branches: tuple[RobustBranch, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object, rounded as the plan JSON is."""
        out: dict[str, Any] = {"shocks": self.shocks, "status": self.status, "objective": self.objective}
        if self.price_of_robustness is not None:
            out["price_of_robustness"] = self.price_of_robustness.to_json()
        if self.branches is not None:
            out["branches"] = [
                {
                    "shock": b.shock,
                    "first_open_quarter": b.first_open_quarter,
                    "status": b.status,
                    "effective_pflops": round(b.effective_pflops, 6),
                    "capex_usd": round(b.capex_usd, 2),
                    "purchases": list(b.purchases),
                }
                for b in self.branches
            ]
        rounded_out: dict[str, Any] = rounded(out)
        return rounded_out
