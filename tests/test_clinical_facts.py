"""The kinds over clinical facts (docs/semantics.md, "Labs", "Diagnosis", "Clinical facts"):
each row a request change and the status one criterion must take, on OPA and in the
reference evaluator alike. The first rows are the wrong decisions that made these kinds:
a stale lab that approved, a right lab denied for its unit spelling or name, impossible
values meeting thresholds, a 420-day supply pro-rated into a 42-day limit."""

from __future__ import annotations

import copy
import pathlib

import pytest

from conftest import EXAMPLES
from rxrego import generate, opa, reference
from rxrego.spec.loader import load_specs

SPEC = next(s for s in load_specs([EXAMPLES]) if s.id == "example-clinical-facts")

BASE = {
    "request_type": "initial",
    "date_of_service": "2026-06-15",
    "drug": {"ndc": "99999-0005-01"},
    "patient": {
        "birth_date": "1970-01-01",
        "weight": {"value": 90, "unit": "kg", "date": "2026-06-01"},
        "height": {"value": 170, "unit": "cm"},
        "pregnancy_status": "not_pregnant",
    },
    "diagnoses": [{"code": "E78.00"}],
    "labs": [
        {"name": "potassium", "value": 4.6, "unit": "mEq/L", "date": "2026-06-01"},
        {"code": "33914-3", "value": 48, "unit": "mL/min/{1.73_m2}", "date": "2026-06-01"},
        {"name": "ldl_c", "value": 120, "unit": "mg/dL", "date": "2026-06-01"},
        {"name": "alt", "value": 30, "unit": "U/L", "date": "2026-06-01"},
    ],
    "prior_therapies": [
        {"agent": "atorvastatin", "result": "failed", "start_date": "2025-01-01", "end_date": "2025-04-01"},
        {"agent": "ezetimibe", "result": "intolerant"},
        {"agent": "bempedoic acid", "result": "contraindicated"},
    ],
    "concurrent_therapies": [{"agent": "lisinopril"}],
    "procedures": [],
    "prescriber": {"specialty": "internal_medicine", "consulting_specialties": ["cardiology"]},
    "dose": {"amount": 700, "unit": "ug", "every_days": 7, "route": "subcutaneous"},
    "quantity": {"units": 28, "days_supply": 42},
}
RENEWAL = {
    **copy.deepcopy(BASE),
    "request_type": "renewal",
    "treatment": {"start_date": "2026-01-01"},
    "dose": {"amount": 150, "unit": "mg", "every_days": 14},
    "labs": [
        {"name": "LDL", "value": 160, "unit": "mg/dL", "date": "2025-12-01"},
        {"name": "LDL", "value": 100, "unit": "mg/dL", "date": "2026-03-30"},
        {"name": "LDL", "value": 96, "unit": "mg/dL", "date": "2026-06-01"},
    ],
    "procedures": [{"name": "Lipoprotein apheresis", "date": "2026-02-01"}],
}

K = "potassium"


def labs(*entries: object, keep: tuple[str, ...] = ("33914-3", "ldl_c", "alt")) -> dict:
    """The base labs but potassium, plus `entries`."""
    kept = [e for e in BASE["labs"] if e.get("code") in keep or e.get("name") in keep]
    return {"labs": [*kept, *entries]}


def k(value: object, unit: object = "mEq/L", date: str = "2026-06-01", **extra: object) -> dict:
    return {"name": K, "value": value, "unit": unit, "date": date, **extra}


# (what it proves, changes to the base (top-level keys replaced), criterion, status)
ROWS: list[tuple[str, dict, str, str]] = [
    ("base request meets every criterion", {}, "quantity", "met"),
    # -- the wrong decisions of the issue, now right
    (
        "a newer hyperkalaemic result in mmol/L is read, not skipped",
        labs(k(4.6, date="2026-05-01"), k(5.8, "mmol/L", "2026-06-10")),
        K,
        "unmet",
    ),
    (
        "a newer result written as a string makes the test unknown",
        labs(k(4.6, date="2026-05-01"), k("5.8", date="2026-06-10")),
        K,
        "unknown",
    ),
    ("potassium 4.6 mmol/L meets a threshold in mEq/L", labs(k(4.6, "mmol/L")), K, "met"),
    (
        "eGFR in mL/min/1.73m2 meets a threshold in mL/min/1.73 m2",
        labs({"name": "eGFR", "value": 48, "unit": "mL/min/1.73m2", "date": "2026-06-01"}, keep=("ldl_c", "alt", K)),
        "egfr",
        "met",
    ),
    (
        "a lab named LDL-C is the spec's ldl_c",
        labs({"name": "LDL-C", "value": 120, "unit": "mg/dL", "date": "2026-06-01"}, keep=("33914-3", "alt", K)),
        "ldl_70",
        "met",
    ),
    (
        "a lab named by its alias LDL cholesterol",
        labs(
            {"name": "LDL cholesterol", "value": 12, "unit": "mmol/L", "date": "2026-06-01"}, keep=("33914-3", "alt", K)
        ),
        "ldl_70",
        "unknown",
    ),
    (
        "ALT -5 is impossible: invalid, never below a threshold",
        labs({"name": "alt", "value": -5, "unit": "U/L", "date": "2026-06-01"}, keep=("33914-3", "ldl_c", K)),
        "alt_below_3x_uln",
        "invalid",
    ),
    ("potassium 25 mEq/L is outside the plausible range", labs(k(25)), K, "invalid"),
    (
        "280 units over 420 days is not pro-rated into a 28-per-42-day limit",
        {"quantity": {"units": 280, "days_supply": 420}},
        "quantity",
        "unmet",
    ),
    ("a fractional vial count is invalid", {"quantity": {"units": 27.5, "days_supply": 42}}, "quantity", "invalid"),
    # -- labs
    (
        "a result identified by its LOINC code alone",
        labs(k(4.6, date="2026-05-01"), {"code": "2823-3", "value": 5.4, "unit": "mmol/L", "date": "2026-06-02"}),
        K,
        "unmet",
    ),
    (
        "a result whose code is another lab's is not this lab",
        labs(k(4.6), {"code": "2951-2", "name": K, "value": 9, "unit": "mmol/L", "date": "2026-06-02"}),
        K,
        "met",
    ),
    (
        "a LOINC code is read with spaces trimmed",
        labs(k(4.6, date="2026-05-01"), {"code": " 2823-3 ", "value": 5.4, "unit": "mmol/L", "date": "2026-06-02"}),
        K,
        "unmet",
    ),
    *(
        (
            f"a newer result with the malformed code {code!r} and no name is not skipped: invalid",
            labs(k(4.6, date="2026-05-01"), {"code": code, "value": 4.0, "unit": "mmol/L", "date": "2026-06-02"}),
            K,
            "invalid",
        )
        for code in ("", "LOINC:2823-3", "2823-4", 2823)
    ),
    (
        "a newer result of this lab's name with a malformed code is not skipped: invalid",
        labs(k(4.6, date="2026-05-01"), k(4.0, date="2026-06-02", code="2823-3\u00a0x")),
        K,
        "invalid",
    ),
    (
        "a result with a malformed code and another lab's name is that lab's",
        labs(k(4.6), {"code": "LOINC:2951-2", "name": "sodium", "value": 140, "unit": "mmol/L", "date": "2026-06-02"}),
        K,
        "met",
    ),
    *(
        (f"a labs entry {junk!r} that is not an object: invalid", labs(k(4.6, date="2026-05-01"), junk), K, "invalid")
        for junk in ("potassium 5.8 mEq/L 2026-06-10", None, [])
    ),
    ("a unit that cannot become mEq/L without a molar mass: unknown", labs(k(18, "mg/dL")), K, "unknown"),
    ("a unit that is not a unit: unknown", labs(k(4.6, "banana")), K, "unknown"),
    ("a result without a readable date: invalid", labs(k(4.6), k(4.0, date="2026-13-01")), K, "invalid"),
    ("no potassium at all: unmet", labs(), K, "unmet"),
    # a dated fact outside the patient's life (after the date of service, before the birth)
    # contradicts the request: invalid, never passed over for an older result
    ("a result after the date of service: invalid", labs(k(4.6), k(7.0, date="2026-06-20")), K, "invalid"),
    ("a result before the birth: invalid", labs(k(4.6), k(4.0, date="1969-12-31")), K, "invalid"),
    # an Observation.effectiveDateTime is read as its day, as written
    (
        "a FHIR dateTime is read as its day",
        labs(k(7.0, date="2026-05-01"), k(4.6, date="2026-06-01T10:00:00Z")),
        K,
        "met",
    ),
    (
        "a FHIR dateTime with an offset keeps the day written",
        labs(k(4.6, date="2026-05-01"), k(7.0, date="2026-06-15T23:30:00-05:00")),
        K,
        "unmet",
    ),
    ("a dateTime without an offset is read as its day", labs(k(4.6, date="2026-06-01T10:00:00")), K, "met"),
    ("a partial date is no date", labs(k(4.6, date="2026-06")), K, "invalid"),
    (
        "ALT 100 below 3 x its own ULN 40",
        labs(
            {"name": "alt", "value": 100, "unit": "U/L", "date": "2026-06-01", "reference_range": {"high": 40}},
            keep=("33914-3", "ldl_c", K),
        ),
        "alt_below_3x_uln",
        "met",
    ),
    (
        "ALT 100 not below 3 x its own ULN 30",
        labs(
            {"name": "alt", "value": 100, "unit": "U/L", "date": "2026-06-01", "reference_range": {"high": 30}},
            keep=("33914-3", "ldl_c", K),
        ),
        "alt_below_3x_uln",
        "unmet",
    ),
    (
        "ALT with an unreadable ULN: unknown",
        labs(
            {"name": "alt", "value": 100, "unit": "U/L", "date": "2026-06-01", "reference_range": {"high": "40"}},
            keep=("33914-3", "ldl_c", K),
        ),
        "alt_below_3x_uln",
        "unknown",
    ),
    *(
        (
            f"ALT {value} against a ULN of 0.04 kU/L (40 U/L), read in the range's unit",
            labs(
                {
                    "name": "alt",
                    "value": value,
                    "unit": "U/L",
                    "date": "2026-06-01",
                    "reference_range": {"high": 0.04, "unit": "kU/L"},
                },
                keep=("33914-3", "ldl_c", K),
            ),
            "alt_below_3x_uln",
            status,
        )
        for value, status in ((100, "met"), (150, "unmet"))
    ),
    (
        "ALT with a ULN in a unit that does not convert: unknown",
        labs(
            {
                "name": "alt",
                "value": 100,
                "unit": "U/L",
                "date": "2026-06-01",
                "reference_range": {"high": 40, "unit": "mg"},
            },
            keep=("33914-3", "ldl_c", K),
        ),
        "alt_below_3x_uln",
        "unknown",
    ),
    *(
        (
            f"ALT with a reference range {ref}: invalid",
            labs(
                {"name": "alt", "value": 10, "unit": "U/L", "date": "2026-06-01", "reference_range": ref},
                keep=("33914-3", "ldl_c", K),
            ),
            "alt_below_3x_uln",
            "invalid",
        )
        for ref in ({"high": 0}, {"high": -10}, {"low": 50, "high": 40}, "0-40")
    ),
    # -- diagnosis
    ("E78.3 is the exception", {"diagnoses": [{"code": "E78.3"}]}, "diagnosis", "unmet"),
    ("I25.10 lies below I25.1", {"diagnoses": [{"code": "i2510"}]}, "diagnosis", "met"),
    ("E78.0Z has the form of a code but is none", {"diagnoses": [{"code": "E78.0Z"}]}, "diagnosis", "unmet"),
    ("E78.00XYZ is not ICD-10-CM: invalid", {"diagnoses": [{"code": "E78.00XYZ"}]}, "diagnosis", "invalid"),
    ("E78.0- is not a code", {"diagnoses": [{"code": "E78.0-"}]}, "diagnosis", "invalid"),
    ("E.7.8.0.0 is not a code", {"diagnoses": [{"code": "E.7.8.0.0"}]}, "diagnosis", "invalid"),
    # -- patient
    (
        "age in months: 6 months on the day",
        {"patient": {**BASE["patient"], "birth_date": "2025-12-15"}},
        "age_six_months",
        "met",
    ),
    (
        "age in months: one day short of 6",
        {"patient": {**BASE["patient"], "birth_date": "2025-12-16"}},
        "age_six_months",
        "unmet",
    ),
    (
        "BMI from weight and height below 30",
        {"patient": {**BASE["patient"], "weight": {"value": 80, "unit": "kg"}}},
        "bmi_30",
        "unmet",
    ),
    (
        "BMI from pounds and inches",
        {
            "patient": {
                **BASE["patient"],
                "weight": {"value": 200, "unit": "[lb_av]"},
                "height": {"value": 65, "unit": "[in_i]"},
            }
        },
        "bmi_30",
        "met",
    ),
    (
        "BMI as stated without a height",
        {
            "patient": {
                "birth_date": "1970-01-01",
                "weight": {"value": 90, "unit": "kg"},
                "bmi": {"value": 31, "unit": "kg/m2"},
                "pregnancy_status": "not_pregnant",
            }
        },
        "bmi_30",
        "met",
    ),
    (
        "a weight dated before the birth is invalid",
        {"patient": {**BASE["patient"], "weight": {"value": 90, "unit": "kg", "date": "1950-01-01"}}},
        "bmi_30",
        "invalid",
    ),
    (
        "a weight dated after the date of service is invalid",
        {"patient": {**BASE["patient"], "weight": {"value": 90, "unit": "kg", "date": "2026-06-16"}}},
        "bmi_30",
        "invalid",
    ),
    (
        "a weight dated by a FHIR dateTime",
        {"patient": {**BASE["patient"], "weight": {"value": 90, "unit": "kg", "date": "2026-06-15T08:00:00+02:00"}}},
        "bmi_30",
        "met",
    ),
    (
        "a weight of 2000 kg is invalid",
        {"patient": {**BASE["patient"], "weight": {"value": 2000, "unit": "kg"}}},
        "bmi_30",
        "invalid",
    ),
    ("pregnant", {"patient": {**BASE["patient"], "pregnancy_status": "pregnant"}}, "not_pregnant", "unmet"),
    ("pregnancy not known", {"patient": {**BASE["patient"], "pregnancy_status": "unknown"}}, "not_pregnant", "unknown"),
    # -- history, procedures, concurrent therapy, prescriber
    (
        "a 30-day statin trial is too short",
        {
            "prior_therapies": [
                {"agent": "atorvastatin", "result": "failed", "start_date": "2025-01-01", "end_date": "2025-01-31"},
                *BASE["prior_therapies"][1:],
            ]
        },
        "statin_trial",
        "unmet",
    ),
    (
        "a statin trial without a start date may count",
        {"prior_therapies": [{"agent": "atorvastatin", "result": "failed"}, *BASE["prior_therapies"][1:]]},
        "statin_trial",
        "unknown",
    ),
    (
        "an ongoing trial counts to the date of service",
        {
            "prior_therapies": [
                {"agent": "Rosuvastatin", "result": "inadequate_response", "start_date": "2026-04-01"},
                *BASE["prior_therapies"][1:],
            ]
        },
        "statin_trial",
        "met",
    ),
    (
        "a trial that ends before it starts is invalid",
        {
            "prior_therapies": [
                {"agent": "atorvastatin", "result": "failed", "start_date": "2025-04-01", "end_date": "2025-01-01"}
            ]
        },
        "statin_trial",
        "invalid",
    ),
    (
        "a failed trial dated after the date of service is invalid, never counted",
        {
            "prior_therapies": [
                {"agent": "atorvastatin", "result": "failed", "start_date": "2027-03-01", "end_date": "2027-06-01"},
                *BASE["prior_therapies"][1:],
            ]
        },
        "statin_trial",
        "invalid",
    ),
    (
        "a trial that ends after the date of service is invalid",
        {
            "prior_therapies": [
                {"agent": "atorvastatin", "result": "failed", "start_date": "2025-01-01", "end_date": "2026-06-16"},
                *BASE["prior_therapies"][1:],
            ]
        },
        "statin_trial",
        "invalid",
    ),
    (
        "a trial before the birth is invalid",
        {
            "prior_therapies": [
                {"agent": "atorvastatin", "result": "failed", "start_date": "1969-01-01", "end_date": "1969-06-01"},
                *BASE["prior_therapies"][1:],
            ]
        },
        "statin_trial",
        "invalid",
    ),
    (
        "each agent: one of two is not enough",
        {"prior_therapies": BASE["prior_therapies"][:2]},
        "each_preferred_agent",
        "unmet",
    ),
    ("no ACE inhibitor or ARB", {"concurrent_therapies": []}, "on_ace_or_arb", "unmet"),
    ("concurrent therapy not reported", {"concurrent_therapies": None}, "on_ace_or_arb", "unknown"),
    (
        "neither prescriber nor consultant a cardiologist",
        {"prescriber": {"specialty": "internal_medicine", "consulting_specialties": []}},
        "cardiology",
        "unmet",
    ),
    ("consultation not reported", {"prescriber": {"specialty": "internal_medicine"}}, "cardiology", "unknown"),
    ("prescribed by a lipidologist", {"prescriber": {"specialty": "Lipidology"}}, "cardiology", "met"),
    # -- dose
    (
        "1000 mcg weekly exceeds 10 mcg/kg for 90 kg",
        {"dose": {"amount": 1000, "unit": "ug", "every_days": 7}},
        "dose_per_kg",
        "unmet",
    ),
    (
        "0.9 mg weekly is exactly 10 mcg/kg",
        {"dose": {"amount": 0.9, "unit": "mg", "every_days": 7}},
        "dose_per_kg",
        "met",
    ),
    (
        "a dose per kg without a weight",
        {
            "patient": {
                "birth_date": "1970-01-01",
                "height": {"value": 170, "unit": "cm"},
                "pregnancy_status": "not_pregnant",
            }
        },
        "dose_per_kg",
        "unknown",
    ),
    # a weekly cap without the interval: the interval is asked for, not read as malformed
    ("a dose without its interval", {"dose": {"amount": 700, "unit": "ug"}}, "dose_per_kg", "unknown"),
    (
        "an interval that is not a number",
        {"dose": {"amount": 700, "unit": "ug", "every_days": "7"}},
        "dose_per_kg",
        "invalid",
    ),
    # the most one week receives: 1000 mcg every 14 days averages 500 a week (under 900 for
    # 90 kg), but the week it is given gets all 1000
    (
        "1000 mcg every 2 weeks exceeds 10 mcg/kg in the week it is given",
        {"dose": {"amount": 1000, "unit": "ug", "every_days": 14}},
        "dose_per_kg",
        "unmet",
    ),
    (
        "300 mcg every 3 days is three doses in a week: 900 mcg, 10 mcg/kg for 90 kg",
        {"dose": {"amount": 300, "unit": "ug", "every_days": 3}},
        "dose_per_kg",
        "met",
    ),
    (
        "301 mcg every 3 days is 903 mcg in a week",
        {"dose": {"amount": 301, "unit": "ug", "every_days": 3}},
        "dose_per_kg",
        "unmet",
    ),
]
RENEWAL_ROWS: list[tuple[str, dict, str, str]] = [
    ("LDL 160 -> 96 is a 40% reduction", {}, "ldl_reduced", "met"),
    (
        "LDL 160 -> 130 is not",
        {"labs": [RENEWAL["labs"][0], {"name": "LDL", "value": 130, "unit": "mg/dL", "date": "2026-06-01"}]},
        "ldl_reduced",
        "unmet",
    ),
    ("no treatment start date: baseline unknown", {"treatment": None}, "ldl_reduced", "unknown"),
    (
        "a treatment started after the date of service: the baseline is invalid",
        {"treatment": {"start_date": "2026-07-01"}},
        "ldl_reduced",
        "invalid",
    ),
    (
        "a treatment started before the birth: its time on the drug is invalid",
        {"treatment": {"start_date": "1969-12-31"}},
        "on_drug_a_year",
        "invalid",
    ),
    ("the result 8 weeks after the start decides", {}, "ldl_on_treatment", "met"),
    (
        "a result only 4 weeks after the start is too early",
        {"labs": [RENEWAL["labs"][0], {"name": "LDL", "value": 96, "unit": "mg/dL", "date": "2026-01-29"}]},
        "ldl_on_treatment",
        "unmet",
    ),
    ("apheresis within the year", {}, "apheresis", "met"),
    (
        "apheresis dated after the date of service is invalid",
        {
            "procedures": [{"name": "Lipoprotein apheresis", "date": "2026-06-20"}],
            "dose": {"amount": 700, "unit": "mg", "every_days": 1},
        },
        "apheresis",
        "invalid",
    ),
    (
        "a dose per m2 (Mosteller) below 300 mg/m2/day",
        {"dose": {"amount": 500, "unit": "mg", "every_days": 1}},
        "dose_per_m2",
        "met",
    ),
    (
        "a dose per m2 above 300 mg/m2/day",
        {"dose": {"amount": 700, "unit": "mg", "every_days": 1}, "procedures": []},
        "any_lipid_lowering_evidence",
        "unmet",
    ),
]
SHOWN = {"met": "met", "unmet": "unmet", "unknown": "unknown", "invalid": "unmet"}


def _request(base: dict, change: dict) -> dict:
    request = copy.deepcopy(base)
    for key, value in change.items():
        if value is None:
            request.pop(key, None)
        else:
            request[key] = copy.deepcopy(value)
    return request


@pytest.fixture(scope="module")
def decisions(opa_path, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("clinical") / "rego"
    generate.write(generate.build([SPEC]), out)
    requests = [_request(BASE, change) for _, change, _, _ in ROWS] + [
        _request(RENEWAL, change) for _, change, _, _ in RENEWAL_ROWS
    ]
    return opa.eval_batch(out, "data.rxrego.decisions", {"requests": requests})["value"]


def test_the_base_request_is_approved(decisions) -> None:
    assert decisions[0]["outcome"] == "approved", decisions[0]
    assert decisions[len(ROWS)]["outcome"] == "approved", decisions[len(ROWS)]


@pytest.mark.parametrize("index", range(len(ROWS) + len(RENEWAL_ROWS)), ids=[r[0] for r in ROWS + RENEWAL_ROWS])
def test_each_row_on_opa_and_in_the_reference(decisions, index: int) -> None:
    rows, base, i = (ROWS, BASE, index) if index < len(ROWS) else (RENEWAL_ROWS, RENEWAL, index - len(ROWS))
    _, change, criterion, status = rows[i]
    decision = decisions[index]
    assert decision["criteria"][criterion] == SHOWN[status], decision
    assert decision == reference.decide([SPEC], _request(base, change))
    # a criterion that is not met never approves
    if status != "met":
        assert decision["outcome"] != "approved"
    # the reference's own status tells invalid from unmet
    request = _request(base, change)
    assert reference.statuses(SPEC, request, request["request_type"])[criterion] == status


MONTHS_SPEC = """
schema_version: 1
id: example-trial-months
number: EX-MONTHS
title: Example Trialmab
payer: Example Health Plan (illustrative)
example: true
section: Prescription Drugs
subsection: Dermatology
effective_date: 2026-01-01
drug: {brand: Example Trialmab, generic: example trialmab, ndc: [99999-0099-01]}
coverage:
  medically_necessary: Example Trialmab may be considered medically necessary if the condition below is met.
  investigational: Example Trialmab may be considered investigational for all other indications.
  indication: diagnosis
value_sets:
  steroids: {description: topical corticosteroids, agents: [mometasone], classes: [topical_corticosteroid]}
criteria:
  diagnosis: {text: Atopic dermatitis, diagnosis: {icd10: [L20]}}
  one_month:
    text: A topical corticosteroid failed after at least 1 month
    prior_therapy: {value_set: steroids, results: [failed], min_months: 1}
requirements:
  initial: {title: Initial, duration_months: 4, all_of: [diagnosis, one_month]}
"""

# (start, end or None while ongoing, result, status): a calendar month from the start, the
# day clamped to a shorter month's end (31 January + 1 month = 28 February).
MONTH_ROWS = [
    ("2026-01-05", "2026-02-05", "failed", "met"),
    ("2026-01-05", "2026-02-04", "failed", "unmet"),
    ("2026-01-31", "2026-02-28", "failed", "met"),
    ("2026-01-31", "2026-02-27", "failed", "unmet"),
    ("2026-05-15", None, "failed", "met"),  # ongoing: counted to the date of service, 2026-06-15
    ("2026-05-16", None, "failed", "unmet"),
    (None, "2026-02-05", "failed", "unknown"),  # no start: it may still have lasted a month
    ("2026-01-05", "2026-03-05", None, "unknown"),  # long enough, result not known
    ("2026-01-05", "2026-01-06", "contraindicated", "unmet"),  # not a listed result
    ("2026-03-05", "2026-02-05", "failed", "invalid"),  # ends before it starts
]


def test_trial_length_in_calendar_months(opa_path, tmp_path) -> None:
    """`min_months` counts calendar months as ages do, on OPA and in the reference alike."""
    spec_file = tmp_path / "months.yaml"
    spec_file.write_text(MONTHS_SPEC)
    spec = load_specs([spec_file])[0]
    out = tmp_path / "rego"
    generate.write(generate.build([spec]), out)
    requests = []
    for start, end, result, _ in MONTH_ROWS:
        entry = {"agent": "Mometasone", "start_date": start, "end_date": end, "result": result}
        entry = {k: v for k, v in entry.items() if v is not None}
        requests.append(
            {
                "request_type": "initial",
                "date_of_service": "2026-06-15",
                "drug": {"ndc": "99999-0099-01"},
                "diagnoses": [{"code": "L20.9"}],
                "prior_therapies": [entry],
            }
        )
    decisions = opa.eval_batch(out, "data.rxrego.decisions", {"requests": requests})["value"]
    for (start, end, result, status), request, decision in zip(MONTH_ROWS, requests, decisions, strict=True):
        assert decision["criteria"]["one_month"] == SHOWN[status], (start, end, result, decision)
        assert reference.statuses(spec, request, "initial")["one_month"] == status, (start, end, result)
        assert decision == reference.decide([spec], request)


RECEIVED_SPEC = """
schema_version: 1
id: example-months-received
number: EX-RECEIVED
title: Example Receivemab
payer: Example Health Plan (illustrative)
example: true
section: Prescription Drugs
subsection: Bone
effective_date: 2026-01-01
drug: {brand: Example Receivemab, generic: example receivemab, ndc: [99999-0098-01]}
coverage:
  medically_necessary: Example Receivemab may be considered medically necessary if the conditions below are met.
  investigational: Example Receivemab may be considered investigational for all other indications.
  indication: diagnosis
criteria:
  diagnosis: {text: Osteoporosis, diagnosis: {icd10: [M81]}}
  six_months_on_drug: {text: Already received at least 6 months, therapy_received: {min_months: 6}}
  within_24_months: {text: At most 24 months received, therapy_received: {max_months: 24}}
requirements:
  initial: {title: Initial, duration_months: 12, all_of: [diagnosis, six_months_on_drug, within_24_months]}
"""

# (therapy.months_received or MISSING, status of six_months_on_drug, status of within_24_months)
RECEIVED_ROWS = [
    (6, "met", "met"),
    (5, "unmet", "met"),
    (24, "met", "met"),
    (25, "met", "unmet"),
    (0, "unmet", "met"),
    ("MISSING", "unknown", "unknown"),
    (6.5, "invalid", "invalid"),  # months are counted whole
    (-1, "invalid", "invalid"),
    ("6", "invalid", "invalid"),
    (True, "invalid", "invalid"),
    (None, "unknown", "unknown"),  # null reads as absent
]


def test_months_of_therapy_received(opa_path, tmp_path) -> None:
    """`therapy_received` reads therapy.months_received as a whole number, on OPA and in the
    reference alike; a number it cannot read is never met."""
    spec_file = tmp_path / "received.yaml"
    spec_file.write_text(RECEIVED_SPEC)
    spec = load_specs([spec_file])[0]
    out = tmp_path / "rego"
    generate.write(generate.build([spec]), out)
    requests = []
    for months, _, _ in RECEIVED_ROWS:
        request = {
            "request_type": "initial",
            "date_of_service": "2026-06-15",
            "drug": {"ndc": "99999-0098-01"},
            "diagnoses": [{"code": "M81.0"}],
        }
        if months != "MISSING":
            request["therapy"] = {"months_received": months}
        requests.append(request)
    decisions = opa.eval_batch(out, "data.rxrego.decisions", {"requests": requests})["value"]
    for (months, at_least, at_most), request, decision in zip(RECEIVED_ROWS, requests, decisions, strict=True):
        assert decision["criteria"]["six_months_on_drug"] == SHOWN[at_least], (months, decision)
        assert decision["criteria"]["within_24_months"] == SHOWN[at_most], (months, decision)
        statuses = reference.statuses(spec, request, "initial")
        assert (statuses["six_months_on_drug"], statuses["within_24_months"]) == (at_least, at_most), months
        assert decision == reference.decide([spec], request)


def test_uln_plausible_is_checked_with_the_lab() -> None:
    from rxrego.spec import kinds

    alt = {"name": "alt", "comparison": "<", "times_uln": 3, "unit": "U/L"}
    assert kinds.LabTest.parse({**alt, "uln_plausible": {"min": 10, "max": 200}}).check(set()) == []
    backwards = kinds.LabTest.parse({**alt, "uln_plausible": {"min": 200, "max": 10}})
    assert (("uln_plausible",), "min 200 is greater than max 10") in backwards.check(set())
    absolute = {**alt, "times_uln": None, "value": 120, "uln_plausible": {"min": 10}}
    issues = kinds.LabTest.parse({k: v for k, v in absolute.items() if v is not None}).check(set())
    assert (("uln_plausible",), "`uln_plausible` is read only with `times_uln`") in issues


def test_a_multiple_of_the_uln_needs_its_plausible_bounds() -> None:
    """Without `uln_plausible` a reference range typed in the wrong unit would decide: the
    check refuses the spec, names the field, and a spec `uln` must lie inside the bounds."""
    from rxrego.spec import kinds

    alt = {"name": "alt", "comparison": "<", "times_uln": 3, "unit": "U/L"}
    (issue,) = [i for i in kinds.LabTest.parse(alt).check(set()) if i[0] == ("uln_plausible",)]
    assert "needs `uln_plausible: {min, max}`" in issue[1] and "in U/L" in issue[1]
    outside = kinds.LabTest.parse({**alt, "uln": 400, "uln_plausible": {"min": 10, "max": 200}}).check(set())
    assert outside == [(("uln",), "the spec's own ULN 400 is outside `uln_plausible`")]
    inside = kinds.LabTest.parse({**alt, "uln": 40, "uln_plausible": {"min": 10, "max": 200}}).check(set())
    assert inside == []


def test_loinc_codes_carry_their_mod_10_check_digit() -> None:
    from rxrego.spec import kinds
    from rxrego.terminology import loinc

    assert [loinc.check_digit(d) for d in ("13457", "777", "2823", "33914", "0")] == [7, 3, 3, 3, 0]
    assert loinc.well_formed("13457-7") and loinc.well_formed("1234567-4")
    for bad in ("13457-8", " 13457-7", "13457-7 ", "LOINC:13457-7", "", "12345678-6", "134577", 13457, None):
        assert not loinc.well_formed(bad), bad
    ldl = {"name": "ldl_c", "comparison": ">=", "value": 70, "unit": "mg/dL"}
    assert kinds.LabTest.parse({**ldl, "loinc": ["13457-7", "18262-6"]}).check(set()) == []
    assert kinds.LabTest.parse({**ldl, "loinc": ["13457-7", "18262-5"]}).check(set()) == [
        (("loinc", 1), "'18262-5' is not a LOINC code: the check digit of 18262 is 6")
    ]


def test_a_lab_in_equivalents_needs_its_valence(tmp_path: pathlib.Path) -> None:
    """UCUM's eq is a mole of charge: a spec whose unit counts equivalents without the
    analyte's valence is refused at the file, line and field; with it, mmol/L converts by
    the charge (1 for potassium), and a lab without it reads no equivalents."""
    from rxrego.spec import kinds
    from rxrego.spec.errors import SpecError
    from rxrego.spec.loader import load_spec

    text = (EXAMPLES / "example-clinical-facts.yaml").read_text(encoding="utf-8")
    assert ", valence: 1," in text
    line = next(i for i, row in enumerate(text.splitlines(), 1) if ", valence: 1," in row)
    broken = tmp_path / "example-clinical-facts.yaml"
    broken.write_text(text.replace(", valence: 1,", ","), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(broken)
    (issue,) = [i for i in caught.value.issues if "valence" in i.message]
    assert issue.file.endswith("example-clinical-facts.yaml") and issue.line == line
    assert str(issue.path).endswith("unit") and "counts equivalents" in issue.message
    potassium = {"name": "k", "comparison": "<=", "value": 5, "unit": "mEq/L", "plausible": {"min": 1, "max": 10}}
    assert kinds.LabTest.parse({**potassium, "valence": 1}).units()["mmol/l"] == 1.0
    calcium = kinds.LabTest.parse({**potassium, "unit": "mmol/L", "valence": 2})
    assert calcium.check(set()) == [] and calcium.units()["meq/l"] == 0.5
    assert "meq/l" not in kinds.LabTest.parse({**potassium, "unit": "mmol/L"}).units()
