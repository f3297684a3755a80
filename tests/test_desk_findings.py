"""What a new policy author met at the author's desk, each fixed: the skeleton approves
nothing until the document is encoded, payer folders with hyphens, the test cheat-sheet,
`diff`'s wording, `decide` on an OPA data-API body, the questionnaire's reference range and
interval, other uses in the single-indication form and unclassified HCPCS codes."""

from __future__ import annotations

import re
import textwrap

import pytest

from conftest import items_by_link
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


# --- rxrego new: payer folders with hyphens, the test cheat-sheet, run refuses a TODO -----------


def _cli(*args):
    from click.testing import CliRunner

    from rxrego.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_new_splits_an_id_at_the_payer_folder_it_names(tmp_path):
    spec_dir = tmp_path / "policy_source"
    # A hyphenated --payer is a folder like the checkout's own policy_source/mn-dhs/.
    result = _cli("new", "mn-dhs-ocrevus", "--payer", "mn-dhs", "--title", "Ocrevus", "--dir", str(spec_dir))
    assert result.exit_code == 0, result.output
    assert (spec_dir / "mn-dhs" / "ocrevus.yaml").is_file()
    # Without --payer the id is split at the longest payer folder that exists...
    result = _cli("new", "mn-dhs-bylvay", "--title", "Bylvay", "--dir", str(spec_dir))
    assert result.exit_code == 0, result.output
    written = spec_dir / "mn-dhs" / "bylvay.yaml"
    assert written.is_file() and not (spec_dir / "mn").exists()
    assert (tmp_path / "conformance" / "mn-dhs" / "bylvay.cases.yaml").is_file()
    # ... and a name is not a document number: the number is the author's to give.
    check = _cli("check", str(written))
    assert "bylvay.yaml:16:9: number: placeholder left to fill in from the policy document" in check.output
    # A payer the id does not start with leaves the id whole as the file name.
    assert _cli("new", "bylvay2", "--payer", "mn-dhs", "--dir", str(spec_dir)).exit_code == 0
    assert (spec_dir / "mn-dhs" / "bylvay2.yaml").is_file()
    for bad in ("Bad Folder", "mn--dhs", "-mn", "mn-"):
        result = _cli("new", "x", "--payer", bad, "--dir", str(spec_dir))
        assert result.exit_code == 2 and "invalid --payer" in result.output, bad
    assert "mn-dhs-bylvay" in " ".join(_cli("new", "--help").output.split())


def test_the_skeletons_test_list_names_every_kind_the_language_has(tmp_path):
    from rxrego.author.skeleton import cheat_sheet
    from rxrego.spec import model  # noqa: F401  (registers every kind)
    from rxrego.spec.kinds import _COMBINATOR_KEYS, KINDS

    assert _cli("new", "acme-x", "--dir", str(tmp_path / "p")).exit_code == 0
    text = (tmp_path / "p" / "acme" / "x.yaml").read_text(encoding="utf-8")
    sheet = cheat_sheet()
    assert sheet in text
    words = set(sheet.replace(",", " ").replace("{", " ").replace("}", " ").replace(":", " ").split())
    assert set(KINDS) <= words and words >= _COMBINATOR_KEYS and "documentation" in words
    # min_months is there (the age test in months), and every field of each kind
    for key, cls in KINDS.items():
        assert set(cls.schema.get("properties", {})) <= words, key
    assert all(len(line) <= 100 for line in sheet.splitlines())
    # every line is a comment: the skeleton stays valid YAML with the same data
    assert all(line.startswith("#") for line in sheet.splitlines())


def test_run_stops_at_check_while_a_case_file_holds_a_todo(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    assert _cli("init", str(repo), "--payer", "Acme").exit_code == 0
    monkeypatch.chdir(repo)
    assert _cli("new", "acme-wegovy", "--title", "Wegovy").exit_code == 0
    spec = repo / "policy_source" / "acme" / "wegovy.yaml"
    body = spec.read_text(encoding="utf-8")
    body = re.sub(r"TODO[^\n\]\"}]*", "x", body)  # the spec filled in (crudely), the cases not
    body = body.replace("effective_date: x", "effective_date: 2026-01-01").replace("min_years: x", "min_years: 18")
    body = body.replace("duration_months: x", "duration_months: 6").replace("outcome: x", "outcome: not_covered")
    body = body.replace("icd10: [x]", "icd10: [E66]")
    spec.write_text(body, encoding="utf-8")
    assert _cli("check").exit_code == 0
    result = _cli("run")
    assert result.exit_code == 2, result.output
    assert "conformance/acme/wegovy.cases.yaml:15:22: bases.typical.date_of_service: placeholder" in result.output
    assert "generate     not run" in result.output and not (repo / "rego" / "rxrego").exists()


# --- decide on OPA's data-API body ------------------------------------------------------------------


def test_decide_takes_the_request_inside_an_opa_data_api_body_and_says_so(tmp_path, opa_path):
    import json

    from conftest import REGO, SPECS

    request = {
        "request_type": "initial",
        "date_of_service": "2026-06-15",
        "drug": {"hcpcs": "J9229"},
    }
    plain, wrapped = tmp_path / "plain.json", tmp_path / "wrapped.json"
    plain.write_text(json.dumps(request))
    wrapped.write_text(json.dumps({"input": request}))
    args = ("--rego", str(REGO), "--specs", str(SPECS), "--json")
    a, b = _cli("decide", str(plain), *args), _cli("decide", str(wrapped), *args)
    assert "required" not in b.output
    assert json.loads(a.stdout) == json.loads(b.stdout) and json.loads(b.stdout)["outcome"] == "pended"
    assert 'wraps the request as {"input": {...}}' in b.stderr and "input" not in a.stderr
    # A body with more than "input" is not the wrapper: decided as given (and refused).
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"input": request, "x": 1}))
    c = _cli("decide", str(other), *args)
    assert json.loads(c.stdout)["outcome"] == "invalid_request" and "wraps" not in c.stderr


# --- unclassified HCPCS codes ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["J3490", "J3590", "J9999"])
def test_an_unclassified_hcpcs_code_is_not_a_routing_key(tmp_path, code):
    path = tmp_path / "acme" / "bylvay.yaml"
    path.parent.mkdir(parents=True)
    text = _single_form("indication: diagnosis\nother_indications: {outcome: not_covered}\n")
    path.write_text(text.replace("generic: odevixibat}", f"generic: odevixibat, hcpcs: [J1234, {code.upper()}]}}"))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    (issue,) = raised.value.issues
    assert issue.path == "drug.hcpcs[1]" and issue.line == 7
    assert f"{code.upper()} is a HCPCS code for no one drug" in issue.message and "NDCs (ndc beside it" in issue.message
    result = _cli("new", "acme-x", "--hcpcs", code, "--dir", str(tmp_path / "p"))
    assert result.exit_code == 2 and "is a code for no one drug" in result.output
    assert not (tmp_path / "p").exists()
    # beside the drug's NDCs it is accepted, and check warns of it
    path.write_text(
        text.replace("generic: odevixibat}", f"generic: odevixibat, hcpcs: [{code}], ndc: [12345-6789-01]}}")
    )
    assert load_spec(path).drug.hcpcs == (code,)
    check = _cli("check", str(path))
    assert check.exit_code == 0 and f"warning: {path}" not in check.stdout
    assert f"drug.hcpcs: {code.upper()} (" in check.stderr and "whatever the drug" in check.stderr
    # a drug's own code is a routing key as before, without a warning
    path.write_text(text.replace("generic: odevixibat}", "generic: odevixibat, hcpcs: [J1234]}"))
    assert load_spec(path).drug.hcpcs == ("J1234",)
    assert "warning" not in _cli("check", str(path)).output


# --- diff: absent durations, criteria moved into an indication -----------------------------------


def test_diff_words_an_absent_duration_and_says_criteria_moved_into_an_indication(tmp_path):
    old = _spec(tmp_path, "indication: diagnosis\nother_indications: {outcome: not_covered}\n")
    text = _single_form("other_indications: {outcome: not_covered}\n").replace(
        """    duration_months: 12
    all_of: [diagnosis, age]
""",
        """    indications:
      pfic:
        heading: PFIC
        diagnosis: diagnosis
        all_of: [age]
""",
    )
    path = tmp_path / "acme" / "bylvay-new.yaml"
    path.write_text(text, encoding="utf-8")
    new = load_spec(path)
    lines = [line for c in diff_mod.spec_changes(old, new) if c.section == "Requirement sets" for line in c.lines]
    assert "duration_months: 12 -> not given (approval duration 12 months -> no duration)" in lines, lines
    assert "age: moved into indication pfic" in lines and "diagnosis: moved into indication pfic" in lines, lines
    assert not any("no longer part of the set" in line or "None" in line for line in lines), lines
    assert not any(line.startswith("all_of: removed") for line in lines), lines


# --- the questionnaire asks for every fact the criteria read -----------------------------------------


def test_questionnaire_asks_a_uln_lab_for_its_reference_range_and_explain_names_it(opa_path):
    from conftest import SPECS
    from rxrego.author.explain import explain_lines
    from rxrego.author.questionnaire import build_questionnaire, response_to_request

    spec = load_spec(SPECS / "mn-dhs" / "ocaliva.yaml")
    q = build_questionnaire(spec)
    items = items_by_link(q)
    uln = items["labs.alkaline_phosphatase.reference_range_high"]
    assert uln["type"] == "decimal" and uln["required"] is True and "upper limit of normal" in uln["text"].lower()
    assert "labs.total_bilirubin.reference_range_high" in items or any(
        k.endswith(".reference_range_high") and k != "labs.alkaline_phosphatase.reference_range_high" for k in items
    )
    # The answer maps back to the result's reference range.
    group = {
        "linkId": "labs.alkaline_phosphatase",
        "item": [
            {"linkId": "labs.alkaline_phosphatase.value", "answer": [{"valueDecimal": 300}]},
            {"linkId": "labs.alkaline_phosphatase.date", "answer": [{"valueDate": "2026-05-01"}]},
            {"linkId": "labs.alkaline_phosphatase.reference_range_high", "answer": [{"valueDecimal": 120}]},
        ],
    }
    request = response_to_request(
        {"resourceType": "QuestionnaireResponse", "item": [group]},
        spec,
        date_of_service="2026-06-15",
        request_type="initial",
        final=False,
    )
    (lab,) = request["labs"]
    assert lab["reference_range"] == {"high": 120} and lab["value"] == 300 and "reference_range_high" not in lab

    # The golden case's approvable request, its results without it: explain says the ULN is
    # what is missing.
    from conftest import CASES
    from rxrego.conformance.cases import load_case_file

    cases = load_case_file(CASES / "mn-dhs" / "ocaliva.cases.yaml").cases
    request = next(c.request for c in cases if c.name == "approved-without-an-end-date")
    for result in request["labs"]:
        del result["reference_range"]
    (decision,) = diff_mod.decide_all([spec], [request])
    lines, _ = explain_lines(decision, request, [spec])
    text = "\n".join(lines)
    assert decision["outcome"] == "pended"
    assert "needed: each alkaline_phosphatase result with its reference range's upper limit" in text, text
    assert "without reference_range.high: the upper limit of normal the threshold" in text, text


def test_questionnaire_requires_the_dose_interval_a_regimen_reads_and_explain_names_it(opa_path):
    from conftest import SPECS
    from rxrego.author.questionnaire import build_questionnaire

    spec = load_spec(SPECS / "point32health" / "zepbound-osa.yaml")
    every = items_by_link(build_questionnaire(spec))["dose.every_days"]
    assert every["required"] is True
    # Beside a dose test that reads no interval, it stays optional.
    ocaliva = load_spec(SPECS / "mn-dhs" / "ocaliva.yaml")
    assert "dose.every_days" not in items_by_link(build_questionnaire(ocaliva)) or not items_by_link(
        build_questionnaire(ocaliva)
    )["dose.every_days"].get("required")
    regimen = next(c for c in spec.criteria if c.test.__class__.__name__ == "DoseRegimenTest")
    assert "dose.every_days" in regimen.test.missing_hint()
    assert "no every_days" in regimen.test.fact_note("dose", {"amount": 10, "unit": "mg"}, None)
    assert regimen.test.fact_note("dose", {"amount": 10, "unit": "mg", "every_days": 7}, None) == ""
