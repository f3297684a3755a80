"""Versions by effective date: loading, where errors in an earlier version point, and which
version the router picks (on OPA and in the reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SPECS
from rxrego import reference
from rxrego.spec.dump import content_version
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_spec, load_specs

BESPONSA = SPECS / "fep" / "5.21.100-besponsa.yaml"


def test_besponsa_has_its_dated_versions():
    spec = load_spec(BESPONSA)
    assert [v.effective_date for v in spec.versions] == ["2026-04-01", "2024-04-01", "2017-12-01", "2017-09-08"]
    assert [v.module_package for v in spec.versions] == [
        "fep_5_21_100",
        "fep_5_21_100_v2024_04_01",
        "fep_5_21_100_v2017_12_01",
        "fep_5_21_100_v2017_09_08",
    ]
    april_2024, dec_2017, sep_2017 = spec.earlier_versions
    # April 2024 gives no section: it decides exactly as the current document.
    assert (april_2024.criteria, april_2024.requirements) == (spec.criteria, spec.requirements)
    assert dec_2017.criterion("age_18_or_older").test.min_years == 18
    assert "CD22" not in dict(dec_2017.criterion("diagnosis").test.biomarkers)
    # September 2017 replaces only the requirements: it inherits December's criteria.
    assert sep_2017.criteria == dec_2017.criteria
    assert "ph_positive_prior_therapy" not in sep_2017.requirement_set("initial").root.children
    assert len({content_version(v) for v in spec.versions}) == 4


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = BESPONSA.read_text()
    assert old in text
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_an_error_in_an_earlier_version_points_into_it(tmp_path):
    path = edited(tmp_path, "        when: [ph_positive]\n", "        when: [ph_postive]\n")
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    issue = next(i for i in exc.value.issues if i.path.endswith(".when[0]"))
    assert issue.path == "earlier_versions[1].criteria.ph_positive_prior_therapy.when[0]"
    assert issue.line == line_of(path, "when: [ph_postive]")
    assert "did you mean 'ph_positive'" in issue.message


def test_inherited_criteria_are_checked_against_the_requirements_that_use_them(tmp_path):
    # September 2017 inherits December's criteria: a reference to one December lacks fails there.
    path = edited(
        tmp_path,
        "  - effective_date: 2017-09-08\n    note: The original policy (addition to PA, August 2017), before the Ph+ requirement.\n    requirements:\n      initial:\n        title: Prior-Approval Requirements\n        duration_months: 3\n        all_of:\n          - age_18_or_older",
        "  - effective_date: 2017-09-08\n    note: The original policy (addition to PA, August 2017), before the Ph+ requirement.\n    requirements:\n      initial:\n        title: Prior-Approval Requirements\n        duration_months: 3\n        all_of:\n          - age_1_or_older",
    )
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    assert any(
        i.path == "earlier_versions[2].requirements.initial.all_of[0]" and "age_1_or_older" in i.message
        for i in exc.value.issues
    )


def test_versions_must_go_newest_first(tmp_path):
    path = edited(tmp_path, "  - effective_date: 2017-12-01\n", "  - effective_date: 2025-12-01\n")
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    assert any(
        i.path == "earlier_versions[1].effective_date" and "not before 2024-04-01" in i.message
        for i in exc.value.issues
    )


@pytest.mark.parametrize(
    "date_of_service, effective",
    [
        ("2026-04-01", "2026-04-01"),
        ("2026-03-31", "2024-04-01"),
        ("2024-04-01", "2024-04-01"),
        ("2024-03-31", "2017-12-01"),
        ("2017-12-01", "2017-12-01"),
        ("2017-11-30", "2017-09-08"),
        ("2017-09-08", "2017-09-08"),
    ],
)
def test_the_version_in_force_decides(date_of_service, effective, decide_batch):
    request = {"request_type": "initial", "date_of_service": date_of_service, "drug": {"hcpcs": "J9229"}}
    [decision] = decide_batch([request])
    assert decision["policy"]["effective_date"] == effective
    assert reference.decide(load_specs([SPECS]), request)["policy"]["effective_date"] == effective


def test_before_the_first_version_is_not_in_force_and_never_approved(decide_batch):
    request = {"request_type": "initial", "date_of_service": "2017-09-07", "drug": {"name": "besponsa"}}
    [decision] = decide_batch([request])
    assert decision == {
        "outcome": "no_policy",
        "reason": "not_in_force",
        "drug": {"name": "besponsa"},
        "in_force_from": "2017-09-08",
    }
