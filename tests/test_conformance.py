"""The conformance runner: green on main, one OPA process for the whole suite, failures and
coverage gaps caught, a JUnit report written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import CASES, SPECS
from rxrego import opa
from rxrego.cli import main
from rxrego.conformance import runner
from rxrego.conformance.cases import find_case_files, load_case_file, mismatches
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_specs

BESPONSA_CASES = CASES / "fep" / "5.21.100-besponsa.cases.yaml"


def invoke(*args):
    return CliRunner().invoke(main, ["conformance", *args])


@dataclass
class SuiteRun:
    """One `rxrego conformance` run of the whole suite through the command line: its result,
    the report runner.run returned to it, and the OPA subcommands it started."""

    result: Result
    report: runner.Report
    opa_calls: list[str]


def run_whole_suite(*args: str) -> SuiteRun:
    reports: list[runner.Report] = []
    calls: list[str] = []
    real_run, real_opa = runner.run, opa.run

    def keeping(*a, **kw):
        reports.append(real_run(*a, **kw))
        return reports[-1]

    def counting(argv, **kw):
        calls.append(argv[0])
        return real_opa(argv, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "run", keeping)
        mp.setattr(opa, "run", counting)
        result = invoke(*args)
    assert len(reports) == 1, result.output
    return SuiteRun(result, reports[0], calls)


# The whole suite is run twice per module, not once per test: each test below asserts its own
# thing about one of these two real runs (the default one, and one with OPA's line coverage,
# about three times slower, that also writes the JUnit report).
@pytest.fixture(scope="module")
def plain_run(opa_path) -> SuiteRun:
    return run_whole_suite("-q")


@pytest.fixture(scope="module")
def coverage_run(opa_path, tmp_path_factory) -> tuple[SuiteRun, Path]:
    junit = tmp_path_factory.mktemp("conformance") / "report.xml"
    return run_whole_suite("--junit", str(junit), "--rego-coverage"), junit


def test_suite_is_green_on_main_and_writes_junit(coverage_run):
    run, junit = coverage_run
    result = run.result
    assert result.exit_code == 0, result.output
    assert "opa coverage of the generated modules:" in result.output
    cases = [c for f in find_case_files([CASES]) for c in load_case_file(f).cases]
    assert f"{len(cases)} passed, 0 failed" in result.output
    suites = ET.parse(junit).getroot()
    criteria = [c for spec in load_specs([SPECS]) for c in spec.criteria]
    # every suite counts: one testcase per golden case and one per criterion's coverage (the
    # criteria of every policy)
    assert suites.get("tests") == str(len(cases) + len(criteria)) and suites.get("failures") == "0"
    names = {tc.get("name") for tc in suites.iter("testcase")}
    assert {c.name for c in cases} <= names


def test_besponsa_suite_is_big_enough_and_every_case_says_what_it_proves():
    cases = load_case_file(BESPONSA_CASES).cases
    assert len(cases) >= 40
    assert all(c.proves.strip() for c in cases)
    outcomes = {c.expect.get("outcome") for c in cases}
    assert {"approved", "denied", "pended", "no_policy", "invalid_request"} <= outcomes


def test_every_besponsa_criterion_seen_met_unmet_and_unknown(coverage_run):
    specs = load_specs([SPECS])
    report = coverage_run[0].report
    assert len(report.results) == sum(len(s.cases) for s in runner.load_suites([CASES], specs))
    rows = {r.criterion: r for r in report.coverage if r.policy == "fep-5.21.100"}
    besponsa = next(s for s in specs if s.id == "fep-5.21.100")
    assert set(rows) == {c.id for c in besponsa.criteria}
    for cid, row in rows.items():
        assert row.seen == {"met", "unmet", "unknown"}, cid
    assert report.opa_coverage.get("coverage", 0) > 50


def test_malformed_cases_are_never_approved(plain_run):
    report = plain_run.report
    cases = [c for f in find_case_files([CASES]) for c in load_case_file(f).cases]
    assert len(report.results) == len(cases)
    for r in report.results:
        if r.case.expect.get("outcome") in ("invalid_request", "no_policy", "denied"):
            assert r.decision["outcome"] != "approved", r.case.name


def test_the_whole_suite_runs_in_one_opa_process(plain_run):
    assert plain_run.result.exit_code == 0, plain_run.result.output
    assert plain_run.opa_calls == ["eval"]


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = BESPONSA_CASES.read_text()
    assert old in text
    path = tmp_path / "broken.cases.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_wrong_expectation_fails_with_a_readable_diff(tmp_path, opa_path):
    path = broken_copy(tmp_path, "end: 2027-02-28, duration_months: 3}", "end: 2027-03-02, duration_months: 3}")
    result = invoke(str(path), "-q")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "approval-end-clamped-to-february" in result.output
    assert 'approval.end: expected "2027-03-02", got "2027-02-28"' in result.output
    assert "1 failed" in result.output


def test_a_criterion_never_unknown_fails_the_run_unless_waived(tmp_path, opa_path):
    # Drop every case that makes the VOD agreement unknown.
    text = BESPONSA_CASES.read_text()
    start = text.index("  - name: vod-monitoring-unanswered-pended")
    end = text.index("  - name: alkylating-conditioning-unanswered-pended")
    path = tmp_path / "gap.cases.yaml"
    path.write_text(text[:start] + text[end:])
    result = invoke(str(path))
    assert result.exit_code == 1
    assert "vod_monitoring" in result.output and "MISSING" in result.output
    waived = tmp_path / "waived.cases.yaml"
    waived.write_text(
        text[:start]
        + text[end:]
        + "\nwaivers:\n  - {criterion: vod_monitoring, status: unknown, reason: shown by the differential test}\n"
    )
    result = invoke(str(waived))
    assert result.exit_code == 0, result.output
    assert "waived" in result.output


def test_policy_filter(opa_path):
    assert invoke("--policy", "fep-5.21.100", "-q").exit_code == 0
    result = invoke("--policy", "no-such-policy")
    assert result.exit_code == 2 and "no case file is for policy" in result.output


def test_case_file_errors_name_file_line_and_field(tmp_path):
    path = broken_copy(
        tmp_path,
        "    base: infant\n    set: {date_of_service: 2026-05-09}",
        "    base: toddler\n    set: {date_of_service: 2026-05-09}",
    )
    result = invoke(str(path))
    assert result.exit_code == 2
    assert "broken.cases.yaml:" in result.output and "undefined base 'toddler'" in result.output


@pytest.mark.parametrize(
    "expected, actual, ok",
    [
        ({"outcome": "approved"}, {"outcome": "approved", "x": 1}, True),
        ({"outcome": "approved"}, {"outcome": "denied"}, False),
        ({"approval": {"end": "2027-02-28"}}, {"approval": {"start": "s", "end": "2027-02-28"}}, True),
        ({"unmet": ["a", "b"]}, {"unmet": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]}, True),
        ({"unmet": ["b", "a"]}, {"unmet": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]}, False),
        ({"unmet": []}, {"unmet": [{"id": "a", "text": "A"}]}, False),
        ({"unmet": [{"id": "a"}]}, {"unmet": [{"id": "a", "text": "A"}]}, True),
        ({"flag": True}, {"flag": 1}, False),
        ({"n": 3}, {"n": 3.0}, True),
        ({"missing": ["a"]}, {}, False),
    ],
)
def test_subset_matching(expected, actual, ok):
    assert (mismatches(expected, actual) == []) is ok


def test_rxrego_run_does_the_main_job_and_ends_with_a_summary(tmp_path, monkeypatch, regal_path):
    """What `make run` runs, in a scratch copy of the project's inputs: a stale rego/ is
    regenerated, then linted and run against the golden cases."""
    import shutil

    from conftest import ROOT

    for name in ("policy_source", "conformance", "rego"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "rxrego.toml", tmp_path / "rxrego.toml")
    stale = tmp_path / "rego" / "rxrego" / "router.rego"
    stale.write_text(stale.read_text() + "\n# stale\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 0, result.output
    assert "(updated)" in result.output and "# stale" not in stale.read_text()
    summary = result.output[result.output.index("rxrego run: summary") :]
    cases = sum(len(load_case_file(f).cases) for f in find_case_files([CASES]))
    criteria = sum(len(s.criteria) for s in load_specs([SPECS]))
    assert f"{cases} passed, 0 failed; {criteria}/{criteria} criteria seen met, unmet and unknown" in summary
    assert "result       green" in summary
    assert (tmp_path / "build" / "conformance.xml").is_file()


def test_rxrego_run_that_stops_at_check_still_ends_with_the_summary(tmp_path, monkeypatch):
    """A spec with a mistake stops `rxrego run` at its first stage: the mistake is reported
    by file and line, the summary names the failed stage and the ones not run, rego/ is
    left as it was, and the exit status is 2 (an input mistake)."""
    import shutil

    from conftest import ROOT

    for name in ("policy_source", "conformance", "rego"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "rxrego.toml", tmp_path / "rxrego.toml")
    (tmp_path / "policy_source" / "broken.yaml").write_text("id: x\nnonsense: [\n")
    before = {p: p.read_bytes() for p in (tmp_path / "rego").rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2, result.output
    assert "broken.yaml:3:1: invalid YAML" in result.output
    summary = result.output[result.output.index("rxrego run: summary") :]
    assert "check        FAILED: 1 error(s) in 1 spec file(s)" in summary
    for stage in ("generate", "lint", "conformance"):
        assert f"{stage:<12} not run" in summary
    assert "result       FAILED" in summary
    assert {p: p.read_bytes() for p in (tmp_path / "rego").rglob("*") if p.is_file()} == before


CASE_FILE_WITH_EVERY_STAGE_WRONG = """\
policy: fep-5.21.100
bases:
  adult:
    request_type: initial
    date_of_service: 2026-05-09
    drug: {name: Besponsa}
cases:
  - name: schema-mistake
    proves: an unknown key at case level is a schema error
    base: adult
    expectt: {outcome: approved}
  - name: misspelt-expect
    proves: misspelt keys, an unknown outcome and undefined criteria are all reported
    base: adult
    expect: {outcome: approve, unmet: [no_such_criterion, {id: age_1_or_olderr}], aproval: {start: 2026-05-09}}
  - name: misspelt-expect
    proves: a duplicate name
    base: adult
    expect: {outcome: denied, reason: criteria_unmett, criteria: {not_a_criterion: met}}
  - name: unknown-base
    proves: an undefined base
    base: toddler
    expect: {outcome: denied}
  - name: bad-unset
    proves: an unset of what the base does not have
    base: adult
    unset: [patient.birth_date]
    expect: {outcome: pended}
"""


def test_every_static_error_of_a_case_file_is_reported_in_one_run(tmp_path):
    path = tmp_path / "broken.cases.yaml"
    path.write_text(CASE_FILE_WITH_EVERY_STAGE_WRONG, encoding="utf-8")
    specs = load_specs([SPECS])
    with pytest.raises(SpecError) as caught:
        runner.load_suites([path], specs)
    got = {(i.line, i.path): i.message for i in caught.value.issues}
    listing = "\n".join(map(str, caught.value.issues))
    expected = {
        (11, "cases[0].expectt"): "unknown field 'expectt'; did you mean 'expect'?",
        (15, "cases[1].expect.outcome"): "'approve' is not a decision outcome: did you mean 'approved'?",
        (15, "cases[1].expect.unmet[0]"): "the policy defines no criterion 'no_such_criterion'",
        (
            15,
            "cases[1].expect.unmet[1].id",
        ): "the policy defines no criterion 'age_1_or_olderr'; did you mean 'age_1_or_older'?",
        (15, "cases[1].expect.aproval"): "unknown decision key 'aproval'; did you mean 'approval'?",
        (16, "cases[2].name"): "duplicate case name 'misspelt-expect' (first on line 12)",
        (19, "cases[2].expect.reason"): "'criteria_unmett' is not a decision reason: did you mean 'criteria_unmet'?",
        (19, "cases[2].expect.criteria.not_a_criterion"): "the policy defines no criterion 'not_a_criterion'",
        (22, "cases[3].base"): "undefined base 'toddler'",
        (24, "cases[4]"): "cannot unset patient.birth_date: patient is not in the base",
    }
    for where, words in expected.items():
        assert where in got and words in got[where], f"{where}: {words}\ngot:\n{listing}"
    result = invoke(str(path))
    assert result.exit_code == 2
    assert "aproval" in result.output and "expectt" in result.output and "toddler" in result.output
