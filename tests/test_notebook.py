"""docs/example.ipynb runs from top to bottom (plan, compare, sweep with a chart, explain)."""

from __future__ import annotations

import nbformat
from conftest import ROOT
from nbclient import NotebookClient


def test_example_notebook_runs():
    path = ROOT / "docs" / "example.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("base-7b" in h and "optimal" in h for h in html)  # the Plan's summary
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the sweep chart
    text = "".join(o.get("text", "") for o in outputs)
    assert "The next $1B buys" in text
