"""Loading policy specs: every input mistake is a SpecError that names file, line, field, expected
and found; good specs (the real Besponsa policy and the illustrative examples) load and
round-trip through dump_data unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rxrego.spec import model as m
from rxrego.spec.dump import content_version, dump_data
from rxrego.spec.errors import SpecError, SpecIssue
from rxrego.spec.loader import display_path, load_spec, load_specs

ROOT = Path(__file__).resolve().parents[1]
BESPONSA = ROOT / "policy_source" / "fep" / "5.21.100-besponsa.yaml"
EXAMPLES = ROOT / "tests" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))

# A small valid spec. The broken specs below are each this text with one targeted edit, so the
# line an error must be reported at is known. `at(line, ...)` checks the edit hits that line.
BASE = """\
schema_version: 1
id: test-drug
number: "T-1"
title: Testdrug
section: Prescription Drugs
effective_date: 2026-01-01
drug:
  brand: Testdrug
  hcpcs: [J0001]
coverage:
  medically_necessary: Testdrug may be considered medically necessary.
  investigational: Testdrug may be considered investigational for all other indications.
  indication: diagnosis
value_sets:
  tkis:
    description: Tyrosine kinase inhibitors
    agents: [imatinib, dasatinib, nilotinib]
criteria:
  adult:
    text: Age 18 or older
    age: {min_years: 18}
  diagnosis:
    text: Chronic myeloid leukemia
    diagnosis: {icd10: [C92.1]}
  failed_tki:
    text: Failed a tyrosine kinase inhibitor
    prior_therapy: {value_set: tkis, at_least: 1}
  adult_or_failed:
    text: Adult, or failed a tyrosine kinase inhibitor
    any_of: [adult, failed_tki]
requirements:
  initial:
    title: Initial
    duration_months: 3
    all_of: [diagnosis, adult_or_failed]
  renewal:
    title: Renewal
    duration_months: 6
    all_of: [diagnosis]
"""

DISPLAY = "policies/broken.yaml"  # written below the working directory, so shown relative


def at(line: int, old: str, new: str, text: str = BASE) -> str:
    """`text` with `old` replaced by `new` on `line` (1-based); `old` must be on that line once."""
    lines = text.split("\n")
    assert lines[line - 1].count(old) == 1, f"{old!r} is not on line {line}: {lines[line - 1]!r}"
    lines[line - 1] = lines[line - 1].replace(old, new)
    return "\n".join(lines)


def insert(after: int, new_lines: str, text: str = BASE) -> str:
    lines = text.split("\n")
    return "\n".join([*lines[:after], *new_lines.rstrip("\n").split("\n"), *lines[after:]])


def drop(line: int, expect: str, text: str = BASE) -> str:
    lines = text.split("\n")
    assert lines[line - 1].strip() == expect, f"line {line} is {lines[line - 1]!r}"
    return "\n".join(lines[: line - 1] + lines[line:])


def _nonutf8() -> tuple[bytes, int]:
    raw = BASE.encode()
    offset = raw.index(b"title: Testdrug") + len(b"title: Test")
    return raw[:offset] + b"\xff" + raw[offset:], offset


NONUTF8, NONUTF8_OFFSET = _nonutf8()


class Case(NamedTuple):
    text: str | bytes
    line: int
    path: str
    message: str


CASES = {
    # --- YAML and bytes -------------------------------------------------------------------
    "yaml syntax error": Case(
        at(4, "title: Testdrug", "title: Test: drug"),
        4,
        "",
        "invalid YAML: a ': ' inside the unquoted value of 'title' would start another key; put the value in quotes: title: \"Test: drug\"",
    ),
    "tab indentation": Case(
        at(8, "  brand", "\tbrand"), 8, "", "invalid YAML: a tab character: YAML indents with spaces only"
    ),
    "empty file": Case("", 1, "", "the file is empty; expected a policy spec mapping"),
    "only comments": Case("# nothing here yet\n", 1, "", "the file is empty"),
    "not a mapping": Case("- id: test-drug\n", 1, "", "expected a mapping, found a list of 1 item(s)"),
    "non-UTF-8 byte": Case(NONUTF8, 4, "", f"not UTF-8: byte 0xff at byte offset {NONUTF8_OFFSET}"),
    "NUL character": Case(at(4, "Testdrug", "Test\x00drug"), 4, "", "character U+0000 is not allowed"),
    "duplicate key": Case(insert(4, "title: Otherdrug"), 5, "title", "duplicate key 'title' (first given on line 4)"),
    "yaml alias": Case(
        at(23, "text: Chronic myeloid leukemia", "text: *t", at(20, "text: Age", "text: &t Age")),
        23,
        "criteria.diagnosis.text",
        "YAML aliases (*t) are not allowed",
    ),
    "yaml merge key": Case(
        insert(19, "    <<: {note: shared}"), 20, "criteria.adult", "merge keys (<<) are not allowed"
    ),
    "bad explicit tag": Case(at(3, '"T-1"', "!!float abc"), 3, "number", "invalid value 'abc' for tag !!float"),
    "over-indented first key": Case(
        at(23, "    text: Chronic myeloid leukemia", "      text: Chronic myeloid leukemia"),
        23,
        "",
        "line 23 is indented 2 space(s) more than line 24 below it, a key of the same mapping (under 'diagnosis:')",
    ),
    # --- the JSON Schema ------------------------------------------------------------------
    "lab threshold above plausible.max": Case(
        insert(
            30,
            "  high_ldl:\n    text: LDL over 5000\n"
            '    lab: {name: ldl, comparison: ">", value: 5000, unit: mg/dL, plausible: {max: 1000}}',
        ),
        33,
        "criteria.high_ldl.lab.value",
        "the threshold `> 5000` can never be met: plausible.max is 1000 mg/dL",
    ),
    "lab threshold below plausible.min": Case(
        insert(
            30,
            "  low_x:\n    text: X under 0.5\n"
            '    lab: {name: x, comparison: "<", value: 0.5, unit: mg/dL, plausible: {min: 1}}',
        ),
        33,
        "criteria.low_x.lab.value",
        "the threshold `< 0.5` can never be met: plausible.min is 1 mg/dL",
    ),
    "lab threshold at plausible.min, exclusive": Case(
        insert(
            30,
            "  low_x:\n    text: X under 1\n"
            '    lab: {name: x, comparison: "<", value: 1, unit: mg/dL, plausible: {min: 1, max: 9}}',
        ),
        33,
        "criteria.low_x.lab.value",
        "the threshold `< 1` can never be met",
    ),
    "duration with months and plan_year": Case(
        at(34, "duration_months: 3", "duration: {months: 6, plan_year: {starts: 01-01}}"),
        34,
        "requirements.initial.duration",
        "give either months or weeks or plan_year, not both (found months and plan_year)",
    ),
    "duration with neither": Case(
        at(34, "duration_months: 3", "duration: {lifetime_cap_months: 6}"),
        34,
        "requirements.initial.duration",
        "give one of months or weeks or plan_year (found neither)",
    ),
    "duration in weeks with a lifetime cap": Case(
        at(34, "duration_months: 3", "duration: {weeks: 16, lifetime_cap_months: 24}"),
        34,
        "requirements.initial.duration.lifetime_cap_months",
        "a lifetime cap counts months: give it with months or the plan year, not weeks",
    ),
    "unknown top-level key": Case(
        at(5, "section:", "sectoin:"), 5, "sectoin", "unknown field 'sectoin'; did you mean 'section'?"
    ),
    "unknown key in criterion": Case(
        insert(21, "    notes: typo"), 22, "criteria.adult.notes", "unknown field 'notes'; did you mean 'note'?"
    ),
    "unknown key in a test": Case(
        at(21, "{min_years: 18}", "{min_years: 18, max_year: 65}"),
        21,
        "criteria.adult.age.max_year",
        "unknown field 'max_year'; did you mean 'max_years'?",
    ),
    "string for integer": Case(
        at(34, "duration_months: 3", "duration_months: three"),
        34,
        "requirements.initial.duration_months",
        "expected an integer, found string 'three'",
    ),
    "number for string": Case(at(3, '"T-1"', "1.0"), 3, "number", "expected a string, found number 1.0"),
    "missing required field": Case(
        drop(33, "title: Initial"), 33, "requirements.initial", "missing required field 'title'"
    ),
    "missing required top-level field": Case(drop(4, "title: Testdrug"), 1, "", "missing required field 'title'"),
    "bad enum": Case(
        at(27, "at_least: 1}", "at_least: 1, results: [passed]}"),
        27,
        "criteria.failed_tki.prior_therapy.results[0]",
        'expected one of "failed", "inadequate_response", "intolerant", "contraindicated", "completed", "ongoing", "any", found string \'passed\'',
    ),
    "wrong schema_version": Case(at(1, "1", "2"), 1, "schema_version", "expected 1, found number 2"),
    "bad date pattern": Case(
        at(6, "2026-01-01", "2026-1-5"),
        6,
        "effective_date",
        "expected a calendar date, YYYY-MM-DD, found string '2026-1-5'",
    ),
    "duration_months 0": Case(
        at(34, "duration_months: 3", "duration_months: 0"),
        34,
        "requirements.initial.duration_months",
        "expected a number >= 1, found number 0",
    ),
    "bad id pattern": Case(at(2, "test-drug", "Test_Drug"), 2, "id", "expected stable policy id, e.g. fep-5.21.100"),
    "bad HCPCS pattern": Case(at(9, "J0001", "J01"), 9, "drug.hcpcs[0]", "found string 'J01'"),
    "bad criterion id": Case(
        at(19, "adult:", "Adult:"), 19, "criteria.Adult", "invalid name 'Adult': expected lower_snake_case identifier"
    ),
    "value set without agents or classes": Case(
        drop(17, "agents: [imatinib, dasatinib, nilotinib]"), 16, "value_sets.tkis", "needs 'agents' or 'classes'"
    ),
    # --- dates and meaning ----------------------------------------------------------------
    "impossible date": Case(
        at(6, "2026-01-01", "2026-02-30"), 6, "effective_date", "not a real calendar date: '2026-02-30'"
    ),
    "original date after effective date": Case(
        insert(6, "original_policy_date: 2027-01-01"),
        7,
        "original_policy_date",
        "is after the effective date 2026-01-01",
    ),
    "min_years > max_years": Case(
        at(21, "{min_years: 18}", "{min_years: 18, max_years: 12}"),
        21,
        "criteria.adult.age",
        "min_years 18 is greater than max_years 12",
    ),
    "at_least n larger than its list": Case(
        at(30, "any_of: [adult, failed_tki]", "at_least: {n: 3, of: [adult, failed_tki]}"),
        30,
        "criteria.adult_or_failed.at_least.n",
        "n is 3 but only 2 criteria are listed",
    ),
    "requirement at_least n larger than its list": Case(
        at(35, "all_of: [diagnosis, adult_or_failed]", "at_least: {n: 3, of: [diagnosis, adult_or_failed]}"),
        35,
        "requirements.initial.at_least.n",
        "n is 3 but only 2 criteria are listed",
    ),
    "requirement set with two combinators": Case(
        insert(39, "    any_of: [diagnosis]"),
        37,
        "requirements.renewal",
        "exactly one of all_of, any_of, at_least; found all_of, any_of",
    ),
    # --- references -----------------------------------------------------------------------
    "undefined criterion reference": Case(
        at(35, "adult_or_failed]", "adult_or_faild]"),
        35,
        "requirements.initial.all_of[1]",
        "refers to undefined criterion 'adult_or_faild'; did you mean 'adult_or_failed'?",
    ),
    "undefined value set": Case(
        at(27, "value_set: tkis", "value_set: tki"),
        27,
        "criteria.failed_tki.prior_therapy.value_set",
        "refers to undefined value set 'tki'; did you mean 'tkis'?",
    ),
    "indication names an undefined criterion": Case(
        at(13, "indication: diagnosis", "indication: diagnoses"),
        13,
        "coverage.indication",
        "refers to undefined criterion 'diagnoses'; did you mean 'diagnosis'?",
    ),
    "circular reference a -> b -> a": Case(
        at(27, "prior_therapy: {value_set: tkis, at_least: 1}", "all_of: [adult_or_failed]"),
        25,
        "criteria.failed_tki",
        "circular reference: failed_tki -> adult_or_failed -> failed_tki",
    ),
    "self reference": Case(
        at(30, "[adult, failed_tki]", "[adult, failed_tki, adult_or_failed]"),
        30,
        "criteria.adult_or_failed.any_of",
        "criterion 'adult_or_failed' refers to itself",
    ),
    "self reference through at_least": Case(
        at(30, "any_of: [adult, failed_tki]", "at_least: {n: 1, of: [adult, failed_tki, adult_or_failed]}"),
        30,
        "criteria.adult_or_failed.at_least.of",
        "criterion 'adult_or_failed' refers to itself",
    ),
    "unused criterion": Case(
        insert(30, "  orphan:\n    text: Never required\n    attestation: orphan"),
        31,
        "criteria.orphan",
        "criterion 'orphan' is not used by any requirement set",
    ),
    # --- the shape of one criterion -------------------------------------------------------
    "two tests in one criterion": Case(
        insert(21, "    attestation: adult_confirmed"),
        22,
        "criteria.adult.attestation",
        "criterion has more than one test (age, attestation)",
    ),
    "no test in a criterion": Case(
        drop(21, "age: {min_years: 18}"), 20, "criteria.adult", "criterion has no test: expected one of age, diagnosis"
    ),
    "then without when": Case(
        at(27, "prior_therapy: {value_set: tkis, at_least: 1}", "then: [adult]"),
        27,
        "criteria.failed_tki.then",
        "'then' needs a 'when' beside it",
    ),
    "when without then": Case(
        at(27, "prior_therapy: {value_set: tkis, at_least: 1}", "when: [adult]"),
        27,
        "criteria.failed_tki.when",
        "a conditional needs 'then'",
    ),
}


def _write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _issues(path: Path | str) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.issues, "a SpecError must carry at least one issue"
    return caught.value.issues


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_base_spec_is_valid(workdir: Path) -> None:
    spec = load_spec(_write(workdir, DISPLAY, BASE))
    assert spec.id == "test-drug"
    assert [c.id for c in spec.criteria] == ["adult", "diagnosis", "failed_tki", "adult_or_failed"]


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_broken_spec_is_reported_at_its_line_and_field(workdir: Path, case: Case) -> None:
    issues = _issues(_write(workdir, DISPLAY, case.text))
    matching = [
        i
        for i in issues
        if i.file == DISPLAY and i.line == case.line and i.path == case.path and case.message in i.message
    ]
    listing = "\n".join(map(str, issues))
    assert matching, f"expected {DISPLAY}:{case.line}: {case.path}: ...{case.message}...; got:\n{listing}"


def test_issue_text_is_file_line_column_field_message(workdir: Path) -> None:
    issues = _issues(_write(workdir, DISPLAY, CASES["unknown top-level key"].text))
    assert f"{DISPLAY}:5:1: sectoin: unknown field 'sectoin'; did you mean 'section'?" in map(str, issues)


def test_all_schema_mistakes_are_reported_at_once(workdir: Path) -> None:
    text = at(34, "duration_months: 3", "duration_months: 0", at(9, "J0001", "J01", at(3, '"T-1"', "1.0")))
    issues = _issues(_write(workdir, DISPLAY, text))
    assert [(i.line, i.path) for i in issues] == [
        (3, "number"),
        (9, "drug.hcpcs[0]"),
        (34, "requirements.initial.duration_months"),
    ]


def test_all_meaning_mistakes_are_reported_at_once(workdir: Path) -> None:
    text = at(6, "2026-01-01", "2026-02-30")
    text = at(21, "{min_years: 18}", "{min_years: 18, max_years: 12}", text)
    text = at(27, "value_set: tkis", "value_set: tki", text)
    issues = _issues(_write(workdir, DISPLAY, text))
    assert [(i.line, i.path) for i in issues] == [
        (6, "effective_date"),
        (21, "criteria.adult.age"),
        (27, "criteria.failed_tki.prior_therapy.value_set"),
    ]


def test_all_yaml_structure_mistakes_are_reported_at_once(workdir: Path) -> None:
    text = at(23, "text: Chronic myeloid leukemia", "text: *t", at(20, "text: Age", "text: &t Age"))
    text = insert(8, "  brand: Again", text)  # line 9
    text = insert(4, "title: Again", text)  # line 5; everything below moves down one
    issues = _issues(_write(workdir, DISPLAY, text))
    assert [(i.line, i.path) for i in issues] == [(5, "title"), (10, "drug.brand"), (25, "criteria.diagnosis.text")]


# --- several files ------------------------------------------------------------------------


def _variant(spec_id: str, brand: str, hcpcs: str) -> str:
    text = at(2, "test-drug", spec_id)
    text = at(8, "Testdrug", brand, text)
    return at(9, "J0001", hcpcs, text)


def test_two_specs_claiming_one_hcpcs_code_fail_naming_both_files(workdir: Path) -> None:
    _write(workdir, "specs/a.yaml", BASE)
    _write(workdir, "specs/b.yaml", _variant("other-drug", "Otherdrug", "J0001"))
    with pytest.raises(SpecError) as caught:
        load_specs(["specs"])
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.path) == ("specs/b.yaml", 9, "drug.hcpcs[0]")
    assert "HCPCS code 'J0001' is also claimed by specs/a.yaml:9 (test-drug)" in issue.message


def test_one_ndc_in_its_10_and_11_digit_forms_is_one_claim(workdir: Path) -> None:
    """0002-7597-01 (4-4-2) and 00002-7597-01 (5-4-2) are one package: two specs listing
    them clash, and one spec listing them under two products is refused."""
    _write(workdir, "specs/a.yaml", at(9, "hcpcs: [J0001]", "ndc: [0002-7597-01]", BASE))
    other = at(9, "hcpcs: [J0002]", "ndc: [00002-7597-01]", _variant("other-drug", "Otherdrug", "J0002"))
    _write(workdir, "specs/b.yaml", other)
    with pytest.raises(SpecError) as caught:
        load_specs(["specs"])
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.path) == ("specs/b.yaml", 9, "drug.ndc[0]")
    assert "NDC '00002759701' (as 11 digits) is also claimed by specs/a.yaml:9 (test-drug)" in issue.message

    products = """  products:
    pen:
      name: Testdrug pen
      ndc: [0002-7597-01]
    vial:
      name: Testdrug vial
      ndc: [00002-7597-02, 00002-7597-01]"""
    _write(workdir, "one/a.yaml", at(9, "  hcpcs: [J0001]", products, BASE))
    with pytest.raises(SpecError) as caught:
        load_specs(["one"])
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (15, "drug.products.vial.ndc[1]")
    assert issue.message == (
        "NDC 00002759701 (as 11 digits) is also listed at drug.products.pen.ndc[0], line 12: "
        "an NDC names one package of one product"
    )


def test_two_specs_with_one_id_fail_naming_both_files(workdir: Path) -> None:
    _write(workdir, "specs/a.yaml", BASE)
    _write(workdir, "specs/b.yaml", _variant("test-drug", "Otherdrug", "J0002"))
    with pytest.raises(SpecError) as caught:
        load_specs(["specs"])
    (issue,) = caught.value.issues  # one issue: the shared Rego package follows from the id
    assert (issue.file, issue.line, issue.path) == ("specs/b.yaml", 2, "id")
    assert "id 'test-drug' is also claimed by specs/a.yaml:2" in issue.message


def test_drug_names_clash_case_insensitively_across_brand_and_generic(workdir: Path) -> None:
    _write(workdir, "specs/a.yaml", BASE)
    _write(workdir, "specs/b.yaml", insert(8, "  generic: TESTDRUG", _variant("other-drug", "Otherdrug", "J0002")))
    with pytest.raises(SpecError) as caught:
        load_specs(["specs"])
    assert [(i.file, i.line, i.path) for i in caught.value.issues] == [("specs/b.yaml", 9, "drug.generic")]


def test_an_example_may_not_claim_a_real_policy_code(workdir: Path) -> None:
    shutil.copytree(ROOT / "policy_source", workdir / "policy_source")
    _write(workdir, "examples/x.yaml", _variant("example-x", "Examplex", "J9229"))
    with pytest.raises(SpecError) as caught:
        load_specs(["policy_source", "examples"])
    assert [i.file for i in caught.value.issues] == ["examples/x.yaml"]
    assert "policy_source/fep/5.21.100-besponsa.yaml" in caught.value.issues[0].message


def test_load_specs_reports_the_issues_of_every_file(workdir: Path) -> None:
    _write(workdir, "specs/a.yaml", CASES["impossible date"].text)
    _write(workdir, "specs/b.yaml", _variant("other-drug", "Otherdrug", "J0002") + "bogus: 1\n")
    _write(workdir, "specs/c.yaml", _variant("third-drug", "Thirddrug", "J0003"))
    with pytest.raises(SpecError) as caught:
        load_specs(["specs"])
    assert [(i.file, i.line) for i in caught.value.issues] == [("specs/a.yaml", 6), ("specs/b.yaml", 40)]


def test_a_file_named_twice_is_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    specs = load_specs(["policy_source", "policy_source/fep/5.21.100-besponsa.yaml"])
    assert [s.id for s in specs] == sorted(s.id for s in load_specs(["policy_source"]))
    assert [s.id for s in specs].count("fep-5.21.100") == 1


def test_a_missing_path_is_an_issue(workdir: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_specs(["no/such/folder"])
    assert [(i.file, i.line) for i in caught.value.issues] == [("no/such/folder", 1)]
    assert "cannot read file" in caught.value.issues[0].message


# --- the real policy and the examples -----------------------------------------------------


@pytest.fixture(scope="module")
def loaded() -> dict[str, m.PolicySpec]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        specs = load_specs(["policy_source", "tests/examples"])
    return {s.id: s for s in specs}


def test_policy_source_and_examples_load_together(loaded: dict[str, m.PolicySpec]) -> None:
    assert sorted(loaded) == [
        "bcbsnc-teriparatide-part-d",
        "bcbsnd-infliximab-me",
        "carefirst-caremark-bosutinib",
        "cigna-praluent",
        "example-blinatumomab",
        "example-clinical-facts",
        "example-imatinib-cml",
        "example-omalizumab",
        "example-pcsk9",
        "example-ponatinib",
        "example-teriparatide",
        "fep-5.21.100",
        "magellan-renflexis",
        "mn-dhs-bosulif",
        "mn-dhs-ocaliva",
        "mn-dhs-pcsk9-inhibitors",
        "msoflplus-actemra-sc",
        "okhca-esa",
        "okhca-tymlos",
        "point32-zepbound-osa",
        "uhc-teriparatide",
        "wha-dupilumab",
        "wha-gl-144839",
        "wha-gl-154367",
        "wha-gl-159352",
        "wha-romiplostim-2019",
    ]
    assert loaded["fep-5.21.100"].source == "policy_source/fep/5.21.100-besponsa.yaml"
    assert {s.source for s in loaded.values() if s.example} == {f"tests/examples/{p.name}" for p in EXAMPLE_FILES}


def test_besponsa_says_what_the_document_says(loaded: dict[str, m.PolicySpec]) -> None:
    spec = loaded["fep-5.21.100"]
    assert (spec.number, spec.title, spec.example) == ("5.21.100", "Besponsa", False)
    assert spec.effective_date == "2026-04-01"
    assert (spec.original_policy_date, spec.last_review_date) == ("2017-09-08", "2026-03-06")
    assert spec.drug.hcpcs == ("J9229",) and spec.drug.generic == "inotuzumab ozogamicin"
    assert spec.coverage.investigational == "Besponsa may be considered investigational for all other indications."
    assert spec.coverage.indication == "diagnosis"

    initial, renewal = spec.requirement_set("initial"), spec.requirement_set("renewal")
    assert (initial.duration_months, renewal.duration_months) == (3, 6)
    prescriber = ("liver_tests_each_dose", "vod_monitoring", "no_alkylating_hsct_conditioning")
    assert initial.root == m.AllOf(("age_1_or_older", "diagnosis", "ph_positive_adult_prior_therapy", *prescriber))
    assert renewal.root == m.AllOf(("age_1_or_older", "diagnosis", "no_progression_or_toxicity", *prescriber))

    assert spec.criterion("age_1_or_older").test == m.AgeTest(min_years=1)
    assert spec.criterion("ph_positive_adult_prior_therapy").test == m.Conditional(
        ("age_18_or_older", "ph_positive"), ("failed_tki", "failed_standard_chemotherapy")
    )
    assert spec.criterion("failed_tki").test == m.PriorTherapyTest("tyrosine_kinase_inhibitors", 1, ("failed",))
    assert spec.criterion("diagnosis").test == m.DiagnosisTest(
        ("C91.0",),
        (("lineage", ("b_cell_precursor",)), ("disease_status", ("relapsed", "refractory"))),
        (("CD22", ("positive",)),),
    )


def test_examples_are_marked_and_cover_every_kind_besponsa_does_not(loaded: dict[str, m.PolicySpec]) -> None:
    examples = [s for s in loaded.values() if s.example]
    assert len(examples) >= 3
    for spec in examples:
        header = (ROOT / spec.source).read_text().splitlines()
        assert header[0] == "# yaml-language-server: $schema=../../generator/rxrego/schemas/policy-spec.schema.json"
        assert any("ILLUSTRATIVE EXAMPLE, NOT A REAL PAYER POLICY" in line for line in header[:5]), spec.source
        assert all(r.duration_of(i) is not None for r in spec.requirements for i in (r.indications or [None]))
        assert [r.name for r in spec.requirements] == ["initial", "renewal"], spec.source

    kinds = {c.kind for s in examples for c in s.criteria}
    assert kinds >= set(m.TEST_KINDS) | {"all_of", "any_of", "at_least", "when"}

    criteria = {(s.id, c.id): c for s in examples for c in s.criteria}
    tests = [c.test for c in criteria.values()]
    assert any(isinstance(t, m.AgeTest) and t.max_years is not None for t in tests)
    assert any(isinstance(t, m.LabTest) and t.within_days is not None for t in tests)
    # Step therapy "at least TWO of ..." offered as one way through an any_of.
    step = {
        (sid, cid)
        for (sid, cid), c in criteria.items()
        if isinstance(c.test, m.PriorTherapyTest) and c.test.at_least >= 2
    }
    assert any(
        isinstance(c.test, m.AnyOf) and any((sid, k) in step for k in c.test.children)
        for (sid, _), c in criteria.items()
    )


@pytest.mark.parametrize("path", [BESPONSA, *EXAMPLE_FILES], ids=lambda p: p.name)
def test_spec_round_trips_through_dump_data(path: Path, tmp_path: Path) -> None:
    spec = load_spec(path)
    data = dump_data(spec)
    again = load_spec(_write(tmp_path, "again.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True)))
    assert again == spec
    assert content_version(again) == content_version(spec)
    # The comparison is not vacuous: one changed duration is a different model and version.
    initial = data["requirements"]["initial"]
    if "duration_months" in initial:
        initial["duration_months"] += 1
    else:
        initial["title"] += " (changed)"
    changed = load_spec(_write(tmp_path, "changed.yaml", yaml.safe_dump(data, sort_keys=False)))
    assert changed != spec and content_version(changed) != content_version(spec)


def test_version_ignores_comments_and_layout(tmp_path: Path) -> None:
    text = BESPONSA.read_text()
    relaid = "# an added comment\n" + text.replace("hcpcs: [J9229]", "hcpcs:\n    - J9229  # flow -> block")
    assert relaid != text
    assert content_version(load_spec(_write(tmp_path, "relaid.yaml", relaid))) == content_version(load_spec(BESPONSA))


# --- no traceback for any input mistake ---------------------------------------------------


def _chain(length: int, *, loop: bool) -> str:
    """BASE plus a chain of criteria c0 -> c1 -> ... that may close back on c0."""
    links = "".join(f"  c{i}:\n    text: step {i}\n    all_of: [c{i + 1}]\n" for i in range(length - 1))
    last = f"  c{length - 1}:\n    text: last\n    " + ("all_of: [c0]\n" if loop else "attestation: done\n")
    text = BASE.replace("requirements:\n", links + last + "requirements:\n")
    assert text.endswith("    all_of: [diagnosis]\n")  # the renewal set, now also requiring c0
    return text.removesuffix("[diagnosis]\n") + "[diagnosis, c0]\n"


HOSTILE = {
    "deep flow nesting": ("a: " + "[" * 5000 + "]" * 5000, "nested more than 64 levels deep"),
    "deep mapping nesting": ("a: " + "{a: " * 3000 + "1" + "}" * 3000, "nested more than 64 levels deep"),
    "long reference loop": (_chain(3000, loop=True), "circular reference: c0 -> c1 -> c2"),
    "control character": ("title: \x07\n", "character U+0007 is not allowed"),
    "bad int tag": (at(3, '"T-1"', "!!int abc"), "invalid value 'abc' for tag !!int"),
    "python tag": (at(3, '"T-1"', "!!python/name:os.system ''"), "invalid value"),
    "undefined alias": (at(3, '"T-1"', "*nope"), "found undefined alias"),
    "aliased key": (insert(1, "&k id2: x\n*k : y"), "YAML aliases (*k) are not allowed"),
    "complex key": (insert(1, "? [a, b]\n: x"), "mapping keys must be plain text"),
    "two documents": (BASE + "---\nid: again\n", "expected a single document"),
    "UTF-16 file": (BASE.encode("utf-16"), "not UTF-8"),
}


@pytest.mark.parametrize("content,message", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_input_is_a_spec_error(workdir: Path, content: str | bytes, message: str) -> None:
    issues = _issues(_write(workdir, DISPLAY, content))
    assert any(message in i.message and i.file == DISPLAY and i.line >= 1 for i in issues), "\n".join(map(str, issues))


def test_a_long_chain_without_a_loop_is_read_whole_and_refused_at_the_nesting_limit(workdir: Path) -> None:
    # A chain as deep as the language allows (combinators 16 deep over a leaf) loads.
    spec = load_spec(_write(workdir, DISPLAY, _chain(17, loop=False)))
    assert len(spec.criteria) == 21
    # 3,000 deep is read without exhausting Python's recursion and refused, located, at the
    # first criterion past the limit (limits.MAX_CRITERION_DEPTH, which the data form needs).
    with pytest.raises(SpecError) as caught:
        load_spec(_write(workdir, DISPLAY, _chain(3000, loop=False)))
    (issue,) = caught.value.issues
    assert issue.path == "criteria.c2982" and issue.line >= 1
    assert "nested 17 deep" in issue.message and "at most 16 are supported" in issue.message


def _load_or_spec_error(path: Path) -> None:
    try:
        load_spec(path)
    except SpecError as exc:
        assert exc.issues
        assert all(i.line >= 1 and i.column >= 1 and i.file == display_path(path) for i in exc.issues)


BASE_LINES = BASE.split("\n")


@pytest.mark.parametrize("line", range(1, len(BASE_LINES)))
def test_dropping_any_line_is_a_spec_error_or_still_valid(tmp_path: Path, line: int) -> None:
    _load_or_spec_error(_write(tmp_path, "x.yaml", drop(line, BASE_LINES[line - 1].strip())))


_junk_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_junk_settings
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_spec_error(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    _load_or_spec_error(_write(tmp_path_factory.mktemp("junk"), "x.yaml", raw))


@_junk_settings
@given(
    st.lists(st.integers(0, len(BASE_LINES) - 1), max_size=8),
    st.sampled_from(["", "[", "{", ":", "- ", "&a ", "*a", "!!int ", "? ", "\t", "'"]),
)
def test_mangled_specs_never_raise_anything_but_spec_error(
    tmp_path_factory: pytest.TempPathFactory, lines: list[int], junk: str
) -> None:
    mangled = list(BASE_LINES)
    for i in lines:
        mangled[i] = junk + mangled[i] if i % 2 else mangled[i].replace(": ", ": " + junk, 1)
    _load_or_spec_error(_write(tmp_path_factory.mktemp("mangled"), "x.yaml", "\n".join(mangled)))


# --- every mistake of a file in one run ---------------------------------------------------

TEN_MISTAKES = [
    # (old text, new text, field path, message, what the reported line shows)
    (
        "effective_date: 2026-04-01",
        "effective_date: 2026-02-30",
        "effective_date",
        "not a real calendar date: '2026-02-30'",
        "2026-02-30",
    ),
    ("hcpcs: [J9229]", "hcpcs: [J92]", "drug.hcpcs[0]", "expected", "J92]"),
    (
        "{date: 2018-03, action: Annual review}",
        "{date: 2018-13, action: Annual review}",
        "history[2].date",
        "not a real calendar date or month",
        "2018-13",
    ),
    (
        "  indication: diagnosis\n",
        "  indication: diagnosiss\n",
        "coverage.indication",
        "refers to undefined criterion 'diagnosiss'; did you mean 'diagnosis'?",
        "diagnosiss",
    ),
    (
        "    text: Age 1 year of age or older\n    age:",
        "    age:",
        "criteria.age_1_or_older",
        "missing required field 'text'",
        "age: {min_years: 1}",
    ),
    (
        "      and following each dose of Besponsa\n",
        "      and following each dose of Besponsa\n    notes: typo\n",
        "criteria.liver_tests_each_dose.notes",
        "unknown field 'notes'; did you mean 'note'?",
        "notes: typo",
    ),
    (
        "    age: {min_years: 18}\n",
        "    age: {min_years: 18, max_years: 12}\n",
        "criteria.age_18_or_older.age",
        "min_years 18 is greater than max_years 12",
        "max_years: 12",
    ),
    (
        "{value_set: tyrosine_kinase_inhibitors,",
        "{value_set: tyrosine_kinase_inhibitor,",
        "criteria.failed_tki.prior_therapy.value_set",
        "refers to undefined value set 'tyrosine_kinase_inhibitor'; did you mean 'tyrosine_kinase_inhibitors'?",
        "tyrosine_kinase_inhibitor,",
    ),
    (
        "    duration_months: 3\n",
        "    duration_months: 0\n",
        "requirements.initial.duration_months",
        "expected a number >= 1",
        "duration_months: 0",
    ),
    (
        "      - no_progression_or_toxicity\n",
        "      - no_progresion_or_toxicity\n",
        "requirements.renewal.all_of[2]",
        "did you mean 'no_progression_or_toxicity'?",
        "no_progresion_or_toxicity",
    ),
]


def test_ten_independent_mistakes_give_ten_located_errors(workdir: Path) -> None:
    """A missing `text` or an unknown key (schema mistakes) must not hide a bad date, an
    undefined value set or a typo in a reference (meaning mistakes): all ten, each where it is,
    and nothing that merely follows from them (a criterion left unreached by a misspelt
    reference is not reported as unused)."""
    text = BESPONSA.read_text(encoding="utf-8")
    for old, new, *_ in TEN_MISTAKES:
        at_ = text.index(old)
        assert at_ < text.index("earlier_versions:"), old  # the current version's text
        text = text[:at_] + new + text[at_ + len(old) :]
    issues = _issues(_write(workdir, DISPLAY, text))
    listing = "\n".join(map(str, issues))
    assert len(issues) == 10, listing
    lines = text.splitlines()
    for _, _, path, message, shown in TEN_MISTAKES:
        found = [i for i in issues if i.path == path and message in i.message]
        assert len(found) == 1, f"{path}: {message}\n{listing}"
        assert shown in lines[found[0].line - 1], (found[0], lines[found[0].line - 1])


@pytest.mark.parametrize("code", ["C", "Z", "C9", "C.9", "C91.02XYZ"])
def test_a_diagnosis_prefix_must_be_an_icd10cm_code_or_category(tmp_path, code):
    # A one-letter prefix would match every disease in a chapter: "C" approved breast cancer
    # under a leukaemia policy. Such a prefix is an error at its line, and nothing is loaded.
    text = BESPONSA.read_text(encoding="utf-8").replace("icd10: [C91.0]", f'icd10: ["{code}"]', 1)
    assert f'icd10: ["{code}"]' in text
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_specs([spec])
    messages = [str(i) for i in exc.value.issues]
    assert any("criteria.diagnosis.diagnosis.icd10[0]" in m and "not an ICD-10-CM code" in m for m in messages), (
        messages
    )


def test_a_reachable_lab_threshold_is_not_refused(workdir: Path) -> None:
    text = insert(
        30,
        "  low_x:\n    text: X at most 1\n"
        '    lab: {name: x, comparison: "<=", value: 1, unit: mg/dL, plausible: {min: 1, max: 9}}',
    ).replace("all_of: [diagnosis, adult_or_failed]", "all_of: [diagnosis, adult_or_failed, low_x]")
    load_spec(_write(workdir, DISPLAY, text))


def test_investigational_without_other_indications_is_an_error_in_the_indications_form(workdir: Path) -> None:
    example = (EXAMPLES / "example-omalizumab.yaml").read_text(encoding="utf-8")
    old = "  other_indications:\n    outcome: not_covered\n"
    assert old in example
    lines = example[: example.index(old)].count("\n") + 1
    text = example.replace(old, "  investigational: Other uses are investigational.\n")
    issues = _issues(_write(workdir, DISPLAY, text))
    (issue,) = [i for i in issues if i.path == "coverage.investigational"]
    assert issue.line == lines
    assert "write other_indications: {outcome: investigational, statement: ...}" in issue.message
    # With other_indications beside it, the spec is as valid as the example.
    both = example.replace(old, old + "  investigational: Other uses are investigational.\n")
    assert not [
        i for i in _issues_or_none(_write(workdir, "policies/both.yaml", both)) if i.path == "coverage.investigational"
    ]


def _issues_or_none(path: Path) -> list[SpecIssue]:
    try:
        load_spec(path)
    except SpecError as exc:
        return exc.issues
    return []
