"""The leaf tests over clinical facts (docs/semantics.md, "Labs", "Diagnosis", "Clinical
facts"), written again on their own, as the reference for the Rego library.

Unit conversion factors and ICD-10-CM code sets come from rxrego.terminology (the UCUM and
ICD-10-CM libraries are the shared source of truth); what a value means is decided here.

Arithmetic: OPA compares numbers exactly as written, but multiplies and subtracts them as
binary floating point with a 64-bit mantissa (Go's big.Float at its default precision), so
4.6 x 0.001 is 0.0045999999999999999998 there. `_mul` and `_sub` reproduce that rounding
(operands and result rounded to nearest, ties to even); comparisons here are exact, so a
value converted into the policy's unit compares as OPA compares it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import TypeGuard

from rxrego.spec import kinds
from rxrego.spec import kinds_clinical as kc
from rxrego.terminology import loinc

from . import leaves
from .facts import (
    ABSENT,
    MALFORMED,
    add_months,
    as_number,
    lower,
    observed_day,
    parse_date,
    read,
    strip_space,
    upper,
)
from .leaves import (
    _COMPARE,
    Context,
    _checked_number,
    _in_value_set,
    _non_negative,
    _whole_positive,
    history_entry_shape_ok,
    past_date,
)
from .logic import INVALID, MET, UNKNOWN, UNMET, Status, all_of, any_of

_MANTISSA = 64


def _f(x: Fraction) -> Fraction:
    """x rounded to a binary float with a 64-bit mantissa (ties to even), as big.Float."""
    if x == 0:
        return Fraction(0)
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    scale = Fraction(2) ** (_MANTISSA - 1 - e)
    scaled = a * scale
    q, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q % 2 == 1):
        q += 1
    return sign * Fraction(q) / scale


def _num(value: object) -> Fraction | None:
    return as_number(value)


def _mul(*xs: Fraction) -> Fraction:
    out = _f(xs[0])
    for x in xs[1:]:
        out = _f(out * _f(x))
    return out


def _sub(a: Fraction, b: Fraction) -> Fraction:
    return _f(_f(a) - _f(b))


def _factor(table: dict[str, float], unit: object) -> Fraction | None:
    if not isinstance(unit, str):
        return None
    f = table.get(lower(unit))
    return None if f is None else Fraction(repr(f))


def _in_range(x: Fraction, low: float | None, high: float | None) -> bool:
    return (low is None or x >= _spec_num(low)) and (high is None or x <= _spec_num(high))


def _spec_num(x: float | int) -> Fraction:
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


# --- dated facts ----------------------------------------------------------------------------


def _birth(ctx: Context) -> dt.date | None:
    """The birth date when it is a valid date on or before the date of service, else None."""
    born = parse_date(read(ctx.request, ("patient", "birth_date")))
    return born if born is not None and born <= ctx.date_of_service else None


def in_life(day: dt.date | None, ctx: Context) -> bool:
    """A day neither after the date of service nor before the birth date: a dated fact
    outside that span contradicts the request (docs/semantics.md, "Dated facts")."""
    born = _birth(ctx)
    return day is not None and day <= ctx.date_of_service and (born is None or day >= born)


# --- labs -----------------------------------------------------------------------------------

_NAME_DROP = re.compile(r"[ _.\-]")


def _lab_name(name: str) -> str:
    return _NAME_DROP.sub("", lower(name))


def _lab_code(entry: dict) -> str | None:
    """The entry's code, spaces trimmed, when it is a well-formed LOINC code."""
    code = entry.get("code")
    if not isinstance(code, str):
        return None
    code = strip_space(code)
    return code if loinc.well_formed(code) else None


def _malformed_code(entry: object) -> bool:
    """An object entry with a code (not null) that is not a well-formed LOINC code: it cannot
    say which lab it is."""
    return isinstance(entry, dict) and entry.get("code") is not None and _lab_code(entry) is None


def _is_this_lab(entry: object, test: kinds.LabTest) -> bool:
    """A result of the test's lab: by its LOINC code; without a code (or when the spec lists
    none) by its name; with a malformed code, by its name or when it has no name (a string),
    for it may be this lab's (docs/semantics.md, "Labs", "Which lab")."""
    if not isinstance(entry, dict):
        return False
    code = _lab_code(entry)
    if code is not None and code in test.loinc:
        return True
    name = entry.get("name")
    if not isinstance(name, str):
        return _malformed_code(entry)
    if _lab_name(name) not in {_lab_name(n) for n in (test.name, *test.aliases)}:
        return False
    return code is None or not test.loinc


def _labs_list(entries: object) -> TypeGuard[list[dict]]:
    """labs is a list of objects that each name a lab: an entry that is not an object, or
    one with neither a code (not null) nor a name (a string that is not empty once
    normalised), could be the newest result of any lab, so every lab test over the list is
    invalid."""
    return isinstance(entries, list) and all(isinstance(e, dict) and _names_a_lab(e) for e in entries)


def _names_a_lab(entry: dict) -> bool:
    name = entry.get("name")
    return entry.get("code") is not None or (isinstance(name, str) and _lab_name(name) != "")


def _unplaced(r: dict, ctx: Context) -> bool:
    """A result of the lab that cannot be read with certainty as to which lab it is (a
    malformed code) or when it was taken (no valid date, or one outside the patient's life),
    or whose status or comparator is not one FHIR defines: it could be the newest, so the
    test is invalid."""
    return _malformed_code(r) or _bad_qualifier(r) or not in_life(observed_day(r.get("date")), ctx)


# FHIR Observation.status (docs/semantics.md, "Labs", *Qualifiers*): read as a value when
# final, amended or corrected (or absent); uncertain when registered, preliminary or unknown;
# void (no result, not read at all) when cancelled or entered-in-error.
_READ_STATUSES = frozenset({"final", "amended", "corrected"})
_UNCERTAIN_STATUSES = frozenset({"registered", "preliminary", "unknown"})
_VOID_STATUSES = frozenset({"cancelled", "entered-in-error"})
_STATUSES = _READ_STATUSES | _UNCERTAIN_STATUSES | _VOID_STATUSES
# FHIR Quantity.comparator: the true value is only bounded.
_COMPARATORS = frozenset({"<", "<=", ">=", ">", "ad"})


def _void(r: dict) -> bool:
    status = r.get("status")
    return isinstance(status, str) and status in _VOID_STATUSES


def _bad_qualifier(r: dict) -> bool:
    """A status or comparator (not null) outside FHIR's closed lists."""
    status, comparator = r.get("status"), r.get("comparator")
    return (status is not None and not (isinstance(status, str) and status in _STATUSES)) or (
        comparator is not None and not (isinstance(comparator, str) and comparator in _COMPARATORS)
    )


def _qualified(r: dict) -> bool:
    """A value that is only a bound (a comparator), or a result not yet (or not known to be) final."""
    status = r.get("status")
    return r.get("comparator") is not None or (isinstance(status, str) and status in _UNCERTAIN_STATUSES)


def _lab_results(entries: list[dict], test: kinds.LabTest) -> list[dict]:
    """The lab's results, the void ones left out."""
    return [e for e in entries if _is_this_lab(e, test) and not _void(e)]


def unit_not_convertible(test: object, request: dict, date_of_service: dt.date) -> bool:
    """Whether `test` is a lab test and the request holds a result of its lab, dated on or
    before the date of service, whose value is a number and whose unit does not convert into
    the test's: what a pended decision names for a missing lab criterion (docs/semantics.md,
    "The decision"). False for any other kind."""
    if not isinstance(test, kinds.LabTest):
        return False
    labs = request.get("labs")
    if not isinstance(labs, list):
        return False
    units = test.units()
    for r in _lab_results(labs, test):
        if _num(r.get("value")) is None or isinstance(r.get("value"), bool):
            continue
        day = parse_date(r.get("date"))
        if day is not None and day <= date_of_service and _factor(units, r.get("unit")) is None:
            return True
    return False


class _Pick:
    """The results of one lab on the newest day of a window."""

    def __init__(
        self,
        state: str,
        day: dt.date | None = None,
        values: list[Fraction] | None = None,
        ulns: list[Fraction | None] | None = None,
    ):
        self.state, self.day, self.values, self.ulns = state, day, values or [], ulns or []


def _pick(results: list[dict], start: dt.date | None, end: dt.date, test: kinds.LabTest) -> _Pick:
    # every result is dated by now (an undated one made the test invalid before)
    dated = [(day, r) for r in results if (day := observed_day(r["date"])) is not None]
    window = [(day, r) for day, r in dated if (start is None or day >= start) and day <= end]
    if not window:
        return _Pick("none")
    newest = max(day for day, _ in window)
    latest = [r for day, r in window if day == newest]
    units = test.units()
    readable = []
    unreadable = False
    for r in latest:
        value, factor = _num(r.get("value")), _factor(units, r.get("unit"))
        if value is None or factor is None or isinstance(r.get("value"), bool) or _qualified(r):
            unreadable = True
            continue
        readable.append((r, _mul(value, factor), factor))
    if any(not _in_range(x, test.plausible_min, test.plausible_max) for _, x, _ in readable):
        return _Pick("invalid")
    # the upper limit of normal is read only when the threshold is a multiple of it
    ulns = [_uln(r, test, units) for r in latest] if test.times_uln is not None else []
    if "invalid" in ulns:
        return _Pick("invalid")
    if unreadable:
        return _Pick("unknown")
    return _Pick("ok", newest, [x for _, x, _ in readable], [u for u in ulns if not isinstance(u, str)])


def _uln(r: dict, test: kinds.LabTest, units: dict[str, float]) -> Fraction | str | None:
    """The upper limit of normal a result carries (FHIR referenceRange: its `high` in its own
    `unit`, else the result's), else the spec's; None when it cannot be read; "invalid" when
    the range contradicts itself (not an object, high <= 0, low above high, or a converted
    high outside the lab's plausible range or the spec's uln_plausible)."""
    spec = None if test.uln is None else _spec_num(test.uln)
    ref = r.get("reference_range")
    if ref is None:
        return spec
    if not isinstance(ref, dict):
        return "invalid"
    high_raw = ref.get("high")
    if high_raw is None:
        return spec
    high = None if isinstance(high_raw, bool) else _num(high_raw)
    if high is None:
        return None
    low_raw = ref.get("low")
    low = None if isinstance(low_raw, bool) else _num(low_raw)
    if high <= 0 or (low is not None and low > high):
        return "invalid"
    unit = ref.get("unit") if ref.get("unit") is not None else r.get("unit")
    factor = _factor(units, unit)
    if factor is None:
        return None
    x = _mul(high, factor)
    plausible = _in_range(x, test.plausible_min, test.plausible_max)
    return x if plausible and _in_range(x, test.uln_plausible_min, test.uln_plausible_max) else "invalid"


def lab(test: kinds.LabTest, ctx: Context) -> Status:
    entries = read(ctx.request, ("labs",))
    if entries is ABSENT:
        return UNKNOWN
    if not _labs_list(entries):
        return INVALID
    results = _lab_results(entries, test)
    if not results:
        return UNMET
    if any(_unplaced(r, ctx) for r in results):
        return INVALID
    dos = ctx.date_of_service
    if not test.anchored:
        return _compare_pick(_pick(results, None, dos, test), test, dos)
    if test.therapy_start is not None:
        found = _therapy_start(ctx, test.therapy_start)
        if found == "none":  # never started: the baseline is the latest; nothing is after it
            return (
                _compare_pick(_pick(results, None, dos, test), test, dos)
                if test.change is None and test.result == "baseline"
                else UNMET
            )
        if isinstance(found, str):
            return found  # type: ignore[return-value]
        anchor: dt.date | None = found
    else:
        raw = read(ctx.request, ("treatment", "start_date"))
        if raw is ABSENT:
            return UNKNOWN
        anchor = parse_date(raw)
    if anchor is None or not in_life(anchor, ctx):  # a start after the service or before the birth
        return INVALID
    before = anchor - dt.timedelta(days=1)
    if test.change is None and test.result == "baseline":
        return _compare_pick(_pick(results, None, before, test), test, anchor)
    if test.change is None:
        assert test.after_days is not None
        return _compare_pick(_pick(results, anchor + dt.timedelta(days=test.after_days), dos, test), test, dos)
    return _change(_pick(results, None, before, test), _pick(results, anchor, dos, test), test)


def _therapy_start(ctx: Context, vid: str) -> dt.date | str:
    """The earliest start_date of a prior therapy in value set `vid` (contraindicated
    entries, never taken, left out); UNKNOWN: prior_therapies absent, or an entry of the set
    without a start; INVALID: not a list, or an entry not well formed; "none": no entry of
    the set (the therapy was never started)."""
    entries = read(ctx.request, ("prior_therapies",))
    if entries is ABSENT:
        return UNKNOWN
    if not isinstance(entries, list) or not all(_history_entry_ok(e, ctx) for e in entries):
        return INVALID
    vs = ctx.spec.value_set(vid)
    taken = [e for e in entries if _in_value_set(e, vs) and e.get("result") != "contraindicated"]
    if not taken:
        return "none"
    starts = [parse_date(e.get("start_date")) for e in taken]
    if any(s is None for s in starts):
        return UNKNOWN
    return min(s for s in starts if s is not None)


def _compare_pick(pick: _Pick, test: kinds.LabTest, ref: dt.date) -> Status:
    if pick.state == "none":
        return UNMET
    if pick.state == "invalid":
        return INVALID
    if pick.state == "unknown":
        return UNKNOWN
    assert pick.day is not None
    if test.within_days is not None and (ref - pick.day).days > test.within_days:
        return UNMET
    if test.within_months is not None and add_months(pick.day, test.within_months) < ref:
        return UNMET
    compare = _COMPARE[test.comparison]
    if test.times_uln is None:
        assert test.value is not None
        threshold = _spec_num(test.value)
        return MET if all(compare(x, threshold) for x in pick.values) else UNMET
    if any(u is None for u in pick.ulns):
        return UNKNOWN
    multiple = _spec_num(test.times_uln)
    return (
        MET
        if all(compare(x, _mul(multiple, u)) for x, u in zip(pick.values, pick.ulns, strict=True) if u is not None)
        else UNMET
    )


def _change(baseline: _Pick, current: _Pick, test: kinds.LabTest) -> Status:
    states = {baseline.state, current.state}
    if "invalid" in states:
        return INVALID
    if "unknown" in states:
        return UNKNOWN
    if "none" in states:
        return UNMET
    assert test.value is not None
    value = _spec_num(test.value)
    if test.change == "percent" and any(b <= 0 for b in baseline.values):
        return INVALID
    compare = _COMPARE[test.comparison]

    def holds(b: Fraction, c: Fraction) -> bool:
        if test.change == "absolute":
            return compare(_sub(c, b), value)
        return compare(_mul(_sub(c, b), Fraction(100)), _mul(value, b))

    return MET if all(holds(b, c) for b in baseline.values for c in current.values) else UNMET


# --- diagnosis ------------------------------------------------------------------------------

_ICD10_FORM = re.compile(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?")


def diagnosis(test: kinds.DiagnosisTest, ctx: Context) -> Status:
    from .leaves import _qualifier, biomarker_status

    codes = {c.replace(".", "") for c in kinds.covered_codes(test.icd10, test.exceptions)}
    markers = [biomarker_status(ctx.request, name, values) for name, values in test.biomarkers]
    diagnoses = read(ctx.request, ("diagnoses",))
    part: Status
    if diagnoses is ABSENT:
        part = UNKNOWN
    elif not isinstance(diagnoses, list):
        part = INVALID
    else:
        statuses: list[Status] = []
        for entry in diagnoses:
            if not isinstance(entry, dict):
                statuses.append(INVALID)
                continue
            qualifiers = [_qualifier(entry.get(name), accepted) for name, accepted in test.qualifiers]
            statuses.append(all_of([icd10_code(entry.get("code"), codes), *qualifiers]))
        part = any_of(statuses)
    return all_of([part, *markers])


def icd10_code(code: object, codes: set[str]) -> Status:
    """A request's ICD-10-CM code against a diagnosis test's expanded codes (no dots): unknown
    when absent; invalid when not a string of ICD-10-CM form once trimmed and upper-cased
    (C91.0Z, C.9.1.0.2 and inner spaces are never compared); else met when, without its dots,
    it is one of `codes`, else unmet."""
    if code is None:
        return UNKNOWN
    if not isinstance(code, str):
        return INVALID
    text = upper(strip_space(code))
    if not _ICD10_FORM.fullmatch(text):
        return INVALID
    return MET if text.replace(".", "") in codes else UNMET


# --- quantity -------------------------------------------------------------------------------


def quantity(test: kinds.QuantityLimitTest, ctx: Context) -> Status:
    def units_ok(n: Fraction) -> bool:
        return _non_negative(n) and (not test.whole_units or n.denominator == 1)

    units = _checked_number(read(ctx.request, ("quantity", "units")), units_ok)
    days = _checked_number(read(ctx.request, ("quantity", "days_supply")), _whole_positive)
    if units is MALFORMED or days is MALFORMED:
        return INVALID
    if units is ABSENT or days is ABSENT:
        return UNKNOWN
    assert isinstance(units, Fraction) and isinstance(days, Fraction)
    if days > test.days_cap:
        return UNMET
    max_units = as_number(test.max_units)
    assert max_units is not None
    return MET if units * test.per_days <= max_units * days else UNMET


# --- age in months --------------------------------------------------------------------------


def age(test: kinds.AgeTest, ctx: Context) -> Status:
    from .leaves import _age

    if not test.in_months:
        return _age(test, ctx)
    birth = past_date(ctx, ("patient", "birth_date"))
    if not isinstance(birth, dt.date):
        return birth
    on = ctx.date_of_service
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if add_months(birth, months) > on:
        months -= 1
    low, high = test.min_months, test.max_months
    return UNMET if (low is not None and months < low) or (high is not None and months > high) else MET


# --- therapy history ------------------------------------------------------------------------


def _history_entry_ok(entry: object, ctx: Context) -> bool:
    """A well-formed history entry; its dates valid, within the patient's life (in_life),
    the end not before the start."""
    if not history_entry_shape_ok(entry):
        return False
    assert isinstance(entry, dict)
    dates: list[dt.date | None] = []
    for key in ("start_date", "end_date"):
        value = entry.get(key)
        if value is None:
            dates.append(None)
            continue
        day = parse_date(value)
        if day is None or not in_life(day, ctx):
            return False
        dates.append(day)
    return not (dates[0] is not None and dates[1] is not None and dates[0] > dates[1])


def prior_therapy(test: kinds.PriorTherapyTest, ctx: Context) -> Status:
    entries = read(ctx.request, ("prior_therapies",))
    if entries is ABSENT:
        return UNKNOWN
    if not isinstance(entries, list):
        return INVALID
    vs = ctx.spec.value_set(test.value_set) if test.value_set is not None else None
    agents = {lower(a) for a in vs.agents} if vs is not None else set()
    counted: set[str] = set()
    possible: set[str] = set()
    malformed = dose_malformed = False
    for entry in entries:
        if not _history_entry_ok(entry, ctx):
            malformed = True
            continue
        assert isinstance(entry, dict)
        agent = lower(entry["agent"])
        if vs is not None:
            in_set = agent in agents if test.each_agent else _in_value_set(entry, vs)
            if not in_set:
                continue
        result = entry.get("result")
        listed = "any" in test.results or result in test.results
        long_enough, length_unknown = _trial_length(entry, test, ctx.date_of_service)
        dose_state = _trial_dose(entry, agent, test)
        if dose_state == "malformed":
            dose_malformed = True
        if listed and long_enough and dose_state == "enough":
            counted.add(agent)
        if (listed or result is None) and (long_enough or length_unknown) and dose_state in ("enough", "unknown"):
            possible.add(agent)
    n = len(agents) if test.each_agent else test.at_least
    if len(counted) >= n:
        return MET
    if len(possible) >= n:
        return UNKNOWN
    return INVALID if malformed or dose_malformed else UNMET


def _trial_dose(entry: dict, agent: str, test: kinds.PriorTherapyTest) -> str:
    """Whether a trial was at the least daily dose the test sets for its agent: "enough"
    (or none set, or contraindicated), "unknown" (no dose, no `every_days`, a unit that does
    not convert, or no result: it might be contraindicated), "low", or "malformed"."""
    least = dict(test.min_daily_doses).get(agent)
    if least is None or entry.get("result") == "contraindicated":
        return "enough"
    dose = entry.get("dose")
    if dose is None:
        return "unknown"
    if not isinstance(dose, dict):
        return "malformed"
    amount, every_raw = _num(dose.get("amount")), dose.get("every_days")
    every = _num(every_raw)
    if amount is None or amount < 0 or not isinstance(dose.get("unit"), str):
        return "malformed"
    if every_raw is not None and (every is None or every <= 0):
        return "malformed"
    assert test.dose_unit is not None
    factor = _factor(kinds.unit_factors(test.dose_unit), dose.get("unit"))
    no_result = entry.get("result") is None
    if factor is None or every is None:
        # No interval: the dose could be any amount a day, never taken as daily.
        return "unknown"
    if _mul(amount, factor) >= _mul(_spec_num(least), every):
        return "enough"
    return "unknown" if no_result else "low"


def _trial_length(entry: dict, test: kinds.PriorTherapyTest, dos: dt.date) -> tuple[bool, bool]:
    """(long enough, could be once a date or result is known)."""
    if (test.min_days is None and test.min_months is None) or entry.get("result") == "contraindicated":
        return True, False
    start = parse_date(entry.get("start_date"))
    unknown = entry.get("start_date") is None or entry.get("result") is None
    if start is None:
        return False, unknown
    end = parse_date(entry.get("end_date")) if entry.get("end_date") is not None else dos
    assert end is not None
    if test.min_months is not None:
        return add_months(start, test.min_months) <= end, unknown
    assert test.min_days is not None
    return (end - start).days >= test.min_days, unknown


def concurrent_required(test: kc.ConcurrentTherapyRequiredTest, ctx: Context) -> Status:
    return leaves.concurrent_therapy(test, ctx, in_set=MET, none=UNMET)


def procedure(test: kc.ProcedureTest, ctx: Context) -> Status:
    entries = read(ctx.request, ("procedures",))
    if entries is ABSENT:
        return UNKNOWN
    if not isinstance(entries, list):
        return INVALID
    names = {_lab_name(n) for n in test.names}
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            return INVALID
        if e.get("date") is not None and not in_life(parse_date(e.get("date")), ctx):
            return INVALID
    matching = [e for e in entries if _lab_name(e["name"]) in names]
    dos = ctx.date_of_service
    if test.min_count is not None:
        return _procedure_count(test, matching, dos)
    for e in matching:
        if test.within_days is None:
            return MET
        day = parse_date(e.get("date"))
        if day is not None and day <= dos and (dos - day).days <= test.within_days:
            return MET
    if test.within_days is not None and any(e.get("date") is None for e in matching):
        return UNKNOWN
    return UNMET


def _procedure_count(test: kc.ProcedureTest, matching: list[dict], dos: dt.date) -> Status:
    """At least `min_count` distinct matching entries (one per name and date), each within
    `within_days` when given; entries without a date could still be within it."""

    def recent(e: dict) -> bool:
        if test.within_days is None:
            return True
        day = parse_date(e.get("date"))
        return day is not None and day <= dos and (dos - day).days <= test.within_days

    assert test.min_count is not None
    counted = {(_lab_name(e["name"]), e.get("date")) for e in matching if recent(e)}
    if len(counted) >= test.min_count:
        return MET
    undated = [e for e in matching if e.get("date") is None]
    if test.within_days is not None and len(counted) + len(undated) >= test.min_count:
        return UNKNOWN
    return UNMET


def prescribed_by(test: kc.PrescribedByTest, ctx: Context) -> Status:
    accepted = {lower(s) for s in test.specialties}
    specialty = read(ctx.request, ("prescriber", "specialty"))
    consulting = read(ctx.request, ("prescriber", "consulting_specialties")) if test.consultation else ABSENT
    if isinstance(specialty, str) and lower(specialty) in accepted:
        return MET
    if isinstance(consulting, list) and any(isinstance(s, str) and lower(s) in accepted for s in consulting):
        return MET
    if specialty is not ABSENT and not isinstance(specialty, str):
        return INVALID
    if (
        test.consultation
        and consulting is not ABSENT
        and not (isinstance(consulting, list) and all(isinstance(s, str) for s in consulting))
    ):
        return INVALID
    if specialty is ABSENT or (test.consultation and consulting is ABSENT):
        return UNKNOWN
    return UNMET


# --- body measurements and doses ------------------------------------------------------------


def _measurement(ctx: Context, measure: str) -> tuple[str, Fraction | None]:
    """(absent | invalid | unknown | present, the value in the policy's unit)."""
    path, unit, (low, high) = kc.MEASURES[measure]
    raw = read(ctx.request, tuple(path.split(".")))
    if raw is ABSENT:
        return "absent", None
    if not isinstance(raw, dict):
        return "invalid", None
    if raw.get("date") is not None and not in_life(observed_day(raw.get("date")), ctx):
        return "invalid", None
    value, factor = _num(raw.get("value")), _factor(kc.measure_units(unit), raw.get("unit"))
    if value is None or factor is None:
        return "unknown", None
    x = _mul(value, factor)
    if not _in_range(x, low, high):
        return "invalid", None
    return "present", x


def body_measure(test: kc.BodyMeasureTest, ctx: Context) -> Status:
    compare, value = _COMPARE[test.comparison], _spec_num(test.value)
    if test.measure == "bmi":
        (ws, w), (hs, h) = _measurement(ctx, "weight"), _measurement(ctx, "height_m")
        if ws == "present" and hs == "present":
            assert w is not None and h is not None
            return MET if compare(w, _mul(value, _mul(h, h))) else UNMET
        if "invalid" in (ws, hs):
            return INVALID
    state, x = _measurement(ctx, test.measure)
    if state in ("absent", "unknown"):
        return UNKNOWN
    if state == "invalid":
        return INVALID
    assert x is not None
    return MET if compare(x, value) else UNMET


_PERIOD_DAYS = {"dose": 1, "day": 1, "week": 7}


def _every_readable(test: kc.DoseTest, raw: dict) -> bool:
    """Per day or week, `every_days` absent (null) or a number > 0; per dose, not read."""
    if test.period == "dose" or raw.get("every_days") is None:
        return True
    every = _num(raw.get("every_days"))
    return every is not None and every > 0


def _doses_in_period(test: kc.DoseTest, every: Fraction | None) -> int:
    """The doses one period (a day, a week) can hold at one dose every `every` days: one a
    day or less often, else the whole doses started within it, to within 1/10,000 of a dose
    (docs/semantics.md, "Doses"); per dose, one."""
    if test.period == "dose" or every is None:
        return 1
    return max(1, math.ceil(Fraction(_PERIOD_DAYS[test.period]) / every - Fraction(1, 10000)))


def dose(test: kc.DoseTest, ctx: Context) -> Status:
    """The amount (per period, per kg or m2) within `max`, and with `every_days` the labeled
    interval kept; with a table, the row's (dose_table)."""
    if test.table is not None:
        return dose_table(test, ctx)
    return all_of([_dose_amount(test, ctx), _every_days(ctx, test.every_days)])


def _dose_amount(test: kc.DoseTest, ctx: Context) -> Status:
    raw = read(ctx.request, ("dose",))
    if raw is ABSENT:
        return UNKNOWN
    if not isinstance(raw, dict):
        return INVALID
    amount, every = _num(raw.get("amount")), _num(raw.get("every_days"))
    if amount is None or amount < 0 or not isinstance(raw.get("unit"), str):
        return INVALID
    if not _every_readable(test, raw):
        return INVALID
    factor = _factor(kc.measure_units(test.unit), raw.get("unit"))
    if factor is None:
        return UNKNOWN
    if test.period != "dose" and every is None:  # per day or week, the interval is asked for
        return UNKNOWN
    given = _mul(_mul(amount, factor), Fraction(_doses_in_period(test, every)))
    assert test.max is not None  # a table's row gives its own (dose_table)
    cap = _spec_num(test.max)
    if test.per == "none":
        return MET if given <= cap else UNMET
    ws, w = _measurement(ctx, "weight")
    if test.per == "kg":
        if ws == "present":
            assert w is not None
            return MET if given <= _mul(cap, w) else UNMET
        return INVALID if ws == "invalid" else UNKNOWN
    hs, h = _measurement(ctx, "height")
    if ws == "present" and hs == "present":
        assert w is not None and h is not None
        return MET if _mul(_mul(Fraction(3600), given), given) <= _mul(_mul(_mul(cap, cap), h), w) else UNMET
    return INVALID if "invalid" in (ws, hs) else UNKNOWN


def pregnancy(test: kc.PregnancyTest, ctx: Context) -> Status:
    raw = read(ctx.request, ("patient", "pregnancy_status"))
    if raw is ABSENT or raw == "unknown":
        return UNKNOWN
    if raw in ("pregnant", "not_pregnant"):
        return MET if raw in test.allowed else UNMET
    return INVALID


# --- the course of the requested therapy ------------------------------------------------


def treatment_duration(test: kc.TreatmentDurationTest, ctx: Context) -> Status:
    start = past_date(ctx, ("treatment", "start_date"))
    if not isinstance(start, dt.date):
        return start
    if not in_life(start, ctx):  # started before the birth
        return INVALID
    if test.months is not None:
        end = add_months(start, test.months)
    else:
        assert test.days is not None
        end = start + dt.timedelta(days=test.days)
    return MET if _COMPARE[test.comparison](ctx.date_of_service, end) else UNMET


def dose_regimen(test: kc.DoseRegimenTest, ctx: Context) -> Status:
    raw = read(ctx.request, ("dose",))
    if raw is ABSENT:
        return UNKNOWN
    if not isinstance(raw, dict):
        return INVALID
    amount = _num(raw.get("amount"))
    if amount is None or amount < 0 or not isinstance(raw.get("unit"), str):
        return INVALID
    every_raw = raw.get("every_days")
    every = _num(every_raw)
    if every_raw is not None and (every is None or every <= 0):
        return INVALID
    factor = _factor(kc.measure_units(test.unit), raw.get("unit"))
    if factor is None:
        return UNKNOWN
    given = _mul(amount, factor)
    if not any(_mul(Fraction(1000000), abs(_sub(given, _spec_num(a)))) <= _spec_num(a) for a in test.amounts):
        return UNMET
    if every is None:
        return UNKNOWN
    return MET if every == _spec_num(test.every_days) else UNMET


def therapy_received(test: kc.TherapyReceivedTest, ctx: Context) -> Status:
    raw = read(ctx.request, ("therapy", "months_received"))
    if raw is ABSENT:
        return UNKNOWN
    months = None if raw is MALFORMED else as_number(raw)
    if months is None or months < 0 or months.denominator != 1:
        return INVALID
    if test.min_months is not None and months < test.min_months:
        return UNMET
    if test.max_months is not None and months > test.max_months:
        return UNMET
    return MET


CLINICAL_LEAVES: dict[str, Callable[..., Status]] = {
    "age": age,
    "diagnosis": diagnosis,
    "prior_therapy": prior_therapy,
    "lab": lab,
    "quantity_limit": quantity,
    "concurrent_therapy": concurrent_required,
    "prescribed_by": prescribed_by,
    "procedure": procedure,
    "body_measure": body_measure,
    "dose": dose,
    "pregnancy": pregnancy,
    "treatment_duration": treatment_duration,
    "dose_regimen": dose_regimen,
    "therapy_received": therapy_received,
    # A criterion a reviewer decides (policy text not seen): no fact can meet or fail it.
    "review": lambda test, ctx: UNKNOWN if test.reason in kc.REVIEW_REASONS else INVALID,
}

leaves.LEAVES.update(CLINICAL_LEAVES)


# --- dose tables (docs/semantics.md, "Dose tables") -------------------------------------------


def dose_table(test: kc.DoseTest, ctx: Context) -> Status:
    """The row of the label's table that holds every value the request gives for its keys
    decides the maximum (and the labeled interval); no row: unmet."""
    assert test.table is not None
    readings = [_column(src, ctx) for _, src in test.table.keys]
    states = {state for state, _ in readings}
    read_dose = _dose_read(test, ctx)
    if "invalid" in states:
        return all_of([INVALID, read_dose])
    if states != {"present"}:
        return all_of([UNKNOWN, read_dose])
    rows = [
        row
        for row in test.table.rows
        if all(
            all(_in_band(v, row.band(name)) for v in values)
            for (name, _), (_, values) in zip(test.table.keys, readings, strict=True)
        )
    ]
    if not rows:
        return all_of([UNMET, read_dose])
    row = rows[0]
    capped = kc.DoseTest(row.max, test.unit, test.period, test.per)
    return all_of([dose(capped, ctx), _every_days(ctx, row.every_days)])


def _column(src: object, ctx: Context) -> tuple[str, list]:
    """(present | absent | unknown | invalid, the values) of one column's fact."""
    if src == "product":
        return ("present", sorted(ctx.products)) if ctx.products else ("absent", [])
    if src == "indication":
        return ("present", [ctx.indication]) if ctx.indication is not None else ("absent", [])
    if isinstance(src, str):
        state, value = _measurement(ctx, src)
        return (state, [value]) if state == "present" else (state, [])
    assert isinstance(src, kinds.LabTest)
    return _lab_values(src, ctx)


def _lab_values(test: kinds.LabTest, ctx: Context) -> tuple[str, list]:
    entries = read(ctx.request, ("labs",))
    if entries is ABSENT:
        return "absent", []
    if not _labs_list(entries):
        return "invalid", []
    results = _lab_results(entries, test)
    if not results:
        return "unknown", []
    if any(_unplaced(r, ctx) for r in results):
        return "invalid", []
    dos = ctx.date_of_service
    if test.result == "latest":
        return _values(_pick(results, None, dos, test))
    anchor: dt.date | str | None
    if test.therapy_start is not None:
        anchor = _therapy_start(ctx, test.therapy_start)
    else:
        raw = read(ctx.request, ("treatment", "start_date"))
        anchor = UNKNOWN if raw is ABSENT else (parse_date(raw) or INVALID)
    if anchor == UNKNOWN:
        return "unknown", []
    if anchor == "none":
        return _values(_pick(results, None, dos, test)) if test.result == "baseline" else ("unknown", [])
    if not isinstance(anchor, dt.date) or not in_life(anchor, ctx):
        return "invalid", []
    if test.result == "baseline":
        return _values(_pick(results, None, anchor - dt.timedelta(days=1), test))
    assert test.after_days is not None
    return _values(_pick(results, anchor + dt.timedelta(days=test.after_days), dos, test))


def _values(pick: _Pick) -> tuple[str, list]:
    if pick.state == "ok":
        return "present", pick.values
    return ("unknown" if pick.state == "none" else pick.state), []


def _in_band(value: object, band: tuple) -> bool:
    kind_, spec = band
    if kind_ == "products":
        return value in spec
    return isinstance(value, Fraction) and all(_COMPARE[op](value, _spec_num(bound)) for op, bound in spec)


def _dose_read(test: kc.DoseTest, ctx: Context) -> Status:
    """The dose read without a row: absent or an unconvertible unit, unknown; malformed, invalid."""
    raw = read(ctx.request, ("dose",))
    if raw is ABSENT:
        return UNKNOWN
    if not isinstance(raw, dict):
        return INVALID
    amount = _num(raw.get("amount"))
    if amount is None or amount < 0 or not isinstance(raw.get("unit"), str):
        return INVALID
    if not _every_readable(test, raw):
        return INVALID
    return UNKNOWN if _factor(kc.measure_units(test.unit), raw.get("unit")) is None else MET


def _every_days(ctx: Context, days: float | None) -> Status:
    """The labeled interval: one dose every `days` days at the most often."""
    if days is None:
        return MET
    raw = read(ctx.request, ("dose",))
    if raw is ABSENT:
        return UNKNOWN
    if not isinstance(raw, dict):
        return INVALID
    if raw.get("every_days") is None:
        return UNKNOWN
    every = _num(raw.get("every_days"))
    if every is None or every <= 0:
        return INVALID
    return MET if every >= _spec_num(days) else UNMET
