"""The catalog folder: ``chips.csv``, ``offers.csv`` and ``export_rules.yaml``."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from planner.errors import InputError
from planner.inputs.countries import ISO_ALPHA2, country_code
from planner.inputs.tables import (
    MAX_QUARTERS,
    Column,
    at_least_one,
    fraction_closed_open,
    fraction_open_closed,
    non_negative,
    positive,
    quarters_ok,
    read_table,
    term_ok,
)
from planner.inputs.units import MAX_RATE, parse_date, parse_quarter
from planner.rules import compliance

CATEGORIES = ("full-spec", "export-compliant", "domestic")
WORKLOADS = ("training", "inference")
#: an offer's channel risk (an extension: BIS red-flag diligence); an empty cell is ``unrated``
CHANNEL_RISKS = ("low", "medium", "high")
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "catalogs" / "default"
#: the files of a catalog folder that gpuplan reads
CATALOG_FILES = ("chips.csv", "offers.csv", "export_rules.yaml")

CHIP_COLUMNS = [
    Column("sku"),
    Column("vendor"),
    Column("model"),
    Column("category", CATEGORIES),
    Column("origin"),
    Column("bf16_tflops", "float", check=positive),
    Column("fp8_tflops", "float", may_be_empty=True, check=non_negative),
    Column("int8_tops", "float", may_be_empty=True, check=non_negative),
    *[
        Column(name, "float", required=False, may_be_empty=True, check=non_negative)
        for name in ("fp64_tflops", "fp32_tflops", "tf32_tflops", "fp16_tflops", "fp4_tflops", "int4_tops")
    ],
    Column("memory_gb", "float", check=positive),
    Column("memory_bw_tbps", "float", check=positive),
    Column("interconnect_gbps", "float", check=non_negative),
    Column("die_area_mm2", "float", may_be_empty=True, check=positive),
    Column("power_w", "float", check=positive),
    Column("chips_per_server", "int", check=at_least_one),
    Column("software_efficiency", "float", check=fraction_open_closed),
    Column("datacenter", "bool", required=False, may_be_empty=True, default=True),
    Column("tags", required=False, may_be_empty=True, default=""),
    # contract v3, section 7: chips of one family train together; the workloads a chip serves
    Column("cluster_family", required=False, may_be_empty=True, default=""),
    Column("workloads", required=False, may_be_empty=True, default=""),
]
OFFER_COLUMNS = [
    Column("sku", repeats=True),
    Column("channel", packed=True),
    Column("period", repeats=True),
    Column("max_units", "int", check=non_negative),
    Column("unit_price_usd", "float", check=positive),
    Column("lead_time_quarters", "int", check=quarters_ok, narrow=True),
    Column("delivery_risk", "float", may_be_empty=True, check=fraction_closed_open, default=0.0),
    Column("kind", ("buy", "lease"), required=False, may_be_empty=True, default="buy", repeats=True),
    Column("ships_to", required=False, may_be_empty=True, default="", repeats=True),
    Column(
        "term_quarters", "int", required=False, may_be_empty=True, check=term_ok, default=None, narrow=True
    ),
    # extensions (channel diligence): the channel's risk rating and the country goods pass through
    Column("channel_risk", CHANNEL_RISKS, required=False, may_be_empty=True, default="unrated", repeats=True),
    Column("transit", required=False, may_be_empty=True, default="", repeats=True),
]
#: what tells two offers apart (a second row with the same key is an error)
OFFER_KEY = ["sku", "channel", "period", "kind", "ships_to", "term_quarters"]
#: free-text columns the bundled catalog uses to cite its sources.
NOTE_COLUMNS = ("sources", "notes")


class Clause(BaseModel):
    """One clause of ``when_any``: every condition given must hold."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    tpp_min: float | None = None
    tpp_below: float | None = None
    pd_min: float | None = None
    pd_below: float | None = None
    interconnect_min_gbps: float | None = None
    memory_bw_min_tbps: float | None = None
    memory_bw_below_tbps: float | None = None
    datacenter: bool | None = None
    tag: str | None = None
    not_tag: str | None = None


class License(BaseModel):
    """Licence terms of a license-required rule (every key optional)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    fee_pct: float = Field(default=0.0, ge=0, le=MAX_RATE)
    lag_quarters: int = Field(default=0, ge=0, le=MAX_QUARTERS)
    approval: float = Field(default=1.0, gt=0, le=1)


def _places(value: list[object], info: ValidationInfo, star: bool = True) -> list[str]:
    """Country codes, group names (from the file's ``groups``) and, where allowed, ``"*"``."""
    lenient = info.context is None or "groups" not in info.context  # groups checked later (shock rules)
    groups: dict[str, list[str]] = {} if lenient or info.context is None else info.context["groups"]
    out = []
    for item in value:
        text = str(item).strip().upper() if isinstance(item, str) else item
        if star and text == "*":
            out.append("*")
        elif isinstance(text, str) and (
            text in groups or (lenient and text and text not in ISO_ALPHA2 and not _is_code_like(text))
        ):
            out.append(text)
        else:
            try:
                out.append(country_code(item))
            except ValueError as exc:
                if not groups:
                    raise
                raise ValueError(f"{exc} or a group of this file ({', '.join(sorted(groups))})") from None
    return out


def _is_code_like(text: str) -> bool:
    """Two letters: meant as a country code (so an unknown one is an error, not a group name)."""
    return len(text) == 2 and text.isalpha()


def unknown_places(rule: Rule, groups: dict[str, list[str]]) -> list[str]:
    """Names in a rule's country lists that are neither country codes, ``*`` nor groups of ``groups``."""
    names = [*rule.destinations, *rule.exclude_destinations, *(rule.headquarters or [])]
    return [n for n in names if n != "*" and n not in ISO_ALPHA2 and n not in groups]


def site_tag_list(values: list[object]) -> list[str]:
    """Site tags (a scenario's ``sites[].tags``, a rule's ``site_tags``): words without spaces."""
    out = []
    for value in values:
        text = value.strip() if isinstance(value, str) else ""
        if not text or any(c.isspace() or c == ";" for c in text):
            raise ValueError(f"a site tag is one word without spaces or ';', got {value!r}")
        out.append(text)
    return out


def _buy_only() -> list[Literal["buy", "lease"]]:
    return ["buy"]


class Rule(BaseModel):
    """An effective-dated export-control rule (see the contract, section 1)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    id: str
    title: str = ""
    issuer: str = ""
    origins: list[str] = Field(min_length=1)
    destinations: list[str] = Field(min_length=1)
    exclude_destinations: list[str] = Field(default_factory=list)
    headquarters: list[str] | None = None
    applies_to: list[Literal["buy", "lease"]] = Field(default_factory=_buy_only, min_length=1)
    site_tags: list[str] | None = Field(default=None, min_length=1)
    effective: dt.date
    ends: dt.date | None = None
    status: Literal["allowed", "license-required", "prohibited"]
    license: License | None = None
    when_any: list[Clause] = Field(default_factory=list)
    skus: list[str] = Field(default_factory=list)
    source: str = ""
    notes: str = ""

    @field_validator("effective", "ends", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        return None if v is None else parse_date(v)

    @field_validator("site_tags", mode="before")
    @classmethod
    def _site_tags(cls, v: object) -> object:
        return site_tag_list(v) if isinstance(v, list) else v

    @field_validator("origins", mode="before")
    @classmethod
    def _origins(cls, v: object) -> object:
        return [country_code(c) for c in v] if isinstance(v, list) else v

    @field_validator("destinations", "headquarters", mode="before")
    @classmethod
    def _destinations(cls, v: object, info: ValidationInfo) -> object:
        return _places(v, info) if isinstance(v, list) else v

    @field_validator("exclude_destinations", mode="before")
    @classmethod
    def _excluded(cls, v: object, info: ValidationInfo) -> object:
        return _places(v, info, star=False) if isinstance(v, list) else v

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if not self.when_any and not self.skus:
            raise ValueError(f"rule {self.id!r} needs when_any thresholds or a skus list")
        if self.ends is not None and self.effective is not None and self.ends <= self.effective:
            raise ValueError(
                f"rule {self.id!r}: ends ({self.ends}) must be after effective ({self.effective})"
            )
        if self.license is not None and self.status != "license-required":
            raise ValueError(
                f"rule {self.id!r}: license terms apply only to status license-required "
                f"(the status is {self.status})"
            )
        return self


def _group_map(value: object) -> dict[str, list[str]]:
    """``groups:`` with names and member codes upper-cased; a name may not be a country code or ``*``."""
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of group names to lists of country codes")
    out: dict[str, list[str]] = {}
    for name, members in value.items():
        key = str(name).strip().upper()
        if key in ISO_ALPHA2 or key == "*" or not key:
            raise ValueError(f"group name {name!r} is a country code or '*'; choose another name")
        if not isinstance(members, list) or not members:
            raise ValueError(f"group {name!r}: expected a non-empty list of country codes")
        out[key] = [country_code(m) for m in members]
    return out


class RuleFile(BaseModel):
    """``export_rules.yaml``: optional country groups and the rules."""

    model_config = ConfigDict(extra="forbid")
    groups: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[Rule]

    @field_validator("groups", mode="before")
    @classmethod
    def _groups(cls, v: object) -> object:
        return {} if v is None else _group_map(v)


@dataclass
class Catalog:
    """Chips and offers as DataFrames (one row per chip / offer), the export rules and country groups."""

    folder: Path
    chips: pd.DataFrame
    offers: pd.DataFrame
    rules: list[Rule] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)

    @cached_property
    def _records(self) -> dict[str, dict[str, Any]]:
        return {str(k): {str(c): x for c, x in v.items()} for k, v in self.chips.to_dict("index").items()}

    @cached_property
    def compiled(self) -> list[compliance.Compiled]:
        """The rules with their country groups expanded, ready to evaluate."""
        return compliance.compile_rules(self.rules, self.groups)

    def chip(self, sku: str) -> dict[str, Any]:
        """The chip's row as a dict (a copy)."""
        return dict(self._records[sku])

    @cached_property
    def judged(self) -> compliance.Judged:
        """What the rules say of this catalog's chips, worked out once (and handed on by :meth:`with_changes`)."""
        return compliance.Judged(self.chip, self.compiled)

    def with_changes(
        self,
        chips: pd.DataFrame | None = None,
        offers: pd.DataFrame | None = None,
        rules: list[Rule] | None = None,
    ) -> Catalog:
        """A copy with some parts replaced (shocks).

        What was worked out from the parts kept is handed on: the chip records when the chips are
        kept, the compiled rules when the rules are, :attr:`judged` when both are (a risk sample's
        shocks mostly move offers and prices).
        """
        out = Catalog(
            self.folder,
            self.chips if chips is None else chips,
            self.offers if offers is None else offers,
            list(self.rules) if rules is None else rules,
            self.groups,
        )
        kept = {
            "_records": chips is None,
            "compiled": rules is None,
            "judged": chips is None and rules is None,
        }
        for name, keep in kept.items():
            if keep and name in self.__dict__:
                out.__dict__[name] = self.__dict__[name]
        return out


def _derive_chip_columns(chips: pd.DataFrame) -> pd.DataFrame:
    chips = chips.copy()
    records = [{str(k): v for k, v in r.items()} for r in chips.to_dict("records")]
    chips["tpp"] = [compliance.tpp(r) for r in records]
    chips["pd"] = [compliance.performance_density(r) for r in records]
    chips["eff_pflops"] = chips["bf16_tflops"] * chips["software_efficiency"] / 1000.0
    return chips


#: the catalog files, as :func:`load_catalog` reads them
CATALOG_FILES = ("chips.csv", "offers.csv", "export_rules.yaml")
#: catalogs read in this process, by folder and the bytes of their files (see :func:`load_catalog`)
_READ: dict[tuple[str, str], Catalog] = {}
_READ_MOST = 8


def _fingerprint(folder: Path) -> tuple[str, str] | None:
    """The folder as given and a digest of its catalog files' bytes; None when one cannot be read."""
    digest = hashlib.sha256()
    for name in CATALOG_FILES:
        try:
            digest.update((folder / name).read_bytes())
        except OSError:
            return None
        digest.update(b"\0" + name.encode() + b"\0")
    return str(folder), digest.hexdigest()


def _fresh(catalog: Catalog) -> Catalog:
    """A copy of a parsed catalog that its caller may change without touching the kept one."""
    return Catalog(
        catalog.folder, catalog.chips.copy(), catalog.offers.copy(), list(catalog.rules), dict(catalog.groups)
    )


def load_catalog(folder: str | Path | None = None, collect: list[InputError] | None = None) -> Catalog:
    """Read and check a catalog folder.

    A catalog read before in this process from the same folder with the same bytes in its files
    is not parsed again: the caller gets a copy of the one read then (``compare``, ``sweep``, the
    registry and a notebook read one catalog many times; parsing a catalog takes longer than
    solving a small plan).

    Args:
        folder: the folder; None means the bundled ``catalogs/default``.
        collect: when given, every problem found is appended here instead of
            raising on the first (for ``gpuplan catalog validate``).
    """
    folder = Path(folder) if folder is not None else DEFAULT_CATALOG
    if not folder.is_dir():
        raise InputError(
            "catalog folder not found (expected a folder with chips.csv, offers.csv and export_rules.yaml)",
            file=str(folder),
        )
    key = _fingerprint(folder) if collect is None else None
    if key is not None and key in _READ:
        return _fresh(_READ[key])
    catalog = _parse_catalog(folder, collect)
    if key is not None:
        while len(_READ) >= _READ_MOST:
            del _READ[next(iter(_READ))]
        _READ[key] = _fresh(catalog)
    return catalog


def _parse_catalog(folder: Path, collect: list[InputError] | None) -> Catalog:
    """Read and check the three files of a catalog folder (see :func:`load_catalog`)."""

    def fail(err: InputError) -> None:
        if collect is None:
            raise err
        collect.append(err)

    chips_path, offers_path = folder / "chips.csv", folder / "offers.csv"
    all_chip_skus: set[str] = set()
    chips = read_table(chips_path, CHIP_COLUMNS, NOTE_COLUMNS, collect, all_chip_skus)
    chips["origin"] = chips["origin"].str.upper()
    for rec in chips.to_dict("records"):
        if rec["origin"] not in ISO_ALPHA2:
            fail(
                InputError(
                    f"{rec['origin']!r} is not an ISO 3166-1 alpha-2 country code (e.g. US, CN)",
                    file=str(chips_path),
                    row=rec["_row"],
                    column="origin",
                )
            )
    dup = chips[chips["sku"].duplicated(keep="first")]
    for rec in dup.to_dict("records"):
        first = chips.loc[chips["sku"] == rec["sku"], "_row"].iloc[0]
        fail(
            InputError(
                f"duplicate sku {rec['sku']!r} (first on row {first}); each sku must be unique",
                file=str(chips_path),
                row=rec["_row"],
                column="sku",
            )
        )
    chips = chips.drop_duplicates("sku").set_index("sku", drop=False)
    chips.index.name = None
    _check_workloads(chips, str(chips_path), fail)

    known_skus = set(chips.index) | all_chip_skus
    offers = _load_offers(offers_path, chips, known_skus, collect, fail)
    rules, groups = load_rules(folder / "export_rules.yaml", known_skus, collect)
    return Catalog(folder, _derive_chip_columns(chips), offers, rules, groups)


def _load_offers(
    offers_path: Path,
    chips: pd.DataFrame,
    known_skus: set[str],
    collect: list[InputError] | None,
    fail: Callable[[InputError], None],
) -> pd.DataFrame:
    """``offers.csv`` read and checked against the chips; a large file is never copied whole."""
    offers = read_table(offers_path, OFFER_COLUMNS, NOTE_COLUMNS, collect, allow_empty=True)
    period_index = _per_category(offers["period"], _quarter_index, np.int32, -1)
    bad_sku = ~_per_category(offers["sku"], lambda sku: sku in known_skus, bool, False)
    bad_period = period_index < 0
    flagged = np.flatnonzero(bad_sku | bad_period)
    records = offers[["sku", "period", "_row"]].iloc[flagged].to_dict("records")  # the flagged rows only
    for i, rec in zip(flagged.tolist(), records, strict=True):  # in row order, sku before period
        if bad_sku[i]:
            fail(
                InputError(
                    f"sku {rec['sku']!r} is not in chips.csv",
                    file=str(offers_path),
                    row=int(rec["_row"]),
                    column="sku",
                )
            )
        if bad_period[i]:
            try:
                parse_quarter(str(rec["period"]))
            except ValueError as exc:
                fail(InputError(str(exc), file=str(offers_path), row=int(rec["_row"]), column="period"))
    bad_terms = _check_v2_offers(offers, str(offers_path), fail)
    usable = set(chips.index)
    keep = _per_category(offers["sku"], lambda sku: sku in usable, bool, False) & ~bad_period & ~bad_terms
    if not keep.all():  # a large file is copied only when rows go
        offers = offers[keep].reset_index(drop=True)
        period_index = period_index[keep]
    offers["period_index"] = period_index
    offers["ships_to"] = _ships_to_column(offers["ships_to"])
    offers["transit"] = _transit_column(offers, str(offers_path), fail)
    bought_with_term = (offers["kind"] != "lease").to_numpy() & offers["term_quarters"].notna().to_numpy()
    if bought_with_term.any():  # a term means nothing on a purchase
        offers.loc[bought_with_term, "term_quarters"] = None
    dup = _repeated_keys(offers)
    for rec in offers.iloc[np.flatnonzero(dup)].to_dict("records"):
        fail(
            InputError(
                f"a second {rec['kind']} offer for sku {rec['sku']!r}, channel {rec['channel']!r}, "
                f"period {rec['period']}; merge the two rows",
                file=str(offers_path),
                row=rec["_row"],
            )
        )
    if dup.any():
        offers = offers[~dup].reset_index(drop=True)
    offers["offer_id"] = np.arange(len(offers), dtype=np.int32)
    return offers


def _check_workloads(chips: pd.DataFrame, file: str, fail: Any) -> None:
    """``workloads``: words among training and inference (empty: both); ``cluster_family`` empty means the SKU itself."""
    chips["cluster_family"] = [
        str(f).strip() or str(sku) for f, sku in zip(chips["cluster_family"], chips["sku"], strict=True)
    ]
    kept = []
    for rec in chips[["workloads", "_row"]].to_dict("records"):
        words = str(rec["workloads"]).replace(";", " ").split()
        unknown = [w for w in words if w not in WORKLOADS]
        if unknown:
            fail(
                InputError(
                    f"unknown workload {unknown[0]!r}; expected training, inference or both "
                    "(separated by a space), or empty for both",
                    file=file,
                    row=int(rec["_row"]),
                    column="workloads",
                )
            )
        kept.append(" ".join(w for w in WORKLOADS if w in words or not words))
    chips["workloads"] = kept


def _quarter_index(text: object) -> int:
    """``2025Q3`` as its running index (:func:`planner.inputs.units.parse_quarter`), or -1 when it is not a quarter."""
    try:
        return parse_quarter(text)
    except ValueError:
        return -1


def _per_category(
    values: pd.Series, fn: Callable[[object], Any], dtype: Any, missing: Any
) -> npt.NDArray[Any]:
    """``fn`` of every cell of a category column, worked once per category."""
    categories = values.cat.categories
    worked = np.empty(len(categories) + 1, dtype=dtype)  # filled one by one: numpy would unpack tuples
    for k, value in enumerate(categories):
        worked[k] = fn(value)
    worked[-1] = missing  # code -1: an empty cell
    return cast(npt.NDArray[Any], worked[values.cat.codes.to_numpy()])


HASH_SLICE = 100_000  # hashing text copies it as bytes: a slice of rows at a time


def _repeated_keys(offers: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows whose :data:`OFFER_KEY` an earlier row has.

    The key columns are hashed together into one number per row, with no table of every row's
    values (a large file has millions of channels); only rows whose number repeats are compared
    value by value.
    """
    columns = [
        (name, offers[name].cat.codes.to_numpy())
        if isinstance(offers[name].dtype, pd.CategoricalDtype)
        else (name, offers[name].array)  # the column itself, read a slice at a time
        for name in OFFER_KEY
    ]
    mixed = np.empty(len(offers), dtype=np.uint32)  # 32 bits: a few false repeats, each compared
    for i in range(0, len(offers), HASH_SLICE):  # a slice at a time: no copy of a whole column
        part = np.zeros(len(mixed[i : i + HASH_SLICE]), dtype=np.uint64)
        for name, values in columns:
            part *= np.uint64(0x100000001B3)  # FNV-style mixing; overflow wraps, as intended
            if isinstance(values, np.ndarray):  # category codes
                part ^= values[i : i + HASH_SLICE].astype(np.uint64)
                continue
            cells = values[i : i + HASH_SLICE]
            if name == "channel":  # text: hashed cell by cell
                part ^= pd.util.hash_array(np.asarray(cells, dtype=object), categorize=False)
            else:  # a term (0: none)
                part ^= (cells.to_numpy(dtype=np.int64, na_value=-1) + 1).astype(np.uint64)
        mixed[i : i + HASH_SLICE] = part ^ (part >> np.uint64(32))  # folded into 32 bits
    ordered = np.sort(mixed)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    dup = np.zeros(len(offers), dtype=bool)
    if not len(repeated):
        return dup
    candidates = np.flatnonzero(pd.Series(mixed, copy=False).isin(repeated).to_numpy())
    seen: set[tuple[object, ...]] = set()
    rows = offers[OFFER_KEY].iloc[candidates].itertuples(index=False, name=None)
    for i, key in zip(candidates.tolist(), rows, strict=True):
        dup[i] = key in seen
        seen.add(key)
    return dup


def _ships_to_column(texts: pd.Series) -> pd.Categorical:
    """``ships_to`` of every offer as upper-case codes in one order, space-separated (empty: anywhere).

    Each distinct text is worked once: a few texts, however many rows.
    """
    return _recoded(texts, [" ".join(_ships_to(str(t))) for t in texts.cat.categories])


def _recoded(texts: pd.Series, canonical: list[str]) -> pd.Categorical:
    """A categorical column with each category replaced by its ``canonical`` text (equal texts merged)."""
    categories = pd.Index(canonical, dtype=object).unique()
    recode = np.append(categories.get_indexer(pd.Index(canonical, dtype=object)), -1)
    return pd.Categorical.from_codes(recode[texts.cat.codes.to_numpy()], categories=categories)


def _transit_column(offers: pd.DataFrame, file: str, fail: Callable[[InputError], None]) -> pd.Categorical:
    """``transit``: one country code (upper-cased) or empty; a row naming anything else is reported."""
    texts = offers["transit"].astype("category")
    canonical = [str(t).strip().upper() for t in texts.cat.categories]
    wrong = {i for i, c in enumerate(canonical) if c and c not in ISO_ALPHA2}
    if wrong:
        codes = texts.cat.codes.to_numpy()
        for i in np.flatnonzero(np.isin(codes, list(wrong))).tolist():
            value = texts.cat.categories[codes[i]]
            fail(
                InputError(
                    f"{value!r} is not one ISO 3166-1 alpha-2 country code (the country goods pass "
                    "through, e.g. SG; empty: shipped direct)",
                    file=file,
                    row=int(offers["_row"].iloc[i]),
                    column="transit",
                )
            )
        canonical = ["" if i in wrong else c for i, c in enumerate(canonical)]
    return _recoded(texts, canonical)


def _ships_to(text: str) -> tuple[str, ...]:
    """``ships_to`` as upper-case codes (empty: ships anywhere)."""
    return tuple(sorted({c.upper() for c in text.replace(";", " ").split()}))


def _check_v2_offers(offers: pd.DataFrame, file: str, fail: Any) -> npt.NDArray[np.bool_]:
    """Country codes in ``ships_to``; a lease needs ``term_quarters`` and exactly one ``ships_to`` code.

    Returns the rows with a problem.
    """
    bad = np.zeros(len(offers), dtype=bool)
    # only leases and offers that name countries have anything to check
    checked = np.flatnonzero(((offers["kind"] == "lease") | (offers["ships_to"] != "")).to_numpy())
    rows = offers[["kind", "ships_to", "term_quarters", "_row"]].iloc[checked].to_dict("records")
    for i, rec in zip(checked.tolist(), rows, strict=True):
        row = int(rec["_row"])
        codes = str(rec["ships_to"]).replace(";", " ").split()
        for code in codes:
            if code.upper() not in ISO_ALPHA2:
                message = f"{code!r} is not an ISO 3166-1 alpha-2 country code (e.g. CN, MY, US)"
                fail(InputError(message, file=file, row=row, column="ships_to"))
                bad[i] = True
        if rec["kind"] != "lease":
            continue
        if pd.isna(rec["term_quarters"]):
            message = "a lease offer needs term_quarters (the quarters of service it commits to)"
            fail(InputError(message, file=file, row=row, column="term_quarters"))
            bad[i] = True
        if len({c.upper() for c in codes}) != 1:
            message = f"a lease offer ships to exactly one country (where the rented chips run), got {rec['ships_to']!r}"
            fail(InputError(message, file=file, row=row, column="ships_to"))
            bad[i] = True
    return bad


def _rule_problems(rules: list[Rule], skus: set[str], file: str) -> list[InputError]:
    """Duplicate rule ids and SKUs a rule lists that chips.csv lacks."""
    seen: set[str] = set()
    problems = []
    for i, rule in enumerate(rules):
        key = f"rules[{i}]"
        if rule.id in seen:
            problems.append(InputError(f"duplicate rule id {rule.id!r}", file=file, key=key))
        seen.add(rule.id)
        for sku in rule.skus:
            if sku not in skus:
                message = f"rule {rule.id!r} lists sku {sku!r}, which is not in chips.csv"
                problems.append(InputError(message, file=file, key=key))
    return problems


def load_rules(
    path: Path, skus: set[str], collect: list[InputError] | None = None
) -> tuple[list[Rule], dict[str, list[str]]]:
    """Read ``export_rules.yaml``: its country groups and rules; rule ids must be unique and listed SKUs must exist.

    With ``collect`` each rule is checked on its own and every problem is appended.
    """
    from planner.inputs.yamlio import read_yaml, validate

    data = read_yaml(path)

    def fail(problem: InputError) -> None:
        if collect is None:
            raise problem
        collect.append(problem)

    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        fail(InputError("expected a top-level key rules with a list of rules", file=str(path)))
        return [], {}
    try:
        groups = _group_map(data.get("groups") or {})
    except ValueError as exc:
        fail(InputError(str(exc), file=str(path), key="groups"))
        groups = {}
    context = {"groups": groups}
    if collect is None:
        rules = validate(RuleFile, data, str(path), context=context).rules
    else:
        rules = []
        for i, item in enumerate(data["rules"]):
            try:
                rules.append(validate(Rule, item, str(path), prefix=("rules", i), context=context))
            except InputError as err:
                collect.append(err)
    for problem in _rule_problems(rules, skus, str(path)):
        fail(problem)
    return rules, groups
