"""Matplotlib charts for slides (imported only when a chart is asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import one_line
from planner.inputs.fileio import atomic_path
from planner.model.runs import PLAN_STATUSES

if TYPE_CHECKING:
    from planner.analyses.exposure import StressResult

CATEGORY_COLOURS = {
    "fleet": "#bdc3c7",
    "domestic": "#c0392b",
    "export-compliant": "#2e86c1",
    "full-spec": "#2c3e50",
}


def _pyplot() -> Any:
    """Pyplot on the Agg backend with text from inputs shown as written: no mathtext (``$...$``), no TeX."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False
    import matplotlib.pyplot as plt

    return plt


def _label(text: object, width: int = 90) -> str:
    """A title or label from inputs, control characters shown escaped, wrapped at ``width`` characters."""
    import textwrap

    return "\n".join(textwrap.wrap(one_line(str(text)), width)) or " "


def commitment_labels(points: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """``(budget $B, thousand PFLOPS, text)`` for the frontier's points where the budget stops binding.

    The amount is what the total budget counts, capex and lease commitments (not capex alone);
    it is shown where the budget first has room left and wherever the amount changes, never twice
    in a row. ``points`` are a sweep's solved points in budget order.
    """
    out = []
    shown: str | None = None
    committed = [(p["totals"]["capex_usd"] + p["totals"].get("lease_usd", 0.0)) / 1e9 for p in points]
    for p, c in zip(points, committed, strict=True):
        budget = p["total_usd"] / 1e9
        text = f"commits ${c:.1f}B" if c < budget * 0.98 else None
        if text is not None and text != shown:
            tail = " from here on" if committed[-1] == c else ""
            out.append((budget, p["totals"]["effective_pflops"] / 1000, text + tail))
        shown = text
    return out


def frontier_png(points: list[dict[str, Any]], scenario: str, path: Path) -> None:
    """Effective PFLOPS against total budget, stacked by chip category, with the total on top."""
    plt = _pyplot()

    ok = [p for p in points if p["status"] in PLAN_STATUSES]
    ok.sort(key=lambda p: p["total_usd"])
    x = [p["total_usd"] / 1e9 for p in ok]
    categories = sorted({c for p in ok for c in p["mix_pflops"]})
    fig, ax = plt.subplots(figsize=(10, 5.6), dpi=150)
    if ok:
        stacks = [[p["mix_pflops"].get(c, 0.0) / 1000 for p in ok] for c in categories]
        ax.stackplot(
            x,
            stacks,
            labels=[_label("existing fleet" if c == "fleet" else c) for c in categories],
            alpha=0.85,
            colors=[CATEGORY_COLOURS.get(c, None) for c in categories],
        )
        total = [p["totals"]["effective_pflops"] / 1000 for p in ok]
        ax.plot(x, total, color="black", marker="o", linewidth=2, label="total")
        for xi, ti, text in commitment_labels(ok):
            ax.annotate(
                text,
                (xi, ti),
                textcoords="offset points",
                xytext=(0, -26),  # well below its point: clear of the line, inside the axes
                ha="center",
                fontsize=8,
                color="#222222",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "linewidth": 0},
            )
    ax.set_xlabel("Total budget (USD billions)")
    ax.set_ylabel("Effective PFLOPS at the last quarter (thousands)")
    ax.set_title(_label(f"Compute bought per budget, by chip category: {scenario}", 100))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=6, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def capacity_png(plans: list[tuple[str, Any]], path: Path) -> None:
    """Effective PFLOPS installed per quarter, stacked by chip category with the old fleet apart: one panel per plan (``(label, Plan)``), on one scale; a plan without a solution gets an empty panel that says so."""
    plt = _pyplot()

    fig, axes = plt.subplots(
        1, len(plans), figsize=(max(6.0, 4.2 * len(plans)), 4.6), dpi=150, sharey=True, squeeze=False
    )
    for ax, (label, plan) in zip(axes[0], plans, strict=True):
        ax.set_title(_label(label, 45))
        if not plan.ok:
            ax.text(0.5, 0.5, f"no plan ({plan.status})", ha="center", va="center", transform=ax.transAxes)
            continue
        mix = plan.capacity_by("category", fleet_apart=True) / 1000  # the plan's own figures
        order = [c for c in CATEGORY_COLOURS if c in mix.columns] + [
            c for c in mix.columns if c not in CATEGORY_COLOURS
        ]
        bottom = [0.0] * len(mix)
        quarters = [str(q) for q in mix.index]
        for category in order:
            values = mix[category].tolist()
            ax.bar(
                quarters,
                values,
                bottom=bottom,
                color=CATEGORY_COLOURS.get(category),
                label="fleet (installed before)" if category == "fleet" else category,
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xlabel("Quarter")
        ax.tick_params(axis="x", labelrotation=45 if len(quarters) > 6 else 0)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0][0].set_ylabel("Effective PFLOPS installed (thousands)")
    handles, names = [], []
    for ax in axes[0]:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        axes[0][-1].legend(handles, names, loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def branches_png(result: StressResult, path: Path) -> None:
    """Effective PFLOPS over quarters per branch (no shock, then each shock): base plan and robust plan."""
    plt = _pyplot()

    panels = [("Base plan", result.base.periods, result.base_exposure or ())]
    if result.robust is not None and result.robust.periods:
        panels.append(("Robust plan", result.robust.periods, result.robust_exposure or ()))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4.6), dpi=150, sharey=True, squeeze=False
    )
    for ax, (title, periods, exposure) in zip(axes[0], panels):
        ax.plot(
            [q.period for q in periods],
            [q.effective_pflops / 1000 for q in periods],
            color="black",
            linewidth=2.5,
            marker="o",
            label="no shock",
        )
        for e in exposure:
            if e.periods:
                ax.plot(
                    [q.period for q in e.periods],
                    [q.effective_pflops / 1000 for q in e.periods],
                    marker=".",
                    linestyle="--",
                    label=_label(e.shock),
                )
        ax.set_title(_label(f"{title}: {result.scenario}", 60))
        ax.set_xlabel("Quarter")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("Effective PFLOPS installed (thousands)")
    axes[0][-1].legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def risk_cdf_png(values: dict[str, Any], metric: str, scenario: str, path: Path) -> None:
    """The distribution (CDF) of the outcome over the samples, one line per plan, P5/P50/P95 marked."""
    import numpy as np

    plt = _pyplot()
    scale, label = (1000.0, "Effective PFLOPS at the last quarter (thousands)")
    if metric != "effective_pflops":
        scale, label = 1e9, "Cost (USD billions)"
    fig, ax = plt.subplots(figsize=(9, 5), dpi=150)
    for (kind, v), colour in zip(values.items(), ("#2c3e50", "#c0392b"), strict=False):
        x = np.sort(np.asarray(v, dtype=float)) / scale
        y = np.arange(1, len(x) + 1) / len(x)
        ax.step(x, y, where="post", color=colour, linewidth=2, label=f"{kind} plan")
        for q in (5, 50, 95):
            xq = np.percentile(x, q)
            ax.axvline(xq, color=colour, linestyle=":", linewidth=1)
            ax.annotate(
                f"P{q}", (xq, q / 100), textcoords="offset points", xytext=(4, 0), fontsize=7, color=colour
            )
    ax.set_xlabel(label)
    ax.set_ylabel("Share of sampled futures at or below")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(_label(f"Outcome over sampled futures: {scenario}", 90))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
