"""Excel workbooks (XlsxWriter): real number formats, frozen headers, filters, native charts.

Text from inputs is always written as a string cell, never as a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import math
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from planner.fileio import atomic_path
from planner.results import Plan
from planner.units import parse_quarter, quarter_start

MONEY = '"$"#,##0.00'
BIG = "#,##0.0"
COUNT = "#,##0"
RATIO = "0.0%"


def gpuplan_version() -> str:
    try:
        return version("gpuplan")
    except PackageNotFoundError:
        return "unknown"


def column_format(name: str) -> str | None:
    """Number format from a column's unit suffix."""
    if name.endswith("_usd") or name.startswith("capex") or name.startswith("budget"):
        return MONEY
    if name in ("servers", "chips") or name.endswith("_chips") or name == "max_units":
        return COUNT
    if name.endswith("_share"):
        return RATIO
    return BIG


class Book:
    """A workbook being written: one method per kind of sheet."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                                  "strings_to_numbers": False, "nan_inf_to_errors": True})
        self.bold = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                        "valign": "top"})
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.formats: dict[str, Any] = {}

    def fmt(self, spec: str | None):
        if spec is None:
            return None
        if spec not in self.formats:
            self.formats[spec] = self.wb.add_format({"num_format": spec})
        return self.formats[spec]

    def cell(self, ws, row: int, col: int, value: Any, spec: str | None = None) -> int:
        """Write one cell; returns the width its text needs."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            ws.write_blank(row, col, None)
            return 2
        if isinstance(value, bool):
            ws.write_boolean(row, col, value)
            return 5
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, float(value), self.fmt(spec))
            return len(f"{value:,.2f}") + 2
        text = str(value)
        ws.write_string(row, col, text)
        return len(text) + 2

    def frame(self, name: str, df: pd.DataFrame, formats: dict[str, str | None] | None = None,
              index: bool = False):
        """A table sheet: header row frozen, autofilter, fitted widths, formats by column name."""
        ws = self.wb.add_worksheet(name)
        if index:
            df = df.reset_index()
        columns = [str(c) for c in df.columns]
        widths = [len(c) + 2 for c in columns]
        for j, c in enumerate(columns):
            ws.write_string(0, j, c, self.bold)
        specs = [(formats or {}).get(c, column_format(c)) for c in columns]
        for i, row in enumerate(df.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                if hasattr(value, "item"):
                    value = value.item()
                widths[j] = max(widths[j], self.cell(ws, i, j, value, specs[j]))
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(max(w, 8), 60))
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, max(len(df), 1), len(columns) - 1)
        return ws

    def pairs(self, name: str, rows: list[tuple[str, Any]], title: str | None = None):
        """A two-column key/value sheet."""
        ws = self.wb.add_worksheet(name)
        start = 0
        if title:
            ws.write_string(0, 0, title, self.title)
            start = 2
        ws.write_string(start, 0, "item", self.bold)
        ws.write_string(start, 1, "value", self.bold)
        width = [10, 10]
        for i, (k, v) in enumerate(rows, start=start + 1):
            width[0] = max(width[0], self.cell(ws, i, 0, k))
            width[1] = max(width[1], self.cell(ws, i, 1, v, MONEY if k.endswith("(USD)") else BIG))
        ws.set_column(0, 0, min(width[0], 60))
        ws.set_column(1, 1, min(width[1], 80))
        ws.freeze_panes(start + 1, 0)
        return ws

    def stacked_chart(self, ws, sheet: str, df: pd.DataFrame, title: str, y_title: str, anchor: str) -> None:
        """A native stacked column chart of the frame's columns (after the index column) over its rows."""
        if df.shape[1] <= 1 or df.empty:
            return
        chart = self.wb.add_chart({"type": "column", "subtype": "stacked"})
        n = len(df)
        for j in range(1, df.shape[1]):
            chart.add_series({"name": [sheet, 0, j], "categories": [sheet, 1, 0, n, 0],
                              "values": [sheet, 1, j, n, j]})
        chart.set_title({"name": title})
        chart.set_y_axis({"name": y_title, "num_format": "#,##0"})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 720, "height": 400})
        ws.insert_chart(anchor, chart)

    def close(self) -> None:
        self.wb.close()


def summary_rows(plan: Plan) -> list[tuple[str, Any]]:
    t = plan.totals
    rows: list[tuple[str, Any]] = [
        ("scenario", plan.scenario), ("status", plan.status), ("objective", plan.objective),
        ("capex (USD)", t["capex_usd"]), ("opex, electricity (USD)", t["opex_usd"]),
        ("effective PFLOPS at the last quarter", t["effective_pflops"]),
        ("memory at the last quarter (TB)", t["memory_tb"]), ("chips purchased", t["chips"]),
        ("capex per effective PFLOPS (USD)", t["capex_usd"] / t["effective_pflops"]
         if t["effective_pflops"] else None),
        ("solver", plan.solver), ("MIP relative gap", plan.mip_gap), ("solve time (s)", round(plan.seconds, 3)),
        ("gpuplan version", gpuplan_version()),
        ("written at (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
    ]
    if plan.message:
        rows.append(("message", plan.message))
    rows += [(f"sha256 of {path}", digest) for path, digest in plan.inputs.items()]
    for line in plan.limits:
        rows.append(("limit", line))
    return rows


def compliance_frame(plan: Plan) -> pd.DataFrame:
    """Status of every catalog chip at the destination on the first day of each quarter."""
    from planner import compliance

    data = plan.data
    assert data is not None
    rows = []
    for site in data.sites:
        for rec in data.catalog.chips.to_dict("records"):
            row = {"site": site.name, "country": site.country, "sku": rec["sku"], "model": rec["model"],
                   "category": rec["category"], "tpp": rec["tpp"], "pd": rec["pd"]}
            rules: list[str] = []
            for p in data.periods:
                v = compliance.chip_status(rec, site.country, quarter_start(parse_quarter(p)), data.catalog.compiled,
                                           data.headquarters)
                row[p] = v.status
                rules += [r for r in v.rule_ids if r not in rules]
            row["rules"] = ", ".join(rules)
            rows.append(row)
    return pd.DataFrame(rows)


def inputs_frame(plan: Plan) -> pd.DataFrame:
    """The scenario as read, one row per key path, with units spelled out."""
    data = plan.data
    assert data is not None
    units = {"total_usd": "USD", "per_period_usd": "USD", "pflops": "PFLOPS (effective, dense BF16)",
             "memory_tb": "TB", "pue": "ratio", "electricity_usd_per_kwh": "USD per kWh",
             "site_capacity_mw": "MW", "chips": "chips", "min": "share (0-1)", "max": "share (0-1)"}
    rows: list[dict[str, Any]] = []

    def walk(prefix: str, value: Any, unit: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v, units.get(str(k), unit))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v, unit)
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            rows.append({"key": prefix, "value": shown, "unit": unit})

    walk("", data.scenario.model_dump(mode="json", exclude_none=True))
    rows.append({"key": "catalog folder (resolved)", "value": str(data.catalog.folder), "unit": ""})
    return pd.DataFrame(rows, columns=["key", "value", "unit"])


def write_plan_workbook(plan: Plan, path: Path, explain: dict | None = None) -> None:
    """Summary, Schedule, Capacity, Spend, Compliance, Inputs (and Explain when given)."""
    data = plan.data
    assert data is not None
    with atomic_path(path) as tmp:
        book = Book(tmp)
        book.pairs("Summary", summary_rows(plan), title=f"gpuplan plan: {plan.scenario}")
        book.frame("Schedule", plan.purchases)
        capacity = plan.capacity_by("category") if plan.ok else pd.DataFrame(index=data.periods)
        capacity.columns = [f"{c}_pflops" for c in capacity.columns]
        if plan.ok:
            per = plan.periods.set_index("period")
            capacity["total_pflops"] = per["effective_pflops"]
            capacity["memory_tb"] = per["memory_tb"]
            capacity["power_mw"] = per["power_mw"]
            capacity["site_capacity_mw"] = per["site_capacity_mw"]
        capacity.index.name = "period"
        cap_frame = capacity.reset_index()
        ws = book.frame("Capacity", cap_frame)
        n_cat = len([c for c in cap_frame.columns if c.endswith("_pflops") and c != "total_pflops"])
        book.stacked_chart(ws, "Capacity", cap_frame.iloc[:, : n_cat + 1], "Effective PFLOPS by category",
                           "PFLOPS", f"{chr(ord('A') + min(len(cap_frame.columns) + 1, 20))}2")
        if plan.ok:
            by_vendor = plan.spend_by("vendor").add_prefix("vendor_").add_suffix("_usd")
            by_category = plan.spend_by("category").add_prefix("category_").add_suffix("_usd")
            spend = pd.concat([by_vendor, by_category], axis=1)
            per = plan.periods.set_index("period")
            spend["capex_total_usd"] = per["capex_usd"]
            if data.budget_per_period is not None:
                spend["budget_usd"] = data.budget_per_period
            spend["cumulative_spend_usd"] = per["cumulative_spend_usd"]
            spend["cumulative_budget_usd"] = per["cumulative_budget_usd"]
            spend_frame = spend.reset_index()
        else:
            spend_frame = pd.DataFrame({"period": data.periods})
        ws = book.frame("Spend", spend_frame)
        n_vendor = len(plan.spend_by("vendor").columns) if plan.ok else 0
        book.stacked_chart(ws, "Spend", spend_frame.iloc[:, : n_vendor + 1], "Capex by vendor", "USD",
                           f"{chr(ord('A') + min(len(spend_frame.columns) + 1, 20))}2")
        book.frame("Compliance", compliance_frame(plan), {"tpp": "#,##0", "pd": "0.00"})
        book.frame("Inputs", inputs_frame(plan), {"value": None})
        if explain is not None:
            from planner.explain import explain_frames

            for name, frame in explain_frames(explain).items():
                book.frame(name, frame)
        book.close()


def write_sweep_workbook(scenario: str, points: list[dict], path: Path) -> None:
    """One row per budget point, with a native line chart of compute against budget."""
    rows = []
    for p in points:
        rows.append({"total_usd": p["total_usd"], "status": p["status"], **{
            k: v for k, v in p["totals"].items()}, **{f"{c}_pflops": v for c, v in p["mix_pflops"].items()}})
    frame = pd.DataFrame(rows)
    with atomic_path(path) as tmp:
        book = Book(tmp)
        ws = book.frame("Sweep", frame)
        n = len(frame)
        if n:
            chart = book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
            col = list(frame.columns).index("effective_pflops")
            chart.add_series({"name": "effective PFLOPS", "categories": ["Sweep", 1, 0, n, 0],
                              "values": ["Sweep", 1, col, n, col]})
            chart.set_title({"name": f"{scenario}: effective PFLOPS by total budget"})
            chart.set_x_axis({"name": "total budget (USD)", "num_format": '"$"#,##0,,,"B"'})
            chart.set_y_axis({"name": "effective PFLOPS", "num_format": "#,##0"})
            chart.set_legend({"none": True})
            chart.set_size({"width": 720, "height": 400})
            ws.insert_chart(f"{chr(ord('A') + min(len(frame.columns) + 1, 20))}2", chart)
        book.close()


def write_compare_workbook(comparison, path: Path) -> None:
    """Comparison (metrics by scenario), Input differences, and each scenario's schedule."""
    with atomic_path(path) as tmp:
        book = Book(tmp)
        table = comparison.table.reset_index()
        book.frame("Comparison", table, {c: None for c in table.columns})
        book.frame("Input differences", comparison.differences, {c: None for c in comparison.differences.columns})
        used: set[str] = set()
        for plan in comparison.plans:
            name = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in plan.scenario)[:24] or "plan"
            base, k = name, 2
            while name in used:
                name, k = f"{base} {k}", k + 1
            used.add(name)
            book.frame(name, plan.purchases)
        book.close()


def write_stress_workbook(result: dict, path: Path) -> None:
    """Exposure (base against robust, per shock), stranded orders, recovery purchases, branches."""
    from planner.stress import exposure_frame

    def rows(kind: str, key: str) -> pd.DataFrame:
        out = []
        for plan in ("base", "robust"):
            for e in result.get(f"{plan}_exposure", []):
                out += [{"plan": plan, "shock": e["shock"], **r} for r in e[key]]
        return pd.DataFrame(out)

    branches = {"no shock (base plan)": {p["period"]: p["effective_pflops"] for p in result["base"]["periods"]}}
    for plan in ("base", "robust"):
        for e in result.get(f"{plan}_exposure", []):
            branches[f"{e['shock']} ({plan} plan)"] = {p["period"]: p["effective_pflops"] for p in e["periods"]}
    with atomic_path(path) as tmp:
        book = Book(tmp)
        book.frame("Exposure", exposure_frame(result))
        book.frame("Stranded", rows("stranded", "stranded"))
        book.frame("Recovery", rows("recovery", "recovery"))
        frame = pd.DataFrame(branches)
        frame.index.name = "period"
        book.frame("Branches PFLOPS", frame.reset_index())
        book.close()
