"""Pieces shared by the author's-desk modules: wording, test descriptions, reading facts from
a request, and loading input files with errors that name the file and line."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from ..spec import model as m
from ..spec.errors import SpecError
from ..spec.kinds import request_date
from ..spec.loader import load_spec


class InputError(Exception):
    """A mistake in what the user gave us (a file, an option); the message says which and where."""


# --- wording ------------------------------------------------------------------------------

_NUMBER_WORDS = {
    1: "ONE",
    2: "TWO",
    3: "THREE",
    4: "FOUR",
    5: "FIVE",
    6: "SIX",
    7: "SEVEN",
    8: "EIGHT",
    9: "NINE",
    10: "TEN",
}


def count_word(n: int) -> str:
    """How policy documents write a count: ONE, TWO, ... (digits past ten)."""
    return _NUMBER_WORDS.get(n, str(n))


def combinator_phrase(test: object) -> str:
    """'ALL of the following', 'at least ONE of the following', 'at least TWO of ...'."""
    if isinstance(test, m.AllOf):
        return "ALL of the following"
    if isinstance(test, m.AnyOf):
        return "at least ONE of the following"
    if isinstance(test, m.AtLeast):
        return f"at least {count_word(test.n)} of the following"
    if isinstance(test, m.Negation):
        return "NOT the following"
    raise TypeError(test)


def describe_test(spec: m.PolicySpec, test: object) -> str:
    """One line saying what a criterion's test checks, in the request's terms (a leaf: its
    kind's `describe`, spec/kinds.py)."""
    t = test
    if isinstance(t, m.Kind):
        return t.describe()
    if isinstance(t, m.Conditional):
        return f"when {' and '.join(t.when)} then {' and '.join(t.then)}"
    if isinstance(t, m.Negation):
        return f"not {t.child} (met when it is unmet; unknown and invalid stay)"
    if isinstance(t, m.AllOf | m.AnyOf | m.AtLeast):
        return combinator_phrase(t)
    raise TypeError(t)


def documentation_line(c: m.Criterion) -> str:
    """What a criterion requiring documentation needs, in plain words ('' when none)."""
    if not c.documentation:
        return ""
    kinds = " or ".join(t.replace("_", " ") for t in c.documentation)
    return f"supported by a document the request references: {kinds} (without one: unknown, never met)"


# --- dates ----------------------------------------------------------------------------------

parse_date = request_date  # a request date (YYYY-MM-DD, a real day in 1900..2199), else None


def long_date(text: str | None) -> str:
    """2026-04-01 -> 'April 1, 2026'; 2017-08 -> 'August 2017' (the document's style)."""
    if not text:
        return ""
    try:
        if len(text) == 7:
            d = dt.date.fromisoformat(text + "-01")
            return f"{d:%B} {d.year}"
        d = dt.date.fromisoformat(text)
        return f"{d:%B} {d.day}, {d.year}"
    except ValueError:
        return text


# --- facts in a request -----------------------------------------------------------------------

ABSENT = "absent"
PRESENT = "present"
INVALID = "invalid"


def read_fact(request: object, path: str) -> tuple[str, object]:
    """(state, value) at a dotted path: absent (missing or null), invalid (a non-object on the
    way, with the reason as value) or present."""
    value = request
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(value, dict):
            where = ".".join(walked) or "the request"
            return INVALID, f"{where} is {_kind(value)}, not an object"
        value = value.get(key)
        walked.append(key)
        if value is None:
            return ABSENT, None
    return PRESENT, value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


_LITERALISH = re.compile(r"^(true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)?$|^\s|\s$")


def show_value(value: object, limit: int = 160) -> str:
    """A request value for people: strings bare unless they could be mistaken for another
    type (the string "true" is quoted, the boolean true is not), the rest as compact JSON."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False) if _LITERALISH.search(value) else value
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {show_value(v, limit)}" for k, v in value.items()) + "}"
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- input files ------------------------------------------------------------------------------


def load_json(path: str) -> object:
    """A JSON document from a file (or - for stdin), read by rxrego.requests_io: InputError
    naming the line and column of a syntax error, or the field of a key given twice, a number
    outside the accepted range or nesting deeper than requests_io.MAX_DEPTH."""
    from .. import requests_io

    try:
        return requests_io.read_file(path)
    except requests_io.RequestError as exc:
        raise InputError(exc.describe("standard input" if path == "-" else path)) from None


def load_spec_file(path: str | Path) -> m.PolicySpec:
    """One spec file, or InputError listing every issue (file:line:column: field: message)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file: {path}")
    if p.is_dir():
        raise InputError(f"{path} is a folder; give one spec file (*.yaml)")
    try:
        return load_spec(p)
    except SpecError as exc:
        lines = [str(i) for i in exc.issues]
        raise InputError("\n".join(lines) + f"\n{len(lines)} error(s) in {path}") from None


def set_criteria(spec: m.PolicySpec, rs: m.RequirementSet) -> list[str]:
    """Every criterion id reachable from a requirement set, in policy order (pre-order)."""
    order: list[str] = []

    def visit(cid: str) -> None:
        if cid in order:
            return
        order.append(cid)
        for child in spec.criterion(cid).children:
            visit(child)

    for cid in rs.root.children:
        visit(cid)
    return order


def versions_of(spec: m.PolicySpec) -> tuple[m.PolicySpec, ...]:
    """The spec and its earlier versions, newest first (a spec without versions: itself)."""
    return tuple(getattr(spec, "versions", (spec,)))
