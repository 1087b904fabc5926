"""A table of broken inputs: the exact one-line message, exit code 2, nothing written, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, chip, make_catalog, offer

from planner.cli import main

SCENARIO = {
    "name": "t",
    "catalog": "cat",
    "destination": "CN",
    "periods": ["2025Q1", "2025Q2"],
    "objective": "max-compute",
    "budget": {"total_usd": "1M"},
    "fleet": [{"sku": "a", "chips": 1}],
    "policy": {"exclude_skus": [], "shares": []},
}
RULES = [
    {
        "id": "r",
        "origins": ["US"],
        "destinations": ["CN"],
        "effective": "2025-01-01",
        "status": "prohibited",
        "when_any": [{"tpp_min": 4800}],
    }
]


def setup(tmp: Path) -> Path:
    make_catalog(
        tmp / "cat",
        [chip("a"), chip("b", origin="US")],
        [offer("a", "2025Q1"), offer("b", "2025Q2", channel="oem")],
        RULES,
    )
    (tmp / "s.yaml").write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    return tmp / "s.yaml"


def edit(name: str, old: str, new: str):
    def apply(tmp: Path) -> None:
        path = tmp / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))

    return apply


def scenario(**changes):
    def apply(tmp: Path) -> None:
        data = yaml.safe_load((tmp / "s.yaml").read_text())
        for key, value in changes.items():
            target = data
            *parents, last = key.split(".")
            for p in parents:
                target = target[p]
            if value is DELETE:
                del target[last]
            else:
                target[last] = value
        (tmp / "s.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    return apply


DELETE = object()
C, O, R, S = "cat/chips.csv", "cat/offers.csv", "cat/export_rules.yaml", "s.yaml"  # noqa: E741
CASES = [
    # files
    ("missing chips.csv", lambda t: (t / C).unlink(), f"{C}: file not found"),
    (
        "empty offers.csv",
        lambda t: (t / O).write_text(""),
        f"{O}: file is empty; expected a header row and data rows",
    ),
    (
        "header only",
        lambda t: (t / C).write_text((t / C).read_text().splitlines()[0] + "\n"),
        f"{C}: has a header but no data rows",
    ),
    ("empty scenario", lambda t: (t / S).write_text("\n"), f"{S}: file is empty"),
    (
        "missing catalog folder",
        scenario(catalog="nope"),
        f"{S}, key catalog: catalog folder 'nope' not found (resolved to {{tmp}}/nope, relative to the scenario file)",
    ),
    # columns
    ("missing column", edit(C, "power_w,", ""), None),
    (
        "duplicated column",
        edit(O, "channel,", "channel,channel,"),
        f"{O}, column channel: appears twice in the header",
    ),
    (
        "unknown column",
        edit(O, "delivery_risk", "delivery_risc"),
        f"{O}, column delivery_risc: unknown column (did you mean 'delivery_risk'?); expected sku, channel, period, "
        "max_units, unit_price_usd, lead_time_quarters, delivery_risk, kind, ships_to, term_quarters, "
        "channel_risk, transit",
    ),
    # numbers
    (
        "non-numeric",
        edit(O, ",1000,", ",lots,"),
        f"{O}, row 2, column unit_price_usd: expected a number (ASCII digits, '.' for decimals, ',' only between groups of three), got 'lots'",
    ),
    ("negative", edit(O, ",100,", ",-100,"), f"{O}, row 2, column max_units: must be >= 0, got -100"),
    ("zero price", edit(O, ",1000,", ",0,"), f"{O}, row 2, column unit_price_usd: must be > 0, got 0"),
    (
        "NaN",
        edit(C, ",1000,", ",nan,"),
        f"{C}, row 2, column bf16_tflops: expected a finite number, got 'nan'",
    ),
    (
        "infinite",
        edit(C, ",1000,", ",inf,"),
        f"{C}, row 2, column bf16_tflops: expected a finite number, got 'inf'",
    ),
    (
        "fractional count",
        edit(O, ",100,", ",10.5,"),
        f"{O}, row 2, column max_units: expected a whole number, got '10.5'",
    ),
    (
        "fractional servers",
        edit(C, ",1,1.0,", ",1.5,1.0,"),
        f"{C}, row 2, column chips_per_server: expected a whole number, got '1.5'",
    ),
    (
        "fraction above 1",
        edit(C, ",1,1.0,", ",1,1.2,"),
        f"{C}, row 2, column software_efficiency: must be in (0, 1], got 1.2",
    ),
    ("risk of 1", edit(O, ",0,\n", ",0,1\n"), f"{O}, row 2, column delivery_risk: must be in [0, 1), got 1"),
    (
        "fractional fleet",
        scenario(fleet=[{"sku": "a", "chips": 2.5}]),
        f"{S}, key fleet[0].chips: Input should be a valid integer, got 2.5",
    ),
    # codes
    ("duplicate sku", edit(C, "\nb,", "\na,"), None),
    (
        "unknown category",
        edit(C, "domestic", "domestik"),
        f"{C}, row 2, column category: 'domestik' is not one of full-spec, export-compliant, domestic "
        "(did you mean 'domestic'?)",
    ),
    (
        "unknown status",
        edit(R, "prohibited", "forbidden"),
        f"{R}, key rules[0].status: Input should be 'allowed', 'license-required' or 'prohibited', got 'forbidden'",
    ),
    (
        "unknown objective",
        scenario(objective="max-flops"),
        f"{S}, key objective: Input should be 'max-compute', 'min-cost' or 'max-training', got 'max-flops'",
    ),
    (
        "unknown destination",
        scenario(destination="China"),
        f"{S}, key destination: 'China' is not an ISO 3166-1 alpha-2 country code (e.g. CN, US, HK)",
    ),
    (
        "unknown origin",
        edit(C, ",CN,", ",ZZ,"),
        f"{C}, row 2, column origin: 'ZZ' is not an ISO 3166-1 alpha-2 country code (e.g. US, CN)",
    ),
    # references
    (
        "offer for unknown sku",
        edit(O, "\na,", "\nx,"),
        f"{O}, row 2, column sku: sku 'x' is not in chips.csv",
    ),
    (
        "fleet unknown sku",
        scenario(fleet=[{"sku": "zz", "chips": 1}]),
        f"{S}, key fleet[0].sku: sku 'zz' is not in the catalog's chips.csv",
    ),
    (
        "rule unknown sku",
        edit(R, "when_any:\n  - tpp_min: 4800", "skus: [ghost]"),
        f"{R}, key rules[0]: rule 'r' lists sku 'ghost', which is not in chips.csv",
    ),
    (
        "policy unknown sku",
        scenario(**{"policy.exclude_skus": ["ghost"]}),
        f"{S}, key policy.exclude_skus[0]: sku 'ghost' is not in the catalog's chips.csv",
    ),
    (
        "policy unknown channel",
        scenario(**{"policy.exclude_channels": ["grey"]}),
        f"{S}, key policy.exclude_channels[0]: channel 'grey' is not in the catalog's offers.csv",
    ),
    (
        "share unknown value",
        scenario(**{"policy.shares": [{"by": "vendor", "value": "Nvidia", "measure": "spend", "max": 0.5}]}),
        f"{S}, key policy.shares[0].value: no vendor 'Nvidia' in the catalog",
    ),
    # quarters and dates
    (
        "bad quarter in offers",
        edit(O, "2025Q1", "2025Q5"),
        f"{O}, row 2, column period: expected a quarter written YYYYQn with n in 1-4 (e.g. 2025Q3), got '2025Q5'",
    ),
    (
        "bad date",
        edit(R, "2025-01-01", "2025-13-01"),
        f"{R}, key rules[0].effective: '2025-13-01' is not a real date (month must be in 1..12)",
    ),
    (
        "unsorted periods",
        scenario(periods=["2025Q2", "2025Q1"]),
        f"{S}, key periods: periods must be consecutive quarters in order: 2025Q1 follows 2025Q2 (expected 2025Q3)",
    ),
    (
        "repeated periods",
        scenario(periods=["2025Q1", "2025Q1"]),
        f"{S}, key periods: periods must be consecutive quarters in order: 2025Q1 follows 2025Q1 (expected 2025Q2)",
    ),
    (
        "gap in periods",
        scenario(periods=["2025Q1", "2025Q3"]),
        f"{S}, key periods: periods must be consecutive quarters in order: 2025Q3 follows 2025Q1 (expected 2025Q2)",
    ),
    (
        "target outside horizon",
        scenario(targets={"2026Q1": {"pflops": 1}}),
        f"{S}: targets: 2026Q1 is outside the periods 2025Q1-2025Q2",
    ),
    (
        "budget outside horizon",
        scenario(**{"budget.per_period_usd": {"2024Q4": "1M"}}),
        f"{S}: budget.per_period_usd: 2024Q4 is outside the periods 2025Q1-2025Q2",
    ),
    (
        "share min above max",
        scenario(
            **{"policy.shares": [{"by": "vendor", "value": "V", "measure": "spend", "min": 0.6, "max": 0.4}]}
        ),
        f"{S}, key policy.shares[0]: min (0.6) is above max (0.4)",
    ),
    (
        "money that does not parse",
        scenario(**{"budget.total_usd": "seven billion"}),
        f"{S}, key budget.total_usd: expected an amount of USD such as 7B, 250M or 7e9 (ASCII digits, '.' for decimals, ',' only between groups of three), got 'seven billion'",
    ),
    # YAML
    (
        "unknown key with suggestion",
        scenario(**{"budget.carryover": True}),
        f"{S}, key budget.carryover: unknown key (did you mean 'carry_over'?); expected one of carry_over, "
        "per_period_usd, total_usd",
    ),
    (
        "unknown nested key",
        scenario(targets={"2025Q2": {"pflop": 3}}),
        f"{S}, key targets.2025Q2.pflop: unknown key (did you mean 'pflops'?); expected one of inference, memory_tb, pflops, training",
    ),
    (
        "unknown clause key",
        edit(R, "tpp_min", "tpp_mn"),
        f"{R}, key rules[0].when_any[0].tpp_mn: unknown key (did you mean 'tpp_min'?); expected one of datacenter, "
        "interconnect_min_gbps, memory_bw_below_tbps, memory_bw_min_tbps, not_tag, pd_below, pd_min, tag, tpp_below, "
        "tpp_min",
    ),
    (
        "missing key",
        scenario(destination=DELETE),
        f"{S}: give destination (a country code) or a list of sites",
    ),
    (
        "YAML syntax",
        lambda t: (t / S).write_text("name: t\nperiods: [2025Q1\n"),
        f"{S}: line 3, column 1: YAML syntax error: expected ',' or ']', but got '<stream end>'",
    ),
    (
        "python tag",
        lambda t: (t / S).write_text("name: !!python/object/apply:os.system ['echo hi']\n"),
        f"{S}: line 1: tag not allowed (could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'); plain YAML values only",
    ),
    (
        "not a mapping",
        lambda t: (t / S).write_text("- a\n- b\n"),
        f"{S}: expected a mapping of keys (name, destination, periods, ...)",
    ),
    # hostile input (issue 15): numbers, YAML structure, dates, names, file kinds
    (
        "rule threshold nan",
        edit(R, "tpp_min: 4800", "tpp_min: .nan"),
        f"{R}: line 10: '.nan' is not a finite number; give a number",
    ),
    (
        "rule threshold nan as text",
        edit(R, "tpp_min: 4800", "tpp_min: 'nan'"),
        f"{R}, key rules[0].when_any[0].tpp_min: Input should be a valid number, got 'nan'",
    ),
    (
        "duplicate key",
        lambda t: (t / S).write_text((t / S).read_text() + "budget:\n  total_usd: 5K\n"),
        f"{S}: line 16: key 'budget' appears twice (lines 8 and 16); keep one",
    ),
    (
        "duplicate key on one line",
        edit(S, "total_usd: 1M", "{total_usd: 1M, total_usd: 5K}"),
        f"{S}: line 9: key 'total_usd' appears twice on line 9; keep one",
    ),
    (
        "decimal comma in money",
        edit(S, "total_usd: 1M", "total_usd: '1,5K'"),
        f"{S}, key budget.total_usd: expected an amount of USD such as 7B, 250M or 7e9 (ASCII digits, '.' for "
        "decimals, ',' only between groups of three), got '1,5K'",
    ),
    (
        "decimal comma in a price",
        edit(O, ",1000,", ',"1,5",'),
        f"{O}, row 2, column unit_price_usd: expected a number (ASCII digits, '.' for decimals, ',' only between "
        "groups of three), got '1,5'",
    ),
    (
        "full-width digits",
        edit(S, "total_usd: 1M", "total_usd: '\uff11M'"),
        f"{S}, key budget.total_usd: expected an amount of USD such as 7B, 250M or 7e9 (ASCII digits, '.' for "
        "decimals, ',' only between groups of three), got '\uff11M'",
    ),
    (
        "underscore digit groups",
        edit(S, "total_usd: 1M", "total_usd: 1_000"),
        f"{S}: line 9: '1_000': write numbers as plain decimals such as 1000 or 1.5e3 (no '_', leading zeros, "
        "hex or 1:30)",
    ),
    (
        "octal-looking count",
        edit(S, "chips: 1", "chips: 010"),
        f"{S}: line 12: '010': write numbers as plain decimals such as 1000 or 1.5e3 (no '_', leading zeros, "
        "hex or 1:30)",
    ),
    (
        "nan count",
        edit(S, "chips: 1", "chips: .nan"),
        f"{S}: line 12: '.nan' is not a finite number; give a number",
    ),
    (
        "infinite price",
        edit(O, ",1000,", ",inf,"),
        f"{O}, row 2, column unit_price_usd: expected a finite number, got 'inf'",
    ),
    (
        "impossible date",
        edit(R, "2025-01-01", "2025-02-30"),
        f"{R}, key rules[0].effective: '2025-02-30' is not a real date (day is out of range for month)",
    ),
    (
        "year zero",
        edit(S, "2025Q1", "0000Q1"),
        f"{S}, key periods: quarter '0000Q1' is outside the years 1900-2200",
    ),
    (
        "huge count",
        edit(O, ",100,", ",1e20,"),
        f"{O}, row 2, column max_units: must be at most 1e15, got '1e20'",
    ),
    (
        "huge target",
        lambda t: (t / S).write_text(
            (t / S)
            .read_text()
            .replace("objective: max-compute", "objective: min-cost\ntargets:\n  2025Q2: {pflops: 1e300}")
        ),
        f"{S}: line 9: '1e300' is above 1e15, the largest number gpuplan accepts",
    ),
    (
        "huge rate",
        lambda t: (t / S).write_text((t / S).read_text() + "power:\n  electricity_usd_per_kwh: 1.0e10\n"),
        f"{S}, key power.electricity_usd_per_kwh: Input should be less than or equal to 1000000000, got 10000000000.0",
    ),
    (
        "20,000 nested lists",
        lambda t: (t / S).write_text("[" * 20000),
        f"{S}: line 1: nesting deeper than 50 levels; flatten the file",
    ),
    (
        "3,000 nested mappings",
        lambda t: (t / S).write_text(
            "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "x: 1\n"
        ),
        f"{S}: line 50: nesting deeper than 50 levels; flatten the file",
    ),
    (
        "Norway read as false",
        edit(S, "destination: CN", "destination: NO"),
        f"{S}, key destination: False is not an ISO 3166-1 alpha-2 country code (e.g. CN, US, HK) (YAML reads an "
        "unquoted NO, ON, Y or N as true/false: quote it, e.g. 'NO')",
    ),
    (
        "extra field shifts no column",
        edit(O, "2025Q1,100", "2025Q1,x,100"),
        f"{O}, row 2: has 8 fields but the header has 7; quote values that contain commas and give every column "
        "a value (empty is fine)",
    ),
    (
        "40,000-character name",
        edit(S, "name: t", "name: " + "x" * 40000),
        f"{S}, key name: String should have at most 200 characters, got '{'x' * 54}...' (40,000 characters)",
    ),
    (
        "300-character sku",
        edit(O, "a,direct", "a" * 300 + ",direct"),
        f"{O}, row 2, column sku: is 300 characters long; names may have at most 200",
    ),
    (
        "scenario is a pipe",
        lambda t: ((t / S).unlink(), os.mkfifo(t / S)),
        f"{S}: is not a regular file (a pipe, socket or device); expected a YAML file",
    ),
    (
        "scenario is a symlink loop",
        lambda t: ((t / S).unlink(), os.symlink(S, t / S)),
        f"{S}: is a symbolic link loop; point it at a YAML file",
    ),
    (
        "offers is a folder",
        lambda t: ((t / O).unlink(), (t / O).mkdir()),
        f"{O}: is a folder; expected a CSV file",
    ),
]


@pytest.mark.parametrize("name, mutate, message", CASES, ids=[c[0] for c in CASES])
def test_broken_input(tmp_path, monkeypatch, name, mutate, message):
    path = setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    mutate(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["plan", "s.yaml", "--format", "json"])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    if message is not None:
        resolved = message.replace("{tmp}", str(tmp_path.resolve()))
        assert lines[0] == f"error: {_abs(resolved, tmp_path)}"
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert path.is_symlink() or path.exists()


def _abs(message: str, tmp: Path) -> str:
    """Catalog paths are reported as resolved from the scenario: absolute."""
    cat = str((tmp / "cat").resolve())
    return message.replace("cat/", cat + "/") if message.startswith("cat/") else message


@pytest.mark.parametrize("encoding", ["bom", "crlf"])
def test_bom_and_crlf_are_valid(tmp_path, monkeypatch, encoding):
    setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    for f in (C, O, R, S):
        text = (tmp_path / f).read_text()
        data = ("\ufeff" + text).encode() if encoding == "bom" else text.replace("\n", "\r\n").encode()
        (tmp_path / f).write_bytes(data)
    result = CliRunner().invoke(main, ["plan", "s.yaml", "--format", "json"])
    assert result.exit_code == 0, result.output


@pytest.mark.fresh_solves  # the second run must solve again
def test_same_inputs_give_byte_identical_json_and_csv():
    from conftest import ROOT

    runs = [
        CliRunner().invoke(main, ["plan", str(ROOT / "budgets" / "base-7b.yaml"), "--format", fmt]).output
        for fmt in ("json", "csv", "json", "csv")
    ]
    assert runs[0] == runs[2] and runs[1] == runs[3]


def test_libyaml_and_the_pure_python_loader_read_every_bundled_file_alike():
    # files are read through libyaml when they load cleanly; the pure-Python loader words problems:
    # both must give the same values, numbers and dates checked the same way
    import yaml

    from planner.inputs.yamlio import StrictLoader, _FastLoader, _load

    files = sorted(ROOT.glob("budgets/**/*.yaml")) + sorted(ROOT.glob("catalogs/**/*.yaml"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        slow = yaml.load(text, Loader=StrictLoader)  # noqa: S506
        fast = yaml.load(text, Loader=_FastLoader)  # noqa: S506
        assert fast == slow == _load(text), path
    for text in ("a: 1e3\nb: 2025-01-01\n", "a: [1, 2.5, x]\n"):
        assert yaml.load(text, Loader=_FastLoader) == yaml.load(text, Loader=StrictLoader)  # noqa: S506


def test_the_library_names_settings_as_parameters_and_the_cli_as_flags():
    # one error, two wordings: str() for the Python API, for_cli() for the command line; user text
    # put into a message is never read as a template (its braces stay as they are)
    from planner.errors import InputError, Setting, SolverError, words

    err = InputError(
        words("{} is not a budget; give {} such as 3B:10B:8", "{x}", Setting.BUDGETS), key=Setting.BUDGETS
    )
    assert str(err) == "key budgets: {x} is not a budget; give budgets such as 3B:10B:8"
    assert err.for_cli() == "key --budget: {x} is not a budget; give --budget such as 3B:10B:8"
    plain = SolverError("no {} here")
    assert str(plain) == plain.for_cli() == "no {} here"
    assert {s.flag for s in Setting} >= {"--max-time", "--time-limit", "--solver", "--samples", "--within"}
    assert all(s.flag.startswith("--") and not s.parameter.startswith("-") for s in Setting)


def test_no_library_message_names_a_flag():
    # flags are the CLI's words: outside planner/cli an error names a setting only through Setting
    import re

    flag = re.compile(r"""(?:raise \w+\(|InputError\(|key=)[^)]*["'][^"']*--[a-z]""")
    offenders = []
    for path in (ROOT / "planner").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "planner").parts[:1]:
            continue
        text = path.read_text()
        # a whole command quoted (`gpuplan plan --format json`) names another command's output
        offenders += [
            f"{path.name}: {m.group(0)[:80]}" for m in flag.finditer(text) if "`gpuplan " not in m.group(0)
        ]
    assert offenders == []
