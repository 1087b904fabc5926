"""Read a CSV file against a column spec, with one clear error per problem."""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.errors import InputError


@dataclass(frozen=True)
class Check:
    """A condition on a number: ``ok`` works on a float or a whole numpy array."""

    ok: Callable[[Any], Any]
    message: str

    def __call__(self, v: float) -> str | None:
        return None if self.ok(v) else self.message


positive = Check(lambda v: v > 0, "must be > 0")
non_negative = Check(lambda v: v >= 0, "must be >= 0")
fraction_open_closed = Check(lambda v: (v > 0) & (v <= 1), "must be in (0, 1]")
fraction_closed_open = Check(lambda v: (v >= 0) & (v < 1), "must be in [0, 1)")
at_least_one = Check(lambda v: v >= 1, "must be >= 1")


@dataclass(frozen=True)
class Column:
    """One CSV column: ``kind`` is str, float, int, bool or a tuple of allowed values."""

    name: str
    kind: object = "str"
    required: bool = True        # the column must be present
    may_be_empty: bool = False   # a cell may be blank (becomes ``default``)
    check: Check | None = None
    default: object = None


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _cell(col: Column, raw: str, where: dict) -> object:
    text = raw.strip()
    if text == "":
        if col.may_be_empty:
            return col.default
        raise InputError("is empty; a value is required", **where)
    if isinstance(col.kind, tuple):
        if text not in col.kind:
            raise InputError(f"{text!r} is not one of {', '.join(col.kind)}{suggest(text, col.kind)}", **where)
        return text
    if col.kind == "str":
        return text
    if col.kind == "bool":
        low = text.lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        raise InputError(f"expected true or false, got {text!r}", **where)
    try:
        value = float(text.replace(",", "")) if col.kind in ("float", "int") else None
    except ValueError:
        raise InputError(f"expected a number, got {text!r}", **where) from None
    assert value is not None
    if not math.isfinite(value):
        raise InputError(f"expected a finite number, got {text!r}", **where)
    if col.kind == "int":
        if value != int(value):
            raise InputError(f"expected a whole number, got {text!r}", **where)
        value = int(value)
    if col.check is not None and (problem := col.check(value)):
        raise InputError(f"{problem}, got {text}", **where)
    return value


def _header(path: Path) -> list[str]:
    """The header row as written (pandas renames a repeated column to ``name.1``)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f), [])


def _fast_column(col: Column, text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Convert a whole column at once; cells that may be wrong are flagged for :func:`_cell`."""
    if isinstance(col.kind, tuple):
        return text.astype(object), ~text.isin(col.kind).to_numpy()
    if col.kind == "str":
        return text.astype(object), (text == "").to_numpy()
    if col.kind == "bool":
        low = text.str.lower()
        values = low.map({"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False})
        return values.astype(object), values.isna().to_numpy()
    nums = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype(float)
    arr = nums.to_numpy()
    suspect = ~np.isfinite(arr)
    if col.kind == "int":
        suspect |= np.where(np.isfinite(arr), arr != np.floor(np.nan_to_num(arr)), True)
    if col.check is not None:
        with np.errstate(invalid="ignore"):
            suspect |= ~np.asarray(col.check.ok(arr), dtype=bool)
    if col.kind == "int":
        return pd.Series([int(v) if np.isfinite(v) else None for v in arr], dtype=object), suspect
    return (nums.astype(object) if col.may_be_empty else nums), suspect


def read_table(path: Path, columns: list[Column], extra_ok: tuple[str, ...] = (),
               collect: list[InputError] | None = None, all_keys: set[str] | None = None,
               allow_empty: bool = False) -> pd.DataFrame:
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
    if not path.is_file():
        raise InputError("file not found", file=label)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError("file is empty; expected a header row and data rows", file=label) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({str(exc).strip().splitlines()[0]})", file=label) from None
    header = _header(path)
    df.columns = [str(c).strip() for c in header] if len(header) == len(df.columns) else \
        [str(c).strip() for c in df.columns]
    known = {c.name for c in columns} | set(extra_ok)

    def fail(err: InputError) -> None:
        if collect is None:
            raise err
        collect.append(err)

    seen = set()
    for name in df.columns:
        if name in seen:
            fail(InputError("appears twice in the header", file=label, column=name))
        seen.add(name)
        if name not in known:
            fail(InputError(f"unknown column{suggest(name, known)}; expected "
                            f"{', '.join(c.name for c in columns)}", file=label, column=name))
    missing = [c.name for c in columns if c.required and c.name not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", file=label)
    if df.empty and not allow_empty:
        raise InputError("has a header but no data rows", file=label)
    df = df.loc[:, ~df.columns.duplicated()]
    if all_keys is not None:
        # every row's key, bad rows too: references to a bad row are not errors of their own
        all_keys.update(df[columns[0].name].str.strip())
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
        for i in np.flatnonzero(suspect):
            try:
                values.iat[i] = _cell(col, text.iat[i], {"file": label, "row": i + 2, "column": col.name})
            except InputError as err:
                problems.append((i, j, err))
                bad[i] = True
        data[col.name] = values
    for _, _, err in sorted(problems, key=lambda p: (p[0], p[1])):
        fail(err)
    for name in extra_ok:
        if name in df.columns:
            data[name] = df[name].str.strip().reset_index(drop=True)
    data["_row"] = pd.Series(np.arange(n) + 2)
    out = pd.DataFrame(data)
    return out[~bad].reset_index(drop=True)
