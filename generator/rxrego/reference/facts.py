"""Reading facts out of a request: paths, dates, numbers and case-insensitive text.

Everything here follows docs/semantics.md ("Reading a fact from the request", "Dates",
"Numbers"). Values are JSON-like Python data: dict, list, str, int, float, bool, None.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from fractions import Fraction
from typing import Final


class _Marker:
    """A fact that is not a usable value; compared by identity."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


ABSENT: Final = _Marker("ABSENT")  # missing key or null: the fact is unknown
MALFORMED: Final = _Marker("MALFORMED")  # a non-object on the way: the fact is invalid


def read(request: object, path: tuple[str, ...]) -> object:
    """The value at `path`, or ABSENT, or MALFORMED (the doc's three cases)."""
    value = request
    for key in path:
        if not isinstance(value, dict):
            return MALFORMED
        value = value.get(key)
        if value is None:
            return ABSENT
    return value


# --- dates --------------------------------------------------------------------------------

# [0-9], not \d: \d also matches other scripts' digits, which are not dates.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: object) -> dt.date | None:
    """The calendar day a request string names, or None when it is not a valid date."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    year, month, day = (int(part) for part in value.split("-"))
    if not 1900 <= year <= 2199:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:  # 2026-02-30, month 13, ...
        return None


# A date with a time (FHIR dateTime, ISO 8601), seconds and UTC offset optional.
_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]{1,9})?)?"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


def observed_day(value: object) -> dt.date | None:
    """The calendar day an observation's date names (docs/semantics.md, "Dated facts"): a
    date, or a date with a time (FHIR dateTime: 2026-11-02T10:00:00Z, 2026-11-02T10:00),
    its day read as written, never moved to another time zone (the time and offset are
    checked for form only); None for anything else."""
    if isinstance(value, str) and (m := _DATETIME.fullmatch(value)):
        return parse_date(m.group(1))
    return parse_date(value)


def age_in_years(birth: dt.date, on: dt.date) -> int:
    """Whole years; a 29 February birthday falls on 1 March in common years."""
    before_birthday = (on.month, on.day) < (birth.month, birth.day)
    return on.year - birth.year - (1 if before_birthday else 0)


def add_months(start: dt.date, months: int) -> dt.date:
    """Calendar months later, the day clamped to the end of a shorter month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(start.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next - dt.timedelta(days=1)).day


# --- numbers ------------------------------------------------------------------------------


def as_number(value: object) -> Fraction | None:
    """An exact number, or None when the value is not a JSON number.

    bool is a subclass of int in Python but a JSON boolean is never a number. Floats go
    through their shortest decimal text (repr) so that 0.1 is exactly 1/10, as the decimal
    JSON text it came from; NaN and infinities are not JSON numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float) and math.isfinite(value):
        return Fraction(repr(value))
    return None


_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?")
_MAX_MAGNITUDE = Fraction(10) ** 15
_MIN_MAGNITUDE = Fraction(1, 10**15)


def number_text(value: object) -> str | None:
    """The JSON text a number is sent as (Python's json module: int digits, float repr),
    or None when the value is not a JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(value) if isinstance(value, int) else repr(value)


def sane_number_text(text: str) -> bool:
    """docs/semantics.md, "Numbers": written plainly in at most 64 characters (an exponent of
    at most 3 digits), and 0 or of a magnitude from 1e-15 to 1e15."""
    if len(text) > 64 or not _PLAIN_NUMBER.fullmatch(text):
        return False
    magnitude = abs(Fraction(text))
    return magnitude == 0 or _MIN_MAGNITUDE <= magnitude <= _MAX_MAGNITUDE


def number_paths(request: object) -> list[tuple[tuple, str]]:
    """(path, JSON text) of every number in the request that is not sane, found without
    recursion (NaN and infinities, which JSON cannot carry, are not sane either)."""
    out = []
    stack: list[tuple[tuple, object]] = [((), request)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        elif (text := number_text(value)) is not None and not (
            (isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))) and sane_number_text(text)
        ):
            out.append((path, text))
    return out


def field_path(path: tuple) -> str:
    """("labs", 0, "value") -> "labs[0].value", as the decision's errors name fields."""
    out = ""
    for i, key in enumerate(path):
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if i else key)
    return out


def is_whole(number: Fraction) -> bool:
    return number.denominator == 1


# --- text ---------------------------------------------------------------------------------

# Unicode White_Space, the set OPA's trim_space (Go's unicode.IsSpace) removes. Python's
# str.strip() would also remove U+001C..U+001F, which are not white space.
_WHITE_SPACE: Final = (
    "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def strip_space(text: str) -> str:
    return text.strip(_WHITE_SPACE)


def lower(text: str) -> str:
    """Character-by-character lower case (Unicode simple case mapping, like OPA's lower).

    str.lower() applies full mappings: U+0130 becomes two characters and a final capital
    sigma becomes ς depending on its neighbours. Neither is a per-character mapping.
    """
    return "".join(_lower_char(c) for c in text)


def upper(text: str) -> str:
    """Character-by-character upper case; a character whose upper case is several
    characters (ß -> SS, ﬁ -> FI) has no simple mapping and is kept as it is."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in text)


def _lower_char(c: str) -> str:
    if c == "\u0130":  # İ: simple mapping is i; the full one adds a combining dot
        return "i"
    low = c.lower()
    return low if len(low) == 1 else c
