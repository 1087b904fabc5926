"""Build a catalog's ``chips.csv`` from Epoch AI's Machine Learning Hardware dataset (CC BY 4.0).

Units: FLOP/s and OP/s -> TFLOPS/TOPS (/1e12), bytes -> GB (/1e9), byte/s -> TB/s
(/1e12) for memory and GB/s (/1e9) for the intranode link. ``model`` is Epoch's
``Hardware name``; ``sku`` is its lower-case slug. ``origin``, ``category`` and
``software_efficiency`` come from the manufacturer through :data:`MANUFACTURERS`,
overridable with a YAML mapping file::

    manufacturers:
      Graphcore: {origin: GB, category: full-spec, software_efficiency: 0.6}
    skus:
      nvidia-h20: {category: export-compliant, chips_per_server: 8}
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.inputs.catalog import CHIP_COLUMNS
from planner.inputs.fileio import check_input
from planner.rules.compliance import tpp

CREDIT = "Epoch AI, 'Machine Learning Hardware', epoch.ai/data/machine-learning-hardware (CC BY 4.0)"
NAME, MAKER, EPOCH_TPP = "Hardware name", "Manufacturer", "Total processing performance (bit-OP/s)"
#: contract column <- Epoch column (all per second, scaled by 1e12)
RATES = {
    "bf16_tflops": "Tensor-FP16/BF16 performance (FLOP/s)",
    "fp8_tflops": "FP8 performance (FLOP/s)",
    "fp4_tflops": "FP4 performance (FLOP/s)",
    "fp64_tflops": "FP64 (double precision) performance (FLOP/s)",
    "fp32_tflops": "FP32 (single precision) performance (FLOP/s)",
    "tf32_tflops": "TF32 (TensorFloat-32) performance (FLOP/s)",
    "fp16_tflops": "FP16 (half precision) performance (FLOP/s)",
    "int8_tops": "INT8 performance (OP/s)",
    "int4_tops": "INT4 performance (OP/s)",
}
#: manufacturer -> origin, category, software efficiency (a planning assumption, see SOURCES.md)
MANUFACTURERS: dict[str, dict[str, Any]] = {
    "NVIDIA": {"origin": "US", "category": "full-spec", "software_efficiency": 1.0},
    "AMD": {"origin": "US", "category": "full-spec", "software_efficiency": 0.8},
    "Intel": {"origin": "US", "category": "full-spec", "software_efficiency": 0.7},
    "Google": {"origin": "US", "category": "full-spec", "software_efficiency": 0.9},
    "Amazon AWS": {"origin": "US", "category": "full-spec", "software_efficiency": 0.8},
    "Meta": {"origin": "US", "category": "full-spec", "software_efficiency": 0.8},
    "Microsoft": {"origin": "US", "category": "full-spec", "software_efficiency": 0.8},
    "Tesla": {"origin": "US", "category": "full-spec", "software_efficiency": 0.7},
    "PEZY": {"origin": "JP", "category": "full-spec", "software_efficiency": 0.5},
    "Huawei": {"origin": "CN", "category": "domestic", "software_efficiency": 0.7},
    "Kunlunxin Baidu": {"origin": "CN", "category": "domestic", "software_efficiency": 0.6},
    "Cambricon": {"origin": "CN", "category": "domestic", "software_efficiency": 0.6},
    "MetaX": {"origin": "CN", "category": "domestic", "software_efficiency": 0.6},
    "Iluvatar CoreX": {"origin": "CN", "category": "domestic", "software_efficiency": 0.5},
    "National University of Defense Technology": {
        "origin": "CN",
        "category": "domestic",
        "software_efficiency": 0.5,
    },
    "Moore Threads (Tencent)": {"origin": "CN", "category": "domestic", "software_efficiency": 0.5},
    "Sunway": {"origin": "CN", "category": "domestic", "software_efficiency": 0.5},
    "Biren": {"origin": "CN", "category": "domestic", "software_efficiency": 0.5},
    "Hygon": {"origin": "CN", "category": "domestic", "software_efficiency": 0.6},
    "Alibaba": {"origin": "CN", "category": "domestic", "software_efficiency": 0.6},
}
#: US parts designed for the China market under the 2022/2023 rules
COMPLIANT_NAMES = re.compile(r"\b(H20|L20|L2|H800|A800|4090 ?D|MI308X?)\b", re.I)
CONSUMER_NAMES = re.compile(r"GeForce|TITAN|Radeon RX|RTX \d{4}(?!.*Ada)", re.I)


@dataclass
class ImportReport:
    """Chips read from an Epoch AI export and the rows skipped, with the reason for each."""

    chips: pd.DataFrame
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # row, name, reason
    tpp_checked: int = 0  # rows with Epoch's TPP, imported or not
    tpp_mismatches: list[tuple[str, float, float]] = field(default_factory=list)  # sku, ours, Epoch's


def slug(name: str) -> str:
    """A catalog SKU made from a chip name: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _value(raw: Any, scale: float) -> float | None:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == "":
        return None
    try:
        v = float(raw) / scale
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v >= 0 else None


def import_epoch(
    csv_path: Path,
    mapping: dict[str, Any] | None = None,
    chips_per_server: int = 8,
    host_overhead_w: float = 0.0,
) -> ImportReport:
    """Convert the Epoch CSV; rows missing a field the contract requires are reported, not guessed."""
    check_input(csv_path, "a CSV file")
    try:
        df = pd.read_csv(csv_path, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV file ({exc})", file=str(csv_path)) from None
    needed = [NAME, MAKER, RATES["bf16_tflops"], "Memory (bytes)", "Memory bandwidth (byte/s)", "TDP (W)"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(
            f"not Epoch's ML hardware file: missing column(s) {', '.join(missing)}", file=str(csv_path)
        )
    mapping = mapping or {}
    makers = MANUFACTURERS | mapping.get("manufacturers", {})
    overrides = mapping.get("skus", {})
    rows, report, seen = [], ImportReport(pd.DataFrame()), set()
    for i, rec in enumerate(df.to_dict("records")):
        row_no, name = i + 2, str(rec[NAME]).strip()
        maker = makers.get(str(rec[MAKER]).strip())
        if maker is None:
            report.skipped.append(
                (
                    row_no,
                    name,
                    f"manufacturer {rec[MAKER]!r} has no origin/category mapping (add it with --mapping)",
                )
            )
            continue
        chip: dict[str, Any] = {
            "sku": slug(name),
            "vendor": str(rec[MAKER]).strip(),
            "model": name,
            "origin": maker["origin"],
            "category": maker["category"],
            "software_efficiency": maker["software_efficiency"],
        }
        if maker["origin"] == "US" and COMPLIANT_NAMES.search(name):
            chip["category"] = "export-compliant"
        for col, epoch_col in RATES.items():
            chip[col] = _value(rec.get(epoch_col), 1e12)
        notes = []
        if not chip["bf16_tflops"] and chip["fp16_tflops"]:
            chip["bf16_tflops"] = chip["fp16_tflops"]
            notes.append("bf16 from the FP16 (half precision) rate: no tensor rate given")
        chip["memory_gb"] = _value(rec.get("Memory (bytes)"), 1e9)
        chip["memory_bw_tbps"] = _value(rec.get("Memory bandwidth (byte/s)"), 1e12)
        chip["interconnect_gbps"] = _value(rec.get("Intranode bandwidth (byte/s)"), 1e9) or 0.0
        chip["die_area_mm2"] = _value(rec.get("Die Size (mm^2)"), 1.0) or None
        tdp = _value(rec.get("TDP (W)"), 1.0)
        chip["power_w"] = tdp + host_overhead_w if tdp else None
        chip["chips_per_server"] = chips_per_server
        chip["datacenter"] = not CONSUMER_NAMES.search(name)
        chip |= overrides.get(chip["sku"], {})
        epoch_tpp = _value(rec.get(EPOCH_TPP), 1e12)
        if epoch_tpp:
            report.tpp_checked += 1
            ours = tpp(chip)
            if not math.isclose(ours, epoch_tpp, rel_tol=0.01):
                report.tpp_mismatches.append((chip["sku"], ours, epoch_tpp))
        lacking = [c for c in ("bf16_tflops", "memory_gb", "memory_bw_tbps", "power_w") if not chip.get(c)]
        if lacking:
            report.skipped.append((row_no, name, f"no {', '.join(lacking)} in the Epoch row"))
            continue
        if chip["sku"] in seen:
            report.skipped.append((row_no, name, f"duplicate sku {chip['sku']!r}"))
            continue
        seen.add(chip["sku"])
        chip["sources"] = CREDIT + ("; " + "; ".join(notes) if notes else "")
        rows.append(chip)
    columns = [c.name for c in CHIP_COLUMNS] + ["sources"]
    report.chips = pd.DataFrame(rows, columns=columns)
    return report


#: bundled-catalog SKU -> Epoch's ``Hardware name`` of the same chip (for the export rules that list SKUs)
SAME_CHIP = {
    "nvidia-h100-sxm": "NVIDIA H100 SXM5 80GB",
    "nvidia-h100-pcie": "NVIDIA H100 PCIe",
    "nvidia-h200": "NVIDIA H200 SXM",
    "nvidia-b200": "NVIDIA B200",
    "nvidia-gb200": "NVIDIA GB200",
    "nvidia-h800": "NVIDIA H800 SXM5",
    "nvidia-a100": "NVIDIA A100 SXM4 80 GB",
    "nvidia-a800": "NVIDIA A800 SXM",
    "nvidia-h20": "NVIDIA HGX H20",
    "nvidia-l20": "NVIDIA L20 PCle",
    "nvidia-rtx-4090": "NVIDIA GeForce RTX 4090",
    "amd-mi300x": "AMD Instinct MI300X",
    "amd-mi308x": "AMD Radeon Instinct MI308X",
    "huawei-ascend-910b": "Huawei Ascend 910B",
    "huawei-ascend-910c": "Huawei Ascend 910C",
    "cambricon-mlu370-x8": "Cambricon MLU370-X8",
}
#: the header of an ``offers.csv`` with no offers (a complete catalog folder to add offers to)
OFFERS_HEADER = "sku,channel,period,max_units,unit_price_usd,lead_time_quarters,delivery_risk,kind,ships_to,term_quarters\n"


def rules_for(imported: set[str], rules_path: Path) -> tuple[dict[str, Any], list[str]]:
    """The bundled export rules for an imported catalog: SKU lists point at the imported SKUs of the same chips.

    A rule whose SKU list names no imported chip (and that has no metric clauses) matches nothing
    and is left out. Returns the rules file's data and what was changed, in words.
    """
    import yaml

    data = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    kept, notes = [], []
    for rule in data.get("rules") or []:
        if not rule.get("skus"):
            kept.append(rule)
            continue
        mapped = [
            slug(SAME_CHIP[s]) for s in rule["skus"] if s in SAME_CHIP and slug(SAME_CHIP[s]) in imported
        ]
        if mapped != rule["skus"]:
            notes.append(
                f"rule {rule['id']}: skus {', '.join(rule['skus'])} -> {', '.join(mapped) or '(none)'}"
            )
        if not mapped and not rule.get("when_any"):
            notes.append(f"rule {rule['id']} left out: it lists no imported chip")
            continue
        kept.append(rule | {"skus": mapped})
    return {**data, "rules": kept}, notes


def chips_csv_text(chips: pd.DataFrame) -> str:
    """The chips as ``chips.csv`` text (empty cells for missing rates)."""
    out = chips.copy()
    out["datacenter"] = out["datacenter"].map({True: "true", False: "false"})
    return out.to_csv(index=False, lineterminator="\n", float_format="%.6g")
