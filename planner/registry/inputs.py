"""A version's input files: read to be stored, and read back from the registry as a scenario, catalog and shock."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import InputError, Setting
from planner.registry.store import Inputs, read_text

if TYPE_CHECKING:
    from planner.inputs.catalog import Catalog
    from planner.inputs.scenario import Scenario
    from planner.inputs.shocks import Shock


def read_inputs(
    scenario: Path, catalog: Catalog, shocks: Path | None = None, shock: str | None = None
) -> Inputs:
    """The files to store with a version: the scenario, the catalog folder's files, an applied shock file."""
    return Inputs(
        scenario.name,
        read_text(scenario, "scenario file"),
        catalog_files(catalog),
        read_text(shocks, "shock file") if shocks is not None else None,
        shock,
    )


def catalog_files(catalog: Catalog) -> dict[str, str]:
    """The text of each file a catalog was read from."""
    from planner.inputs.catalog import CATALOG_FILES

    return {
        name: read_text(catalog.folder / name, "catalog file")
        for name in CATALOG_FILES
        if (catalog.folder / name).is_file()
    }


def load_inputs(inputs: Inputs) -> tuple[Scenario, Catalog, Shock | None]:
    """The scenario, catalog and shock of stored inputs, read and checked as files would be."""
    from planner.inputs.catalog import load_catalog
    from planner.inputs.scenario import check_references, load_scenario
    from planner.inputs.shocks import check_shock_references, load_shocks

    with tempfile.TemporaryDirectory(prefix="gpuplan-registry-") as tmp:
        folder = Path(tmp)
        (folder / "catalog").mkdir()
        for name, text in inputs.catalog_files.items():
            (folder / "catalog" / name).write_text(text, encoding="utf-8")
        path = folder / inputs.scenario_file
        path.write_text(inputs.scenario_text, encoding="utf-8")
        scenario = load_scenario(path)
        catalog = load_catalog(folder / "catalog")
        check_references(scenario, catalog)
        chosen = None
        if inputs.shock_text is not None:
            shock_path = folder / "shocks.yaml"
            shock_path.write_text(inputs.shock_text, encoding="utf-8")
            shocks = load_shocks(shock_path)
            check_shock_references(shocks, catalog, str(shock_path), scenario)
            names = [s.name for s in shocks.shocks]
            if inputs.shock_name not in names:
                raise InputError(
                    f"no shock named {inputs.shock_name!r} in the shock file; it has {', '.join(names)}",
                    key=Setting.SHOCK,
                )
            chosen = shocks.shocks[names.index(inputs.shock_name)]
    return scenario, catalog, chosen
