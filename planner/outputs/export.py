"""Writers for plans: CSV and JSON text with formula-safe cells, and ``--out`` files by suffix."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.inputs.fileio import check_output, write_text
from planner.plans.results import PURCHASE_COLUMNS, Plan

SUFFIXES = (".xlsx", ".csv", ".json")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: a formula trigger at the start of a field or after any separator a spreadsheet may split on
#: (``x;=1+5;`` is a formula when the file is opened with ``;`` as the separator: OWASP's example)
_FORMULA_ANYWHERE = re.compile(r"(?:^|[,;\t|])\s*[=+\-@\r]")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula gets a leading ``'`` (OWASP CSV injection).

    A missing value (None, NaN) is an empty cell, never the text ``nan``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and (value.startswith(_FORMULA_START) or _FORMULA_ANYWHERE.search(value)):
        return "'" + value
    return value


def schedule_csv(plan: Plan) -> str:
    """The purchase schedule as CSV text: every text field quoted, numbers bare, money to the cent."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(PURCHASE_COLUMNS)
    for rec in plan.purchases.to_dict("records"):
        row = []
        for col in PURCHASE_COLUMNS:
            v = rec[col]
            if col.endswith("_usd"):
                v = round(float(v), 2)
            elif col == "license_rules":
                v = str(v).replace(",", ";")
            elif col == "term_quarters" and v is not None and not pd.isna(v):
                v = int(v)
            row.append(safe_cell(v))
        writer.writerow(row)
    return buf.getvalue()


def frame_csv(df: pd.DataFrame) -> str:
    """Any result table as CSV text: text quoted and formula-safe, numbers bare."""
    return str(df.map(safe_cell).to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC))


def plan_json(plan: Plan) -> str:
    """The plan as the contract's JSON document, indented, with a final newline."""
    return json.dumps(plan.to_dict(), indent=2) + "\n"


def check_out(path: Path, allowed: tuple[str, ...] = SUFFIXES) -> None:
    """Refuse an unknown suffix or a missing folder before any work is done."""
    if path.suffix.lower() not in allowed:
        raise InputError(
            f"unknown output type {path.suffix or '(none)'!r}; use {', '.join(allowed)}", file=str(path)
        )
    check_output(path)


def write_plan(plan: Plan, path: Path, explain: dict[str, pd.DataFrame] | None = None) -> None:
    """Write ``plan`` to ``path`` by its suffix, atomically."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from planner.outputs.workbook import write_plan_workbook

        write_plan_workbook(plan, path, explain)
    elif suffix == ".csv":
        write_text(path, schedule_csv(plan))
    else:
        write_text(path, plan_json(plan))
