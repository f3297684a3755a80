"""The policy author's desk: render, explain, diff, questionnaire (+ questionnaire-decide), new."""

from __future__ import annotations

import copy
import datetime as dt
import html.parser
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from markupsafe import escape

from conftest import CASES, EXAMPLES, SPECS, items_by_link
from rxrego import generate as gen
from rxrego import opa
from rxrego.author import diff as diff_mod
from rxrego.author.common import load_spec_file, long_date, set_criteria
from rxrego.author.explain import header_lines
from rxrego.author.questionnaire import (
    ResponseError,
    build_questionnaire,
    response_to_request,
    validate_questionnaire,
)
from rxrego.author.render import render
from rxrego.cli import main
from rxrego.conformance.cases import load_case_file, mismatches
from rxrego.spec.dump import content_version
from rxrego.spec.dump import dump_data as to_data
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_specs

BESPONSA = SPECS / "fep" / "5.21.100-besponsa.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def spec():
    return load_spec_file(BESPONSA)


@pytest.fixture(scope="module")
def rego_dir(opa_path, tmp_path_factory):
    """Rego generated from policy_source/ into a scratch folder (independent of rego/'s state)."""
    out = tmp_path_factory.mktemp("author-rego") / "rego"
    gen.write(gen.build(load_specs([SPECS])), out)
    return out


def run(*args: str, color: bool = False):
    return CliRunner().invoke(main, list(args), color=color)


def norm(text: str) -> str:
    return " ".join(text.split())


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# --- render ------------------------------------------------------------------------------------------


def every_criterion(spec) -> list:
    ids = {cid for rs in spec.requirements for cid in set_criteria(spec, rs)}
    assert len(ids) == len(spec.criteria) == 13  # every criterion of 5.21.100 takes part in a set
    return [spec.criterion(cid) for cid in sorted(ids)]


def test_render_markdown_has_every_criterion_both_durations_and_the_history(spec):
    md = render(spec, "md", rules=False)  # the document alone, laid out like the source
    for c in every_criterion(spec):
        assert norm(c.text) in md, c.id
    assert "Duration 3 months" in md and "Duration 6 months" in md
    for h in spec.history:
        assert f"| {long_date(h.date)} | {norm(h.action)} |" in md, h.date
    # Laid out like the document: identity, preamble, numbered list, conditional wording.
    for expected in (
        "| Policy number | 5.21.100 |",
        "| Effective Date | April 1, 2026 |",
        "| Original Policy Date | September 8, 2017 |",
        "| Last Review Date | March 6, 2026 |",
        "| Subsection | Antineoplastic Agents |",
        "Besponsa may be considered **medically necessary** if",
        "### Prior – Approval Renewal Limits",
        "### Pre - PA Allowance\n\nNone",
        "1. Age 18+ only: if Philadelphia",
        "If Age 18+ AND Philadelphia chromosome-positive (Ph+), then ALL of the following:",
        "- a. patient must have failed treatment with at least ONE tyrosine kinase inhibitor",
        "4. Prescriber agrees NOT to add HSCT",
        "1. NO disease progression or unacceptable toxicities\n   - Patient must have ALL of the following:",
        "1. Besponsa [package insert].",
        "Blinicyto, Erwinaze, Gleevec",
    ):
        assert expected in md, expected
    initial = md.index("### Prior-Approval Requirements")
    order = [
        md.index(s, initial)
        for s in (
            "Age 1 year of age or older",
            "**Diagnosis**",
            "Patient must have the following",
            "AND ALL of the following:",
            "1. Age 18+",
        )
    ]
    assert order == sorted(order)
    assert initial < md.index("### Prior – Approval Renewal Requirements") < md.index("## Policy History")


class _Balance(html.parser.HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_render_html_is_one_escaped_self_contained_document(spec):
    page = render(spec, "html")
    for c in every_criterion(spec):
        assert str(escape(norm(c.text))) in page, c.id
    assert "Duration 3 months" in page and "Duration 6 months" in page
    for h in spec.history:
        assert f'<td class="date">{long_date(h.date)}</td><td>{escape(norm(h.action))}</td>' in page, h.date
    assert "<style>" in page and "@media print" in page
    assert not re.search(r"\b(src|href)\s*=|<script|<link|@import|url\(", page)  # no external assets, no scripts
    parser = _Balance()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    assert {"ol", "li", "table", "section"} <= parser.tags
    assert '<ol class="level-1" type="a">' in page  # nested criteria lettered like the document


@pytest.mark.parametrize("path", sorted(SPECS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_render_lists_each_product_with_its_routing_codes(path):
    """A policy listing products shows each one in the identity block, with its id (what a
    `product` criterion names), kind, NDCs, HCPCS codes, strengths and routes as the spec
    writes them, so a reviewer can check the codes a request routes by against the document."""
    s = load_spec_file(path)
    md, page = render(s, "md"), render(s, "html")
    rows = [line for line in md.splitlines() if line.startswith("| Product `")]
    assert len(rows) == len(s.drug.products)
    for row, p in zip(rows, s.drug.products, strict=True):
        assert row.startswith(f"| Product `{p.id}` | ")
        for value in (p.name, p.kind, *p.ndc, *p.hcpcs, *p.strengths, *p.routes):
            assert value in row, (p.id, value)
        assert f"<tr><th>Product <code>{p.id}</code></th><td>{escape(p.name)} ({p.kind}" in page
        for value in (*p.ndc, *p.hcpcs, *p.strengths, *p.routes):
            assert str(escape(value)) in page, (p.id, value)


def test_render_shows_each_criterion_beside_its_encoded_rule(spec, tmp_path):
    """The review document shows the rule behind the wording: counts, thresholds, value-set
    members and ICD-10-CM codes with the code set's descriptions, so an encoding that does not
    match the wording shows."""
    page = render(spec, "html")
    assert page.count('<div class="pair"') >= len(every_criterion(spec))
    for needle in (
        "age at the date of service",  # the age bounds
        "C91.0 Acute lymphoblastic leukemia [ALL]",  # the code set's description, not the spec's
        "C91.02 Acute lymphoblastic leukemia, in relapse",
        "value set tyrosine_kinase_inhibitors: imatinib, dasatinib, nilotinib, bosutinib, ponatinib, asciminib",
        "applies only when all of these hold: “Age 18+”, “Philadelphia chromosome-positive (Ph+)”",
    ):
        assert str(escape(needle)) in page, needle
    assert 'class="pair"' not in render(spec, "html", rules=False) and 'class="rule"' not in render(
        spec, "html", rules=False
    )

    # "2 of the following" encoded as at_least: 1: the render shows the count the Rego uses.
    data = to_data(spec)
    data["criteria"]["no_progression_or_toxicity"] = {
        "text": "2 of the following",
        "at_least": {"n": 1, "of": ["no_disease_progression", "no_unacceptable_toxicity"]},
    }
    path = write_yaml(tmp_path / "miscounted.yaml", data)
    md = run("render", str(path)).output
    assert "1. 2 of the following\n   <br>*Rule:* met when at least 1 (ONE) of the 2 criteria below is met" in md
    assert "at least 1 (ONE) of the 2 criteria below" in run("render", str(path), "--format", "html").output
    assert "Rule:" not in run("render", str(path), "--no-rules").output
    wording = run("check", "--wording", str(path))
    assert (
        wording.exit_code == 1
        and 'the wording says "2 of the following" but the encoding requires 1 of them' in wording.output
    )


def test_render_escapes_hostile_text_in_html_and_markdown(spec, tmp_path):
    data = to_data(spec)
    hostile = "<script>alert(1)</script>"
    data["title"] = f"Besponsa {hostile}"
    data["background"] = f"Background {hostile}"
    data["criteria"]["vod_monitoring"]["text"] = f"Prescriber agrees {hostile} & more"
    data["history"][0]["action"] = f"Addition {hostile}"
    path = write_yaml(tmp_path / "hostile.yaml", data)
    out = tmp_path / "hostile.html"
    result = run("render", str(path), "--format", "html", "-o", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page
    assert (
        page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    )  # <title>, <h1>, background, criterion (x2 sets), history
    assert "Prescriber agrees &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    md = run("render", str(path)).output
    assert re.search(r"(?<!\\)<script", md) is None and "\\<script>" in md


def test_render_reports_input_mistakes_without_a_traceback(tmp_path):
    result = run("render", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2 and "no such file" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        BESPONSA.read_text(encoding="utf-8").replace("  age_1_or_older:\n    text:", "  age_1_or_older:\n    txt:"),
        encoding="utf-8",
    )
    result = run("render", str(broken), "--format", "html")
    assert result.exit_code == 2
    assert re.search(
        r"broken\.yaml:\d+:\d+: criteria\.age_1_or_older\.txt: unknown field 'txt'; did you mean 'text'\?",
        result.output,
    )
    assert isinstance(result.exception, SystemExit)


# --- explain -------------------------------------------------------------------------------------------

ADULT_PH = {
    "request_type": "initial",
    "date_of_service": "2026-06-15",
    "patient": {"birth_date": "1980-03-20"},
    "drug": {"hcpcs": "J9229"},
    "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}],
    "biomarkers": {"CD22": "positive", "philadelphia_chromosome": "positive"},
    "prior_therapies": [{"agent": "imatinib", "class": "tyrosine_kinase_inhibitor", "result": "intolerant"}],
    "prescriber": {"attestations": {"liver_tests_each_dose": True, "no_alkylating_hsct_conditioning": "yes"}},
}


def _line(output: str, cid: str) -> str:
    return next(
        line.strip()
        for line in output.splitlines()
        if line.rstrip().endswith(f"[{cid}]") and not line.strip().startswith("-")
    )


def test_explain_shows_the_tree_statuses_and_the_facts_each_leaf_read(rego_dir, tmp_path):
    req = tmp_path / "req.json"
    req.write_text(json.dumps(ADULT_PH))
    result = run("explain", str(req), "--specs", str(SPECS), "--rego", str(rego_dir))
    out = result.output
    assert result.exit_code == 0, out
    assert ANSI.search(out) is None  # not a terminal: plain text
    assert out.startswith("Decision    DENIED  (criteria_unmet)")
    for fact in (
        "patient.birth_date = 1980-03-20 (age 46 on 2026-06-15)",
        "biomarkers.CD22 = positive",
        "biomarkers.philadelphia_chromosome = positive",
        "prescriber.attestations.vod_monitoring = (absent)",
        "prescriber.attestations.no_alkylating_hsct_conditioning = yes (not true/false: never met)",
        "- {agent: imatinib, class: tyrosine_kinase_inhibitor, result: intolerant}",
    ):
        assert fact in out, fact
    expected = {
        "age_1_or_older": "met",
        "diagnosis": "met",
        "ph_positive_adult_prior_therapy": "unmet",
        "age_18_or_older": "met",
        "ph_positive": "met",
        "failed_tki": "unmet",
        "failed_standard_chemotherapy": "unmet",
        "vod_monitoring": "unknown",
        "no_alkylating_hsct_conditioning": "unmet",
    }
    for cid, status in expected.items():
        assert _line(out, cid).split()[0] == status, cid
    assert "when ALL of these hold: (the condition holds, so the requirement applies)" in out
    assert "then ALL of these are required:" in out
    assert "unmet   Prior-Approval Requirements: ALL of the following" in out
    assert "Age 18+ only: if Philadelphia chromosome-positive (Ph+), patient must have failed" in out


def test_explain_colours_on_a_terminal_and_not_with_no_color(rego_dir, tmp_path):
    req = tmp_path / "req.json"
    req.write_text(json.dumps(ADULT_PH))
    coloured = run("explain", str(req), "--specs", str(SPECS), "--rego", str(rego_dir), color=True).output
    assert "\x1b[32m" in coloured and "\x1b[31m" in coloured and "\x1b[33m" in coloured
    plain = run("explain", str(req), "--specs", str(SPECS), "--rego", str(rego_dir), "--no-color", color=True).output
    assert ANSI.search(plain) is None and "DENIED" in plain


def test_explain_pended_renewal_no_policy_and_invalid_request(rego_dir, tmp_path):
    renewal = {**copy.deepcopy(ADULT_PH), "request_type": "renewal", "clinical_status": {"disease_progression": False}}
    renewal["prescriber"]["attestations"] = {
        "liver_tests_each_dose": True,
        "vod_monitoring": True,
        "no_alkylating_hsct_conditioning": True,
    }
    outputs = {}
    for name, request in {
        "renewal": renewal,
        "aspirin": {
            "request_type": "initial",
            "date_of_service": "2026-06-15",
            "drug": {"name": "aspirin", "hcpcs": "J9999"},
        },
        "broken": {"request_type": "later", "drug": {"hcpcs": 9229}},
        "in_2023": {**ADULT_PH, "date_of_service": "2023-06-15", "patient": {"birth_date": "2011-01-01"}},
        "in_2016": {**ADULT_PH, "date_of_service": "2016-06-15"},
    }.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(request))
        result = run("explain", str(path), "--specs", str(SPECS), "--rego", str(rego_dir))
        assert result.exit_code == 0, result.output
        outputs[name] = result.output
    assert "PENDED  (information_missing)" in outputs["renewal"]
    assert "clinical_status.unacceptable_toxicity = (absent)" in outputs["renewal"]
    assert _line(outputs["renewal"], "no_unacceptable_toxicity").split()[0] == "unknown"
    assert "Prior – Approval Renewal Requirements" in outputs["renewal"]
    assert (
        "NO_POLICY  (no_policy)" in outputs["aspirin"]
        and "no policy covers this drug (hcpcs J9999, name aspirin)" in outputs["aspirin"]
    )
    assert "INVALID_REQUEST" in outputs["broken"]
    for field in ("date_of_service:", "drug.hcpcs:", "request_type:"):
        assert f"  - {field}" in outputs["broken"], field
    # Decided by the version in force on the date of service: its tree, its wording.
    assert "version effective 2017-12-01" in outputs["in_2023"]
    assert _line(outputs["in_2023"], "age_18_or_older").startswith("unmet   Age 18 years of age or older")
    assert "patient.birth_date = 2011-01-01 (age 12 on 2023-06-15)" in outputs["in_2023"]
    assert "not in force on the date of service; it applies from 2017-09-08" in outputs["in_2016"]


def test_explain_input_mistakes_exit_2(rego_dir, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"request_type": "initial",\n  oops}')
    result = run("explain", str(bad), "--rego", str(rego_dir))
    assert result.exit_code == 2 and "bad.json:2:3: not valid JSON" in result.output
    result = run("explain", str(bad.with_name("none.json")), "--rego", str(rego_dir))
    assert result.exit_code == 2 and "no such file" in result.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps(ADULT_PH))
    result = run("explain", str(good), "--rego", str(tmp_path / "no-rego"))
    assert result.exit_code == 2 and "no such folder" in result.output


# --- diff --------------------------------------------------------------------------------------------------


def april_2024_predecessor(spec) -> dict:
    """5.21.100 as it was before the April 2024 PI update: adults only, no CD22 in the
    indication, liver tests prior to each dose only."""
    data = to_data(spec)
    data["effective_date"] = "2024-03-01"
    crit = data["criteria"]
    crit["age_1_or_older"]["age"]["min_years"] = 18
    crit["age_1_or_older"]["text"] = "Age 18 years of age or older"
    del crit["diagnosis"]["diagnosis"]["biomarkers"]
    crit["diagnosis"]["text"] = crit["diagnosis"]["text"].replace("CD22-positive ", "")
    crit["liver_tests_each_dose"]["text"] = crit["liver_tests_each_dose"]["text"].replace(
        "prior to and following each dose", "prior to each dose"
    )
    data["history"] = [h for h in data["history"] if h["date"] < "2024-04"]
    data["earlier_versions"] = [v for v in data.get("earlier_versions", []) if v["effective_date"] < "2024-03-01"]
    return data


def test_diff_names_each_change_and_the_cases_that_flip(spec, rego_dir, tmp_path, monkeypatch):
    old = write_yaml(tmp_path / "old.yaml", april_2024_predecessor(spec))
    calls = []
    real = opa.eval_batch
    monkeypatch.setattr(opa, "eval_batch", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    result = run("diff", str(old), str(BESPONSA), "--cases", str(CASES), "--specs", str(SPECS))
    out = result.output
    assert result.exit_code == 1, out
    assert calls == [opa.DECIDE_EACH, opa.DECIDE_EACH]  # one opa eval per version
    for expected in (
        "effective_date: 2024-03-01 -> 2026-04-01",
        "age_1_or_older (age)",
        "text: Age 18 years of age or older -> Age 1 year of age or older",
        "age.min_years: 18 -> 1",
        "diagnosis.biomarkers.CD22: added (positive)",
        "words: Relapsed or refractory {+CD22-positive+} B-cell precursor",
        "- old: Prescriber agrees to obtain ALT, AST, total bilirubin, and alkaline phosphatase prior to each dose of Besponsa",
        "+ new: Prescriber agrees to obtain ALT, AST, total bilirubin, and alkaline phosphatase prior to and following each dose of Besponsa",
        "{+and following+}",
        "added: 2024-04 Per PI update, reduced age requirement to 1 and older",
        "age-1-on-first-birthday-approved: denied -> approved",
        "age-1-day-after-first-birthday-approved: denied -> approved",
        "approved-ph-positive-child-without-prior-therapy: denied -> approved",
        "cd22-negative-investigational: approved -> denied",
        "cd22-absent-pended: approved -> pended",
    ):
        assert expected in out, expected
    flipped = out[out.index("Golden cases that change") :]
    assert "age-0-day-before-first-birthday-denied" not in flipped  # denied under both versions
    assert "approved-adult-ph-negative:" not in flipped
    assert re.search(r"\d+ change\(s\) in the spec, \d+ golden case\(s\) decide differently", out)


def test_diff_of_equal_specs_exits_0(tmp_path):
    copy_ = tmp_path / "same.yaml"
    copy_.write_text("# a comment-only change\n" + BESPONSA.read_text(encoding="utf-8"), encoding="utf-8")
    result = run("diff", str(BESPONSA), str(copy_), "--cases", str(CASES), "--specs", str(SPECS))
    assert result.exit_code == 0, result.output
    assert "no differences" in result.output and "the models are equal" in result.output


def test_spec_changes_cover_codes_value_sets_durations_and_membership(spec, tmp_path):
    data = to_data(spec)
    data["drug"]["hcpcs"] = ["J9230"]
    data["value_sets"]["tyrosine_kinase_inhibitors"]["agents"].append("flumatinib")
    data["requirements"]["renewal"]["duration_months"] = 12
    data["requirements"]["renewal"]["all_of"].remove("no_progression_or_toxicity")
    data["requirements"]["renewal"]["all_of"].append("no_disease_progression")
    data["requirements"]["initial"]["all_of"].append("no_progression_or_toxicity")
    data["criteria"]["ph_positive_adult_prior_therapy"]["then"] = ["failed_tki"]
    data["criteria"]["failed_tki"]["prior_therapy"]["results"] = ["failed", "intolerant"]
    data["criteria"]["ph_positive"]["note"] = "a new note"
    data["criteria"]["no_progression_or_toxicity"]["any_of"] = data["criteria"]["no_progression_or_toxicity"].pop(
        "all_of"
    )
    del data["criteria"]["failed_standard_chemotherapy"]
    data.pop("earlier_versions", None)
    del data["value_sets"]["standard_chemotherapy"]
    data["criteria"]["anc"] = {
        "text": "ANC of 1000 or more",
        "lab": {
            "name": "anc",
            "comparison": ">=",
            "value": 1000,
            "unit": "cells/uL",
            "plausible": {"min": 0, "max": 100000},
        },
    }
    data["requirements"]["initial"]["all_of"].append("anc")
    new = load_spec_file(write_yaml(tmp_path / "new.yaml", data))
    changes = diff_mod.spec_changes(spec, new)
    text = "\n".join(f"{c.section}: {c.text()}" for c in changes)
    for expected in (
        "hcpcs: added J9230",
        "hcpcs: removed J9229",
        "agents: added flumatinib",
        "standard_chemotherapy: removed",
        "duration_months: 6 -> 12 (approval duration 6 months -> 12 months)",
        "all_of: added no_disease_progression",
        "all_of: removed no_progression_or_toxicity",
        "no longer part of the set (through nesting): no_unacceptable_toxicity",
        "all_of: added no_progression_or_toxicity, anc",
        "then: removed failed_standard_chemotherapy",
        "prior_therapy.results: added intolerant",
        "note added: a new note",
        "test: all_of (ALL of the following) -> any_of (at least ONE of the following)",
        "now part of the set (through nesting): no_disease_progression, no_unacceptable_toxicity",
        "failed_standard_chemotherapy: removed",
        "anc: added",
        "lab: latest anc >= 1000 cells/uL",
    ):
        assert expected in text, expected
    assert {c.section for c in changes} >= {"Drug", "Value sets", "Criteria", "Requirement sets"}


def test_diff_reports_a_broken_spec_with_its_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        BESPONSA.read_text(encoding="utf-8").replace("duration_months: 3", "duration_months: three"), encoding="utf-8"
    )
    result = run("diff", str(broken), str(BESPONSA), "--no-cases")
    assert result.exit_code == 2
    assert re.search(
        r"broken\.yaml:\d+:\d+: requirements\.initial\.duration_months: expected an integer", result.output
    )


# --- questionnaire ----------------------------------------------------------------------------------------


def codes(item: dict) -> list[str]:
    return [o["valueCoding"]["code"] for o in item["answerOption"]]


def test_questionnaire_for_besponsa(spec):
    q = build_questionnaire(spec)
    assert validate_questionnaire(q) == []
    assert (q["resourceType"], q["status"], q["version"]) == ("Questionnaire", "active", content_version(spec))
    assert q["url"].endswith("/Questionnaire/fep-5.21.100") and q["name"] == "RxRegoPA_fep_5_21_100"
    assert "Besponsa" in q["title"] and "5.21.100" in q["title"]
    items = items_by_link(q)
    assert [it["linkId"] for it in q["item"]] == [
        "patient.birth_date",
        "diagnoses",
        "biomarkers.CD22",
        "biomarkers.philadelphia_chromosome",
        "prior_therapies.any",
        "prior_therapies",
        "prescriber.attestations.liver_tests_each_dose",
        "prescriber.attestations.vod_monitoring",
        "prescriber.attestations.no_alkylating_hsct_conditioning",
        "clinical_status.disease_progression",
        "clinical_status.unacceptable_toxicity",
    ]
    assert items["patient.birth_date"]["type"] == "date" and items["patient.birth_date"]["required"] is True
    assert items["diagnoses"]["type"] == "group" and items["diagnoses"]["repeats"] is True
    assert items["diagnoses.code"]["type"] == "string"
    assert codes(items["diagnoses.lineage"]) == ["b_cell_precursor", "other"]
    assert codes(items["diagnoses.disease_status"]) == ["relapsed", "refractory", "other"]
    assert codes(items["biomarkers.CD22"]) == ["positive", "negative", "unknown"]
    assert items["biomarkers.CD22"]["required"] is True
    assert items["biomarkers.philadelphia_chromosome"]["required"] is False  # only a condition
    for name in ("liver_tests_each_dose", "vod_monitoring", "no_alkylating_hsct_conditioning"):
        it = items[f"prescriber.attestations.{name}"]
        assert (it["type"], it["required"]) == ("boolean", True)
        assert it["text"] == norm(spec.criterion(name).text)
    for name in ("disease_progression", "unacceptable_toxicity"):
        it = items[f"clinical_status.{name}"]
        assert (it["type"], it["required"]) == ("boolean", False) and "Renewal" in it["text"]  # renewal only
    # Prior therapies: asked when Ph is positive; the age part of the condition is explained.
    anyq = items["prior_therapies.any"]
    assert anyq["enableWhen"] == [
        {
            "question": "biomarkers.philadelphia_chromosome",
            "operator": "=",
            "answerCoding": {**anyq["enableWhen"][0]["answerCoding"], "code": "positive"},
        }
    ]
    assert "enableBehavior" not in anyq and "birth date" in anyq["text"] and "Age 18+" in anyq["text"]
    group = items["prior_therapies"]
    assert (group["type"], group["repeats"]) == ("group", True)
    assert group["enableWhen"] == [{"question": "prior_therapies.any", "operator": "=", "answerBoolean": True}]
    assert items["prior_therapies.agent"]["type"] == "string"
    assert codes(items["prior_therapies.class"]) == ["tyrosine_kinase_inhibitor", "standard_chemotherapy", "other"]
    assert codes(items["prior_therapies.result"]) == [
        "failed",
        "inadequate_response",
        "intolerant",
        "contraindicated",
        "ongoing",
        "completed",
    ]
    assert json.dumps(build_questionnaire(spec)) == json.dumps(q)  # stable across runs


def test_questionnaires_for_the_example_specs_cover_every_fact_kind():
    specs = {s.id: s for s in (load_spec_file(p) for p in sorted(EXAMPLES.glob("*.yaml")))}
    qs = {sid: build_questionnaire(s) for sid, s in specs.items()}
    for sid, q in qs.items():
        assert validate_questionnaire(q) == [], sid
    ima = items_by_link(qs["example-imatinib-cml"])
    assert ima["prescriber.specialty"]["type"] == "choice" and "hematology" in codes(ima["prescriber.specialty"])
    assert (ima["quantity.units"]["type"], ima["quantity.days_supply"]["type"]) == ("decimal", "integer")
    assert ima["concurrent_therapies"]["type"] == "group" and "concurrent_therapies.result" not in ima
    assert codes(ima["diagnoses.phase"]) == ["chronic", "accelerated", "other"]
    pon = items_by_link(qs["example-ponatinib"])
    assert pon["labs.alt"]["type"] == "group"
    assert [pon[f"labs.alt.{x}"]["type"] for x in ("value", "unit", "date")] == ["decimal", "choice", "date"]
    # units are UCUM codes offered as choices, the test's own first: never free text
    ucum = "http://unitsofmeasure.org"
    assert pon["labs.alt.unit"]["initial"] == [{"valueCoding": {"system": ucum, "code": "U/L", "display": "U/L"}}]
    assert {"U/L", "kU/L"} <= set(codes(pon["labs.alt.unit"])) and "mg/dL" not in codes(pon["labs.alt.unit"])
    assert pon["prescriber.attestations.cardiovascular_assessment"]["enableWhen"] == [
        {"question": "clinical_status.arterial_occlusive_event", "operator": "=", "answerBoolean": True}
    ]
    assert pon["biomarkers.T315I"]["required"] is False  # one branch of an any_of
    assert pon["patient.sex"]["type"] == "choice"
    assert [o["valueCoding"]["code"] for o in pon["patient.sex"]["answerOption"]] == [
        "male",
        "female",
        "other",
        "unknown",
    ]
    assert {o["valueCoding"]["system"] for o in pon["patient.sex"]["answerOption"]} == {
        "http://hl7.org/fhir/administrative-gender"
    }
    assert pon["prescriber.attestations.embryo_fetal_counselling"]["enableWhen"] == [
        {
            "question": "patient.sex",
            "operator": "=",
            "answerCoding": {
                "system": "http://hl7.org/fhir/administrative-gender",
                "code": "female",
                "display": "Female",
            },
        }
    ]
    bli = items_by_link(qs["example-blinatumomab"])
    bsa = bli["prescriber.attestations.bsa_based_dosing"]
    assert "enableWhen" not in bsa and "birth date" in bsa["text"]  # an age-only condition: always asked


def _broken(mutate) -> list[str]:
    from rxrego.author.common import load_spec_file as load

    q = build_questionnaire(load(BESPONSA))
    mutate(q)
    return validate_questionnaire(q)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda q: q.pop("resourceType"), "resourceType must be 'Questionnaire'"),
        (lambda q: q.update(status="final"), "status must be one of"),
        (lambda q: q["item"][2].update(linkId="patient.birth_date"), "linkId 'patient.birth_date' is not unique"),
        (lambda q: q["item"][0].pop("linkId"), "linkId is required"),
        (lambda q: q["item"][0].pop("type"), "type is required"),
        (
            lambda q: q["item"][0].update(answerOption=[{"valueString": "x"}]),
            "answerOption is only allowed on choice and open-choice items",
        ),
        (
            lambda q: q["item"][4]["enableWhen"][0].update(question="biomarkers.Ph"),
            "question 'biomarkers.Ph' is not a linkId",
        ),
        (lambda q: q["item"][4]["enableWhen"][0].update(answerBoolean=True), "needs exactly one answer[x]"),
        (
            lambda q: q["item"][4].update(
                enableWhen=[{"question": "biomarkers.philadelphia_chromosome", "operator": "=", "answerBoolean": True}]
            ),
            "answerBoolean does not fit question 'biomarkers.philadelphia_chromosome' of type choice",
        ),
        (
            lambda q: q["item"][4]["enableWhen"].append(
                {"question": "biomarkers.CD22", "operator": "=", "answerCoding": {"code": "positive"}}
            ),
            "enableBehavior ('all' or 'any') is required",
        ),
        (lambda q: q["item"][1].update(item=[]), "a group must have nested items"),
        (
            lambda q: q["item"][0].update(initial=[{"valueBoolean": True}]),
            "initial[0] must have one value[x] of a type that fits a date item",
        ),
        (
            lambda q: q["item"][5].update(
                enableWhen=[{"question": "diagnoses", "operator": "exists", "answerBoolean": True}]
            ),
            "is a group item, which has no answer",
        ),
        (lambda q: q.update(url="not a uri"), "url must be an absolute URI"),
        (
            lambda q: q["item"][4]["enableWhen"][0]["answerCoding"].update(code="Positive"),
            "answerCoding 'Positive' is not one of the answerOptions",
        ),
    ],
)
def test_validator_rejects_broken_questionnaires(mutate, message):
    problems = _broken(mutate)
    assert any(message in p for p in problems), problems


def test_questionnaire_command_writes_valid_json(spec, tmp_path):
    out = tmp_path / "q.json"
    result = run("questionnaire", str(BESPONSA), "-o", str(out))
    assert result.exit_code == 0, result.output
    q = json.loads(out.read_text(encoding="utf-8"))
    assert q == build_questionnaire(spec) and validate_questionnaire(q) == []
    assert run("questionnaire", str(tmp_path / "nope.yaml")).exit_code == 2


# --- questionnaire response -> request -> decision ----------------------------------------------------------


def fill(q: dict, answers: dict, *, qid: str | None = "QR-1") -> dict:
    """A completed QuestionnaireResponse to `q` (its url|version): answers[linkId] is an answer
    dict, or for a repeating group a list of {child linkId: answer}. Every linkId must exist in
    the questionnaire; a valueCoding without a system gets the one the item offers."""
    items = items_by_link(q)
    out = []

    def answer(link: str, a: dict) -> dict:
        if "valueCoding" in a and "system" not in a["valueCoding"]:
            system = items[link]["answerOption"][0]["valueCoding"]["system"]
            return {"valueCoding": {"system": system, **a["valueCoding"]}}
        return a

    for link, value in answers.items():
        assert link in items, f"{link} is not in the questionnaire"
        if isinstance(value, list):
            for instance in value:
                assert all(child in items for child in instance), instance
                out.append(
                    {"linkId": link, "item": [{"linkId": c, "answer": [answer(c, a)]} for c, a in instance.items()]}
                )
        else:
            out.append({"linkId": link, "answer": [answer(link, value)]})
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
        "item": out,
    }
    if qid:
        qr["id"] = qid
    return qr


def coding(code: str) -> dict:
    """A coded answer; `fill` adds the code system the question offers."""
    return {"valueCoding": {"code": code}}


def approvable_answers() -> dict:
    return {
        "patient.birth_date": {"valueDate": "1980-03-20"},
        "diagnoses": [
            {
                "diagnoses.code": {"valueString": "C91.02"},
                "diagnoses.lineage": coding("b_cell_precursor"),
                "diagnoses.disease_status": coding("relapsed"),
            }
        ],
        "biomarkers.CD22": coding("positive"),
        "biomarkers.philadelphia_chromosome": coding("positive"),
        "prior_therapies.any": {"valueBoolean": True},
        "prior_therapies": [
            {
                "prior_therapies.agent": {"valueString": "dasatinib"},
                "prior_therapies.class": coding("tyrosine_kinase_inhibitor"),
                "prior_therapies.result": coding("failed"),
            },
            {
                "prior_therapies.agent": {"valueString": "hyper-CVAD"},
                "prior_therapies.class": coding("standard_chemotherapy"),
                "prior_therapies.result": coding("failed"),
            },
        ],
        "prescriber.attestations.liver_tests_each_dose": {"valueBoolean": True},
        "prescriber.attestations.vod_monitoring": {"valueBoolean": True},
        "prescriber.attestations.no_alkylating_hsct_conditioning": {"valueBoolean": True},
    }


def test_questionnaire_response_end_to_end(spec, rego_dir):
    q = build_questionnaire(spec)
    approvable = approvable_answers()
    no_vod = {k: v for k, v in approvable.items() if k != "prescriber.attestations.vod_monitoring"}
    no_history = {
        **{k: v for k, v in approvable.items() if k != "prior_therapies"},
        "prior_therapies.any": {"valueBoolean": False},
    }
    requests = [
        response_to_request(fill(q, answers), spec, date_of_service="2026-06-15", request_type="initial")
        for answers in (approvable, no_vod, no_history)
    ]
    assert requests[0]["prior_therapies"][0] == {
        "agent": "dasatinib",
        "class": "tyrosine_kinase_inhibitor",
        "result": "failed",
    }
    assert requests[0]["patient"] == {"birth_date": "1980-03-20"} and requests[0]["request_id"] == "QR-1"
    assert requests[0]["drug"] == {"name": "Besponsa", "hcpcs": "J9229"}
    assert "vod_monitoring" not in requests[1]["prescriber"]["attestations"]
    assert requests[2]["prior_therapies"] == []
    approved, pended, denied = opa.eval_batch(rego_dir, "data.rxrego.decisions", {"requests": requests})["value"]
    assert (approved["outcome"], approved["approval"]["end"]) == ("approved", "2026-09-15")
    assert pended["outcome"] == "pended"
    assert pended["missing"] == [
        {
            "id": "vod_monitoring",
            "text": norm(spec.criterion("vod_monitoring").text),
            "fields": ["prescriber.attestations.vod_monitoring"],
        }
    ]
    assert denied["outcome"] == "denied"
    assert [u["id"] for u in denied["unmet"]] == [
        "ph_positive_adult_prior_therapy",
        "failed_tki",
        "failed_standard_chemotherapy",
    ]


def test_questionnaire_decide_command(spec, rego_dir, tmp_path):
    q = build_questionnaire(spec)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(fill(q, approvable_answers())))
    args = ["--spec", str(BESPONSA), "--date-of-service", "2026-06-15", "--rego", str(rego_dir)]
    result = run("questionnaire-decide", str(ok), *args)
    assert result.exit_code == 0, result.output
    assert "APPROVED" in result.output and "2026-06-15 to 2026-09-15 (3 months)" in result.output
    answers = approvable_answers()
    del answers["prescriber.attestations.vod_monitoring"]
    answers["typo.field"] = {"valueBoolean": True}
    pended = tmp_path / "pended.json"
    qr = fill({**q, "item": [*q["item"], {"linkId": "typo.field", "type": "boolean", "text": "x"}]}, answers)
    pended.write_text(json.dumps(qr))
    result = run("questionnaire-decide", str(pended), *args, "--json")
    assert result.exit_code == 1
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "pended" and [m["id"] for m in decision["missing"]] == ["vod_monitoring"]
    assert "ignored answers to linkIds the questionnaire does not have: typo.field" in result.stderr
    renewal = run("questionnaire-decide", str(ok), *args, "--renewal")
    assert (
        renewal.exit_code == 1
        and "PENDED" in renewal.output
        and "clinical_status.disease_progression = (absent)" in renewal.output
    )
    bad_date = run("questionnaire-decide", str(ok), "--spec", str(BESPONSA), "--date-of-service", "2026-02-30")
    assert bad_date.exit_code == 2 and "not a date" in bad_date.output
    wrong = tmp_path / "q.json"
    wrong.write_text(json.dumps(q))
    result = run("questionnaire-decide", str(wrong), *args)
    assert result.exit_code == 2 and "expected a QuestionnaireResponse, found 'Questionnaire'" in result.output


def test_response_mapping_of_value_types_groups_and_mistakes(spec):
    q = build_questionnaire(spec)
    qr = fill(
        q,
        {
            "patient.birth_date": {"valueDateTime": "2012-07-19T00:00:00Z"},
            "prescriber.attestations.vod_monitoring": {"valueBoolean": True},
        },
        qid=None,
    )
    qr["subject"] = {"reference": "Patient/P-7"}
    req = response_to_request(qr, spec, date_of_service="2026-06-15", request_type="renewal")
    assert req == {
        "request_type": "renewal",
        "date_of_service": "2026-06-15",
        "drug": {"name": "Besponsa", "hcpcs": "J9229"},
        "patient": {"id": "P-7", "birth_date": "2012-07-19"},
        "prescriber": {"attestations": {"vod_monitoring": True}},
    }
    # an answer of a type the question does not take is refused, never passed on as text
    wrong = fill(q, {"prescriber.attestations.vod_monitoring": {"valueString": "yes"}}, qid=None)
    with pytest.raises(ResponseError, match=r"linkId 'prescriber\.attestations\.vod_monitoring': a boolean question"):
        response_to_request(wrong, spec, date_of_service="2026-06-15", request_type="renewal")
    ima = load_spec_file(EXAMPLES / "example-imatinib-cml.yaml")
    pon = load_spec_file(EXAMPLES / "example-ponatinib.yaml")
    req = response_to_request(
        fill(
            build_questionnaire(ima),
            {
                "quantity.units": {"valueDecimal": 60.0},
                "quantity.days_supply": {"valueInteger": 30},
                "prescriber.specialty": coding("oncology"),
                "concurrent_therapies.any": {"valueBoolean": False},
            },
        ),
        ima,
        date_of_service="2026-06-15",
        request_type="initial",
    )
    assert (req["quantity"], req["prescriber"], req["concurrent_therapies"]) == (
        {"units": 60.0, "days_supply": 30},
        {"specialty": "oncology"},
        [],
    )
    req = response_to_request(
        fill(
            build_questionnaire(pon),
            {
                "labs.alt": [
                    {
                        "labs.alt.value": {"valueDecimal": 40.5},
                        "labs.alt.unit": {"valueString": "U/L"},
                        "labs.alt.date": {"valueDate": "2026-06-01"},
                    }
                ]
            },
        ),
        pon,
        date_of_service="2026-06-15",
        request_type="initial",
    )
    assert req["labs"] == [{"name": "alt", "value": 40.5, "unit": "U/L", "date": "2026-06-01"}]
    female = {"valueCoding": {"system": "http://hl7.org/fhir/administrative-gender", "code": "female"}}
    req = response_to_request(
        fill(build_questionnaire(pon), {"patient.sex": female}),
        pon,
        date_of_service="2026-06-15",
        request_type="initial",
    )
    assert req["patient"] == {"sex": "female"}
    final = {k: v for k, v in fill(q, {}).items() if k != "item"}  # completed, to this questionnaire
    mistakes = [
        ({"resourceType": "Patient"}, "expected a QuestionnaireResponse"),
        (
            {**fill(q, {}), "questionnaire": "https://x.org/Questionnaire/other"},
            "not the questionnaire of fep-5.21.100",
        ),
        (
            {
                **final,
                "item": [
                    {
                        "linkId": "patient.birth_date",
                        "answer": [{"valueDate": "1980-01-01"}, {"valueDate": "1981-01-01"}],
                    }
                ],
            },
            "2 answers to a question that takes one",
        ),
        ({**final, "item": [{"linkId": "patient.birth_date", "answer": [{}]}]}, "needs exactly one value[x]"),
        (
            fill(
                q,
                {
                    "prior_therapies.any": {"valueBoolean": False},
                    "prior_therapies": approvable_answers()["prior_therapies"],
                },
            ),
            "says there is none, but 2 prior_therapies entries are given",
        ),
        ({**final, "item": "nope"}, "must be a list"),
    ]
    for qr, message in mistakes:
        with pytest.raises(ResponseError, match=re.escape(message)):
            response_to_request(qr, spec, date_of_service="2026-06-15", request_type="initial")


# --- new -------------------------------------------------------------------------------------------------


FILLED = {  # each placeholder of the skeleton, as an author fills it in from the document
    "section: TODO the document's section, e.g. Prescription Drugs": "section: Prescription Drugs",
    "effective_date: TODO the date this version takes effect, as YYYY-MM-DD (e.g. 2026-01-01)": "effective_date: 2026-04-01",
    'medically_necessary: "TODO the document\'s policy statement, word for word (or delete this line)"': "medically_necessary: Blincyto may be considered medically necessary if the conditions below are met.",
    "outcome: TODO investigational, not_covered or pend_for_review": "outcome: not_covered",
    "text: TODO the age requirement, in the document's words (e.g. Age 18 years of age or older)": "text: Age 18 years of age or older",
    "min_years: TODO the document's minimum age in years": "min_years: 18",
    "text: TODO the covered diagnosis, in the document's words": "text: Relapsed or refractory B-cell precursor ALL",
    "note: TODO which ICD-10-CM codes and qualifiers stand for it, and why": "note: ALL is C91.0",
    "icd10: [TODO the ICD-10-CM code prefixes of the diagnosis]": "icd10: [C91.0]",
    "text: TODO what the document requires for a renewal, in its words (e.g. NO disease progression)": "text: NO disease progression",
    "title: TODO the heading, e.g. Prior-Approval Requirements": "title: Prior-Approval Requirements",
    "duration_months: TODO the document's approval duration in months, e.g. 6": "duration_months: 3",
    "title: TODO the heading, e.g. Prior-Approval Renewal Requirements": "title: Prior-Approval Renewal Requirements",
    "duration_months: TODO the document's renewal duration in months, e.g. 12": "duration_months: 12",
    # the case file
    "date_of_service: TODO a date the policy is in force, YYYY-MM-DD (on or after effective_date)": "date_of_service: 2026-06-15",
    "diagnoses: [{code: TODO an ICD-10-CM code of the covered diagnosis}]": "diagnoses: [{code: C91.02}]",
    "reason: TODO investigational, not_covered or other_indication_review (for pend_for_review)": "reason: not_covered",
}
# What the skeleton of an earlier release asked for: filling only these must not pass check.
EARLIER_FIVE = {
    "section: TODO the document's section, e.g. Prescription Drugs",
    "text: TODO the age requirement, in the document's words (e.g. Age 18 years of age or older)",
    "text: TODO the covered diagnosis, in the document's words",
    "note: TODO which ICD-10-CM codes and qualifiers stand for it, and why",
    "icd10: [TODO the ICD-10-CM code prefixes of the diagnosis]",
}


def _fill(path, only=None) -> None:
    body = path.read_text(encoding="utf-8")
    for old in only or ():
        assert old in body, old
    for old, new in FILLED.items():
        if only is None or old in only:
            body = body.replace(old, new)
    path.write_text(body, encoding="utf-8")


def test_new_writes_a_skeleton_whose_placeholders_fail_check_until_filled(opa_path, tmp_path):
    spec_dir, cases_dir = tmp_path / "policy_source", tmp_path / "conformance"
    result = run("new", "fep-5.21.200", "--dir", str(spec_dir), "--title", "Blincyto", "--hcpcs", "J9039")
    assert result.exit_code == 0, result.output
    spec_file = spec_dir / "fep" / "5.21.200-blincyto.yaml"
    case_file = cases_dir / "fep" / "5.21.200-blincyto.cases.yaml"
    assert spec_file.is_file() and case_file.is_file()
    assert "14 placeholder(s) to fill in" in result.output
    for path, schema in ((spec_file, "policy-spec.schema.json"), (case_file, "conformance-cases.schema.json")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        ref = first.removeprefix("# yaml-language-server: $schema=")
        assert ref != first and ref.endswith(schema) and (path.parent / ref).resolve().is_file()
    text = spec_file.read_text(encoding="utf-8")
    assert text.count("\n# ---") >= 7 and "TODO" in text  # a comment teaching each section
    assert dt.date.today().isoformat() not in text  # nothing is dated by the skeleton

    # As written, check fails and names every placeholder by line, once each, saying what to
    # write; generate refuses it too.
    check = run("check", str(spec_dir))
    assert check.exit_code == 2, check.output
    placeholders = [line for line in check.output.splitlines() if "placeholder left to fill in" in line]
    assert [p.split(": ")[1] for p in placeholders] == [
        "section",
        "effective_date",
        "coverage.medically_necessary",
        "coverage.other_indications.outcome",
        "criteria.age.text",
        "criteria.age.age.min_years",
        "criteria.diagnosis.text",
        "criteria.diagnosis.note",
        "criteria.diagnosis.diagnosis.icd10[0]",
        "criteria.renewal_response.text",
        "requirements.initial.title",
        "requirements.initial.duration_months",
        "requirements.renewal.title",
        "requirements.renewal.duration_months",
    ]
    assert "14 error(s)" in check.output  # no second complaint that a TODO is not a date or a number
    assert "effective_date: placeholder left to fill in from the policy document: the date this version" in check.output
    lines = text.splitlines()
    for p in placeholders:  # file:line:column, and the line named holds the TODO
        where = p.split(": ")[0]
        assert (
            where.split(":")[0].endswith("fep/5.21.200-blincyto.yaml") and "TODO" in lines[int(where.split(":")[1]) - 1]
        ), p
    assert run("generate", "--specs", str(spec_dir), "--out", str(tmp_path / "rego")).exit_code == 2
    assert not (tmp_path / "rego").exists()
    with pytest.raises(SpecError, match="placeholder left to fill in") as raised:
        load_case_file(case_file)
    assert [i.path for i in raised.value.issues] == [
        "bases.typical.date_of_service",
        "bases.typical.diagnoses[0].code",
        "cases[0].expect.reason",
    ]

    # The five TODOs an earlier skeleton had are not enough: the dates, durations and the
    # policy's statements are the document's to give.
    _fill(spec_file, EARLIER_FIVE)
    check = run("check", str(spec_dir))
    assert check.exit_code == 2 and "9 error(s)" in check.output, check.output

    # Filled in: it checks, its case passes, and nothing without a patient or diagnosis is approved.
    _fill(spec_file)
    check = run("check", str(spec_dir))
    assert check.exit_code == 0 and "1 spec(s) valid" in check.output, check.output
    out = tmp_path / "rego"
    assert run("generate", "--specs", str(spec_dir), "--out", str(out)).exit_code == 0
    # bundle refuses while the case file holds a TODO, naming it; then builds.
    bundle = run("bundle", "--rego", str(out), "--specs", str(spec_dir), "-o", str(tmp_path / "b.tar.gz"))
    assert bundle.exit_code == 2 and "5.21.200-blincyto.cases.yaml:15" in bundle.output, bundle.output
    assert "bases.typical.date_of_service: placeholder left to fill in" in bundle.output
    assert not (tmp_path / "b.tar.gz").exists()
    _fill(case_file)
    bundle = run("bundle", "--rego", str(out), "--specs", str(spec_dir), "-o", str(tmp_path / "b.tar.gz"))
    assert bundle.exit_code == 0, bundle.output
    spec = load_spec_file(spec_file)
    assert (spec.id, spec.number, spec.title, spec.drug.hcpcs) == ("fep-5.21.200", "5.21.200", "Blincyto", ("J9039",))
    assert [rs.root.children for rs in spec.requirements] == [
        ("age", "diagnosis"),
        ("age", "diagnosis", "renewal_response"),
    ]
    cases = load_case_file(case_file)
    assert cases.policy == "fep-5.21.200" and len(cases.cases) == 1
    bare_renewal = {
        "request_type": "renewal",
        "date_of_service": spec.effective_date,
        "drug": {"hcpcs": "J9039"},
        "clinical_status": {"disease_progression": False},
    }
    decision, renewal = diff_mod.decide_all([spec], [cases.cases[0].request, bare_renewal])
    assert mismatches(cases.cases[0].expect, decision) == []
    assert decision["outcome"] == "denied" and decision["reason"] == "not_covered"
    assert renewal["outcome"] == "pended" and {m["id"] for m in renewal["missing"]} == {"age", "diagnosis"}


def test_new_file_names_and_payer_folders(tmp_path):
    spec_dir = tmp_path / "policy_source"
    for args, spec_path in (
        (["acme-wegovy", "--title", "Wegovy"], "acme/wegovy.yaml"),  # not wegovy-wegovy
        (["wegovy", "--payer", "acme2", "--title", "Wegovy 2.4 mg"], "acme2/wegovy-2-4-mg.yaml"),
        (["ozempic", "--payer", "acme3", "--title", "Ozempic"], "acme3/ozempic.yaml"),
        (["fep-5.21.200", "--title", "Blincyto"], "fep/5.21.200-blincyto.yaml"),
        (["fep-5.21.201", "--payer", "fep"], "fep/5.21.201.yaml"),
    ):
        result = run("new", *args, "--dir", str(spec_dir))
        assert result.exit_code == 0, result.output
        assert (spec_dir / spec_path).is_file(), (
            args,
            sorted(p.relative_to(spec_dir).as_posix() for p in spec_dir.rglob("*.yaml")),
        )
        assert (tmp_path / "conformance" / spec_path.replace(".yaml", ".cases.yaml")).is_file()
    # An id without a payer prefix and no --payer: refused, nothing written at the top.
    result = run("new", "zepbound", "--dir", str(spec_dir), "--title", "Zepbound")
    assert result.exit_code == 2 and "which payer is 'zepbound' for?" in result.output
    assert not list(spec_dir.glob("*.yaml")) and not list((tmp_path / "conformance").glob("*.yaml"))
    assert run("new", "x", "--payer", "Bad Folder", "--dir", str(spec_dir)).exit_code == 2


def test_new_refuses_to_overwrite_or_to_claim_what_another_spec_has(tmp_path):
    spec_dir = tmp_path / "policy_source"
    assert run("new", "fep-5.21.200", "--dir", str(spec_dir), "--title", "Blincyto", "--hcpcs", "J9039").exit_code == 0
    spec_file = spec_dir / "fep" / "5.21.200-blincyto.yaml"
    before = spec_file.read_text(encoding="utf-8")
    again = run("new", "fep-5.21.200", "--dir", str(spec_dir), "--title", "Blincyto")
    assert again.exit_code == 2 and "already claims the id" in again.output
    same_code = run("new", "fep-5.21.201", "--dir", str(spec_dir), "--hcpcs", "J9039")
    assert same_code.exit_code == 2 and "already claims the HCPCS code J9039" in same_code.output
    lower_case = run("new", "fep-5.21.201", "--dir", str(spec_dir), "--hcpcs", "j9039")
    assert lower_case.exit_code == 2 and "already claims the HCPCS code J9039" in lower_case.output
    assert spec_file.read_text(encoding="utf-8") == before
    # A case file already there (say, written by hand): nothing is written at all.
    cases = tmp_path / "conformance" / "fep" / "5.21.300-kymriah.cases.yaml"
    cases.parent.mkdir(parents=True, exist_ok=True)
    cases.write_text("policy: x\n")
    result = run("new", "fep-5.21.300", "--dir", str(spec_dir), "--title", "Kymriah")
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert not (spec_dir / "fep" / "5.21.300-kymriah.yaml").exists() and cases.read_text() == "policy: x\n"
    for args, message in ((["Bad_Id"], "invalid policy id"), (["fep-1", "--hcpcs", "j12"], "invalid --hcpcs")):
        result = run("new", *args, "--dir", str(spec_dir))
        assert result.exit_code == 2 and message in result.output and isinstance(result.exception, SystemExit)


def test_every_author_command_has_teaching_help():
    for name in ("render", "explain", "diff", "questionnaire", "questionnaire-decide", "new", "studio"):
        result = run(name, "--help")
        assert result.exit_code == 0 and f" {name} [OPTIONS]" in result.output
        assert len(result.output.splitlines()) > 12, name
    assert "Exit status" in run("diff", "--help").output and "1  there are differences" in run("diff", "--help").output


def test_new_takes_a_lower_case_hcpcs_code_as_the_router_does(tmp_path):
    spec_dir = tmp_path / "policy_source"
    result = run("new", "fep-5.21.210", "--dir", str(spec_dir), "--title", "Blincyto", "--hcpcs", "j9039")
    assert result.exit_code == 0, result.output
    text = (spec_dir / "fep" / "5.21.210-blincyto.yaml").read_text(encoding="utf-8")
    assert "hcpcs: [J9039]" in text and "j9039" not in text


@pytest.mark.parametrize(
    ("approval", "text"),
    [
        (
            {"start": "2026-06-15", "end": "2026-09-15", "duration_months": 3},
            "2026-06-15 to 2026-09-15 (3 months)",
        ),
        (
            {"start": "2019-11-15", "end": "2019-12-31", "plan_year_start": "01-01"},
            "2019-11-15 to 2019-12-31, the end of the plan year starting 01-01",
        ),
        (
            {
                "start": "2026-06-15",
                "end": "2027-08-15",
                "duration_months": 14,
                "capped": True,
                "lifetime_cap_months": 24,
            },
            "2026-06-15 to 2027-08-15 (14 months), ended by the lifetime cap; lifetime cap 24 months",
        ),
        (
            {
                "start": "2026-06-15",
                "end": "2026-10-15",
                "plan_year_start": "07-01",
                "capped": True,
                "lifetime_cap_months": 24,
            },
            "2026-06-15 to 2026-10-15, ended by the lifetime cap; lifetime cap 24 months",
        ),
        ({"start": "2026-06-15"}, "from 2026-06-15, no end date (the policy states no duration)"),
    ],
    ids=["months", "plan-year", "capped-months", "capped-plan-year", "no-end"],
)
def test_explain_words_each_kind_of_approval_period(approval, text):
    """The header's approval line says how the end was set (months, the plan year's last day,
    the lifetime cap, or no end), never "None months"."""
    lines = header_lines({"outcome": "approved", "reason": "criteria_met", "approval": approval})
    assert f"{'Approval':<12}{text}" in lines
    assert not any("None" in line for line in lines)
