"""What a decision tells the requester to fix (docs/semantics.md, "The decision"): a denial
for a malformed fact names the request fields of the invalid criterion, and a pend for a lab
result whose unit does not convert says so and names the criterion's unit. Each request is
decided on OPA (the committed rego/) and by the reference evaluator, and both must agree.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import EXAMPLES, SPECS
from golden_decisions import build_rego
from rxrego.client import Decision
from rxrego.reference import decide
from rxrego.spec.loader import load_specs

GOLDEN = json.loads((Path(__file__).parent / "golden" / "decisions.json").read_text(encoding="utf-8"))
SPEC_LIST = load_specs([SPECS, EXAMPLES])


def _case(policy_file: str, name: str) -> dict:
    """The request of a golden case (an approved one, so one change makes the difference)."""
    entry = GOLDEN[f"conformance/{policy_file}.cases.yaml::{name}"]
    assert entry["decision"]["outcome"] == "approved"
    return copy.deepcopy(entry["request"])


def _set(request: dict, path: str, value: object) -> dict:
    """`request` with the value at a dotted path (a digit is a list index) set."""
    *parents, last = path.split(".")
    node = request
    for key in parents:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    node[int(last) if last.isdigit() else last] = value
    return request


BESPONSA = ("fep/5.21.100-besponsa", "approved-adult-ph-positive-after-tki-and-chemotherapy")
KORLYM = ("westernhealth/gl-154367-korlym", "approved-cushings-unspecified")
PRALUENT = ("cigna/praluent", "approved-untreated-ldl-exactly-190")

# (case, change, the criterion listed, its fields): the trial's malformed facts.
MALFORMED = [
    (BESPONSA, ("patient.birth_date", "2026-13-45"), "age_1_or_older", ["patient.birth_date"]),
    (KORLYM, ("patient.pregnancy_status", "no"), "not_pregnant", ["patient.pregnancy_status"]),
    # an LDL-C of -5 mg/dL after the statin: the lab criterion reads the statin's start
    # (prior_therapies) and requires a lab report (documents) too
    (PRALUENT, ("labs.1.value", -5), "ldl_70_after_statin", ["documents", "labs", "prior_therapies"]),
]


@pytest.fixture(scope="module")
def rego_dir(tmp_path_factory) -> Path:
    """Every policy and the examples (the one lifetime cap is an example's), generated."""
    return build_rego(SPEC_LIST, tmp_path_factory.mktemp("rego"))


@pytest.fixture
def decide_both(decide_batch, rego_dir):
    """Decide requests on OPA and by the reference evaluator; both must agree."""
    return lambda requests: _decide_both(lambda rs: decide_batch(rs, rego_dir), requests)


def _decide_both(decide_batch, requests: list[dict]) -> list[dict]:
    on_opa = decide_batch(requests)
    by_reference = [decide(SPEC_LIST, r) for r in requests]
    assert on_opa == by_reference
    return on_opa


def test_a_denial_for_a_malformed_fact_names_the_field(decide_both):
    requests = [_set(_case(*case), *change) for case, change, _, _ in MALFORMED]
    for decision, (_, change, cid, fields) in zip(decide_both(requests), MALFORMED, strict=True):
        assert decision["outcome"] == "denied", change
        listed = {u["id"]: u for u in decision["unmet"]}
        assert listed[cid]["fields"] == fields, change
        # an unmet (not malformed) criterion names no field; the client reads the field
        assert all("fields" not in u or decision["criteria"].get(u["id"]) == "unmet" for u in decision["unmet"])
        assert next(c for c in Decision.from_dict(decision).unmet if c.id == cid).fields == tuple(fields)


def test_a_conditional_with_a_malformed_condition_names_the_condition_field(decide_both):
    # 5.21.100's Ph+ rule is conditioned on the Ph+ biomarker: "yes" is no result, so the
    # rule is invalid; a denial never lists a condition, but names its field.
    request = _set(_case(*BESPONSA), "biomarkers.philadelphia_chromosome", "yes")
    [decision] = decide_both([request])
    assert decision["unmet"] == [
        {
            "id": "ph_positive_adult_prior_therapy",
            "text": decision["unmet"][0]["text"],
            "fields": ["biomarkers.philadelphia_chromosome"],
        }
    ]


def test_a_unit_that_does_not_convert_is_named_in_the_pend(decide_both):
    # the untreated LDL-C of 190 (labs[0]) in mg/kg, which is no concentration
    unconvertible = _set(_case(*PRALUENT), "labs.0.unit", "mg/kg")
    unreadable_value = _set(_case(*PRALUENT), "labs.0.value", "190")
    converted, not_a_number = decide_both([unconvertible, unreadable_value])
    assert converted["outcome"] == not_a_number["outcome"] == "pended"
    ldl = next(m for m in converted["missing"] if m["id"] == "ldl_190_before_lipid_lowering")
    assert ldl["reason"] == "unit_not_convertible"
    assert ldl["unit"] == "mg/dL"
    assert "labs" in ldl["fields"]
    missing = next(m for m in Decision.from_dict(converted).missing if m.id == "ldl_190_before_lipid_lowering")
    assert (missing.reason, missing.unit) == ("unit_not_convertible", "mg/dL")
    # a value that is not a number pends too, but its unit is not the problem
    assert not any("reason" in m or "unit" in m for m in not_a_number["missing"])


@pytest.mark.parametrize("months", [2.5, "3"])
def test_a_malformed_months_received_names_the_field_under_a_lifetime_cap(decide_both, months):
    capped = next(s for s in SPEC_LIST if any(d.lifetime_cap_months for d in _durations(s)))
    entry = next(
        v
        for k, v in GOLDEN.items()
        if isinstance(v["decision"], dict)
        and v["decision"].get("policy", {}).get("id") == capped.id
        and v["decision"].get("approval", {}).get("lifetime_cap_months")
    )
    request = _set(copy.deepcopy(entry["request"]), "therapy.months_received", months)
    [decision] = decide_both([request])
    assert decision["unmet"] == [
        {"id": "lifetime_cap", "text": decision["unmet"][0]["text"], "fields": ["therapy.months_received"]}
    ]


def _durations(spec):
    for rs in spec.requirements:
        if rs.duration is not None:
            yield rs.duration
        for ind in rs.indications:
            # an indication may state no duration (None: the approval has no end)
            if rs.duration_of(ind) is not None:
                yield rs.duration_of(ind)
