"""The leaf tests (docs/semantics.md, "Tests (leaf criteria)"), one function per kind."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from rxrego.spec import kinds
from rxrego.spec import model as m

from .facts import ABSENT, MALFORMED, age_in_years, as_number, is_whole, lower, parse_date, read, upper
from .logic import INVALID, MET, UNKNOWN, UNMET, Status, all_of, any_of


@dataclass(frozen=True)
class Context:
    """What a leaf test reads: the request (its envelope already valid) and the spec."""

    spec: m.PolicySpec
    request: dict
    date_of_service: dt.date
    # The ids of the products the request's drug identifiers name (routing found them).
    products: frozenset[str] = frozenset()
    # The indication the request is decided under (None: the policy has none, or none chosen).
    indication: str | None = None


def evaluate_leaf(test: m.Test, ctx: Context) -> Status:
    """The status of a leaf test, by this module's own function for its kind."""
    return LEAVES[test.key](test, ctx)


def missing_fields(spec: m.PolicySpec, test: m.Test | m.Combinator) -> list[str]:
    """The request fields a test reads, listed when it is missing: the kind declares them
    (spec/kinds.py); what they mean is decided here, independently. TypeError for a
    combinator: only a leaf reads fields."""
    if not isinstance(test, m.Kind):
        raise TypeError(f"a {type(test).__name__} reads no request fields of its own")
    return test.fields()


# --- age, biomarker, attestation, clinical status, specialty ------------------------------


def past_date(ctx: Context, path: tuple[str, ...]) -> dt.date | Status:
    """The request's date at `path`, on or before the date of service; else its status:
    UNKNOWN when absent, INVALID when not a calendar date or after the date of service."""
    raw = read(ctx.request, path)
    if raw is ABSENT:
        return UNKNOWN
    day = parse_date(raw)
    if day is None or day > ctx.date_of_service:
        return INVALID
    return day


def _age(test: kinds.AgeTest, ctx: Context) -> Status:
    birth = past_date(ctx, ("patient", "birth_date"))
    if not isinstance(birth, dt.date):
        return birth
    years = age_in_years(birth, ctx.date_of_service)
    too_young = test.min_years is not None and years < test.min_years
    too_old = test.max_years is not None and years > test.max_years
    return UNMET if too_young or too_old else MET


def biomarker_status(request: dict, name: str, values: tuple[str, ...]) -> Status:
    raw = read(request, ("biomarkers", name))
    if raw is ABSENT or raw == "unknown":
        return UNKNOWN
    if raw in ("positive", "negative"):  # exact: "Positive" is not a result
        return MET if raw in values else UNMET
    return INVALID


def _biomarker(test: kinds.BiomarkerTest, ctx: Context) -> Status:
    return biomarker_status(ctx.request, test.name, test.values)


def _boolean_fact(raw: object, required: bool) -> Status:
    if raw is ABSENT:
        return UNKNOWN
    if not isinstance(raw, bool):
        return INVALID
    return MET if raw == required else UNMET


def _attestation(test: kinds.AttestationTest, ctx: Context) -> Status:
    return _boolean_fact(read(ctx.request, ("prescriber", "attestations", test.name)), True)


def _clinical_status(test: kinds.ClinicalStatusTest, ctx: Context) -> Status:
    return _boolean_fact(read(ctx.request, ("clinical_status", test.name)), test.required)


def _specialty(test: kinds.SpecialtyTest, ctx: Context) -> Status:
    raw = read(ctx.request, ("prescriber", "specialty"))
    if raw is ABSENT:
        return UNKNOWN
    if not isinstance(raw, str):
        return INVALID
    return MET if lower(raw) in {lower(s) for s in test.specialties} else UNMET


def product_status(requested: frozenset[str], accepted: tuple[str, ...]) -> Status:
    """met when every product the identifiers may name is accepted, unmet when none is,
    otherwise (none routed, or some of each) unknown."""
    if not requested:
        return UNKNOWN
    if requested <= set(accepted):
        return MET
    if not requested & set(accepted):
        return UNMET
    return UNKNOWN


# FHIR R4 AdministrativeGender codes that say what the sex is ("unknown" says it is not known).
_KNOWN_SEX = ("male", "female", "other")


def _sex(test: kinds.SexTest, ctx: Context) -> Status:
    raw = read(ctx.request, ("patient", "sex"))
    if raw is ABSENT or raw == "unknown":
        return UNKNOWN
    if isinstance(raw, str) and raw in _KNOWN_SEX:  # exact: FHIR codes are case-sensitive
        return MET if raw in test.allowed else UNMET
    return INVALID


# --- diagnosis ----------------------------------------------------------------------------


def _diagnosis(test: kinds.DiagnosisTest, ctx: Context) -> Status:
    biomarkers = [biomarker_status(ctx.request, name, values) for name, values in test.biomarkers]
    return all_of([_diagnoses_part(test, read(ctx.request, ("diagnoses",))), *biomarkers])


def _diagnoses_part(test: kinds.DiagnosisTest, diagnoses: object) -> Status:
    # The doc leaves these two cells blank; they follow every other list fact.
    if diagnoses is ABSENT:
        return UNKNOWN
    if not isinstance(diagnoses, list):
        return INVALID
    return any_of(_diagnosis_entry(test, entry) for entry in diagnoses)


def _diagnosis_entry(test: kinds.DiagnosisTest, entry: object) -> Status:
    if not isinstance(entry, dict):
        return INVALID
    qualifiers = [_qualifier(entry.get(name), accepted) for name, accepted in test.qualifiers]
    return all_of([_icd10_code(entry.get("code"), test.icd10), *qualifiers])


def _icd10_code(code: object, prefixes: tuple[str, ...]) -> Status:
    if code is None:
        return UNKNOWN
    if not isinstance(code, str):
        return INVALID
    normal = _icd10_normal(code)
    return MET if any(normal.startswith(_icd10_normal(p)) for p in prefixes) else UNMET


def _icd10_normal(code: str) -> str:
    """C91.02, c91 02 and C9102 are one code: dots and spaces removed, upper case."""
    return upper(code.replace(".", "").replace(" ", ""))


def _qualifier(value: object, accepted: tuple[str, ...]) -> Status:
    if value is None:
        return UNKNOWN
    if not isinstance(value, str):
        return INVALID
    # Both sides lower-cased: an accepted value written with capitals still matches.
    return MET if lower(value) in {lower(a) for a in accepted} else UNMET


# --- therapies ----------------------------------------------------------------------------


def _well_formed(entry: object, optional_strings: tuple[str, ...]) -> bool:
    """An object with a string `agent`, whose optional keys are strings when not null."""
    if not isinstance(entry, dict) or not isinstance(entry.get("agent"), str):
        return False
    return all(entry.get(key) is None or isinstance(entry.get(key), str) for key in optional_strings)


def history_entry_shape_ok(entry: object) -> bool:
    """A therapy history entry's shape: a string `agent`, `class` a string or absent (null),
    and `result` absent (null) or one of the closed list (`kinds.THERAPY_RESULTS`, compared
    exactly: `"Failed"` is malformed)."""
    return _well_formed(entry, ("class",)) and (
        not isinstance(entry, dict) or entry.get("result") is None or entry.get("result") in kinds.THERAPY_RESULTS
    )


def _in_value_set(entry: dict, value_set: m.ValueSet) -> bool:
    agents = {lower(a) for a in value_set.agents}
    return lower(entry["agent"]) in agents or entry.get("class") in value_set.classes


def _prior_therapy(test: kinds.PriorTherapyTest, ctx: Context) -> Status:
    entries = read(ctx.request, ("prior_therapies",))
    if entries is ABSENT:
        return UNKNOWN
    if not isinstance(entries, list):
        return INVALID
    # Replaced by reference/clinical.py's prior_therapy, which also reads a test without a
    # value set ("any prior therapy"); this one is today's reading, with one.
    assert test.value_set is not None, "prior_therapy without a value set is read by reference.clinical"
    value_set = ctx.spec.value_set(test.value_set)
    counted: set[str] = set()  # distinct agents that ended with a listed result
    possible: set[str] = set()  # ... plus those whose result is not known yet
    malformed = False
    for entry in entries:
        if not history_entry_shape_ok(entry):
            malformed = True
        elif _in_value_set(entry, value_set):
            agent, result = lower(entry["agent"]), entry.get("result")
            if result in test.results:
                counted.add(agent)
            if result in test.results or result is None:
                possible.add(agent)
    if len(counted) >= test.at_least:
        return MET
    if len(possible) >= test.at_least:
        return UNKNOWN
    return INVALID if malformed else UNMET


def concurrent_therapy(test: kinds.ConcurrentTherapyKind, ctx: Context, in_set: Status, none: Status) -> Status:
    """A concurrent-therapy test: `in_set` when a well-formed entry of `concurrent_therapies`
    is in the test's value set; else INVALID when an entry is malformed (it might be one),
    else `none`. No list: UNKNOWN; not a list: INVALID."""
    entries = read(ctx.request, ("concurrent_therapies",))
    if entries is ABSENT:
        return UNKNOWN
    if not isinstance(entries, list):
        return INVALID
    value_set = ctx.spec.value_set(test.value_set)
    well_formed = [e for e in entries if _well_formed(e, ("class",))]
    if any(_in_value_set(e, value_set) for e in well_formed):
        return in_set
    return INVALID if len(well_formed) < len(entries) else none


def _concurrent_therapy_excluded(test: kinds.ConcurrentTherapyTest, ctx: Context) -> Status:
    return concurrent_therapy(test, ctx, in_set=UNMET, none=MET)


# --- lab ----------------------------------------------------------------------------------

# A spec's comparison operator, over two numbers or two dates.
_COMPARE: dict[str, Callable[[Fraction | dt.date, Fraction | dt.date], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


def _lab(test: kinds.LabTest, ctx: Context) -> Status:
    entries = read(ctx.request, ("labs",))
    if entries is ABSENT:
        return UNKNOWN
    if not isinstance(entries, list):
        return INVALID
    results = [
        e
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("name"), str) and lower(e["name"]) == lower(test.name)
    ]
    if not results:
        return UNMET  # the lab was not done (or not reported): a known "no"
    usable = [u for u in (_usable(e, test, ctx.date_of_service) for e in results) if u is not None]
    if not usable:
        return INVALID
    latest = max(day for day, _ in usable)
    if test.within_days is not None and (ctx.date_of_service - latest).days > test.within_days:
        return UNMET
    threshold = as_number(test.value)
    assert threshold is not None  # the spec schema makes it a number
    compare = _COMPARE[test.comparison]
    same_day = [value for day, value in usable if day == latest]
    return MET if all(compare(value, threshold) for value in same_day) else UNMET


def _usable(entry: dict, test: kinds.LabTest, date_of_service: dt.date) -> tuple[dt.date, Fraction] | None:
    value = as_number(entry.get("value"))
    unit = entry.get("unit")
    day = parse_date(entry.get("date"))
    if value is None or not isinstance(unit, str) or lower(unit) != lower(test.unit):
        return None
    if day is None or day > date_of_service:
        return None
    return day, value


# --- quantity -----------------------------------------------------------------------------


def _quantity_limit(test: kinds.QuantityLimitTest, ctx: Context) -> Status:
    units = _checked_number(read(ctx.request, ("quantity", "units")), _non_negative)
    days = _checked_number(read(ctx.request, ("quantity", "days_supply")), _whole_positive)
    # A malformed fact decides before an absent one: supplying the other cannot fix it.
    if units is MALFORMED or days is MALFORMED:
        return INVALID
    if units is ABSENT or days is ABSENT:
        return UNKNOWN
    assert isinstance(units, Fraction) and isinstance(days, Fraction)
    max_units = as_number(test.max_units)
    assert max_units is not None  # the spec schema makes it a number
    # Pro-rated without division: units / days_supply <= max_units / per_days.
    return MET if units * test.per_days <= max_units * days else UNMET


def _checked_number(raw: object, ok: Callable[[Fraction], bool]) -> object:
    """The fact as an exact number, or ABSENT, or MALFORMED when present but not acceptable."""
    if raw is ABSENT or raw is MALFORMED:
        return raw
    number = as_number(raw)
    return number if number is not None and ok(number) else MALFORMED


def _non_negative(number: Fraction) -> bool:
    return number >= 0


def _whole_positive(number: Fraction) -> bool:
    return is_whole(number) and number >= 1


# One function per kind, by the kind's YAML key (spec/kinds.py registers the same keys; a
# test checks both cover the same kinds).
LEAVES: dict[str, Callable[..., Status]] = {
    "age": _age,
    "diagnosis": _diagnosis,
    "biomarker": _biomarker,
    "prior_therapy": _prior_therapy,
    "attestation": _attestation,
    "clinical_status": _clinical_status,
    "lab": _lab,
    "prescriber_specialty": _specialty,
    "concurrent_therapy_excluded": _concurrent_therapy_excluded,
    "quantity_limit": _quantity_limit,
    "sex": _sex,
    "product": lambda test, ctx: product_status(ctx.products, test.products),
}

# The kinds over clinical facts, and the new meaning of lab, diagnosis, prior therapy,
# quantity and age, live in reference/clinical.py, which adds them here when the package
# is imported.
