"""Write docs/example.ipynb (without outputs): python docs/make_example.py. The tests execute it."""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS = [
    (
        "markdown",
        "# gpuplan from Python\n\n"
        "The same planner as the `gpuplan` command, as a library: plan a scenario, compare two, sweep a "
        "budget range and chart it, and ask what limits the plan. Paths are relative to this folder.",
    ),
    ("code", "from pathlib import Path\n\nimport planner\n\nBUDGETS = Path('..') / 'budgets'"),
    ("markdown", "## Plan a scenario\n\n`solve` returns a `Plan`; in Jupyter it shows a summary."),
    ("code", "plan = planner.solve(BUDGETS / 'base-7b.yaml')\nplan"),
    ("code", "plan.purchases[['order_period', 'sku', 'kind', 'site', 'chips', 'cost_usd']].head(10)"),
    ("code", "plan.capacity_by('category', fleet_apart=True).round(0)"),
    (
        "markdown",
        "## Compare scenarios\n\nOne row per scenario, money shown as money; `frame.plans` holds the plans.",
    ),
    (
        "code",
        "frame = planner.compare([BUDGETS / 'base-7b.yaml', BUDGETS / 'tight-5b.yaml'])\n"
        "frame[['status', 'capex_usd', 'lease_usd', 'effective_pflops', 'chips']]",
    ),
    (
        "markdown",
        "## Sweep a budget range\n\nAmounts are written as on the command line (`'3B'`, `'7e9'`). "
        "One row per budget, with compute by chip category at the last quarter.",
    ),
    (
        "code",
        "sweep = planner.sweep(BUDGETS / 'tight-5b.yaml', ['3B', '4B', '5B', '6e9'])\nsweep",
    ),
    (
        "code",
        "import matplotlib.pyplot as plt\n\n"
        "mix = [c for c in sweep.columns if c.endswith('_pflops') and c != 'effective_pflops']\n"
        "ax = sweep.set_index(sweep['total_usd'] / 1e9)[mix].plot.area(figsize=(8, 4))\n"
        "ax.set_xlabel('Total budget (USD billions)')\n"
        "ax.set_ylabel('Effective PFLOPS at the last quarter')\n"
        "ax.set_title('Compute bought per budget, by chip category')\n"
        "plt.show()",
    ),
    (
        "markdown",
        "## What limits the plan\n\n`explain` re-solves the plan with each limit moved by one unit.",
    ),
    ("code", "why = planner.explain(BUDGETS / 'tight-5b.yaml')\nprint(why.headline())\nwhy.marginal.head(8)"),
    ("code", "why.not_bought.head(8)"),
]


def main() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        for kind, text in CELLS
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(__file__).resolve().parent / "example.ipynb"
    nbformat.write(nb, str(path))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
