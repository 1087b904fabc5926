"""Result tables for the Python API: plain DataFrames that print money as money.

``compare`` and ``sweep`` return a :class:`ResultFrame`: numbers stay numbers (``frame["capex_usd"]``
sums as floats), but the frame shows ``$2.10B`` rather than ``2.100000e+09`` in a terminal and in
Jupyter, and the :class:`~planner.plans.results.Plan` of each row rides in ``frame.plans`` (by row label)
instead of sitting in a column of objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

from planner.inputs.units import format_money


def _money(value: Any) -> str:
    return format_money(float(value)) if _number(value) else _text(value)


def _percent(value: Any) -> str:
    return f"{100 * float(value):.1f}%" if _number(value) else _text(value)


def _quantity(value: Any) -> str:
    return f"{float(value):,.1f}" if _number(value) else _text(value)


def _count(value: Any) -> str:
    return f"{float(value):,.0f}" if _number(value) else _text(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _text(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def column_formatter(name: str) -> Callable[[Any], str] | None:
    """How a result column is shown, from its name and unit suffix (None: as pandas shows it)."""
    n = name.lower()
    if n.endswith("_usd") or n.startswith("spend_"):
        return _money
    if "share" in n:
        return _percent
    if "pflops" in n or n.endswith(("_tb", "_tbps", "_mw")):
        return _quantity
    if "chips" in n:
        return _count
    return None


class ResultFrame(pd.DataFrame):
    """A DataFrame of results; ``plans`` maps each row label to its :class:`Plan` (None: no plan)."""

    _metadata = ["plans"]
    plans: dict[Hashable, Any]

    @property
    def _constructor(self) -> Callable[..., ResultFrame]:
        return ResultFrame

    def formatters(self) -> dict[str, Callable[[Any], str]]:
        """The display format of each column that has one."""
        out = {}
        for column in self.columns:
            fmt = column_formatter(str(column))
            if fmt is not None:
                out[str(column)] = fmt
        return out

    def __repr__(self) -> str:
        return self.to_string(formatters=self.formatters())

    def _repr_html_(self) -> str:
        return self.to_html(formatters=self.formatters())


def result_frame(frame: pd.DataFrame, plans: dict[Hashable, Any]) -> ResultFrame:
    """``frame`` as a :class:`ResultFrame` carrying ``plans``."""
    out = ResultFrame(frame)
    out.plans = plans
    return out
