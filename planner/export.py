"""Writers for plans: CSV text with formula-safe cells."""

from __future__ import annotations

import csv
import io

from planner.results import PURCHASE_COLUMNS, Plan

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula gets a leading ``'`` (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def schedule_csv(plan: Plan) -> str:
    """The purchase schedule as CSV text (money to the cent)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PURCHASE_COLUMNS)
    for rec in plan.purchases.to_dict("records"):
        row = []
        for col in PURCHASE_COLUMNS:
            v = rec[col]
            if col.endswith("_usd"):
                v = f"{float(v):.2f}"
            row.append(safe_cell(v))
        writer.writerow(row)
    return buf.getvalue()


def frame_csv(df) -> str:
    """Any result table as CSV text, formula-safe."""
    return df.map(safe_cell).to_csv(index=False, lineterminator="\n")
