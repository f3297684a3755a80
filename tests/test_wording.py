"""`rxrego check --wording`: the wording of a criterion against its encoding."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, SPECS
from rxrego.author.wording import criterion_issues, wording_issues
from rxrego.cli import main
from rxrego.spec.loader import load_spec, load_specs

STEP = """\
schema_version: 1
id: acme-stepdrug
number: "1.2.3"
title: Stepdrug
section: Prescription Drugs
effective_date: 2026-01-01
drug: {brand: Stepdrug, hcpcs: [J1234]}
coverage:
  medically_necessary: Stepdrug may be considered medically necessary if the conditions below are met.
  investigational: Stepdrug may be considered investigational for all other indications.
  indication: diagnosis
value_sets:
  statins: {description: statins, agents: [atorvastatin, simvastatin, rosuvastatin]}
criteria:
  adult:
    text: Age 18 years of age or older
    age: {min_years: 1}
  diagnosis:
    text: Primary hypercholesterolemia
    diagnosis: {icd10: [E78.01]}
  step:
    text: Trial and failure of 2 of the following
    at_least: {n: 1, of: [tried_statins, tried_ezetimibe, tried_diet]}
  tried_statins:
    text: at least TWO statins
    prior_therapy: {value_set: statins, at_least: 1}
  tried_ezetimibe:
    text: ezetimibe
    attestation: tried_ezetimibe
  tried_diet:
    text: a low-fat diet for 6 months
    attestation: tried_diet
  ldl:
    text: LDL-C at or above 190 mg/dL within the last 90 days
    lab: {name: ldl_c, comparison: ">=", value: 160, unit: mg/dL, within_days: 90, plausible: {min: 0, max: 1500}}
  quantity:
    text: "Quantity limit of 1,000 mg per 30 days (policy 5.21.100; ICD-10-CM E78.01; CD22; HLA-B*57:01; 2/3 dose)"
    quantity_limit: {max_units: 1000, per_days: 30}
requirements:
  initial: {title: Prior-Approval Requirements, duration_months: 12, all_of: [adult, diagnosis, step, ldl, quantity]}
"""

LINE = {
    cid: n
    for n, text in enumerate(STEP.splitlines(), 1)
    for cid in [text.strip().rstrip(":")]
    if text.startswith("  ") and not text.startswith("   ")
}


@pytest.fixture
def step_spec(tmp_path: Path):
    path = tmp_path / "stepdrug.yaml"
    path.write_text(STEP, encoding="utf-8")
    return load_spec(path)


def test_wording_that_names_what_the_encoding_does_not_is_flagged_at_its_line(step_spec):
    issues = wording_issues(step_spec)
    by_path = {i.path: i for i in issues}
    assert sorted(by_path) == [
        "criteria.adult.text",
        "criteria.ldl.text",
        "criteria.step.text",
        "criteria.tried_statins.text",
    ]
    # "2 of the following" encoded as at_least: 1
    step = by_path["criteria.step.text"]
    assert (
        step.message == 'the wording says "2 of the following" but the encoding requires 1 of them (at_least: {n: 1})'
    )
    # "18 years" encoded as min_years: 1
    assert (
        by_path["criteria.adult.text"].message
        == "the wording names 18 but the encoding has no such number (it has: 1 (adult: min_years))"
    )
    assert (
        'the wording says "at least TWO" but no count of 2 is encoded' in by_path["criteria.tried_statins.text"].message
    )
    assert (
        "the wording names 190" in by_path["criteria.ldl.text"].message
        and "160 (ldl: value)" in by_path["criteria.ldl.text"].message
    )
    for issue in issues:  # at the criterion's text
        cid = issue.path.split(".")[1]
        assert issue.line == LINE[cid] + 1 and issue.column == 11, issue
    # Codes and names are not numbers (5.21.100, E78.01, CD22, HLA-B*57:01, ICD-10-CM, 2/3);
    # "1,000" is 1000; the numbers of an attestation ("6 months") are asserted whole.
    assert criterion_issues(step_spec, "quantity") == []
    assert criterion_issues(step_spec, "tried_diet") == []


def test_the_project_specs_and_examples_are_worded_as_encoded():
    for spec in load_specs([SPECS, EXAMPLES]):
        assert wording_issues(spec) == [], spec.id


def test_matching_counts_and_numbers_pass(tmp_path: Path):
    fixed = (
        STEP.replace("age: {min_years: 1}", "age: {min_years: 18}")
        .replace("at_least: {n: 1, of:", "at_least: {n: 2, of:")
        .replace("prior_therapy: {value_set: statins, at_least: 1}", "prior_therapy: {value_set: statins, at_least: 2}")
        .replace("value: 160", "value: 190")
    )
    path = tmp_path / "fixed.yaml"
    path.write_text(fixed, encoding="utf-8")
    assert wording_issues(load_spec(path)) == []


def test_check_wording_command(tmp_path: Path):
    (tmp_path / "stepdrug.yaml").write_text(STEP, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--wording", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "1 spec(s) valid" in result.output  # valid, but worded apart from its encoding
    assert (
        f'stepdrug.yaml:{LINE["step"] + 1}:11: criteria.step.text: the wording says "2 of the following"'
        in result.output
    )
    assert "4 criterion wording(s) name a number or count the encoding does not have" in result.output
    plain = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert plain.exit_code == 0
    clean = CliRunner().invoke(main, ["check", "--wording", str(SPECS)])
    assert clean.exit_code == 0 and "wording: every number and count" in clean.output


MEASURED = """\
schema_version: 1
id: acme-plateletdrug
number: "1.2.4"
title: Plateletdrug
section: Prescription Drugs
effective_date: 2026-01-01
drug: {brand: Plateletdrug, hcpcs: [J1235]}
coverage:
  medically_necessary: Plateletdrug may be considered medically necessary if the conditions below are met.
  investigational: Plateletdrug may be considered investigational for all other indications.
  indication: diagnosis
value_sets:
  steroids: {description: corticosteroids, agents: [prednisone, dexamethasone]}
criteria:
  diagnosis:
    text: Immune thrombocytopenia
    diagnosis: {icd10: [D69.3]}
  baseline:
    text: Platelet count below 30,000 per microlitre
    lab: {name: platelets, comparison: "<", value: 30, unit: 10*3/uL, plausible: {min: 0, max: 2000}}
  maintained:
    text: Platelet count at least 50 x 10^9/L
    lab: {name: platelets, comparison: ">=", value: 50, unit: 10*9/L, plausible: {min: 0, max: 2000}}
  reduced:
    text: LDL-C reduced by at least 30% from baseline
    lab: {name: ldl_c, comparison: "<=", value: -30, change: percent, unit: mg/dL, plausible: {min: 0, max: 1500}}
  trial:
    text: At least 8 weeks of a corticosteroid that failed
    prior_therapy: {value_set: steroids, min_days: 56}
  dose:
    text: The dose does not exceed 10 mcg/kg once weekly
    dose: {max: 10, unit: ug, period: week, per: kg}
requirements:
  initial: {title: Prior-Approval Requirements, duration_months: 12, all_of: [diagnosis, baseline, maintained, reduced, trial, dose]}
"""


@pytest.mark.parametrize(
    ("cid", "wrong", "said"),
    [
        ("baseline", "value: 30, unit: 10*3/uL", "30,000"),  # 30,000 per microlitre is 30 10*3/uL, not 20
        ("maintained", "value: 50, unit: 10*9/L", "50"),
        ("reduced", "value: -30", "30"),
        ("trial", "min_days: 56", "8"),  # 8 weeks are 56 days, not 50
        ("dose", "max: 10", "10"),
    ],
)
def test_quantities_with_units_durations_and_changes_are_read(tmp_path: Path, cid: str, wrong: str, said: str):
    """A number followed by a unit is a quantity in that unit (UCUM-converted into the
    encoded unit), never a count; a duration in weeks is its days; a change is named by its
    size. Worded as encoded, nothing is flagged; with the encoded number changed, the
    wording's number is."""
    path = tmp_path / "measured.yaml"
    path.write_text(MEASURED, encoding="utf-8")
    assert wording_issues(load_spec(path)) == []
    changed = MEASURED.replace(wrong, wrong.replace(wrong.split(": ")[1].split(",")[0], "7"), 1)
    assert changed != MEASURED
    path.write_text(changed, encoding="utf-8")
    issues = criterion_issues(load_spec(path), cid)
    assert issues and all(f"names {said} " in i for i in issues), issues
    # the numbers inside a unit (10^9/L, 1.73 m2) are never read as numbers of their own
    assert not any("names 9 " in i or ("names 10 " in i and cid != "dose") for i in issues), issues


def test_numbers_inside_lists_of_a_test_are_read(tmp_path: Path):
    """A regimen's amounts and the least dose of each agent of a trial are numbers of the
    encoding: worded as encoded nothing is flagged, with an amount changed it is."""
    regimens = MEASURED.replace(
        "requirements:",
        """  regimen:
    text: A maintenance dose of 10 mg or 15 mg once weekly
    dose_regimen: {amounts: [10, 15], unit: mg, every_days: 7}
  statin:
    text: Prednisone at 40 mg a day or more for at least 8 weeks
    prior_therapy: {value_set: steroids, min_days: 56, min_daily_dose: {unit: mg, agents: {prednisone: 40}}}
requirements:""",
    ).replace("all_of: [diagnosis, baseline", "all_of: [regimen, statin, diagnosis, baseline")
    path = tmp_path / "regimen.yaml"
    path.write_text(regimens, encoding="utf-8")
    assert wording_issues(load_spec(path)) == []
    path.write_text(
        regimens.replace("amounts: [10, 15]", "amounts: [10, 12.5]").replace("prednisone: 40", "prednisone: 20")
    )
    spec = load_spec(path)
    assert any("names 15 " in i for i in criterion_issues(spec, "regimen"))
    assert any("names 40 " in i for i in criterion_issues(spec, "statin"))
