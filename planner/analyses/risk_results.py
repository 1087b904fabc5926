"""What ``risk`` found, typed: each plan's outcome distributions over the sampled futures.

:func:`planner.analyses.sampling.risk` builds a :class:`RiskResult`; the report, the workbook and
the chart read its fields, and ``to_dict()`` is what ``gpuplan risk --format json`` prints. A
sample-average plan (:mod:`planner.analyses.saa`) carries a :class:`SampleAverage`: its summaries
in and out of sample in the same form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.analyses.exposure import plain
from planner.model.choices import Objective


@dataclass(frozen=True)
class Distribution:
    """One outcome over the samples: mean, standard deviation, P5, P50, P95 (linear interpolation), min, max (None without samples)."""

    mean: float | None
    std: float | None
    p5: float | None
    p50: float | None
    p95: float | None
    min: float | None
    max: float | None


def wilson_interval(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a probability seen ``k`` times in ``n`` independent futures (rounded to 6 places; ``(0, 1)`` without futures).

    With ``p = k / n`` and ``z`` the normal distribution's 97.5% quantile:
    ``(p + z^2/2n +- z sqrt(p(1 - p)/n + z^2/4n^2)) / (1 + z^2/n)``. Unlike ``p +- z sqrt(p(1-p)/n)``
    it stays within [0, 1] and is not empty when ``k`` is 0 or ``n``.
    """
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.975)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return round(max(centre - half, 0.0), 6) + 0.0, round(min(centre + half, 1.0), 6) + 0.0


@dataclass(frozen=True)
class ShockRisk:
    """A plan's objective in the futures where a shock occurs, and in those where it does not."""

    shock: str
    occurred_n: int
    mean_when_occurs: float | None
    mean_when_not: float | None


@dataclass(frozen=True)
class PlanRisk:
    """One plan rolled through the futures: its outcome distributions, the odds of missing each target, per shock, and the re-plans' statuses."""

    summary: dict[str, Distribution]  # metric -> distribution
    p_target_missed: dict[str, float]  # "PERIOD MEASURE" -> share of futures that miss it
    p_target_missed_ci95: dict[str, tuple[float, float]]  # the same: its 95% Wilson score interval
    by_shock: tuple[ShockRisk, ...]
    statuses: dict[str, int]  # re-plan status -> futures
    plan_status: str  # the plan's own status before any shock

    def to_dict(self, by_shock: bool = True) -> dict[str, Any]:
        """The plan's entry in the JSON (``by_shock`` left out where a summary has no shocks to split by)."""
        out: dict[str, Any] = plain(self)
        if not by_shock:
            del out["by_shock"]
        return out


@dataclass(frozen=True)
class RiskResult:
    """Sampled futures of a shock file and each plan rolled through them.

    ``samples`` has one entry per future, in index order: ``index``, the shocks that ``occurred``,
    the ``draws`` of their amounts, and per plan its outcome there (status, effective PFLOPS, cost,
    stranded spend, targets missed).
    """

    scenario: str
    shocks: str
    seed: int
    samples_n: int
    objective: Objective
    plans: dict[str, PlanRisk]  # "base", "robust" or "sample_average" -> its risk
    samples: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``gpuplan risk --format json`` prints."""
        out: dict[str, Any] = plain(self)
        return out

    def objective_metric(self) -> str:
        """The outcome the objective is read on: effective_pflops (max-compute) or cost_usd (min-cost)."""
        return "effective_pflops" if self.objective == Objective.MAX_COMPUTE else "cost_usd"

    def outcome_values(self, kind: str, metric: str) -> npt.NDArray[np.float64]:
        """The values of one metric of plan ``kind`` over the samples, in sample order."""
        return np.asarray([s[kind][metric] for s in self.samples], dtype=np.float64)

    def sample_rows(self, kind: str) -> list[dict[str, Any]]:
        """One plan's per-sample outcomes as flat rows (for tables, workbooks and checks)."""
        return [
            {
                "index": s["index"],
                "occurred": ", ".join(s["occurred"]),
                "draws": ", ".join(f"{k} {v:g}" for k, v in s["draws"].items()),
                **s[kind],
            }
            for s in self.samples
        ]

    def __repr__(self) -> str:
        return (
            f"RiskResult({self.scenario!r} under {self.shocks!r}: {self.samples_n:,} futures, "
            f"plans {', '.join(self.plans)})"
        )


@dataclass(frozen=True)
class SampleAverage:
    """A sample-average plan's making (``made``: shocks, samples, seeds, objective) and its outcomes in and out of sample, with the base plan's out of sample."""

    made: dict[str, Any]
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    base_out_of_sample: dict[str, Any] | None
    #: the statistics of the outcome that :meth:`outcomes` gives
    STATS: ClassVar[tuple[str, ...]] = ("mean", "p5", "p50", "p95", "min")

    def outcomes(self) -> pd.DataFrame:
        """This plan in and out of sample and the base plan out of sample, one row each: the objective's outcome (mean, P5, P50, P95, min), then per target the share of futures that miss it and that share's 95% interval (None in sample: those are the futures the plan was made on)."""
        metric = next(iter(self.in_sample["summary"]))
        plans = {"in sample": self.in_sample, "out of sample": self.out_of_sample}
        if self.base_out_of_sample is not None:
            plans["base plan, out of sample"] = self.base_out_of_sample
        rows = []
        for name, summary in plans.items():
            row: dict[str, Any] = {"plan": name}
            row |= {f"{metric}_{stat}": summary["summary"][metric][stat] for stat in self.STATS}
            for t in self.targets():
                share, low, high = self.missed_columns(t)
                row[share] = summary["p_target_missed"].get(t, 0.0)
                row[low], row[high] = summary.get("p_target_missed_ci95", {}).get(t) or (None, None)
            rows.append(row)
        return pd.DataFrame(rows)

    def targets(self) -> list[str]:
        """The targets ("PERIOD MEASURE"), in order."""
        return sorted(self.in_sample["p_target_missed"])

    @staticmethod
    def missed_columns(target: str) -> tuple[str, str, str]:
        """The columns of :meth:`outcomes` for a target: the share of futures missing it and its 95% interval."""
        name = f"missed_{target.replace(' ', '_')}"
        return name, f"{name}_ci95_low", f"{name}_ci95_high"

    def to_json(self) -> dict[str, Any]:
        """The plan JSON's keys ``risk_plan``, ``in_sample``, ``out_of_sample`` and ``base_out_of_sample``."""
        return {
            "risk_plan": self.made,
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "base_out_of_sample": self.base_out_of_sample,
        }
