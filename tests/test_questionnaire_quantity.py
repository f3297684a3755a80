"""A valueQuantity's unit is read, never dropped: a lab result answered as a FHIR Quantity
keeps its unit (UCUM `code`, else `unit`); a unit that contradicts the separate unit answer
refuses the response (exit 2, the linkId named) rather than deciding with either one."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rxrego import generate
from rxrego.author.questionnaire import ResponseError, build_questionnaire, response_to_request
from rxrego.cli import main as cli_main
from rxrego.spec.loader import load_spec, load_specs

# Hemoglobin below 10 g/dL: 9.1 mmol/L (about 14.7 g/dL) must never be read as 9.1 g/dL.
SPEC = """\
schema_version: 1
id: acme-hemoglobin
number: "9.9.8"
title: Hemo
section: Prescription Drugs
effective_date: 2026-01-01
drug: {brand: Hemo, hcpcs: [J7778]}
coverage:
  medically_necessary: Hemo may be considered medically necessary if the conditions below are met.
  investigational: Hemo may be considered investigational for all other indications.
  indication: diagnosis
criteria:
  diagnosis:
    text: Anemia in chronic kidney disease
    diagnosis: {icd10: [D63.1]}
  adult:
    text: Age 18 years or older
    age: {min_years: 18}
  hemoglobin:
    text: Hemoglobin below 10 g/dL
    lab: {name: hemoglobin, loinc: [718-7], comparison: "<", value: 10, unit: g/dL, plausible: {min: 1, max: 25}}
requirements:
  initial: {title: Prior-Approval Requirements, duration_months: 3, all_of: [diagnosis, adult, hemoglobin]}
"""
UCUM = "http://unitsofmeasure.org"


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hemo") / "policy_source"
    folder.mkdir()
    path = folder / "hemo.yaml"
    path.write_text(SPEC)
    return path


def _response(spec, value: dict, unit: str | None) -> dict:
    q = build_questionnaire(spec)
    lab = [
        {"linkId": "labs.hemoglobin.value", "answer": [value]},
        {"linkId": "labs.hemoglobin.date", "answer": [{"valueDate": "2026-11-20"}]},
    ]
    if unit is not None:
        lab.append({"linkId": "labs.hemoglobin.unit", "answer": [{"valueCoding": {"system": UCUM, "code": unit}}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
        "item": [
            {"linkId": "patient.birth_date", "answer": [{"valueDate": "1970-01-01"}]},
            {"linkId": "diagnoses", "item": [{"linkId": "diagnoses.code", "answer": [{"valueString": "D63.1"}]}]},
            {"linkId": "labs.hemoglobin", "item": lab},
        ],
    }


def _lab(spec, value: dict, unit: str | None) -> dict:
    request = response_to_request(
        _response(spec, value, unit), spec, date_of_service="2026-11-30", request_type="initial"
    )
    (lab,) = request["labs"]
    return lab


def test_a_quantity_keeps_its_unit(spec_file):
    spec = load_spec(spec_file)
    # UCUM code wins over the human-readable unit; the unit stands in when there is no code
    coded = {"valueQuantity": {"value": 9.1, "unit": "millimole per liter", "system": UCUM, "code": "mmol/L"}}
    assert _lab(spec, coded, None)["unit"] == "mmol/L"
    assert _lab(spec, {"valueQuantity": {"value": 9.1, "unit": "mmol/L"}}, None)["unit"] == "mmol/L"
    # agreeing with the unit answer, or carrying none, is read as before
    assert _lab(spec, {"valueQuantity": {"value": 9.1, "unit": "g/dL"}}, "g/dL")["unit"] == "g/dL"
    assert _lab(spec, {"valueQuantity": {"value": 9.1}}, "g/dL") | {"value": 9.1} == _lab(
        spec, {"valueDecimal": 9.1}, "g/dL"
    )


@pytest.mark.parametrize(
    ("quantity", "unit", "words"),
    [
        (
            {"value": 9.1, "unit": "mmol/L"},
            "g/dL",
            "carries unit 'mmol/L', but linkId 'labs.hemoglobin.unit' answers 'g/dL'",
        ),
        ({"value": 9.1, "system": UCUM, "code": "mmol/L", "unit": "g/dL"}, "g/dL", "carries unit 'mmol/L'"),
        ({"value": 9.1, "system": "http://snomed.info/sct", "code": "258796002"}, None, "not UCUM"),
        ({"value": 9.1, "comparator": "<", "unit": "g/dL"}, "g/dL", "comparator '<'"),
    ],
    ids=["unit conflicts", "UCUM code conflicts", "foreign unit system", "comparator"],
)
def test_a_quantity_that_cannot_be_read_exactly_is_refused(spec_file, quantity, unit, words):
    spec = load_spec(spec_file)
    with pytest.raises(ResponseError, match=f"linkId 'labs.hemoglobin.value'.*{words}"):
        _lab(spec, {"valueQuantity": quantity}, unit)


def test_a_quantity_unit_where_no_unit_is_asked_is_refused(spec_file):
    spec = load_spec(spec_file)
    qr = _response(spec, {"valueDecimal": 9.1}, "g/dL")
    qr["item"][0] = {"linkId": "patient.birth_date", "answer": [{"valueQuantity": {"value": 3, "unit": "a"}}]}
    with pytest.raises(ResponseError, match=r"linkId 'patient\.birth_date'.*asks no unit"):
        response_to_request(qr, spec, date_of_service="2026-11-30", request_type="initial")


@pytest.mark.opa
def test_questionnaire_decide_never_approves_a_dropped_unit(spec_file, tmp_path, opa_path):
    rego = tmp_path / "rego"
    generate.write(generate.build(load_specs([spec_file.parent]), str(spec_file.parent)), rego)
    spec = load_spec(spec_file)
    args = ["--spec", str(spec_file), "--date-of-service", "2026-11-30", "--rego", str(rego), "--json"]

    def run(name: str, value: dict, unit: str | None):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(_response(spec, value, unit)))
        return path, CliRunner().invoke(cli_main, ["questionnaire-decide", str(path), *args])

    _, ok = run("ok", {"valueQuantity": {"value": 9.1, "unit": "g/dL"}}, "g/dL")
    assert ok.exit_code == 0, ok.output  # 9.1 g/dL is below 10 g/dL: approved
    path, conflict = run("conflict", {"valueQuantity": {"value": 9.1, "unit": "mmol/L"}}, "g/dL")
    assert conflict.exit_code == 2, conflict.output
    assert "Traceback" not in conflict.output and '"outcome"' not in conflict.output
    assert str(path) in conflict.output and "labs.hemoglobin.value" in conflict.output
    # the Quantity's own unit, without a unit answer: mmol/L is not convertible here, never approved
    _, alone = run("alone", {"valueQuantity": {"value": 9.1, "system": UCUM, "code": "mmol/L"}}, None)
    assert alone.exit_code == 1, alone.output
    assert json.loads(alone.output)["outcome"] != "approved"
