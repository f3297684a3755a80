"""Small pieces of English shared by the messages, explanations and questionnaires rxrego
writes."""

from __future__ import annotations


def counted(n: float, unit: str) -> str:
    """`n` and `unit` as prose, the unit in the plural unless `n` is 1: counted(1, "year") is
    "1 year", counted(3, "calendar month") "3 calendar months", counted(2.5, "day") "2.5 days"
    (a float that is a whole number is written without its ".0")."""
    text = str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)
    return f"{text} {unit}" if n == 1 else f"{text} {unit}s"
