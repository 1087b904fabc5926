"""Linear forms over the model's columns, held as numpy arrays (never as PuLP objects)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Sense(StrEnum):
    """Direction of an objective."""

    MAXIMIZE = "max"
    MINIMIZE = "min"


@dataclass(frozen=True)
class Lin:
    """``sum coef[i] * column[idx[i]] + constant``; ``idx`` sorted and free of repeats."""

    idx: IntArray
    coef: FloatArray
    constant: float = 0.0

    @staticmethod
    def of(
        cols: IntArray, coef: FloatArray, mask: npt.NDArray[np.bool_] | None = None, constant: float = 0.0
    ) -> Lin:
        """The form ``sum coef_j x_cols[j]`` over ``mask`` (zero coefficients dropped)."""
        coef = np.asarray(coef, dtype=np.float64)
        keep = coef != 0 if mask is None else (coef != 0) & mask
        return Lin._merged(np.asarray(cols, dtype=np.int64)[keep], coef[keep], constant)

    @staticmethod
    def zero(constant: float = 0.0) -> Lin:
        """A constant expression without terms."""
        return Lin(np.empty(0, dtype=np.int64), np.empty(0), float(constant))

    @staticmethod
    def _merged(idx: IntArray, coef: FloatArray, constant: float) -> Lin:
        if len(idx) and np.any(np.diff(idx) <= 0):
            idx, inverse = np.unique(idx, return_inverse=True)
            coef = np.bincount(inverse, weights=coef, minlength=len(idx)).astype(np.float64)
            keep = coef != 0
            idx, coef = idx[keep], coef[keep]
        return Lin(idx.astype(np.int64), coef.astype(np.float64), float(constant))

    @staticmethod
    def total(forms: Iterable[Lin], weights: Iterable[float] | None = None) -> Lin:
        """``sum w_k form_k`` (repeated columns are added up)."""
        forms = list(forms)
        ws = [1.0] * len(forms) if weights is None else list(weights)
        picked = [(f, w) for f, w in zip(forms, ws, strict=True) if w != 0]
        if not picked:
            return Lin.zero()
        idx = np.concatenate([f.idx for f, _ in picked])
        coef = np.concatenate([f.coef * w for f, w in picked])
        order = np.argsort(idx, kind="stable")
        return Lin._merged(idx[order], coef[order], sum(f.constant * w for f, w in picked))

    def __add__(self, other: Lin) -> Lin:
        return Lin.total([self, other])

    def value(self, x: FloatArray) -> float:
        """The form's value at column values ``x``."""
        return float(np.dot(self.coef, x[self.idx])) + self.constant

    def dense(self, n: int) -> FloatArray:
        """Coefficients as a dense vector over ``n`` columns (the constant left out)."""
        out = np.zeros(n)
        out[self.idx] = self.coef
        return out

    def __len__(self) -> int:
        return len(self.idx)
