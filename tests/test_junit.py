"""The conformance JUnit report: valid against the JUnit XML schema CI servers read, with
totals that count every suite, one testcase per golden case and one per criterion (failing
for each coverage gap), on a real OPA run that has failures of both kinds."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest
import xmlschema

from conftest import CASES, REGO, ROOT, SPECS
from rxrego.conformance import report as rep
from rxrego.conformance import runner
from rxrego.spec.loader import load_specs

XSD = ROOT / "tests" / "fixtures" / "junit.xsd"
BESPONSA_CASES = CASES / "fep" / "5.21.100-besponsa.cases.yaml"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


@pytest.fixture(scope="module")
def red_run(tmp_path_factory, opa_path):
    """The besponsa cases cut to their first ten (so criteria lack statuses: coverage gaps),
    with the first case's expected outcome turned wrong (a failing case)."""
    specs = load_specs([SPECS])
    (suite,) = runner.load_suites([BESPONSA_CASES], specs)
    first = suite.cases[0]
    wrong = "denied" if first.expect.get("outcome") != "denied" else "approved"
    cases = (dataclasses.replace(first, expect={**first.expect, "outcome": wrong}), *suite.cases[1:10])
    report = runner.run([dataclasses.replace(suite, cases=cases)], specs, REGO)
    path = tmp_path_factory.mktemp("junit") / "report.xml"
    rep.write_junit(report, path)
    return report, path


def test_a_red_run_is_red_at_the_root_and_valid(red_run, schema):
    report, path = red_run
    assert len(report.failed) == 1 and report.coverage_gaps, "the run under test must fail both ways"
    schema.validate(path)
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    failing = [c for c in cases if c.find("failure") is not None]
    # one testcase per golden case and one per criterion; every failure counted at the root
    assert len(cases) == len(report.results) + len(report.coverage)
    assert root.get("tests") == str(len(cases))
    assert root.get("failures") == str(len(failing)) == str(len(report.failed) + len(report.coverage_gaps))
    assert root.get("errors") == "0"
    for suite in root.iter("testsuite"):
        mine = suite.findall("testcase")
        assert suite.get("tests") == str(len(mine))
        assert suite.get("failures") == str(sum(1 for c in mine if c.find("failure") is not None))
    gaps = {c.get("name").split()[0] for c in failing if c.find("failure").get("type") == "coverage gap"}
    assert gaps == {row.criterion for row in report.coverage_gaps}
    mismatch = [c for c in failing if c.find("failure").get("type") == "decision mismatch"]
    assert [c.get("name") for c in mismatch] == [report.failed[0].case.name]
    assert f"{BESPONSA_CASES.name}:" in mismatch[0].find("system-out").text


def test_the_green_suite_is_valid_and_green(tmp_path, schema, opa_path):
    specs = load_specs([SPECS])
    report = runner.run(runner.load_suites([CASES], specs), specs, REGO)
    path = tmp_path / "green.xml"
    rep.write_junit(report, path)
    schema.validate(path)
    root = ET.parse(path).getroot()
    assert root.get("failures") == "0" and root.get("tests") == str(len(report.results) + len(report.coverage))


def test_the_schema_rejects_what_readers_cannot_read(tmp_path, schema):
    """The fixture is a real check: a report without counts, or with a count that is not a
    number, is invalid."""
    no_counts = '<testsuites><testsuite name="x"><testcase name="a"/></testsuite></testsuites>'
    bad_count = '<testsuites tests="many"><testsuite name="x" tests="1" failures="0" errors="0"><testcase name="a"/></testsuite></testsuites>'
    good = '<testsuites tests="1"><testsuite name="x" tests="1" failures="0" errors="0"><testcase name="a"/></testsuite></testsuites>'
    assert schema.is_valid(good)
    assert not schema.is_valid(no_counts) and not schema.is_valid(bad_count)
