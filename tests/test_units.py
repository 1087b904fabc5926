from __future__ import annotations

import datetime as dt

import pytest

from planner.inputs.units import parse_money, parse_quarter, quarter_name, quarter_start


@pytest.mark.parametrize(
    "text, usd",
    [
        ("7B", 7e9),
        ("250M", 2.5e8),
        ("1.5k", 1500),
        ("$3T", 3e12),
        ("1,500,000", 1.5e6),
        (12, 12.0),
        (0.5, 0.5),
        ("2.5 B", 2.5e9),
    ],
)
def test_money(text, usd):
    assert parse_money(text) == usd


@pytest.mark.parametrize("bad", ["seven billion", "7X", "-5", "", True, None, float("nan"), float("inf")])
def test_bad_money(bad):
    with pytest.raises(ValueError):
        parse_money(bad)


def test_quarters_round_trip_and_start_dates():
    assert quarter_name(parse_quarter("2025Q3")) == "2025Q3"
    assert parse_quarter("2026Q1") - parse_quarter("2025Q4") == 1
    assert quarter_start(parse_quarter("2025Q2")) == dt.date(2025, 4, 1)


@pytest.mark.parametrize("bad", ["2025Q5", "2025Q0", "2025-Q1", "25Q1", 2025])
def test_bad_quarters(bad):
    with pytest.raises(ValueError, match="YYYYQn"):
        parse_quarter(bad)
