"""A fuzzer over the YAML and CSV readers: whatever the bytes, ``gpuplan plan`` exits 0, 1 or 2 with
one line on error, never a traceback or an "internal error", and never changes an input file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import chip, make_catalog, offer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main

SCENARIO = {
    "name": "f",
    "catalog": "cat",
    "destination": "CN",
    "periods": ["2025Q1", "2025Q2"],
    "objective": "max-compute",
    "budget": {"total_usd": "60K"},
    "fleet": [{"sku": "a", "chips": 1}],
    "policy": {"shares": [{"by": "vendor", "value": "V", "measure": "compute", "max": 0.9}]},
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
# characters that matter to YAML, CSV, numbers and terminals
ALPHABET = st.sampled_from(
    list("0123456789.,:;-+eE_ []{}\"'#&*!|>%@`\n\t\r\\$=")
    + ["nan", ".inf", "1e400", "\x00", "\x1b[2J", "\uff11", "\u0663", "NO", "yes", "~", "null", "2025-02-30"]
)
EDIT = st.tuples(st.integers(0, 10_000), st.integers(0, 12), st.lists(ALPHABET, max_size=6).map("".join))


def build(folder: Path) -> None:
    make_catalog(
        folder / "cat",
        [chip("a"), chip("b", origin="US", vendor="W")],
        [offer("a", "2025Q1"), offer("b", "2025Q2", channel="oem")],
        RULES,
    )
    (folder / "s.yaml").write_text(yaml.safe_dump(SCENARIO, sort_keys=False))


def mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for at, cut, insert in edits:
        i = at % (len(text) + 1)
        text = text[:i] + insert + text[i + cut :]
    return text


def check(folder: Path, target: str, edits: list[tuple[int, int, str]]) -> None:
    path = folder / target
    path.write_text(mutate(path.read_text(), edits), encoding="utf-8", errors="surrogatepass")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    result = CliRunner().invoke(main, ["plan", str(folder / "s.yaml"), "--format", "json"])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "internal error" not in result.output and "Traceback" not in result.output
    if result.exit_code == 2:
        lines = result.output.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    assert after == before


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("target", ["s.yaml", "cat/export_rules.yaml", "cat/offers.csv", "cat/chips.csv"])
@FUZZ
@given(edits=st.lists(EDIT, min_size=1, max_size=4))
def test_fuzzed_input_file(tmp_path_factory, target, edits):
    folder = tmp_path_factory.mktemp("fuzz")
    build(folder)
    check(folder, target, edits)
