"""The catalog folder: ``chips.csv``, ``offers.csv`` and ``export_rules.yaml``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from planner import compliance
from planner.countries import ISO_ALPHA2
from planner.errors import InputError
from planner.tables import (
    Column,
    at_least_one,
    fraction_closed_open,
    fraction_open_closed,
    non_negative,
    positive,
    read_table,
)
from planner.units import parse_date, parse_quarter

CATEGORIES = ("full-spec", "export-compliant", "domestic")
STATUSES = ("allowed", "license-required", "prohibited")
DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "default"

CHIP_COLUMNS = [
    Column("sku"), Column("vendor"), Column("model"), Column("category", CATEGORIES),
    Column("origin"),
    Column("bf16_tflops", "float", check=positive),
    Column("fp8_tflops", "float", may_be_empty=True, check=non_negative),
    Column("int8_tops", "float", may_be_empty=True, check=non_negative),
    *[Column(name, "float", required=False, may_be_empty=True, check=non_negative)
      for name in ("fp64_tflops", "fp32_tflops", "tf32_tflops", "fp16_tflops", "fp4_tflops", "int4_tops")],
    Column("memory_gb", "float", check=positive),
    Column("memory_bw_tbps", "float", check=positive),
    Column("interconnect_gbps", "float", check=non_negative),
    Column("die_area_mm2", "float", may_be_empty=True, check=positive),
    Column("power_w", "float", check=positive),
    Column("chips_per_server", "int", check=at_least_one),
    Column("software_efficiency", "float", check=fraction_open_closed),
    Column("datacenter", "bool", required=False, may_be_empty=True, default=True),
]
OFFER_COLUMNS = [
    Column("sku"), Column("channel"), Column("period"),
    Column("max_units", "int", check=non_negative),
    Column("unit_price_usd", "float", check=positive),
    Column("lead_time_quarters", "int", check=non_negative),
    Column("delivery_risk", "float", may_be_empty=True, check=fraction_closed_open, default=0.0),
]
#: free-text columns the bundled catalog uses to cite its sources.
NOTE_COLUMNS = ("sources", "notes")


class Clause(BaseModel):
    """One clause of ``when_any``: every condition given must hold."""

    model_config = ConfigDict(extra="forbid")
    tpp_min: float | None = None
    tpp_below: float | None = None
    pd_min: float | None = None
    pd_below: float | None = None
    interconnect_min_gbps: float | None = None
    datacenter: bool | None = None


def _country_list(value: list[str]) -> list[str]:
    for code in value:
        if code not in ISO_ALPHA2:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. CN, US, HK)")
    return value


class Rule(BaseModel):
    """An effective-dated export-control rule (see the contract, section 1)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str = ""
    origins: list[str] = Field(min_length=1)
    destinations: list[str] = Field(min_length=1)
    effective: dt.date
    ends: dt.date | None = None
    status: Literal["allowed", "license-required", "prohibited"]
    when_any: list[Clause] = Field(default_factory=list)
    skus: list[str] = Field(default_factory=list)
    source: str = ""
    notes: str = ""

    @field_validator("effective", "ends", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        return None if v is None else parse_date(v)

    @field_validator("origins", "destinations")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        return _country_list(v)

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if not self.when_any and not self.skus:
            raise ValueError(f"rule {self.id!r} needs when_any thresholds or a skus list")
        if self.ends is not None and self.effective is not None and self.ends <= self.effective:
            raise ValueError(f"rule {self.id!r}: ends ({self.ends}) must be after effective ({self.effective})")
        return self


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule]


@dataclass
class Catalog:
    """Chips and offers as DataFrames (one row per chip / offer) and the export rules."""

    folder: Path
    chips: pd.DataFrame
    offers: pd.DataFrame
    rules: list[Rule] = field(default_factory=list)

    @cached_property
    def _records(self) -> dict[str, dict]:
        return self.chips.to_dict("index")

    def chip(self, sku: str) -> dict:
        """The chip's row as a dict (a copy)."""
        return dict(self._records[sku])


def _derive_chip_columns(chips: pd.DataFrame) -> pd.DataFrame:
    chips = chips.copy()
    records = chips.to_dict("records")
    chips["tpp"] = [compliance.tpp(r) for r in records]
    chips["pd"] = [compliance.performance_density(r) for r in records]
    chips["eff_pflops"] = chips["bf16_tflops"] * chips["software_efficiency"] / 1000.0
    return chips


def load_catalog(folder: str | Path | None = None, collect: list[InputError] | None = None) -> Catalog:
    """Read and check a catalog folder.

    Args:
        folder: the folder; None means the bundled ``catalogs/default``.
        collect: when given, every problem found is appended here instead of
            raising on the first (for ``gpuplan catalog validate``).
    """
    folder = Path(folder) if folder is not None else DEFAULT_CATALOG
    if not folder.is_dir():
        raise InputError("catalog folder not found (expected a folder with chips.csv, offers.csv "
                         "and export_rules.yaml)", file=str(folder))

    def fail(err: InputError) -> None:
        if collect is None:
            raise err
        collect.append(err)

    chips_path, offers_path = folder / "chips.csv", folder / "offers.csv"
    all_chip_skus: set[str] = set()
    chips = read_table(chips_path, CHIP_COLUMNS, NOTE_COLUMNS, collect, all_chip_skus)
    for rec in chips.to_dict("records"):
        if rec["origin"] not in ISO_ALPHA2:
            fail(InputError(f"{rec['origin']!r} is not an ISO 3166-1 alpha-2 country code (e.g. US, CN)",
                            file=str(chips_path), row=rec["_row"], column="origin"))
    dup = chips[chips["sku"].duplicated(keep="first")]
    for rec in dup.to_dict("records"):
        first = chips.loc[chips["sku"] == rec["sku"], "_row"].iloc[0]
        fail(InputError(f"duplicate sku {rec['sku']!r} (first on row {first}); each sku must be unique",
                        file=str(chips_path), row=rec["_row"], column="sku"))
    chips = chips.drop_duplicates("sku").set_index("sku", drop=False)
    chips.index.name = None

    known_skus = set(chips.index) | all_chip_skus
    offers = read_table(offers_path, OFFER_COLUMNS, NOTE_COLUMNS, collect)
    parts = offers["period"].str.extract(r"^(\d{4})Q([1-4])$")
    period_index = parts[0].astype(float) * 4 + parts[1].astype(float) - 1
    bad_sku = ~offers["sku"].isin(known_skus).to_numpy()
    bad_period = period_index.isna().to_numpy()
    for i in np.flatnonzero(bad_sku | bad_period):       # in row order, sku before period
        rec = offers.iloc[i]
        if bad_sku[i]:
            fail(InputError(f"sku {rec['sku']!r} is not in chips.csv", file=str(offers_path),
                            row=int(rec["_row"]), column="sku"))
        if bad_period[i]:
            try:
                parse_quarter(rec["period"])
            except ValueError as exc:
                fail(InputError(str(exc), file=str(offers_path), row=int(rec["_row"]), column="period"))
    keep = offers["sku"].isin(chips.index).to_numpy() & ~bad_period
    offers = offers[keep].reset_index(drop=True)
    offers["period_index"] = period_index[keep].astype(np.int64).to_numpy()
    dups = offers[offers.duplicated(["sku", "channel", "period"], keep="first")]
    for rec in dups.to_dict("records"):
        fail(InputError(f"a second offer for sku {rec['sku']!r}, channel {rec['channel']!r}, period "
                        f"{rec['period']}; merge the two rows", file=str(offers_path), row=rec["_row"]))

    rules = load_rules(folder / "export_rules.yaml", known_skus, collect)
    return Catalog(folder, _derive_chip_columns(chips), offers.drop_duplicates(["sku", "channel", "period"]),
                   rules)


def load_rules(path: Path, skus: set[str], collect: list[InputError] | None = None) -> list[Rule]:
    """Read ``export_rules.yaml``; rule ids must be unique and listed SKUs must exist.

    With ``collect`` each rule is checked on its own and every problem is appended.
    """
    from planner.yamlio import read_yaml, validate

    data = read_yaml(path)
    if collect is None:
        rules = validate(RuleFile, data, str(path)).rules
    else:
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            collect.append(InputError("expected a top-level key rules with a list of rules", file=str(path)))
            return []
        rules = []
        for i, item in enumerate(data["rules"]):
            try:
                rules.append(validate(Rule, item, str(path), prefix=("rules", i)))
            except InputError as err:
                collect.append(err)
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        where = {"file": str(path), "key": f"rules[{i}]"}
        problems = []
        if rule.id in seen:
            problems.append(InputError(f"duplicate rule id {rule.id!r}", **where))
        seen.add(rule.id)
        for sku in rule.skus:
            if sku not in skus:
                problems.append(InputError(f"rule {rule.id!r} lists sku {sku!r}, which is not in chips.csv",
                                           **where))
        for err in problems:
            if collect is None:
                raise err
            collect.append(err)
    return rules
