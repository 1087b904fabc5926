"""Excel workbooks (XlsxWriter) that print and read well: formatting only.

Every sheet prints landscape, one page wide, with its header row repeated on every page; every
numeric cell has a number format chosen from its column's unit (money in dollars, counts without
decimals, shares and gaps in percent, PFLOPS with one decimal); columns are as wide as their
formatted content; charts have titles, axis titles with units and human legend names. Text
from inputs is always written as a string cell, never as a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from planner.inputs.fileio import atomic_path
from planner.inputs.tables import records
from planner.inputs.units import parse_quarter, quarter_start
from planner.plans.results import Plan

MONEY = '"$"#,##0'
CENTS = '"$"#,##0.00'
COUNT = "#,##0"
ONE = "#,##0.0"
TWO = "#,##0.00"
PERCENT = "0.0%"
FINE_PERCENT = "0.00%"
MONEY_AXIS_B = '"$"#,##0.0,,,"B"'
MONEY_AXIS_M = '"$"#,##0,,"M"'
CELL_LIMIT = 32767
ROW_POINTS = 15  # the height of one line of text in a row
WRAP = 40  # a text longer than this many characters wraps in its cell


def wrapped_lines(text: str, width: int) -> int:
    """Lines a cell of ``width`` characters wraps ``text`` into (at spaces, as a spreadsheet does)."""
    import textwrap

    return max(1, sum(len(textwrap.wrap(part, max(width, 10))) or 1 for part in text.splitlines() or [""]))


def gpuplan_version() -> str:
    """The installed gpuplan version, for the workbook's properties."""
    try:
        return version("gpuplan")
    except PackageNotFoundError:
        return "unknown"


def column_format(name: str) -> str:
    """Number format from a column's name and unit suffix."""
    n = name.lower()
    if n in ("unit_price_usd", "cost_usd", "price_usd", "entry_price_usd") or n.endswith("price_usd"):
        return CENTS
    if n.endswith("_usd") or n.startswith("capex") or n.startswith("budget") or "(usd)" in n:
        return MONEY
    if (
        n in ("servers", "chips", "max_units", "lines", "term_quarters", "targets_missed")
        or n.endswith("_chips")
        or n.endswith("targets_missed")
        or n in ("tpp", "index")
    ):
        return COUNT
    if (
        n.endswith("_share")
        or n in ("probability", "approval", "relative")
        or n.endswith("share")
        or n.startswith("policy_share:")
    ):
        return PERCENT
    if n in ("mip gap", "mip_gap", "mip relative gap"):
        return FINE_PERCENT
    if n.endswith("_pflops") or "pflops" in n or n.endswith("_tb") or n.endswith("_mw") or n in ("slack",):
        return ONE
    return TWO


def _shown(value: Any, spec: str) -> str:
    """The text a spreadsheet shows for a number in this format (for column widths)."""
    v = float(value)
    if spec in (MONEY,):
        return f"${v:,.0f}"
    if spec == CENTS:
        return f"${v:,.2f}"
    if spec == COUNT:
        return f"{v:,.0f}"
    if spec == ONE:
        return f"{v:,.1f}"
    if spec == PERCENT:
        return f"{v * 100:.1f}%"
    if spec == FINE_PERCENT:
        return f"{v * 100:.2f}%"
    return f"{v:,.2f}"


class Book:
    """A workbook being written: one method per kind of sheet."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        # built in memory and written in one go at close: no temporary files of XlsxWriter's own,
        # and a full or read-only disk is one error at one place
        self.path, self.buffer = path, io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": True,
            },
        )
        self.head = self.wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        # text is indented one step so that it never runs into a number right-aligned beside it
        self.text = self.wb.add_format({"align": "left", "valign": "top", "indent": 1})
        self.wrap = self.wb.add_format({"text_wrap": True, "align": "left", "valign": "top", "indent": 1})
        self.formats: dict[str, Any] = {}
        self.names: set[str] = set()

    def fmt(self, spec: str) -> Any:
        """A cached cell format for an Excel number format."""
        if spec not in self.formats:
            self.formats[spec] = self.wb.add_format({"num_format": spec, "valign": "top"})
        return self.formats[spec]

    def sheet(self, name: str) -> Any:
        """A worksheet with a name Excel accepts and no other sheet has (case-insensitively), set up to print landscape, one page wide, header row repeated."""
        base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "Sheet"
        base = base[:31]
        label, k = base, 2
        while label.lower() in self.names:
            suffix = f" {k}"
            label, k = base[: 31 - len(suffix)] + suffix, k + 1
        self.names.add(label.lower())
        ws = self.wb.add_worksheet(label)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        ws.hide_gridlines(0)
        return ws

    def cell(self, ws: Any, row: int, col: int, value: Any, spec: str | None = None) -> int:
        """Write one cell; returns the width its shown text needs (a long text wraps at ``WRAP``)."""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            ws.write_blank(row, col, None)
            return 2
        if isinstance(value, bool):
            ws.write_boolean(row, col, value)
            return 6
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            spec = spec or (COUNT if isinstance(value, int) else TWO)
            ws.write_number(row, col, float(value), self.fmt(spec))
            return len(_shown(value, spec)) + 2
        text = str(value)[:CELL_LIMIT]
        ws.write_string(row, col, text, self.wrap if len(text) > WRAP else self.text)
        return min(len(text), WRAP) + 3

    def frame(
        self,
        name: str,
        df: pd.DataFrame,
        formats: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """A table sheet: header row frozen and repeated on every page, autofilter, fitted widths, number formats by column name."""
        ws = self.sheet(name)
        columns = [str(c) for c in df.columns]
        shown = [(headers or {}).get(c, c) for c in columns]
        widths = [max(len(w) for w in h.split()) + 2 if h else 4 for h in shown]
        for j, h in enumerate(shown):
            ws.write_string(0, j, h, self.head)
        specs = [(formats or {}).get(c) or column_format(c) for c in columns]
        wrapped: dict[int, list[tuple[int, str]]] = {}  # row -> (column, text) of cells that wrap
        for i, row in enumerate(df.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                widths[j] = max(widths[j], self.cell(ws, i, j, value, specs[j]))
                if isinstance(value, str) and len(value) > WRAP:
                    wrapped.setdefault(i, []).append((j, value))
        widths = [min(max(w, 8), WRAP + 3) for w in widths]
        for j, w in enumerate(widths):
            ws.set_column(j, j, w)
        # a spreadsheet does not grow a row for wrapped text by itself: each such row, and the
        # header row, gets the height of its longest cell
        head_lines = max((wrapped_lines(h, w - 2) for h, w in zip(shown, widths, strict=True)), default=1)
        if head_lines > 1:
            ws.set_row(0, ROW_POINTS * head_lines)
        for i, texts in wrapped.items():
            ws.set_row(i, ROW_POINTS * max(wrapped_lines(text, widths[j] - 3) for j, text in texts))
        ws.freeze_panes(1, 0)
        ws.repeat_rows(0)
        if columns:
            ws.autofilter(0, 0, max(len(df), 1), len(columns) - 1)
        return ws

    def totals_row(self, ws: Any, df: pd.DataFrame, columns: Sequence[str], label: str) -> None:
        """A bold row under a :meth:`frame` table: ``label`` in the first column, a SUM formula (with its value cached, for readers that do not calculate) under each of ``columns``."""
        from xlsxwriter.utility import xl_rowcol_to_cell

        row = len(df) + 1
        bold = self.wb.add_format({"bold": True, "valign": "top", "top": 1})
        ws.write_string(row, 0, label, bold)
        for name in columns:
            j = list(df.columns).index(name)
            spec = column_format(name)
            key = f"total:{spec}"
            if key not in self.formats:
                self.formats[key] = self.wb.add_format(
                    {"num_format": spec, "bold": True, "valign": "top", "top": 1}
                )
            first, last = xl_rowcol_to_cell(1, j), xl_rowcol_to_cell(max(row - 1, 1), j)
            value = float(pd.to_numeric(df[name]).sum())
            ws.write_formula(row, j, f"=SUM({first}:{last})", self.formats[key], value)

    def pairs(self, name: str, rows: Sequence[tuple[str, Any, str | None]], title: str | None = None) -> Any:
        """A two-column key/value sheet (label, value, number format)."""
        ws = self.sheet(name)
        start = 0
        if title:
            ws.write_string(0, 0, title[:CELL_LIMIT], self.title)
            start = 2
        ws.write_string(start, 0, "item", self.head)
        ws.write_string(start, 1, "value", self.head)
        width = [10, 12]
        for i, (k, v, spec) in enumerate(rows, start=start + 1):
            width[0] = max(width[0], self.cell(ws, i, 0, k))
            width[1] = max(width[1], self.cell(ws, i, 1, v, spec))
        width = [min(width[0], 48), min(width[1], 70)]
        ws.set_column(0, 0, width[0])
        ws.set_column(1, 1, width[1])
        for i, (k, v, _) in enumerate(rows, start=start + 1):
            # a wrapped cell gets the height of its lines: a spreadsheet does not grow the row by itself
            lines = [
                wrapped_lines(x, w - 3) for x, w in zip((k, v), width, strict=True) if isinstance(x, str)
            ]
            if max(lines, default=1) > 1:
                ws.set_row(i, ROW_POINTS * max(lines))
        ws.freeze_panes(start + 1, 0)
        ws.repeat_rows(start)
        ws.fit_to_pages(1, 1)  # a summary prints on one page
        return ws

    def stacked_chart(
        self,
        ws: Any,
        sheet: str,
        df: pd.DataFrame,
        series: Sequence[tuple[str, str]],
        title: str,
        y_title: str,
        y_format: str,
        anchor: str,
    ) -> None:
        """A native stacked column chart: ``series`` are (column, legend name) of ``df`` (written on ``sheet`` from row 1 with its first column as categories)."""
        if df.empty or not series:
            return
        chart = self.wb.add_chart({"type": "column", "subtype": "stacked"})
        n = len(df)
        cols = list(df.columns)
        for column, label in series:
            j = cols.index(column)
            chart.add_series(
                {"name": chart_text(label), "categories": [sheet, 1, 0, n, 0], "values": [sheet, 1, j, n, j]}
            )
        chart.set_title({"name": chart_text(title), "name_font": {"size": 12}})
        chart.set_x_axis({"name": "Quarter"})
        chart.set_y_axis({"name": y_title, "num_format": y_format})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 720, "height": 400})
        ws.insert_chart(anchor, chart)

    def close(self) -> None:
        """Write the workbook file."""
        self.wb.close()
        self.path.write_bytes(self.buffer.getvalue())


def chart_text(text: str) -> str:
    """Chart titles and legend names as plain text.

    XlsxWriter reads a name such as ``x!A1`` as a reference to a cell; a zero-width space after each
    ``!`` keeps the text as written on screen and on paper, never a reference.
    """
    from planner.errors import one_line

    return one_line(str(text)).replace("!", "!\u200b")


def anchor(df: pd.DataFrame) -> str:
    """The cell below a sheet's table (title, header and a blank row above it), where a chart goes."""
    return f"A{len(df) + 4}"


def _relative(path: str, base: Path | None) -> str:
    """A file's name relative to the scenario's folder (never an absolute local path)."""
    if base is None:
        return os.path.basename(path)
    try:
        return os.path.relpath(Path(path).resolve(), base.resolve())
    except ValueError:
        return os.path.basename(path)


def summary_rows(plan: Plan) -> list[tuple[str, Any, str | None]]:
    """Label, value and number format of each line of the Summary sheet."""
    from planner.outputs.report import figures

    f = figures(plan)
    base = (
        Path(plan.data.scenario.source).parent
        if plan.data is not None and plan.data.scenario.source
        else None
    )
    rows: list[tuple[str, Any, str | None]] = [
        ("scenario", plan.scenario, None),
        ("status", plan.status, None),
        ("objective", plan.objective, None),
        ("capex, purchases (USD)", f.capex_usd, MONEY),
        ("lease commitments (USD)", f.lease_usd, MONEY),
        ("opex, electricity (USD)", f.opex_usd, MONEY),
        ("effective PFLOPS at the last quarter", f.effective_pflops, ONE),
        ("  of which the fleet", f.fleet_pflops, ONE),
        ("  of which bought", f.purchased_pflops, ONE),
        ("  of which leased", f.leased_pflops, ONE),
        ("memory at the last quarter (TB)", f.memory_tb, ONE),
        ("chips bought", f.chips, COUNT),
        ("chips leased", f.leased_chips, COUNT),
        ("capex per bought PFLOPS (USD)", f.capex_per_purchased_pflops, MONEY),
        ("lease commitment per leased PFLOPS (USD)", f.lease_per_leased_pflops, MONEY),
        ("spend that depends on licences (USD)", f.licence_usd, MONEY),
        ("lease payments after the horizon (USD)", f.lease_after_horizon_usd, MONEY),
        *budget_rows(plan),
        ("solver", plan.solver, None),
        ("MIP relative gap", plan.mip_gap, FINE_PERCENT),
        ("solve time (s)", round(plan.seconds, 3), TWO),
        ("gpuplan version", gpuplan_version(), None),
        ("written at (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"), None),
    ]
    if plan.message:
        rows.append(("message", plan.message, None))
    rows += [(f"sha256 of {_relative(path, base)}", digest, None) for path, digest in plan.inputs.items()]
    rows += [("limit", line, None) for line in plan.limits]
    return rows


def budget_rows(plan: Plan) -> list[tuple[str, Any, str | None]]:
    """The Summary's budget block: the budget, what is committed against it, paid to date and due after the horizon."""
    data = plan.data
    if data is None or not len(plan.periods):
        return []
    last = plan.periods.iloc[-1]
    currency = data.finance.currency
    unit = MONEY if currency == "USD" else COUNT
    rows: list[tuple[str, Any, str | None]] = []
    if data.total_budget is not None:
        rows.append((f"budget, total ({currency})", data.total_budget, unit))
    elif data.budget_per_period is not None:
        rows.append((f"budget, sum of the quarters ({currency})", sum(data.budget_per_period), unit))
    rows += [
        ("committed: capex and whole lease terms (USD)", float(last["cumulative_committed_usd"]), MONEY),
        ("paid to the last quarter (USD)", float(last["cumulative_spend_usd"]), MONEY),
        (
            "due after the horizon (USD)",
            float(last["cumulative_committed_usd"]) - float(last["cumulative_spend_usd"]),
            MONEY,
        ),
    ]
    return rows


def compliance_frame(plan: Plan) -> pd.DataFrame:
    """Every chip's status on the first day of each quarter: for purchases at each site (with its tags), and for leases in each country the catalog rents capacity in, with the rules behind it."""
    from planner.rules import compliance

    data = plan.data
    assert data is not None
    places = [("buy", site.name, site.country, site.tags) for site in data.sites]
    offers = data.catalog.offers
    leased = sorted({str(c) for c in offers.loc[offers["kind"] == "lease", "ships_to"] if str(c)})
    places += [("lease", "", country, frozenset()) for country in leased]
    rows = []
    for kind, site, country, tags in places:
        for rec in records(data.catalog.chips):
            row = {
                "kind": kind,
                "site": site,
                "country": country,
                "sku": rec["sku"],
                "model": rec["model"],
                "category": rec["category"],
                "tpp": rec["tpp"],
                "pd": rec["pd"],
            }
            rules: list[str] = []
            for p in data.periods:
                v = compliance.chip_status(
                    rec,
                    country,
                    quarter_start(parse_quarter(p)),
                    data.catalog.compiled,
                    data.headquarters,
                    kind,
                    tags,
                )
                row[p] = v.status
                rules += [r for r in v.rule_ids if r not in rules]
            row["rules"] = ", ".join(rules)
            rows.append(row)
    return pd.DataFrame(rows)


def inputs_frame(plan: Plan) -> pd.DataFrame:
    """The scenario as read, one row per key path, with units spelled out (numbers stay numbers)."""
    data = plan.data
    assert data is not None
    units = {
        "total_usd": "USD",
        "per_period_usd": "USD",
        "pflops": "PFLOPS (effective, dense BF16)",
        "memory_tb": "TB",
        "pue": "ratio",
        "electricity_usd_per_kwh": "USD per kWh",
        "site_capacity_mw": "MW",
        "capacity_mw": "MW",
        "chips": "chips",
        "min": "share",
        "max": "share",
    }
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
    base = Path(data.scenario.source).parent if data.scenario.source else None
    rows.append({"key": "catalog folder", "value": _relative(str(data.catalog.folder), base), "unit": ""})
    return pd.DataFrame(rows, columns=["key", "value", "unit"])


def _inputs_sheet(book: Book, plan: Plan) -> None:
    frame = inputs_frame(plan)
    ws = book.sheet("Inputs")
    ws.write_string(0, 0, "key", book.head)
    ws.write_string(0, 1, "value", book.head)
    ws.write_string(0, 2, "unit", book.head)
    widths = [6, 8, 6]
    for i, r in enumerate(frame.to_dict("records"), start=1):
        spec = {"USD": MONEY, "share": PERCENT, "USD per kWh": "0.000", "ratio": TWO}.get(r["unit"], TWO)
        if isinstance(r["value"], int) and r["unit"] not in ("USD",):
            spec = COUNT
        widths[0] = max(widths[0], book.cell(ws, i, 0, r["key"]))
        widths[1] = max(widths[1], book.cell(ws, i, 1, r["value"], spec))
        widths[2] = max(widths[2], book.cell(ws, i, 2, r["unit"]))
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(w, 60))
    ws.freeze_panes(1, 0)
    ws.repeat_rows(0)


def readable(name: str) -> str:
    """A column name as a header a reader takes in: ``base_stranded_usd`` -> ``Base: stranded (USD)``."""
    text = name
    for suffix, unit in (("_usd", " (USD)"), ("_pflops", " PFLOPS"), ("_mw", " MW"), ("_tb", " TB")):
        if text.endswith(suffix):
            text = text.removesuffix(suffix) + unit
    for plan in ("base", "robust"):
        if text.startswith(plan + "_"):
            text = f"{plan.capitalize()}: " + text.removeprefix(plan + "_")
    text = text.replace("_", " ").replace("pflops", "PFLOPS")
    return text[:1].upper() + text[1:]


#: the Schedule sheet's column headers (the CSV and JSON keep the contract's names)
SCHEDULE_HEADERS = {
    "order_period": "Order quarter",
    "delivery_period": "Delivery / service from",
    "sku": "SKU",
    "vendor": "Vendor",
    "model": "Model",
    "category": "Category",
    "channel": "Channel",
    "servers": "Servers",
    "chips": "Chips",
    "unit_price_usd": "Unit price (USD; a lease: per chip-quarter)",
    "cost_usd": "Cost (USD; a lease: whole term)",
    "kind": "Kind",
    "site": "Site",
    "country": "Country",
    "compliance": "Compliance",
    "license_rules": "Licence rules",
    "term_quarters": "Term (quarters)",
    "end_period": "Last quarter of service",
}


def write_plan_workbook(plan: Plan, path: Path, explain: dict[str, pd.DataFrame] | None = None) -> None:
    """Summary, Schedule, Sites, Capacity, Spend, Channels, (Workloads, Clusters, Cash flow, Book value, Risk where the plan has them,) Compliance, Inputs (and Explain sheets when given); an infeasible plan gets Summary, Diagnosis and Inputs."""
    from planner.outputs.report import plan_report

    data = plan.data
    assert data is not None
    with atomic_path(path) as tmp:
        book = Book(tmp)
        book.pairs("Summary", summary_rows(plan), title=f"gpuplan plan: {plan.scenario}")
        if not plan.ok:
            _diagnosis_sheet(book, plan)
            _inputs_sheet(book, plan)
            book.close()
            return
        rep = plan_report(plan)
        schedule = rep.schedule.copy()
        schedule["license_rules"] = schedule["license_rules"].str.replace(",", ", ")
        ws = book.frame("Schedule", schedule, headers=SCHEDULE_HEADERS)
        book.totals_row(
            ws, schedule, ["servers", "chips", "cost_usd"], "Total (cost: capex and whole lease terms)"
        )
        book.frame("Sites", rep.sites)
        capacity = plan.capacity_by("category", fleet_apart=True)
        names = list(capacity.columns)
        capacity.columns = [f"{c}_pflops" for c in names]
        per = plan.periods.set_index("period")
        for col in ("effective_pflops", "leased_pflops", "memory_tb", "power_mw", "site_capacity_mw"):
            capacity[col] = per[col]
        cap = capacity.reset_index()
        ws = book.frame("Capacity", cap)
        book.stacked_chart(
            ws,
            "Capacity",
            cap,
            [(f"{c}_pflops", c if c != "fleet" else "fleet (installed before)") for c in names],
            "Effective PFLOPS installed, by chip category",
            "Effective PFLOPS",
            "#,##0",
            anchor(cap),
        )
        vendor = plan.spend_by("vendor")
        spend = vendor.add_suffix("_usd")
        spend["capex_usd"] = per["capex_usd"]
        spend["lease_payments_usd"] = per["lease_usd"]
        if data.budget_per_period is not None:
            spend["budget_usd"] = data.budget_per_period
        spend["cumulative_paid_usd"] = per["cumulative_spend_usd"]
        spend["cumulative_committed_usd"] = per["cumulative_committed_usd"]
        spend["cumulative_budget_usd"] = per["cumulative_budget_usd"]
        spend_frame = spend.reset_index()
        ws = book.frame("Spend", spend_frame)
        axis = MONEY_AXIS_B if float(per["capex_usd"].max() + per["lease_usd"].max()) >= 1e9 else MONEY_AXIS_M
        book.stacked_chart(
            ws,
            "Spend",
            spend_frame,
            [(f"{v}_usd", v) for v in vendor.columns],
            "Capex and lease payments by vendor",
            "USD paid in the quarter",
            axis,
            anchor(spend_frame),
        )
        if len(rep.channels):
            book.frame("Channels", rep.channels)
        if plan.workloads is not None:
            book.frame("Workloads", plan.workloads.periods)
            book.frame("Clusters", plan.workloads.clusters)
        if rep.cash_flow is not None:
            local = {c: MONEY.replace('"$"', "") for c in rep.cash_flow.columns if c.startswith("paid_")}
            local.pop("paid_usd", None)
            book.frame("Cash flow", rep.cash_flow, local)
        if rep.book_values is not None:
            book.frame("Book value", rep.book_values)
        if plan.sample_average is not None:  # in and out of sample, and the base plan out of sample
            outcomes = plan.sample_average.outcomes()
            money = outcomes.columns[1].startswith("cost_usd")
            book.frame(
                "Risk",
                outcomes,
                {
                    c: PERCENT if c.startswith("missed_") else MONEY if money else ONE
                    for c in outcomes.columns[1:]
                },
            )
        book.frame("Compliance", compliance_frame(plan), {"tpp": COUNT, "pd": TWO})
        _inputs_sheet(book, plan)
        for name, frame in (explain or {}).items():
            book.frame(name, frame)
        book.close()


def _diagnosis_sheet(book: Book, plan: Plan) -> None:
    d = plan.diagnosis
    rows: list[dict[str, Any]] = []
    for s in d.shortfalls if d is not None else ():
        rows.append(
            {
                "kind": "shortfall",
                "period": s.period,
                "what": s.measure,
                "target": s.target,
                "shortfall": s.shortfall,
                "detail": "",
            }
        )
    for b in d.blocking if d is not None else ():
        rows.append(
            {
                "kind": "blocking",
                "period": b.period,
                "what": b.constraint,
                "target": None,
                "shortfall": None,
                "detail": b.site or f"{b.by or ''} {b.value or ''}".strip(),
            }
        )
    for line in d.limits if d is not None else ():
        rows.append(
            {"kind": "limit", "period": None, "what": None, "target": None, "shortfall": None, "detail": line}
        )
    book.frame(
        "Diagnosis",
        pd.DataFrame(rows, columns=["kind", "period", "what", "target", "shortfall", "detail"]),
        {"target": ONE, "shortfall": "#,##0.000"},
    )
