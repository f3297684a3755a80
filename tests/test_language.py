"""Issue 15's language constructs beyond the clinical facts: negation (`not:`) and
documentation required (docs/semantics.md, "Combinators", "Documentation required").

Each decision below is taken from the real OPA on freshly generated Rego AND from the
reference evaluator, and both must equal the expected document parts; the loader's errors,
the questionnaire, explain and render are checked on the illustrative example
tests/examples/example-pcsk9.yaml."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from conftest import EXAMPLES, SPECS
from rxrego import generate, opa, reference
from rxrego.author import questionnaire as q
from rxrego.author.explain import explain_lines
from rxrego.author.render import render
from rxrego.spec import model as m
from rxrego.spec.dump import dump_data
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_spec, load_specs
from strategies import requests_for

PCSK9 = EXAMPLES / "example-pcsk9.yaml"
QUERY = "{i: d | some i, r in input.requests; d := data.rxrego.decision with input as r}"

# An initial request every criterion of the example meets.
APPROVED = {
    "request_type": "initial",
    "date_of_service": "2026-06-15",
    "drug": {"hcpcs": "X0015"},
    "patient": {"birth_date": "1970-01-01"},
    "diagnoses": [{"code": "E78.01"}],
    "labs": [{"name": "ldl_c", "value": 130, "unit": "mg/dL", "date": "2026-05-01"}],
    "prior_therapies": [{"agent": "atorvastatin", "result": "failed"}],
    "clinical_status": {"pregnant": False, "breastfeeding": False, "clinical_ascvd": True},
    "documents": [
        {"id": "att-1", "type": "lab_report"},
        {"id": "att-2", "type": "chart_notes", "supports": ["statin_trial"]},
    ],
}

LDL_TEXT = "An LDL-C of 100 mg/dL or more within the last 90 days, shown by a lab report"
STATIN_TEXT = (
    "An inadequate response to, or intolerance of, a statin, shown by chart notes or the pharmacy claims history"
)


def _with(**changes) -> dict:
    """APPROVED with top-level fields replaced (None: removed)."""
    out = copy.deepcopy(APPROVED)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _status(**changes) -> dict:
    return {**APPROVED["clinical_status"], **changes}


# (name, request, outcome, unmet ids, missing entries)
CASES = [
    ("everything_met_and_documented", APPROVED, "approved", [], []),
    (
        "no_documents_pends_naming_the_types",
        _with(documents=None),
        "pended",
        [],
        [
            {"id": "ldl_high", "text": LDL_TEXT, "fields": ["labs", "documents"], "documents": ["lab_report"]},
            {
                "id": "statin_trial",
                "text": STATIN_TEXT,
                "fields": ["prior_therapies", "documents"],
                "documents": ["chart_notes", "medication_history"],
            },
        ],
    ),
    (
        "a_document_supporting_another_criterion_does_not_count",
        _with(documents=[{"id": "a", "type": "lab_report", "supports": ["statin_trial"]}]),
        "pended",
        [],
        [
            {"id": "ldl_high", "text": LDL_TEXT, "fields": ["labs", "documents"], "documents": ["lab_report"]},
            {
                "id": "statin_trial",
                "text": STATIN_TEXT,
                "fields": ["prior_therapies", "documents"],
                "documents": ["chart_notes", "medication_history"],
            },
        ],
    ),
    (
        "a_document_never_meets_an_unmet_test",
        _with(labs=[{"name": "ldl_c", "value": 90, "unit": "mg/dL", "date": "2026-05-01"}]),
        "denied",
        ["ldl_high"],
        [],
    ),
    (
        "a_malformed_document_beside_none_supporting_is_invalid",
        _with(documents=[{"id": "att-1", "type": "Lab Report"}, {"id": "att-2", "type": "medication_history"}]),
        "denied",
        ["ldl_high"],
        [],
    ),
    (
        "documents_not_a_list",
        _with(documents={"id": "att-1", "type": "lab_report"}),
        "denied",
        ["ldl_high", "statin_trial"],
        [],
    ),
    (
        "the_negation_is_quoted_not_what_it_negates",
        _with(
            prior_therapies=[{"agent": "atorvastatin", "result": "failed"}, {"agent": "Evolocumab", "result": "failed"}]
        ),
        "denied",
        ["no_failed_pcsk9"],
        [],
    ),
    (
        "a_negated_combinator",
        _with(clinical_status=_status(breastfeeding=True)),
        "denied",
        ["not_pregnant_or_breastfeeding"],
        [],
    ),
    (
        "a_negated_invalid_fact_stays_invalid_and_is_quoted_as_the_negation",
        _with(clinical_status=_status(pregnant="no")),
        "denied",
        ["not_pregnant_or_breastfeeding"],
        [],
    ),
    (
        "an_unknown_under_a_negation_is_asked_for",
        _with(clinical_status={"breastfeeding": False, "clinical_ascvd": True}),
        "pended",
        [],
        [{"id": "pregnant", "text": "The patient is pregnant", "fields": ["clinical_status.pregnant"]}],
    ),
    (
        "a_negated_condition_that_holds_applies_the_requirement",
        _with(clinical_status=_status(clinical_ascvd=False)),
        "pended",
        [],
        [
            {
                "id": "lipid_specialist",
                "text": "Prescribed by a cardiologist, an endocrinologist or a lipid specialist",
                "fields": ["prescriber.specialty"],
            }
        ],
    ),
    (
        "a_negated_condition_then_met",
        _with(clinical_status=_status(clinical_ascvd=False), prescriber={"specialty": "Cardiology"}),
        "approved",
        [],
        [],
    ),
    (
        "a_negated_condition_unknown_asks_for_both",
        _with(clinical_status=_status(clinical_ascvd=None)),
        "pended",
        [],
        [
            {
                "id": "ascvd",
                "text": "The patient has clinical atherosclerotic cardiovascular disease",
                "fields": ["clinical_status.clinical_ascvd"],
            },
            {
                "id": "lipid_specialist",
                "text": "Prescribed by a cardiologist, an endocrinologist or a lipid specialist",
                "fields": ["prescriber.specialty"],
            },
        ],
    ),
]


@pytest.fixture(scope="module")
def specs() -> list[m.PolicySpec]:
    return load_specs([PCSK9])


@pytest.fixture(scope="module")
def rego_dir(tmp_path_factory, specs, opa_path) -> Path:
    out = tmp_path_factory.mktemp("rego")
    generate.write(generate.build(specs, "tests/examples/"), out)
    return out


@pytest.mark.opa
def test_opa_and_the_reference_decide_each_case_as_expected(rego_dir, specs):
    requests = [_clean(request) for _, request, *_ in CASES]
    got = opa.eval_batch(rego_dir, QUERY, {"requests": requests})["value"]
    for i, (name, _, outcome, unmet, missing) in enumerate(CASES):
        decision = got[str(i)]
        assert decision == reference.decide(specs, requests[i]), name
        assert decision["outcome"] == outcome, (name, decision)
        assert [u["id"] for u in decision["unmet"]] == unmet, (name, decision["unmet"])
        assert decision["missing"] == missing, (name, decision["missing"])


def _clean(request: dict) -> dict:
    """Nested None values (a fact left out) removed."""
    out = copy.deepcopy(request)
    out["clinical_status"] = {k: v for k, v in out.get("clinical_status", {}).items() if v is not None}
    return out


def test_negation_reads_three_valued_in_the_reference():
    from rxrego.reference.logic import negation

    assert [negation(s) for s in ("met", "unmet", "unknown", "invalid")] == ["unmet", "met", "unknown", "invalid"]


@pytest.mark.opa
def test_the_library_knows_the_same_document_types(rego_dir):
    got = opa.eval_batch(rego_dir, "data.rxrego.lib.document_types", {})["value"]
    assert sorted(got) == sorted(m.DOCUMENT_TYPES)


def _request_errors(request: dict) -> list[str]:
    schema = json.loads((Path(generate.__file__).parent / "schemas" / "pa-request.schema.json").read_text())
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(request)]


def test_request_schema_v2_accepts_documents_and_every_earlier_request():
    assert _request_errors(_with(documents=None)) == []
    assert _request_errors(APPROVED) == []
    assert _request_errors(_with(documents=[{"id": "att-1", "type": "lab report"}])), "a type outside the closed list"
    for case in sorted((Path(__file__).parent.parent / "conformance").rglob("*.cases.yaml")):
        assert "documents" not in case.read_text(encoding="utf-8"), "earlier cases carry no documents"


# --- the spec language: errors, round trip, wording -----------------------------------------------


def _spec_text(criteria: str, initial: str) -> str:
    base = PCSK9.read_text(encoding="utf-8")
    head = base.split("criteria:\n")[0]
    return (
        head
        + "criteria:\n"
        + criteria
        + "\nrequirements:\n  initial:\n    title: Initial\n    duration_months: 6\n    all_of: ["
        + initial
        + "]\n"
    )


@pytest.mark.parametrize(
    ("criteria", "initial", "where", "message"),
    [
        (
            "  no_x:\n    text: Not X\n    not: x_typo\n  x:\n    text: X\n    attestation: x\n",
            "no_x, x",
            "criteria.no_x.not",
            "refers to undefined criterion 'x_typo'",
        ),
        ("  no_x:\n    text: Not X\n    not: no_x\n", "no_x", "criteria.no_x.not", "refers to itself"),
        (
            "  both:\n    text: Both\n    all_of: [x]\n    documentation: [lab_report]\n  x:\n    text: X\n    attestation: x\n",
            "both",
            "criteria.both.documentation",
            "only a criterion with a test kind",
        ),
        (
            "  x:\n    text: X\n    attestation: x\n    documentation: [lab report]\n",
            "x",
            "criteria.x.documentation[0]",
            "expected one of",
        ),
        (
            "  x:\n    text: X\n    attestation: x\n    documentation: [other]\n",
            "x",
            "criteria.x.documentation[0]",
            "expected one of",
        ),
    ],
)
def test_spec_mistakes_are_located(tmp_path, criteria, initial, where, message):
    path = tmp_path / "spec.yaml"
    path.write_text(_spec_text(criteria, initial), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    issues = [i for i in caught.value.issues if i.path == where]
    assert issues, [str(i) for i in caught.value.issues]
    assert message in issues[0].message
    assert issues[0].line > 1


def test_dump_round_trips_negation_and_documentation(specs):
    spec = specs[0]
    data = dump_data(spec)
    assert data["criteria"]["no_failed_pcsk9"]["not"] == "failed_pcsk9"
    assert data["criteria"]["statin_trial"]["documentation"] == ["chart_notes", "medication_history"]
    assert "documentation" not in data["criteria"]["adult"]


def test_existing_policies_carry_no_new_derived_tables():
    for spec in load_specs([SPECS]):
        for text in generate.policy_modules(spec).values():
            assert '"negates"' not in text and '"documents"' not in text and "lib.documented" not in text


# --- questionnaire, explain, render ---------------------------------------------------------------


def test_questionnaire_asks_for_supporting_documents_and_maps_them_back(specs):
    spec = specs[0]
    questionnaire = q.build_questionnaire(spec)
    assert q.validate_questionnaire(questionnaire) == []
    items = {it["linkId"]: it for it in questionnaire["item"]}
    group = items["documents.statin_trial"]
    assert group["type"] == "group" and group["repeats"] is True
    assert [c["type"] for c in group["item"]] == ["attachment", "choice"]
    offered = [o["valueCoding"]["code"] for o in group["item"][1]["answerOption"]]
    assert offered == ["chart_notes", "medication_history"]
    # the facts of a negated criterion are asked for like any other
    assert "clinical_status.pregnant" in items and "clinical_status.clinical_ascvd" in items

    coding = group["item"][1]["answerOption"][1]["valueCoding"]
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "item": [
            {
                "linkId": "documents.statin_trial",
                "item": [
                    {
                        "linkId": "documents.statin_trial.attachment",
                        "answer": [{"valueAttachment": {"url": "urn:att:7"}}],
                    },
                    {"linkId": "documents.statin_trial.type", "answer": [{"valueCoding": coding}]},
                ],
            }
        ],
    }
    request = q.response_to_request(response, spec, date_of_service="2026-06-15", request_type="initial")
    assert request["documents"] == [{"id": "urn:att:7", "type": "medication_history", "supports": ["statin_trial"]}]

    response["item"][0]["item"][0]["answer"] = [{"valueAttachment": {"contentType": "application/pdf"}}]
    with pytest.raises(q.ResponseError, match=r"documents\.statin_trial\.attachment"):
        q.response_to_request(response, spec, date_of_service="2026-06-15", request_type="initial")


def test_explain_says_which_document_is_missing_and_render_says_not(specs):
    request = _with(documents=[{"id": "att-9", "type": "chart_notes"}])
    decision = reference.decide(specs, request)
    lines, _ = explain_lines(decision, request, specs)
    text = "\n".join(lines)
    assert "(a document: lab_report)" in text
    assert "supported by a document the request references: lab report" in text
    assert "none of type lab_report supporting ldl_high" in text
    assert "NOT the following" in text

    md = render(specs[0], "md")
    assert "Patient must NOT have the following:" in md
    assert "met when “The patient has had an inadequate response to another PCSK9 inhibitor” is unmet" in md
    assert "supported by a document the request references: chart notes or medication history" in md


# --- the differential strategies reach every state of the new constructs ---------------------------


def test_strategies_reach_every_status_of_each_negation_and_documented_criterion(specs):
    spec = specs[0]
    watched = [c.id for c in spec.criteria if isinstance(c.test, m.Negation) or c.documentation]
    seen: dict[str, set[str]] = {cid: set() for cid in watched}

    @settings(
        max_examples=1000, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(requests_for(spec, specs))
    def run(request):
        if not isinstance(request, dict) or request.get("request_type") not in ("initial", "renewal"):
            return
        if reference.envelope_errors(request):
            return
        try:
            found = reference.statuses(spec, request, request["request_type"])
        except (ValueError, KeyError, TypeError):
            return
        for cid in watched:
            if cid in found:
                seen[cid].add(found[cid])

    run()
    every = {"met", "unmet", "unknown", "invalid"}
    lacking = {cid: sorted(every - s) for cid, s in seen.items() if s != every}
    assert not lacking, lacking
    print(f"strategies for {spec.id}: every status of {len(watched)} negation and documented criteria")
    assert json.dumps(seen, default=sorted)
