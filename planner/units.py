"""Money strings, calendar quarters and the unit constants of the contract."""

from __future__ import annotations

import datetime as dt
import math
import re

HOURS_PER_QUARTER = 2190
_MONEY = re.compile(r"^\s*\$?\s*([0-9][0-9_,]*(?:\.[0-9]*)?|\.[0-9]+)\s*([KMBT]?)\s*$", re.I)
_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def parse_money(value: object) -> float:
    """Return USD from a number or a string such as ``"7B"``, ``"250M"``, ``"1,500K"``.

    Raises:
        ValueError: with a message that says what is accepted.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an amount of USD such as 7B or 250M, got {value!r}")
    if isinstance(value, (int, float)):
        amount = float(value)
    elif isinstance(value, str):
        m = _MONEY.match(value)
        if not m:
            raise ValueError(f"expected an amount of USD such as 7B or 250M, got {value!r}")
        amount = float(m.group(1).replace(",", "").replace("_", "")) * _SUFFIX[m.group(2).upper()]
    else:
        raise ValueError(f"expected an amount of USD such as 7B or 250M, got {value!r}")
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"expected a finite amount >= 0, got {value!r}")
    return amount


def format_money(usd: float) -> str:
    """Short human form: ``$7.00B``, ``$250.0M``, ``$12,000``."""
    a = abs(usd)
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if a >= div:
            return f"${usd / div:,.2f}{suf}"
    return f"${usd:,.0f}"


def parse_quarter(text: object) -> int:
    """Quarter ``"2025Q3"`` as a running index (year*4 + q-1); raises ValueError."""
    m = _QUARTER.match(str(text).strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"expected a quarter written YYYYQn with n in 1-4 (e.g. 2025Q3), got {text!r}")
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def quarter_name(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def quarter_start(index: int) -> dt.date:
    """First day of the quarter with running index ``index``."""
    return dt.date(index // 4, (index % 4) * 3 + 1, 1)


def quarter_end(index: int) -> dt.date:
    """Last day of the quarter with running index ``index``."""
    return quarter_start(index + 1) - dt.timedelta(days=1)


def parse_date(value: object) -> dt.date:
    """A YAML date or an ISO ``YYYY-MM-DD`` string; raises ValueError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date written YYYY-MM-DD, got {value!r}")
