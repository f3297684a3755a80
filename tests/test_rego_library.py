"""The Rego the package ships (generator/rxrego/rego/: the shared library and, beside each
file, its *_test.rego) passes `opa test`, and the tests cover at least 95% of the library's
lines. The same runner is a step of `rxrego lint`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rxrego import lint


@pytest.mark.opa
def test_opa_test_passes_and_covers_the_library(opa_path):
    tests = lint.run_rego_tests()
    assert not tests.failed, tests.output
    assert tests.passed >= 40
    assert tests.lib_coverage >= lint.LIB_COVERAGE_GOAL, tests.output
    assert tests.ok
    print(tests.summary() + f"; all shipped Rego {tests.total_coverage:.1f}%")


@pytest.mark.opa
def test_a_broken_library_fails_its_tests(opa_path, tmp_path: Path):
    """The tests can fail: a library that does not clamp a month's end (2026-01-31 plus one
    month landing in March) and lets an unknown condition switch its requirement off is
    caught, naming the tests."""
    copy = tmp_path / "rego"
    shutil.copytree(lint.package_rego(), copy)
    lib = copy / lint.LIB_FILE
    text = lib.read_text(encoding="utf-8")
    mutations = [
        ("time.add_date(first, 0, 1, -1)", "time.add_date(first, 0, 1, 30)"),
        ('} else := "unknown"\n\n# negation(status)', '} else := "met"\n\n# negation(status)'),
    ]
    broken = text
    for before, after in mutations:
        assert before in broken, f"the mutation's anchor {before!r} is no longer in {lint.LIB_FILE}"
        broken = broken.replace(before, after)
    lib.write_text(broken, encoding="utf-8")
    tests = lint.run_rego_tests(copy)
    assert not tests.ok
    assert "data.rxrego.lib_test.test_add_months_ends_each_month_on_its_last_day" in tests.failed
    assert "data.rxrego.lib_test.test_when_truth_table" in tests.failed


@pytest.mark.opa
def test_untested_library_lines_fail_the_coverage_goal(opa_path, tmp_path: Path):
    copy = tmp_path / "rego"
    shutil.copytree(lint.package_rego(), copy)
    # the decision's tests (lib_language_test.rego decides through a negation too)
    for name in ("lib_decide_test.rego", "lib_language_test.rego"):
        for test_file in copy.rglob(name):
            test_file.unlink()
    tests = lint.run_rego_tests(copy)
    assert not tests.failed
    assert tests.lib_coverage < lint.LIB_COVERAGE_GOAL and not tests.ok
    assert "lines not covered in rxrego/lib/lib.rego" in tests.output


def test_every_shipped_rego_file_has_tests_beside_it():
    """Beside it, or in a folder above it (system.authz's tests also cover its token)."""
    shipped = lint.package_rego()
    modules = [p for p in shipped.rglob("*.rego") if not p.name.endswith("_test.rego")]
    assert lint.LIB_FILE in {m.relative_to(shipped).as_posix() for m in modules}
    for module in modules:
        folders = [module.parent, *[f for f in module.parent.parents if f.is_relative_to(shipped)]]
        assert any(list(f.glob("*_test.rego")) for f in folders), (
            f"{module.relative_to(shipped)} has no *_test.rego beside it"
        )
