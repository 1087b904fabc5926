"""The kernel search's pure arithmetic: which columns its sub-MIP frees, the bounds reduced costs prove, and when a plan proves the gap (used by :class:`planner.model.backends.HighsBackend`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.model.linear import FloatArray, Sense
from planner.model.rows import INF


@dataclass(frozen=True)
class Relaxed:
    """An LP relaxation's optimum: its value, column values and reduced costs, and the column bounds HiGHS held."""

    value: float
    x: FloatArray
    reduced: FloatArray
    lower: FloatArray
    upper: FloatArray


def proves(value: float, bound: float, gap: float) -> bool:
    """Whether a plan of objective ``value`` is within ``gap`` of ``bound`` (HiGHS's measure: ``|bound - value| / |value|``, at least 1e-6 absolute)."""
    return abs(bound - value) <= max(gap * abs(value), 1e-6)


def proving_target(sense: Sense, bound: float, gap: float) -> float:
    """The least good objective value that :func:`proves` accepts against ``bound``, a hair inside."""
    toward = 1.0 if sense == Sense.MINIMIZE else -1.0  # from the bound towards worse plans
    shrink = 1.0 - gap if (bound >= 0) == (toward > 0) else 1.0 + gap
    value = bound / shrink if shrink > 0 else bound
    return value - toward * 1e-9 * max(1.0, abs(value - bound))


def kernel_bounds(
    x: FloatArray,
    reduced: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    size: int,
    start: FloatArray | None = None,
    window: float = INF,
) -> tuple[FloatArray, FloatArray]:
    """Column bounds of the kernel search's MIP, from the LP relaxation's values ``x`` and reduced costs.

    The kernel (columns free to move): the ``size`` columns of smallest absolute reduced cost
    (ties in column order), every column the LP leaves fractional, and, with a ``start``, every
    column where the start differs from the LP's rounded value. A kernel column keeps its bounds,
    narrowed to ``window`` units around its LP value, and widened again to take in the start's
    value (so that the start is a plan of the sub-MIP). Every other column is fixed at its LP
    value, rounded.
    """
    kernel = np.zeros(len(x), dtype=bool)
    kernel[np.argsort(np.abs(reduced), kind="stable")[:size]] = True
    kernel |= np.abs(x - np.round(x)) > 1e-9
    fixed = np.clip(np.round(x), lower, upper)
    low = np.clip(np.floor(x) - window, lower, upper)
    high = np.clip(np.ceil(x) + window, lower, upper)
    if start is not None:
        kernel |= np.abs(start - fixed) > 1e-9
        low, high = np.minimum(low, start), np.maximum(high, start)
    return np.where(kernel, low, fixed), np.where(kernel, high, fixed)


def reduced_cost_bounds(
    x: FloatArray,
    reduced: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    integer: npt.NDArray[np.bool_],
    sense: Sense,
    bound: float,
    value: float,
    plan: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Bounds on the integer columns that every plan at least as good as ``plan`` keeps (reduced-cost fixing).

    ``x`` and ``reduced`` are the LP relaxation's values and reduced costs (HiGHS's sign: the
    cost less the rows' duals, for either sense), ``bound`` the LP's objective and ``value``
    ``plan``'s. A column the LP holds at a bound, whose reduced cost says that moving away from
    it worsens the objective by ``|d|`` a unit, makes a plan ``k`` units away at least ``|d| k``
    worse than the LP, and a plan at least as good as ``plan`` is at most ``|bound - value|``
    worse: so it stays within ``|bound - value| / |d|`` units of that bound. The gap is widened
    by 1e-6 of the LP's objective (at least 1e-6) against rounding in the LP's figures, and
    ``plan`` stays inside.
    """
    sign = 1.0 if sense == Sense.MAXIMIZE else -1.0
    loss = sign * reduced  # negative at a lower bound, positive at an upper one, where moving away costs
    gap = max(sign * (bound - value), 0.0) + 1e-6 * max(1.0, abs(bound))
    with np.errstate(over="ignore"):  # a reduced cost near 0 leaves a column all the room there is
        room = np.floor(gap / np.maximum(np.abs(reduced), 1e-300) + 1e-9)
    at_lower = integer & (np.abs(x - lower) <= 1e-9 * np.maximum(1.0, np.abs(lower))) & (loss < -1e-9)
    at_upper = (
        integer & (np.abs(x - upper) <= 1e-9 * np.maximum(1.0, np.abs(upper))) & (loss > 1e-9) & ~at_lower
    )
    new_upper = np.where(at_lower, np.minimum(upper, lower + room), upper)
    new_lower = np.where(at_upper, np.maximum(lower, upper - room), lower)
    return np.minimum(new_lower, plan), np.maximum(new_upper, plan)
