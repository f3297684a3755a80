"""`rxrego explain` words a conditional by the status it shows: an invalid condition (shown
unmet, as decisions show invalid) never reads as "does not apply (met)" (docs/semantics.md:
a conditional whose condition is invalid is itself invalid, never "not applicable")."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from conftest import REGO, ROOT, SPECS
from rxrego.cli import main

EXAMPLE = re.compile(r"<!-- example: approved request -->\s*```json\n(.*?)```", re.S)


def _approved_readme_request() -> dict:
    match = EXAMPLE.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match is not None
    return json.loads(match.group(1))


def _conditional_lines(tmp_path, request: dict) -> tuple[str, str]:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    result = CliRunner().invoke(main, ["explain", str(path), "--specs", str(SPECS), "--rego", str(REGO)])
    lines = result.output.splitlines()
    i = next(
        i
        for i, line in enumerate(lines)
        if line.rstrip().endswith("[ph_positive_adult_prior_therapy]") and not line.strip().startswith("-")
    )  # the tree's node, not the summary's list of unmet criteria
    return lines[i].split()[0], next(line.strip() for line in lines[i + 1 :] if line.strip().startswith("when "))


def test_an_invalid_condition_reads_as_unmet_not_as_not_applying(opa_path, tmp_path):
    request = _approved_readme_request()
    request["patient"]["birth_date"] = "04/02/1979"  # not an ISO date: the age test is invalid
    status, when = _conditional_lines(tmp_path, request)
    assert status == "unmet"
    assert "does not apply" not in when and "(met)" not in when
    assert when == (
        "when ALL of these hold: (a fact of the condition is invalid, so the requirement cannot be switched off (unmet))"
    )


def test_a_condition_that_does_not_hold_still_reads_as_not_applying(opa_path, tmp_path):
    request = _approved_readme_request()
    request["biomarkers"]["philadelphia_chromosome"] = "negative"
    status, when = _conditional_lines(tmp_path, request)
    assert status == "met"
    assert when == "when ALL of these hold: (the condition does not hold, so the requirement does not apply (met))"
