"""Synthetic catalogs and scenarios of a given size, for the benchmark (seeded, reproducible)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import yaml

VENDORS = [
    ("NVIDIA", "US"),
    ("AMD", "US"),
    ("Huawei", "CN"),
    ("Cambricon", "CN"),
    ("Hygon", "CN"),
    ("MetaX", "CN"),
]


def quarters(n: int, start: int = 2025) -> list[str]:
    return [f"{start + i // 4}Q{i % 4 + 1}" for i in range(n)]


def _workload_columns(chips: list[dict[str, object]]) -> None:
    """Three cluster families per vendor; every fifth chip serves inference only."""
    for i, c in enumerate(chips):
        c["cluster_family"] = f"{str(c['vendor']).lower()}-{i % 3}"
        c["workloads"] = "inference" if i % 5 == 4 else "training inference"


def _workload_targets(scenario: dict[str, object], qs: list[str], skus: int) -> None:
    """Training in clusters of 1,024 chips and inference bandwidth in the second half of the quarters."""
    targets = scenario.setdefault("targets", {})
    assert isinstance(targets, dict)
    for q in qs[len(qs) // 2 :]:
        entry = targets.setdefault(q, {})
        entry["training"] = {"pflops": 40.0 * skus / 25, "cluster_chips": 1024}
        entry["inference"] = {"memory_bw_tbps": 4000.0 * skus / 25}


def make(
    folder: Path,
    skus: int,
    channels: int,
    n_quarters: int,
    objective: str = "min-cost",
    seed: int = 7,
    destination: str = "US",
    sites: int = 1,
    shares: list[dict[str, object]] | None = None,
    workloads: bool = False,
) -> Path:
    """Write catalog/ and scenario.yaml into ``folder``; returns the scenario path.

    With ``sites`` > 1 the scenario is in the version-2 form: a buyer headquartered in CN, a site in
    CN and sites abroad (MY, AE, SG, ...), and lease offers in the countries of the sites abroad
    (one lease channel, a 4-quarter term), so the model decides where each chip goes and what to
    rent. ``shares`` replaces the default share rules (30% domestic compute, at most half of the
    spend with any one vendor). With ``workloads``, chips get a ``cluster_family`` (three per
    vendor) and ``workloads`` (every fifth chip serves inference only), and the second half of the
    quarters carries training targets in clusters of 1,024 chips and inference bandwidth targets
    (contract section 7).
    """
    rng = np.random.default_rng(seed)
    cat = folder / "catalog"
    cat.mkdir(parents=True, exist_ok=True)
    chips = []
    for i in range(skus):
        vendor, origin = VENDORS[i % len(VENDORS)]
        bf16 = float(rng.choice([100, 150, 300, 500, 800, 1000, 2000]))
        chips.append(
            {
                "sku": f"chip-{i:03d}",
                "vendor": vendor,
                "model": f"Chip {i}",
                "category": "domestic" if origin == "CN" else rng.choice(["full-spec", "export-compliant"]),
                "origin": origin,
                "bf16_tflops": bf16,
                "fp8_tflops": 2 * bf16,
                "int8_tops": 2 * bf16,
                "memory_gb": float(rng.choice([24, 48, 64, 96, 141, 192])),
                "memory_bw_tbps": 2.0,
                "interconnect_gbps": float(rng.choice([64, 400, 900])),
                "die_area_mm2": float(rng.choice([600, 814])),
                "power_w": float(300 + bf16 * 0.8),
                "chips_per_server": int(rng.choice([1, 4, 8])),
                "software_efficiency": float(rng.choice([0.6, 0.7, 0.8, 1.0])),
                "datacenter": "true",
            }
        )
    if workloads:
        _workload_columns(chips)
    with (cat / "chips.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(chips[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(chips)
    qs = quarters(n_quarters)
    abroad = ["MY", "AE", "SG", "JP", "IN"][: max(sites - 1, 0)]
    with (cat / "offers.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        header = [
            "sku",
            "channel",
            "period",
            "max_units",
            "unit_price_usd",
            "lead_time_quarters",
            "delivery_risk",
        ]
        w.writerow(header + (["kind", "ships_to", "term_quarters"] if sites > 1 else []))
        for c in chips:
            base = c["bf16_tflops"] * c["software_efficiency"] * float(rng.uniform(25, 60))
            for k in range(channels):
                for q in qs:
                    w.writerow(
                        [
                            c["sku"],
                            f"channel-{k}",
                            q,
                            int(rng.integers(0, 20000)),
                            round(base * float(rng.uniform(0.9, 1.3)), 2),
                            int(rng.integers(0, 2)),
                            round(float(rng.choice([0, 0.02, 0.05, 0.1])), 2),
                        ]
                        + (["buy", "", ""] if sites > 1 else [])
                    )
            for country in abroad if c["origin"] != "CN" else []:
                for q in qs:
                    w.writerow(
                        [
                            c["sku"],
                            f"cloud-{country.lower()}",
                            q,
                            int(rng.integers(0, 8000)),
                            round(base * float(rng.uniform(0.08, 0.12)), 2),  # per chip and quarter
                            0,
                            0.0,
                            "lease",
                            country,
                            4,
                        ]
                    )
    rules = {
        "rules": [
            {
                "id": "a",
                "origins": ["US"],
                "destinations": ["CN"],
                "effective": "2023-11-17",
                "status": "prohibited",
                "when_any": [{"tpp_min": 4800, "datacenter": True}, {"tpp_min": 1600, "pd_min": 5.92}],
            },
            {
                "id": "b",
                "origins": ["US"],
                "destinations": ["CN"],
                "effective": "2023-11-17",
                "status": "license-required",
                "when_any": [{"tpp_min": 1600, "pd_min": 3.2, "pd_below": 5.92}],
            },
        ]
    }
    (cat / "export_rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    per_quarter = 4e8 * skus / 25
    scenario = {
        "name": f"synthetic-{skus}x{channels}x{n_quarters}",
        "catalog": "catalog",
        "destination": destination,
        "periods": qs,
        "objective": objective,
        "budget": {"total_usd": per_quarter * n_quarters, "per_period_usd": {q: per_quarter for q in qs}},
        "power": {
            "pue": 1.3,
            "electricity_usd_per_kwh": 0.06,
            "site_capacity_mw": {q: 20.0 * skus / 25 * (i + 1) for i, q in enumerate(qs)},
        },
        "policy": {
            "allow_license_required": True,
            "shares": shares
            or [
                {"by": "category", "value": "domestic", "measure": "compute", "min": 0.3},
                {"by": "vendor", "value": "*", "measure": "spend", "max": 0.5},
            ],
        },
    }
    if objective == "min-cost":
        scenario["targets"] = {qs[-1]: {"pflops": 300.0 * skus / 25 * n_quarters / 4}}
    if workloads:
        _workload_targets(scenario, qs, skus)
    if sites > 1:
        caps = {q: 20.0 * skus / 25 * (i + 1) / sites for i, q in enumerate(qs)}
        del scenario["destination"]
        power = scenario.pop("power")
        scenario["buyer"] = {"headquarters": "CN"}
        scenario["sites"] = [
            {
                "name": f"site-{country.lower()}",
                "country": country,
                "pue": power["pue"],
                "electricity_usd_per_kwh": power["electricity_usd_per_kwh"],
                "capacity_mw": caps,
            }
            for country in ["CN", *abroad]
        ]
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path
