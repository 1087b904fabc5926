"""Money strings, calendar quarters and the unit constants of the contract."""

from __future__ import annotations

import datetime as dt
import math
import re

HOURS_PER_QUARTER = 2190
MAX_NAME = 200  # characters in a name: fits a workbook cell, a chart title and a terminal line
MAX_RATE = 1e9  # prices per unit, rates and factors
MAX_AMOUNT = 1e15  # counts, amounts and targets: the largest the solver still handles exactly
# ASCII digits; ',' only between groups of three; '.' for decimals; an optional exponent
_MANTISSA = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+"
_NUMBER = re.compile(rf"^[+-]?(?:{_MANTISSA})(?:[eE][+-]?[0-9]+)?$")
_MONEY = re.compile(rf"^\s*\$?\s*((?:{_MANTISSA})(?:[eE][+-]?[0-9]+)?)\s*([KMBT]?)\s*$", re.I)
NUMBER_FORM = "ASCII digits, '.' for decimals, ',' only between groups of three"
_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_QUARTER = re.compile(r"^([0-9]{4})Q([1-4])$")


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
            raise ValueError(
                f"expected an amount of USD such as 7B, 250M or 7e9 ({NUMBER_FORM}), got {value!r}"
            )
        amount = float(m.group(1).replace(",", "")) * _SUFFIX[m.group(2).upper()]
    else:
        raise ValueError(f"expected an amount of USD such as 7B or 250M, got {value!r}")
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"expected a finite amount >= 0, got {value!r}")
    if amount > MAX_AMOUNT:
        raise ValueError(f"amounts above $1e15 are not accepted, got {value!r}")
    return amount


def limit_text(limit: float) -> str:
    """``1e15`` rather than ``1e+15`` for a power of ten."""
    exp = math.log10(limit)
    return f"1e{int(exp)}" if exp == int(exp) else f"{limit:g}"


def parse_number(text: str, limit: float = MAX_AMOUNT) -> float:
    """A finite number written plainly (``1500``, ``1,500``, ``1.5e3``), at most ``limit`` in size.

    Raises:
        ValueError: saying what is accepted (no decimal commas, ``1_000``, other digits, NaN, infinity).
    """
    t = text.strip()
    if not _NUMBER.match(t):
        low = t.lower().lstrip("+-")
        if low in ("nan", "inf", "infinity"):
            raise ValueError("expected a finite number")
        raise ValueError(f"expected a number ({NUMBER_FORM})")
    value = float(t.replace(",", ""))
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    if abs(value) > limit:
        raise ValueError(f"must be at most {limit_text(limit)}")
    return value


def format_money(usd: float) -> str:
    """Short human form: ``$7.00B``, ``$250.0M``, ``$12,000``."""
    a = abs(usd)
    sign = "-" if usd < 0 and round(a) > 0 else ""
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if a >= div:
            return f"{sign}${a / div:,.2f}{suf}"
    return f"{sign}${a:,.0f}"


def parse_quarter(text: object) -> int:
    """Quarter ``"2025Q3"`` as a running index (year*4 + q-1); raises ValueError."""
    m = _QUARTER.match(str(text).strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"expected a quarter written YYYYQn with n in 1-4 (e.g. 2025Q3), got {text!r}")
    year = int(m.group(1))
    if not 1900 <= year <= 2200:
        raise ValueError(f"quarter {text!r} is outside the years 1900-2200")
    return year * 4 + int(m.group(2)) - 1


def quarter_name(index: int) -> str:
    """Quarter name (``2026Q1``) of a quarter index."""
    return f"{index // 4}Q{index % 4 + 1}"


def quarter_start(index: int) -> dt.date:
    """First day of the quarter with running index ``index``."""
    return dt.date(index // 4, (index % 4) * 3 + 1, 1)


def quarter_end(index: int) -> dt.date:
    """Last day of the quarter with running index ``index``."""
    return quarter_start(index + 1) - dt.timedelta(days=1)


def parse_date(value: object) -> dt.date:
    """A YAML date or an ISO ``YYYY-MM-DD`` string in the years 1900-2200; raises ValueError."""
    day: dt.date | None = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _DATE.match(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a real date ({exc})") from None
    if day is None:
        raise ValueError(f"expected a date written YYYY-MM-DD, got {value!r}")
    if not 1900 <= day.year <= 2200:
        raise ValueError(f"{value!s} is outside the years 1900-2200")
    return day
