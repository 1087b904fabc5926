"""Shock files: dated changes to export rules, supply, prices, lead times, efficiency or budget.

A shock takes effect on its ``date`` (or the first day of its ``quarter``). Orders placed in
quarters that start before that day are committed; the shock changes what can be ordered
from then on:

- ``rule``: an export rule added to the catalog's rules from the shock date (``effective``
  defaults to it). Committed orders still undelivered on that date whose chip is then not
  allowed at the destination are *stranded*: paid for, never delivered.
- ``supply_cut``: ``max_units`` of the matching offers times ``1 - fraction``.
- ``price``: ``unit_price_usd`` of the matching offers times ``factor``.
- ``lead_time``: ``lead_time_quarters`` of the matching offers plus ``add_quarters``.
- ``efficiency``: ``software_efficiency`` of the matching chips times ``factor`` from the first
  quarter that starts on or after the shock (installed chips too); earlier quarters are history
  and keep their compute.
- ``budget_cut``: budgets of the quarters from the shock on times ``1 - fraction``, and the
  unspent part of the total budget likewise.
- ``fx``: the budget currency's rate (units per USD, ``finance.fx``) times ``factor`` in the
  quarters from the first that starts on or after the shock (and after the horizon). Orders
  already placed keep their dollar price; what is still unpaid is converted at the shocked rate.

Offers and chips are matched by ``by`` (sku, vendor, channel or category) and ``value``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from planner.errors import InputError
from planner.inputs.catalog import Catalog, License, Rule, unknown_places
from planner.inputs.scenario import Scenario
from planner.inputs.units import MAX_NAME, MAX_RATE, parse_date, parse_quarter, quarter_start
from planner.inputs.yamlio import read_yaml, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Uniform(_Strict):
    """Every value between ``low`` and ``high`` equally likely."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high, got low {self.low:g} and high {self.high:g}")
        return self

    def draw(self, rng: np.random.Generator) -> float:
        """One value."""
        return float(rng.uniform(self.low, self.high))

    def typical(self) -> float:
        """The midpoint (what ``stress`` and robust plans use)."""
        return (self.low + self.high) / 2

    def describe(self) -> str:
        """How reports show it."""
        return f"uniform {self.low:g}-{self.high:g}"

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        return self.low, self.high

    def quantile(self, u: float) -> float:
        """The value with probability ``u`` below it (the inverse distribution, for the copula)."""
        return self.low + u * (self.high - self.low)


class Triangular(_Strict):
    """Values between ``low`` and ``high``, most likely near ``mode``."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"triangular needs low <= mode <= high and low < high, got {self.low:g}, {self.mode:g}, {self.high:g}"
            )
        return self

    def draw(self, rng: np.random.Generator) -> float:
        """One value."""
        return float(rng.triangular(self.low, self.mode, self.high))

    def typical(self) -> float:
        """The mode."""
        return self.mode

    def describe(self) -> str:
        """How reports show it."""
        return f"triangular {self.low:g}-{self.high:g} (mode {self.mode:g})"

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        return self.low, self.high

    def quantile(self, u: float) -> float:
        """The value with probability ``u`` below it."""
        a, c, b = self.low, self.mode, self.high
        split = (c - a) / (b - a)
        if u < split:
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1 - u) * (b - a) * (b - c))


class Lognormal(_Strict):
    """A positive value whose logarithm is normal: half the draws below ``median``; ``sigma`` of the log."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0, le=MAX_RATE)
    sigma: float = Field(ge=0, le=5)

    def draw(self, rng: np.random.Generator) -> float:
        """One value."""
        return float(min(rng.lognormal(math.log(self.median), self.sigma), MAX_RATE))

    def typical(self) -> float:
        """The median."""
        return self.median

    def describe(self) -> str:
        """How reports show it."""
        return f"lognormal (median {self.median:g}, sigma {self.sigma:g})"

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        return (self.median, self.median) if self.sigma == 0 else (math.ulp(0.0), math.inf)  # draws are > 0

    def quantile(self, u: float) -> float:
        """The value with probability ``u`` below it."""
        z = NormalDist().inv_cdf(min(max(u, 1e-300), 1 - 1e-16))
        return float(min(self.median * math.exp(self.sigma * z), MAX_RATE))


class Choice(_Strict):
    """One of ``values``, with the given ``weights`` (equal when left out)."""

    dist: Literal["choice"]
    values: list[float] = Field(min_length=1, max_length=1000)
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"choice has {len(self.values)} values but {len(self.weights)} weights")
            if sum(self.weights) <= 0:
                raise ValueError("choice weights must add up to more than 0")
        return self

    def probabilities(self) -> npt.NDArray[np.float64]:
        """The probability of each value."""
        w = np.asarray(
            self.weights if self.weights is not None else [1.0] * len(self.values), dtype=np.float64
        )
        return np.asarray(w / w.sum(), dtype=np.float64)

    def draw(self, rng: np.random.Generator) -> float:
        """One value."""
        return float(self.values[int(rng.choice(len(self.values), p=self.probabilities()))])

    def typical(self) -> float:
        """The most likely value (the first of equally likely ones)."""
        return float(self.values[int(np.argmax(self.probabilities()))])

    def describe(self) -> str:
        """How reports show it."""
        return "one of " + ", ".join(f"{v:g}" for v in self.values)

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        return min(self.values), max(self.values)

    def quantile(self, u: float) -> float:
        """The smallest value whose cumulative probability (values in increasing order) reaches ``u``."""
        order = np.argsort(self.values, kind="stable")
        cumulative = np.cumsum(self.probabilities()[order])
        k = int(np.searchsorted(cumulative, u, side="left"))
        return float(self.values[int(order[min(k, len(order) - 1)])])


Dist = Annotated[Uniform | Triangular | Lognormal | Choice, Field(discriminator="dist")]


def fixed(value: float | Dist) -> float:
    """A shock amount that must be a number here (draw or take the typical value first)."""
    if not isinstance(value, (int, float)):
        raise ValueError(f"a {value.dist} distribution where a number is needed: draw a value first")
    return float(value)


def _shown(value: float | Dist, percent: bool = False) -> str:
    if not isinstance(value, (int, float)):
        return value.describe()
    return f"{value:.0%}" if percent else f"{value:g}"


def _within(value: float | Dist, low: float, high: float, low_open: bool, high_open: bool) -> float | Dist:
    """A number, or a distribution every draw of which lies in the field's range."""
    if isinstance(value, (int, float)):
        return value
    lo, hi = value.support()
    if (lo <= low if low_open else lo < low) or (hi >= high if high_open else hi > high):
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(
            f"every draw of the {value.dist} distribution must lie in {left}{low:g}, {high:g}{right}, "
            f"but draws range over [{lo:g}, {hi:g}]"
        )
    return value


class Selector(_Strict):
    """Which offers a shock touches: by SKU, vendor, channel or category."""

    by: Literal["sku", "vendor", "channel", "category"]
    value: str


class SupplyCut(Selector):
    """Remove a fraction of the selected offers' supply."""

    fraction: Annotated[float, Field(gt=0, le=1)] | Dist

    _range = field_validator("fraction")(lambda v: _within(v, 0, 1, True, False))


class PriceChange(Selector):
    """Multiply the selected offers' prices by a factor."""

    factor: Annotated[float, Field(gt=0, le=MAX_RATE)] | Dist

    _range = field_validator("factor")(lambda v: _within(v, 0, math.inf, True, False))


class LeadTime(Selector):
    """Delay the selected offers' deliveries by whole quarters (a drawn value is rounded)."""

    add_quarters: Annotated[int, Field(ge=1, le=40)] | Dist

    _range = field_validator("add_quarters")(lambda v: _within(v, 1, 40, False, False))


class Efficiency(Selector):
    """Lower the selected chips' delivered efficiency by a factor."""

    by: Literal["sku", "vendor", "category"]
    factor: Annotated[float, Field(gt=0, le=1)] | Dist

    _range = field_validator("factor")(lambda v: _within(v, 0, 1, True, False))


class BudgetCut(_Strict):
    """Take a fraction of the budget away from the shock date on."""

    fraction: Annotated[float, Field(gt=0, lt=1)] | Dist

    _range = field_validator("fraction")(lambda v: _within(v, 0, 1, True, True))


class FxChange(_Strict):
    """Multiply the budget currency's exchange rate (units per USD) by a factor."""

    factor: Annotated[float, Field(gt=0, le=MAX_RATE)] | Dist

    _range = field_validator("factor")(lambda v: _within(v, 0, math.inf, True, False))


class ShockLicense(License):
    """Licence terms of a shock rule: ``approval`` may be a distribution."""

    approval: Annotated[float, Field(gt=0, le=1)] | Dist = 1.0  # type: ignore[assignment]

    _range = field_validator("approval")(lambda v: _within(v, 0, 1, True, False))


class ShockRule(Rule):
    """An export rule as in ``export_rules.yaml``; ``effective`` defaults to the shock date."""

    effective: dt.date | None = None  # type: ignore[assignment]
    license: ShockLicense | None = None


#: the amount of each effect that may be uncertain
AMOUNTS = {
    "supply_cut": "fraction",
    "price": "factor",
    "lead_time": "add_quarters",
    "efficiency": "factor",
    "budget_cut": "fraction",
    "fx": "factor",
}


EFFECTS = ("rule", "supply_cut", "price", "lead_time", "efficiency", "budget_cut", "fx")


class Shock(_Strict):
    """One named shock: a date and exactly one effect."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    date: dt.date | None = None
    quarter: str | None = None
    probability: float | None = Field(default=None, ge=0, le=1)
    rule: ShockRule | None = None
    supply_cut: SupplyCut | None = None
    price: PriceChange | None = None
    lead_time: LeadTime | None = None
    efficiency: Efficiency | None = None
    budget_cut: BudgetCut | None = None
    fx: FxChange | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        return None if v is None else parse_date(v)

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, v: str | None) -> str | None:
        if v is not None:
            parse_quarter(v)
        return v

    @model_validator(mode="after")
    def _one_of_each(self) -> Shock:
        if (self.date is None) == (self.quarter is None):
            raise ValueError(f"shock {self.name!r} needs exactly one of date or quarter")
        given = [e for e in EFFECTS if getattr(self, e) is not None]
        if len(given) != 1:
            raise ValueError(
                f"shock {self.name!r} needs exactly one of {', '.join(EFFECTS)} (got "
                f"{', '.join(given) or 'none'})"
            )
        rule = self.rule
        if rule is not None and rule.effective is None and rule.ends is not None and rule.ends <= self.starts:
            raise ValueError(
                f"rule {rule.id!r}: ends ({rule.ends}) must be after the shock takes effect ({self.starts}), "
                "the rule's effective date when none is given"
            )
        return self

    @property
    def effect(self) -> str:
        """The name of the shock's one effect."""
        return next(e for e in EFFECTS if getattr(self, e) is not None)

    @property
    def uncertain(self) -> Uniform | Triangular | Lognormal | Choice | None:
        """The distribution of the shock's amount, or None when the amount is a number."""
        if self.rule is not None:
            amount: object = self.rule.license.approval if self.rule.license is not None else None
        else:
            amount = getattr(getattr(self, self.effect), AMOUNTS[self.effect])
        return amount if isinstance(amount, (Uniform, Triangular, Lognormal, Choice)) else None

    def uncertain_value(self) -> float:
        """The amount a distribution may give (the licence approval for a rule), as a number."""
        if self.rule is not None:
            return fixed(self.rule.license.approval) if self.rule.license is not None else 1.0
        return fixed(getattr(getattr(self, self.effect), AMOUNTS[self.effect]))

    def with_amount(self, value: float) -> Shock:
        """This shock with its uncertain amount fixed at ``value`` (rounded for whole quarters)."""
        if self.rule is not None:
            assert self.rule.license is not None
            terms = self.rule.license.model_copy(update={"approval": value})
            return self.model_copy(update={"rule": self.rule.model_copy(update={"license": terms})})
        key = AMOUNTS[self.effect]
        # whole quarters: a drawn 2.5 is 3 and 3.5 is 4 (half up, not Python's half to even)
        fixed: float | int = max(1, math.floor(value + 0.5)) if key == "add_quarters" else value
        effect = getattr(self, self.effect).model_copy(update={key: fixed})
        return self.model_copy(update={self.effect: effect})

    def typical(self) -> Shock:
        """This shock with a distribution's typical value (uniform midpoint, triangular mode, lognormal median, choice's likeliest value)."""
        dist = self.uncertain
        return self if dist is None else self.with_amount(dist.typical())

    @property
    def starts(self) -> dt.date:
        """The day the shock takes effect."""
        return self.date if self.date is not None else quarter_start(parse_quarter(self.quarter))

    def describe(self) -> str:
        """A one-line description of the shock for reports."""
        e = getattr(self, self.effect)
        if self.effect == "rule":
            what = f"rule {e.id}: {e.status} for {', '.join(e.skus) or 'matching chips'} in {', '.join(e.destinations)}"
        elif self.effect == "supply_cut":
            what = f"supply of {e.by} {e.value} cut by {_shown(e.fraction, True)}"
        elif self.effect == "price":
            what = f"prices of {e.by} {e.value} x {_shown(e.factor)}"
        elif self.effect == "lead_time":
            what = f"lead time of {e.by} {e.value} + {_shown(e.add_quarters)} quarter(s)"
        elif self.effect == "efficiency":
            what = f"software efficiency of {e.by} {e.value} x {_shown(e.factor)}"
        elif self.effect == "fx":
            what = f"budget currency per USD x {_shown(e.factor)}"
        else:
            what = f"budget cut by {_shown(e.fraction, True)}"
        return f"{what} from {self.starts.isoformat()}"


class Correlation(_Strict):
    """Shocks that arrive together: a correlation matrix over the named shocks, applied through a Gaussian copula."""

    shocks: list[str] = Field(min_length=2, max_length=100)
    matrix: list[list[float]]

    @model_validator(mode="after")
    def _matrix(self) -> Correlation:
        n = len(self.shocks)
        if len(set(self.shocks)) != n:
            raise ValueError("correlation.shocks: a shock is named twice")
        if len(self.matrix) != n or any(len(row) != n for row in self.matrix):
            raise ValueError(f"correlation.matrix must be {n} x {n}, one row and column per shock listed")
        m = np.asarray(self.matrix, dtype=np.float64)
        for i in range(n):
            if m[i, i] != 1:
                raise ValueError(
                    f"correlation.matrix[{i}][{i}] must be 1 (a shock with itself), got {m[i, i]:g}"
                )
            for j in range(n):
                if not -1 <= m[i, j] <= 1:
                    raise ValueError(f"correlation.matrix[{i}][{j}] must lie in [-1, 1], got {m[i, j]:g}")
                if abs(m[i, j] - m[j, i]) > 1e-12:
                    raise ValueError(
                        f"correlation.matrix is not symmetric: [{i}][{j}] is {m[i, j]:g} but [{j}][{i}] is {m[j, i]:g}"
                    )
        low = float(np.linalg.eigvalsh(m).min())
        if low < -1e-9:
            raise ValueError(
                f"correlation.matrix is not positive semi-definite (smallest eigenvalue {low:.4g}): no set of "
                "shocks can be correlated this way"
            )
        return self

    def factor(self) -> npt.NDArray[np.float64]:
        """``L`` with ``L @ L.T`` the matrix (from its eigenvectors: a singular matrix is allowed)."""
        values, vectors = np.linalg.eigh(np.asarray(self.matrix, dtype=np.float64))
        return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)), dtype=np.float64)


class ShockFile(_Strict):
    """A named set of shocks read from a YAML file."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    shocks: list[Shock] = Field(min_length=1)
    correlation: Correlation | None = None
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file the shocks were read from (None when built in Python)."""
        return self._source

    def as_alternatives(self) -> ShockFile:
        """The shocks as the branches of a robust plan: alternatives whose probabilities add up to at most 1.

        Risk samples shocks independently, so their probabilities may add up to more than 1; a robust
        plan then weighs each shock's branch by its probability divided by the sum.
        """
        total = sum(s.probability or 0.0 for s in self.shocks)
        if total <= 1 + 1e-9:
            return self
        scaled = [s.model_copy(update={"probability": (s.probability or 0.0) / total}) for s in self.shocks]
        out = self.model_copy(update={"shocks": scaled})
        out._source = self._source
        return out

    def check_alternatives(self, file: str) -> None:
        """Robust plans and ``stress`` treat shocks as alternatives: probabilities may add up to 1 at most."""
        total = sum(s.probability or 0.0 for s in self.shocks)
        if total > 1 + 1e-9:
            raise InputError(
                f"shock probabilities add up to {total:g}, more than 1: a robust plan takes the shocks as "
                "alternatives (gpuplan risk samples them independently)",
                file=file,
            )

    def require_probabilities(self, why: str) -> None:
        """Sampling needs every shock's probability: the first shock without one is an input error saying ``why``."""
        for i, shock in enumerate(self.shocks):
            if shock.probability is None:
                raise InputError(
                    f"shock {shock.name!r} needs a probability: {why}",
                    file=self.source or "shocks",
                    key=f"shocks[{i}].probability",
                )

    def typical(self) -> ShockFile:
        """The shocks with every distribution at its typical value (what ``stress`` and robust plans use)."""
        out = self.model_copy(update={"shocks": [s.typical() for s in self.shocks]})
        out._source = self._source
        return out

    @model_validator(mode="after")
    def _probabilities(self) -> ShockFile:
        names = [s.name for s in self.shocks]
        if len(set(names)) != len(names):
            raise ValueError("shock names must be unique")
        if self.correlation is not None:
            for name in self.correlation.shocks:
                if name not in names:
                    raise ValueError(f"correlation.shocks: no shock named {name!r} in the file")
                if next(s for s in self.shocks if s.name == name).probability is None:
                    raise ValueError(
                        f"correlation.shocks: shock {name!r} needs a probability to be correlated"
                    )
        return self


def load_shocks(path: str | Path) -> ShockFile:
    """Read and validate a shock file; errors name the file and key."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping with name and shocks", file=str(path))
    shocks = validate(ShockFile, {"name": path.stem} | data, str(path))
    shocks._source = str(path)
    return shocks


def check_shock_references(
    shocks: ShockFile, catalog: Catalog, file: str, scenario: Scenario | None = None
) -> None:
    """Selectors and rule SKUs must name things the catalog has; an ``fx`` shock needs a budget currency other than USD."""
    values = {
        "sku": set(catalog.chips.index),
        "vendor": set(catalog.chips["vendor"]),
        "category": set(catalog.chips["category"]),
        "channel": set(catalog.offers["channel"]),
    }
    for i, shock in enumerate(shocks.shocks):
        effect = getattr(shock, shock.effect)
        if shock.fx is not None and scenario is not None:
            if scenario.finance is None or scenario.finance.currency == "USD":
                raise InputError(
                    "an fx shock moves the budget currency's rate, but the scenario's budget is in USD "
                    "(give finance.currency and finance.fx)",
                    file=file,
                    key=f"shocks[{i}].fx",
                )
        if isinstance(effect, Selector) and effect.value not in values[effect.by]:
            raise InputError(
                f"no {effect.by} {effect.value!r} in the catalog",
                file=file,
                key=f"shocks[{i}].{shock.effect}.value",
            )
        if shock.effect == "rule":
            for name in unknown_places(effect, catalog.groups):
                raise InputError(
                    f'{name!r} is not a country code, "*" or a group of the catalog\'s export_rules.yaml',
                    file=file,
                    key=f"shocks[{i}].rule",
                )
            for sku in effect.skus:
                if sku not in values["sku"]:
                    raise InputError(
                        f"sku {sku!r} is not in the catalog's chips.csv",
                        file=file,
                        key=f"shocks[{i}].rule.skus",
                    )


def _matches(frame: pd.DataFrame, chips: pd.DataFrame, sel: Selector) -> pd.Series:
    if sel.by in ("sku", "channel"):
        return frame[sel.by] == sel.value
    return frame["sku"].map(chips[sel.by]) == sel.value


@dataclass
class Shocked:
    """A shock applied: the catalog and scenario to re-plan with, and where the cut falls."""

    shock: Shock
    catalog: Catalog
    scenario: Scenario
    first: int  # index in the horizon of the first quarter whose orders can change
    before: Catalog  # the catalog committed orders were placed under (the shocked chips, the old rules)


def first_open_quarter(scenario: Scenario, day: dt.date) -> int:
    """Index of the first quarter of the horizon that starts on or after ``day``."""
    starts = [quarter_start(q) for q in scenario.period_index]
    return next((i for i, s in enumerate(starts) if s >= day), len(starts))


@dataclass(frozen=True)
class Committed:
    """Spend committed before a shock, in the budget currency: in all, and what falls due in each quarter (index from the first period)."""

    total: float = 0.0
    per_period: tuple[float, ...] = ()

    def due(self, p: int) -> float:
        """What falls due in quarter ``p``."""
        return self.per_period[p] if p < len(self.per_period) else 0.0


def apply(shock: Shock, scenario: Scenario, catalog: Catalog, committed: Committed | None = None) -> Shocked:
    """The catalog and scenario after the shock (orders from its date on).

    A budget cut takes ``fraction`` of what is not committed yet, alike for the total and for each
    quarter's budget: spend committed before the shock (``committed``) stays due in full.
    """
    committed = committed or Committed()
    day = shock.starts
    first = first_open_quarter(scenario, day)
    chips, offers, rules = catalog.chips, catalog.offers.copy(), list(catalog.rules)
    later = offers["period_index"].map(lambda q: quarter_start(q) >= day)
    effect = getattr(shock, shock.effect)
    if shock.effect == "rule":
        data = effect.model_dump()
        data["effective"] = data["effective"] or day
        rules.append(Rule.model_validate(data))
    elif shock.effect == "supply_cut":
        hit = later & _matches(offers, chips, effect)
        offers.loc[hit, "max_units"] = (offers.loc[hit, "max_units"] * (1 - fixed(effect.fraction))).astype(
            int
        )
    elif shock.effect == "price":
        hit = later & _matches(offers, chips, effect)
        offers.loc[hit, "unit_price_usd"] = offers.loc[hit, "unit_price_usd"] * fixed(effect.factor)
    elif shock.effect == "lead_time":
        hit = later & _matches(offers, chips, effect)
        offers.loc[hit, "lead_time_quarters"] = offers.loc[hit, "lead_time_quarters"] + int(
            fixed(effect.add_quarters)
        )
    # no shock changes the chips, and only a rule shock the rules: the new catalog keeps what was
    # worked out from them (Catalog.with_changes)
    new_catalog = catalog.with_changes(offers=offers, rules=rules if shock.effect == "rule" else None)
    new_scenario = scenario
    if shock.effect == "budget_cut":
        budget = scenario.budget.model_copy()
        keep = 1 - fixed(effect.fraction)
        if budget.per_period_usd is not None:
            budget.per_period_usd = {
                p: _cut(v, committed.due(i), keep) if i >= first else v
                for i, p in enumerate(scenario.periods)
                if (v := budget.per_period_usd.get(p)) is not None
            }
        if budget.total_usd is not None:
            budget.total_usd = _cut(budget.total_usd, committed.total, keep)
        new_scenario = scenario.model_copy(update={"budget": budget})
    if shock.effect == "fx":
        new_scenario = with_fx_factor(scenario, first, fixed(effect.factor))
    return Shocked(shock, new_catalog, new_scenario, first, catalog.with_changes(offers=offers))


def _cut(budget: float, committed: float, keep: float) -> float:
    """A budget cut to ``keep`` of what is not committed: the committed part stays."""
    return committed + max(budget - committed, 0.0) * keep


def with_fx_factor(scenario: Scenario, first: int, factor: float) -> Scenario:
    """The scenario with its budget currency's rate times ``factor`` from period ``first`` on (and after the horizon)."""
    finance = scenario.finance
    if finance is None or finance.currency == "USD":
        raise InputError("an fx shock needs a budget currency other than USD (finance.currency)", key="fx")
    from planner.model.data import caps

    path = caps(finance.fx, list(scenario.periods))
    moved = {
        p: (1.0 if v is None else v) * (factor if i >= first else 1.0)
        for i, (p, v) in enumerate(zip(scenario.periods, path, strict=True))
    }
    fx = {k: v for k, v in finance.fx.items() if parse_quarter(k) < scenario.period_index[0]} | moved
    return scenario.model_copy(update={"finance": finance.model_copy(update={"fx": fx})})
