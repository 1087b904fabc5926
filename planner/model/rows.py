"""The model's containers: columns, rows registered under typed keys, and the parts (scenarios) that own the columns.

The recipe that fills them is :mod:`planner.model.build`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.model.data import ModelData
from planner.model.keys import Family, RowKey
from planner.model.linear import FloatArray, IntArray, Lin

INF = float("inf")
LE, GE, EQ = "<=", ">=", "=="


@dataclass
class Row:
    """One registered row: ``lower <= lin <= upper`` (the form's constant included)."""

    key: RowKey
    name: str
    lin: Lin
    lower: float
    upper: float
    description: str
    index: int

    @property
    def sense(self) -> str:
        """The row's sense: ``==`` when both bounds are equal, else ``<=`` or ``>=``."""
        if self.lower == self.upper:
            return EQ
        return GE if self.upper == INF else LE

    @property
    def rhs(self) -> float:
        """The bound the row's sense refers to."""
        return self.upper if self.sense == LE else self.lower

    def activity(self, x: FloatArray) -> float:
        """The row's left-hand side at a solution ``x``."""
        return self.lin.value(x)

    def slack(self, x: FloatArray) -> float:
        """Room left at ``x`` in the row's own direction (negative when violated)."""
        value = self.activity(x)
        if self.sense == LE:
            return self.upper - value
        if self.sense == GE:
            return value - self.lower
        return -abs(value - self.lower)


class PerPeriod:
    """One linear form per period, built on first use (a family no row needs costs nothing)."""

    def __init__(self, horizon: int, make: Callable[[int], Lin]) -> None:
        self._make, self._n = make, horizon
        self._cache: dict[int, Lin] = {}

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, p: int) -> Lin:
        p = p % self._n
        if p not in self._cache:
            self._cache[p] = self._make(p)
        return self._cache[p]

    def __iter__(self) -> Iterator[Lin]:
        return (self[p] for p in range(self._n))


@dataclass
class Part:
    """One scenario's columns and forms inside a model (a robust plan has one part per branch).

    ``compute``/``memory``: installed ``E_p``/``M_p``; ``power[k]``: ``P_kp`` of site ``k``;
    ``commitment``: ``sum_t C_t + L`` (what spend shares count); ``budget_commitment``: every
    payment in the budget currency (what the total budget counts; the commitment in USD);
    ``cost``: the contract's cost (discounted payments and electricity less the residual credit).
    """

    data: ModelData
    cols: IntArray
    branch: str | None
    compute: PerPeriod
    memory: PerPeriod
    power: list[PerPeriod]
    commitment: Lin
    budget_commitment: Lin
    cost: Lin
    workloads: Workloads = field(default_factory=lambda: Workloads())

    def servers(self, x: FloatArray) -> IntArray:
        """Whole servers per usable option at column values ``x``."""
        return np.rint(x[self.cols]).astype(np.int64)


@dataclass
class Workloads:
    """The split of chips in service into training and inference (contract v3, section 7).

    ``split`` has one row per quarter, place and SKU with a split: the columns of its training
    and inference chips (-1 where the chip does not serve that workload or the quarter has no
    target for it); ``clusters`` one row per quarter, place and family with a cluster column
    (``size`` effective chips each). ``training``/``bandwidth``/``memory`` are the workload
    forms per quarter index: ``sum eff tr``, ``sum memory_bw_tbps in``, ``sum memory_gb/1000 in``.
    """

    split: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["p", "place", "sku", "family", "tr", "inf"])
    )
    clusters: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["p", "place", "family", "y", "size"])
    )
    training: dict[int, Lin] = field(default_factory=dict)
    bandwidth: dict[int, Lin] = field(default_factory=dict)
    memory: dict[int, Lin] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        """Whether any quarter carries a workload target."""
        return bool(self.training or self.bandwidth or self.memory)


@dataclass
class Model:
    """Columns and registered rows; the parts (scenarios) that own the columns."""

    col_names: list[str] = field(default_factory=list)
    col_lower: list[float] = field(default_factory=list)
    col_upper: list[float] = field(default_factory=list)
    col_integer: list[bool] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    #: elastic rows: key -> (slack column, weight in the diagnosis objective)
    slacks: dict[RowKey, tuple[int, float]] = field(default_factory=dict)
    _by_key: dict[RowKey, Row] = field(default_factory=dict)
    _names: set[str] = field(default_factory=set)

    @property
    def n_cols(self) -> int:
        """Number of columns."""
        return len(self.col_names)

    @property
    def main(self) -> Part:
        """The first (for a single scenario, the only) part."""
        return self.parts[0]

    def add_columns(
        self, names: list[str], lower: list[float], upper: list[float], integer: bool
    ) -> IntArray:
        """Append columns; returns their indices."""
        start = self.n_cols
        self.col_names += names
        self.col_lower += lower
        self.col_upper += upper
        self.col_integer += [integer] * len(names)
        return np.arange(start, self.n_cols, dtype=np.int64)

    def add(
        self,
        key: RowKey,
        lin: Lin,
        sense: str,
        rhs: float,
        description: str,
        elastic: bool = False,
        weight: float = 1.0,
    ) -> Row:
        """Register ``lin (sense) rhs``; with ``elastic`` a penalised slack column may relax it."""
        if key in self._by_key:
            raise ValueError(f"row {key} added twice")
        name = key.solver_name()
        if name in self._names:
            name = f"{name}_{len(self.rows)}"
        if elastic:
            col = int(self.add_columns([f"slack_{name}"], [0.0], [INF], integer=False)[0])
            one = Lin(np.array([col], dtype=np.int64), np.array([1.0 if sense == GE else -1.0]))
            lin = lin + one
            self.slacks[key] = (col, weight)
        value = rhs - lin.constant
        lin = Lin(lin.idx, lin.coef)
        lower = value if sense in (GE, EQ) else -INF
        upper = value if sense in (LE, EQ) else INF
        row = Row(key, name, lin, lower, upper, description, len(self.rows))
        self.rows.append(row)
        self._by_key[key] = row
        self._names.add(name)
        return row

    def rows_of(self, family: Family, **coords: object) -> list[Row]:
        """Every row of ``family`` whose key has the given coordinates, in build order."""
        return [r for r in self.rows if r.key.family == family and r.key.matches(**coords)]

    def row(self, family: Family, **coords: object) -> Row:
        """The one row of ``family`` with the given coordinates; raises LookupError otherwise."""
        found = self.rows_of(family, **coords)
        if len(found) != 1:
            raise LookupError(f"{len(found)} rows of family {family.value!r} with {coords}; expected one")
        return found[0]

    def find(self, key: RowKey) -> Row | None:
        """The row with this key, or None when the model has none."""
        return self._by_key.get(key)

    def _option(self, col: int) -> tuple[Part, int] | None:
        for part in self.parts:
            at = np.flatnonzero(part.cols == col)
            if len(at):
                return part, int(at[0])
        return None

    def describe_column(self, col: int) -> str:
        """A column in words: the option it buys (SKU, channel, order quarter, site or lease country), or its name."""
        found = self._option(col)
        if found is None:
            return f"column {self.col_names[col]}"
        part, i = found
        r = part.data.offers.iloc[i]
        where = f"lease in {r['country']}" if r["kind"] == "lease" else f"at {r['site']}"
        return f"{r['sku']} via {r['channel']} ordered in {r['period']} ({where})"

    def explain_coefficient(self, col: int) -> str:
        """The input figures whose product makes an option's coefficients (empty for other columns)."""
        found = self._option(col)
        if found is None:
            return ""
        part, i = found
        r = part.data.offers.iloc[i]
        term = f" x term_quarters {int(r['term'])}" if r["kind"] == "lease" else ""
        fx = max(part.data.finance.fx) if part.data.finance.present else 1.0
        rate = f" x fx up to {fx:g}" if fx != 1.0 else ""
        return (
            f" (unit_price_usd {float(r['unit_price_usd']):g} x (1 + fee_pct {float(r['fee_pct']):g} / 100) "
            f"x chips_per_server {int(r['chips_per_server'])}{term}{rate})"
        )


@dataclass(frozen=True)
class Room:
    """The one bound a change moved, as the interval between the old and the new bound: a column's or a row's."""

    index: int  # the column's or the row's index
    row: bool
    lower: float
    upper: float


def added_room(base: Model, moved: Model) -> Room | None:
    """The room ``moved`` adds to ``base`` (same shape) when it moves one bound of one column or row outwards; else None."""
    lo0, up0 = np.asarray(base.col_lower), np.asarray(base.col_upper)
    lo1, up1 = np.asarray(moved.col_lower), np.asarray(moved.col_upper)
    moves = [
        (j, False, (lo0[j], up0[j]), (lo1[j], up1[j]))
        for j in np.flatnonzero((lo0 != lo1) | (up0 != up1)).tolist()
    ]
    for ra, rb in zip(base.rows, moved.rows, strict=True):
        if len(moves) > 1:
            return None
        if (ra.lower, ra.upper) != (rb.lower, rb.upper):
            moves.append((ra.index, True, (ra.lower, ra.upper), (rb.lower, rb.upper)))
    if len(moves) != 1:
        return None
    index, row, (l0, u0), (l1, u1) = moves[0]
    if l1 == l0 and u1 > u0:
        return Room(index, row, float(u0), float(u1))
    if u1 == u0 and l1 < l0:
        return Room(index, row, float(l1), float(l0))
    return None  # both bounds moved, or one moved inwards
