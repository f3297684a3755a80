"""A valueQuantity's unit is read, never dropped: a lab result answered as a FHIR Quantity
keeps its unit (UCUM `code`, else `unit`); a unit that contradicts the separate unit answer
refuses the response (exit 2, the linkId named) rather than deciding with either one."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import ROOT
from rxrego import generate, opa
from rxrego.author.questionnaire import ResponseError, build_questionnaire, response_to_request
from rxrego.cli import main as cli_main
from rxrego.spec.kinds import unit_factors
from rxrego.spec.loader import load_spec, load_specs
from rxrego.terminology import ucum

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


def test_a_quantity_unit_where_no_unit_is_asked_is_refused():
    # MN DHS Bosulif's quantity limit asks the days supply as a number, with no unit question
    spec = load_spec(ROOT / "policy_source" / "mn-dhs" / "bosulif.yaml")
    q = build_questionnaire(spec)
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
        "item": [{"linkId": "quantity.days_supply", "answer": [{"valueQuantity": {"value": 4, "unit": "wk"}}]}],
    }
    with pytest.raises(ResponseError, match=r"linkId 'quantity\.days_supply'.*asks no unit"):
        response_to_request(qr, spec, date_of_service="2026-11-30", request_type="initial")


def test_a_quantity_to_a_date_question_is_refused(spec_file):
    spec = load_spec(spec_file)
    qr = _response(spec, {"valueDecimal": 9.1}, "g/dL")
    qr["item"][0] = {"linkId": "patient.birth_date", "answer": [{"valueQuantity": {"value": 3, "unit": "a"}}]}
    with pytest.raises(
        ResponseError, match=r"linkId 'patient\.birth_date': a date question is answered with valueQuantity"
    ):
        response_to_request(qr, spec, date_of_service="2026-11-30", request_type="initial")


@pytest.fixture(scope="module")
def rego(spec_file, tmp_path_factory, opa_path):
    out = tmp_path_factory.mktemp("hemo-rego") / "rego"
    generate.write(generate.build(load_specs([spec_file.parent]), str(spec_file.parent)), out)
    return out


@pytest.mark.opa
def test_questionnaire_decide_never_approves_a_dropped_unit(spec_file, rego, tmp_path):
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


# Valid UCUM for a g/dL threshold that the generated table does not hold (docs/semantics.md,
# "Tests", **Lab**, *Value*): the table is finite, and OPA never parses a unit.
OUTSIDE_THE_TABLE = ("g/(100.mL)", "kg/L", "mg/mL")


@pytest.mark.opa
def test_units_outside_the_table_are_unit_not_convertible_as_documented(rego):
    table = unit_factors("g/dL")
    for unit in OUTSIDE_THE_TABLE:
        assert ucum.factor(unit, "g/dL") > 0 and unit.lower() not in table  # valid UCUM, not in the table
    base = {
        "request_type": "initial",
        "date_of_service": "2026-11-30",
        "patient": {"id": "P-1", "birth_date": "1970-01-01"},
        "drug": {"name": "Hemo", "hcpcs": "J7778"},
        "diagnoses": [{"code": "D63.1"}],
    }
    in_table = [("g/L", 91), ("g/dL", 9.1), ("mg/dL", 9100)]
    requests = [
        {**base, "labs": [{"name": "hemoglobin", "code": "718-7", "value": v, "unit": u, "date": "2026-11-20"}]}
        for u, v in [*in_table, *((u, 9.1) for u in OUTSIDE_THE_TABLE)]
    ]
    decisions = opa.eval_batch(rego, "data.rxrego.decisions", {"requests": requests})["value"]
    for (unit, _), d in zip(in_table, decisions, strict=False):
        assert d["outcome"] == "approved", (unit, d)
    for unit, d in zip(OUTSIDE_THE_TABLE, decisions[len(in_table) :], strict=True):
        assert d["outcome"] == "pended", (unit, d)
        (entry,) = [e for e in d["missing"] if e["id"] == "hemoglobin"]
        assert (entry.get("reason"), entry.get("unit")) == ("unit_not_convertible", "g/dL"), (unit, entry)
    # and the documents say so: no promise of "any unit convertible"
    for doc in ("docs/semantics.md", "README.md"):
        text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert "any unit convertible" not in text and "any convertible UCUM unit" not in text, doc
