"""Read a CSV file against a column spec, with one clear error per problem."""

from __future__ import annotations

import csv
import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from planner.errors import InputError
from planner.inputs.fileio import check_input
from planner.inputs.packed import PackedText
from planner.inputs.units import MAX_AMOUNT, MAX_NAME, parse_number


@dataclass(frozen=True)
class Check:
    """A condition on a number: ``ok`` works on a float or a whole numpy array."""

    ok: Callable[[Any], Any]
    message: str

    def __call__(self, v: float) -> str | None:
        """The message when the value fails the check, else None."""
        return None if self.ok(v) else self.message


positive = Check(lambda v: v > 0, "must be > 0")
non_negative = Check(lambda v: v >= 0, "must be >= 0")
fraction_open_closed = Check(lambda v: (v > 0) & (v <= 1), "must be in (0, 1]")
fraction_closed_open = Check(lambda v: (v >= 0) & (v < 1), "must be in [0, 1)")
at_least_one = Check(lambda v: v >= 1, "must be >= 1")
#: quarter counts (lead times, lease terms, licence lags): a century at most keeps every date a real one
MAX_QUARTERS = 400
quarters_ok = Check(
    lambda v: (v >= 0) & (v <= MAX_QUARTERS), f"must be a count of quarters from 0 to {MAX_QUARTERS}"
)
term_ok = Check(
    lambda v: (v >= 1) & (v <= MAX_QUARTERS), f"must be a count of quarters from 1 to {MAX_QUARTERS}"
)


@dataclass(frozen=True)
class Column:
    """One CSV column: ``kind`` is str, float, int, bool or a tuple of allowed values."""

    name: str
    kind: object = "str"
    required: bool = True  # the column must be present
    may_be_empty: bool = False  # a cell may be blank (becomes ``default``)
    check: Check | None = None
    default: object = None
    repeats: bool = False  # few distinct values however many rows (a SKU, a quarter): kept as a category
    narrow: bool = False  # whole numbers within 32 bits (a count of quarters): kept in 4 bytes
    packed: bool = False  # text that may differ in every row (a channel): packed in one buffer


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table with text column names, as dictionaries."""
    return cast(list[dict[str, Any]], df.to_dict("records"))


def suggest(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean' hint for a misspelt word, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _cell(col: Column, raw: str, where: dict[str, Any]) -> Any:
    text = raw.strip()
    if text == "":
        if col.may_be_empty:
            return col.default
        raise InputError("is empty; a value is required", **where)
    if isinstance(col.kind, tuple):
        if text not in col.kind:
            raise InputError(
                f"{text!r} is not one of {', '.join(col.kind)}{suggest(text, col.kind)}", **where
            )
        return text
    if col.kind == "str":
        if len(text) > MAX_NAME:
            raise InputError(f"is {len(text)} characters long; names may have at most {MAX_NAME}", **where)
        return text
    if col.kind == "bool":
        return _cell_bool(text, where)
    return _cell_number(col, text, where)


def _cell_bool(text: str, where: dict[str, Any]) -> bool:
    low = text.lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    raise InputError(f"expected true or false, got {text!r}", **where)


def _cell_number(col: Column, text: str, where: dict[str, Any]) -> float | int:
    try:
        value = parse_number(text)
    except ValueError as exc:
        raise InputError(f"{exc}, got {text!r}", **where) from None
    if col.kind == "int":
        if value != int(value):
            raise InputError(f"expected a whole number, got {text!r}", **where)
        value = int(value)
    if col.check is not None and (problem := col.check(value)):
        raise InputError(f"{problem}, got {text}", **where)
    return value


def _fast_column(col: Column, text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Convert a whole column at once; cells that may be wrong are flagged for :func:`_cell`."""
    if isinstance(col.kind, tuple):
        return text.astype(object), ~text.isin(col.kind).to_numpy()
    if col.kind == "str":
        return text.astype(object), ((text == "") | (text.str.len() > MAX_NAME)).to_numpy()
    if col.kind == "bool":
        low = text.str.lower()
        values = low.map({"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False})
        return values.astype(object), values.isna().to_numpy()
    # only plain ASCII numbers are converted here; anything else (digit groups, decimal commas,
    # other scripts' digits, NaN, infinity, huge values) goes through the strict per-cell parser
    plain = text.str.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fillna(False)
    plain_arr = plain.to_numpy(dtype=bool)
    nums = pd.to_numeric(text.where(plain_arr, None), errors="coerce").astype(float)
    arr = nums.to_numpy()
    with np.errstate(invalid="ignore"):
        suspect = ~plain_arr | ~np.isfinite(arr) | (np.abs(arr) > MAX_AMOUNT)
    if col.kind == "int":
        suspect |= np.where(np.isfinite(arr), arr != np.floor(np.nan_to_num(arr)), True)
    if col.check is not None:
        with np.errstate(invalid="ignore"):
            suspect |= ~np.asarray(col.check.ok(arr), dtype=bool)
    if col.may_be_empty:
        # an empty cell is its column's default, whole columns at a time (a large file may leave
        # millions empty): only a default that is not a number (None) needs an object column
        empty = (text == "").to_numpy()
        suspect &= ~empty
        if col.default is not None:
            arr = np.where(empty, float(col.default), arr)  # type: ignore[arg-type]
    else:
        empty = np.zeros(len(arr), dtype=bool)
    if col.may_be_empty and col.default is None:
        column = [
            None if e else (int(v) if col.kind == "int" else float(v)) if np.isfinite(v) else None
            for v, e in zip(arr, empty, strict=True)
        ]
        return pd.Series(column, dtype=object), suspect
    if col.kind == "int":
        # suspect cells (out of range, not whole) are replaced cell by cell after this: 0 meanwhile
        return pd.Series(np.where(suspect, 0, np.nan_to_num(arr)).astype(np.int64)), suspect
    return pd.Series(arr, dtype=np.float64), suspect


def _read_header(path: Path, label: str) -> list[str]:
    """The header row as written (pandas would rename a repeated column to ``name.1``)."""
    check_input(path, "a CSV file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f, skipinitialspace=True), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(
            f"not a readable CSV file ({str(exc).strip().splitlines()[0]})", file=label
        ) from None
    if not any(h.strip() for h in header):
        raise InputError("file is empty; expected a header row and data rows", file=label)
    return [h.strip() for h in header]


CHUNK_ROWS = 50_000  # rows converted at a time: a large file is never all text in memory


def _text_chunks(path: Path, label: str, header: list[str]) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(first row index, cells as text)`` per chunk, every row the header's width."""
    try:
        with pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
            index_col=False,
            chunksize=CHUNK_ROWS,
        ) as reader:
            start = 0
            for chunk in reader:
                chunk.columns = header
                yield start, chunk
                start += len(chunk)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise _unreadable(exc, label) from None


def _unreadable(exc: Exception, label: str) -> InputError:
    return InputError(f"not a readable CSV file ({str(exc).strip().splitlines()[0]})", file=label)


def _check_widths(path: Path, label: str, width: int) -> int:
    """Every data row must have exactly as many fields as the header (else columns would shift).

    Returns the number of data rows at most (blank lines included).
    """
    rows = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, skipinitialspace=True)
            next(reader, None)
            for row in reader:
                rows += 1
                if len(row) != width and any(cell.strip() for cell in row):
                    raise InputError(
                        f"has {len(row)} fields but the header has {width}; "
                        "quote values that contain commas and give every column a value (empty is fine)",
                        file=label,
                        row=reader.line_num,
                    )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _unreadable(exc, label) from None
    return rows


def _convert(
    df: pd.DataFrame, columns: list[Column], label: str, first_row: int = 2
) -> tuple[dict[str, pd.Series], np.ndarray, list[InputError]]:
    """Typed columns, the rows with a bad cell, and the problems in row then column order."""
    n = len(df)
    data: dict[str, pd.Series] = {}
    bad = np.zeros(n, dtype=bool)
    problems: list[tuple[int, int, InputError]] = []
    for j, col in enumerate(columns):
        if col.name not in df.columns:
            data[col.name] = pd.Series([col.default] * n, dtype=object)
            continue
        text = df[col.name].str.strip().reset_index(drop=True)
        values, suspect = _fast_column(col, text)
        for i in np.flatnonzero(suspect).tolist():
            try:
                values.iat[i] = _cell(
                    col, str(text.iat[i]), {"file": label, "row": i + first_row, "column": col.name}
                )
            except InputError as err:
                problems.append((i, j, err))
                bad[i] = True
        data[col.name] = values
    return data, bad, [err for _, _, err in sorted(problems, key=lambda p: (p[0], p[1]))]


def _header_problems(
    header: list[str], columns: list[Column], known: set[str], label: str
) -> list[InputError]:
    """Columns named twice and columns the spec does not know."""
    problems = []
    seen = set()
    for name in header:
        if name in seen:
            problems.append(InputError("appears twice in the header", file=label, column=name))
        seen.add(name)
        if name not in known:
            expected = ", ".join(c.name for c in columns)
            message = f"unknown column{suggest(name, known)}; expected {expected}"
            problems.append(InputError(message, file=label, column=name))
    return problems


def read_table(
    path: Path,
    columns: list[Column],
    extra_ok: tuple[str, ...] = (),
    collect: list[InputError] | None = None,
    all_keys: set[str] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Read ``path`` with every cell checked against ``columns``.

    Args:
        path: CSV file (UTF-8, a BOM and CRLF line ends are fine).
        columns: the spec; optional columns that are absent get their default.
        extra_ok: further columns that are allowed and kept as text.
        collect: when given, problems are appended here and reading goes on
            (bad rows are dropped); otherwise the first problem is raised.
        all_keys: when given, receives the first column's value of every row, bad rows too.
        allow_empty: a header without data rows is a valid (empty) table.
    """
    label = str(path)
    header = _read_header(path, label)
    known = {c.name for c in columns} | set(extra_ok)

    def fail(err: InputError) -> None:
        if collect is None:
            raise err
        collect.append(err)

    for problem in _header_problems(header, columns, known, label):
        fail(problem)
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=label)
    spec = {c.name: c for c in columns}
    # every column is allocated once at the file's row count and filled chunk by chunk: the peak
    # is the table and one chunk, and no heap is left full of holes from joining parts
    capacity, text_bytes = _check_widths(path, label, len(header)), path.stat().st_size
    filled: dict[str, _Filled] = {}
    rows = 0
    for start, chunk in _text_chunks(path, label, header):
        rows += len(chunk)
        chunk = chunk.loc[:, ~chunk.columns.duplicated()].reset_index(drop=True)
        if all_keys is not None:
            # every row's key, bad rows too: references to a bad row are not errors of their own
            all_keys.update(chunk[columns[0].name].str.strip())
        data, bad, problems = _convert(chunk, columns, label, first_row=start + 2)
        for err in problems:
            fail(err)
        data |= {name: chunk[name].str.strip() for name in extra_ok if name in chunk.columns}
        data["_row"] = pd.Series(np.arange(len(chunk), dtype=np.int32) + np.int32(start + 2))
        del chunk
        for name, values in data.items():
            if name not in filled:
                filled[name] = _Filled(capacity, spec.get(name), text_bytes)
            filled[name].add(values.to_numpy()[~bad])
    if not rows and not allow_empty:
        raise InputError("has a header but no data rows", file=label)
    if not filled:
        return _empty_table(columns)
    return pd.DataFrame({name: column.whole() for name, column in filled.items()}, copy=False)


def _empty_table(columns: list[Column]) -> pd.DataFrame:
    empty = {
        c.name: pd.Series(
            pd.Categorical([]) if c.repeats else PackedText.of([]) if c.packed else pd.Series(dtype=object)
        )
        for c in columns
    }
    return pd.DataFrame(empty | {"_row": pd.Series(dtype=np.int32)})


def _fit(array: np.ndarray | None, used: int, more: int, size: int, dtype: Any) -> np.ndarray:
    """``array`` with room for ``more`` items after ``used`` (allocated at ``size`` first; doubled if short)."""
    if array is None:
        return np.empty(max(size, more), dtype=dtype)
    if used + more <= len(array):
        return array
    grown = np.empty(max(2 * len(array), used + more), dtype=array.dtype)  # never expected: rows are counted
    grown[:used] = array[:used]
    return grown


class _Filled:
    """One column of a table read in chunks, allocated once and kept compact as it fills.

    - text that repeats (``repeats``: SKUs, quarters, kinds): category codes;
    - text that may differ in every row (``packed``: a channel): one UTF-8 buffer, never more
      bytes than the file has (the pages not written are never resident);
    - whole numbers within 32 bits (``narrow``): 4 bytes, with a mask when a cell may be empty;
    - other text: one object per distinct value of a chunk; other numbers: numpy arrays.
    """

    def __init__(self, capacity: int, column: Column | None, text_bytes: int = 0) -> None:
        self.capacity, self.text_bytes = capacity, text_bytes
        self.column = column
        self.values: np.ndarray | None = None
        self.mask: np.ndarray | None = None  # narrow numbers: empty cells; packed text: missing
        self.data: np.ndarray | None = None  # packed text: the bytes
        self.size = self.used = 0
        self.codes: dict[object, int] | None = {} if column is not None and column.repeats else None

    def add(self, values: np.ndarray) -> None:
        """Append one chunk's values (bad rows already dropped)."""
        column = self.column
        n = len(values)
        if column is not None and column.packed:
            self._add_packed(values)
            return
        if column is not None and column.narrow:
            empty = np.fromiter((v is None for v in values), bool, n) if values.dtype == object else None
            if empty is not None:
                self.mask = _fit(self.mask, self.size, n, self.capacity, bool)
                self.mask[self.size : self.size + n] = empty
                values = np.where(empty, 0, values)
            values = values.astype(np.int32)
        elif values.dtype == object:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            if self.codes is None:
                shared = np.empty(len(uniques) + 1, dtype=object)  # code -1 (missing) -> None
                shared[: len(uniques)] = uniques
                values = shared[codes]
            else:
                known = self.codes
                index = [known.setdefault(u, len(known)) for u in uniques]
                values = np.array([*index, -1], dtype=np.int32)[codes]
        self.values = _fit(self.values, self.size, n, self.capacity, values.dtype)
        self.values[self.size : self.size + n] = values
        self.size += n

    def _add_packed(self, values: np.ndarray) -> None:
        chunk = PackedText.of(values)
        n, size = len(values), int(chunk._offsets[-1])
        self.values = _fit(self.values, self.size, n + 1, self.capacity + 1, np.int64)  # the offsets
        self.mask = _fit(self.mask, self.size, n, self.capacity, bool)
        self.data = _fit(self.data, self.used, size, self.text_bytes, np.uint8)
        if self.size == 0:
            self.values[0] = 0
        self.values[self.size + 1 : self.size + n + 1] = chunk._offsets[1:] + self.used
        self.mask[self.size : self.size + n] = chunk._missing
        self.data[self.used : self.used + size] = chunk._data
        self.size, self.used = self.size + n, self.used + size

    def whole(self) -> pd.Series | pd.Categorical | pd.api.extensions.ExtensionArray:
        """The whole column (a view of what was filled)."""
        assert self.values is not None
        values = self.values[: self.size]
        if self.data is not None and self.mask is not None:
            return PackedText(self.data[: self.used], self.values[: self.size + 1], self.mask[: self.size])
        if self.mask is not None:
            return pd.arrays.IntegerArray(values, self.mask[: self.size])
        if self.codes is None:
            return pd.Series(values, dtype=values.dtype, copy=False)
        return pd.Categorical.from_codes(values, categories=pd.Index(list(self.codes), dtype=object))
