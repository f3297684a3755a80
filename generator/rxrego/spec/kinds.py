"""The registry of test kinds: everything one kind of leaf criterion means, in one place.

Each kind is one frozen dataclass below (the typed model of its spec value) that also
declares, as class attributes and methods:

- `key`: its YAML key under a criterion (`age`, `diagnosis`, ...);
- `schema`: the JSON Schema fragment of its spec value (the criterion schema in
  schemas/policy-spec.schema.json is assembled from these, see `assemble_spec_schema`);
- `request_schema`: the JSON Schema fragments of the request facts it reads, by their path
  in schemas/pa-request.schema.json (see `assemble_request_schema`);
- `parse` / `dump`: spec data (already valid against `schema`) to the dataclass and back;
- `check`: what the schema cannot say (cross-references, ranges between fields);
- `fields`: the request fields it reads (what a pended decision asks for);
- `rego`: the Rego status expression it becomes (a call of its function in the shared
  library, rego/rxrego/lib/lib.rego);
- `describe`: the encoded rule in plain words ("age at least 18 years");
- questionnaire (`question_keys`, `questions`, `fill`, `enable_when`): the FHIR
  Questionnaire items asking for its facts, and how answers become the request;
- `fact_note`: what `explain` says about a fact value it read.

The reference evaluator (rxrego.reference.leaves) implements each kind again, on its own,
keyed by `key`; a test checks both cover the same kinds. docs/contributing.md says how to
add a kind. Combinators (all_of, any_of, at_least, when/then) are not kinds: they live in
`model`.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import functools
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from .. import regotext
from ..prose import counted
from ..terminology import icd10cm

# --- shared pieces ----------------------------------------------------------------------------

IDENTIFIER: dict = {
    "type": "string",
    "pattern": "^[a-z][a-z0-9_]*$",
    "maxLength": 64,
    "description": "lower_snake_case identifier",
}

BIOMARKER_RESULTS = ("positive", "negative", "unknown")
THERAPY_RESULTS = ("failed", "inadequate_response", "intolerant", "contraindicated", "ongoing", "completed")
OTHER = "other"

# FHIR R4 AdministrativeGender (http://hl7.org/fhir/R4/valueset-administrative-gender.html).
ADMINISTRATIVE_GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
ADMINISTRATIVE_GENDER = ("male", "female", "other", "unknown")


def humanize(name: str) -> str:
    """lower_snake_case -> words: b_cell_precursor -> 'B cell precursor'."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def coding(system: str, code: str, display: str | None = None) -> dict:
    """A FHIR Coding; the display defaults to the code in words."""
    return {"system": system, "code": code, "display": display or humanize(code)}


def options(system: str, codes: Iterable[str]) -> list[dict]:
    """FHIR answerOption entries, one valueCoding per distinct code, in order."""
    return [{"valueCoding": coding(system, c)} for c in dict.fromkeys(codes)]


# UCUM, the code system of units (http://hl7.org/fhir/R4/valueset-ucum-units.html).
UCUM_SYSTEM = "http://unitsofmeasure.org"


def unit_coding(unit: str) -> dict:
    """A lab result's unit as a FHIR Coding: the UCUM system, the unit as the policy writes
    it (what the request must carry for the Rego to compare the value), and its UCUM code in
    the display when the policy writes a lab spelling of it (`cells/uL`: `{cells}/uL`)."""
    from ..terminology import ucum

    try:
        code = ucum.ucum_code(unit)
    except ucum.UnitError:
        code = unit
    return coding(UCUM_SYSTEM, unit, unit if code == unit else f"{unit} (UCUM {code})")


def question(link: str, text: str, type_: str, **extra: Any) -> dict:
    """A Questionnaire item."""
    out = {"linkId": link, "text": text, "type": type_}
    out.update(extra)
    return out


def _num(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _or(values: Iterable[str]) -> str:
    return " or ".join(values)


# --- how a status expression names the policy's tables and library ---------------------------


def fact(field: str) -> str:
    """The reference to a fact the policy read once (see `facts` in the policy template)."""
    return regotext.ref(f"facts[{regotext.string(field)}]", {"fact": field})


def value_set(vid: str) -> str:
    """The reference to a value set of the policy (`value_sets` in the policy template)."""
    return regotext.ref(f"value_sets{regotext.ref_key(vid)}", {"value_set": vid})


# date_parts of the date of service, or null
SERVICE_DATE = regotext.ref("service_date", {"ref": "service_date"})
# the date as given
DATE_OF_SERVICE = regotext.ref('object.get(input, "date_of_service", null)', {"ref": "date_of_service"})
# the products the request's drug identifiers name (the router's `products`)
REQUESTED_PRODUCTS = regotext.ref("requested_products", {"ref": "products"})
# the indication the request is decided under (the module's `chosen_indication`)
CHOSEN_INDICATION = regotext.ref("chosen_indication", {"chosen_indication": True})
# The patient's birth date when valid and not after the date of service, else "" (lib.birth_day):
# a dated fact before it contradicts the request (docs/semantics.md, "Dated facts").
BIRTH_DAY = regotext.ref("birth_day", {"ref": "birth_day"})

call = regotext.call


def lower_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.lower() for v in values)


@functools.cache
def covered_codes(include: tuple[str, ...], exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ICD-10-CM codes `include` covers less `exclude` (rxrego.terminology.icd10cm.expand).
    Raises icd10cm.CodeError for a code or range that is not ICD-10-CM."""
    from ..terminology import icd10cm
    from . import cache

    return cache.remembered(
        "icd10cm-expand", repr((tuple(include), tuple(exclude))), lambda: icd10cm.expand(list(include), list(exclude))
    )


def normal_code(code: str) -> str:
    """An ICD-10 code as the library compares it: no dots or spaces, upper case."""
    return code.replace(".", "").replace(" ", "").upper()


# --- what the questionnaire gives a kind ---------------------------------------------------------


@dataclass(frozen=True)
class Asking:
    """What a kind needs to word the Questionnaire items of one fact.

    key: the fact (a request path, or a kind's own grouping such as `labs.<name>`);
    tests: every test of the owning kind in the spec, in spec order; required: needed by
    every requirement set unconditionally; scope, policy, note: sentences to add (which sets,
    the policy's words, when it is needed); enable: enableWhen (+ enableBehavior) to add;
    system: the CodeSystem URL of one of rxrego's facets; value_set: a value set by id.
    """

    key: str
    tests: tuple
    required: bool
    scope: str
    policy: str
    note: str
    enable: dict
    system: Callable[[str], str]
    value_set: Callable[[str], Any]


class Filling(Protocol):
    """The request being filled from a QuestionnaireResponse."""

    def put(self, path: str, value: object) -> None:
        """Set the value at a dotted path (None: leave it absent)."""

    def extend(self, path: str, values: list) -> None:
        """Append entries to the list at a dotted path."""


class Answers(Protocol):
    """Answers of a QuestionnaireResponse, by linkId (rxrego.author.questionnaire)."""

    def one(self, link: str) -> object: ...

    def entries(self, group: str, fields: Iterable[str]) -> list[dict]: ...

    def therapies(self, key: str, fields: tuple[str, ...]) -> list[dict] | None: ...


# --- the base of every kind -----------------------------------------------------------------------

K = TypeVar("K", bound="Kind")


class Kind:
    """A kind of leaf test. Subclasses are frozen dataclasses registered with `@kind`."""

    key: ClassVar[str]
    schema: ClassVar[dict]
    request_schema: ClassVar[dict[str, dict]] = {}
    # render: shown unnumbered before the diagnosis, as policy documents open with age lines.
    preamble: ClassVar[bool] = False
    # questionnaire: why the form cannot check this kind as a condition, and the word for
    # "whatever <it>" (None: the form can, through `enable_when`, or says so generically).
    form_cannot_check: ClassVar[tuple[str, str] | None] = None

    @classmethod
    def parse(cls: type[K], data: Any) -> K:
        """The test from its spec value (valid against `schema`); lists become tuples."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def dump(self) -> object:
        """The spec value back, so parse(dump(t)) == t."""
        out = {}
        # Each registered kind is a dataclass (@kind); this base class is not, so mypy cannot see it.
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is not None:
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        """Issues the schema cannot find: (path under the kind's value, message)."""
        return []

    def fields(self) -> list[str]:
        """The request fields it reads, as dotted paths (listed in `missing` when unknown)."""
        raise NotImplementedError

    def reads_products(self) -> bool:
        """Whether its Rego reads the products the request's drug identifiers name
        (`requested_products`, which a policy then defines)."""
        return False

    def product_refs(self) -> list[tuple[tuple, str]]:
        """(path under the kind's value, product id) of each product it names; the loader
        checks them against the policy's products."""
        return []

    def indication_refs(self) -> list[tuple[tuple, str]]:
        """(path under the kind's value, indication id) of each indication it names; the
        loader checks them against the indications of the policy's requirement sets."""
        return []

    def reads_indication(self) -> bool:
        """Whether its Rego reads the indication the request is decided under
        (`chosen_indication`, which a policy then defines)."""
        return False

    def unit_note(self) -> dict | None:
        """For a test of a lab result: {"codes", "names", "unit", "units"}, which results are
        its lab (LOINC codes, normalised names, sorted), its unit and the lower-case units
        that convert into it, read by lib.unit_note so a pend says when a result's unit does
        not convert; None for every other kind."""
        return None

    def unit_facts(self) -> list[dict]:
        """The measured facts it reads other than lab results, each {"path": the request
        path as a list, "value": the key of its number, "unit": the unit it is read in,
        "units": the lower-case units that convert into it, sorted}: read by lib.unit_note,
        so a pend says when such a fact's unit does not convert, as for a lab. [] for a kind
        that reads none."""
        return []

    def rego(self) -> str:
        """Its Rego status expression: a call of its library function on the facts it reads."""
        raise NotImplementedError

    def describe(self) -> str:
        """The encoded rule in plain words, in the request's terms."""
        raise NotImplementedError

    # -- questionnaire --

    def question_keys(self) -> list[str]:
        """The Questionnaire facts it reads (one item or group each): its fields by default."""
        return self.fields()

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        """The items asking for fact `a.key` (default: one answer of the type `answer_type`)."""
        raise NotImplementedError

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        """Put the answers for fact `key` into the request (default: the one answer at `key`)."""
        request.put(key, answers.one(key))

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        """enableWhen entries of which any holds exactly when this test is met ([]: none can)."""
        return []

    # -- explain --

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        """A note after a present fact value: why it can never be met, or what it means."""
        return ""

    def missing_hint(self) -> str:
        """What, within its fields, a pend on this test needs that is easily left out (the
        reference range of a result compared with a multiple of the ULN, a dose's interval);
        "" when its fields say it all. explain shows it beside the missing fields."""
        return ""


KINDS: dict[str, type[Kind]] = {}


def kind(cls: type[K]) -> type[K]:
    """Register a kind (a frozen dataclass subclass of Kind) under its `key`."""
    if cls.key in KINDS:
        raise ValueError(f"kind {cls.key!r} is registered twice")
    KINDS[cls.key] = cls
    return cls


def _not_a_list(value: object) -> str:
    return "" if isinstance(value, list) else " (not a list: never met)"


def _biomarker_note(path: str, value: object) -> str:
    if path.startswith("biomarkers.") and value not in BIOMARKER_RESULTS:
        return " (not positive / negative / unknown: never met)"
    return ""


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def request_date(value: object) -> dt.date | None:
    """A request date (YYYY-MM-DD naming a real day, year 1900..2199), else None."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2199 else None


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years, as docs/semantics.md counts them."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --- the kinds, in the order README documents them -----------------------------------------------


@kind
@dataclass(frozen=True)
class AgeTest(Kind):
    """Age at the date of service from the birth date: whole years, or (min_months /
    max_months) completed calendar months."""

    min_years: int | None = None
    max_years: int | None = None
    min_months: int | None = None
    max_months: int | None = None

    key = "age"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "description": "age in whole years at the date of service, from the birth date",
        "properties": {
            "min_years": {"type": "integer", "minimum": 0, "maximum": 150},
            "max_years": {"type": "integer", "minimum": 0, "maximum": 150},
            "min_months": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1800,
                "description": "completed calendar months (birth date plus n months, clamped to a shorter month's end, on or before the date of service)",
            },
            "max_months": {"type": "integer", "minimum": 0, "maximum": 1800},
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "patient.birth_date": {
            "type": "string",
            "description": "age is computed from it at the date of service; a free 'age' field is never used",
        },
    }
    preamble = True
    form_cannot_check = (
        "an age is computed from the birth date at the date of service, which enableWhen cannot do",
        "the age",
    )

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        if self.in_months and (self.min_years is not None or self.max_years is not None):
            return [((), "give an age in years or in months, not both")]
        low, high, unit = (
            (self.min_months, self.max_months, "months")
            if self.in_months
            else (self.min_years, self.max_years, "years")
        )
        if low is not None and high is not None and low > high:
            return [((), f"min_{unit} {low} is greater than max_{unit} {high}")]
        return []

    @property
    def in_months(self) -> bool:
        return self.min_months is not None or self.max_months is not None

    def fields(self) -> list[str]:
        return ["patient.birth_date"]

    def rego(self) -> str:
        if self.in_months:
            return call(
                "age_months",
                fact("patient.birth_date"),
                SERVICE_DATE,
                regotext.value(self.min_months),
                regotext.value(self.max_months),
            )
        return call(
            "age",
            fact("patient.birth_date"),
            SERVICE_DATE,
            regotext.value(self.min_years),
            regotext.value(self.max_years),
        )

    def describe(self) -> str:
        if self.in_months:
            low = f"at least {counted(self.min_months, 'month')}" if self.min_months is not None else ""
            high = f"at most {counted(self.max_months, 'month')}" if self.max_months is not None else ""
            return "age at the date of service " + " and ".join(p for p in (low, high) if p)
        if self.min_years is not None and self.max_years is not None:
            return f"age at the date of service between {self.min_years} and {self.max_years} years"
        if self.min_years is not None:
            return f"age at the date of service at least {counted(self.min_years, 'year')}"
        return f"age at the date of service at most {counted(self.max_years or 0, 'year')}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return [
            question(
                a.key, f"Patient's date of birth{a.scope}. {a.policy}{a.note}", "date", required=a.required, **a.enable
            )
        ]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        birth = request_date(value)
        if birth is None:
            return " (not a valid date)"
        if date_of_service is None:
            return ""
        if birth > date_of_service:
            return f" (after the date of service {date_of_service.isoformat()})"
        return f" (age {age_on(birth, date_of_service)} on {date_of_service.isoformat()})"


@kind
@dataclass(frozen=True)
class DiagnosisTest(Kind):
    """A diagnosis of the request is one of the ICD-10-CM codes `icd10` covers (codes, each
    with the codes below it, and ranges FIRST-LAST) less those of `exceptions` (YAML
    `except`), expanded against the ICD-10-CM code set when Rego is generated
    (rxrego.terminology.icd10cm); with the qualifiers and biomarkers named."""

    icd10: tuple[str, ...]
    qualifiers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    biomarkers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exceptions: tuple[str, ...] = ()

    key = "diagnosis"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["icd10"],
        "description": "a diagnosis of the request matches the codes and qualifiers; biomarkers are the request's",
        "properties": {
            "icd10": {
                "type": "array",
                "items": {
                    "type": "string",
                    "pattern": "^[A-Za-z][0-9A-Za-z. ]*(-[A-Za-z][0-9A-Za-z.]*)?$",
                    "maxLength": 20,
                    "description": "an ICD-10-CM code (covering the codes below it, e.g. C91.0) or a range FIRST-LAST at one level (C81-C96)",
                },
                "minItems": 1,
                "uniqueItems": True,
                "description": "ICD-10-CM codes and ranges, checked against the code set (dots and case are ignored)",
            },
            "except": {
                "type": "array",
                "items": {
                    "type": "string",
                    "pattern": "^[A-Za-z][0-9A-Za-z. ]*(-[A-Za-z][0-9A-Za-z.]*)?$",
                    "maxLength": 20,
                },
                "minItems": 1,
                "uniqueItems": True,
                "description": "ICD-10-CM codes or ranges inside `icd10` that are not covered (C49 except C49.A)",
            },
            "qualifiers": {
                "type": "object",
                "description": "qualifier name -> accepted values (e.g. lineage: [b_cell_precursor])",
                "propertyNames": IDENTIFIER,
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 200},
                    "minItems": 1,
                    "uniqueItems": True,
                    "description": "accepted values",
                },
            },
            "biomarkers": {
                "type": "object",
                "description": "biomarker name -> accepted results",
                "propertyNames": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
                "additionalProperties": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": ["positive", "negative"]},
                },
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "diagnoses": {
            "type": "array",
            "description": "absent = unknown; [] = no diagnosis",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "ICD-10-CM code, e.g. C91.02 (dots and case ignored)"},
                    "description": {"type": "string"},
                    "lineage": {"type": "string", "description": "e.g. b_cell_precursor, t_cell"},
                    "disease_status": {
                        "type": "string",
                        "description": "e.g. newly_diagnosed, relapsed, refractory, in_remission",
                    },
                },
                "additionalProperties": {"type": "string", "description": "further qualifiers a policy may name"},
            },
        },
    }

    @classmethod
    def parse(cls, data: Any) -> DiagnosisTest:
        def pairs(d: dict | None) -> tuple:
            return tuple((k, tuple(v)) for k, v in (d or {}).items())

        return cls(
            tuple(data["icd10"]),
            pairs(data.get("qualifiers")),
            pairs(data.get("biomarkers")),
            tuple(data.get("except", ())),
        )

    def dump(self) -> object:
        out: dict = {"icd10": list(self.icd10)}
        if self.exceptions:
            out["except"] = list(self.exceptions)
        if self.qualifiers:
            out["qualifiers"] = {k: list(v) for k, v in self.qualifiers}
        if self.biomarkers:
            out["biomarkers"] = {k: list(v) for k, v in self.biomarkers}
        return out

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        if any("TODO" in code.upper() for code in (*self.icd10, *self.exceptions)):
            return []  # a skeleton's placeholder: `check` reports it as one
        # A prefix shorter than an ICD-10-CM category ("C", "C9") would match every disease
        # under it: each entry is checked on its own first (its shape, then its place in the
        # code set), at its index; then the exceptions against what the entries cover.
        issues: list[tuple[tuple, str]] = []
        for i, code in enumerate(self.icd10):
            if "-" not in code.strip("-") and not icd10cm.well_formed(code):
                issues.append(
                    (
                        ("icd10", i),
                        f"{code!r} is not an ICD-10-CM code or category (a letter, two more characters, then optionally a dot and up to four: C91, C91.0, C91.02)",
                    )
                )
                continue
            try:
                covered_codes((code,))
            except icd10cm.CodeError as exc:
                issues.append((("icd10", i), str(exc)))
        if issues:
            return issues
        try:
            covered_codes(self.icd10, self.exceptions)
        except icd10cm.CodeError as exc:
            return [(("except",), str(exc))]
        return []

    def codes(self) -> frozenset[str]:
        """Every ICD-10-CM code covered, without dots (as the library compares codes)."""
        return frozenset(normal_code(c) for c in covered_codes(self.icd10, self.exceptions))

    def fields(self) -> list[str]:
        return ["diagnoses", *(f"biomarkers.{name}" for name, _ in self.biomarkers)]

    def rego(self) -> str:
        v, vb = regotext.value, regotext.block
        qualifiers = {k: lower_set(vs) for k, vs in self.qualifiers}
        markers = [call("biomarker", fact(f"biomarkers.{name}"), v(frozenset(vs))) for name, vs in self.biomarkers]
        return call(
            "diagnosis_codes", fact("diagnoses"), vb(self.codes(), 1), vb(qualifiers, 1), regotext.array(markers)
        )

    def describe(self) -> str:
        but = f" except {_or(self.exceptions)}" if self.exceptions else ""
        parts = ["an ICD-10-CM code in " + _or(self.icd10) + but]
        parts += [f"{k} one of {', '.join(v)}" for k, v in self.qualifiers]
        parts += [f"biomarker {k} {_or(v)}" for k, v in self.biomarkers]
        return "; ".join(parts)

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        if a.key.startswith("biomarkers."):
            return BiomarkerTest.questions(a)
        codes = ", ".join(dict.fromkeys(c for t in a.tests for c in t.icd10))
        children = [
            question(
                "diagnoses.code",
                f"ICD-10-CM diagnosis code (the policy covers codes starting {codes})",
                "string",
                required=True,
            )
        ]
        for qname, values in cls._qualifiers(a.tests).items():
            # Required only when every diagnosis the policy covers is qualified by it; a
            # qualifier of one indication (the phase of CML) is not asked of every diagnosis.
            users = [t for t in a.tests if qname in dict(t.qualifiers)]
            every = len(users) == len(a.tests)
            where = (
                "" if every else f" (for codes starting {', '.join(dict.fromkeys(c for t in users for c in t.icd10))})"
            )
            children.append(
                question(
                    f"diagnoses.{qname}",
                    humanize(qname) + where,
                    "choice",
                    required=every,
                    answerOption=options(a.system(f"diagnosis_{qname}"), [*values, OTHER]),
                )
            )
        return [
            question(
                a.key,
                f"Diagnosis{a.scope}. {a.policy}{a.note}",
                "group",
                required=a.required,
                repeats=True,
                item=children,
                **a.enable,
            )
        ]

    @staticmethod
    def _qualifiers(tests: Iterable[DiagnosisTest]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in tests:
            for qname, values in t.qualifiers:
                out.setdefault(qname, []).extend(values)
        return out

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        if key.startswith("biomarkers."):
            request.put(key, answers.one(key))
            return
        qualifiers = list(cls._qualifiers(t for t in tests if isinstance(t, DiagnosisTest)))
        request.put("diagnoses", answers.entries("diagnoses", ("code", *qualifiers)) or None)

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _not_a_list(value) if path == "diagnoses" else _biomarker_note(path, value)


@kind
@dataclass(frozen=True)
class BiomarkerTest(Kind):
    name: str
    values: tuple[str, ...]

    key = "biomarker"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "values"],
        "description": "a biomarker result of the request is one of `values`",
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
            "values": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["positive", "negative"]},
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "biomarkers": {
            "type": "object",
            "description": "name -> result, e.g. CD22: positive, philadelphia_chromosome: negative",
            "additionalProperties": {
                "enum": ["positive", "negative", "unknown", None],
                "description": "unknown or null = not known",
            },
        },
    }

    def fields(self) -> list[str]:
        return [f"biomarkers.{self.name}"]

    def rego(self) -> str:
        return call("biomarker", fact(self.fields()[0]), regotext.value(frozenset(self.values)))

    def describe(self) -> str:
        return f"biomarker {self.name} is {_or(self.values)}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        name = a.key.partition(".")[2]
        return [
            question(
                a.key,
                f"{humanize(name)} status{a.scope}. {a.policy}{a.note}",
                "choice",
                required=a.required,
                answerOption=options(a.system("biomarker_result"), BIOMARKER_RESULTS),
                **a.enable,
            )
        ]

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        return [
            {
                "question": f"biomarkers.{self.name}",
                "operator": "=",
                "answerCoding": coding(system("biomarker_result"), v),
            }
            for v in self.values
        ]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _biomarker_note(path, value)


@kind
@dataclass(frozen=True)
class PriorTherapyTest(Kind):
    """Therapy history: at least `at_least` distinct agents of a value set (or, with
    `each_agent`, every agent of it; without a value set, any agent) that ended with one of
    `results` (`any`: tried, whatever the result) and, with `min_days` or `min_months`
    (calendar months, as ages count them), lasted that long."""

    value_set: str | None = None
    at_least: int = 1
    results: tuple[str, ...] = ("failed",)
    each_agent: bool = False
    min_days: int | None = None
    dose_unit: str | None = None
    min_daily_doses: tuple[tuple[str, float], ...] = ()
    min_months: int | None = None

    key = "prior_therapy"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "description": "at least N distinct agents of a value set (any agent without one) were tried with one of the results",
        "properties": {
            "value_set": IDENTIFIER,
            "at_least": {"type": "integer", "minimum": 1, "maximum": 50},
            "each_agent": {
                "type": "boolean",
                "description": "every agent of the value set (not its classes) must count",
            },
            "min_days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3650,
                "description": "a trial counts when it lasted at least this many days (start_date to end_date, or to the date of service while ongoing); contraindicated agents need no trial",
            },
            "min_daily_dose": {
                "type": "object",
                "additionalProperties": False,
                "required": ["unit", "agents"],
                "description": 'a trial of a listed agent counts only at this daily dose or more ("atorvastatin 40 mg daily or more"); contraindicated agents need no dose',
                "properties": {
                    "unit": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 20,
                        "description": "UCUM unit of the amounts, e.g. mg",
                    },
                    "agents": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": {"pattern": "^[^A-Z]+$"},
                        "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
                        "description": "agent (lower case, one of the value set's agents): the least daily amount in `unit`",
                    },
                },
            },
            "min_months": {
                "type": "integer",
                "minimum": 1,
                "maximum": 120,
                "description": "a trial counts when it lasted at least this many calendar months (start_date plus the months, the day clamped to a shorter month's end, on or before end_date or the date of service); contraindicated agents need no trial",
            },
            "results": {
                "type": "array",
                "items": {
                    "enum": [
                        "failed",
                        "inadequate_response",
                        "intolerant",
                        "contraindicated",
                        "completed",
                        "ongoing",
                        "any",
                    ]
                },
                "minItems": 1,
                "uniqueItems": True,
                "description": "results that count (default: [failed])",
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "prior_therapies": {
            "type": "array",
            "description": "absent = unknown; [] = none tried",
            "items": {
                "type": "object",
                "required": ["agent"],
                "properties": {
                    "agent": {"type": "string", "description": "agent or regimen name, case-insensitive"},
                    "class": {
                        "type": "string",
                        "description": "therapy class, e.g. tyrosine_kinase_inhibitor, standard_chemotherapy",
                    },
                    "result": {
                        "enum": [*THERAPY_RESULTS, None],
                        "description": "how it ended; absent or null = not known",
                    },
                    "start_date": {
                        "type": "string",
                        "description": "YYYY-MM-DD the trial started; not after the date of service, not before the birth date",
                    },
                    "end_date": {
                        "type": "string",
                        "description": "YYYY-MM-DD it ended (absent while ongoing); not after the date of service",
                    },
                    "dose": {
                        "type": "object",
                        "description": "the dose taken: `amount` `unit` once every `every_days` days (absent or null: not known, never taken as daily)",
                        "properties": {
                            "amount": {"type": "number"},
                            "unit": {"type": "string", "description": "UCUM, e.g. mg"},
                            "every_days": {"type": "number", "exclusiveMinimum": 0},
                        },
                    },
                },
            },
        },
    }

    @classmethod
    def parse(cls, data: Any) -> PriorTherapyTest:
        d = dict(data)
        dose = d.pop("min_daily_dose", None)
        args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        if dose is not None:
            args["dose_unit"] = dose["unit"]
            args["min_daily_doses"] = tuple(dose["agents"].items())
        return cls(**args)

    def dump(self) -> object:
        out: dict[str, Any] = {} if self.value_set is None else {"value_set": self.value_set}
        out.update({"at_least": self.at_least, "results": list(self.results)})
        if self.each_agent:
            out["each_agent"] = True
        if self.min_days is not None:
            out["min_days"] = self.min_days
        if self.dose_unit is not None:
            out["min_daily_dose"] = {"unit": self.dose_unit, "agents": dict(self.min_daily_doses)}
        if self.min_months is not None:
            out["min_months"] = self.min_months
        return out

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        issues = [] if self.value_set is None else _value_set_issue(self.value_set, value_sets)
        if self.dose_unit is not None:
            from ..terminology import ucum

            if self.value_set is None:
                issues.append((("min_daily_dose",), "a minimum dose names agents of a value_set: give the value_set"))
            try:
                ucum.ucum_code(self.dose_unit)
            except ucum.UnitError as exc:
                issues.append((("min_daily_dose", "unit"), str(exc)))
        if self.each_agent and self.value_set is None:
            issues.append((("each_agent",), "each_agent needs a value_set whose agents are each required"))
        if self.each_agent and self.at_least != 1:
            issues.append((("at_least",), "each_agent counts every agent of the value set: no at_least beside it"))
        if self.min_days is not None and self.min_months is not None:
            issues.append((("min_months",), "give the trial length once: min_days or min_months, not both"))
        return issues

    def fields(self) -> list[str]:
        return ["prior_therapies"]

    def rego(self) -> str:
        rule = {
            "results": frozenset(self.results),
            "n": self.at_least,
            "each_agent": self.each_agent,
            "min_days": self.min_days,
            "any_agent": self.value_set is None,
        }
        if self.dose_unit is not None:
            # Left out when not asked, so specs without it generate as before.
            rule["min_daily_dose"] = {"agents": dict(self.min_daily_doses), "units": unit_factors(self.dose_unit)}
        if self.min_months is not None:  # only when given, so specs without it generate as before
            rule["min_months"] = self.min_months
        agents = (
            value_set(self.value_set)
            if self.value_set is not None
            else regotext.value({"agents": frozenset(), "classes": frozenset()})
        )
        return call("history", fact("prior_therapies"), agents, regotext.block(rule, 1), DATE_OF_SERVICE, BIRTH_DAY)

    def describe(self) -> str:
        which = (
            f"every agent of value set {self.value_set}"
            if self.each_agent
            else (
                f"at least {counted(self.at_least, 'distinct agent')} of value set {self.value_set}"
                if self.value_set
                else f"at least {counted(self.at_least, 'prior therapy agent')}"
            )
        )
        length = f", each tried at least {counted(self.min_days, 'day')}" if self.min_days else ""
        if self.min_months:
            length = f", each tried at least {counted(self.min_months, 'calendar month')}"
        results = "any result" if "any" in self.results else f"result {_or(self.results)}"
        dose = ""
        if self.dose_unit is not None:
            dose = ", at a daily dose of at least " + ", ".join(
                f"{_num(x)} {self.dose_unit} ({a})" for a, x in self.min_daily_doses
            )
        return f"{which} with {results}{length}{dose}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return _therapy_questions(a, prior=True)

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        fields = ("agent", "class", "result", "start_date", "end_date", "dose_amount", "dose_unit", "dose_every_days")
        entries = answers.therapies(key, fields)
        for e in entries or []:
            dose = {f: e.pop(f"dose_{f}") for f in ("amount", "unit", "every_days") if f"dose_{f}" in e}
            if dose:
                e["dose"] = dose
        request.put(key, entries)

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _not_a_list(value)


@kind
@dataclass(frozen=True)
class AttestationTest(Kind):
    name: str

    key = "attestation"
    schema: ClassVar[dict] = {
        "type": "string",
        "pattern": "^[a-z][a-z0-9_]*$",
        "maxLength": 64,
        "description": "name of a prescriber attestation that must be answered true",
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "prescriber.attestations": {
            "type": "object",
            "description": "attestation name -> true (agrees) / false (does not); absent or null = not answered",
            "additionalProperties": {"type": ["boolean", "null"]},
        },
    }

    @classmethod
    def parse(cls, data: Any) -> AttestationTest:
        return cls(data)

    def dump(self) -> object:
        return self.name

    def fields(self) -> list[str]:
        return [f"prescriber.attestations.{self.name}"]

    def rego(self) -> str:
        return call("attestation", fact(self.fields()[0]))

    def describe(self) -> str:
        return f"prescriber attestation {self.name} is true"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return [
            question(
                a.key, f"{a.policy[len('Policy: ') : -1]}{a.scope}{a.note}", "boolean", required=a.required, **a.enable
            )
        ]

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        return [{"question": self.fields()[0], "operator": "=", "answerBoolean": True}]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return "" if isinstance(value, bool) else " (not true/false: never met)"


@kind
@dataclass(frozen=True)
class ClinicalStatusTest(Kind):
    name: str
    required: bool

    key = "clinical_status"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "required"],
        "description": "a yes/no clinical finding must have the required answer",
        "properties": {"name": IDENTIFIER, "required": {"type": "boolean"}},
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "clinical_status": {
            "type": "object",
            "description": "yes/no findings, e.g. disease_progression: false",
            "additionalProperties": {"type": ["boolean", "null"]},
        },
    }

    def fields(self) -> list[str]:
        return [f"clinical_status.{self.name}"]

    def rego(self) -> str:
        return call("clinical_status", fact(self.fields()[0]), regotext.value(self.required))

    def describe(self) -> str:
        return f"clinical status {self.name} is {str(self.required).lower()}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        name = a.key.partition(".")[2]
        # The status's name as a yes/no heading ("Disease progression?"): a name turned into a
        # sentence reads badly ("Does the patient have used with chemotherapy?"); a criterion's
        # `question` gives the document's own wording instead.
        return [
            question(
                a.key, f"{humanize(name)}?{a.scope} {a.policy}{a.note}", "boolean", required=a.required, **a.enable
            )
        ]

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        return [{"question": self.fields()[0], "operator": "=", "answerBoolean": self.required}]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return "" if isinstance(value, bool) else " (not true/false: never met)"


# The questionnaire's item for a result's upper limit of normal (labs[].reference_range.high).
ULN_FIELD = "reference_range_high"


@kind
@dataclass(frozen=True)
class LabTest(Kind):
    """A lab result against a threshold (docs/semantics.md, "Labs").

    The lab is identified by LOINC codes and/or its name and aliases; a result's value is
    converted from its UCUM unit into `unit` by factors rxrego.terminology.ucum computes at
    generation; which result counts is `result` (latest, baseline before the therapy
    started, after it); the threshold is `value`, `times_uln` x the upper limit of normal, or
    a change from baseline (`change`: absolute or percent). A value outside `plausible` is
    invalid.
    """

    name: str
    comparison: str
    unit: str
    value: float | None = None
    within_days: int | None = None
    loinc: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    plausible_min: float | None = None
    plausible_max: float | None = None
    result: str = "latest"
    after_days: int | None = None
    times_uln: float | None = None
    uln: float | None = None
    change: str | None = None
    molar_mass: float | None = None
    # The anchor is the earliest start of a prior therapy of this value set (not treatment.start_date).
    therapy_start: str | None = None
    within_months: int | None = None
    # The upper limits of normal a result's reference range may give, in `unit` (uln_plausible).
    uln_plausible_min: float | None = None
    uln_plausible_max: float | None = None
    # The charge of the analyte's ion (1 for K+, 2 for Ca2+): equivalents convert into moles by it.
    valence: int | None = None

    key = "lab"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "comparison", "unit", "plausible"],
        "description": "a result of a lab (by LOINC code or name), converted to `unit`, compares with a threshold",
        "properties": {
            "name": IDENTIFIER,
            "loinc": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9]{1,7}-[0-9]$"},
                "minItems": 1,
                "uniqueItems": True,
                "description": "LOINC codes of the lab; a result with one of these `code`s is this lab",
            },
            "aliases": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 80},
                "uniqueItems": True,
                "description": "other names a result may carry (case, spaces, _ - . ignored)",
            },
            "comparison": {"enum": ["<", "<=", ">", ">=", "=="]},
            "value": {"type": "number", "description": "the threshold in `unit` (or the change, with `change`)"},
            "unit": {
                "type": "string",
                "minLength": 1,
                "maxLength": 40,
                "description": "a UCUM unit (or a common lab spelling, e.g. mEq/L)",
            },
            "within_days": {"type": "integer", "minimum": 0, "maximum": 3650},
            "within_months": {
                "type": "integer",
                "minimum": 1,
                "maximum": 120,
                "description": 'the result counts only when dated on or after the reference date less this many calendar months ("within the last 2 years": 24)',
            },
            "plausible": {
                "type": "object",
                "additionalProperties": False,
                "required": ["min", "max"],
                "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
                "description": "plausible: {min, max}, the values this lab can take in `unit`; a result outside them contradicts the request: invalid",
            },
            "result": {"enum": ["latest", "baseline", "after"], "description": "which result counts (default latest)"},
            "after_days": {
                "type": "integer",
                "minimum": 0,
                "maximum": 3650,
                "description": "with result: after, days after treatment.start_date",
            },
            "times_uln": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "the threshold is this multiple of the upper limit of normal",
            },
            "uln": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "the ULN in `unit` when a result carries no reference_range.high",
            },
            "uln_plausible": {
                "type": "object",
                "additionalProperties": False,
                "required": ["min", "max"],
                "properties": {
                    "min": {"type": "number", "exclusiveMinimum": 0},
                    "max": {"type": "number", "exclusiveMinimum": 0},
                },
                "description": "required with times_uln: the upper limits of normal (in `unit`) a result's reference_range.high (or the spec's uln) may give; outside: invalid",
            },
            "change": {
                "enum": ["absolute", "percent"],
                "description": "compare the change from the baseline (before treatment.start_date) to the latest result",
            },
            "molar_mass": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "g/mol, to convert between mass and substance units",
            },
            "valence": {
                "type": "integer",
                "minimum": 1,
                "maximum": 4,
                "description": (
                    "the charge of the analyte's ion (1 for potassium, sodium, chloride; 2 for calcium,"
                    " magnesium): 1 meq = 1/valence mmol. Without it a unit counting equivalents (meq/L,"
                    " mEq/L) does not convert into one counting moles or mass, and `unit` may not count them"
                ),
            },
            "therapy_start": {
                **IDENTIFIER,
                "description": "a value set: the anchor of a baseline, after or change is the earliest start_date of a prior therapy in it (not treatment.start_date)",
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "labs": {
            "type": "array",
            "description": "absent = unknown; [] = none done",
            "items": {
                "type": "object",
                "required": ["value", "unit", "date"],
                "anyOf": [{"required": ["name"]}, {"required": ["code"]}],
                "properties": {
                    "name": {"type": "string"},
                    "code": {
                        "type": "string",
                        "description": "LOINC code, e.g. 2823-3 (potassium); it decides which lab a result is",
                    },
                    "value": {"type": "number"},
                    "unit": {
                        "type": "string",
                        "description": "UCUM unit, e.g. mmol/L, mg/dL, 10*9/L (common spellings such as mEq/L accepted)",
                    },
                    "date": {
                        "type": "string",
                        "description": (
                            "YYYY-MM-DD, a real calendar date (years 1900-2199), or a date with a time (FHIR dateTime,"
                            " e.g. 2026-11-02T10:00:00Z, Observation.effectiveDateTime), read as the day written;"
                            " not after the date of service, not before the birth date"
                        ),
                    },
                    "comparator": {
                        "enum": ["<", "<=", ">=", ">", "ad"],
                        "description": (
                            "FHIR Quantity.comparator: the true value is only bounded by `value` (a result"
                            ' reported as "<10"), so it cannot be read with certainty: unknown; absent: the value'
                        ),
                    },
                    "status": {
                        "enum": [
                            "registered",
                            "preliminary",
                            "final",
                            "amended",
                            "corrected",
                            "cancelled",
                            "entered-in-error",
                            "unknown",
                        ],
                        "description": (
                            "FHIR Observation.status; absent: final. final, amended, corrected: read;"
                            " registered, preliminary, unknown: not read with certainty (unknown);"
                            " cancelled, entered-in-error: void, no result (not read at all)"
                        ),
                    },
                    "reference_range": {
                        "type": "object",
                        "description": "FHIR Observation.referenceRange; read when a threshold is a multiple of the ULN",
                        "properties": {
                            "low": {"type": "number", "description": "in `unit`; not above `high`"},
                            "high": {
                                "type": "number",
                                "exclusiveMinimum": 0,
                                "description": "the upper limit of normal, in `unit` (absent: the result's unit)",
                            },
                            "unit": {
                                "type": "string",
                                "description": "UCUM unit of low and high (FHIR's range Quantities carry their own)",
                            },
                        },
                    },
                },
            },
        },
    }

    @classmethod
    def parse(cls, data: Any) -> LabTest:
        d = dict(data)
        plausible = d.pop("plausible", None) or {}
        uln_plausible = d.pop("uln_plausible", None) or {}
        args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(
            **args,
            plausible_min=plausible.get("min"),
            plausible_max=plausible.get("max"),
            uln_plausible_min=uln_plausible.get("min"),
            uln_plausible_max=uln_plausible.get("max"),
        )

    def dump(self) -> object:
        # Today's fields first, in today's order, so a spec without the new ones hashes as before.
        out: dict[str, Any] = {"name": self.name, "comparison": self.comparison}
        if self.value is not None:
            out["value"] = self.value
        out["unit"] = self.unit
        if self.within_days is not None:
            out["within_days"] = self.within_days
        for f in ("loinc", "aliases"):
            if getattr(self, f):
                out[f] = list(getattr(self, f))
        if self.plausible_min is not None or self.plausible_max is not None:
            out["plausible"] = {
                k: v for k, v in (("min", self.plausible_min), ("max", self.plausible_max)) if v is not None
            }
        if self.result != "latest":
            out["result"] = self.result
        for f in ("after_days", "times_uln", "uln", "change", "molar_mass", "therapy_start", "within_months"):
            if getattr(self, f) is not None:
                out[f] = getattr(self, f)
        if self.uln_plausible_min is not None or self.uln_plausible_max is not None:
            out["uln_plausible"] = {
                k: v for k, v in (("min", self.uln_plausible_min), ("max", self.uln_plausible_max)) if v is not None
            }
        if self.valence is not None:
            out["valence"] = self.valence
        return out

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        from ..terminology import loinc, ucum

        issues: list[tuple[tuple, str]] = []
        if (self.value is None) == (self.times_uln is None):
            issues.append(
                (
                    (),
                    "give exactly one of `value` (a threshold) and `times_uln` (a multiple of the upper limit of normal)",
                )
            )
        if self.change is not None and (self.times_uln is not None or self.result != "latest"):
            issues.append(
                (
                    ("change",),
                    "a change from baseline compares the latest result with the baseline: no `times_uln` or `result` beside it",
                )
            )
        if self.uln is not None and self.times_uln is None:
            issues.append((("uln",), "`uln` is read only with `times_uln`"))
        if (self.uln_plausible_min is not None or self.uln_plausible_max is not None) and self.times_uln is None:
            issues.append((("uln_plausible",), "`uln_plausible` is read only with `times_uln`"))
        if self.times_uln is not None and (self.uln_plausible_min is None or self.uln_plausible_max is None):
            # A result's reference range is the request's word; without bounds a ULN typed in
            # the wrong unit (1e-6 for 1) would make any value exceed, or fall below, the
            # multiple (issue 15: a fact that cannot be read with certainty never approves).
            issues.append(
                (
                    ("uln_plausible",),
                    "a multiple of the upper limit of normal needs `uln_plausible: {min, max}`: the upper limits "
                    f"of normal laboratories report for this lab, in {self.unit}; a result's reference range "
                    "outside them is invalid, not read",
                )
            )
        if self.uln is not None and not (
            (self.uln_plausible_min is None or self.uln >= self.uln_plausible_min)
            and (self.uln_plausible_max is None or self.uln <= self.uln_plausible_max)
        ):
            issues.append((("uln",), f"the spec's own ULN {self.uln} is outside `uln_plausible`"))
        if (
            self.uln_plausible_min is not None
            and self.uln_plausible_max is not None
            and self.uln_plausible_min > self.uln_plausible_max
        ):
            issues.append(
                (("uln_plausible",), f"min {self.uln_plausible_min} is greater than max {self.uln_plausible_max}")
            )
        if self.therapy_start is not None:
            issues += _value_set_issue(self.therapy_start, value_sets)
            issues = [(("therapy_start",) if w == ("value_set",) else w, msg) for w, msg in issues]
            if not self.anchored:
                issues.append(
                    (
                        ("therapy_start",),
                        "`therapy_start` anchors a baseline, an after or a change: give `result: baseline` or `after`, or `change`",
                    )
                )
        if self.within_days is not None and self.within_months is not None:
            issues.append((("within_months",), "give one window: `within_days` or `within_months`, not both"))
        if self.within_months is not None and self.change is not None:
            issues.append(
                (("within_months",), "a change from baseline reads no window: no `within_months` beside `change`")
            )
        if (self.after_days is not None) != (self.result == "after"):
            issues.append((("after_days",), "`after_days` goes with `result: after`, and `result: after` needs it"))
        if (
            self.plausible_min is not None
            and self.plausible_max is not None
            and self.plausible_min > self.plausible_max
        ):
            issues.append((("plausible",), f"min {self.plausible_min} is greater than max {self.plausible_max}"))
        elif self.value is not None and self.change is None and (never := self._never_met()):
            issues.append((("value",), never))
        try:
            ucum.ucum_code(self.unit)
        except ucum.UnitError as exc:
            issues.append((("unit",), str(exc)))
        else:
            if self.valence is None and ucum.equivalents(self.unit):
                # UCUM's eq is a mole, true of a univalent ion only: without the charge a
                # calcium result in mmol/L would be read at half its value in meq/L.
                issues.append(
                    (
                        ("unit",),
                        f"{self.unit!r} counts equivalents (moles of charge): give the analyte's `valence` "
                        "(1 for potassium, sodium, chloride; 2 for calcium, magnesium) so that results in "
                        "mmol/L or mg/dL convert, or write the unit in mmol/L",
                    )
                )
        for i, code in enumerate(self.loinc):
            digits = code.partition("-")[0]
            if digits.isascii() and digits.isdigit() and not loinc.well_formed(code):
                issues.append(
                    (
                        ("loinc", i),
                        f"{code!r} is not a LOINC code: the check digit of {digits} is {loinc.check_digit(digits)}",
                    )
                )
        return issues

    def _never_met(self) -> str | None:
        """Why `comparison value` can never be met by a value inside `plausible` (a value
        outside it is invalid, never met), or None when some plausible value meets it."""
        lo, hi, v, op = self.plausible_min, self.plausible_max, self.value, self.comparison
        assert v is not None
        too_high = hi is not None and (v >= hi if op == ">" else v > hi) and op in (">", ">=", "==")
        too_low = lo is not None and (v <= lo if op == "<" else v < lo) and op in ("<", "<=", "==")
        if too_high:
            return (
                f"the threshold `{op} {v:g}` can never be met: plausible.max is {hi:g} {self.unit}, and a "
                "result above it is invalid; lower the threshold or correct plausible.max"
            )
        if too_low:
            return (
                f"the threshold `{op} {v:g}` can never be met: plausible.min is {lo:g} {self.unit}, and a "
                "result below it is invalid; raise the threshold or correct plausible.min"
            )
        return None

    def fields(self) -> list[str]:
        return ["labs", self.anchor_field] if self.anchored else ["labs"]

    @property
    def anchor_field(self) -> str:
        """The request field the anchor date comes from."""
        return "prior_therapies" if self.therapy_start is not None else "treatment.start_date"

    def anchor_expr(self) -> str:
        """The Rego reading the anchor: the fact treatment.start_date, or the earliest start
        of a prior therapy of `therapy_start` (lib.therapy_start)."""
        if not self.anchored:
            return regotext.value(None)
        if self.therapy_start is not None:
            return call(
                "therapy_start", fact("prior_therapies"), value_set(self.therapy_start), DATE_OF_SERVICE, BIRTH_DAY
            )
        return fact("treatment.start_date")

    @property
    def anchored(self) -> bool:
        """True when the test reads the date the requested therapy started."""
        return self.result != "latest" or self.change is not None

    def names(self) -> frozenset[str]:
        """The lab's names as results are compared: lower case, no spaces, _ - or dots."""
        return frozenset(lab_name(n) for n in (self.name, *self.aliases))

    def unit_note(self) -> dict | None:
        return {
            "codes": sorted(self.loinc),
            "names": sorted(self.names()),
            "unit": self.unit,
            "units": sorted(self.units()),
        }

    def units(self) -> dict[str, float]:
        """{lower-case unit a result may carry: factor into `unit`} (rxrego.terminology.ucum).
        A lower-case spelling two units share with different factors is left out: such a
        result is unreadable rather than guessed."""
        return unit_factors(self.unit, self.molar_mass, self.valence)

    def rego(self) -> str:
        return self.rego_call("lab_result")

    def rego_call(self, function: str) -> str:
        """A call of the library's `function` (lab_result, or lab_key for a dose table's
        column) on the labs, the date of service, the anchor, the test and its unit table."""
        given = {
            "names": self.names(),
            "codes": frozenset(self.loinc),
            "comparison": self.comparison,
            "value": self.value,
            "times_uln": self.times_uln,
            "uln": self.uln,
            "change": self.change,
            "plausible": [self.plausible_min, self.plausible_max],
            "uln_plausible": [self.uln_plausible_min, self.uln_plausible_max],
            "which": self.result,
            "after_days": self.after_days,
            "within_days": self.within_days,
            "within_months": self.within_months,
        }
        # Defaults (the library's _lab_defaults) are left out.
        defaults = {"codes": frozenset(), "plausible": [None, None], "uln_plausible": [None, None], "which": "latest"}
        lab = {k: v for k, v in given.items() if v is not None and defaults.get(k, ...) != v}
        # The unit table on one line: it is data, as long as UCUM makes it.
        return call(
            function,
            fact("labs"),
            DATE_OF_SERVICE,
            BIRTH_DAY,
            self.anchor_expr(),
            regotext.block(lab, 1),
            regotext.value(self.units()),
        )

    def describe(self) -> str:
        anchor = f"the first start of value set {self.therapy_start}" if self.therapy_start else "treatment.start_date"
        which = {
            "latest": "latest",
            "baseline": f"baseline (before {anchor})",
            "after": f"first-counting (at least {counted(self.after_days or 0, 'day')} after {anchor}), latest",
        }[self.result]
        recent = f", at most {counted(self.within_days, 'day')} old" if self.within_days is not None else ""
        if self.within_months is not None:
            recent = f", dated within the last {counted(self.within_months, 'month')}"
        if self.change is not None:
            what = f"change of {self.name} from baseline {self.comparison} {_num(self.value or 0)}{'%' if self.change == 'percent' else ' ' + self.unit}"
        elif self.times_uln is not None:
            what = f"{which} {self.name} {self.comparison} {_num(self.times_uln)} x ULN"
        else:
            what = f"{which} {self.name} {self.comparison} {_num(self.value or 0)} {self.unit}"
        return what + recent

    def question_keys(self) -> list[str]:
        keys = [f"labs.{self.name}"]  # asked per lab
        return [*keys, self.anchor_field] if self.anchored else keys

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        if a.key == "prior_therapies":  # the therapy history that gives the anchor
            sets = tuple(
                PriorTherapyTest(value_set=t.therapy_start)
                for t in a.tests
                if isinstance(t, LabTest) and t.therapy_start
            )
            return _therapy_questions(dataclasses.replace(a, tests=sets), prior=True, dated=True)
        if a.key == "treatment.start_date":
            return [
                question(
                    a.key,
                    f"Date the requested drug was (or will be) started{a.scope}. {a.policy}{a.note}",
                    "date",
                    required=a.required,
                    **a.enable,
                )
            ]
        name = a.key.partition(".")[2]
        lab = next(t for t in a.tests if t.name == name)
        # The policy's unit as it writes it first, then every UCUM code that converts into it.
        units = [{"valueCoding": unit_coding(lab.unit)}] + [
            {"valueCoding": coding(UCUM_SYSTEM, u, u)} for u in lab.ucum_choices() if u != lab.unit
        ]
        repeats = any(t.anchored for t in a.tests if t.name == name)
        children = [
            question(f"{a.key}.value", f"Result ({lab.unit})", "decimal", required=True),
            question(f"{a.key}.unit", "Unit (UCUM)", "choice", required=True, answerOption=units, initial=[units[0]]),
            question(f"{a.key}.date", "Date of the result", "date", required=True),
        ]
        if cls.reads_uln(a.tests, name):
            children.append(
                question(
                    f"{a.key}.{ULN_FIELD}",
                    "Upper limit of normal: the high end of the result's reference range, in the result's unit "
                    "(the threshold is a multiple of it)",
                    "decimal",
                    required=True,
                )
            )
        what = "Results" if repeats else "Most recent result"
        extra = {"repeats": True} if repeats else {}
        loinc = f" (LOINC {', '.join(lab.loinc)})" if lab.loinc else ""
        return [
            question(
                a.key,
                f"{what} of {humanize(name)}{loinc}{a.scope}. {a.policy}{a.note}",
                "group",
                required=a.required,
                item=children,
                **extra,
                **a.enable,
            )
        ]

    @staticmethod
    def reads_uln(tests: Iterable[Kind], name: str) -> bool:
        """Whether a test of lab `name` is a multiple of the upper limit of normal without a
        ULN in the spec (`times_uln` without `uln`): each result must then carry its
        reference range's high end, which the questionnaire asks for."""
        return any(
            isinstance(t, LabTest) and t.name == name and t.times_uln is not None and t.uln is None for t in tests
        )

    def ucum_choices(self) -> list[str]:
        """The units the questionnaire offers: the test's own (as UCUM) first, then every UCUM
        code it converts from."""
        from ..terminology import ucum

        own = ucum.ucum_code(self.unit)
        others = [
            u
            for u in ucum.accepted_units(self.unit, self.molar_mass, self.valence)
            if u not in ucum.LAB_SPELLINGS and u != own
        ]
        return [own, *others]

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        if key == "prior_therapies":
            PriorTherapyTest.fill(key, tests, answers, request)
            return
        if key == "treatment.start_date":
            request.put(key, answers.one(key))
            return
        name = key.partition(".")[2]
        loinc = next((t.loinc for t in tests if isinstance(t, LabTest) and t.name == name and t.loinc), ())
        code = {"code": loinc[0]} if loinc else {}
        entries = answers.entries(key, ("value", "unit", "date", ULN_FIELD))
        for entry in entries:
            if ULN_FIELD in entry:
                entry["reference_range"] = {"high": entry.pop(ULN_FIELD)}
        request.extend("labs", [{"name": name, **code, **entry} for entry in entries])

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        if path != "labs":
            return ""
        if not isinstance(value, list):
            return _not_a_list(value)
        if self.times_uln is None or self.uln is not None:
            return ""
        names = self.names()
        bare = [
            e
            for e in value
            if isinstance(e, dict)
            and (
                (isinstance(e.get("name"), str) and lab_name(e["name"]) in names)
                or (self.loinc and isinstance(e.get("code"), str) and e["code"].strip() in self.loinc)
            )
            and not (isinstance(e.get("reference_range"), dict) and "high" in e["reference_range"])
        ]
        if not bare:
            return ""
        dates = ", ".join(str(e.get("date")) for e in bare)
        return (
            f" ({self.name} result(s) of {dates} without reference_range.high: the upper limit of normal "
            f"the threshold {_num(self.times_uln)} x ULN needs)"
        )

    def missing_hint(self) -> str:
        if self.times_uln is None or self.uln is not None:
            return ""
        return f"each {self.name} result with its reference range's upper limit (reference_range.high, the ULN)"


@functools.cache
def unit_factors(unit: str, molar_mass: float | None = None, valence: int | None = None) -> dict[str, float]:
    """{lower-case unit: factor into `unit`} for every unit rxrego.terminology.ucum accepts
    for it (equivalents into moles or mass only with the analyte's `valence`). A lower-case
    spelling two units share with different factors is left out: such a value is unreadable
    rather than guessed. Raises ucum.UnitError when `unit` is not UCUM."""
    from ..terminology import ucum

    table: dict[str, float | None] = {}
    for u, f in ucum.accepted_units(unit, molar_mass, valence).items():
        k = u.lower()
        table[k] = f if table.get(k, f) == f else None
    return {k: f for k, f in sorted(table.items()) if f is not None}


_LAB_NAME_DROP = re.compile(r"[ _.\-]")


def lab_name(name: str) -> str:
    """A lab name as results are matched: lower case (per character, as OPA's lower), without
    spaces, underscores, hyphens or dots: 'LDL-C' and 'ldl_c' are one name."""
    return _LAB_NAME_DROP.sub("", "".join(c.lower() if len(c.lower()) == 1 else c for c in name))


@kind
@dataclass(frozen=True)
class SpecialtyTest(Kind):
    specialties: tuple[str, ...]

    key = "prescriber_specialty"
    schema: ClassVar[dict] = {
        "type": "array",
        "items": IDENTIFIER,
        "minItems": 1,
        "uniqueItems": True,
        "description": "accepted prescriber specialties (case is ignored)",
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "prescriber.specialty": {"type": "string", "description": "e.g. oncology, hematology (case-insensitive)"},
    }

    @classmethod
    def parse(cls, data: Any) -> SpecialtyTest:
        return cls(tuple(data))

    def dump(self) -> object:
        return list(self.specialties)

    def fields(self) -> list[str]:
        return ["prescriber.specialty"]

    def rego(self) -> str:
        return call(
            "prescriber_specialty", fact("prescriber.specialty"), regotext.block(lower_set(self.specialties), 1)
        )

    def describe(self) -> str:
        return f"prescriber specialty is one of {', '.join(self.specialties)}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        values = [s for t in a.tests for s in t.specialties]
        return [
            question(
                a.key,
                f"Prescriber's specialty{a.scope}. {a.policy}{a.note}",
                "choice",
                required=a.required,
                answerOption=options(a.system("specialty"), [*values, OTHER]),
                **a.enable,
            )
        ]

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        return [
            {"question": "prescriber.specialty", "operator": "=", "answerCoding": coding(system("specialty"), s)}
            for s in self.specialties
        ]


@dataclass(frozen=True)
class ConcurrentTherapyKind(Kind):
    """What the two concurrent-therapy kinds share: a value set the therapies the patient
    will receive alongside (`concurrent_therapies`, entries with an agent and a class) are
    matched against, their questions, filling and notes. Each kind says its `key`, its
    library function (`rego_function`: `some` entry in the set meets, or fails, the test)
    and its `describe`."""

    value_set: str

    rego_function: ClassVar[str]

    @staticmethod
    def value_set_schema(description: str) -> dict:
        """The YAML schema of a concurrent-therapy test: `{value_set: <identifier>}`."""
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["value_set"],
            "description": description,
            "properties": {"value_set": IDENTIFIER},
        }

    def check(self, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
        return _value_set_issue(self.value_set, value_sets)

    def fields(self) -> list[str]:
        return ["concurrent_therapies"]

    def rego(self) -> str:
        return call(self.rego_function, fact("concurrent_therapies"), value_set(self.value_set))

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return _therapy_questions(a, prior=False)

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        request.put(key, answers.therapies(key, ("agent", "class")))

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        return _not_a_list(value)


@kind
@dataclass(frozen=True)
class ConcurrentTherapyTest(ConcurrentTherapyKind):
    key = "concurrent_therapy_excluded"
    rego_function = "concurrent_therapy_excluded"
    schema: ClassVar[dict] = ConcurrentTherapyKind.value_set_schema("no concurrent therapy is in the value set")
    request_schema: ClassVar[dict[str, dict]] = {
        "concurrent_therapies": {
            "type": "array",
            "description": "therapies the patient will receive alongside; [] = none",
            "items": {
                "type": "object",
                "required": ["agent"],
                "properties": {"agent": {"type": "string"}, "class": {"type": "string"}},
            },
        },
    }

    def describe(self) -> str:
        return f"no concurrent therapy from value set {self.value_set}"


@kind
@dataclass(frozen=True)
class QuantityLimitTest(Kind):
    max_units: float
    per_days: int
    max_days_supply: int | None = None  # None: per_days (a longer supply is not pro-rated into compliance)
    whole_units: bool = False

    key = "quantity_limit"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["max_units", "per_days"],
        "description": "requested units, pro-rated to per_days, do not exceed max_units",
        "properties": {
            "max_units": {"type": "number", "exclusiveMinimum": 0},
            "per_days": {"type": "integer", "minimum": 1, "maximum": 3650},
            "max_days_supply": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3650,
                "description": "the longest days supply one request may cover (default: per_days)",
            },
            "whole_units": {
                "type": "boolean",
                "description": "units are dispensed whole (vials, tablets): a fractional count is invalid (default false)",
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "quantity": {
            "type": "object",
            "properties": {"units": {"type": "number", "minimum": 0}, "days_supply": {"type": "integer", "minimum": 1}},
        },
    }

    def dump(self) -> object:
        out: dict[str, Any] = {"max_units": self.max_units, "per_days": self.per_days}
        if self.max_days_supply is not None:
            out["max_days_supply"] = self.max_days_supply
        if self.whole_units:
            out["whole_units"] = True
        return out

    def fields(self) -> list[str]:
        return ["quantity.units", "quantity.days_supply"]

    @property
    def days_cap(self) -> int:
        """The longest days supply a request may cover."""
        return self.max_days_supply if self.max_days_supply is not None else self.per_days

    def rego(self) -> str:
        limit = {
            "max_units": self.max_units,
            "per_days": self.per_days,
            "max_days_supply": self.days_cap,
            "whole_units": self.whole_units,
        }
        return call("quantity", fact("quantity.units"), fact("quantity.days_supply"), regotext.block(limit, 1))

    def describe(self) -> str:
        whole = " (whole units)" if self.whole_units else ""
        return f"at most {counted(self.max_units, 'unit')}{whole} per {counted(self.per_days, 'day')}, a days supply of at most {self.days_cap}"

    def question_keys(self) -> list[str]:
        return ["quantity"]  # asked as one group

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return [
            question(
                "quantity.units",
                f"Units requested{a.scope}. {a.policy}{a.note}",
                "decimal",
                required=a.required,
                **a.enable,
            ),
            question(
                "quantity.days_supply",
                f"Days supply of the units requested{a.scope}.",
                "integer",
                required=a.required,
                **a.enable,
            ),
        ]

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        request.put("quantity.units", answers.one("quantity.units"))
        request.put("quantity.days_supply", answers.one("quantity.days_supply"))


@kind
@dataclass(frozen=True)
class SexTest(Kind):
    allowed: tuple[str, ...]

    key = "sex"
    schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["allowed"],
        "description": "the patient's administrative sex (FHIR AdministrativeGender) is one of `allowed`",
        "properties": {
            "allowed": {
                "type": "array",
                "items": {"enum": [code for code in ADMINISTRATIVE_GENDER if code != "unknown"]},
                "minItems": 1,
                "uniqueItems": True,
                "description": "accepted codes: male, female, other (unknown means not known, so it is never accepted)",
            },
        },
    }
    request_schema: ClassVar[dict[str, dict]] = {
        "patient.sex": {
            "enum": [*ADMINISTRATIVE_GENDER, None],
            "description": "administrative sex as FHIR codes it (AdministrativeGender): male, female, other; unknown or null = not known",
        },
    }

    def fields(self) -> list[str]:
        return ["patient.sex"]

    def rego(self) -> str:
        codes = frozenset(c for c in ADMINISTRATIVE_GENDER if c != "unknown")
        return call("coded", fact("patient.sex"), regotext.value(frozenset(self.allowed)), regotext.value(codes))

    def describe(self) -> str:
        return f"administrative sex {_or(self.allowed)}"

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        answers = [{"valueCoding": coding(ADMINISTRATIVE_GENDER_SYSTEM, c)} for c in ADMINISTRATIVE_GENDER]
        return [
            question(
                a.key,
                f"Patient's administrative sex{a.scope}. {a.policy}{a.note}",
                "choice",
                required=a.required,
                answerOption=answers,
                **a.enable,
            )
        ]

    def enable_when(self, system: Callable[[str], str]) -> list[dict]:
        return [
            {"question": "patient.sex", "operator": "=", "answerCoding": coding(ADMINISTRATIVE_GENDER_SYSTEM, c)}
            for c in self.allowed
        ]

    def fact_note(self, path: str, value: object, date_of_service: dt.date | None) -> str:
        if value == "unknown":
            return " (FHIR's unknown: not known, so the criterion pends)"
        return "" if value in ADMINISTRATIVE_GENDER else " (not a FHIR AdministrativeGender code: never met)"


@kind
@dataclass(frozen=True)
class ProductTest(Kind):
    """Met when the product the request's drug identifiers name (HCPCS, NDC, RxNorm, name,
    strength; docs/semantics.md, "Products") is one of `products`, ids of the policy's
    `drug.products`. The ids are checked against the policy's products by the loader."""

    products: tuple[str, ...]

    key = "product"
    schema: ClassVar[dict] = {
        "type": "array",
        "items": IDENTIFIER,
        "minItems": 1,
        "uniqueItems": True,
        "description": "the product ids (from drug.products) the request must be for",
    }

    @classmethod
    def parse(cls, data: Any) -> ProductTest:
        return cls(tuple(data))

    def reads_products(self) -> bool:
        return True

    def product_refs(self) -> list[tuple[tuple, str]]:
        return [((i,), pid) for i, pid in enumerate(self.products)]

    def dump(self) -> object:
        return list(self.products)

    def fields(self) -> list[str]:
        return ["drug"]

    def rego(self) -> str:
        return call("requested_product", REQUESTED_PRODUCTS, regotext.block(frozenset(self.products), 1))

    def describe(self) -> str:
        return f"the product requested is {_or(self.products)}"

    # The product is the order's drug (its identifiers and strength): the Questionnaire is
    # for one drug and the request it fills carries that drug, so there is nothing to ask.

    @classmethod
    def questions(cls, a: Asking) -> list[dict]:
        return []

    @classmethod
    def fill(cls, key: str, tests: Sequence[Kind], answers: Answers, request: Filling) -> None:
        return None  # the request already names the order's drug


# --- helpers shared by several kinds ----------------------------------------------------------------


def _value_set_issue(vid: str, value_sets: Collection[str]) -> list[tuple[tuple, str]]:
    if vid in value_sets:
        return []
    hint = difflib.get_close_matches(vid, list(value_sets), n=1)
    tip = (
        f"; did you mean '{hint[0]}'?"
        if hint
        else (f"; defined value sets: {', '.join(sorted(value_sets))}" if value_sets else "; no value_sets are defined")
    )
    return [(("value_set",), f"refers to undefined value set '{vid}'{tip}")]


def _therapy_questions(a: Asking, *, prior: bool, dated: bool = False) -> list[dict]:
    """The items asking for a therapy list; start and end dates when a test counts a trial's
    length (min_days) or `dated` (a lab anchored to the start of a therapy)."""
    key = a.key
    sets = list({v.id: v for v in (a.value_set(t.value_set) for t in a.tests if t.value_set is not None)}.values())
    listed = (
        "; ".join(
            f"{v.id.replace('_', ' ')}: " + ", ".join([*v.agents, *(f"class {c}" for c in v.classes)]) for v in sets
        )
        or "any therapy"
    )
    classes = [c for v in sets for c in v.classes]
    what = "prior therapy" if prior else "concurrent therapy"
    ask = (
        f"Has the patient had any {what} for this condition?"
        if prior
        else "Is the patient taking any other therapy concurrently?"
    )
    any_item = {
        "linkId": f"{key}.any",
        "text": f"{ask}{a.scope} The policy counts: {listed}. Answer No only if there is none. {a.policy}{a.note}",
        "type": "boolean",
        "required": a.required,
        **a.enable,
    }
    children = [
        {"linkId": f"{key}.agent", "text": "Agent (drug or regimen name)", "type": "string", "required": True},
        {
            "linkId": f"{key}.class",
            "text": "Therapy class",
            "type": "choice",
            "answerOption": options(a.system("therapy_class"), [*classes, OTHER]),
        },
    ]
    if prior:
        children.append(
            {
                "linkId": f"{key}.result",
                "text": "Result",
                "type": "choice",
                "required": True,
                "answerOption": options(a.system("therapy_result"), THERAPY_RESULTS),
            }
        )
        if dated or any(getattr(t, "min_days", None) or getattr(t, "min_months", None) for t in a.tests):
            children.append({"linkId": f"{key}.start_date", "text": "Date started", "type": "date", "required": True})
            children.append(
                {"linkId": f"{key}.end_date", "text": "Date ended (leave empty while ongoing)", "type": "date"}
            )
        dose_units = list(dict.fromkeys(u for t in a.tests if (u := getattr(t, "dose_unit", None))))
        if dose_units:
            choices = [{"valueCoding": unit_coding(u)} for u in dose_units]
            children.append(
                {"linkId": f"{key}.dose_amount", "text": "Dose taken (amount each time)", "type": "decimal"}
            )
            children.append(
                {
                    "linkId": f"{key}.dose_unit",
                    "text": "Dose unit (UCUM)",
                    "type": "choice",
                    "answerOption": choices,
                    "initial": [choices[0]],
                }
            )
            children.append(
                {
                    "linkId": f"{key}.dose_every_days",
                    "text": "One dose every ... days (leave empty for once daily)",
                    "type": "decimal",
                }
            )
    group = {
        "linkId": key,
        "text": f"Each {what} (one entry per agent)",
        "type": "group",
        "repeats": True,
        "enableWhen": [{"question": f"{key}.any", "operator": "=", "answerBoolean": True}],
        "item": children,
    }
    return [any_item, group]


# --- the registry, as the rest of the package reads it ----------------------------------------------


def kind_of(test: Kind) -> type[Kind]:
    """The registered kind of a test."""
    return KINDS[test.key]


def _set_at(schema: dict, path: str, fragment: dict) -> None:
    node = schema
    for part in path.split("."):
        node = node.setdefault("properties", {}).setdefault(part, {"type": "object"})
    node.clear()
    node.update(copy.deepcopy(fragment))


def assemble_spec_schema(schema: dict) -> dict:
    """`schema` (the policy-spec JSON Schema) with every criterion schema's kind properties
    set from the registry: `text`, `note` and `question` first, then the kinds in registry order, then
    whatever else the criterion allows (the combinators). Returns a new dict."""
    out = copy.deepcopy(schema)
    criterion_schemas = [out["properties"]["criteria"]["additionalProperties"]]
    earlier = out["properties"].get("earlier_versions", {}).get("items", {}).get("properties", {})
    if "criteria" in earlier:
        criterion_schemas.append(earlier["criteria"]["additionalProperties"])
    for criterion in criterion_schemas:
        props = criterion["properties"]
        head = {k: props[k] for k in ("text", "note", "question", "documentation") if k in props}
        kinds = {key: copy.deepcopy(cls.schema) for key, cls in KINDS.items()}
        # The combinators' properties stay; any other (a kind no longer registered) goes.
        rest = {k: v for k, v in props.items() if k in _COMBINATOR_KEYS}
        criterion["properties"] = {**head, **kinds, **rest}
    return out


_COMBINATOR_KEYS = frozenset({"all_of", "any_of", "at_least", "when", "then", "not"})


def assemble_request_schema(schema: dict) -> dict:
    """`schema` (the PA request JSON Schema) with the schema of every fact a kind reads set
    from the registry at its path. Returns a new dict."""
    out = copy.deepcopy(schema)
    for cls in KINDS.values():
        for path, fragment in cls.request_schema.items():
            _set_at(out, path, fragment)
    return out


SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
_ASSEMBLERS: dict[str, Callable[[dict], dict]] = {
    "policy-spec.schema.json": assemble_spec_schema,
    "pa-request.schema.json": assemble_request_schema,
}


def schema_texts(folder: Path = SCHEMAS) -> dict[str, str]:
    """{file name: text}: the spec and request schemas in `folder` with their kind parts as
    the registry declares them, laid out as the files are (JSON, two-space indent)."""
    out = {}
    for name, assemble in _ASSEMBLERS.items():
        schema = json.loads((folder / name).read_text(encoding="utf-8"))
        out[name] = json.dumps(assemble(schema), indent=2, ensure_ascii=False)
    return out


if __name__ == "__main__":
    # `python -m rxrego.spec.kinds`: rewrite the schema files after changing a kind. The
    # registry is the imported module's (kinds in other modules register there, not here).
    import importlib

    importlib.import_module("rxrego.spec.model")  # imports every module that registers kinds
    _registry = importlib.import_module("rxrego.spec.kinds")
    for file_name, text in _registry.schema_texts().items():
        path = SCHEMAS / file_name
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
