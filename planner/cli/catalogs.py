"""``gpuplan catalog``: validate, show, compliance, timeline and import-epoch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planner.cli.options import (
    CATALOG,
    FILE,
    F,
    Number,
    format_option,
    main,
    reports_errors,
)
from planner.errors import InputError

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd

    from planner.inputs.catalog import Catalog


CATALOG_DIR = click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))


def _catalog(folder: Path | None) -> Catalog:
    from planner.inputs.catalog import load_catalog

    return load_catalog(folder)


def _date(value: str | None) -> dt.date:
    import datetime as dt

    from planner.inputs.units import parse_date

    if value is None:
        return dt.date.today()
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from None


def _country(value: str | None, option: str) -> str | None:
    """A country code in any case, upper-cased."""
    if value is None:
        return None
    from planner.inputs.countries import country_code

    try:
        return country_code(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _destination(value: str) -> str:
    """The --destination country code, upper-cased."""
    code = _country(value, "--destination")
    assert code is not None
    return code


def _folder(folder: Path | None, catalog: Path | None) -> Path | None:
    if folder is not None and catalog is not None and folder != catalog:
        raise InputError(
            f"two catalog folders given ({folder} and --catalog {catalog}); give one", key="--catalog"
        )
    return catalog if catalog is not None else folder


WHO = [
    click.option(
        "--destination", required=True, help="ISO country code where the chips are deployed (any case)."
    ),
    click.option(
        "--headquarters",
        default=None,
        help="ISO country code of the buyer's headquarters (default: the destination).",
    ),
    click.option(
        "--kind",
        type=click.Choice(["buy", "lease"]),
        default="buy",
        show_default=True,
        help="buy: chips shipped to the destination; lease: capacity rented there.",
    ),
    click.option(
        "--site-tag",
        "site_tags",
        multiple=True,
        help="A tag of the receiving site, as a scenario's sites[].tags (repeat for several), "
        "e.g. state-funded.",
    ),
]


def _site_tags(values: tuple[str, ...]) -> frozenset[str]:
    """``--site-tag`` values, checked as a scenario's site tags are."""
    from planner.inputs.catalog import site_tag_list

    try:
        return frozenset(site_tag_list(list(values)))
    except ValueError as exc:
        raise InputError(str(exc), key="--site-tag") from None


def who_options(fn: F) -> F:
    """Add the buyer and site options (--destination, --headquarters, --kind, --site-tag) to a command."""
    for option in reversed(WHO):
        fn = option(fn)
    return fn


@main.group()
def catalog() -> None:
    """Inspect, check and build chip catalogs (FOLDER defaults to the bundled catalogs/default)."""


@catalog.command()
@CATALOG_DIR
@CATALOG
@reports_errors
def validate(folder: Path | None, catalog: Path | None) -> None:
    """List every problem in a catalog folder (exit 2 when there is any)."""
    from planner.inputs.catalog import load_catalog

    problems: list[InputError] = []
    try:
        cat = load_catalog(_folder(folder, catalog), collect=problems)
    except InputError as exc:  # a problem that stops reading (missing file or columns)
        problems.append(exc)
        cat = None
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(2)
    assert cat is not None
    click.echo(f"{cat.folder}: OK ({len(cat.chips)} chips, {len(cat.offers)} offers, {len(cat.rules)} rules)")


@catalog.command()
@CATALOG_DIR
@CATALOG
@format_option("the same tables", csv="the chip figures")
@reports_errors
def show(folder: Path | None, catalog: Path | None, fmt: str) -> None:
    """Chips with the figures a buyer compares, and the units offered per quarter."""
    from planner.outputs.catalog_report import chip_figures, offers_by_quarter

    cat = _catalog(_folder(folder, catalog))
    figures, offers, leases = chip_figures(cat), offers_by_quarter(cat), offers_by_quarter(cat, "lease")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "chips": _records(figures),
                    "offers_per_quarter": {
                        sku: {q: int(v) for q, v in row.items()} for sku, row in offers.iterrows()
                    },
                    "leases_per_quarter": {
                        sku: {q: int(v) for q, v in row.items()} for sku, row in leases.iterrows()
                    },
                },
                indent=2,
            )
        )
    elif fmt == "csv":
        from planner.outputs.export import frame_csv

        click.echo(frame_csv(figures), nl=False)
    else:
        from planner.outputs.analysis_reports import catalog_tables
        from planner.outputs.render import console

        con = console()
        for table in catalog_tables(figures, offers, leases, con):
            con.print(table)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    import math

    import pandas as pd

    from planner.inputs.tables import records

    return [
        {
            k: (
                None
                if v is pd.NA or (isinstance(v, float) and math.isnan(v))
                else round(v, 6)
                if isinstance(v, float)
                else v
            )
            for k, v in rec.items()
        }
        for rec in records(df)
    ]


@catalog.command("compliance")
@CATALOG_DIR
@CATALOG
@who_options
@click.option("--date", "on", default=None, help="YYYY-MM-DD (default: today).")
@format_option("the same table")
@reports_errors
def compliance_cmd(
    folder: Path | None,
    catalog: Path | None,
    destination: str,
    headquarters: str | None,
    kind: str,
    site_tags: tuple[str, ...],
    on: str | None,
    fmt: str,
) -> None:
    """The export status of every chip for a destination, buyer and kind of offer on a date, with the rules and licence terms behind it."""
    from planner.outputs.catalog_report import compliance_listing

    listing = compliance_listing(
        _catalog(_folder(folder, catalog)),
        _destination(destination),
        _date(on),
        _country(headquarters, "--headquarters"),
        kind,
        _site_tags(site_tags),
    )
    if fmt == "json":
        keys = ("sku", "model", "tpp", "pd", "status", "rules", "license")
        click.echo(
            json.dumps(
                {k: v for k, v in listing.items() if k != "unnamed"}
                | {"chips": [{k: c[k] for k in keys} for c in listing["chips"]]},
                indent=2,
            )
        )
    else:
        from planner.outputs.analysis_reports import compliance_table
        from planner.outputs.render import console

        con = console()
        con.print(compliance_table(listing, con))


@catalog.command()
@CATALOG_DIR
@CATALOG
@who_options
@click.option("--sku", default=None, help="Only this chip.")
@format_option("the same table")
@reports_errors
def timeline(
    folder: Path | None,
    catalog: Path | None,
    destination: str,
    headquarters: str | None,
    kind: str,
    site_tags: tuple[str, ...],
    sku: str | None,
    fmt: str,
) -> None:
    """The dates on which each chip's status changes for a destination, buyer and kind of offer."""
    from planner.outputs.catalog_report import timeline as build

    cat = _catalog(_folder(folder, catalog))
    if sku is not None and sku not in cat.chips.index:
        raise InputError(f"sku {sku!r} is not in {cat.folder / 'chips.csv'}", key="--sku")
    dest = _destination(destination)
    assert dest is not None
    hq = _country(headquarters, "--headquarters") or dest
    tags = _site_tags(site_tags)
    rows = build(cat, dest, sku, hq, kind, tags)
    if fmt == "json":
        head = {"destination": dest, "headquarters": hq, "kind": kind, "site_tags": sorted(tags)}
        click.echo(json.dumps(head | {"changes": rows}, indent=2))
    else:
        from planner.outputs.analysis_reports import timeline_table
        from planner.outputs.render import console

        con = console()
        con.print(timeline_table(dest, rows, con))


@catalog.command("import-epoch")
@click.argument("csv_file", type=FILE)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Catalog folder to write chips.csv into (created if missing; its parent must exist).",
)
@click.option(
    "--mapping",
    type=FILE,
    default=None,
    help="YAML with `manufacturers:` and `skus:` overrides (origin, category, efficiency...).",
)
@click.option(
    "--chips-per-server",
    type=click.IntRange(min=1, max=1024),
    default=8,
    show_default=True,
    help="Chips in each server of every imported chip (purchases are whole servers); --mapping may set it per SKU.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a folder that already holds files (replacing its chips.csv, offers.csv and export_rules.yaml).",
)
@click.option(
    "--host-overhead-w",
    type=Number(0),
    default=0.0,
    show_default=True,
    help="Watts added to each chip's TDP for its share of host and network.",
)
@reports_errors
def import_epoch_cmd(
    csv_file: Path,
    out_dir: Path,
    mapping: Path | None,
    chips_per_server: int,
    force: bool,
    host_overhead_w: float,
) -> None:
    """Build chips.csv from Epoch AI's Machine Learning Hardware CSV (CC BY 4.0)."""
    import yaml

    from planner.inputs.catalog import DEFAULT_CATALOG
    from planner.inputs.epoch import CREDIT, OFFERS_HEADER, chips_csv_text, import_epoch, rules_for
    from planner.inputs.fileio import refuse_overwrite, write_text

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("is not a folder; give a folder for the catalog", file=str(out_dir), key="--out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise InputError(
            "already holds files; give an empty or new folder, or --force to replace its catalog files",
            file=str(out_dir),
            key="--out",
        )
    inputs = [csv_file, *([mapping] if mapping else [])]
    for name in ("chips.csv", "offers.csv", "export_rules.yaml"):
        refuse_overwrite({"--out": out_dir / name}, inputs)
    overrides = None
    if mapping is not None:
        from planner.inputs.yamlio import read_yaml

        overrides = read_yaml(mapping)
        if not isinstance(overrides, dict) or set(overrides) - {"manufacturers", "skus"}:
            raise InputError("expected the keys manufacturers and/or skus", file=str(mapping))
    report = import_epoch(csv_file, overrides, chips_per_server, host_overhead_w)
    if not out_dir.parent.is_dir():
        raise InputError(f"output folder {out_dir.parent} does not exist; create it first", file=str(out_dir))
    out_dir.mkdir(exist_ok=True)
    rules, notes = rules_for(set(report.chips["sku"]), DEFAULT_CATALOG / "export_rules.yaml")
    write_text(out_dir / "chips.csv", chips_csv_text(report.chips))
    write_text(out_dir / "offers.csv", OFFERS_HEADER)
    write_text(
        out_dir / "export_rules.yaml",
        "# The bundled catalog's export rules, SKU lists pointed at this catalog's chips (gpuplan catalog import-epoch)\n"
        + yaml.safe_dump(rules, sort_keys=False, allow_unicode=True),
    )
    click.echo(f"wrote {out_dir / 'chips.csv'}: {len(report.chips)} chips; data: {CREDIT}")
    click.echo(
        f"wrote {out_dir / 'offers.csv'} (a header to add offers under) and {out_dir / 'export_rules.yaml'}"
    )
    for note in notes:
        click.echo(f"  {note}")
    for row, name, why in report.skipped:
        click.echo(f"  skipped row {row} ({name}): {why}")
    agree = report.tpp_checked - len(report.tpp_mismatches)
    click.echo(
        f"TPP agrees with Epoch's 'Total processing performance' for {agree} of "
        f"{report.tpp_checked} rows that have it"
    )
    for sku, ours, theirs in report.tpp_mismatches:
        click.echo(f"  {sku}: TPP {ours:,.1f} from the rates, Epoch gives {theirs:,.1f}")
