"""LOINC codes: the form of a code and its check digit.

Source: the LOINC Users' Guide (Regenstrief Institute, https://loinc.org/kb/users-guide/),
"LOINC code" (the code is the sequence number, a hyphen and a check digit) and "Calculating
Mod 10 Check Digits". A lab result whose `code` is not a well-formed LOINC code cannot say
which lab it is (docs/semantics.md, "Labs").
"""

from __future__ import annotations

import re

_FORM = re.compile(r"[0-9]{1,7}-[0-9]")


def check_digit(digits: str) -> int:
    """The mod 10 check digit of a LOINC code's digits (a string of ASCII digits): from the
    right, every other digit starting with the rightmost is doubled; the digits of the
    products and the other digits are summed; the check digit brings the sum up to a multiple
    of 10. check_digit("13457") == 7."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10


def well_formed(code: object) -> bool:
    """Whether `code` is a string of 1 to 7 digits, a hyphen and the check digit of those
    digits, as written (no spaces): well_formed("13457-7") is True, well_formed("13457-8"),
    well_formed(" 13457-7") and well_formed(13457) are False."""
    if not isinstance(code, str) or not _FORM.fullmatch(code):
        return False
    digits, _, check = code.partition("-")
    return check_digit(digits) == int(check)
