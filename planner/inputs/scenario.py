"""The scenario YAML file: horizon, budget, targets, power, fleet and policy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from planner.errors import InputError
from planner.inputs.catalog import CHANNEL_RISKS, site_tag_list
from planner.inputs.countries import country_code
from planner.inputs.units import MAX_AMOUNT, MAX_NAME, MAX_RATE, parse_money, parse_quarter, quarter_name
from planner.inputs.yamlio import read_yaml, validate
from planner.model.choices import Objective

if TYPE_CHECKING:
    from planner.inputs.catalog import Catalog

#: validation context of a scenario read back from its own dump (spellings already normalised)
DUMPED = "dumped"
#: years of book or service life accepted (a bound that keeps every quarter a real date)
MAX_LIFE_YEARS = 100
#: effective chips in one training cluster, at most
MAX_CLUSTER_CHIPS = 10_000_000

Money = Annotated[float, BeforeValidator(parse_money)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


def _quarter_keys(value: dict[str, Any] | None) -> dict[str, Any] | None:
    for key in value or {}:
        parse_quarter(key)
    return value


class Budget(_Strict):
    """Money available: a total, per-quarter amounts, or both, in the budget currency.

    ``total`` and ``per_period`` (contract v3) are read into ``total_usd`` and ``per_period_usd``,
    which hold amounts in the budget currency (USD unless ``finance.currency`` names another).
    """

    total_usd: Money | None = None
    per_period_usd: dict[str, Money] | None = None
    carry_over: bool = True

    _quarters = field_validator("per_period_usd")(_quarter_keys)

    @model_validator(mode="before")
    @classmethod
    def _spelling(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for plain, usd in (("total", "total_usd"), ("per_period", "per_period_usd")):
            if plain in data:
                if usd in data:
                    raise ValueError(f"give {plain} or {usd}, not both")
                data[usd] = data.pop(plain)
        return data


def _years_in_quarters(value: float | None, key: str) -> float | None:
    if value is not None and abs(value * 4 - round(value * 4)) > 1e-9:
        raise ValueError(f"{key} must be a whole number of quarters (a multiple of 0.25), got {value:g}")
    return value


class Finance(_Strict):
    """Money over the asset's life (contract v3, section 6): currency, payments, discounting, book value."""

    currency: str = "USD"
    fx: dict[str, Annotated[float, Field(gt=0, le=MAX_RATE)]] = Field(default_factory=dict)
    discount_rate: float = Field(default=0.0, ge=0, le=1)
    deposit: Fraction = 1.0
    book_life_years: float = Field(default=4.0, gt=0, le=MAX_LIFE_YEARS)
    residual: Literal["none", "book"] = "none"
    service_life_years: float | None = Field(default=None, gt=0, le=MAX_LIFE_YEARS)

    _quarters = field_validator("fx")(_quarter_keys)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v: object) -> object:
        if isinstance(v, str) and re.fullmatch(r"\s*[A-Za-z]{3}\s*", v):
            return v.strip().upper()
        raise ValueError(f"expected a three-letter currency code such as USD or CNY, got {v!r}")

    @field_validator("book_life_years", "service_life_years")
    @classmethod
    def _whole_quarters(cls, v: float | None, info: ValidationInfo) -> float | None:
        return _years_in_quarters(v, str(info.field_name))

    @model_validator(mode="after")
    def _path(self) -> Finance:
        if self.currency == "USD" and self.fx:
            raise ValueError("fx: the budget currency is USD; an exchange-rate path needs finance.currency")
        if self.currency != "USD" and not self.fx:
            raise ValueError(
                f"fx: a budget in {self.currency} needs an exchange-rate path "
                f"({self.currency} per USD by quarter, e.g. {{2025Q1: 7.2}})"
            )
        return self

    @property
    def book_quarters(self) -> int:
        """Quarters of straight-line depreciation."""
        return round(self.book_life_years * 4)

    @property
    def service_quarters(self) -> int | None:
        """Quarters a chip serves from delivery (None: no retirement)."""
        return None if self.service_life_years is None else round(self.service_life_years * 4)


class Training(_Strict):
    """Training compute in a quarter (contract v3, section 7): effective PFLOPS in whole clusters."""

    pflops: float | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    cluster_chips: int | None = Field(default=None, ge=1, le=MAX_CLUSTER_CHIPS)

    @model_validator(mode="after")
    def _something(self) -> Training:
        if self.pflops is None and self.cluster_chips is None:
            raise ValueError("training needs pflops, cluster_chips or both")
        return self


class Inference(_Strict):
    """Memory bandwidth and memory set aside for serving models in a quarter (contract v3, section 7)."""

    memory_bw_tbps: float | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    memory_tb: float | None = Field(default=None, ge=0, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _something(self) -> Inference:
        if self.memory_bw_tbps is None and self.memory_tb is None:
            raise ValueError("inference needs memory_bw_tbps, memory_tb or both")
        return self


class Target(_Strict):
    """Compute and memory the fleet must reach by a quarter; workloads (contract v3) optional."""

    pflops: float | None = Field(default=None, ge=0)
    memory_tb: float | None = Field(default=None, ge=0)
    training: Training | None = None
    inference: Inference | None = None

    @property
    def has_workloads(self) -> bool:
        """Whether the quarter carries a workload target (and so a split of the chips in service)."""
        return self.training is not None or self.inference is not None


class Power(_Strict):
    """Power limits and running-cost inputs of a site."""

    pue: float = Field(default=1.0, ge=1.0, le=MAX_RATE)
    electricity_usd_per_kwh: float = Field(default=0.0, ge=0, le=MAX_RATE)
    site_capacity_mw: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    _quarters = field_validator("site_capacity_mw")(_quarter_keys)


class FleetEntry(_Strict):
    """Chips already installed at the start of the plan."""

    sku: str
    chips: int = Field(ge=0)
    site: str | None = None
    installed: str | None = None  # contract v3: the quarter the chips entered service

    @field_validator("installed")
    @classmethod
    def _quarter(cls, v: str | None) -> str | None:
        if v is not None:
            parse_quarter(v)
        return v


class Buyer(_Strict):
    """Who buys: the country of the buyer's headquarters (rules may depend on it)."""

    headquarters: str

    _code = field_validator("headquarters", mode="before")(country_code)


class Site(_Strict):
    """A data center the planner can deploy owned chips to (contract v2)."""

    name: Name
    country: str
    pue: float = Field(default=1.0, ge=1.0, le=MAX_RATE)
    electricity_usd_per_kwh: float = Field(default=0.0, ge=0, le=MAX_RATE)
    capacity_mw: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)

    _code = field_validator("country", mode="before")(country_code)
    _quarters = field_validator("capacity_mw")(_quarter_keys)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: object) -> object:
        return site_tag_list(v) if isinstance(v, list) else v


GroupBy = Literal[
    "category", "vendor", "origin", "channel", "site", "country", "kind", "channel_risk", "transit"
]


def _country_value(value: object, info: ValidationInfo) -> object:
    """A country code in a share, in any case and with spaces around, as sites and catalogs take it."""
    if info.data.get("by") in ("country", "transit") and isinstance(value, str) and value.strip() != "*":
        return value.strip().upper()
    return value


class Within(_Strict):
    """Where a share is measured (an extension): only the options and fleet with this value."""

    by: GroupBy
    value: str

    _country = field_validator("value")(_country_value)


class Share(_Strict):
    """``measure`` of the group ``by = value`` (each value for ``*``) at least ``min`` / at most ``max`` of the measure over everything, or over the part ``within`` selects."""

    by: GroupBy
    value: str
    measure: Literal["compute", "spend"]
    min: Fraction | None = None
    max: Fraction | None = None
    within: Within | None = None

    _country = field_validator("value")(_country_value)

    @model_validator(mode="after")
    def _bounds(self) -> Share:
        if self.min is None and self.max is None:
            raise ValueError("a share needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class Policy(_Strict):
    """What the buyer permits: licence-required offers, excluded SKUs, shares."""

    allow_license_required: bool = False
    exclude_skus: list[str] = Field(default_factory=list)
    exclude_channels: list[str] = Field(default_factory=list)
    shares: list[Share] = Field(default_factory=list)


class Scenario(_Strict):
    """A planning scenario as the contract (section 2) defines it: one ``destination`` with ``power`` (version 1), or ``sites`` (version 2)."""

    name: Name
    catalog: str | None = None
    destination: str | None = None
    buyer: Buyer | None = None
    sites: list[Site] | None = None
    periods: list[str] = Field(min_length=1)
    objective: Objective = Field(strict=False)  # an enum from its string (the model is strict)
    budget: Budget = Field(default_factory=Budget)
    targets: dict[str, Target] = Field(default_factory=dict)
    power: Power | None = None
    fleet: list[FleetEntry] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    finance: Finance | None = None
    _source: str | None = PrivateAttr(default=None)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> Scenario:
        """A scenario from its ``model_dump`` (e.g. sent to a worker process) and the file it came from."""
        scenario = cls.model_validate(data, context={DUMPED: True})
        scenario._source = source
        return scenario

    @model_validator(mode="before")
    @classmethod
    def _budget_spelling(cls, data: Any, info: ValidationInfo) -> Any:
        """With a budget currency other than USD, ``total_usd`` and ``per_period_usd`` are refused."""
        if not isinstance(data, dict) or (info.context or {}).get(DUMPED):
            return data
        finance, budget = data.get("finance"), data.get("budget")
        currency = finance.get("currency") if isinstance(finance, dict) else None
        if isinstance(currency, str) and currency.strip().upper() != "USD" and isinstance(budget, dict):
            for key in ("total_usd", "per_period_usd"):
                if key in budget:
                    plain = key.removesuffix("_usd")
                    raise ValueError(
                        f"budget.{key}: the budget is in {currency.strip().upper()} "
                        f"(finance.currency); write budget.{plain} instead"
                    )
        return data

    @property
    def source(self) -> str | None:
        """The file the scenario was read from (None when built in Python)."""
        return self._source

    @field_validator("destination", mode="before")
    @classmethod
    def _destination(cls, v: object) -> object:
        return None if v is None else country_code(v)

    @field_validator("periods")
    @classmethod
    def _periods(cls, v: list[str]) -> list[str]:
        idx = [parse_quarter(p) for p in v]
        for a, b, name in zip(idx, idx[1:], v[1:]):
            if b != a + 1:
                raise ValueError(
                    f"periods must be consecutive quarters in order: {name} follows "
                    f"{quarter_name(a)} (expected {quarter_name(a + 1)})"
                )
        return v

    @model_validator(mode="after")
    def _where(self) -> Scenario:
        if (self.destination is None) == (self.sites is None):
            raise ValueError(
                "give either destination (with an optional power section) or sites, not both"
                if self.sites is not None
                else "give destination (a country code) or a list of sites"
            )
        if self.sites is not None:
            if self.power is not None:
                raise ValueError(
                    "power belongs to the destination form; with sites give each site's pue, "
                    "electricity_usd_per_kwh and capacity_mw"
                )
            if not self.sites:
                raise ValueError("sites: at least one site is required")
            names = [site.name for site in self.sites]
            folded = [" ".join(n.split()).casefold() for n in names]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise ValueError(
                        f"sites[{i}].name: site {name!r} appears twice; site names must be unique"
                    )
                if folded[i] in folded[:i]:
                    other = names[folded.index(folded[i])]
                    raise ValueError(
                        f"sites[{i}].name: site {name!r} differs from {other!r} only in case or spaces; "
                        "give names that tell them apart"
                    )
        names = [site.name for site in self.site_list()]
        for i, entry in enumerate(self.fleet):
            if entry.site is not None and entry.site not in names:
                raise ValueError(f"fleet[{i}].site: no site {entry.site!r} (sites: {', '.join(names)})")
            if entry.installed is not None and parse_quarter(entry.installed) > parse_quarter(
                self.periods[-1]
            ):
                raise ValueError(
                    f"fleet[{i}].installed: {entry.installed} is after the last period {self.periods[-1]}"
                )
        return self

    @model_validator(mode="after")
    def _training_objective(self) -> Scenario:
        if self.objective == Objective.MAX_TRAINING:
            last = self.targets.get(self.periods[-1])
            if last is None or last.training is None:
                raise ValueError(
                    f"objective max-training maximises the training compute of the last period: give "
                    f"targets.{self.periods[-1]}.training (at least its cluster_chips)"
                )
        return self

    @model_validator(mode="after")
    def _fx_from_the_start(self) -> Scenario:
        if self.finance is not None and self.finance.fx:
            first = parse_quarter(self.periods[0])
            if min(parse_quarter(k) for k in self.finance.fx) > first:
                raise ValueError(
                    f"finance.fx: the exchange-rate path starts after the first period {self.periods[0]}; "
                    f"give a rate for {self.periods[0]} or earlier"
                )
        return self

    def site_list(self) -> list[Site]:
        """The scenario's sites; the version-1 form is one site named after its destination."""
        if self.sites is not None:
            return list(self.sites)
        assert self.destination is not None
        power = self.power or Power()
        return [
            Site(
                name=self.destination,
                country=self.destination,
                pue=power.pue,
                electricity_usd_per_kwh=power.electricity_usd_per_kwh,
                capacity_mw=dict(power.site_capacity_mw),
            )
        ]

    @property
    def headquarters(self) -> str:
        """The buyer's headquarters: ``buyer.headquarters``, else the first site's country."""
        return self.buyer.headquarters if self.buyer is not None else self.site_list()[0].country

    @model_validator(mode="after")
    def _in_horizon(self, info: ValidationInfo) -> Scenario:
        horizon = set(self.periods)
        for key in self.targets:
            parse_quarter(key)
            if key not in horizon:
                raise ValueError(
                    f"targets: {key} is outside the periods {self.periods[0]}-{self.periods[-1]}"
                )
        for key in self.budget.per_period_usd or {}:
            if key not in horizon:
                raise ValueError(
                    f"budget.per_period_usd: {key} is outside the periods "
                    f"{self.periods[0]}-{self.periods[-1]}"
                )
        return self

    @property
    def period_index(self) -> list[int]:
        """Quarter indices of the scenario's periods."""
        return [parse_quarter(p) for p in self.periods]

    def catalog_path(self) -> Path | None:
        """The catalog folder, resolved relative to the scenario file."""
        if self.catalog is None:
            return None
        base = Path(self.source).parent if self.source else Path.cwd()
        return (base / self.catalog).resolve()


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file (catalog references are checked by :func:`planner.plans.plan`)."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping of keys (name, destination, periods, ...)", file=str(path))
    data = {"name": path.stem} | data
    scenario = validate(Scenario, data, str(path))
    scenario._source = str(path)
    return scenario


def check_plain_objective(scenario: Scenario, command: str) -> None:
    """``explain``, ``stress``, ``risk`` and ``sweep`` read compute or cost as the objective: not yet ``max-training``."""
    if scenario.objective == Objective.MAX_TRAINING:
        raise InputError(
            f"{command} does not handle objective max-training yet; plan it with gpuplan plan, or give "
            "max-compute or min-cost with training targets",
            file=scenario.source,
            key="objective",
        )


def check_references(scenario: Scenario, catalog: Catalog) -> None:
    """SKUs, channels and share values named by the scenario must exist in the catalog."""
    file = scenario.source or "scenario"
    skus = set(catalog.chips.index)
    for i, entry in enumerate(scenario.fleet):
        if entry.sku not in skus:
            raise InputError(
                f"sku {entry.sku!r} is not in the catalog's chips.csv", file=file, key=f"fleet[{i}].sku"
            )
    for i, sku in enumerate(scenario.policy.exclude_skus):
        if sku not in skus:
            raise InputError(
                f"sku {sku!r} is not in the catalog's chips.csv", file=file, key=f"policy.exclude_skus[{i}]"
            )
    channels = set(catalog.offers["channel"])
    for i, ch in enumerate(scenario.policy.exclude_channels):
        if ch not in channels:
            raise InputError(
                f"channel {ch!r} is not in the catalog's offers.csv",
                file=file,
                key=f"policy.exclude_channels[{i}]",
            )
    sites = scenario.site_list()
    countries = {site.country for site in sites}
    countries |= {
        c
        for kind, codes in zip(catalog.offers["kind"], catalog.offers["ships_to"], strict=True)
        if kind == "lease"
        for c in codes.split()
    }
    values = {
        "category": set(catalog.chips["category"]),
        "vendor": set(catalog.chips["vendor"]),
        "origin": set(catalog.chips["origin"]),
        "channel": channels,
        "site": {site.name for site in sites},
        "country": countries,
        "kind": {"buy", "lease"},
        "channel_risk": {*CHANNEL_RISKS, "unrated"},
        "transit": {str(c) for c in catalog.offers["transit"].unique() if str(c)},
    }
    for i, share in enumerate(scenario.policy.shares):
        if share.within is not None and share.within.value not in values[share.within.by]:
            raise InputError(
                f"no {share.within.by} {share.within.value!r} in the scenario or the catalog",
                file=file,
                key=f"policy.shares[{i}].within.value",
            )
        if share.value != "*" and share.value not in values[share.by]:
            where = "scenario" if share.by in ("site", "kind") else "catalog"
            if share.by == "country":
                where = "scenario's sites or the catalog's lease offers"
            raise InputError(
                f"no {share.by} {share.value!r} in the {where}", file=file, key=f"policy.shares[{i}].value"
            )
