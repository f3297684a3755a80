"""The questionnaire reads well: the document's own `question:` wording, yes/no statuses worded
from their name without forming a wrong sentence, lab units as coded UCUM choices, and a
diagnosis qualifier required only for the diagnoses it qualifies."""

from __future__ import annotations

from pathlib import Path

from conftest import items_by_link
from rxrego.author.questionnaire import build_questionnaire, response_to_request, validate_questionnaire
from rxrego.spec.dump import content_version, dump_data
from rxrego.spec.loader import load_spec

SPEC = """\
schema_version: 1
id: acme-wording
number: "9.9.9"
title: Wordy
section: Prescription Drugs
effective_date: 2026-01-01
drug: {brand: Wordy, hcpcs: [J7777]}
coverage:
  medically_necessary: Wordy may be considered medically necessary if the conditions below are met.
  investigational: Wordy may be considered investigational for all other indications.
  indication: diagnosis
criteria:
  diagnosis:
    text: CML in chronic phase, or Ph+ ALL
    any_of: [cml, all]
  cml:
    text: Chronic myeloid leukemia in chronic phase
    diagnosis: {icd10: [C92.1], qualifiers: {phase: [chronic]}}
  all:
    text: Ph+ acute lymphoblastic leukemia
    diagnosis: {icd10: [C91.0], qualifiers: {lineage: [b_cell_precursor]}}
  chemo:
    text: Used with chemotherapy
    clinical_status: {name: used_with_chemotherapy, required: true}
  anc:
    text: ANC at or above 1000 cells/uL within 30 days
    question: What was the patient's most recent absolute neutrophil count?
    lab: {name: anc, comparison: ">=", value: 1000, unit: cells/uL, within_days: 30, plausible: {min: 0, max: 100000}}
  hepatitis:
    text: Screened for hepatitis B
    question: Has the patient been screened for hepatitis B virus before starting treatment?
    attestation: hepatitis_b_screening
requirements:
  initial: {title: Prior-Approval Requirements, duration_months: 6, all_of: [diagnosis, chemo, anc, hepatitis]}
"""


def test_questionnaire_wording_units_and_qualifiers(tmp_path: Path):
    path = tmp_path / "wordy.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path)
    q = build_questionnaire(spec)
    assert validate_questionnaire(q) == []
    items = items_by_link(q)

    # the document's own question, with the policy's words after it
    assert items["prescriber.attestations.hepatitis_b_screening"]["text"].startswith(
        "Has the patient been screened for hepatitis B virus before starting treatment? Policy: Screened for hepatitis B."
    )
    assert items["labs.anc"]["text"].startswith("What was the patient's most recent absolute neutrophil count?")
    # a status worded from its name, never "Does the patient have used with chemotherapy?"
    chemo = items["clinical_status.used_with_chemotherapy"]["text"]
    assert (
        chemo.startswith("Used with chemotherapy? Policy: Used with chemotherapy.")
        and "Does the patient have" not in chemo
    )

    # each qualifier is required only for the diagnoses it qualifies, and says which
    assert (items["diagnoses.phase"]["required"], items["diagnoses.phase"]["text"]) == (
        False,
        "Phase (for codes starting C92.1)",
    )
    assert (items["diagnoses.lineage"]["required"], items["diagnoses.lineage"]["text"]) == (
        False,
        "Lineage (for codes starting C91.0)",
    )

    # the unit is a coded UCUM choice; a lab spelling shows its UCUM code. The policy's own
    # unit comes first and is the initial answer; the lab kind converts the other UCUM
    # units offered into it, so they follow
    unit = items["labs.anc.unit"]
    assert unit["type"] == "choice"
    own = {"system": "http://unitsofmeasure.org", "code": "cells/uL", "display": "cells/uL (UCUM {cells}/uL)"}
    assert unit["answerOption"][0] == {"valueCoding": own} and unit["initial"] == [{"valueCoding": own}]
    offered = [o["valueCoding"]["code"] for o in unit["answerOption"][1:]]
    assert "10*9/L" in offered and "mg/dL" not in offered

    # answered, the coded unit reaches the request as the policy writes it
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
        "item": [
            {
                "linkId": "labs.anc",
                "item": [
                    {"linkId": "labs.anc.value", "answer": [{"valueDecimal": 1500}]},
                    {"linkId": "labs.anc.unit", "answer": [unit["initial"][0]]},
                    {"linkId": "labs.anc.date", "answer": [{"valueDate": "2026-05-01"}]},
                ],
            },
            {"linkId": "diagnoses", "item": [{"linkId": "diagnoses.code", "answer": [{"valueString": "C91.00"}]}]},
        ],
    }
    request = response_to_request(qr, spec, date_of_service="2026-05-10", request_type="initial")
    assert request["labs"] == [{"name": "anc", "value": 1500, "unit": "cells/uL", "date": "2026-05-01"}]
    assert request["diagnoses"] == [{"code": "C91.00"}]

    # `question` is part of the spec: it round-trips and changes the content version
    assert dump_data(spec)["criteria"]["anc"]["question"].startswith("What was")
    bare = tmp_path / "bare.yaml"
    bare.write_text(
        SPEC.replace("    question: What was the patient's most recent absolute neutrophil count?\n", ""),
        encoding="utf-8",
    )
    assert content_version(load_spec(bare)) != content_version(spec)


def test_a_qualifier_every_covered_diagnosis_has_is_required():
    from conftest import SPECS

    items = items_by_link(build_questionnaire(load_spec(SPECS / "fep" / "5.21.100-besponsa.yaml")))
    assert (items["diagnoses.lineage"]["required"], items["diagnoses.lineage"]["text"]) == (True, "Lineage")
    assert items["clinical_status.disease_progression"]["text"].startswith("Disease progression?")
