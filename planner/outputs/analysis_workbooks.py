"""Workbooks of the analyses (sweep, compare, stress, risk, alternatives), built with :class:`planner.outputs.workbook.Book`: formatting only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from planner.analyses.exposure import StressResult, plain
from planner.analyses.risk_results import RiskResult
from planner.inputs.fileio import atomic_path
from planner.outputs.workbook import (
    COUNT,
    FINE_PERCENT,
    MONEY,
    MONEY_AXIS_B,
    ONE,
    PERCENT,
    Book,
    anchor,
    chart_text,
    column_format,
    gpuplan_version,
    readable,
)
from planner.plans.results import Plan, rounded


def write_sweep_workbook(scenario: str, frame: pd.DataFrame, path: Path) -> None:
    """One row per budget point, with a native line chart of compute against budget."""
    with atomic_path(path) as tmp:
        book = Book(tmp)
        names = {"total_usd": "Total budget (USD)", "opex_usd": "Electricity (USD)"}
        names["lease_usd"] = "Lease commitments (USD)"  # the glossary's names
        headers = {str(c): names.get(str(c), readable(str(c))) for c in frame.columns}
        ws = book.frame("Sweep", frame, headers=headers)
        n = len(frame)
        if n:
            chart = book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
            col = list(frame.columns).index("effective_pflops")
            chart.add_series(
                {
                    "name": "effective PFLOPS at the last quarter",
                    "categories": ["Sweep", 1, 0, n, 0],
                    "values": ["Sweep", 1, col, n, col],
                }
            )
            chart.set_title(
                {
                    "name": chart_text(f"Compute bought per total budget: {scenario}"),
                    "name_font": {"size": 12},
                }
            )
            chart.set_x_axis({"name": "Total budget (USD billions)", "num_format": MONEY_AXIS_B})
            chart.set_y_axis({"name": "Effective PFLOPS", "num_format": "#,##0"})
            chart.set_legend({"none": True})
            chart.set_size({"width": 720, "height": 400})
            ws.insert_chart(anchor(frame), chart)
        book.close()


def write_compare_workbook(
    metrics: pd.DataFrame, differences: pd.DataFrame, plans: list[Plan], labels: list[str], path: Path
) -> None:
    """Comparison (metrics by scenario, each row in its unit and labelled for a reader), input differences, each schedule."""
    from planner.analyses.analysis import metric_label

    with atomic_path(path) as tmp:
        book = Book(tmp)
        ws = book.sheet("Comparison")
        ws.write_string(0, 0, "metric", book.head)
        for j, label in enumerate(metrics.columns, start=1):
            ws.write_string(0, j, str(label), book.head)
        widths = [8] + [len(str(c)) + 2 for c in metrics.columns]
        for i, (metric, row) in enumerate(metrics.iterrows(), start=1):
            spec = column_format(str(metric))
            widths[0] = max(widths[0], book.cell(ws, i, 0, metric_label(str(metric))))
            for j, v in enumerate(row, start=1):
                widths[j] = max(widths[j], book.cell(ws, i, j, v, spec))
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(w, 40))
        ws.freeze_panes(1, 1)
        ws.repeat_rows(0)
        book.frame("Input differences", differences.astype(str) if len(differences) else differences)
        for label, plan in zip(labels, plans, strict=True):
            book.frame(label, plan.purchases)
        book.close()


def write_stress_workbook(result: StressResult, path: Path) -> None:
    """Exposure (base against robust, per shock), stranded orders, changed orders, branches."""
    exposures = {"base": result.base_exposure or (), "robust": result.robust_exposure or ()}

    def rows(key: str) -> pd.DataFrame:
        out = []
        for plan, each in exposures.items():
            for e in each:
                out += [{"plan": plan, "shock": e.shock, **r} for r in rounded(plain(getattr(e, key)))]
        return pd.DataFrame(out)

    branches: dict[str, dict[str, float]] = {
        "base plan: no shock": rounded({q.period: q.effective_pflops for q in result.base.periods})
    }
    for plan, each in exposures.items():
        for e in each:
            branches[f"{plan} plan: {e.shock}"] = rounded({q.period: q.effective_pflops for q in e.periods})
    exposure = result.exposure()
    with atomic_path(path) as tmp:
        book = Book(tmp)
        for name, frame in (
            ("Exposure", exposure),
            ("Stranded", rows("stranded")),
            ("Changed orders", rows("changes")),
        ):
            book.frame(name, frame, headers={str(c): readable(str(c)) for c in frame.columns})
        frame = pd.DataFrame(branches)
        frame.index.name = "period"
        book.frame("Branches PFLOPS", frame.reset_index(), {c: ONE for c in branches})
        book.close()


def write_risk_workbook(result: RiskResult, tables: Any, path: Path) -> None:
    """Summary (run facts and the outcome distributions), Samples and Shocks sheets."""
    facts: list[tuple[str, Any, str | None]] = [
        ("scenario", result.scenario, None),
        ("shock file", result.shocks, None),
        ("objective", result.objective, None),
        ("samples", result.samples_n, COUNT),
        ("seed", result.seed, COUNT),
        ("plans", ", ".join(result.plans), None),
        ("gpuplan version", gpuplan_version(), None),
    ]
    money_stats = {k: MONEY for k in ("mean", "std", "p5", "p50", "p95", "min", "max")}
    with atomic_path(path) as tmp:
        book = Book(tmp)
        book.pairs("Summary", facts, title=f"gpuplan risk: {result.scenario}")
        for metric, group in tables.summary.groupby("metric", sort=False):
            fmt = money_stats if str(metric).endswith("_usd") else {k: ONE for k in money_stats}
            book.frame(f"Outcome {metric}", group.reset_index(drop=True), fmt)
        if len(tables.targets):
            book.frame(
                "Targets",
                tables.targets,
                {"probability_missed": PERCENT, "ci95_low": PERCENT, "ci95_high": PERCENT},
            )
        book.frame("Shocks", tables.shocks, {"probability": PERCENT})
        book.frame("Samples", tables.samples)
        book.close()


def write_alternatives_workbook(result: Any, path: Path) -> None:
    """A summary sheet, a side-by-side sheet (figures by plan) and one purchases sheet per plan."""
    with atomic_path(path) as tmp:
        book = Book(tmp)
        summary = result.summary()
        book.frame(
            "Alternatives",
            summary,
            formats={"objective_change": FINE_PERCENT, "distance": PERCENT},
            headers={str(c): readable(str(c)) for c in summary.columns},
        )
        side = result.side_by_side()
        ws = book.sheet("Side by side")
        ws.write_string(0, 0, "figure", book.head)
        for j, name in enumerate(side.columns, start=1):
            ws.write_string(0, j, str(name), book.head)
        widths = [10] + [min(len(str(c)) + 2, 40) for c in side.columns]
        for i, (metric, row) in enumerate(side.iterrows(), start=1):
            label = str(metric)
            spec = MONEY if label.endswith("(USD)") else ONE
            widths[0] = max(widths[0], book.cell(ws, i, 0, label))
            for j, value in enumerate(row, start=1):
                widths[j] = max(widths[j], book.cell(ws, i, j, value, spec))
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(w, 40))
        ws.freeze_panes(1, 1)
        ws.repeat_rows(0)
        book.frame("Optimum", result.optimum.purchases)
        for k, alternative in enumerate(result.alternatives, start=1):
            book.frame(f"{k} {alternative.name}", alternative.plan.purchases)
        book.close()
