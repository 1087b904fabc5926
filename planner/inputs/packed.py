"""A text column packed into one UTF-8 buffer: a few bytes a row where a Python string costs 60.

A large ``offers.csv`` may give every offer a channel of its own (millions of distinct names).
As Python strings each name costs its length plus about 57 bytes; packed, it costs its length
plus an 8-byte offset. :class:`PackedText` is a pandas extension array: a column of it reads as
strings (``rec["channel"]``, ``set(...)``, ``isin``, ``==``), and a value is decoded only when it
is read.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype

#: rows gathered at a time by ``take``: byte positions are 8 bytes each, so never all at once
TAKE_ROWS = 65_536


@register_extension_dtype
class PackedTextDtype(ExtensionDtype):
    """The dtype of :class:`PackedText`: text, missing as None."""

    name = "packed-text"
    type = str  # noqa: A003 - pandas' name for the scalar type
    kind = "O"
    na_value = None

    @classmethod
    def construct_array_type(cls) -> builtins.type[PackedText]:
        """The array class of this dtype."""
        return PackedText


class PackedText(ExtensionArray):
    """Texts as one ``uint8`` buffer and ``int64`` offsets (row ``i`` is ``data[offsets[i]:offsets[i+1]]``)."""

    def __init__(
        self, data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], missing: npt.NDArray[np.bool_]
    ):
        self._data, self._offsets, self._missing = data, offsets, missing

    # construction -------------------------------------------------------------------------
    @classmethod
    def of(cls, texts: Sequence[object] | npt.NDArray[Any]) -> PackedText:
        """Pack texts (None or NaN for missing)."""
        missing = np.fromiter(
            (t is None or (isinstance(t, float) and t != t) for t in texts), bool, len(texts)
        )
        encoded = [
            b"" if m else str(t).encode("utf-8", "surrogatepass") for t, m in zip(texts, missing, strict=True)
        ]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
        return cls(data, offsets, missing)

    @classmethod
    def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> PackedText:
        return cls.of(list(scalars))

    @classmethod
    def _from_factorized(cls, values: Any, original: Any) -> PackedText:
        return cls.of(list(values))

    @classmethod
    def _concat_same_type(cls, to_concat: Sequence[PackedText]) -> PackedText:
        parts = list(to_concat)
        if not parts:
            return cls.of([])
        sizes = [int(p._offsets[-1] - p._offsets[0]) for p in parts]
        shifts = np.cumsum([0, *sizes[:-1]])
        offsets = np.concatenate(
            [np.zeros(1, np.int64)]
            + [p._offsets[1:] - p._offsets[0] + shift for p, shift in zip(parts, shifts, strict=True)]
        )
        return cls(
            np.concatenate([p._data[p._offsets[0] : p._offsets[-1]] for p in parts]),
            offsets,
            np.concatenate([p._missing for p in parts]),
        )

    # the array protocol -------------------------------------------------------------------
    @property
    def dtype(self) -> PackedTextDtype:
        """The column's dtype."""
        return PackedTextDtype()

    def __len__(self) -> int:
        return len(self._missing)

    @property
    def nbytes(self) -> int:
        """Bytes held: the buffer, the offsets and the missing flags."""
        return int(self._data.nbytes + self._offsets.nbytes + self._missing.nbytes)

    def _text(self, i: int) -> str | None:
        if self._missing[i]:
            return None
        return self._data[self._offsets[i] : self._offsets[i + 1]].tobytes().decode("utf-8", "surrogatepass")

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, np.integer)):
            i = int(item)
            if i < 0:
                i += len(self)
            if not 0 <= i < len(self):
                raise IndexError(f"index {item} is out of bounds for a column of {len(self)}")
            return self._text(i)
        if isinstance(item, slice):
            start, stop, step = item.indices(len(self))
            if step == 1:  # a view: the same buffer, a window of the offsets
                stop = max(start, stop)
                return PackedText(self._data, self._offsets[start : stop + 1], self._missing[start:stop])
            return self.take(np.arange(start, stop, step))
        item = pd.api.indexers.check_array_indexer(self, item)
        if item.dtype == bool:
            return self.take(np.flatnonzero(item))
        return self.take(item)

    def __iter__(self) -> Iterator[str | None]:
        for i in range(len(self)):
            yield self._text(i)

    def isna(self) -> npt.NDArray[np.bool_]:
        """Which rows are missing."""
        return self._missing.copy()

    def copy(self) -> PackedText:
        """A copy that owns its buffer."""
        return PackedText._concat_same_type([self])

    def view(self, dtype: Any = None) -> Any:
        """The same texts over the same buffer."""
        if dtype is not None:
            raise TypeError("a packed text column has no other view")
        return PackedText(self._data, self._offsets, self._missing)

    def take(self, indices: Any, *, allow_fill: bool = False, fill_value: Any = None) -> PackedText:
        """Rows by position; with ``allow_fill``, -1 gives a missing value."""
        idx = np.asarray(indices, dtype=np.int64)
        fill = np.zeros(len(idx), dtype=bool)
        if allow_fill:
            if fill_value is not None and not (isinstance(fill_value, float) and fill_value != fill_value):
                raise ValueError("a packed text column fills with missing values only")
            if (idx < -1).any():
                raise ValueError("only -1 may stand for a missing value")
            fill = idx == -1
        else:
            idx = np.where(idx < 0, idx + len(self), idx)
        if ((idx[~fill] < 0) | (idx[~fill] >= len(self))).any():
            raise IndexError(f"index out of bounds for a column of {len(self)}")
        if not len(self):
            return PackedText(
                np.zeros(0, np.uint8), np.zeros(len(idx) + 1, np.int64), np.ones(len(idx), bool)
            )
        idx = np.where(fill, 0, idx)
        pieces = [
            self._gather(idx[i : i + TAKE_ROWS], fill[i : i + TAKE_ROWS])
            for i in range(0, len(idx), TAKE_ROWS)
        ]
        return PackedText._concat_same_type(pieces) if len(pieces) != 1 else pieces[0]

    def _gather(self, idx: npt.NDArray[np.int64], fill: npt.NDArray[np.bool_]) -> PackedText:
        """Rows ``idx`` (missing where ``fill``) with their bytes copied into a buffer of their own."""
        starts, ends = self._offsets[idx], self._offsets[idx + 1]
        lengths = np.where(fill, 0, ends - starts)
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        positions = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
        return PackedText(self._data[positions], offsets, self._missing[idx] | fill)

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        out = np.empty(len(self), dtype=object)
        for i in range(len(self)):
            out[i] = self._text(i)
        return out if dtype is None or np.dtype(dtype) == np.dtype(object) else out.astype(dtype)

    def _values_for_factorize(self) -> tuple[npt.NDArray[Any], Any]:
        return np.asarray(self), None

    def __eq__(self, other: Any) -> Any:
        if isinstance(other, (pd.Series, pd.Index, pd.DataFrame)):
            return NotImplemented
        values = np.asarray(self)
        if isinstance(other, str):
            return np.fromiter((v == other for v in values), bool, len(values))
        return values == np.asarray(other, dtype=object)

    def __ne__(self, other: Any) -> Any:
        same = self.__eq__(other)
        return same if same is NotImplemented else ~cast(npt.NDArray[np.bool_], same)
