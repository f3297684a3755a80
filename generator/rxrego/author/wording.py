"""`rxrego check --wording`: criteria whose wording names a number or a count the encoding
does not have.

A criterion's `text` is the policy document's wording; its test is what the Rego decides. The
two can drift: "Trial and failure of 2 of the following" encoded as `at_least: 1`, "Age 18+"
as `min_years: 1`. This lint reads two things from the wording:

- **counts**: "at least ONE", "at least 2", "TWO of the following", "any 3 of these", "both";
  a count followed by "of the following" / "of these" (or said of a combinator) must be the
  combinator's own count (`at_least.n`, 1 for `any_of`, every child for `all_of`); any other
  count ("at least ONE tyrosine kinase inhibitor") must be a count encoded at or under it
  (`prior_therapy.at_least`, ...);
- **numbers** standing as words of their own ("18", "1,000", "30 days", "18+"), not inside
  codes or names ("CD22", "C91.0", "ICD-10", "5.21.100"): each must be a number encoded at
  or under the criterion (an age bound, a lab threshold or window, a quantity limit, a count).
  A number followed by a unit of measure ("30,000 per microlitre", "50 x 10^9/L", "5.0
  mEq/L", "30%") is a quantity, never a count: it matches an encoded number as written or
  converted by UCUM into the unit of a lab or dose encoded under the criterion (30,000 per
  microlitre is 30 10*3/uL), and the numbers inside its unit ("10^9", "1.73 m2") are the
  unit's. A duration in weeks matches its days ("8 weeks", min_days: 56), in years its
  months; a change from baseline is named by its size ("reduced by 30%", value: -30).

A leaf that encodes no number at all (an attestation, a yes/no clinical status such as
"relapse within 12 months") is asserted whole by the requester and is not checked.
Only what the wording names is checked; numbers the encoding has and the wording does not
say are left alone (the wording may leave them implicit). A finding is advice to read the
document again, not a proof of a mistake, so `check --wording` lists each with its line.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..spec import model as m
from ..spec.errors import SpecError, format_path
from ..spec.yamlsource import Located, parse, read_text
from ..terminology import ucum

WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "both": 2,
    "single": 1,
}
_COUNT = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
# "at least ONE", "at least 2", "a minimum of 2"
# A count followed by a unit of time ("at least 6 months") is a duration, not a count of
# the criteria below: the number check below reads it instead.
AT_LEAST = re.compile(
    rf"\b(?:at\s+least|a\s+minimum\s+of|minimum\s+of|no\s+fewer\s+than)\s+{_COUNT}\b"
    r"(?!\s+(?:consecutive\s+|continuous\s+)?(?:hours?|days?|weeks?|months?|years?)\b)",
    re.IGNORECASE,
)
# "2 of the following", "TWO of these", "both of the following"
OF_FOLLOWING = re.compile(rf"\b({_COUNT[1:-1]}|both)\s+of\s+(?:the\s+following|these|those)\b", re.IGNORECASE)
# A number that is a word of its own: not part of a code or name (CD22, C91.0, ICD-10,
# 5.21.100, HLA-B*57:01).
NUMBER = re.compile(r"(?<![\w.\-/*:])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w]|\.\d|-\w|/\d|:\d)")
# A unit of measure right after a number: a percentage; a count per volume written with a
# power of ten ("x 10^9/L") or in words ("per microlitre"); a unit with a slash ("mg/dL",
# "mL/min/1.73 m2", "mcg/kg"); or a plain mass, volume or amount ("mg", "mcg", "mL", "IU").
_VOLUME = r"(?:L|dL|mL|uL|µL|μL|mcL|mm3)"
UNIT = re.compile(
    r"\s*(?:"
    r"(?P<percent>%|percent\b)"
    rf"|(?:x|\u00d7)?\s*10\s*(?:\^|\*)\s*(?P<power>\d+)\s*/\s*(?P<per>{_VOLUME})\b"
    r"|per\s+(?P<per_word>(?:micro|milli|deci)?lit(?:re|er)|cubic\s+millimet(?:re|er)|µL|μL|uL|mcL|mm3)\b"
    r"|(?P<code>[A-Za-zµμ\[\]{}]+(?:/(?:[A-Za-zµμ\[\]{}_]+|\d+(?:\.\d+)?\s?m\^?2|\d+\^?\d*))+)"
    r"|(?P<plain>mg|mcg|ug|µg|μg|g|kg|mL|L|mEq|meq|mmol|umol|IU|cm|m2)\b"
    r")"
)
_PER_WORD = {"microlitre": "/uL", "microliter": "/uL", "millilitre": "/mL", "milliliter": "/mL", "decilitre": "/dL"}
_PER_WORD |= {"deciliter": "/dL", "litre": "/L", "liter": "/L", "cubic millimetre": "/mm3", "cubic millimeter": "/mm3"}
# A duration after a number: weeks match days (x 7), years match months (x 12).
DURATION = re.compile(r"\s*(?:consecutive\s+|continuous\s+)?(?P<unit>weeks?|years?)\b", re.IGNORECASE)
_DURATION_FACTOR = {"week": 7, "year": 12}
# Fields of a lab or dose that are in its unit.
_IN_UNIT = ("value", "plausible_min", "plausible_max", "uln", "max")


@dataclass(frozen=True, order=True)
class WordingIssue:
    """One mismatch: where the criterion's text is and what it says that the encoding lacks."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"


def _number(text: str) -> float:
    word = text.lower()
    if word in WORDS:
        return WORDS[word]
    return float(word.replace(",", ""))


def _show(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def own_count(test: object) -> tuple[float | None, str]:
    """The count a combinator requires of its children, and how the spec says it."""
    if isinstance(test, m.AtLeast):
        return test.n, f"at_least: {{n: {test.n}}}"
    if isinstance(test, m.AnyOf):
        return 1, "any_of (one)"
    if isinstance(test, m.AllOf):
        return len(test.children), f"all_of ({len(test.children)}, all)"
    return None, ""


def _leaf_numbers(test: object) -> dict[float, str]:
    """Every number a leaf test encodes, with the field it is in."""
    out: dict[float, str] = {}
    if not dataclasses.is_dataclass(test):
        return out
    for f in dataclasses.fields(test):
        for value in _numbers_in(getattr(test, f.name)):
            out.setdefault(float(value), f.name)
    return out


def _numbers_in(value: object) -> list[int | float]:
    """The numbers of a field: itself, or those inside a tuple (a regimen's amounts, an
    agent's least dose in (agent, amount) pairs)."""
    if isinstance(value, tuple):
        return [x for item in value for x in _numbers_in(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [value]


def encoded(spec: m.PolicySpec, cid: str) -> tuple[dict[float, str], dict[float, str]]:
    """(numbers, counts) encoded at or under a criterion, each with where it is."""
    numbers: dict[float, str] = {}
    counts: dict[float, str] = {}
    seen: set[str] = set()

    def walk(x: str) -> None:
        if x in seen:
            return
        seen.add(x)
        c = spec.criterion(x)
        t = c.test
        if c.is_leaf:
            # A product test encodes the strengths of the products it names ("the 500 mg tablet").
            for pid in getattr(t, "products", ()) if c.kind == "product" else ():
                for product in spec.drug.products:
                    if product.id == pid:
                        for strength in product.strengths:
                            for number in NUMBER.findall(strength):
                                numbers.setdefault(_number(number), f"{x}: {pid} strength {strength}")
            if not _leaf_numbers(t) and c.kind != "product":
                # A fact the requester states whole ("on the drug for 6 months": yes or no)
                # carries the numbers of its own wording, so a parent repeating them is
                # worded as encoded.
                for number in NUMBER.findall(c.text):
                    numbers.setdefault(_number(number), f"{x}: stated by the request")
            for value, name in _leaf_numbers(t).items():
                numbers.setdefault(value, f"{x}: {name}")
                if value < 0 and name == "value" and getattr(t, "change", None) is not None:
                    # a change from baseline is worded by its size: "reduced by 30%"
                    numbers.setdefault(-value, f"{x}: {name} (a change of this size)")
                if name in ("at_least", "n"):
                    counts.setdefault(value, f"{x}: {name}")
            return
        n, said = own_count(t)
        if n is not None:
            counts.setdefault(float(n), f"{x}: {said}")
            numbers.setdefault(float(n), f"{x}: {said}")
        for child in c.children:
            walk(child)

    walk(cid)
    return numbers, counts


def criterion_issues(spec: m.PolicySpec, cid: str) -> list[str]:
    """What the wording of one criterion names that its encoding does not (messages)."""
    c = spec.criterion(cid)
    text = " ".join(c.text.split())
    if c.is_leaf and not _leaf_numbers(c.test):
        # An attestation or a status ("relapse within 12 months": yes or no) is asserted
        # whole by the requester; the numbers in its wording are not the encoding's to check.
        return []
    numbers, counts = encoded(spec, cid)
    own, own_said = own_count(c.test)
    out: list[str] = []
    spans: list[tuple[int, int]] = []

    for match in OF_FOLLOWING.finditer(text):
        spans.append(match.span(1))
        said = _number(match.group(1))
        if own is not None:
            if said != own:
                out.append(
                    f'the wording says "{match.group(0)}" but the encoding requires {_show(own)} of them ({own_said})'
                )
        elif said not in counts:
            out.append(
                f'the wording says "{match.group(0)}" but no count of {_show(said)} is encoded ({_counts(counts)})'
            )
    for match in AT_LEAST.finditer(text):
        if any(a <= match.start(1) < b for a, b in spans) or UNIT.match(text, match.end()):
            continue  # ... or a quantity ("at least 50 x 10^9/L"), which the number check reads
        spans.append(match.span(1))
        said = _number(match.group(1))
        after = text[match.end() : match.end() + 25].lower()
        if own is not None and re.match(r"\s*of\s+(the\s+following|these)", after):
            if said != own:
                out.append(
                    f'the wording says "{match.group(0)} of the following" but the encoding requires {_show(own)} of them ({own_said})'
                )
        elif said not in counts:
            out.append(
                f'the wording says "{match.group(0)}" but no count of {_show(said)} is encoded ({_counts(counts)})'
            )
    measured = _in_units(spec, cid)
    for match in NUMBER.finditer(text):
        if any(a <= match.start(1) < b for a, b in spans):
            continue
        said = _number(match.group(1))
        unit = UNIT.match(text, match.end())
        if unit:
            spans.append(unit.span())  # the numbers inside a unit ("10^9/L") are the unit's
            if said in numbers or _converts(said, _ucum(unit), measured):
                continue
        duration = DURATION.match(text, match.end())
        if duration and said * _DURATION_FACTOR[duration["unit"].lower().rstrip("s")] in numbers:
            continue
        if said not in numbers:
            has = ", ".join(f"{_show(v)} ({where})" for v, where in numbers.items()) or "none"
            out.append(f"the wording names {match.group(1)} but the encoding has no such number (it has: {has})")
    return out


def _ucum(unit: re.Match[str]) -> str | None:
    """The UCUM code of a unit UNIT matched, or None when it is not one."""
    if unit["percent"]:
        return "%"
    if unit["power"]:
        per = re.sub("^(?:µ|μ|mc)", "u", unit["per"])
        return f"10*{unit['power']}/{per}"
    if unit["per_word"]:
        word = " ".join(unit["per_word"].lower().split())
        return _PER_WORD.get(word, "/" + re.sub("^(?:µ|μ|mc)", "u", unit["per_word"]))
    written = re.sub("[µμ]", "u", unit["code"] or unit["plain"])
    try:
        return ucum.ucum_code(written)
    except ucum.UnitError:
        return None


def _in_units(spec: m.PolicySpec, cid: str) -> list[tuple[float, str]]:
    """(number, UCUM unit) of every lab or dose encoded at or under a criterion: the numbers a
    quantity in the wording may be converted to."""
    out: list[tuple[float, str]] = []
    seen: set[str] = set()

    def walk(x: str) -> None:
        if x in seen:
            return
        seen.add(x)
        c = spec.criterion(x)
        unit = getattr(c.test, "unit", None)
        if c.is_leaf and isinstance(unit, str):
            for name in _IN_UNIT:
                value = getattr(c.test, name, None)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out.append((float(value), unit))
        for child in () if c.is_leaf else c.children:
            walk(child)

    walk(cid)
    return out


def _converts(said: float, unit: str | None, measured: list[tuple[float, str]]) -> bool:
    """True when `said` in `unit` is one of the `measured` numbers in theirs (UCUM)."""
    if unit is None:
        return False
    for value, target in measured:
        try:
            converted = said * ucum.factor(unit, target)
        except ucum.UnitError:
            continue
        if math.isclose(converted, value, rel_tol=1e-9):
            return True
    return False


def _counts(counts: dict[float, str]) -> str:
    return "encoded counts: " + (", ".join(f"{_show(v)} ({w})" for v, w in counts.items()) if counts else "none")


def _text_position(located: Located | None, version_index: int | None, cid: str) -> tuple[int, int, str]:
    paths: list[tuple[str | int, ...]] = [("criteria", cid, "text")]
    if version_index is not None:
        paths.insert(0, ("earlier_versions", version_index, "criteria", cid, "text"))
    for path in paths:
        if located is not None and path in located.values:
            line, col = located.values[path]
            return line, col, format_path(path)
    return 1, 1, format_path(paths[-1])


def wording_issues(spec: m.PolicySpec) -> list[WordingIssue]:
    """Every criterion of every version of `spec` whose wording names a number or count its
    encoding does not, located at the criterion's `text` in the spec file."""
    try:
        located = parse(read_text(Path(spec.source), spec.source), spec.source)
    except (SpecError, OSError):
        located = None
    out: set[WordingIssue] = set()
    versions = (spec, *spec.earlier_versions)
    for index, version in enumerate(versions):
        for c in version.criteria:
            for message in criterion_issues(version, c.id):
                line, col, path = _text_position(located, index - 1 if index else None, c.id)
                if index and not path.startswith("earlier_versions"):
                    continue  # an inherited criterion: reported for the current version
                out.add(WordingIssue(spec.source, line, col, path, message))
    return sorted(out)
