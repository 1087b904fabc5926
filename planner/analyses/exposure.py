"""What a stress test found, typed: each shock's exposure, the plans' figures, and the JSON they print.

:func:`planner.analyses.stressing.stress` builds a :class:`StressResult`; the report, the workbook
and the chart read its fields, and ``to_dict()`` is what ``gpuplan stress --format json`` prints
(money to cents, other figures to 6 decimals, as the plan JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any, cast

import pandas as pd

from planner.model.choices import Objective
from planner.model.runs import PLAN_STATUSES
from planner.plans.diagnose import Diagnosis
from planner.plans.results import rounded
from planner.plans.robust import PriceOfRobustness


def plain(value: Any) -> Any:
    """Dataclasses as dicts (their fields in order, or their own ``to_json()``) and tuples as lists, all the way down."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class QuarterCompute:
    """Effective PFLOPS in service in one quarter."""

    period: str
    effective_pflops: float


@dataclass(frozen=True)
class StrandedOrder:
    """An order placed before a shock that can no longer serve: paid for, never delivered (or cut short)."""

    order_period: str
    sku: str
    channel: str
    kind: str  # buy or lease
    site: str | None  # a purchase's site; None for a lease
    chips: int
    cost_usd: float


@dataclass(frozen=True)
class OrderChange:
    """A line of orders the re-plan adds, removes or changes (chips before and after)."""

    change: str  # added, removed or changed
    order_period: str
    sku: str
    channel: str
    kind: str
    where: str | None  # the site of a purchase, the country of a lease
    chips_before: int
    chips_after: int


@dataclass(frozen=True)
class Exposure:
    """A plan re-planned under one shock: orders before it kept, the rest re-planned."""

    shock: str
    description: str
    first_open_quarter: str | None  # None when the shock comes after the horizon
    probability: float | None
    status: str  # the re-plan's status
    effective_pflops: float | None  # None without a re-plan
    compute_lost_pflops: float | None
    extra_cost_usd: float | None
    stranded_usd: float
    stranded: tuple[StrandedOrder, ...]
    targets_missed: int
    changes: tuple[OrderChange, ...]
    periods: tuple[QuarterCompute, ...]
    diagnosis: Diagnosis | None  # the re-plan's diagnosis when it has no plan

    @property
    def ok(self) -> bool:
        """Whether the re-plan found a plan."""
        return self.status in PLAN_STATUSES


@dataclass(frozen=True)
class PlanFigures:
    """A plan's status, totals and compute per quarter (the base plan of a stress test)."""

    status: str
    totals: dict[str, float]
    periods: tuple[QuarterCompute, ...]
    diagnosis: Diagnosis | None = None  # why there is no plan (reported only then)

    def to_dict(self) -> dict[str, Any]:
        """The JSON's ``base``: the diagnosis only when there is no plan."""
        out = {"status": self.status, "totals": self.totals, "periods": plain(self.periods)}
        if self.status not in PLAN_STATUSES:
            out["diagnosis"] = self.diagnosis.to_json() if self.diagnosis is not None else None
        return out


@dataclass(frozen=True)
class RobustFigures:
    """The robust plan in a stress test: its status and, with a plan, its figures and purchases."""

    status: str
    totals: dict[str, float] | None = None
    periods: tuple[QuarterCompute, ...] = ()
    price_of_robustness: PriceOfRobustness | None = None
    purchases: tuple[dict[str, Any], ...] = ()  # in the contract's purchase form

    def to_dict(self) -> dict[str, Any]:
        """The JSON's ``robust``: the status alone when there is no plan."""
        if self.totals is None:
            return {"status": self.status}
        return {
            "status": self.status,
            "totals": self.totals,
            "periods": plain(self.periods),
            "price_of_robustness": plain(self.price_of_robustness),  # rounded with the document
            "purchases": list(self.purchases),
        }


@dataclass(frozen=True)
class StressResult:
    """What a stress test found: the base plan (and a robust plan) re-planned under every shock.

    ``base_exposure`` and ``robust_exposure`` have one entry per shock, in the shock file's order;
    ``base_exposure`` is None when the base scenario has no plan, ``robust`` None when no robust
    plan was asked for (``robust_exposure`` None also when the robust plan has no plan).
    """

    scenario: str
    shocks: str
    objective: Objective
    base: PlanFigures
    base_exposure: tuple[Exposure, ...] | None = None
    robust: RobustFigures | None = None
    robust_exposure: tuple[Exposure, ...] | None = None

    @property
    def base_status(self) -> str:
        """The base plan's status (optimal, feasible, infeasible...)."""
        return self.base.status

    def exposure(self) -> pd.DataFrame:
        """Base plan against robust plan, one row per shock (the report's table)."""
        return exposure_frame(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, rounded as the plan JSON is (money to cents)."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "shocks": self.shocks,
            "objective": self.objective,
            "base": self.base.to_dict(),
        }
        if self.base_exposure is not None:
            out["base_exposure"] = plain(self.base_exposure)
        if self.robust is not None:
            out["robust"] = self.robust.to_dict()
        if self.robust_exposure is not None:
            out["robust_exposure"] = plain(self.robust_exposure)
        return cast(dict[str, Any], rounded(out))

    def __repr__(self) -> str:
        shocks = len(self.base_exposure or ())
        return (
            f"StressResult({self.scenario!r} against {self.shocks!r}: base plan "
            f"{self.base_status}, {shocks} shock(s))"
        )

    def _repr_html_(self) -> str:
        """The exposure table for Jupyter."""
        import html

        head = f"<b>{html.escape(repr(self))}</b>"
        return head + (self.exposure().to_html(index=False) if self.base_exposure else "")


EXPOSURE_COLUMNS = [
    "shock",
    "what",
    "probability",
    "base_status",
    "base_pflops_lost",
    "base_extra_cost_usd",
    "base_stranded_usd",
    "base_targets_missed",
    "robust_status",
    "robust_pflops_lost",
    "robust_extra_cost_usd",
    "robust_stranded_usd",
    "robust_targets_missed",
]


def exposure_frame(result: StressResult) -> pd.DataFrame:
    """Base plan's exposure against the robust plan's, per shock, in one table (PFLOPS lost for max-compute, extra cost for both, stranded spend and targets missed), rounded as the JSON."""
    robust = {e.shock: e for e in result.robust_exposure or ()}
    rows = []
    for e in result.base_exposure or ():
        r = robust.get(e.shock)
        rows.append(
            rounded(
                {
                    "shock": e.shock,
                    "what": e.description,
                    "probability": e.probability,
                    "base_status": e.status,
                    "base_pflops_lost": e.compute_lost_pflops,
                    "base_extra_cost_usd": e.extra_cost_usd,
                    "base_stranded_usd": e.stranded_usd,
                    "base_targets_missed": e.targets_missed,
                    "robust_status": r.status if r else None,
                    "robust_pflops_lost": r.compute_lost_pflops if r else None,
                    "robust_extra_cost_usd": r.extra_cost_usd if r else None,
                    "robust_stranded_usd": r.stranded_usd if r else None,
                    "robust_targets_missed": r.targets_missed if r else None,
                }
            )
        )
    return pd.DataFrame(rows, columns=EXPOSURE_COLUMNS)
