"""The decision documents do not change: every request of the golden record
(tests/golden/decisions.json, see tests/golden_decisions.py) is decided again, with Rego
generated now from the same specs, and each decision must be byte-identical (canonical JSON)
to the recorded one. The conformance cases are decided with the committed rego/ as well."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CASES, REGO
from golden_decisions import all_specs, build_rego, canonical, decide, load
from rxrego.conformance.cases import find_case_files, load_case_file


@pytest.fixture(scope="module")
def golden() -> dict[str, dict]:
    return load()


def _diff(keys: list[str], golden: dict[str, dict], decisions: list) -> list[str]:
    changed = []
    for key, decision in zip(keys, decisions, strict=True):
        if canonical(decision) != canonical(golden[key]["decision"]):
            changed.append(f"{key}:\n  was: {canonical(golden[key]['decision'])}\n  now: {canonical(decision)}")
    return changed


def test_the_record_holds_every_conformance_case_and_every_policy(golden):
    specs = all_specs()
    cases = [k for k in golden if not k.startswith("drawn/")]
    expected = {
        f"{path.relative_to(CASES.parent).as_posix()}::{case.name}"
        for path in find_case_files([CASES])
        for case in load_case_file(path).cases
    }
    assert set(cases) == expected, "the record and the conformance cases differ; rewrite it only for an intended change"
    for spec in specs:
        drawn = [k for k in golden if k.startswith(f"drawn/{spec.id}/")]
        assert len(drawn) >= 50, f"only {len(drawn)} drawn requests for {spec.id}"
    outcomes = {golden[k]["decision"]["outcome"] for k in golden if isinstance(golden[k]["decision"], dict)}
    assert outcomes == {"approved", "denied", "pended", "no_policy", "invalid_request"}


@pytest.mark.opa
def test_decisions_are_byte_identical_to_the_record(golden, tmp_path: Path, opa_path):
    rego = build_rego(all_specs(), tmp_path / "rego")
    keys = list(golden)
    changed = _diff(keys, golden, decide(rego, [golden[k]["request"] for k in keys]))
    assert not changed, f"{len(changed)} of {len(keys)} decisions changed:\n" + "\n".join(changed[:5])
    print(f"golden decisions: {len(keys)} byte-identical")


@pytest.mark.opa
def test_committed_rego_decides_the_conformance_cases_as_recorded(golden, opa_path):
    keys = [k for k in golden if not k.startswith("drawn/")]
    changed = _diff(keys, golden, decide(REGO, [golden[k]["request"] for k in keys]))
    assert not changed, f"{len(changed)} of {len(keys)} decisions changed:\n" + "\n".join(changed[:5])
