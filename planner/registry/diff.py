"""What changed between two plan versions: order lines added, removed or changed, and the totals.

Read from the stored plan JSONs alone (each figure as its version reported it), so a diff of two
versions is the same whatever gpuplan reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from planner.inputs.tables import records
from planner.registry.replan import line_key
from planner.registry.store import Version, plain, quarter_key

if TYPE_CHECKING:
    from pathlib import Path

    from planner.registry.core import Registry

#: the columns of the order-line changes, in order
LINE_COLUMNS = [
    "change",
    "order_period",
    "site",
    "country",
    "sku",
    "channel",
    "kind",
    "term_quarters",
    "chips_before",
    "chips_after",
    "cost_before_usd",
    "cost_after_usd",
    "firm",
]
#: the totals compared, with their labels (the glossary's names)
TOTALS = {
    "effective_pflops": "Effective PFLOPS",
    "chips": "Chips bought",
    "leased_chips": "Chips leased",
    "capex_usd": "Capex (USD)",
    "lease_usd": "Lease commitments (USD)",
    "opex_usd": "Electricity (USD)",
    "cost_usd": "Discounted cost (USD)",
    "budget_usd": "Budget (budget currency)",
}


@dataclass
class Diff:
    """Two versions side by side: their order lines and their totals."""

    before: Version
    after: Version
    lines: pd.DataFrame  # LINE_COLUMNS, one row per line added, removed or changed
    totals: pd.DataFrame  # metric, label, before, after, change

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON values."""
        return {
            "before": self.before.id,
            "after": self.after.id,
            "orders": [plain(r) for r in records(self.lines)],
            "totals": [plain(r) for r in records(self.totals)],
        }

    def write_workbook(self, path: Path) -> None:
        """A workbook with a Totals sheet and an Orders sheet, print ready like the plan workbooks."""
        from planner.inputs.fileio import atomic_path
        from planner.outputs.workbook import COUNT, Book, column_format, readable

        with atomic_path(path) as tmp:
            book = Book(tmp)
            title = f"Version {self.before.id} ({self.before.scenario_name}) to {self.after.id} ({self.after.scenario_name})"
            rows: list[tuple[str, Any, str | None]] = [("Versions", title, None)]
            book.pairs("Summary", rows + _summary(self), title=title)
            ws = book.sheet("Totals")
            for j, head in enumerate(("figure", "before", "after", "change")):
                ws.write_string(0, j, head, book.head)
            widths = [10, 14, 14, 14]
            for i, rec in enumerate(records(self.totals), start=1):
                spec = column_format(rec["metric"])  # each figure in its own unit
                for j, value in enumerate((rec["label"], rec["before"], rec["after"], rec["change"])):
                    widths[j] = max(widths[j], book.cell(ws, i, j, value, None if j == 0 else spec))
            for j, w in enumerate(widths):
                ws.set_column(j, j, w)
            ws.repeat_rows(0)
            ws.fit_to_pages(1, 1)
            orders = self.lines.assign(firm=self.lines["firm"].map({True: "firm", False: ""}))
            book.frame(
                "Orders",
                orders,
                formats={"chips_before": COUNT, "chips_after": COUNT},
                headers={str(c): readable(str(c)) for c in orders.columns},
            )
            book.close()


def _summary(d: Diff) -> list[tuple[str, Any, str | None]]:
    counts = d.lines["change"].value_counts()
    firm = int(d.lines["firm"].sum()) if len(d.lines) else 0
    return [
        ("Lines added", int(counts.get("added", 0)), None),
        ("Lines removed", int(counts.get("removed", 0)), None),
        ("Lines changed", int(counts.get("changed", 0)), None),
        ("Of them firm orders", firm, None),
    ]


def _lines(plan: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for p in plan.get("purchases", []):
        key = line_key(p)
        if key in out:
            out[key] = out[key] | {
                "chips": out[key]["chips"] + p["chips"],
                "cost_usd": out[key]["cost_usd"] + p["cost_usd"],
            }
        else:
            out[key] = dict(p)
    return out


def budget(registry: Registry, version: Version) -> float | None:
    """The version's total budget in its budget currency, as its scenario gives it (None: none given)."""
    from planner.registry.inputs import load_inputs

    scenario, _, _ = load_inputs(registry.inputs(version.id))
    return scenario.budget.total_usd


def diff(registry: Registry, a: int, b: int) -> Diff:
    """What changed from version ``a`` to ``b``; lines that a lock of either (or of ``b``'s parent) made firm are marked."""
    before, after = registry.version(a), registry.version(b)
    old, new = _lines(before.plan), _lines(after.plan)
    firm: set[tuple[Any, ...]] = set()
    for v in {a, b, *([after.parent_id] if after.parent_id is not None else [])}:
        firm |= {line_key(r) for r in records(registry.firm_orders(v))}
    rows = []
    for key in sorted(set(old) | set(new), key=lambda k: (quarter_key(k[0]), *[str(x) for x in k[1:]])):
        x, y = old.get(key), new.get(key)
        if x is not None and y is not None and x["chips"] == y["chips"] and x["cost_usd"] == y["cost_usd"]:
            continue
        rec = y or x
        assert rec is not None
        rows.append(
            {
                "change": "added" if x is None else "removed" if y is None else "changed",
                "order_period": key[0],
                "site": key[4],
                "country": key[5],
                "sku": key[1],
                "channel": key[2],
                "kind": key[3],
                "term_quarters": key[6],
                "chips_before": 0 if x is None else int(x["chips"]),
                "chips_after": 0 if y is None else int(y["chips"]),
                "cost_before_usd": 0.0 if x is None else float(x["cost_usd"]),
                "cost_after_usd": 0.0 if y is None else float(y["cost_usd"]),
                "firm": key in firm,
            }
        )
    lines = pd.DataFrame(rows, columns=LINE_COLUMNS)
    lines["term_quarters"] = lines["term_quarters"].astype("Int64")
    t0, t1 = before.plan.get("totals", {}), after.plan.get("totals", {})
    t0 = t0 | {"budget_usd": budget(registry, before)}
    t1 = t1 | {"budget_usd": budget(registry, after)}
    totals = []
    for metric, label in TOTALS.items():
        if metric not in t0 and metric not in t1:
            continue
        u, v = t0.get(metric), t1.get(metric)
        totals.append(
            {
                "metric": metric,
                "label": label,
                "before": u,
                "after": v,
                "change": None if u is None or v is None else v - u,
            }
        )
    return Diff(
        before, after, lines, pd.DataFrame(totals, columns=["metric", "label", "before", "after", "change"])
    )
