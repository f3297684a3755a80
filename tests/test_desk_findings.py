"""What a new policy author met at the author's desk, each fixed: the skeleton approves
nothing until the document is encoded, payer folders with hyphens, the test cheat-sheet,
`diff`'s wording, `decide` on an OPA data-API body, the questionnaire's reference range and
interval, other uses in the single-indication form and unclassified HCPCS codes."""

from __future__ import annotations

import textwrap

import pytest

from rxrego import reference
from rxrego.author import diff as diff_mod
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_spec

# --- other uses in the single-indication form (docs/semantics.md, "Other indications") ---------


def _single_form(coverage: str) -> str:
    return textwrap.dedent(
        """\
        schema_version: 1
        id: acme-bylvay
        number: "BYLVAY"
        title: Bylvay
        section: PA criteria
        effective_date: 2024-01-01
        drug: {brand: Bylvay, generic: odevixibat}
        coverage:
        %s
        criteria:
          diagnosis:
            text: Diagnosis of progressive familial intrahepatic cholestasis (PFIC)
            diagnosis: {icd10: [K76.89]}
          age:
            text: Age 3 months or older
            age: {min_months: 3}
        requirements:
          initial:
            title: Approval criteria
            duration_months: 12
            all_of: [diagnosis, age]
        """
    ) % textwrap.indent(textwrap.dedent(coverage), "  ")


def _spec(tmp_path, coverage: str):
    path = tmp_path / "acme" / "bylvay.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_single_form(coverage), encoding="utf-8")
    return load_spec(path)


def _request(code: str, birth: str = "2020-01-01") -> dict:
    return {
        "request_type": "initial",
        "date_of_service": "2024-06-01",
        "patient": {"birth_date": birth},
        "drug": {"name": "Bylvay"},
        "diagnoses": [{"code": code}],
    }


OTHER = _request("K74.3")  # primary biliary cholangitis: another use
MALFORMED = _request("E.2.4.0")
APPROVABLE = _request("K76.89")


def _decide(spec, requests):
    opa = diff_mod.decide_all([spec], requests)
    ref = [reference.decide([spec], r) for r in requests]
    assert opa == ref  # OPA and the reference evaluator agree
    return opa


def test_single_form_says_other_uses_are_not_covered_without_an_investigational_sentence(tmp_path, opa_path):
    spec = _spec(tmp_path, "indication: diagnosis\nother_indications: {outcome: not_covered}\n")
    assert spec.coverage.investigational is None
    other, malformed, approved = _decide(spec, [OTHER, MALFORMED, APPROVABLE])
    assert (other["outcome"], other["reason"]) == ("denied", "not_covered")
    assert other["unmet"] == [
        {
            "id": "other_indications",
            "text": "The diagnosis is not the indication the policy covers: "
            "Diagnosis of progressive familial intrahepatic cholestasis (PFIC).",
        },
        {"id": "diagnosis", "text": "Diagnosis of progressive familial intrahepatic cholestasis (PFIC)"},
    ]
    # A malformed code is not another use: the criterion is unmet, as the indications form says.
    assert (malformed["outcome"], malformed["reason"]) == ("denied", "criteria_unmet")
    assert approved["outcome"] == "approved"


def test_single_form_pends_other_uses_for_review_quoting_the_policy(tmp_path, opa_path):
    spec = _spec(
        tmp_path,
        "indication: diagnosis\nother_indications:\n  outcome: pend_for_review\n"
        "  statement: Other uses are reviewed case by case.\n",
    )
    (other,) = _decide(spec, [OTHER])
    assert (other["outcome"], other["reason"]) == ("pended", "other_indication_review")
    assert other["review"] == "Other uses are reviewed case by case."
    assert other["unmet"] == [] and other["missing"] == []


def test_single_form_investigational_from_either_place_decides_as_before(tmp_path, opa_path):
    sentence = "Bylvay is investigational for all other indications."
    before = _spec(tmp_path, f"indication: diagnosis\ninvestigational: {sentence}\n")
    after = _spec(
        tmp_path, f"indication: diagnosis\nother_indications: {{outcome: investigational, statement: {sentence}}}\n"
    )
    (a,) = _decide(before, [OTHER])
    (b,) = _decide(after, [OTHER])
    assert a["reason"] == b["reason"] == "investigational"
    assert a["unmet"] == b["unmet"] and a["unmet"][0] == {"id": "investigational", "text": sentence}


@pytest.mark.parametrize(
    "coverage, message",
    [
        ("indication: diagnosis\n", "what happens to a request for another use?"),
        (
            "indication: diagnosis\ninvestigational: X.\nother_indications: {outcome: not_covered}\n",
            "give one of investigational",
        ),
        ("other_indications: {outcome: not_covered}\n", "other_indications needs the indication it is other to"),
    ],
)
def test_single_form_other_uses_mistakes_are_named(tmp_path, coverage, message):
    with pytest.raises(SpecError, match=message):
        _spec(tmp_path, coverage)
