"""Read a CSV file against a column spec, with one clear error per problem."""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.errors import InputError

Check = Callable[[float], str | None]


def positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def fraction_open_closed(v: float) -> str | None:
    return None if 0 < v <= 1 else "must be in (0, 1]"


def fraction_closed_open(v: float) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


def at_least_one(v: float) -> str | None:
    return None if v >= 1 else "must be >= 1"


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


def read_table(path: Path, columns: list[Column], extra_ok: tuple[str, ...] = (),
               collect: list[InputError] | None = None) -> pd.DataFrame:
    """Read ``path`` with every cell checked against ``columns``.

    Args:
        path: CSV file (UTF-8, a BOM and CRLF line ends are fine).
        columns: the spec; optional columns that are absent get their default.
        extra_ok: further columns that are allowed and kept as text.
        collect: when given, problems are appended here and reading goes on
            (bad rows are dropped); otherwise the first problem is raised.
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
    if df.empty:
        raise InputError("has a header but no data rows", file=label)
    df = df.loc[:, ~df.columns.duplicated()]
    records = []
    for i, raw in enumerate(df.to_dict("records")):
        row, ok = {}, True
        for col in columns:
            where = {"file": label, "row": i + 2, "column": col.name}
            try:
                row[col.name] = _cell(col, raw[col.name], where) if col.name in raw else col.default
            except InputError as err:
                ok = False
                fail(err)
        for name in extra_ok:
            if name in raw:
                row[name] = raw[name].strip()
        row["_row"] = i + 2
        if ok:
            records.append(row)
    out = pd.DataFrame.from_records(records, columns=[c.name for c in columns]
                                    + [n for n in extra_ok if n in df.columns] + ["_row"])
    # values of the first column in every row, bad rows too: references to them are not errors
    out.attrs["keys"] = {str(v).strip() for v in df[columns[0].name]}
    return out
