"""The router's number check (docs/semantics.md, "Numbers"): a cheap walk without paths
decides whether any number of the request is out of range, and the walk that names each
number's field runs only when it finds one. tests/rego/rxrego/router_numbers_test.rego
proves with `opa test`, against the committed rego/, that the two together refuse exactly
what the naming walk alone refused (big integers, tiny fractions, exponents, negatives,
texts too long, nested arrays, numbers deep in objects); here it runs, can fail, and is
lint-clean."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REGO
from rxrego import opa, toolchain

TESTS = Path(__file__).resolve().parent / "rego"
ROUTER = Path("rxrego") / "router.rego"
EXPECTED = {
    "test_the_table_holds_numbers_of_both_kinds",
    "test_every_number_text_is_refused_as_expected",
    "test_the_cheap_test_agrees_with_the_naming_walk",
    "test_a_refused_number_is_the_whole_answer_and_named_in_its_own_text",
    "test_an_accepted_number_lets_the_policy_decide",
    "test_every_number_out_of_range_is_named",
    "test_a_number_anywhere_in_the_request_is_checked",
    "test_a_request_that_is_not_an_object_has_no_number_errors",
}


def _opa_test(rego: Path) -> dict[str, bool]:
    """Each test's name -> passed, from `opa test` over `rego` and tests/rego."""
    result = opa.run(["test", "--format", "json", str(rego), str(TESTS)], timeout=300)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"opa test did not run:\n{result.stderr}{result.stdout}")
    return {t["name"]: not (t.get("fail") or t.get("error")) for t in report}


@pytest.mark.opa
def test_the_router_number_tests_pass(opa_path):
    results = _opa_test(REGO)
    assert set(results) == EXPECTED
    assert all(results.values()), [name for name, ok in results.items() if not ok]


@pytest.mark.opa
def test_a_cheap_test_that_misses_a_kind_of_number_fails_them(opa_path, tmp_path):
    """A cheap test that looked only for exponents (missing big integers and tiny fractions
    written out) would let those numbers through: the tests say so."""
    copy = tmp_path / "rego"
    shutil.copytree(REGO, copy)
    router = copy / ROUTER
    text = router.read_text(encoding="utf-8")
    anchor = "\tis_number(value)\n\tnot _sane_number_text(json.marshal(value))\n}"
    assert text.count(anchor) == 1, "the cheap test is no longer where this mutation expects it"
    router.write_text(
        text.replace(anchor, "\tis_number(value)\n\tregex.match(`[eE]`, json.marshal(value))\n}"), encoding="utf-8"
    )
    results = _opa_test(copy)
    failed = {name for name, ok in results.items() if not ok}
    assert {
        "test_every_number_text_is_refused_as_expected",
        "test_the_cheap_test_agrees_with_the_naming_walk",
        "test_a_refused_number_is_the_whole_answer_and_named_in_its_own_text",
    } <= failed
    # with an exponent among them, the naming walk runs and names the others too
    assert "test_every_number_out_of_range_is_named" not in failed


@pytest.mark.opa
def test_the_router_number_tests_are_formatted_and_lint_clean(opa_path, regal_path):
    fmt = opa.run(["fmt", "--list", str(TESTS)])
    assert fmt.returncode == 0 and not fmt.stdout.strip(), fmt.stdout + fmt.stderr
    regal = subprocess.run(
        [str(toolchain.regal().path), "lint", "--no-color", "--config-file", str(toolchain.regal_config()), str(TESTS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert regal.returncode == 0, regal.stdout + regal.stderr
