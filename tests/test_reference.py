"""The reference evaluator against docs/semantics.md, case by case.

Expected values are written out by hand from the doc, never computed by the code under test.
Small specs are built from dicts here; the real one is the Besponsa policy.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from fractions import Fraction
from importlib import resources

import jsonschema
import pytest
import yaml

from rxrego.reference import decide, decide_policy, statuses
from rxrego.reference.facts import add_months, age_in_years, as_number, lower, parse_date
from rxrego.spec.dump import content_version
from rxrego.spec.loader import from_data, load_specs
from rxrego.spec.model import PolicySpec
from rxrego.spec.yamlsource import parse

# --- building specs and requests ----------------------------------------------------------

VALUE_SETS = {"tki": {"description": "TKIs", "agents": ["imatinib", "Dasatinib"], "classes": ["tki"]}}


def make_spec(
    criteria: dict,
    root: list[str],
    *,
    indication: str | None = None,
    duration: int = 3,
    renewal: list[str] | None = None,
    spec_id: str = "test-1",
    drug: dict | None = None,
) -> PolicySpec:
    """A spec from a dict: `criteria` maps id -> test (text added), `root` is the initial all_of."""
    requirements = {"initial": {"title": "Initial requirements", "duration_months": duration, "all_of": root}}
    if renewal:
        requirements["renewal"] = {"title": "Renewal requirements", "duration_months": 6, "all_of": renewal}
    data = {
        "schema_version": 1,
        "id": spec_id,
        "number": "T-1",
        "title": "Testra",
        "section": "Tests",
        "effective_date": "2026-01-01",
        "drug": drug or {"brand": "Testra", "generic": "testamab", "hcpcs": ["J0001"], "ndc": ["12345-6789-01"]},
        "coverage": {
            "medically_necessary": "Testra is necessary when...",
            "investigational": "Testra is investigational otherwise.",
            "indication": indication or root[0],
        },
        "value_sets": VALUE_SETS,
        "criteria": {cid: {"text": f"text of {cid}", **test} for cid, test in criteria.items()},
        "requirements": requirements,
    }
    return from_data(parse(yaml.safe_dump(data, sort_keys=False), "<test>"))


@functools.cache
def _leaf_spec(criterion_json: str) -> PolicySpec:
    return make_spec({"x": json.loads(criterion_json)}, ["x"])


def leaf_status(criterion: dict, facts: dict, dos: str = "2026-05-10") -> str:
    """The internal status of a one-criterion spec's criterion `x` for a request with `facts`."""
    request = {"request_type": "initial", "date_of_service": dos, "drug": {"hcpcs": "J0001"}, **facts}
    # No sort_keys: key order is meaningful (diagnosis biomarkers are listed in spec order).
    return statuses(_leaf_spec(json.dumps(criterion)), request, "initial")["x"]


DELETE = object()


def edit(base: dict, changes: dict) -> dict:
    """A deep copy of `base` with dotted paths set (or removed with DELETE)."""
    out = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return out


(BESPONSA,) = [s for s in load_specs(["policy_source"]) if s.id == "fep-5.21.100"]
BESPONSA_ID = "fep-5.21.100"
INVESTIGATIONAL_TEXT = "Besponsa may be considered investigational for all other indications."

APPROVABLE = {
    "request_id": "req-1",
    "request_type": "initial",
    "date_of_service": "2026-05-01",
    "drug": {"hcpcs": "J9229"},
    "patient": {"birth_date": "1980-06-15"},
    "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}],
    "biomarkers": {"CD22": "positive", "philadelphia_chromosome": "negative"},
    "prescriber": {
        "attestations": {"liver_tests_each_dose": True, "vod_monitoring": True, "no_alkylating_hsct_conditioning": True}
    },
}
PH_POSITIVE_ADULT = edit(APPROVABLE, {"biomarkers.philadelphia_chromosome": "positive"})
FAILED_BOTH = [
    {"agent": "imatinib", "result": "failed"},
    {"agent": "hyper-CVAD", "class": "standard_chemotherapy", "result": "failed"},
]


def ids(entries: list[dict]) -> list[str]:
    return [e["id"] for e in entries]


# --- facts: dates, ages, months, numbers, text ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("2026-04-31", False),
        ("2026-13-01", False),
        ("2026-00-10", False),
        ("1900-01-01", True),
        ("1899-12-31", False),
        ("2199-12-31", True),
        ("2200-01-01", False),
        ("2026-5-10", False),
        ("2026-05-10\n", False),
        (" 2026-05-10", False),
        ("\uff12\uff10\uff12\uff16-05-10", False),
        ("2026-05-10T00:00", False),
        (20260510, False),
        (None, False),
    ],
)
def test_parse_date(text: object, valid: bool) -> None:
    assert (parse_date(text) is not None) is valid


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        ("2025-05-10", "2026-05-09", 0),
        ("2025-05-10", "2026-05-10", 1),
        ("2025-05-10", "2026-05-11", 1),
        ("2024-02-29", "2025-02-28", 0),
        ("2024-02-29", "2025-03-01", 1),
        ("2024-02-29", "2028-02-29", 4),
        ("2024-02-29", "2028-02-28", 3),
        ("2023-03-01", "2024-02-29", 0),
        ("2000-12-31", "2026-01-01", 25),
    ],
)
def test_age_in_years(birth: str, on: str, years: int) -> None:
    assert age_in_years(dt.date.fromisoformat(birth), dt.date.fromisoformat(on)) == years


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2026-11-30", 3, "2027-02-28"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2027-11-30", 3, "2028-02-29"),
        ("2026-05-01", 3, "2026-08-01"),
        ("2026-12-15", 1, "2027-01-15"),
        ("2026-08-31", 1, "2026-09-30"),
        ("2026-03-31", 120, "2036-03-31"),
        ("2026-10-31", 6, "2027-04-30"),
    ],
)
def test_add_months(start: str, months: int, end: str) -> None:
    assert add_months(dt.date.fromisoformat(start), months).isoformat() == end


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1, Fraction(1)),
        (0.1, Fraction(1, 10)),
        (-0.0, Fraction(0)),
        (1e300, Fraction(10) ** 300),
        (True, None),
        (False, None),
        ("1", None),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
    ],
)
def test_as_number(value: object, number: Fraction | None) -> None:
    assert as_number(value) == number


@pytest.mark.parametrize(("text", "folded"), [("ONCOLOGY", "oncology"), ("\u0130", "i"), ("ΟΔΟΣ", "οδοσ")])
def test_lower_is_per_character(text: str, folded: str) -> None:
    assert lower(text) == folded


# --- combinators: attestations a, b, c are leaves whose status the request sets --------------

AS_FACT = {"met": True, "unmet": False, "unknown": None, "invalid": "yes"}
COMBINATORS = make_spec(
    {
        "a": {"attestation": "a"},
        "b": {"attestation": "b"},
        "c": {"attestation": "c"},
        "both": {"all_of": ["a", "b"]},
        "either": {"any_of": ["a", "b"]},
        "two": {"at_least": {"n": 2, "of": ["a", "b", "c"]}},
        "cond": {"when": ["a"], "then": ["b"]},
    },
    ["both", "either", "two", "cond"],
)


def combinator_statuses(a: str, b: str, c: str = "unmet") -> dict[str, str]:
    attestations = {"a": AS_FACT[a], "b": AS_FACT[b], "c": AS_FACT[c]}
    request = {
        "request_type": "initial",
        "date_of_service": "2026-05-10",
        "drug": {"hcpcs": "J0001"},
        "prescriber": {"attestations": attestations},
    }
    return statuses(COMBINATORS, request, "initial")


TWO_INPUT_TABLE = """
    a        b        all_of   any_of   when_a_then_b
    met      met      met      met      met
    met      unmet    unmet    met      unmet
    met      unknown  unknown  met      unknown
    met      invalid  invalid  met      invalid
    unmet    met      unmet    met      met
    unmet    unmet    unmet    unmet    met
    unmet    unknown  unmet    unknown  met
    unmet    invalid  unmet    invalid  met
    unknown  met      unknown  met      met
    unknown  unmet    unmet    unknown  unknown
    unknown  unknown  unknown  unknown  unknown
    unknown  invalid  invalid  unknown  unknown
    invalid  met      invalid  met      invalid
    invalid  unmet    unmet    invalid  invalid
    invalid  unknown  invalid  unknown  invalid
    invalid  invalid  invalid  invalid  invalid
"""
TWO_INPUT_ROWS = [tuple(line.split()) for line in TWO_INPUT_TABLE.strip().splitlines()[1:]]


@pytest.mark.parametrize(("a", "b", "all_of", "any_of", "cond"), TWO_INPUT_ROWS)
def test_two_input_combinators(a: str, b: str, all_of: str, any_of: str, cond: str) -> None:
    got = combinator_statuses(a, b)
    assert (got["a"], got["b"]) == (a, b)
    assert (got["both"], got["either"], got["cond"]) == (all_of, any_of, cond)


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        ("met", "met", "unmet", "met"),
        ("met", "invalid", "met", "met"),
        ("met", "unknown", "unmet", "unknown"),
        ("met", "invalid", "unknown", "unknown"),
        ("unknown", "unknown", "invalid", "unknown"),
        ("met", "invalid", "unmet", "invalid"),
        ("invalid", "invalid", "unknown", "invalid"),
        ("met", "unmet", "unmet", "unmet"),
        ("unknown", "unmet", "unmet", "unmet"),
    ],
)
def test_at_least_two_of_three(a: str, b: str, c: str, expected: str) -> None:
    assert combinator_statuses(a, b, c)["two"] == expected


# --- leaf tests -------------------------------------------------------------------------------

AGE = {"age": {"min_years": 1, "max_years": 65}}
PH = {"biomarker": {"name": "philadelphia_chromosome", "values": ["positive"]}}
ATTEST = {"attestation": "vod_monitoring"}
NO_PROGRESSION = {"clinical_status": {"name": "progression", "required": False}}
PROGRESSION = {"clinical_status": {"name": "progression", "required": True}}
SPECIALTY = {"prescriber_specialty": ["oncology", "hematology"]}
DIAGNOSIS = {
    "diagnosis": {
        "icd10": ["C91.0"],
        "qualifiers": {"lineage": ["b_cell_precursor"], "disease_status": ["relapsed", "refractory"]},
        "biomarkers": {"CD22": ["positive"]},
    }
}
PRIOR = {"prior_therapy": {"value_set": "tki", "at_least": 2, "results": ["failed", "intolerant"]}}
PRIOR_DEFAULTS = {"prior_therapy": {"value_set": "tki"}}
CONCURRENT = {"concurrent_therapy_excluded": {"value_set": "tki"}}
LAB = {
    "lab": {
        "name": "anc",
        "comparison": ">=",
        "value": 1.5,
        "unit": "10^9/L",
        "within_days": 30,
        "plausible": {"min": 0, "max": 100},
    }
}
# the absolute neutrophil count by its LOINC code (751-8)
LAB_LOINC = {"lab": {**LAB["lab"], "loinc": ["751-8"]}}
ULN_LAB = {
    "lab": {
        "name": "alt",
        "comparison": "<",
        "times_uln": 3,
        "unit": "U/L",
        "plausible": {"min": 0, "max": 20000},
        "uln_plausible": {"min": 10, "max": 200},
    }
}
QUANTITY = {"quantity_limit": {"max_units": 4, "per_days": 28}}
SEX = {"sex": {"allowed": ["female"]}}
SEX_OTHER = {"sex": {"allowed": ["female", "other"]}}
QUANTITY_DECIMAL = {"quantity_limit": {"max_units": 0.3, "per_days": 3}}

DX = {"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}
CD22 = {"biomarkers": {"CD22": "positive"}}


def dx(**changes: object) -> dict:
    return {k: v for k, v in {**DX, **changes}.items() if v is not DELETE}


def lab(value: object = 2, unit: object = "10^9/L", date: object = "2026-05-01", name: object = "anc") -> dict:
    return {"name": name, "value": value, "unit": unit, "date": date}


def therapy(agent: object, result: object = DELETE, **extra: object) -> dict:
    entry = {"agent": agent, "result": result, **extra}
    return {k: v for k, v in entry.items() if v is not DELETE}


LEAF_CASES = [
    # age 1..65 at 2026-05-10
    ("age first birthday", AGE, {"patient": {"birth_date": "2025-05-10"}}, "met"),
    ("age day before first birthday", AGE, {"patient": {"birth_date": "2025-05-11"}}, "unmet"),
    ("age day after first birthday", AGE, {"patient": {"birth_date": "2025-05-09"}}, "met"),
    ("age 65 on the day before 66", AGE, {"patient": {"birth_date": "1960-05-11"}}, "met"),
    ("age 66 on the birthday", AGE, {"patient": {"birth_date": "1960-05-10"}}, "unmet"),
    ("age born today", AGE, {"patient": {"birth_date": "2026-05-10"}}, "unmet"),
    ("age no patient", AGE, {}, "unknown"),
    ("age no birth date", AGE, {"patient": {}}, "unknown"),
    ("age null birth date", AGE, {"patient": {"birth_date": None}}, "unknown"),
    ("age patient not an object", AGE, {"patient": "x"}, "invalid"),
    ("age impossible date", AGE, {"patient": {"birth_date": "2000-02-30"}}, "invalid"),
    ("age not a date", AGE, {"patient": {"birth_date": "10/05/2000"}}, "invalid"),
    ("age number", AGE, {"patient": {"birth_date": 20000510}}, "invalid"),
    ("age born after service", AGE, {"patient": {"birth_date": "2026-05-11"}}, "invalid"),
    ("age year 1899", AGE, {"patient": {"birth_date": "1899-12-31"}}, "invalid"),
    # biomarker
    ("biomarker positive", PH, {"biomarkers": {"philadelphia_chromosome": "positive"}}, "met"),
    ("biomarker negative", PH, {"biomarkers": {"philadelphia_chromosome": "negative"}}, "unmet"),
    ("biomarker unknown", PH, {"biomarkers": {"philadelphia_chromosome": "unknown"}}, "unknown"),
    ("biomarker null", PH, {"biomarkers": {"philadelphia_chromosome": None}}, "unknown"),
    ("biomarker absent", PH, {"biomarkers": {"CD22": "positive"}}, "unknown"),
    ("biomarker capitalised", PH, {"biomarkers": {"philadelphia_chromosome": "Positive"}}, "invalid"),
    ("biomarker boolean", PH, {"biomarkers": {"philadelphia_chromosome": True}}, "invalid"),
    ("biomarkers a list", PH, {"biomarkers": ["philadelphia_chromosome"]}, "invalid"),
    # administrative sex (FHIR AdministrativeGender)
    ("sex accepted", SEX, {"patient": {"sex": "female"}}, "met"),
    ("sex one of two accepted", SEX_OTHER, {"patient": {"sex": "other"}}, "met"),
    ("sex another code", SEX, {"patient": {"sex": "male"}}, "unmet"),
    ("sex other", SEX, {"patient": {"sex": "other"}}, "unmet"),
    ("sex unknown code", SEX, {"patient": {"sex": "unknown"}}, "unknown"),
    ("sex null", SEX, {"patient": {"sex": None}}, "unknown"),
    ("sex absent", SEX, {"patient": {"birth_date": "1980-01-01"}}, "unknown"),
    ("sex no patient", SEX, {}, "unknown"),
    ("sex capitalised", SEX, {"patient": {"sex": "Female"}}, "invalid"),
    ("sex letter", SEX, {"patient": {"sex": "F"}}, "invalid"),
    ("sex empty", SEX, {"patient": {"sex": ""}}, "invalid"),
    ("sex boolean", SEX, {"patient": {"sex": True}}, "invalid"),
    ("sex a list", SEX, {"patient": {"sex": ["female"]}}, "invalid"),
    ("sex a coding", SEX, {"patient": {"sex": {"code": "female"}}}, "invalid"),
    ("sex patient not an object", SEX, {"patient": "female"}, "invalid"),
    # attestation
    ("attestation true", ATTEST, {"prescriber": {"attestations": {"vod_monitoring": True}}}, "met"),
    ("attestation false", ATTEST, {"prescriber": {"attestations": {"vod_monitoring": False}}}, "unmet"),
    ("attestation null", ATTEST, {"prescriber": {"attestations": {"vod_monitoring": None}}}, "unknown"),
    ("attestation no prescriber", ATTEST, {}, "unknown"),
    ("attestation string", ATTEST, {"prescriber": {"attestations": {"vod_monitoring": "true"}}}, "invalid"),
    ("attestation one", ATTEST, {"prescriber": {"attestations": {"vod_monitoring": 1}}}, "invalid"),
    ("attestations a list", ATTEST, {"prescriber": {"attestations": []}}, "invalid"),
    # clinical status
    ("status required false, false", NO_PROGRESSION, {"clinical_status": {"progression": False}}, "met"),
    ("status required false, true", NO_PROGRESSION, {"clinical_status": {"progression": True}}, "unmet"),
    ("status required true, true", PROGRESSION, {"clinical_status": {"progression": True}}, "met"),
    ("status required true, false", PROGRESSION, {"clinical_status": {"progression": False}}, "unmet"),
    ("status null", NO_PROGRESSION, {"clinical_status": {"progression": None}}, "unknown"),
    ("status absent", NO_PROGRESSION, {"clinical_status": {}}, "unknown"),
    ("status zero", NO_PROGRESSION, {"clinical_status": {"progression": 0}}, "invalid"),
    ("status string", NO_PROGRESSION, {"clinical_status": "stable"}, "invalid"),
    # prescriber specialty
    ("specialty listed", SPECIALTY, {"prescriber": {"specialty": "oncology"}}, "met"),
    ("specialty other case", SPECIALTY, {"prescriber": {"specialty": "HemaTology"}}, "met"),
    ("specialty other", SPECIALTY, {"prescriber": {"specialty": "cardiology"}}, "unmet"),
    ("specialty padded", SPECIALTY, {"prescriber": {"specialty": " oncology"}}, "unmet"),
    ("specialty absent", SPECIALTY, {"prescriber": {}}, "unknown"),
    ("specialty a list", SPECIALTY, {"prescriber": {"specialty": ["oncology"]}}, "invalid"),
    ("prescriber a string", SPECIALTY, {"prescriber": "dr"}, "invalid"),
    # diagnosis (CD22 positive unless the case says otherwise)
    ("dx matches", DIAGNOSIS, {**CD22, "diagnoses": [dx()]}, "met"),
    (
        "dx code spaced lower case",
        DIAGNOSIS,
        {**CD22, "diagnoses": [dx(code="c91 02")]},
        "invalid",
    ),  # not of ICD-10-CM form
    ("dx code lower case", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="c91.02")]}, "met"),
    ("dx code without dot", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="C9100")]}, "met"),
    ("dx qualifier other case", DIAGNOSIS, {**CD22, "diagnoses": [dx(lineage="B_Cell_Precursor")]}, "met"),
    ("dx other code", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="C92.00")]}, "unmet"),
    ("dx code shorter than prefix", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="C91")]}, "unmet"),
    ("dx other lineage", DIAGNOSIS, {**CD22, "diagnoses": [dx(lineage="t_cell")]}, "unmet"),
    ("dx no code", DIAGNOSIS, {**CD22, "diagnoses": [dx(code=DELETE)]}, "unknown"),
    ("dx null code", DIAGNOSIS, {**CD22, "diagnoses": [dx(code=None)]}, "unknown"),
    ("dx no qualifier", DIAGNOSIS, {**CD22, "diagnoses": [dx(disease_status=DELETE)]}, "unknown"),
    ("dx numeric code", DIAGNOSIS, {**CD22, "diagnoses": [dx(code=9102)]}, "invalid"),
    ("dx numeric qualifier", DIAGNOSIS, {**CD22, "diagnoses": [dx(lineage=5)]}, "invalid"),
    ("dx entry a string", DIAGNOSIS, {**CD22, "diagnoses": ["C91.02"]}, "invalid"),
    ("dx entry null", DIAGNOSIS, {**CD22, "diagnoses": [None]}, "invalid"),
    ("dx empty list", DIAGNOSIS, {**CD22, "diagnoses": []}, "unmet"),
    ("dx absent", DIAGNOSIS, {**CD22}, "unknown"),
    ("dx not a list", DIAGNOSIS, {**CD22, "diagnoses": {"code": "C91.02"}}, "invalid"),
    ("dx unmet or met", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="C92.0"), dx()]}, "met"),
    ("dx unmet or unknown", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="C92.0"), dx(code=None)]}, "unknown"),
    ("dx unmet or invalid", DIAGNOSIS, {**CD22, "diagnoses": [dx(code="C92.0"), 7]}, "invalid"),
    ("dx invalid or unknown", DIAGNOSIS, {**CD22, "diagnoses": [7, dx(code=None)]}, "unknown"),
    ("dx CD22 negative", DIAGNOSIS, {"biomarkers": {"CD22": "negative"}, "diagnoses": [dx()]}, "unmet"),
    ("dx CD22 unknown", DIAGNOSIS, {"biomarkers": {"CD22": "unknown"}, "diagnoses": [dx()]}, "unknown"),
    ("dx CD22 absent", DIAGNOSIS, {"diagnoses": [dx()]}, "unknown"),
    ("dx CD22 malformed", DIAGNOSIS, {"biomarkers": {"CD22": "pos"}, "diagnoses": [dx()]}, "invalid"),
    ("dx unmet and CD22 unknown", DIAGNOSIS, {"diagnoses": [dx(code="C92.0")]}, "unmet"),
    ("dx unknown and CD22 malformed", DIAGNOSIS, {"biomarkers": {"CD22": 1}}, "invalid"),
    # prior therapy: 2 distinct agents of {imatinib, dasatinib | class tki}, failed or intolerant
    (
        "prior two agents",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib", "intolerant")]},
        "met",
    ),
    (
        "prior agent case and class",
        PRIOR,
        {"prior_therapies": [therapy("IMATINIB", "failed"), therapy("newtinib", "failed", **{"class": "tki"})]},
        "met",
    ),
    (
        "prior one agent twice",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("Imatinib", "failed")]},
        "unmet",
    ),
    (
        "prior result not listed",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib", "ongoing")]},
        "unmet",
    ),
    (
        "prior result case",
        PRIOR,
        # a result outside the closed list is malformed (docs/semantics.md, "Prior therapy")
        {"prior_therapies": [therapy("imatinib", "FAILED"), therapy("dasatinib", "failed")]},
        "invalid",
    ),
    (
        "prior class case",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("newtinib", "failed", **{"class": "TKI"})]},
        "unmet",
    ),
    (
        "prior not in set",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("aspirin", "failed")]},
        "unmet",
    ),
    (
        "prior result absent",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib")]},
        "unknown",
    ),
    (
        "prior result null",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib", None)]},
        "unknown",
    ),
    (
        "prior same agent unknown",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("imatinib")]},
        "unmet",
    ),
    ("prior none", PRIOR, {"prior_therapies": []}, "unmet"),
    ("prior absent", PRIOR, {}, "unknown"),
    ("prior not a list", PRIOR, {"prior_therapies": "imatinib"}, "invalid"),
    ("prior unmet with malformed", PRIOR, {"prior_therapies": [therapy("imatinib", "failed"), 5]}, "invalid"),
    (
        "prior unmet with bad result",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib", 7)]},
        "invalid",
    ),
    (
        "prior malformed never counts",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib", "failed", **{"class": 3})]},
        "invalid",
    ),
    (
        "prior no agent",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), {"class": "tki", "result": "failed"}]},
        "invalid",
    ),
    (
        "prior met despite malformed",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib", "failed"), "junk"]},
        "met",
    ),
    (
        "prior unknown despite malformed",
        PRIOR,
        {"prior_therapies": [therapy("imatinib", "failed"), therapy("dasatinib"), "junk"]},
        "unknown",
    ),
    ("prior defaults: failed", PRIOR_DEFAULTS, {"prior_therapies": [therapy("dasatinib", "failed")]}, "met"),
    ("prior defaults: intolerant", PRIOR_DEFAULTS, {"prior_therapies": [therapy("dasatinib", "intolerant")]}, "unmet"),
    # concurrent therapy excluded
    ("concurrent none", CONCURRENT, {"concurrent_therapies": []}, "met"),
    ("concurrent other agent", CONCURRENT, {"concurrent_therapies": [{"agent": "aspirin"}]}, "met"),
    ("concurrent agent of set", CONCURRENT, {"concurrent_therapies": [{"agent": "DASATINIB"}]}, "unmet"),
    ("concurrent class of set", CONCURRENT, {"concurrent_therapies": [{"agent": "x", "class": "tki"}]}, "unmet"),
    ("concurrent match beats malformed", CONCURRENT, {"concurrent_therapies": [{"agent": "imatinib"}, 5]}, "unmet"),
    ("concurrent malformed entry", CONCURRENT, {"concurrent_therapies": [{"agent": "aspirin"}, 5]}, "invalid"),
    ("concurrent malformed class", CONCURRENT, {"concurrent_therapies": [{"agent": "aspirin", "class": 4}]}, "invalid"),
    ("concurrent absent", CONCURRENT, {}, "unknown"),
    ("concurrent not a list", CONCURRENT, {"concurrent_therapies": {"agent": "aspirin"}}, "invalid"),
    # lab: anc >= 1.5 10^9/L within 30 days of 2026-05-10
    ("lab above", LAB, {"labs": [lab(2)]}, "met"),
    ("lab at threshold", LAB, {"labs": [lab(1.5)]}, "met"),
    ("lab below", LAB, {"labs": [lab(1.4)]}, "unmet"),
    ("lab name and unit case", LAB, {"labs": [lab(2, unit="10^9/l", name="ANC")]}, "met"),
    ("lab 30 days old", LAB, {"labs": [lab(2, date="2026-04-10")]}, "met"),
    ("lab 31 days old", LAB, {"labs": [lab(2, date="2026-04-09")]}, "unmet"),
    ("lab on the day of service", LAB, {"labs": [lab(2, date="2026-05-10")]}, "met"),
    ("lab latest wins, good", LAB, {"labs": [lab(1.0, date="2026-05-01"), lab(2, date="2026-05-05")]}, "met"),
    ("lab latest wins, bad", LAB, {"labs": [lab(2, date="2026-05-05"), lab(1.0, date="2026-05-08")]}, "unmet"),
    ("lab same day, one bad", LAB, {"labs": [lab(2), lab(1.0)]}, "unmet"),
    ("lab same day, both good", LAB, {"labs": [lab(2), lab(1.6)]}, "met"),
    (
        "lab later unreadable is unknown",
        LAB,
        {"labs": [lab(2), lab("x", date="2026-05-08")]},
        "unknown",
    ),  # never skipped
    # dated after the date of service: the request contradicts itself, never passed over
    ("lab result after the date of service", LAB, {"labs": [lab(2), lab(1.0, date="2026-05-11")]}, "invalid"),
    ("lab only future", LAB, {"labs": [lab(2, date="2026-05-11")]}, "invalid"),
    (
        "lab result before the birth",
        LAB,
        {"patient": {"birth_date": "2026-01-01"}, "labs": [lab(2), lab(1.0, date="2025-12-31")]},
        "invalid",
    ),
    (
        "lab ULN in the range's unit",
        ULN_LAB,
        {"labs": [lab(100, "U/L", name="alt") | {"reference_range": {"high": 0.04, "unit": "kU/L"}}]},
        "met",
    ),
    (
        "lab ULN not in the spec's uln_plausible",
        ULN_LAB,
        {"labs": [lab(5, "U/L", name="alt") | {"reference_range": {"high": 1e-6}}]},
        "invalid",
    ),
    (
        "lab ULN with low above high",
        ULN_LAB,
        {"labs": [lab(5, "U/L", name="alt") | {"reference_range": {"low": 60, "high": 40}}]},
        "invalid",
    ),
    ("lab dated by a FHIR dateTime", LAB, {"labs": [lab(1.0), lab(2, date="2026-05-02T09:00:00+09:00")]}, "met"),
    ("lab dateTime without an offset", LAB, {"labs": [lab(2, date="2026-05-02T09:00")]}, "met"),
    ("lab dateTime with an impossible hour", LAB, {"labs": [lab(2, date="2026-05-02T24:00:00Z")]}, "invalid"),
    (
        "prior therapy after the date of service",
        PRIOR,
        {
            "prior_therapies": [
                {"agent": "imatinib", "result": "failed"},
                {"agent": "dasatinib", "result": "failed", "start_date": "2027-03-01", "end_date": "2027-06-01"},
            ]
        },
        "invalid",
    ),
    (
        "prior therapy before the birth",
        PRIOR,
        {
            "patient": {"birth_date": "2000-01-01"},
            "prior_therapies": [
                {"agent": "imatinib", "result": "failed"},
                {"agent": "dasatinib", "result": "failed", "start_date": "1999-03-01"},
            ],
        },
        "invalid",
    ),
    ("lab value a string", LAB, {"labs": [lab("2")]}, "unknown"),
    ("lab value boolean", LAB, {"labs": [lab(True)]}, "unknown"),
    ("lab other unit", LAB, {"labs": [lab(2, unit="mg/dL")]}, "unknown"),  # not convertible: unreadable
    ("lab bad date", LAB, {"labs": [lab(2, date="2026-02-30")]}, "invalid"),
    ("lab other lab only", LAB, {"labs": [lab(2, name="platelets")]}, "unmet"),
    # an entry that is not an object could be the newest result of the lab
    ("lab non-object entries", LAB, {"labs": [5, "anc"]}, "invalid"),
    ("lab a null entry beside a result", LAB, {"labs": [lab(2), None]}, "invalid"),
    ("lab code trimmed", LAB_LOINC, {"labs": [{**lab(2, name="ANC count"), "code": " 751-8 "}]}, "met"),
    ("lab another lab's LOINC code", LAB_LOINC, {"labs": [{**lab(1.0), "code": "777-3"}]}, "unmet"),
    *(
        (
            f"lab malformed code {code!r}, {who}, {'by LOINC' if spec is LAB_LOINC else 'by name'}",
            spec,
            {"labs": [lab(2), {**lab(1.0, date="2026-05-09", name=name), "code": code}]},
            status,
        )
        for code in ("", "LOINC:751-8", "751-9", 7518)
        for spec in (LAB, LAB_LOINC)
        for who, name, status in (
            ("no name", None, "invalid"),
            ("this name", "ANC", "invalid"),
            ("another name", "platelets", "met"),
        )
    ),
    ("lab none", LAB, {"labs": []}, "unmet"),
    ("lab absent", LAB, {}, "unknown"),
    ("lab not a list", LAB, {"labs": lab(2)}, "invalid"),
    # quantity: at most 4 units per 28 days
    ("quantity at limit", QUANTITY, {"quantity": {"units": 4, "days_supply": 28}}, "met"),
    ("quantity pro-rated at limit", QUANTITY, {"quantity": {"units": 2, "days_supply": 14}}, "met"),
    ("quantity pro-rated over", QUANTITY, {"quantity": {"units": 3, "days_supply": 14}}, "unmet"),
    ("quantity over", QUANTITY, {"quantity": {"units": 5, "days_supply": 28}}, "unmet"),
    ("quantity zero units", QUANTITY, {"quantity": {"units": 0, "days_supply": 1}}, "met"),
    ("quantity whole float days", QUANTITY, {"quantity": {"units": 4.0, "days_supply": 28.0}}, "met"),
    ("quantity exact decimals", QUANTITY_DECIMAL, {"quantity": {"units": 0.1, "days_supply": 1}}, "met"),
    ("quantity exact decimals over", QUANTITY_DECIMAL, {"quantity": {"units": 0.1000001, "days_supply": 1}}, "unmet"),
    ("quantity absent", QUANTITY, {}, "unknown"),
    ("quantity no units", QUANTITY, {"quantity": {"days_supply": 28}}, "unknown"),
    ("quantity null days", QUANTITY, {"quantity": {"units": 4, "days_supply": None}}, "unknown"),
    ("quantity not an object", QUANTITY, {"quantity": 4}, "invalid"),
    ("quantity negative units", QUANTITY, {"quantity": {"units": -1, "days_supply": 28}}, "invalid"),
    ("quantity string units", QUANTITY, {"quantity": {"units": "4", "days_supply": 28}}, "invalid"),
    ("quantity boolean units", QUANTITY, {"quantity": {"units": True, "days_supply": 28}}, "invalid"),
    ("quantity zero days", QUANTITY, {"quantity": {"units": 1, "days_supply": 0}}, "invalid"),
    ("quantity fractional days", QUANTITY, {"quantity": {"units": 1, "days_supply": 1.5}}, "invalid"),
    ("quantity boolean days", QUANTITY, {"quantity": {"units": 1, "days_supply": True}}, "invalid"),
    ("quantity bad units, no days", QUANTITY, {"quantity": {"units": "x"}}, "invalid"),
]


@pytest.mark.parametrize(
    ("criterion", "facts", "expected"), [c[1:] for c in LEAF_CASES], ids=[c[0] for c in LEAF_CASES]
)
def test_leaf(criterion: dict, facts: dict, expected: str) -> None:
    assert leaf_status(criterion, facts) == expected


@pytest.mark.parametrize(
    ("birth", "dos", "expected"),
    [
        ("2024-02-29", "2025-02-28", "unmet"),
        ("2024-02-29", "2025-03-01", "met"),
        ("2023-03-01", "2024-02-29", "unmet"),
        ("2023-02-28", "2024-02-28", "met"),
    ],
)
def test_age_leap_day(birth: str, dos: str, expected: str) -> None:
    assert leaf_status(AGE, {"patient": {"birth_date": birth}}, dos=dos) == expected


# --- missing fields --------------------------------------------------------------------------

FIELD_CASES = [
    (AGE, ["patient.birth_date"]),
    (PH, ["biomarkers.philadelphia_chromosome"]),
    (
        {"diagnosis": {"icd10": ["C91.0"], "biomarkers": {"CD22": ["positive"], "CD19": ["negative"]}}},
        ["diagnoses", "biomarkers.CD22", "biomarkers.CD19"],
    ),
    (PRIOR, ["prior_therapies"]),
    (ATTEST, ["prescriber.attestations.vod_monitoring"]),
    (NO_PROGRESSION, ["clinical_status.progression"]),
    (LAB, ["labs"]),
    (SPECIALTY, ["prescriber.specialty"]),
    (CONCURRENT, ["concurrent_therapies"]),
    (QUANTITY, ["quantity.units", "quantity.days_supply"]),
    (SEX, ["patient.sex"]),
]


@pytest.mark.parametrize(("criterion", "fields"), FIELD_CASES, ids=[next(iter(c)) for c, _ in FIELD_CASES])
def test_missing_fields(criterion: dict, fields: list[str]) -> None:
    spec = _leaf_spec(json.dumps(criterion))
    request = {"request_type": "initial", "date_of_service": "2026-05-10", "drug": {"hcpcs": "J0001"}}
    decision = decide([spec], request)
    assert decision["outcome"] == "pended"
    assert decision["missing"] == [{"id": "x", "text": "text of x", "fields": fields}]


# --- the Besponsa decisions --------------------------------------------------------------------


def test_besponsa_approved() -> None:
    decision = decide([BESPONSA], APPROVABLE)
    assert decision == {
        "outcome": "approved",
        "reason": "criteria_met",
        "request_id": "req-1",
        "request_type": "initial",
        "policy": {
            "id": BESPONSA_ID,
            "number": "5.21.100",
            "title": "Besponsa",
            "effective_date": "2026-04-01",
            "version": content_version(BESPONSA),
        },
        "requirements": "Prior-Approval Requirements",
        "criteria": {
            "age_1_or_older": "met",
            "diagnosis": "met",
            "ph_positive_adult_prior_therapy": "met",
            "age_18_or_older": "met",
            "ph_positive": "unmet",
            "failed_tki": "unknown",
            "failed_standard_chemotherapy": "unknown",
            "liver_tests_each_dose": "met",
            "vod_monitoring": "met",
            "no_alkylating_hsct_conditioning": "met",
        },
        "met": [
            "age_1_or_older",
            "diagnosis",
            "ph_positive_adult_prior_therapy",
            "age_18_or_older",
            "liver_tests_each_dose",
            "vod_monitoring",
            "no_alkylating_hsct_conditioning",
        ],
        "unmet": [],
        "missing": [],
        "approval": {"start": "2026-05-01", "end": "2026-08-01", "duration_months": 3},
    }
    assert content_version(BESPONSA).startswith("sha256:")


def test_ph_positive_adult_unknown_ph_no_tki_is_pended_for_ph_only() -> None:
    request = edit(APPROVABLE, {"biomarkers.philadelphia_chromosome": DELETE, "prior_therapies": []})
    decision = decide([BESPONSA], request)
    assert (decision["outcome"], decision["reason"]) == ("pended", "information_missing")
    assert decision["unmet"] == []
    assert decision["missing"] == [
        {
            "id": "ph_positive",
            "text": "Philadelphia chromosome-positive (Ph+)",
            "fields": ["biomarkers.philadelphia_chromosome"],
        }
    ]
    assert "approval" not in decision


def test_ph_positive_adult_without_prior_therapy_is_denied() -> None:
    decision = decide([BESPONSA], edit(PH_POSITIVE_ADULT, {"prior_therapies": []}))
    assert (decision["outcome"], decision["reason"]) == ("denied", "criteria_unmet")
    assert ids(decision["unmet"]) == ["ph_positive_adult_prior_therapy", "failed_tki", "failed_standard_chemotherapy"]
    assert decision["missing"] == []
    assert "approval" not in decision


def test_ph_positive_adult_with_unknown_results_is_pended_for_both_therapies() -> None:
    therapies = [{"agent": "imatinib"}, {"agent": "hyper-CVAD", "class": "standard_chemotherapy", "result": None}]
    decision = decide([BESPONSA], edit(PH_POSITIVE_ADULT, {"prior_therapies": therapies}))
    assert decision["outcome"] == "pended"
    assert [(m["id"], m["fields"]) for m in decision["missing"]] == [
        ("failed_tki", ["prior_therapies"]),
        ("failed_standard_chemotherapy", ["prior_therapies"]),
    ]


def test_ph_positive_adult_with_one_therapy_not_tried_is_denied() -> None:
    # failed_tki is unknown but the chemotherapy is known not tried: `then` is unmet.
    decision = decide([BESPONSA], edit(PH_POSITIVE_ADULT, {"prior_therapies": [{"agent": "imatinib"}]}))
    assert (decision["outcome"], decision["reason"]) == ("denied", "criteria_unmet")
    assert ids(decision["unmet"]) == ["ph_positive_adult_prior_therapy", "failed_standard_chemotherapy"]
    # failed_tki stays unknown, but no answer can turn the denial into an approval
    assert decision["criteria"]["failed_tki"] == "unknown"
    assert decision["missing"] == []


def test_ph_positive_adult_with_failed_therapies_is_approved() -> None:
    decision = decide([BESPONSA], edit(PH_POSITIVE_ADULT, {"prior_therapies": FAILED_BOTH}))
    assert decision["outcome"] == "approved"
    assert decision["met"] == [
        "age_1_or_older",
        "diagnosis",
        "ph_positive_adult_prior_therapy",
        "age_18_or_older",
        "ph_positive",
        "failed_tki",
        "failed_standard_chemotherapy",
        "liver_tests_each_dose",
        "vod_monitoring",
        "no_alkylating_hsct_conditioning",
    ]


def test_ph_positive_child_needs_no_prior_therapy() -> None:
    child = edit(PH_POSITIVE_ADULT, {"patient.birth_date": "2016-01-01", "prior_therapies": []})
    decision = decide([BESPONSA], child)
    assert decision["outcome"] == "approved"
    assert decision["criteria"]["age_18_or_older"] == "unmet"
    assert decision["criteria"]["ph_positive_adult_prior_therapy"] == "met"


def test_invalid_condition_never_switches_the_requirement_off() -> None:
    # Ph status malformed: the conditional is invalid although both therapies failed.
    request = edit(APPROVABLE, {"biomarkers.philadelphia_chromosome": "maybe", "prior_therapies": FAILED_BOTH})
    decision = decide([BESPONSA], request)
    assert (decision["outcome"], decision["reason"]) == ("denied", "criteria_unmet")
    assert decision["criteria"]["ph_positive"] == "unmet"
    assert statuses(BESPONSA, request, "initial")["ph_positive_adult_prior_therapy"] == "invalid"
    assert ids(decision["unmet"]) == ["ph_positive_adult_prior_therapy"]  # never into `when`


def test_invalid_condition_then_children_on_a_failing_path_are_unmet() -> None:
    request = edit(APPROVABLE, {"biomarkers.philadelphia_chromosome": 1, "prior_therapies": []})
    decision = decide([BESPONSA], request)
    assert ids(decision["unmet"]) == ["ph_positive_adult_prior_therapy", "failed_tki", "failed_standard_chemotherapy"]


@pytest.mark.parametrize(
    ("changes", "unmet"),
    [
        ({"diagnoses": [dx(code="C92.00")]}, ["investigational", "diagnosis"]),
        ({"biomarkers.CD22": "negative"}, ["investigational", "diagnosis"]),
        ({"diagnoses": [dx(disease_status="newly_diagnosed")]}, ["investigational", "diagnosis"]),
        ({"diagnoses": ["C91.02"]}, ["investigational", "diagnosis"]),  # invalid is investigational too
        (
            {"diagnoses": [dx(code="C92.00")], "patient.birth_date": "2026-01-01"},
            ["investigational", "age_1_or_older", "diagnosis"],
        ),
    ],
)
def test_other_indication_is_investigational(changes: dict, unmet: list[str]) -> None:
    decision = decide([BESPONSA], edit(APPROVABLE, changes))
    assert (decision["outcome"], decision["reason"]) == ("denied", "investigational")
    assert ids(decision["unmet"]) == unmet
    assert decision["unmet"][0]["text"] == INVESTIGATIONAL_TEXT


def test_indication_unknown_and_other_unmet_is_criteria_unmet() -> None:
    request = edit(APPROVABLE, {"diagnoses": DELETE, "patient.birth_date": "2026-01-01"})
    decision = decide([BESPONSA], request)
    assert (decision["outcome"], decision["reason"]) == ("denied", "criteria_unmet")
    assert ids(decision["unmet"]) == ["age_1_or_older"]
    # The diagnosis is unknown, but the age already denies: nothing is asked for.
    assert decision["criteria"]["diagnosis"] == "unknown"
    assert decision["missing"] == []


def test_invalid_birth_date_is_shown_unmet() -> None:
    # Born after the date of service: both ages are invalid. Ph-negative, the condition is
    # unmet (all_of: unmet before invalid), so the conditional is met.
    request = edit(APPROVABLE, {"patient.birth_date": "2026-05-02"})
    decision = decide([BESPONSA], request)
    assert (decision["outcome"], decision["reason"]) == ("denied", "criteria_unmet")
    assert decision["criteria"]["age_1_or_older"] == "unmet"
    assert set(decision["criteria"].values()) <= {"met", "unmet", "unknown"}
    assert statuses(BESPONSA, request, "initial")["age_1_or_older"] == "invalid"
    assert decision["criteria"]["ph_positive_adult_prior_therapy"] == "met"
    assert ids(decision["unmet"]) == ["age_1_or_older"]


def test_invalid_age_in_a_condition_keeps_the_requirement() -> None:
    # Ph+, age invalid: the condition is invalid, so is the conditional; prior therapies
    # are unknown (absent) below it, while the `when` age is not "unmet". A denial asks for
    # nothing.
    request = edit(PH_POSITIVE_ADULT, {"patient.birth_date": "2026-05-02"})
    decision = decide([BESPONSA], request)
    assert (decision["outcome"], decision["reason"]) == ("denied", "criteria_unmet")
    assert ids(decision["unmet"]) == ["age_1_or_older", "ph_positive_adult_prior_therapy"]
    assert (decision["criteria"]["failed_tki"], decision["criteria"]["failed_standard_chemotherapy"]) == (
        "unknown",
        "unknown",
    )
    assert decision["missing"] == []


def test_unanswered_attestations_are_missing_in_policy_order() -> None:
    decision = decide([BESPONSA], edit(APPROVABLE, {"prescriber": {}}))
    assert decision["outcome"] == "pended"
    assert [(m["id"], m["fields"]) for m in decision["missing"]] == [
        ("liver_tests_each_dose", ["prescriber.attestations.liver_tests_each_dose"]),
        ("vod_monitoring", ["prescriber.attestations.vod_monitoring"]),
        ("no_alkylating_hsct_conditioning", ["prescriber.attestations.no_alkylating_hsct_conditioning"]),
    ]


def test_denied_request_asks_for_nothing() -> None:
    request = edit(APPROVABLE, {"biomarkers.CD22": "negative", "prescriber.attestations.vod_monitoring": None})
    decision = decide([BESPONSA], request)
    assert decision["reason"] == "investigational"
    assert decision["criteria"]["vod_monitoring"] == "unknown"
    assert decision["missing"] == []


@pytest.mark.parametrize(
    ("status", "outcome", "unmet"),
    [
        ({"disease_progression": False, "unacceptable_toxicity": False}, "approved", []),
        (
            {"disease_progression": True, "unacceptable_toxicity": False},
            "denied",
            ["no_progression_or_toxicity", "no_disease_progression"],
        ),
        ({"disease_progression": False}, "pended", []),
    ],
)
def test_besponsa_renewal(status: dict, outcome: str, unmet: list[str]) -> None:
    request = edit(APPROVABLE, {"request_type": "renewal", "clinical_status": status})
    decision = decide([BESPONSA], request)
    assert decision["outcome"] == outcome
    assert decision["requirements"] == "Prior – Approval Renewal Requirements"
    assert ids(decision["unmet"]) == unmet
    assert "ph_positive" not in decision["criteria"]
    if outcome == "approved":
        assert decision["approval"] == {"start": "2026-05-01", "end": "2026-11-01", "duration_months": 6}
    if outcome == "pended":
        assert ids(decision["missing"]) == ["no_unacceptable_toxicity"]


def test_decide_policy_and_statuses_agree_with_decide() -> None:
    request = edit(PH_POSITIVE_ADULT, {"prior_therapies": []})
    assert decide_policy(BESPONSA, request) == decide([BESPONSA], request)
    assert statuses(BESPONSA, request, "initial") == {
        "age_1_or_older": "met",
        "diagnosis": "met",
        "ph_positive_adult_prior_therapy": "unmet",
        "age_18_or_older": "met",
        "ph_positive": "met",
        "failed_tki": "unmet",
        "failed_standard_chemotherapy": "unmet",
        "liver_tests_each_dose": "met",
        "vod_monitoring": "met",
        "no_alkylating_hsct_conditioning": "met",
    }
    assert list(statuses(BESPONSA, request, "renewal")) == [
        "age_1_or_older",
        "diagnosis",
        "no_progression_or_toxicity",
        "no_disease_progression",
        "no_unacceptable_toxicity",
        "liver_tests_each_dose",
        "vod_monitoring",
        "no_alkylating_hsct_conditioning",
    ]


# --- paths and order on small specs -------------------------------------------------------------

PATHS = make_spec(
    {
        "a": {"attestation": "a"},
        "b": {"attestation": "b"},
        "w": {"attestation": "w"},
        "x": {"attestation": "x"},
        "z": {"attestation": "z"},
        "either": {"any_of": ["a", "b"]},
        "group": {"all_of": ["w", "x"]},
        "early": {"any_of": ["x", "b"]},
    },
    ["either", "z"],
    renewal=["early", "group"],
    indication="z",
)


def paths_decision(request_type: str, **answers: object) -> dict:
    return decide(
        [PATHS],
        {
            "request_type": request_type,
            "date_of_service": "2026-05-10",
            "drug": {"name": "testra"},
            "prescriber": {"attestations": answers},
        },
    )


def test_met_any_of_hides_its_unmet_children() -> None:
    decision = paths_decision("initial", a=True, b=False, z=False)
    assert decision["reason"] == "investigational"
    assert ids(decision["unmet"]) == ["investigational", "z"]
    assert decision["criteria"]["b"] == "unmet"


def test_unmet_any_of_lists_its_unmet_children() -> None:
    decision = paths_decision("initial", a=False, b=False, z=True)
    assert (decision["reason"], ids(decision["unmet"])) == ("criteria_unmet", ["either", "a", "b"])


def test_met_any_of_hides_its_unknown_children() -> None:
    decision = paths_decision("initial", a=True, z=None)
    assert decision["outcome"] == "pended"
    assert ids(decision["missing"]) == ["z"]


BRANCHES = make_spec(
    {
        "b": {"attestation": "b"},
        "w": {"attestation": "w"},
        "x": {"attestation": "x"},
        "group": {"all_of": ["w", "x"]},
        "choice": {"any_of": ["group", "b"]},
    },
    ["choice"],
    indication="choice",
)


def test_pend_does_not_ask_under_an_unmet_branch() -> None:
    # x is false, so `group` is unmet whatever w is: only b can still decide `choice`.
    request = {
        "request_type": "initial",
        "date_of_service": "2026-05-10",
        "drug": {"name": "testra"},
        "prescriber": {"attestations": {"x": False}},
    }
    decision = decide([BRANCHES], request)
    assert (decision["outcome"], decision["unmet"]) == ("pended", [])
    assert decision["criteria"] == {"choice": "unknown", "group": "unmet", "w": "unknown", "x": "unmet", "b": "unknown"}
    assert ids(decision["missing"]) == ["b"]


def test_lists_follow_the_first_appearance_in_the_whole_walk() -> None:
    # x first appears under `early` (met, so not on a failing path there) and fails under
    # `group`; it is listed where it first appears: before `group`.
    decision = paths_decision("renewal", x=False, b=True, w=True)
    assert list(decision["criteria"]) == ["early", "x", "b", "group", "w"]
    assert ids(decision["unmet"]) == ["x", "group"]
    assert decision["met"] == ["early", "b", "w"]


def test_indication_outside_the_set_still_decides_investigational() -> None:
    decision = paths_decision("renewal", x=False, b=True, w=True, z=False)
    assert decision["reason"] == "investigational"
    assert "z" not in decision["criteria"]


MONTHS = {n: make_spec({"x": {"attestation": "x"}}, ["x"], duration=n) for n in (1, 3)}


@pytest.mark.parametrize(
    ("dos", "months", "end"),
    [
        ("2026-11-30", 3, "2027-02-28"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2027-11-30", 3, "2028-02-29"),
        ("2026-02-28", 1, "2026-03-28"),
        ("2199-12-31", 1, "2200-01-31"),
    ],
)
def test_approval_period_clamps_to_month_end(dos: str, months: int, end: str) -> None:
    request = {
        "request_type": "initial",
        "date_of_service": dos,
        "drug": {"hcpcs": "J0001"},
        "prescriber": {"attestations": {"x": True}},
    }
    assert decide([MONTHS[months]], request)["approval"] == {"start": dos, "end": end, "duration_months": months}


# --- envelope ----------------------------------------------------------------------------------

GOOD_ENVELOPE = {"request_type": "initial", "date_of_service": "2026-05-01", "drug": {"hcpcs": "J9229"}}


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        ([], [""]),
        ("request", [""]),
        (None, [""]),
        ({}, ["date_of_service", "drug", "request_type"]),
        (edit(GOOD_ENVELOPE, {"request_type": "INITIAL"}), ["request_type"]),
        (edit(GOOD_ENVELOPE, {"request_type": ["initial"]}), ["request_type"]),
        (edit(GOOD_ENVELOPE, {"request_type": None}), ["request_type"]),
        (edit(GOOD_ENVELOPE, {"date_of_service": "2026-02-29"}), ["date_of_service"]),
        (edit(GOOD_ENVELOPE, {"date_of_service": "2200-01-01"}), ["date_of_service"]),
        (edit(GOOD_ENVELOPE, {"date_of_service": "2026-05-01T10:00:00Z"}), ["date_of_service"]),
        (edit(GOOD_ENVELOPE, {"date_of_service": 20260501}), ["date_of_service"]),
        (edit(GOOD_ENVELOPE, {"drug": "J9229"}), ["drug"]),
        (edit(GOOD_ENVELOPE, {"drug": {}}), ["drug"]),
        (edit(GOOD_ENVELOPE, {"drug": {"hcpcs": None}}), ["drug"]),
        (edit(GOOD_ENVELOPE, {"drug": {"brand": "Besponsa"}}), ["drug"]),
        (edit(GOOD_ENVELOPE, {"drug": {"hcpcs": 9229}}), ["drug.hcpcs"]),
        (edit(GOOD_ENVELOPE, {"drug": {"name": ["Besponsa"], "hcpcs": "J9229"}}), ["drug.name"]),
        (edit(GOOD_ENVELOPE, {"drug": {"hcpcs": 1, "ndc": 2, "name": "Besponsa"}}), ["drug.hcpcs", "drug.ndc"]),
        ({"request_type": "x", "drug": {"ndc": False}}, ["date_of_service", "drug.ndc", "request_type"]),
    ],
)
def test_envelope_errors(request_: object, fields: list[str]) -> None:
    decision = decide([BESPONSA], request_)
    assert (decision["outcome"], decision["reason"]) == ("invalid_request", "invalid_request")
    assert [e["field"] for e in decision["errors"]] == fields
    assert all(isinstance(e["message"], str) and e["message"] for e in decision["errors"])
    assert set(decision) == {"outcome", "reason", "errors"}


@pytest.mark.parametrize("dos", ["1900-01-01", "2199-12-31", "2024-02-29"])
def test_envelope_accepts_edge_dates(dos: str) -> None:
    assert decide([BESPONSA], edit(APPROVABLE, {"date_of_service": dos}))["outcome"] != "invalid_request"


def test_request_id_is_echoed_only_when_a_string() -> None:
    assert decide([BESPONSA], {"request_id": "r-9"}) | {"errors": []} == {
        "outcome": "invalid_request",
        "reason": "invalid_request",
        "errors": [],
        "request_id": "r-9",
    }
    assert decide([BESPONSA], edit(GOOD_ENVELOPE, {"request_id": "r-9", "drug": {"name": "x"}}))["request_id"] == "r-9"
    assert "request_id" not in decide([BESPONSA], edit(APPROVABLE, {"request_id": 9}))
    assert "request_id" not in decide([BESPONSA], edit(APPROVABLE, {"request_id": None}))


def test_renewal_without_renewal_requirements_is_pended_for_review() -> None:
    """A valid request type no set decides is referred for review, never invalid (issue 16)."""
    request = {"request_type": "renewal", "date_of_service": "2026-05-01", "drug": {"hcpcs": "J0001"}}
    decision = decide([BESPONSA, MONTHS[1]], request)
    assert decision["outcome"] == "pended"
    assert decision["reason"] == "no_requirements"
    assert decision["request_type"] == "renewal"


# --- routing -----------------------------------------------------------------------------------

TESTRA = make_spec({"x": {"attestation": "x"}}, ["x"], spec_id="test-2")


@pytest.mark.parametrize(
    ("drug", "routed_to"),
    [
        ({"hcpcs": "J9229"}, BESPONSA_ID),
        ({"name": "Besponsa"}, BESPONSA_ID),
        ({"name": "  BESPONSA\t"}, BESPONSA_ID),
        ({"name": "\u00a0besponsa\u3000"}, BESPONSA_ID),
        ({"name": "Inotuzumab OZOGAMICIN"}, BESPONSA_ID),
        ({"ndc": "12345-6789-01"}, "test-2"),
        ({"name": "TESTAMAB"}, "test-2"),
        ({"hcpcs": "J9229", "name": "besponsa"}, BESPONSA_ID),
        ({"hcpcs": "j9229"}, BESPONSA_ID),  # HCPCS case and spaces are ignored
        ({"hcpcs": " J 9229\t"}, BESPONSA_ID),
        ({"name": "Besponsa\u00ae"}, BESPONSA_ID),  # trademark signs are ignored
        ({"hcpcs": None, "name": "testra"}, "test-2"),
    ],
)
def test_routing(drug: dict, routed_to: str) -> None:
    decision = decide([BESPONSA, TESTRA], edit(APPROVABLE, {"drug": drug}))
    assert decision["policy"]["id"] == routed_to


@pytest.mark.parametrize(
    ("drug", "field"),
    [
        ({"hcpcs": "J9229", "ndc": "99999-9999-99"}, "drug.ndc"),  # an identifier naming nothing is never ignored
        ({"hcpcs": "J9039", "name": "Besponsa"}, "drug.hcpcs"),
        ({"ndc": "9999999999", "name": "Besponsa"}, "drug.ndc"),  # 10 digits without hyphens: layout unknown
    ],
)
def test_identifiers_that_disagree_are_invalid(drug: dict, field: str) -> None:
    decision = decide([BESPONSA, TESTRA], edit(APPROVABLE, {"drug": drug}))
    assert decision["outcome"] == "invalid_request"
    assert [e["field"] for e in decision["errors"]] == [field]


@pytest.mark.parametrize(
    ("drug", "echoed"),
    [
        ({"hcpcs": "j9228"}, {"hcpcs": "j9228"}),
        ({"name": "Besponsa XR"}, {"name": "Besponsa XR"}),
        ({"name": "\x1cbesponsa"}, {"name": "\x1cbesponsa"}),  # U+001C is not white space
        ({"ndc": "12345-6789-02", "hcpcs": None, "name": " aspirin "}, {"ndc": "12345-6789-02", "name": " aspirin "}),
    ],
)
def test_no_policy(drug: dict, echoed: dict) -> None:
    decision = decide([BESPONSA, TESTRA], edit(APPROVABLE, {"drug": drug}))
    assert decision == {"outcome": "no_policy", "reason": "no_policy", "drug": echoed, "request_id": "req-1"}


def test_identifiers_naming_two_policies_are_invalid() -> None:
    decision = decide([BESPONSA, TESTRA], edit(APPROVABLE, {"drug": {"hcpcs": "J9229", "name": "Testra"}}))
    assert decision["outcome"] == "invalid_request"
    assert [e["field"] for e in decision["errors"]] == ["drug"]
    assert decision["request_id"] == "req-1"


# --- every decision has the published shape -----------------------------------------------------


def test_decisions_match_the_decision_schema() -> None:
    schema = json.loads(resources.files("rxrego.schemas").joinpath("decision.schema.json").read_text())
    requests = [
        APPROVABLE,
        {},
        edit(APPROVABLE, {"drug": {"name": "x"}}),
        edit(PH_POSITIVE_ADULT, {"prior_therapies": []}),
        edit(APPROVABLE, {"prescriber": {}}),
        edit(APPROVABLE, {"biomarkers.CD22": "negative"}),
    ]
    outcomes = set()
    for request in requests:
        decision = decide([BESPONSA], request)
        jsonschema.validate(decision, schema)
        outcomes.add(decision["outcome"])
    assert outcomes == {"approved", "denied", "pended", "no_policy", "invalid_request"}
