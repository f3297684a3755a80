"""Issue 15's language constructs beyond the clinical facts: negation (`not:`),
documentation required, dose tables and labs anchored to another therapy's start
(docs/semantics.md, "Combinators", "Documentation required", "Dose tables", "Anchored to
another therapy").

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
from rxrego.reference.evaluate import Evaluation
from rxrego.reference.facts import parse_date as reference_date
from rxrego.reference.leaves import Context
from rxrego.spec import model as m
from rxrego.spec.dump import dump_data
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_spec, load_specs
from strategies import requests_for

PCSK9 = EXAMPLES / "example-pcsk9.yaml"
IGE = EXAMPLES / "example-omalizumab.yaml"
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
    return load_specs([PCSK9, IGE])


def _pcsk9(specs: list[m.PolicySpec]) -> m.PolicySpec:
    return next(s for s in specs if s.id == "example-pcsk9")


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
    # The cases of every policy that requires no documentation carry none: documents are an
    # addition that earlier requests never needed.
    undocumented = {s.id for s in load_specs([SPECS]) if not any(c.documentation for c in s.criteria)}
    for case in sorted((Path(__file__).parent.parent / "conformance").rglob("*.cases.yaml")):
        text = case.read_text(encoding="utf-8")
        policy = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("policy:"))
        if policy in undocumented:
            assert "documents" not in text, f"{case.name}: earlier cases carry no documents"


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
    spec = _pcsk9(specs)
    data = dump_data(spec)
    assert data["criteria"]["no_failed_pcsk9"]["not"] == "failed_pcsk9"
    assert data["criteria"]["statin_trial"]["documentation"] == ["chart_notes", "medication_history"]
    assert "documentation" not in data["criteria"]["adult"]


def test_existing_policies_carry_no_new_derived_tables():
    # A policy that uses neither negation nor documentation generates as it did before them.
    for spec in load_specs([SPECS]):
        if any(c.documentation or c.kind == "not" for c in spec.criteria):
            continue
        for text in generate.policy_modules(spec).values():
            assert '"negates"' not in text and '"documents"' not in text and "lib.documented" not in text


# --- questionnaire, explain, render ---------------------------------------------------------------


def test_questionnaire_asks_for_supporting_documents_and_maps_them_back(specs):
    spec = _pcsk9(specs)
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

    md = render(_pcsk9(specs), "md")
    assert "Patient must NOT have the following:" in md
    assert "met when “The patient has had an inadequate response to another PCSK9 inhibitor” is unmet" in md
    assert "supported by a document the request references: chart notes or medication history" in md


# --- the differential strategies reach every state of the new constructs ---------------------------


def _watched(c: m.Criterion) -> bool:
    """A negation, a documented criterion, a dose table or a lab anchored to a therapy."""
    t = c.test
    return (
        isinstance(t, m.Negation)
        or bool(c.documentation)
        or getattr(t, "table", None) is not None
        or getattr(t, "therapy_start", None) is not None
    )


@pytest.mark.parametrize("policy_id", ["example-pcsk9", "example-omalizumab"])
def test_strategies_reach_every_status_of_each_new_construct(specs, policy_id):
    spec = next(s for s in specs if s.id == policy_id)
    watched = [c.id for c in spec.criteria if _watched(c)]
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
            if spec.has_indications:  # the indication decided, with the products routing named
                decision = reference.decide(specs, request)
                product = decision.get("product")
                named = frozenset([product] if product else [p.id for p in spec.products])
                evaluation = Evaluation(Context(spec, request, reference_date(request["date_of_service"]), named))
                found = {cid: evaluation.status(cid) for cid in decision.get("criteria", {})}
            else:
                found = reference.statuses(spec, request, request["request_type"])
        except (ValueError, KeyError, TypeError):
            return
        for cid in watched:
            if cid in found:
                seen[cid].add(found[cid])

    run()
    # Each construct's criteria are drawn into at least three of the four statuses, and all
    # four between them; the tables above decide every status of each one on purpose.
    every = {"met", "unmet", "unknown", "invalid"}
    thin = {cid: sorted(s) for cid, s in seen.items() if len(s) < 3}
    assert not thin, thin
    assert set().union(*seen.values()) == every
    print(f"strategies for {spec.id}: " + "; ".join(f"{cid} {'/'.join(sorted(s))}" for cid, s in seen.items()))


# --- dose tables and labs anchored to another therapy ------------------------------------------------

ASTHMA = {
    "request_type": "initial",
    "date_of_service": "2026-06-15",
    "drug": {"hcpcs": "X0016"},
    "patient": {"birth_date": "1990-01-01", "weight": {"value": 80, "unit": "kg"}},
    "diagnoses": [{"code": "J45.50"}],
    "labs": [
        {"name": "total_ige", "value": 150, "unit": "IU/mL", "date": "2026-01-10"},
        {"name": "total_ige", "value": 900, "unit": "IU/mL", "date": "2026-05-10"},
        {"name": "eosinophils", "value": 300, "unit": "cells/uL", "date": "2025-12-01"},
    ],
    "prior_therapies": [{"agent": "omalizumab", "result": "ongoing", "start_date": "2026-02-01"}],
    "concurrent_therapies": [],
    "dose": {"amount": 300, "unit": "mg", "every_days": 28},
    "documents": [{"id": "att-1", "type": "lab_report"}],
}


def _asthma(**changes) -> dict:
    out = copy.deepcopy(ASTHMA)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _weighing(kg: float) -> dict:
    return {"birth_date": "1990-01-01", "weight": {"value": kg, "unit": "kg"}}


URTICARIA = {"diagnoses": [{"code": "L50.1"}], "dose": {"amount": 150, "unit": "mg", "every_days": 28}}

# (name, request, outcome, {criterion: status})
IGE_CASES = [
    # IgE before the first anti-IgE start is 150 (the newer 900 is on therapy); 80 kg: 300 mg every 28 days
    ("the_row_of_weight_and_pretreatment_ige", ASTHMA, "approved", {"asthma_dose": "met", "pretreatment_ige": "met"}),
    (
        "more_often_than_the_row_allows",
        _asthma(dose={"amount": 300, "unit": "mg", "every_days": 14}),
        "denied",
        {"asthma_dose": "unmet"},
    ),
    ("another_row_by_weight", _asthma(patient=_weighing(95)), "denied", {"asthma_dose": "unmet"}),
    ("a_weight_outside_every_row", _asthma(patient=_weighing(200)), "denied", {"asthma_dose": "unmet"}),
    (
        "a_weight_in_pounds_converts",
        _asthma(patient={"birth_date": "1990-01-01", "weight": {"value": 176, "unit": "[lb_av]"}}),
        "approved",
        {"asthma_dose": "met"},
    ),
    # never on an anti-IgE: the latest IgE (900) is the pretreatment one, outside every row
    (
        "never_started_the_baseline_is_the_latest",
        _asthma(prior_therapies=[]),
        "denied",
        {"asthma_dose": "unmet", "pretreatment_ige": "met"},
    ),
    (
        "a_start_not_given_pends",
        _asthma(prior_therapies=[{"agent": "omalizumab", "result": "ongoing"}]),
        "pended",
        {"asthma_dose": "unknown", "pretreatment_ige": "unknown"},
    ),
    (
        "a_malformed_history_is_invalid",
        _asthma(prior_therapies=[{"agent": "omalizumab", "start_date": "2026-02-30"}]),
        "denied",
        {"asthma_dose": "unmet", "pretreatment_ige": "unmet"},
    ),
    (
        "eosinophils_after_a_biologic_started_do_not_count",
        _asthma(
            prior_therapies=[
                *ASTHMA["prior_therapies"],
                {"agent": "mepolizumab", "start_date": "2025-11-01", "result": "failed"},
            ]
        ),
        "denied",
        {"eosinophils_before_biologic": "unmet"},
    ),
    ("no_dose_pends", _asthma(dose=None), "pended", {"asthma_dose": "unknown"}),
    (
        "negated_concurrent_therapy",
        _asthma(concurrent_therapies=[{"agent": "Mepolizumab"}]),
        "denied",
        {"not_on_other_biologic": "unmet", "on_other_biologic": "met"},
    ),
    (
        "the_vial_allows_300",
        {**ASTHMA, **URTICARIA, "dose": {"amount": 300, "unit": "mg", "every_days": 28}},
        "approved",
        {"urticaria_dose": "met"},
    ),
    (
        "the_syringe_allows_150",
        {**ASTHMA, **URTICARIA, "drug": {"ndc": "99999-0016-75"}},
        "approved",
        {"urticaria_dose": "met"},
    ),
    (
        "the_syringe_does_not_allow_300",
        {
            **ASTHMA,
            **URTICARIA,
            "drug": {"ndc": "99999-0016-75"},
            "dose": {"amount": 300, "unit": "mg", "every_days": 28},
        },
        "denied",
        {"urticaria_dose": "unmet"},
    ),
]


@pytest.mark.opa
def test_dose_tables_and_anchored_labs_decide_alike_and_as_expected(rego_dir, specs):
    requests = [request for _, request, *_ in IGE_CASES]
    got = opa.eval_batch(rego_dir, QUERY, {"requests": requests})["value"]
    for i, (name, _, outcome, criteria) in enumerate(IGE_CASES):
        decision = got[str(i)]
        assert decision == reference.decide(specs, requests[i]), name
        assert decision["outcome"] == outcome, (name, decision)
        for cid, status in criteria.items():
            assert decision["criteria"][cid] == status, (name, cid, decision["criteria"])


def _ige_spec_with(tmp_path, old: str, new: str) -> list:
    text = IGE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return [(i.path, i.message) for i in caught.value.issues]


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "{ige: {over: 100, max: 200}, weight: {min: 30, max: 90}, max: 300",
            "{ige: {min: 100, max: 200}, weight: {min: 30, max: 90}, max: 300",
            "criteria.asthma_dose.dose.table.rows[2]",
            "overlaps row 0",
        ),
        (
            "{strength: [syringe_75], max: 150",
            "{strength: [syringe_150], max: 150",
            "criteria.urticaria_dose.dose.table.rows[1].strength[0]",
            "refers to undefined product 'syringe_150'",
        ),
        (
            "{strength: [syringe_75], max: 150",
            "{strength: {min: 1}, max: 150",
            "criteria.urticaria_dose.dose.table.rows[1].strength",
            "takes a list of product ids",
        ),
        (
            "{strength: [vial_150], max: 300",
            "{max: 300",
            "criteria.urticaria_dose.dose.table.rows[0]",
            "gives no band for key 'strength'",
        ),
        (
            "      unit: mg\n      table:\n        keys: {strength",
            "      unit: mg\n      max: 5\n      table:\n        keys: {strength",
            "criteria.urticaria_dose.dose",
            "exactly one of `max` and `table`",
        ),
        (
            "      unit: mg\n      table:\n        keys: {strength",
            "      unit: mg\n      every_days: 28\n      table:\n        keys: {strength",
            "criteria.urticaria_dose.dose.every_days",
            "gives the interval in its rows",
        ),
        (
            "keys: {strength: product}",
            "keys: {strength: indication}",
            "criteria.urticaria_dose.dose.table.rows[0].strength[0]",
            "refers to undefined indication 'vial_150'; the policy's indications: asthma, urticaria",
        ),
        (
            "      therapy_start: eosinophil_lowering",
            "      therapy_start: eosinophil_lowerin",
            "criteria.eosinophils_before_biologic.lab.therapy_start",
            "undefined value set",
        ),
        (
            "      result: baseline\n      therapy_start: eosinophil",
            "      therapy_start: eosinophil",
            "criteria.eosinophils_before_biologic.lab.therapy_start",
            "anchors a baseline",
        ),
    ],
)
def test_dose_table_and_anchor_mistakes_are_located(tmp_path, old, new, where, message):
    issues = _ige_spec_with(tmp_path, old, new)
    assert any(path == where and message in text for path, text in issues), issues


def test_questionnaire_asks_for_what_a_table_and_an_anchor_read(specs):
    spec = next(s for s in specs if s.id == "example-omalizumab")
    questionnaire = q.build_questionnaire(spec)
    assert q.validate_questionnaire(questionnaire) == []
    items = {it["linkId"]: it for it in questionnaire["item"]}
    assert {"labs.total_ige", "labs.eosinophils", "patient.weight", "dose", "prior_therapies"} <= set(items)
    assert "prior_therapies.start_date" in [c["linkId"] for c in items["prior_therapies"]["item"]]
    assert "drug" not in items  # the product is the order's drug


def test_dump_round_trips_a_dose_table(specs):
    spec = next(s for s in specs if s.id == "example-omalizumab")
    again = dump_data(spec)["criteria"]["asthma_dose"]["dose"]
    assert again["table"]["keys"]["weight"] == "weight"
    assert again["table"]["keys"]["ige"]["lab"]["therapy_start"] == "anti_ige"
    assert again["table"]["rows"][1] == {
        "ige": {"min": 30, "max": 100},
        "weight": {"over": 90, "max": 150},
        "max": 300,
        "every_days": 28,
    }
