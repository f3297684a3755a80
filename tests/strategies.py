"""Hypothesis strategies for prior-authorization requests, read from a `PolicySpec`.

    requests_for(spec, others=())   one request aimed at `spec`; `others` are the other
                                    policies loaded beside it (their drug identifiers are
                                    used for no-policy and conflicting-identifier requests)
    any_request(specs)              one request aimed at any of `specs`

Every request is plain JSON data (dict, list, str, int, float, bool, None). The spec decides
which facts a request carries and which values sit at the boundaries the spec names: birth
dates on, the day before and the day after each `age` birthday (29 February included), ICD
codes matching and nearly matching each prefix, accepted and other qualifier values, every
biomarker result, prior therapies from the value sets (agents and classes, case varied) with
every kind of result, attestations, clinical status, lab results at and around thresholds and
`within_days`, quantities at and around the limit, specialties, administrative sex (every
FHIR code and near misses such as "Female"), the drug's identifiers, and malformed values of
every kind docs/semantics.md distinguishes.

A request is drawn in one of five moods, the first being the one Hypothesis shrinks towards:

    good      every fact the spec reads takes a value that helps it be approved
    near      as good, but one fact is other / absent / null / malformed
    mixed     each fact independently good, other, absent, null or malformed
    envelope  request_type, date_of_service and drug may each be broken
    garbage   not a request at all (a string, a list, a bare object ...)

Hypothesis caps the choices one test case may make (its BUFFER_SIZE, 8192), and the
differential test draws 100 requests per test case (about 3,000 choices); so values are
mostly picked from precomputed lists (one choice each) rather than built choice by choice.

Numbers are exact-friendly on purpose: every number a request carries is an integer, or an
integer plus a half or a quarter, or a threshold the spec itself writes (e.g. 0.1) shifted
by a quarter, a half or one. The two implementations compare such numbers alike whatever
their internal representation (Python: exact fractions of the decimal text; OPA: its own
number type), so a disagreement is a semantic one, never a binary floating-point artefact
such as 0.1 + 0.2 != 0.3. Quantity limits whose exact boundary is not a dyadic fraction
(28 vials x 7 days / 42 days = 4.666...) are approached by their floor and ceiling instead.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from hypothesis import strategies as st

from rxrego.spec import kinds
from rxrego.spec import model as m

__all__ = ["MOODS", "any_request", "requests_for"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: dict) -> _Missing:
        return self


MISSING = _Missing()  # a value that means "leave the key out"

MOODS = ("good", "near", "mixed", "envelope", "garbage")
# sampled_from is uniform: repetition weights it. Index 0 ("good") is the shrink target.
_MOOD_WEIGHTS = ("good",) * 2 + ("near",) * 5 + ("mixed",) * 4 + ("envelope", "garbage")
_POOLS_MIXED = ("good", "good", "good", "other", "other", "other", "absent", "null", "malformed", "malformed")
_POOLS_NEAR = ("other", "other", "absent", "null", "malformed", "malformed")

# Characters whose case mapping is the per-character one OPA's lower/upper use, not Python's
# str.lower (which turns U+0130 into two characters).
_DOTTED_I = "\u0130"
# Unicode White_Space a drug name may be wrapped in (trimmed), and look-alikes that are not
# white space (kept, so the name no longer matches).
_WHITE = (" ", "\t", "\n", "\u00a0", "\u2003", "\u3000")
_NOT_WHITE = ("\u200b", "\u001c", "_")

_VALID_DOS_ANCHORS = (
    "2026-06-15",
    "2026-05-10",
    "2026-01-31",
    "2026-02-28",
    "2026-03-01",
    "2026-08-31",
    "2026-11-30",
    "2026-12-31",
    "2027-02-28",
    "2027-11-30",
    "2028-02-29",
    "2028-03-01",
    "2024-02-29",
    "2000-02-29",
    "2100-02-28",
    "2100-03-01",
    "1900-01-01",
    "1900-03-01",
    "2199-11-30",
    "2199-12-31",
    "2026-04-30",
    "2025-05-10",
)
_INVALID_DATES = (
    "2026-02-30",
    "2026-02-29",
    "2100-02-29",
    "2026-13-01",
    "2026-00-10",
    "2026-06-31",
    "2026-06-00",
    "2026-6-15",
    "20260615",
    "2026/06/15",
    "15-06-2026",
    "1899-12-31",
    "2200-01-01",
    "2026-06-15T00:00:00Z",
    " 2026-06-15",
    "2026-06-15\n",
    "\uff12\uff10\uff12\uff16-06-15",
    "",
    "yesterday",
)
_NON_STRINGS = (20260615, 1.5, True, False, ["2026-06-15"], {"date": "2026-06-15"})
_LEAP_YEARS = (1960, 1980, 2000, 2008, 2016, 2024)
_NON_OBJECTS = ("John Doe", ["x"], 5, True, [{}], "")
_LIST_FACTS = ("diagnoses", "prior_therapies", "labs", "concurrent_therapies", "documents")


# --- small helpers ------------------------------------------------------------------------


# Numbers outside the accepted range (docs/semantics.md, "Numbers": 0, or a magnitude from
# 1e-15 to 1e15), anywhere in a request: invalid_request naming the field. JSON cannot carry
# NaN or infinities, and Python cannot hold 1e10000000 as a float: tests/test_inputs.py
# sends those as text.
OUT_OF_RANGE = (1e16, 10**16, -(10**16), 1000000000000001, 1e-16, -1e-16, 5e-324, 1e300, -1.5e308)
AT_THE_BOUNDS = (1e15, 10**15, -(10**15), 1e-15, -1e-15, 0.0, -0.0)


def _iso(y: int, mo: int, d: int) -> str:
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _text(day: dt.date) -> str:
    return _iso(day.year, day.month, day.day)


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _parse(text: str) -> dt.date | None:
    try:
        y, mo, d = (int(p) for p in text.split("-"))
        return dt.date(y, mo, d) if 1900 <= y <= 2199 else None
    except ValueError:
        return None


def _shift(day: dt.date, days: int) -> str:
    try:
        return _text(day + dt.timedelta(days=days))
    except OverflowError:
        return "0001-01-01"


def _anniversaries(day: dt.date, years: int) -> list[dt.date]:
    """The dates `years` before `day` on the same month and day; 29 February in a common
    year gives both 28 February and 1 March."""
    y = day.year - years
    if y < 1:
        return []
    if (day.month, day.day) == (2, 29) and not _leap(y):
        return [dt.date(y, 2, 28), dt.date(y, 3, 1)]
    return [dt.date(y, day.month, day.day)]


def _unique(values) -> tuple:
    out = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return tuple(out)


def _case_variants(s: str) -> tuple[str, ...]:
    """`s` as written, upper, lower, title case, and with I written as U+0130 (whose simple
    lower case is i)."""
    out = [s, s.upper(), s.lower(), s.title()]
    if "i" in s.lower():
        out.append(s.upper().replace("I", _DOTTED_I))
    return _unique(out)


def _number(x: Fraction) -> int | float:
    """A JSON number for an exact value (an int when whole)."""
    return int(x) if x.denominator == 1 else float(x)


def _dyadic(x: Fraction) -> bool:
    return x.denominator & (x.denominator - 1) == 0


# st.sampled_from builds a new strategy on every call, and drawing from a new strategy first
# validates it and computes its label (hashing every element): most of the cost of drawing
# a request, which makes some thirty draws from the same pools. `_sample` hands out one
# strategy per pool object instead; it draws exactly as a new one would (same elements, same
# label), so the requests drawn are the same.
_SAMPLERS: dict[int, tuple[Sequence, tuple, st.SearchStrategy]] = {}
_SAMPLERS_MAX = 50_000  # pools built afresh for each draw never hit; drop them all past this


_REQUEST_IDS = ("req-1", MISSING, MISSING, None, "R" * 128)
_BROKEN_REQUEST_IDS = (7, 1.5, ["req-1"], {"id": "req-1"}, "R" * 129)


def _sample(values: Sequence) -> st.SearchStrategy:
    """`st.sampled_from(values)`, built once per pool: reused while `values` is the same object
    holding the same elements (a list changed since gets a new strategy)."""
    hit = _SAMPLERS.get(id(values))
    # the entry keeps `values` alive, so an id found is this object's; its elements are
    # compared by identity, which is cheap
    if hit is not None and len(hit[1]) == len(values) and all(a is b for a, b in zip(hit[1], values, strict=True)):
        return hit[2]
    if len(_SAMPLERS) >= _SAMPLERS_MAX:
        _SAMPLERS.clear()
    strategy = st.sampled_from(values)
    _SAMPLERS[id(values)] = (values, tuple(values), strategy)
    return strategy


def _pick(draw, values: Sequence):
    return copy.deepcopy(draw(_sample(values)))


def _put(obj: dict, key: str, value: object) -> None:
    if value is not MISSING:
        obj[key] = value


# --- what is drawn against ------------------------------------------------------------------


@dataclass
class _Ctx:
    """What fact generators see: the date of service (a real day even when the request's
    own date_of_service is broken), and a 29 February birth date to use, if any."""

    dos: dt.date
    leap_birth: str | None = None


Gen = Callable[[Callable, _Ctx], object]


@dataclass(frozen=True)
class _Fact:
    """One fact a spec reads: where it goes and how its good / other / malformed values are
    drawn. `absent` and `null` pools are handled by the caller."""

    path: tuple[str, ...]
    good: Gen
    other: Gen
    malformed: Gen


def _leaves(spec: m.PolicySpec, kind: type) -> list:
    """The tests of this kind in every version of the policy (a request's date of service
    picks the version that decides it)."""
    return list(_unique(c.test for v in spec.versions for c in v.criteria if isinstance(c.test, kind)))


def _dose_tables(spec: m.PolicySpec) -> list:
    """The dose tables of every version's dose tests."""
    return [t.table for t in _leaves(spec, kinds.KINDS["dose"]) if t.table is not None]


def _table_labs(spec: m.PolicySpec) -> list:
    """The labs dose tables read (LabTests whose comparison is not used)."""
    return list(_unique(src for table in _dose_tables(spec) for _, src in table.keys if not isinstance(src, str)))


def _table_edges(spec: m.PolicySpec, source: object) -> tuple:
    """Every bound the dose tables give the column reading `source`."""
    return _unique(
        bound
        for table in _dose_tables(spec)
        for name, src in table.keys
        if src == source
        for row in table.rows
        for _, bound in row.band(name)[1]
    )


def _anchor_sets(spec: m.PolicySpec) -> tuple[str, ...]:
    """The value sets whose first start anchors a lab (`therapy_start`)."""
    labs = [*_leaves(spec, m.LabTest), *_table_labs(spec)]
    return _unique(t.therapy_start for t in labs if t.therapy_start is not None)


def _value_set(spec: m.PolicySpec, vid: str) -> m.ValueSet:
    return next(vs for v in spec.versions for vs in v.value_sets if vs.id == vid)


def _all_value_sets(spec: m.PolicySpec) -> tuple[m.ValueSet, ...]:
    return _unique(vs for v in spec.versions for vs in v.value_sets)


# --- facts, one builder per kind of leaf ------------------------------------------------------


def _age_fact(spec: m.PolicySpec) -> _Fact:
    tests = _leaves(spec, m.AgeTest)
    thresholds = sorted(
        {t.min_years for t in tests if t.min_years is not None}
        | {t.max_years + 1 for t in tests if t.max_years is not None}
    ) or [18]

    def age_ok(years: int) -> bool:
        return all(
            (t.min_years is None or years >= t.min_years)
            and (t.max_years is None or years <= t.max_years)
            and (t.min_months is None or years * 12 >= t.min_months + 1)
            and (t.max_months is None or years * 12 < t.max_months)
            for t in tests
        )

    good_ages = [a for a in (46, 30, 70, 10, 5, 1) if age_ok(a)] or [46, 10]
    month_thresholds = sorted(
        {t.min_months for t in tests if t.min_months is not None}
        | {t.max_months + 1 for t in tests if t.max_months is not None}
    )

    def good(draw, ctx: _Ctx):
        if ctx.leap_birth:
            return ctx.leap_birth
        years = draw(_sample(good_ages))
        days = draw(_sample((37, 0, 200)))  # a few weeks past / on / months past the birthday
        return _shift(_anniversaries(ctx.dos, years)[0], -days)

    def other(draw, ctx: _Ctx):
        if ctx.leap_birth:
            return ctx.leap_birth
        options = []
        for t in thresholds:
            for ann in _anniversaries(ctx.dos, t):
                # on the birthday (age t), the day before it (t - 1), the day after it (t)
                options += [_text(ann), _shift(ann, 1), _shift(ann, -1)]
            near_leap = next((y for y in range(ctx.dos.year - t, ctx.dos.year - t - 4, -1) if _leap(y)), None)
            if near_leap and near_leap >= 1900:
                options.append(_iso(near_leap, 2, 29))
        options += [_text(ctx.dos), _shift(ctx.dos, -1), _shift(ctx.dos, -364), "1980-03-20", "2008-02-29"]
        for months in month_thresholds:
            # the day n months before the date of service (clamped), and the days around it
            index = ctx.dos.year * 12 + ctx.dos.month - 1 - months
            y, mo = divmod(index, 12)
            last = (dt.date(y + (mo + 1) // 12, (mo + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
            day = dt.date(y, mo + 1, min(ctx.dos.day, last))
            options += [_text(day), _shift(day, 1), _shift(day, -1)]
        return draw(_sample(_unique(options)))

    def malformed(draw, ctx: _Ctx):
        return _pick(
            draw,
            (
                _shift(ctx.dos, 1),
                _shift(ctx.dos, 366),
                "1899-12-31",
                "2200-01-01",
                "1980-02-30",
                "1981-02-29",
                "1980-13-01",
                "1980-00-10",
                "1980-2-3",
                "03/20/1980",
                "1980-03-20T00:00:00",
                " 1980-03-20",
                "",
                19800320,
                True,
                ["1980-03-20"],
                {"date": "1980-03-20"},
            ),
        )

    return _Fact(("patient", "birth_date"), good, other, malformed)


def _normal_code(code: str) -> str:
    return code.replace(".", "").replace(" ", "").upper()


def _diagnosis_fact(spec: m.PolicySpec) -> _Fact:
    tests = _leaves(spec, m.DiagnosisTest)
    prefixes = _unique(p for t in tests for p in t.icd10)
    matching = []
    near = []
    for p in prefixes:
        n = _normal_code(p)
        matching += [
            p,
            p + "2",
            p.lower() + "1",
            n,
            n.lower() + "9",
            " " + p,
            p.replace(".", " "),
            p[:1] + "." + p[1:],
            p + ".",
            p[:1] + " " + p[1:] + "2",
        ]
        last = n[-1]
        bumped = chr(ord(last) + 1) if last not in "9Zz" else "0"
        near += [
            n[:-1],
            n[:-1] + bumped,
            p.replace(".", "-"),
            n.replace("0", "O"),
            "X" + n,
            "\u0421" + n[1:],
            "\uff23" + n[1:],
        ]
    near += ["E11.9", "Z00.00", "C92.00", "C91.1", ""]
    near = [c for c in _unique(near) if not any(_normal_code(c).startswith(_normal_code(p)) for p in prefixes)]
    codes_other = (*tuple(_unique(matching + near)), MISSING, None)
    codes_bad = (9102, True, ["C91.02"], {"code": prefixes[0] if prefixes else "C91.0"})

    accepted: dict[str, list[str]] = {}
    for t in tests:
        for name, values in t.qualifiers:
            accepted.setdefault(name, []).extend(values)
    quals_good = {name: _unique(v for a in vs for v in _case_variants(a)) for name, vs in accepted.items()}
    quals_other = {
        name: quals_good[name]
        + ("t_cell", "newly_diagnosed", "myeloid", "", vs[0].replace("_", " "), vs[0] + " ", MISSING, None)
        for name, vs in accepted.items()
    }
    quals_bad = {name: (1, True, [vs[0]], {"value": vs[0]}) for name, vs in accepted.items()}

    def good_entry(draw, test: m.DiagnosisTest) -> dict:
        entry: dict = {"code": draw(_sample([c for p in test.icd10 for c in (p, p + "2", _normal_code(p))]))}
        for name, _ in test.qualifiers:
            entry[name] = draw(_sample(quals_good[name]))
        return entry

    def other_entry(draw) -> dict:
        entry: dict = {}
        _put(entry, "code", copy.deepcopy(draw(_sample(codes_other))))
        for name in accepted:
            _put(entry, name, copy.deepcopy(draw(_sample(quals_other[name]))))
        _put(entry, "description", draw(_sample((MISSING, MISSING, "free text", 7))))
        return entry

    def bad_entry(draw):
        kind = draw(_sample(("code", "qualifier", "non-object")))
        if kind == "non-object" or (kind == "qualifier" and not accepted):
            return _pick(draw, (prefixes[0] if prefixes else "C91.0", None, 5, [], True))
        entry = other_entry(draw)
        if kind == "code":
            entry["code"] = _pick(draw, codes_bad)
        else:
            name = draw(_sample(sorted(accepted)))
            entry[name] = _pick(draw, quals_bad[name])
        return entry

    def good(draw, ctx):
        test = draw(_sample(tests))
        entries = [good_entry(draw, test)]
        if draw(_sample((False, False, True))):
            entries.insert(draw(_sample((0, 1))), other_entry(draw))
        return entries

    def other(draw, ctx):
        return [other_entry(draw) for _ in range(draw(_sample((1, 1, 2, 0, 3))))]

    def malformed(draw, ctx):
        if draw(_sample((False, True))):
            return _pick(
                draw, (prefixes[0] if prefixes else "C91.0", {"code": prefixes[0] if prefixes else "C91.0"}, 5, True)
            )
        entries = [other_entry(draw) for _ in range(draw(_sample((0, 1, 2))))]
        entries.insert(draw(st.integers(0, len(entries))), bad_entry(draw))
        return entries

    return _Fact(("diagnoses",), good, other, malformed)


def _biomarker_facts(spec: m.PolicySpec) -> list[_Fact]:
    accepted: dict[str, list[str]] = {}
    for t in _leaves(spec, m.BiomarkerTest):
        accepted.setdefault(t.name, []).extend(t.values)
    for t in _leaves(spec, m.DiagnosisTest):
        for name, values in t.biomarkers:
            accepted.setdefault(name, []).extend(values)
    facts = []
    for name, values in accepted.items():
        good_values = _unique(values)
        # other: the result that does not count (twice), the one that does, unknown
        other_values = (
            tuple(r for r in ("positive", "negative") if r not in good_values) * 2 + good_values + ("unknown",)
        )
        facts.append(
            _Fact(
                ("biomarkers", name),
                lambda draw, ctx, v=good_values: draw(_sample(v)),
                lambda draw, ctx, v=other_values: draw(_sample(v)),
                lambda draw, ctx: _pick(
                    draw,
                    (
                        "Positive",
                        "POSITIVE",
                        "Negative",
                        "Unknown",
                        "equivocal",
                        "",
                        " positive",
                        True,
                        False,
                        1,
                        0,
                        ["positive"],
                        {"result": "positive"},
                    ),
                ),
            )
        )
    return facts


def _therapy_pools(spec: m.PolicySpec, value_sets: Sequence[m.ValueSet], others: Sequence[str]):
    agents_in = _unique(v for vs in value_sets for a in vs.agents for v in _case_variants(a))
    other_sets = [vs for vs in _all_value_sets(spec) if vs not in value_sets]
    agents_out = _unique([*others, *(a for vs in other_sets for a in vs.agents)])
    classes = _unique(c for vs in value_sets for c in vs.classes)
    class_pool = _unique(
        [
            *classes,
            *(c.upper() for c in classes),
            *(c.title() for c in classes),
            "chemotherapy",
            "monoclonal_antibody",
            MISSING,
            None,
            MISSING,
        ]
    )
    return agents_in, agents_out, classes, class_pool


def _prior_therapy_fact(spec: m.PolicySpec) -> _Fact:
    tests = _leaves(spec, m.PriorTherapyTest)
    anchors = _anchor_sets(spec)
    value_sets = _unique(vs for vs in _all_value_sets(spec) if vs.id in {*(t.value_set for t in tests), *anchors})
    agents_in, agents_out, classes, class_pool = _therapy_pools(
        spec, value_sets, ("hyper-CVAD", "rituximab", "olverembatinib", "blinatumomab", "imatinib mesylate", "")
    )
    listed = _unique(r for t in tests for r in t.results if r != "any") or ("failed",)
    result_pool = _unique(
        [
            *listed,
            *listed,
            "inadequate_response",
            "completed",
            # results of the closed list only: one outside it ("Failed", " failed",
            # "partial_response") makes the entry malformed, and bad_entry draws those
            "intolerant",
            "contraindicated",
            "ongoing",
            MISSING,
            None,
            MISSING,
        ]
    )
    # Well-formed entries: agents from the value sets weigh three times the others.
    agent_pool = agents_in * 3 + agents_out

    dated = any(t.min_days or t.min_months for t in tests) or bool(anchors)
    start_pool = (MISSING, MISSING, None, "2025-01-01", "2025-06-01", "2026-05-01", "2026-04-20", "2025-13-01")
    end_pool = (MISSING, MISSING, None, "2025-03-02", "2025-04-01", "2026-06-01", "2024-12-31")
    # doses around each least daily dose: at it, below, in grams, every other day, unreadable,
    # and without an interval (absent, null, or under a key the dose does not read: never
    # taken as daily)
    least = _unique(x for t in tests for _, x in t.min_daily_doses)
    dose_pool = _unique(
        [
            MISSING,
            MISSING,
            None,
            *({"amount": x, "unit": "mg", "every_days": 1} for x in least),
            *({"amount": x / 2, "unit": "mg", "every_days": 1} for x in least),
            *({"amount": x / 1000, "unit": "g", "every_days": 1} for x in least),
            *({"amount": 2 * x, "unit": "mg"} for x in least),
            *({"amount": 2 * x, "unit": "mg", "every_days": None} for x in least),
            *({"amount": 2 * x, "unit": "mg", "frequency": "weekly"} for x in least),
            *({"amount": 2 * x, "unit": "mg", "every_days": 2} for x in least),
            *({"amount": x, "unit": "mg", "every_days": 7} for x in least),
            {"amount": 40, "unit": "tablet"},
            "40 mg",
            {"amount": -1, "unit": "mg"},
            {"amount": 40, "unit": "mg", "every_days": 0},
        ]
    )

    def entry(draw) -> dict:
        e: dict = {"agent": draw(_sample(agent_pool))}
        _put(e, "class", draw(_sample(class_pool)))
        _put(e, "result", draw(_sample(result_pool)))
        if dated:
            _put(e, "start_date", draw(_sample(start_pool)))
            _put(e, "end_date", draw(_sample(end_pool)))
        if least:
            _put(e, "dose", copy.deepcopy(draw(_sample(dose_pool))))
        return e

    def bad_entry(draw):
        kind = draw(_sample(("agent", "class", "result", "non-object")))
        if kind == "non-object":
            return _pick(draw, (agents_in[0] if agents_in else "imatinib", None, 5, [], True))
        e = entry(draw)
        bad = {
            "agent": (MISSING, None, 5, [e["agent"]], {"name": e["agent"]}, True),
            "class": (1, True, [classes[0] if classes else "x"]),
            "result": (
                1,
                True,
                ["failed"],
                {"result": "failed"},
                "Failed",
                " failed",
                "worse",
                "partial_response",
                *(r.upper() for r in listed),
            ),
        }[kind]
        value = _pick(draw, bad)
        e.pop(kind, None)
        _put(e, kind, value)
        return e

    good_lists = []
    for variant in range(3):
        entries = []
        for t in tests:
            vs = _value_set(spec, t.value_set)
            for i in range(len(vs.agents) if t.each_agent else t.at_least):
                if vs.agents:
                    name = _case_variants(vs.agents[(i + variant) % len(vs.agents)])
                    e = {"agent": name[variant % len(name)]}
                    if vs.classes and variant != 1:
                        e["class"] = vs.classes[0]
                else:
                    e = {"agent": f"regimen {len(entries) + 1}", "class": vs.classes[0]}
                e["result"] = next(r for r in (t.results[variant % len(t.results)], "failed") if r != "any")
                if t.min_days or t.min_months:
                    e["start_date"], e["end_date"] = "2025-01-01", "2025-12-31"
                if (x := dict(t.min_daily_doses).get(e["agent"].lower())) is not None:
                    e["dose"] = {"amount": x, "unit": t.dose_unit, "every_days": 1}
                entries.append(e)
        for vid in anchors:  # a therapy that anchors a lab: started on a date, or never taken
            agents = _value_set(spec, vid).agents
            if variant != 1 and agents:
                start = ("2026-03-01", "2025-06-01", "2026-05-20")[variant]
                entries.append({"agent": agents[0], "result": "ongoing", "start_date": start})
        good_lists.append(entries)

    def good(draw, ctx):
        entries = _pick(draw, good_lists)
        if draw(_sample((False, False, True))):
            entries.append(entry(draw))
        return entries

    def near_good(draw) -> list:
        """A good list with one thing wrong: a result not listed, an entry gone, a class in
        another case (classes are compared exactly)."""
        entries = _pick(draw, good_lists)
        if not entries:  # a good list may be empty (an anchoring therapy never taken)
            return [entry(draw)]
        i = draw(st.integers(0, len(entries) - 1))
        how = draw(_sample(("result", "drop", "class", "no-result")))
        if how == "result":
            # another result of the closed list: the trial is well formed and does not count
            # (a result outside the list, "Failed", is malformed: bad_entry draws those)
            others = [r for r in kinds.THERAPY_RESULTS if r not in listed] or ["completed"]
            entries[i]["result"] = draw(_sample(others))
        elif how == "drop":
            del entries[i]
        elif how == "class" and "class" in entries[i]:
            entries[i]["class"] = entries[i]["class"].upper()
            entries[i]["agent"] = "unlisted agent"
        else:
            entries[i].pop("result", None)
        return entries

    def other(draw, ctx):
        if draw(st.booleans()):
            return near_good(draw)
        entries = [entry(draw) for _ in range(draw(_sample((2, 1, 0, 3, 4))))]
        if entries and draw(_sample((False, False, True))):
            # the same agent again, in another case: distinct agents are counted
            twin = copy.deepcopy(entries[0])
            twin["agent"] = twin["agent"].upper() if twin["agent"] != twin["agent"].upper() else twin["agent"].lower()
            entries.append(twin)
        return entries

    def malformed(draw, ctx):
        # a bad entry beside entries that cannot meet the test (invalid), or beside a good
        # list (still met), or no list at all
        kind = draw(_sample(("beside-other", "beside-other", "beside-good", "not-a-list", "not-a-list")))
        if kind == "not-a-list":
            return _pick(
                draw, ({"agent": agents_in[0] if agents_in else "x", "result": "failed"}, "dasatinib", 5, True)
            )
        entries = near_good(draw) if kind == "beside-other" else _pick(draw, good_lists)
        entries.insert(draw(st.integers(0, len(entries))), bad_entry(draw))
        return entries

    return _Fact(("prior_therapies",), good, other, malformed)


def _attestation_facts(spec: m.PolicySpec) -> list[_Fact]:
    names = _unique(t.name for t in _leaves(spec, m.AttestationTest))
    return [
        _Fact(
            ("prescriber", "attestations", name),
            lambda draw, ctx: True,
            lambda draw, ctx: False,
            lambda draw, ctx: _pick(draw, ("yes", "true", "True", "no", 1, 0, ["true"], {"agreed": True})),
        )
        for name in names
    ]


def _negated_leaves(spec: m.PolicySpec) -> list:
    """The leaf tests under a `not` (directly or through combinators): what meets the policy
    is what fails them."""
    by_id = {c.id: c for v in spec.versions for c in v.criteria}
    found: dict = {}

    def visit(cid: str) -> None:
        c = by_id[cid]
        if isinstance(c.test, m.Kind):
            found[c.test] = None
        for child in c.children:
            visit(child)

    for c in by_id.values():
        if isinstance(c.test, m.Negation):
            visit(c.test.child)
    return list(found)


def _clinical_status_facts(spec: m.PolicySpec) -> list[_Fact]:
    required: dict[str, list[bool]] = {}
    for t in _leaves(spec, m.ClinicalStatusTest):
        required.setdefault(t.name, []).append(t.required)
    for t in _negated_leaves(spec):  # under a `not`, the other value meets the policy
        if isinstance(t, m.ClinicalStatusTest):
            required[t.name].append(not t.required)
    facts = []
    for name, values in required.items():
        wanted = values[0]
        # a status two criteria want opposite ways (branches): "good" is either
        good = (lambda draw, ctx, w=wanted: w) if len(set(values)) == 1 else (lambda draw, ctx: draw(st.booleans()))
        facts.append(
            _Fact(
                ("clinical_status", name),
                good,
                lambda draw, ctx, w=wanted: not w,
                lambda draw, ctx: _pick(draw, ("false", "true", 0, 1, "no", [False], {"value": True})),
            )
        )
    return facts


_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}


def _lab_fact(spec: m.PolicySpec) -> _Fact:
    tests = _unique([*_leaves(spec, m.LabTest), *_table_labs(spec)])
    keys = set(_table_labs(spec))

    def pools(t: m.LabTest):
        if t in keys:  # a dose table's column: values at and around every band's bounds
            edges = [Fraction(repr(b)) if isinstance(b, float) else Fraction(b) for b in _table_edges(spec, t)]
            exact = [e + s for e in edges for s in (Fraction(0), Fraction(1, 2), Fraction(-1, 2))]
            values = _unique(_number(x) for x in [*exact, Fraction(0), Fraction(5000)])
            names = _unique([*_case_variants(t.name), *t.aliases, "ast"])
            units = _unique([t.unit, t.unit.lower(), *list(kinds.unit_factors(t.unit, t.molar_mass))[:4], "banana"])
            # a baseline is before an anchoring start: mostly long ago
            good_offsets = (200, 365, 400) if t.result == "baseline" else (0, 1, 30)
            return values, values, (0, 1, 30, 200, 365), good_offsets, names, units
        raw = (
            t.value
            if t.value is not None and t.change is None
            else (t.times_uln or 1) * (t.uln or 40)
            if t.times_uln
            else 100
        )
        threshold = Fraction(repr(raw)) if isinstance(raw, float) else Fraction(raw)
        steps = (
            Fraction(0),
            Fraction(1, 4),
            Fraction(-1, 4),
            Fraction(1, 2),
            Fraction(-1, 2),
            Fraction(1),
            Fraction(-1),
        )
        exact = [threshold + s for s in steps] + [Fraction(0), threshold * 2]
        values = _unique([*(_number(x) for x in exact), *([float(threshold)] if threshold.denominator == 1 else [])])
        good_values = _unique(_number(x) for x in exact if _COMPARE[t.comparison](x, threshold)) or (values[0],)
        w = t.within_days
        offsets = _unique([0, 1, w - 1, w, w + 1, 2 * w, 365] if w is not None else [0, 1, 30, 365])
        good_offsets = _unique(o for o in offsets if w is None or 0 <= o <= w)
        if t.within_months is not None:
            # n calendar months are 28n to 31n days: around the edge, and surely inside it
            edge = round(t.within_months * 30.4375)
            offsets = _unique([0, 1, *range(edge - 3, edge + 4), t.within_months * 28, 2 * edge])
            good_offsets = (0, 1, t.within_months * 28)
        names = _unique(
            [
                *_case_variants(t.name),
                *(o.name for o in tests if o.name != t.name),
                "ast",
                "bilirubin",
                *t.aliases,
                t.name.replace("_", "-").upper(),
                t.name.replace("_", " "),
            ]
        )
        # the spec's unit as written, UCUM codes that convert into it, spellings, and units that do not
        convertible = [u for u in kinds.unit_factors(t.unit, t.molar_mass, t.valence)][:6]
        # equivalents (mEq/L) convert into moles or mass only with the lab's valence
        units = _unique(
            [t.unit, t.unit.upper(), t.unit.lower(), " " + t.unit, *convertible, "mg/dL", "IU/L", "mEq/L", "", "banana"]
        )
        return values, good_values, offsets, good_offsets, names, units

    table = {t: pools(t) for t in tests}

    def bad_values(t):
        return (str(t.value), True, False, MISSING, None, [t.value], {"v": t.value}, *OUT_OF_RANGE)

    bad_units = (MISSING, None, 5)
    bad_dates = ("2026-02-30", "2026-6-1", "", MISSING, None, 20260101, True)

    def good_entry(draw, ctx, t: m.LabTest) -> dict:
        _, good_values, _, good_offsets, _, _ = table[t]
        e = {
            "name": draw(_sample(_case_variants(t.name))),
            "value": draw(_sample(good_values)),
            "unit": draw(_sample(_unique([t.unit, t.unit.lower()]))),
            "date": _shift(ctx.dos, -draw(_sample(good_offsets))),
        }
        if t.loinc and draw(st.booleans()):
            # a LOINC code is read with spaces trimmed
            e["code"] = draw(_sample((t.loinc[0], t.loinc[0], f" {t.loinc[0]} ")))
        return e

    def entry(draw, ctx, t: m.LabTest | None = None, when: str | None = None) -> dict:
        t = t or draw(_sample(tests))
        values, _, offsets, _, names, units = table[t]
        # mostly well formed: a bad value / unit / date in one case out of five each
        value = draw(_sample(values * 4 + bad_values(t)))
        unit = draw(_sample(units * 2 + bad_units))
        if when is None:
            offset = draw(_sample(offsets * 3 + (-1, -30) + bad_dates))
            when = _shift(ctx.dos, -offset) if isinstance(offset, int) and not isinstance(offset, bool) else offset
            if isinstance(when, str) and draw(_sample((False, False, False, True))):
                # a FHIR dateTime, read as the day written; a time of no form makes it no date
                when += draw(_sample(("T10:00:00Z", "T23:30:00-05:00", "T00:15:00.5+14:00", "T10:00", "T25:00")))
        e: dict = {"name": draw(_sample(names))}
        codes = _unique(c for x in tests for c in x.loinc)
        # malformed codes (not a LOINC code once trimmed, a wrong check digit, not a string)
        # make a result of this lab's name, or of no name, invalid: never skipped
        first = (codes or ("2951-2",))[0]
        digits, _, check = first.partition("-")
        malformed_codes = ("", f"LOINC:{first}", f"{digits}-{(int(check) + 1) % 10}", 5)
        _put(e, "code", draw(_sample((MISSING,) * 4 + codes + ("2951-2", f"{first} ", None) + malformed_codes)))
        _put(
            e,
            "reference_range",
            _pick(
                draw,
                (
                    *(MISSING,) * 6,
                    {"high": 40},
                    {"high": 35.5},
                    {"high": "40"},
                    {},
                    7,
                    # FHIR's referenceRange: a high in its own unit; contradictions are invalid
                    {"high": 40, "unit": draw(_sample(units))},
                    {"high": 0},
                    {"high": -10},
                    {"low": 50, "high": 40},
                    {"low": 10, "high": 40, "unit": t.unit},
                ),
            ),
        )
        _put(e, "value", copy.deepcopy(value))
        _put(e, "unit", unit)
        _put(e, "date", when)
        # FHIR Observation.status and Quantity.comparator: read, uncertain, void, or outside
        # FHIR's lists
        _put(
            e,
            "status",
            _pick(
                draw,
                (
                    *(MISSING,) * 60,
                    "final",
                    "amended",
                    "corrected",
                    "preliminary",
                    "registered",
                    "unknown",
                    "cancelled",
                    "entered-in-error",
                    "Final",
                    None,
                    1,
                ),
            ),
        )
        _put(e, "comparator", _pick(draw, (*(MISSING,) * 45, "<", "<=", ">", ">=", "ad", "=", None, 0)))
        return e

    def good(draw, ctx):
        entries = [good_entry(draw, ctx, t) for t in tests]
        if draw(_sample((False, False, True))):
            entries.append(entry(draw, ctx))
        return entries

    def other(draw, ctx):
        entries = [entry(draw, ctx) for _ in range(draw(_sample((1, 2, 0, 3))))]
        if entries and draw(_sample((False, True))):
            # another result of the same lab on the same date (every one on the latest date counts)
            first = entries[0]
            t = next(
                (x for x in tests if isinstance(first.get("name"), str) and first["name"].lower() == x.name.lower()),
                tests[0],
            )
            entries.append(entry(draw, ctx, t, first.get("date", MISSING)))
        return entries

    def malformed(draw, ctx):
        if draw(_sample((False, True))):
            return _pick(draw, ("alt 100 U/L", {"name": tests[0].name, "value": 1}, 5, True))
        entries = other(draw, ctx)
        t = draw(_sample(tests))
        junk = draw(_sample(("unusable", "non-object", "bad-name", "bad-code")))
        if junk == "unusable":
            entries.append({"name": t.name, "value": str(t.value), "unit": t.unit, "date": _text(ctx.dos)})
        elif junk == "bad-code":
            code = draw(_sample(("", " ", "LOINC:" + (t.loinc or ("2951-2",))[0], "13457-8", 13457, ["13457-7"])))
            e = {"code": code, "value": t.value, "unit": t.unit, "date": _text(ctx.dos)}
            _put(e, "name", draw(_sample((t.name, MISSING, None))))
            entries.append(e)
        elif junk == "non-object":
            entries.append(_pick(draw, (t.name, None, 5, [])))
        else:
            entries.append({"name": _pick(draw, (5, None, [t.name])), "value": t.value, "unit": t.unit})
        return entries

    return _Fact(("labs",), good, other, malformed)


def _specialty_fact(spec: m.PolicySpec) -> _Fact:
    accepted = _unique(s for t in _leaves(spec, m.SpecialtyTest) for s in t.specialties)
    good_values = _unique(v for s in accepted for v in _case_variants(s))
    first = accepted[0]
    return _Fact(
        ("prescriber", "specialty"),
        lambda draw, ctx: draw(_sample(good_values)),
        lambda draw, ctx: draw(
            _sample(
                ("cardiology", "internal_medicine", first.replace("_", " "), first + " ", " " + first, "", first + "s")
            )
        ),
        lambda draw, ctx: _pick(draw, (1, True, [first], {"name": first})),
    )


def _sex_fact(spec: m.PolicySpec) -> _Fact:
    """Administrative sex: the accepted codes, the other FHIR codes ("unknown" among them,
    which reads as not known), and what is not a FHIR AdministrativeGender code."""
    accepted = _unique(a for t in _leaves(spec, kinds.SexTest) for a in t.allowed)
    others = tuple(c for c in ("male", "female", "other", "unknown") if c not in accepted) or ("unknown",)
    first = accepted[0]
    return _Fact(
        ("patient", "sex"),
        lambda draw, ctx: draw(_sample(accepted)),
        lambda draw, ctx: draw(_sample(others)),
        lambda draw, ctx: _pick(
            draw,
            (
                first.capitalize(),
                first.upper(),
                first[0].upper(),
                " " + first,
                "",
                "unknown ",
                1,
                True,
                [first],
                {"code": first},
            ),
        ),
    )


def _concurrent_fact(spec: m.PolicySpec) -> _Fact:
    tests = [*_leaves(spec, m.ConcurrentTherapyTest), *_leaves(spec, kinds.KINDS["concurrent_therapy"])]
    value_sets = _unique(vs for t in tests for vs in _all_value_sets(spec) if vs.id == t.value_set)
    agents_in, agents_out, classes, class_pool = _therapy_pools(
        spec, value_sets, ("aspirin", "ondansetron", "acyclovir", "")
    )
    harmless_classes = (MISSING, None, "antiemetic", *(c.upper() for c in classes))

    def entry(draw, agents=None, class_values=None) -> dict:
        e: dict = {"agent": draw(_sample(agents or (agents_out * 3 + agents_in)))}
        _put(e, "class", draw(_sample(class_values or class_pool)))
        # A concurrent therapy has no result: one given, of any type, is ignored.
        _put(e, "result", _pick(draw, (MISSING, MISSING, MISSING, "ongoing", 5)))
        return e

    def bad_entry(draw):
        kind = draw(_sample(("agent", "class", "non-object")))
        if kind == "non-object":
            return _pick(draw, (agents_in[0] if agents_in else "x", None, 5, []))
        e = entry(draw)
        if kind == "agent":
            e.pop("agent")
            _put(e, "agent", _pick(draw, (MISSING, None, 5, ["x"])))
        else:
            e["class"] = _pick(draw, (1, True, [classes[0] if classes else "x"]))
        return e

    negated = any(isinstance(t, kinds.KINDS["concurrent_therapy"]) for t in _negated_leaves(spec))

    def good(draw, ctx):
        if negated and draw(st.booleans()):  # under a `not`, an agent of the set fails the policy
            return [entry(draw) for _ in range(draw(_sample((1, 2))))]
        return [entry(draw, agents_out, harmless_classes) for _ in range(draw(_sample((0, 1, 2))))]

    def other(draw, ctx):
        return [entry(draw) for _ in range(draw(_sample((1, 2, 0, 3))))]

    def malformed(draw, ctx):
        if draw(_sample((False, True, True))):
            entries = other(draw, ctx)
            entries.insert(draw(st.integers(0, len(entries))), bad_entry(draw))
            return entries
        return _pick(draw, ({"agent": agents_in[0] if agents_in else "x"}, "none", 5, True))

    return _Fact(("concurrent_therapies",), good, other, malformed)


def _anchor_fact(spec: m.PolicySpec) -> _Fact:
    """treatment.start_date, the anchor of baseline, after-therapy and change-from-baseline labs."""
    days = _unique(
        [0, 1, 30, 56, 57, 90, 180]
        + [t.after_days + d for t in _leaves(spec, m.LabTest) if t.after_days for d in (-1, 0, 1)]
    )
    for t in _leaves(spec, kinds.KINDS["treatment_duration"]):
        # n calendar months are 28n to 31n days: around the edge; or the day count's edge
        edge = round(t.months * 30.4375) if t.months is not None else t.days
        days = _unique([*days, *range(edge - 3, edge + 4), 2 * edge])
    return _Fact(
        ("treatment", "start_date"),
        lambda draw, ctx: _shift(ctx.dos, -draw(_sample(days))),
        lambda draw, ctx: _shift(ctx.dos, draw(_sample((1, 30, -365, -3650)))),
        lambda draw, ctx: _pick(draw, ("2026-02-30", "", 20260101, True, ["2026-01-01"], "01/01/2026")),
    )


def _consulting_fact(spec: m.PolicySpec) -> _Fact:
    accepted = _unique(s for t in _leaves(spec, kinds.KINDS["prescribed_by"]) for s in t.specialties)
    variants = _unique(v for s in accepted for v in _case_variants(s))
    return _Fact(
        ("prescriber", "consulting_specialties"),
        lambda draw, ctx: [draw(_sample(variants))],
        lambda draw, ctx: _pick(
            draw, ([], ["internal_medicine"], ["internal_medicine", accepted[0] + " "], [" " + accepted[0]])
        ),
        lambda draw, ctx: _pick(draw, (accepted[0], [5], [None], 5, True, {"a": accepted[0]}, [accepted[0], 5])),
    )


def _prescriber_specialty_fact(spec: m.PolicySpec) -> _Fact:
    accepted = _unique(s for t in _leaves(spec, kinds.KINDS["prescribed_by"]) for s in t.specialties)
    accepted += _unique(s for t in _leaves(spec, m.SpecialtyTest) for s in t.specialties)
    good_values = _unique(v for s in accepted for v in _case_variants(s))
    return _Fact(
        ("prescriber", "specialty"),
        lambda draw, ctx: draw(_sample(good_values)),
        lambda draw, ctx: draw(_sample(("cardiology", "internal_medicine", accepted[0] + " ", ""))),
        lambda draw, ctx: _pick(draw, (1, True, [accepted[0]], {"name": accepted[0]})),
    )


def _procedure_fact(spec: m.PolicySpec) -> _Fact:
    tests = _leaves(spec, kinds.KINDS["procedure"])
    names = _unique(v for t in tests for n in t.names for v in (n, n.upper(), n.replace(" ", "_")))
    within = _unique(t.within_days for t in tests if t.within_days is not None) or (365,)

    def entry(draw, ctx) -> dict:
        e: dict = {"name": draw(_sample((*names, "appendectomy", "cholecystectomy")))}
        w = draw(_sample(within))
        _put(
            e,
            "date",
            draw(
                _sample(
                    (
                        MISSING,
                        None,
                        _shift(ctx.dos, -w),
                        _shift(ctx.dos, -w - 1),
                        _shift(ctx.dos, -1),
                        _shift(ctx.dos, 2),
                    )
                )
            ),
        )
        return e

    return _Fact(
        ("procedures",),
        lambda draw, ctx: [{"name": draw(_sample(names)), "date": _shift(ctx.dos, -draw(_sample((0, 1, 30))))}],
        lambda draw, ctx: [entry(draw, ctx) for _ in range(draw(_sample((0, 1, 2, 3))))],
        lambda draw, ctx: _pick(
            draw, ("splenectomy", 5, [5], [{"name": 5}], [{"name": names[0], "date": "2026-02-30"}], [None])
        ),
    )


def _measurement_fact(path: tuple[str, ...], good_values: tuple, units: tuple, bad_units: tuple) -> _Fact:
    def measurement(draw, ctx, values) -> dict:
        e: dict = {"value": draw(_sample(values)), "unit": draw(_sample(units))}
        # a FHIR dateTime and one without an offset (both read as their day), one after the
        # date of service and one long ago (before many a birth date)
        when = (MISSING, _shift(ctx.dos, -3), _shift(ctx.dos, -3) + "T10:00:00Z", _shift(ctx.dos, -3) + "T10:00:00")
        _put(e, "date", draw(_sample((*when, _shift(ctx.dos, 1), "1950-01-01"))))
        return e

    return _Fact(
        path,
        lambda draw, ctx: measurement(draw, ctx, good_values),
        lambda draw, ctx: {**measurement(draw, ctx, good_values), "unit": draw(_sample(bad_units))},
        lambda draw, ctx: _pick(
            draw,
            (
                80,
                "80 kg",
                {"value": "80", "unit": units[0]},
                {"value": -3, "unit": units[0]},
                {"value": 9000, "unit": units[0]},
                {"value": 80, "unit": units[0], "date": "2026-13-01"},
                [80],
            ),
        ),
    )


def _body_facts(spec: m.PolicySpec) -> list[_Fact]:
    measures = {t.measure for t in _leaves(spec, kinds.KINDS["body_measure"])}
    doses = _leaves(spec, kinds.KINDS["dose"])
    out = []
    weights = _unique(
        _number(Fraction(repr(b)) + s)
        for b in _table_edges(spec, "weight")
        for s in (0, Fraction(1, 2), Fraction(-1, 2))
    )
    heights = _unique(
        _number(Fraction(repr(b)) + s)
        for b in _table_edges(spec, "height")
        for s in (0, Fraction(1, 2), Fraction(-1, 2))
    )
    if measures & {"weight", "bmi"} or any(t.per != "none" for t in doses) or weights:
        out.append(
            _measurement_fact(
                ("patient", "weight"),
                (90, 70, 55.5, 120, 45, *weights),
                ("kg", "KG", "[lb_av]", "g"),
                ("stone", "", "lbs ", "kg "),
            )
        )
    if measures & {"height", "bmi"} or any(t.per == "m2" for t in doses) or heights:
        out.append(
            _measurement_fact(
                ("patient", "height"), (170, 165.1, 150, 190, *heights), ("cm", "m", "[in_i]", "mm"), ("ft", "")
            )
        )
    if "bmi" in measures:
        out.append(
            _measurement_fact(("patient", "bmi"), (31, 30, 29.9, 45), ("kg/m2", "kg/m^2", "KG/M2"), ("lb/in2", ""))
        )
    return out


def _dose_fact(spec: m.PolicySpec) -> _Fact:
    tests = _leaves(spec, kinds.KINDS["dose"]) + _leaves(spec, kinds.KINDS["dose_regimen"])
    units = _unique([u for t in tests for u in (t.unit, "mg", "ug", "g", "mcg", "mL")])
    rows = [row for table in _dose_tables(spec) for row in table.rows]
    # the plain tests' limits (a `max`, a labeled interval) are drawn at and around too
    plain = [t for t in tests if isinstance(t, kinds.KINDS["dose"]) and t.table is None]
    amounts = _unique(
        [
            0,
            0.5,
            1,
            10,
            100,
            300,
            500,
            700,
            900,
            1000,
            5000,
            *(row.max + d for row in rows for d in (0, 1, -1)),
            *(t.max + d for t in plain for d in (0, 1, -1)),
        ]
    )
    intervals = _unique(
        [
            1,
            7,
            7,
            0.5,
            14,
            MISSING,
            *(row.every_days + d for row in rows if row.every_days for d in (0, 0, 1, -1)),
            *(t.every_days + d for t in plain if t.every_days for d in (0, 0, 1, -1)),
        ]
    )
    regimens = _leaves(spec, kinds.KINDS["dose_regimen"])
    if regimens:
        # a regimen's amounts, between them, and in a thousandth of the unit (0.01 g for 10 mg)
        listed = [a for t in regimens for a in t.amounts]
        amounts = _unique([*amounts, *listed, *(a + 2.5 for a in listed), *(a / 1000 for a in listed)])
        intervals = _unique([*intervals, *(t.every_days for t in regimens), None])

    def dose(draw, ctx) -> dict:
        d: dict = {"amount": draw(_sample(amounts)), "unit": draw(_sample(units))}
        _put(d, "every_days", draw(_sample(intervals)))
        if rows and draw(st.booleans()):  # within every row of the tables: met wherever the facts fall
            d["amount"], d["unit"] = min(row.max for row in rows), tests[0].unit
            d["every_days"] = max([row.every_days for row in rows if row.every_days] or [7])
        _put(d, "route", draw(_sample((MISSING, "subcutaneous"))))
        return d

    def good(draw, ctx) -> dict:
        if regimens and draw(st.booleans()):
            t = draw(_sample(regimens))
            return {"amount": draw(_sample(t.amounts)), "unit": t.unit, "every_days": t.every_days}
        return dose(draw, ctx)

    return _Fact(
        ("dose",),
        good,
        lambda draw, ctx: {**dose(draw, ctx), "unit": draw(_sample(("tablet", "", "MG")))},
        lambda draw, ctx: _pick(
            draw,
            (
                "700 ug",
                5,
                {"amount": "700", "unit": "ug", "every_days": 7},
                {"amount": -1, "unit": "ug", "every_days": 7},
                {"amount": 7, "unit": 5, "every_days": 7},
                {"amount": 7, "unit": "ug", "every_days": 0},
                [7],
            ),
        ),
    )


def _pregnancy_fact(spec: m.PolicySpec) -> _Fact:
    return _Fact(
        ("patient", "pregnancy_status"),
        lambda draw, ctx: draw(_sample(("not_pregnant", "pregnant"))),
        lambda draw, ctx: draw(_sample(("unknown", "pregnant"))),
        lambda draw, ctx: _pick(draw, ("Pregnant", "no", True, 1, ["pregnant"], "")),
    )


def _documents_fact(spec: m.PolicySpec) -> _Fact | None:
    """The request's `documents` when some criterion requires documentation: entries of the
    required types supporting every criterion (no `supports`) or the ones they name, entries
    of other types or supporting other criteria, and malformed entries (docs/semantics.md,
    "Documentation required")."""
    documented = _unique(c for v in spec.versions for c in v.criteria if c.documentation)
    if not documented:
        return None
    wanted = _unique(t for c in documented for t in c.documentation)
    unwanted = tuple(t for t in m.DOCUMENT_TYPES if t not in wanted)
    ids = _unique(c.id for c in documented)
    others = (*ids, *[c.id for c in spec.criteria if not c.documentation][:2], "LDL_HIGH")

    def entry(draw, types, supports) -> dict:
        e: dict = {"id": _pick(draw, ("att-1", "att-2", "urn:uuid:7", "DocumentReference/9"))}
        e["type"] = draw(_sample(types))
        _put(e, "supports", draw(supports))
        return e

    def good(draw, ctx):
        mine = _sample((MISSING, MISSING, None, list(ids), [draw(_sample(ids))]))
        return [entry(draw, wanted, mine) for _ in range(draw(_sample((1, 2, 3))))]

    def other(draw, ctx):
        theirs = _sample((MISSING, [], [draw(_sample(others))], list(others[-2:])))
        types = wanted + unwanted if draw(st.booleans()) else unwanted
        return [entry(draw, types, theirs) for _ in range(draw(_sample((0, 1, 2))))]

    def bad_entry(draw):
        e = entry(draw, wanted, _sample((MISSING, list(ids))))
        kind = draw(_sample(("id", "type", "supports", "non-object")))
        if kind == "non-object":
            return _pick(draw, (wanted[0], None, 5, [e]))
        if kind == "id":
            e.pop("id")
            _put(e, "id", _pick(draw, (MISSING, None, "", 5, ["att-1"])))
        elif kind == "type":
            e["type"] = _pick(draw, (wanted[0].upper(), wanted[0].replace("_", " "), None, 1, [wanted[0]], "unknown"))
        else:
            e["supports"] = _pick(draw, (ids[0], [1], {"id": ids[0]}, True))
        return e

    def malformed(draw, ctx):
        if draw(_sample((False, True, True))):
            entries = other(draw, ctx) if draw(st.booleans()) else good(draw, ctx)
            entries.insert(draw(st.integers(0, len(entries))), bad_entry(draw))
            return entries
        return _pick(draw, ({"id": "att-1", "type": wanted[0]}, wanted[0], 5, True))

    return _Fact(("documents",), good, other, malformed)


def _quantity_fact(spec: m.PolicySpec) -> _Fact:
    tests = _leaves(spec, m.QuantityLimitTest)
    good_pairs, other_pairs = [], []
    for t in tests:
        max_units = Fraction(repr(t.max_units)) if isinstance(t.max_units, float) else Fraction(t.max_units)
        for days in _unique(
            [t.per_days, 30, 28, 7, 1, 14, 2 * t.per_days, 90, 10 * t.per_days, t.days_cap, t.days_cap + 1]
        ):
            limit = max_units * days / t.per_days
            near = [Fraction(math.floor(limit)), Fraction(math.ceil(limit)), limit + 1, Fraction(0)]
            if _dyadic(limit):
                near += [limit, limit + Fraction(1, 4), limit - Fraction(1, 4), limit + Fraction(1, 2)]
            for units in _unique(x for x in near if x >= 0):
                pair = {"units": _number(units), "days_supply": days}
                (good_pairs if units * t.per_days <= max_units * days else other_pairs).append(pair)
        good_pairs.append({"units": _number(max_units), "days_supply": float(t.per_days)})  # 30.0: a whole number
    bad_units = (-1, -0.25, "60", True, [60], {"n": 60}, *OUT_OF_RANGE)
    bad_days = (0, -1, 1.5, 7.25, 0.5, "30", True, [30], *OUT_OF_RANGE)

    def good(draw, ctx):
        return _pick(draw, good_pairs)

    def other(draw, ctx):
        pair = _pick(draw, other_pairs + good_pairs)
        drop = draw(_sample((None, None, None, "units", "days_supply", "both")))
        if drop == "both":
            return {}
        if drop:
            del pair[drop]
        return pair

    def malformed(draw, ctx):
        kind = draw(_sample(("units", "days_supply", "both", "parent")))
        if kind == "parent":
            return _pick(draw, ("60 tablets", [60, 30], 60, True))
        pair = _pick(draw, good_pairs + other_pairs)
        if kind in ("units", "both"):
            pair["units"] = _pick(draw, bad_units)
        if kind in ("days_supply", "both"):
            pair["days_supply"] = _pick(draw, bad_days)
        # a malformed part beside an absent one: still invalid, never unknown
        if kind != "both" and draw(_sample((False, True))):
            pair.pop("days_supply" if kind == "units" else "units")
        return pair

    return _Fact(("quantity",), good, other, malformed)


# --- the request envelope -----------------------------------------------------------------------


def _ndc_forms(ndc: str) -> tuple[list[str], list[str]]:
    """(forms that name this NDC, forms that do not): 5-4-2, 11 digits, and each 10-digit
    layout whose segment starts with the zero it drops; 10 digits without hyphens never."""
    digits = ndc.replace("-", "")
    if "-" not in ndc:  # written as 11 digits
        a, b, c = digits[:5], digits[5:9], digits[9:]
    else:
        a, b, c = ndc.split("-")
        if len(a) == 4:
            a = "0" + a
        elif len(b) == 3:
            b = "0" + b
        elif len(c) == 1:
            c = "0" + c
    good = [f"{a}-{b}-{c}", a + b + c, f" {a}-{b}-{c} "]
    if a.startswith("0"):
        good.append(f"{a[1:]}-{b}-{c}")
    if b.startswith("0"):
        good.append(f"{a}-{b[1:]}-{c}")
    if c.startswith("0"):
        good.append(f"{a}-{b}-{c[1:]}")
    bad = [(a + b + c)[1:], f"{a}{b}-{c}", f"{a}-{b}-{c}-1", f"{a}.{b}.{c}"]
    return good, bad


def _drug_pools(spec: m.PolicySpec, others: Sequence[m.PolicySpec]):
    products = spec.products
    names = _unique(n for p in products for n in (p.name, p.generic) if n)
    hcpcs = _unique(c for p in products for c in p.hcpcs)
    ndcs = _unique(c for p in products for c in p.ndc)
    naming = [{"hcpcs": c} for c in hcpcs] + [{"ndc": c} for c in ndcs]
    for n in names:
        for v in _case_variants(n):
            naming.append({"name": v})
        naming += [{"name": w + n + w} for w in _WHITE] + [{"name": "\u00a0" + n.upper() + "\t\n"}]
        naming += [{"name": n + "\u00ae"}, {"name": " " + n + "\u2122 "}]
    # HCPCS in any case, with spaces; NDCs in every standard form
    naming += [{"hcpcs": c.lower()} for c in hcpcs] + [{"hcpcs": " " + c + " "} for c in hcpcs]
    naming += [{"hcpcs": c[0] + " " + c[1:]} for c in hcpcs]
    bad_ndcs = []
    for c in ndcs:
        good, bad = _ndc_forms(c)
        naming += [{"ndc": f} for f in good]
        bad_ndcs += bad
    if hcpcs and names:
        naming.append({"name": names[0], "hcpcs": hcpcs[0]})
    if ndcs and names:
        naming.append({"ndc": ndcs[0], "name": names[-1].upper()})
    for p in products:  # each product by all its identifiers, and by name and strength
        ids = {**({"hcpcs": p.hcpcs[0]} if p.hcpcs else {}), **({"ndc": p.ndc[0]} if p.ndc else {}), "name": p.name}
        naming.append(ids)
        naming += [{"name": p.name, "strength": s} for s in p.strengths]
        naming += [{"name": p.name, "strength": s.upper().replace(" ", "")} for s in p.strengths]
    naming.append({**naming[0], "name": None})

    other = [{"name": "aspirin"}, {"hcpcs": "J9999"}, {"ndc": "00000-0000-00"}]
    for n in names:
        other += [{"name": n.replace(" ", "  ")}, {"name": n[:-1]}] + [{"name": c + n + c} for c in _NOT_WHITE]
    other += [{"ndc": c} for c in bad_ndcs]
    # an identifier that names nothing beside one that names this policy: never ignored
    other += [{"hcpcs": "J9999", "name": names[0]}, {"ndc": "00000-0000-00", **naming[0]}]
    # identifiers of two different products of this policy; a strength no product has
    if len(products) > 1:
        for p, q in itertools.pairwise(products):
            if p.hcpcs and q.ndc:
                other.append({"hcpcs": p.hcpcs[0], "ndc": q.ndc[0]})
            if p.strengths and q.strengths:
                other.append({"name": p.name, "strength": "1 kg"})
    for n in names[:1]:
        other += [{"name": n, "strength": "0 mg"}, {"name": n, "strength": 500}]
    for o in others:
        if o.id == spec.id:
            continue
        theirs = [{"hcpcs": c} for c in o.drug.hcpcs] + [{"ndc": c} for c in o.drug.ndc] + [{"name": o.drug.brand}]
        other += theirs
        # identifiers naming two different policies
        other += [
            {**naming[0], **t} if set(t) != set(naming[0]) else {**naming[0], "name": o.drug.brand} for t in theirs
        ]
    malformed = [
        "Besponsa",
        names[0],
        [naming[0]],
        5,
        None,
        MISSING,
        {},
        {"name": None},
        {"hcpcs": 9229},
        {"name": 5},
        {"name": [names[0]]},
        {"ndc": True},
        {**naming[0], "ndc": 5},
        {**naming[0], "name": ["x"]},
        {**naming[0], "strength": ["500 mg"]},
    ]
    return _unique(naming), _unique(other), tuple(malformed)


def _indications(spec: m.PolicySpec) -> tuple[object, ...]:
    """Values of the request's `indication`: mostly absent; an indication of the spec, one it
    does not have, or not a string."""
    ids = _unique(i.id for v in spec.versions for r in v.requirements for i in r.indications)
    return (MISSING,) * 6 + ids + ("gist", None, 5, ["x"]) if ids else (MISSING,) * 12 + ("gist", 5)


def _plans(spec: m.PolicySpec, others: Sequence[m.PolicySpec]) -> tuple[object, ...]:
    """Values of the request's `plan`: the spec's own mostly, none, another's, not a string."""
    theirs = _unique(o.plan for o in others if o.plan and o.plan != spec.plan)
    own = (spec.plan,) * 8 if spec.plan else (MISSING,) * 8
    return (*own, MISSING, None, *theirs[:2], 7)


def _months_received(spec: m.PolicySpec) -> tuple[object, ...]:
    """Values of therapy.months_received around each lifetime cap and therapy_received
    bound the spec has."""
    caps = _unique(
        d.lifetime_cap_months
        for v in spec.versions
        for r in v.requirements
        for d in [
            r.duration,
            *(i.duration for i in r.indications),
            *(w for i in r.indications for _, w in i.duration_when),
        ]
        if d is not None and d.lifetime_cap_months is not None
    )
    # therapy_received bounds: the bound, a month either side
    bounds = _unique(
        b for t in _leaves(spec, kinds.KINDS["therapy_received"]) for b in (t.min_months, t.max_months) if b is not None
    )
    around = _unique(x for c in caps for x in (0, 1, c - 13, c - 12, c - 11, c - 1, c, c + 1) if x >= 0)
    around = _unique([*around, *(x for b in bounds for x in (0, b - 1, b, b + 1) if x >= 0)])
    return (*around, MISSING, MISSING, 2.5, "3", -1, True) if caps or bounds else ()


def _version_dates(spec: m.PolicySpec) -> tuple[tuple[str, ...], ...]:
    """For each version, days around its effective date: the day before (the older version,
    or none before the first), the day itself, the day after, and days 45 and 120 after."""
    out = []
    for v in spec.versions:
        day = _parse(v.effective_date)
        out.append((_text(day), _shift(day, -1), _shift(day, 1), _shift(day, 45), _shift(day, 120)))
    # the current version has a mode of its own: earlier versions weigh double here
    return tuple(out[:1] + out[1:] * 2)


@dataclass(frozen=True)
class _Plan:
    spec: m.PolicySpec
    facts: tuple[_Fact, ...]
    thresholds: tuple[int, ...]
    drug_naming: tuple
    drug_other: tuple
    drug_malformed: tuple
    parents: tuple[tuple[str, ...], ...]
    dos_current: tuple[str, ...]
    dos_versions: tuple[tuple[str, ...], ...]
    leap_births: tuple[tuple[int, int], ...]  # (age threshold, leap year of birth)
    near_weights: tuple[int, ...]  # fact indices, list-valued facts twice
    # every request type, whatever the version in force has (a type no set decides is pended
    # with a reason, itself worth deciding alike)
    request_types: tuple[str, ...] = field(default=m.REQUEST_TYPES)
    indications: tuple[object, ...] = (MISSING,)
    plans: tuple[object, ...] = (MISSING,)
    months_received: tuple[object, ...] = ()


def _duration_branch_fields(spec: m.PolicySpec) -> set[str]:
    """The request fields read below the criteria of every `duration_when` branch."""
    by_id = {c.id: c for c in spec.criteria}
    todo = [cid for r in spec.requirements for i in r.indications for cid, _ in i.duration_when]
    seen: set[str] = set()
    fields: set[str] = set()
    while todo:
        cid = todo.pop()
        if cid in seen or cid not in by_id:
            continue
        seen.add(cid)
        c = by_id[cid]
        if c.is_leaf:
            fields.update(c.test.fields())
        else:
            todo.extend(c.children)
    return fields


def _plan(spec: m.PolicySpec, others: Sequence[m.PolicySpec]) -> _Plan:
    facts: list[_Fact] = []
    if _leaves(spec, m.AgeTest):
        facts.append(_age_fact(spec))
    if _leaves(spec, m.DiagnosisTest):
        facts.append(_diagnosis_fact(spec))
    facts += _biomarker_facts(spec)
    if _leaves(spec, m.PriorTherapyTest) or _anchor_sets(spec):
        facts.append(_prior_therapy_fact(spec))
    facts += _attestation_facts(spec)
    facts += _clinical_status_facts(spec)
    if _leaves(spec, m.LabTest) or _table_labs(spec):
        facts.append(_lab_fact(spec))
    if any(t.anchored for t in _leaves(spec, m.LabTest)) or _leaves(spec, kinds.KINDS["treatment_duration"]):
        facts.append(_anchor_fact(spec))
    if _leaves(spec, kinds.KINDS["prescribed_by"]):
        facts.append(_prescriber_specialty_fact(spec))
        facts.append(_consulting_fact(spec))
    elif _leaves(spec, m.SpecialtyTest):
        facts.append(_specialty_fact(spec))
    if _leaves(spec, m.ConcurrentTherapyTest) or _leaves(spec, kinds.KINDS["concurrent_therapy"]):
        facts.append(_concurrent_fact(spec))
    if _leaves(spec, kinds.KINDS["procedure"]):
        facts.append(_procedure_fact(spec))
    facts += _body_facts(spec)
    if _leaves(spec, kinds.KINDS["dose"]) or _leaves(spec, kinds.KINDS["dose_regimen"]):
        facts.append(_dose_fact(spec))
    if _leaves(spec, kinds.KINDS["pregnancy"]):
        facts.append(_pregnancy_fact(spec))
    if _leaves(spec, m.QuantityLimitTest):
        facts.append(_quantity_fact(spec))
    if _leaves(spec, kinds.SexTest):
        facts.append(_sex_fact(spec))
    documents = _documents_fact(spec)
    if documents is not None:
        facts.append(documents)
    parents = _unique(f.path[:i] for f in facts for i in range(1, len(f.path)))
    ages = _leaves(spec, m.AgeTest)
    thresholds = tuple(
        sorted(
            {t.min_years for t in ages if t.min_years is not None}
            | {t.max_years + 1 for t in ages if t.max_years is not None}
        )
    ) or (18,)
    naming, other, malformed = _drug_pools(spec, others)
    # Dates of service on which the current version is in force (most requests), and dates
    # around every version's effective date.
    current = _parse(spec.effective_date)
    dos_current = tuple(d for d in _VALID_DOS_ANCHORS if _parse(d) >= current) or (spec.effective_date,)
    # Born 29 February of leap year L, seen around the birthday of age t in year L + t: mostly
    # in the years the current version is in force, once in an older year.
    first = current.year + 1
    leap_births = [(t, y - t) for t in thresholds for y in range(first, first + 8) if _leap(y - t) and y - t >= 1900]
    leap_births += [(t, L) for t in thresholds for L in _LEAP_YEARS[:1]]
    # The near mood spoils one fact; list-valued facts (diagnoses, therapies, labs) carry the
    # richest logic and are picked twice as often.
    # Facts under a criterion that picks an indication's duration (`duration_when`) are picked
    # four times as often more: a branch's own duration needs an earlier branch spoiled.
    branchy = _duration_branch_fields(spec)
    near_weights = tuple(
        i
        for i, f in enumerate(facts)
        for _ in range((2 if f.path[0] in _LIST_FACTS else 1) + (4 if ".".join(f.path) in branchy else 0))
    )
    return _Plan(
        spec,
        tuple(facts),
        thresholds,
        naming,
        other,
        malformed,
        parents,
        dos_current,
        _version_dates(spec),
        _unique(leap_births),
        near_weights,
        indications=_indications(spec),
        plans=_plans(spec, others),
        months_received=_months_received(spec),
    )


# --- putting a request together -------------------------------------------------------------


def _place(request: dict, path: tuple[str, ...], value: object) -> None:
    node = request
    for key in path[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = node[key] = {}
        node = nxt
    node[path[-1]] = value


def _date_of_service(draw, plan: _Plan, broken: bool) -> tuple[object, _Ctx]:
    if broken:
        value = _pick(draw, _INVALID_DATES + _NON_STRINGS + (None, MISSING))
        return value, _Ctx(dt.date(2026, 6, 15))
    mode = draw(_sample(("current",) * 3 + ("version",) * 5 + ("anchor", "leap", "random")))
    if mode == "leap":
        # born on 29 February of a leap year, seen on 28 February / 1 March of the year of a
        # boundary birthday (and on 29 February when that year is leap too)
        years, born = draw(_sample(plan.leap_births))
        y = born + years
        days = [_iso(y, 2, 28), _iso(y, 3, 1)] + ([_iso(y, 2, 29)] if _leap(y) else [])
        text = draw(_sample(days))
        return text, _Ctx(_parse(text), _iso(born, 2, 29))
    if mode == "random":
        day = draw(st.dates(dt.date(1990, 1, 1), dt.date(2199, 12, 31)))
        return _text(day), _Ctx(day)
    if mode == "version":  # a version first, then a day around its effective date
        pool = draw(_sample(plan.dos_versions))
    else:
        pool = plan.dos_current if mode == "current" else _VALID_DOS_ANCHORS
    text = draw(_sample(pool))
    return text, _Ctx(_parse(text))


def _request_type(draw, plan: _Plan, broken: bool) -> object:
    if broken:
        return _pick(
            draw,
            (
                "Initial",
                "RENEWAL",
                "emergency",
                "",
                " initial",
                "new-to-plan",
                1,
                True,
                None,
                MISSING,
                ["initial"],
                {"type": "initial"},
            ),
        )
    # The types the policy decides, three times as often as those it has no set for (each
    # still drawn: a type no set decides is pended with a reason).
    decided = {r.name for r in plan.spec.requirements}
    return draw(_sample(tuple(t for t in plan.request_types for _ in range(3 if t in decided else 1))))


def _drug(draw, plan: _Plan, pool: str) -> object:
    return _pick(draw, {"good": plan.drug_naming, "other": plan.drug_other, "malformed": plan.drug_malformed}[pool])


_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    _sample(OUT_OF_RANGE + AT_THE_BOUNDS),
    _sample(("", "initial", "renewal", "2026-06-15", "Besponsa", "J9229")),
)
_JSON_KEYS = _sample(("request_type", "date_of_service", "drug", "patient", "hcpcs", "name", "requests"))
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_JSON_KEYS, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def _request(draw, plan: _Plan) -> object:
    mood = draw(_sample(_MOOD_WEIGHTS))
    if mood == "garbage":
        if draw(st.booleans()):
            return _pick(
                draw, ("approve me", 5, None, True, [], [{"request_type": "initial"}], {}, {"requests": []}, 0.5)
            )
        return draw(_JSON)

    broken = set()
    if mood == "envelope":
        broken = set(
            draw(st.lists(_sample(("request_type", "date_of_service", "drug", "request_id")), min_size=1, max_size=4))
        )
    dos, ctx = _date_of_service(draw, plan, "date_of_service" in broken)
    request: dict = {}
    # a request_id that is not a string of at most 128 characters breaks the envelope
    ids = _BROKEN_REQUEST_IDS if "request_id" in broken else _REQUEST_IDS
    _put(request, "request_id", draw(_sample(ids)))
    _put(request, "request_type", _request_type(draw, plan, "request_type" in broken))
    _put(request, "date_of_service", dos)
    if "drug" in broken:
        drug_pool = draw(_sample(("malformed", "malformed", "other")))
    elif mood == "envelope":  # a broken envelope beside identifiers of other policies
        drug_pool = draw(_sample(("good", "other")))
    elif mood == "good":
        drug_pool = "good"
    else:
        drug_pool = draw(_sample(("good",) * 7 + ("other",)))
    _put(request, "drug", _drug(draw, plan, drug_pool))
    _put(request, "plan", _pick(draw, plan.plans))
    _put(request, "indication", _pick(draw, plan.indications))
    if plan.months_received:
        received = _pick(draw, plan.months_received)
        _put(request, "therapy", MISSING if received is MISSING else {"months_received": received})

    facts = plan.facts
    if mood == "good":
        pools = ["good"] * len(facts)
    elif mood == "near":
        pools = ["good"] * len(facts)
        if facts:
            pools[draw(_sample(plan.near_weights))] = draw(_sample(_POOLS_NEAR))
    else:
        pools = [draw(_sample(_POOLS_MIXED)) for _ in facts]
    for fact, pool in zip(facts, pools, strict=True):
        if pool == "absent":
            continue
        value = None if pool == "null" else getattr(fact, pool)(draw, ctx)
        if value is not MISSING:
            _place(request, fact.path, value)

    if mood != "good":
        # a parent object replaced by something that is not an object, or by null
        corrupt = draw(_sample((None,) * 8 + plan.parents))
        if corrupt:
            _place(request, corrupt, _pick(draw, (*_NON_OBJECTS, None)))
        extra = draw(_sample((None,) * 4 + ("request", "patient", "biomarkers")))
        if extra == "request":
            request["notes"] = {"free": ["text", 1, None]}
        elif extra == "patient" and isinstance(request.get("patient", {}), dict):
            request.setdefault("patient", {})["id"] = "P-1"
        elif extra == "biomarkers" and isinstance(request.get("biomarkers", {}), dict):
            # a biomarker under a name written in another case is another biomarker
            for f in facts:
                if f.path[0] == "biomarkers":
                    request.setdefault("biomarkers", {})[
                        f.path[1].lower() if f.path[1] != f.path[1].lower() else f.path[1].upper()
                    ] = "positive"
                    break
    return request


def requests_for(spec: m.PolicySpec, others: Sequence[m.PolicySpec] = ()) -> st.SearchStrategy[object]:
    """Requests aimed at `spec`: valid, partial and malformed, biased to its boundaries.
    `others` are the policies loaded beside it (their identifiers make no-policy and
    conflicting-identifier requests)."""
    return _request(_plan(spec, others))


def any_request(specs: Sequence[m.PolicySpec]) -> st.SearchStrategy[object]:
    """Requests aimed at any one of `specs` (each knowing the others)."""
    return st.one_of([requests_for(s, specs) for s in specs])
