"""Large offers files: compact storage, repeated offers found exactly (hash collisions compared)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import chip, lease, make_catalog, offer

from planner.errors import InputError
from planner.inputs import catalog as catalog_module
from planner.inputs.catalog import load_catalog
from planner.inputs.packed import PackedText
from planner.inputs.tables import Column, _Filled


def _catalog(tmp_path, offers):
    return make_catalog(tmp_path / "cat", [chip("a"), chip("b")], offers)


def test_a_repeated_offer_is_named_by_its_row_and_dropped(tmp_path):
    folder = _catalog(
        tmp_path,
        [
            lease("a", "2025Q1", ships_to="MY", term_quarters=4),
            offer("a", "2025Q1"),
            lease("a", "2025Q1", ships_to="MY", term_quarters=2),  # another term: another offer
            lease("a", "2025Q1", ships_to="my", term_quarters=4),  # the first one again
            offer("a", "2025Q1", channel="other"),
        ],
    )
    problems: list[InputError] = []
    cat = load_catalog(folder, problems)
    assert [str(p) for p in problems] == [
        f"{folder / 'offers.csv'}, row 5: a second lease offer for sku 'a', channel 'cloud', period 2025Q1; "
        "merge the two rows"
    ]
    assert len(cat.offers) == 4
    assert cat.offers["offer_id"].tolist() == [0, 1, 2, 3]


def test_a_term_on_a_purchase_is_dropped_before_offers_are_compared(tmp_path):
    folder = _catalog(tmp_path, [offer("a", "2025Q1"), offer("a", "2025Q1", term_quarters=3)])
    problems: list[InputError] = []
    cat = load_catalog(folder, problems)
    assert len(problems) == 1 and "row 3: a second buy offer" in str(problems[0])
    assert cat.offers["term_quarters"].isna().tolist() == [True]


def test_colliding_digests_are_compared_value_by_value(tmp_path, monkeypatch):
    """Every row given the same digest: only true repeats are reported."""
    rows = [offer("a" if i % 2 else "b", f"2025Q{i % 4 + 1}", channel=f"c{i % 7}") for i in range(56)]
    folder = _catalog(tmp_path, rows)
    monkeypatch.setattr(pd.util, "hash_array", lambda cells, **kw: np.zeros(len(cells), dtype=np.uint64))
    problems: list[InputError] = []
    cat = load_catalog(folder, problems)
    # (sku, quarter, channel) repeats with period lcm(2, 4, 7) = 28: rows 28.. repeat rows 0..
    assert len(problems) == 28
    assert all("a second buy offer" in str(p) for p in problems)
    assert len(cat.offers) == 28


def test_a_repeat_far_apart_in_a_large_file_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog_module, "HASH_SLICE", 1000)  # many slices
    rows = [offer("a", "2025Q1", channel=f"ch-{i}") for i in range(5000)]
    rows.append(offer("a", "2025Q1", channel="ch-17"))
    folder = _catalog(tmp_path, rows)
    problems: list[InputError] = []
    cat = load_catalog(folder, problems)
    assert [str(p).split(": ", 1)[0] for p in problems] == [f"{folder / 'offers.csv'}, row 5002"]
    assert len(cat.offers) == 5000


def test_offers_are_stored_compactly(tmp_path):
    rows = [
        offer("a" if i % 3 else "b", f"{2025 + i // 4}Q{i % 4 + 1}", channel=f"ch-{i % 5}", max_units=i + 1)
        for i in range(40)
    ]
    cat = load_catalog(_catalog(tmp_path, rows))
    offers = cat.offers
    for name in ("sku", "period", "kind", "ships_to"):
        assert isinstance(offers[name].dtype, pd.CategoricalDtype), name
    assert offers["lead_time_quarters"].dtype == np.int32
    assert offers["period_index"].dtype == np.int32
    assert offers["term_quarters"].dtype == "Int32" and offers["term_quarters"].isna().all()
    channels = offers["channel"].array
    assert isinstance(channels, PackedText)
    assert channels.nbytes == 40 * 4 + 41 * 8 + 40  # the text, the offsets, the missing flags
    assert offers["channel"].tolist() == [f"ch-{i % 5}" for i in range(40)]
    assert offers["sku"].tolist() == ["b" if i % 3 == 0 else "a" for i in range(40)]
    assert offers["max_units"].tolist() == list(range(1, 41))


def test_ships_to_is_one_text_of_sorted_codes(tmp_path):
    folder = _catalog(tmp_path, [offer("a", "2025Q1", ships_to="sg; my"), offer("b", "2025Q1")])
    cat = load_catalog(folder)
    assert cat.offers["ships_to"].tolist() == ["MY SG", ""]


def test_a_column_grows_past_its_counted_rows():
    column = _Filled(1, Column("n", "int"))
    column.add(np.array([1, 2], dtype=np.int64))
    column.add(np.array([3], dtype=np.int64))
    assert column.whole().tolist() == [1, 2, 3]


def test_a_repeated_text_column_is_a_category_across_chunks():
    column = _Filled(4, Column("sku", repeats=True))
    column.add(np.array(["x", "y"], dtype=object))
    column.add(np.array(["y", None], dtype=object))
    whole = column.whole()
    assert isinstance(whole, pd.Categorical)
    assert list(whole.categories) == ["x", "y"]
    assert whole.codes.tolist() == [0, 1, 1, -1]


def test_blank_lines_and_a_header_only_file(tmp_path):
    folder = _catalog(tmp_path, [offer("a", "2025Q1")])
    path = folder / "offers.csv"
    header, row = path.read_text().splitlines()[:2]
    path.write_text(f"{header}\n\n{row}\n\n")
    assert len(load_catalog(folder).offers) == 1
    path.write_text(f"{header}\n")
    empty = load_catalog(folder).offers
    assert len(empty) == 0 and isinstance(empty["sku"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("kind", ["buy", "lease"])
def test_an_offer_of_an_unknown_sku_is_named(tmp_path, kind):
    row = offer("zz", "2025Q1") if kind == "buy" else lease("zz", "2025Q1")
    folder = _catalog(tmp_path, [offer("a", "2025Q1"), row])
    problems: list[InputError] = []
    cat = load_catalog(folder, problems)
    assert [str(p) for p in problems] == [
        f"{folder / 'offers.csv'}, row 3, column sku: sku 'zz' is not in chips.csv"
    ]
    assert cat.offers["sku"].tolist() == ["a"]


def test_a_catalog_read_again_is_not_parsed_again_and_its_copy_is_the_callers(tmp_path, monkeypatch):
    folder = make_catalog(tmp_path / "cat", [chip("a")], [offer("a", "2025Q1", max_units=100)])
    parsed = []
    parse = catalog_module._parse_catalog
    monkeypatch.setattr(catalog_module, "_parse_catalog", lambda f, c: parsed.append(f) or parse(f, c))
    first = load_catalog(folder)
    first.offers.loc[:, "max_units"] = 0  # the caller's copy: the next read must not see this
    first.rules.clear()
    again = load_catalog(folder)
    assert len(parsed) == 1 and again is not first
    assert again.offers["max_units"].tolist() == [100] and again.rules == load_catalog(folder).rules
    # new bytes in a file: read again, and the change is seen
    text = (folder / "offers.csv").read_text().replace(",100,", ",250,")
    (folder / "offers.csv").write_text(text)
    assert load_catalog(folder).offers["max_units"].tolist() == [250] and len(parsed) == 2
    # gpuplan catalog validate collects every problem: always parsed
    load_catalog(folder, collect=[])
    assert len(parsed) == 3


def test_what_the_rules_say_of_a_chip_is_worked_out_once_and_handed_on_to_a_shocked_copy(monkeypatch):
    from planner.rules import compliance

    catalog = load_catalog("catalogs/default")
    sku = "nvidia-h20"
    calls = []
    status = compliance.offer_status
    monkeypatch.setattr(compliance, "offer_status", lambda *a, **k: calls.append(a) or status(*a, **k))
    args = (sku, "CN", "CN", "buy", 8100, 1, None)
    verdict = catalog.judged.offer(*args)
    assert catalog.judged.offer(*args) is verdict and len(calls) == 1
    # the same figures as offer_status with every rule evaluated afresh
    fresh = status(catalog.chip(sku), "CN", "CN", "buy", 8100, 1, None, catalog.compiled)
    assert fresh == verdict
    assert catalog.judged.matching(sku) == compliance.matching_rules(catalog.chip(sku), catalog.compiled)
    # new offers or prices: the same chips under the same rules, so the copy keeps what was worked out
    shocked = catalog.with_changes(offers=catalog.offers.iloc[:3])
    assert shocked.judged is catalog.judged and shocked.compiled is catalog.compiled
    # a new rule or new chip figures: worked out again
    assert catalog.with_changes(rules=list(catalog.rules)[:1]).judged is not catalog.judged
    assert catalog.with_changes(chips=catalog.chips.copy()).judged is not catalog.judged
