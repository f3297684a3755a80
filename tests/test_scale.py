"""A policy of 100 criteria: the generated Rego is clean under opa check --strict and Regal,
and the differential test's request strategy draws requests for it that OPA and the
reference evaluator decide alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from rxrego import generate, lint, opa, reference
from rxrego.spec.loader import load_spec
from strategies import requests_for

N = 100  # criteria


def big_spec_data() -> dict:
    """Four indications (each a diagnosis, a biomarker and an at-least-2-of-4 group of
    attestations and statuses), common criteria and a renewal: 100 criteria in all."""
    criteria: dict = {}
    indications: dict = {}
    renewal: dict = {}
    codes = ["C92.1", "C91.0", "D47.Z9", "C83.5"]
    for i, code in enumerate(codes):
        dx, marker, group = f"dx_{i}", f"marker_{i}", f"group_{i}"
        criteria[dx] = {
            "text": f"Diagnosis {i}",
            "diagnosis": {"icd10": [code], "qualifiers": {"phase": ["chronic", "blast"]}},
        }
        criteria[marker] = {
            "text": f"Marker {i} positive",
            "biomarker": {"name": f"marker_{i}", "values": ["positive"]},
        }
        members = []
        for j in range(4):
            cid = f"item_{i}_{j}"
            criteria[cid] = (
                {"text": f"Item {i}.{j}", "attestation": cid}
                if j % 2
                else {"text": f"Item {i}.{j}", "clinical_status": {"name": cid, "required": j == 0}}
            )
            members.append(cid)
        criteria[group] = {"text": f"At least two of group {i}", "at_least": {"n": 2, "of": members}}
        indications[f"ind_{i}"] = {
            "heading": f"Indication {i}",
            "diagnosis": dx,
            "all_of": [marker, group],
            "duration": {"months": 3 + i},
        }
        renewal[f"ind_{i}"] = {"heading": f"Indication {i}", "diagnosis": dx, "all_of": [f"renew_{i}"]}
        criteria[f"renew_{i}"] = {"text": f"Renewal {i}", "clinical_status": {"name": f"benefit_{i}", "required": True}}
    common = []
    while len(criteria) < N - 1:
        k = len(criteria)
        criteria[f"common_{k}"] = {"text": f"Common requirement {k}", "attestation": f"common_{k}"}
        common.append(f"common_{k}")
    criteria["age"] = {"text": "Age 18 or older", "age": {"min_years": 18}}
    common.append("age")
    return {
        "schema_version": 1,
        "id": "example-scale",
        "number": "EX-100",
        "title": "Example Scale",
        "payer": "Example Health Plan (illustrative)",
        "example": True,
        "section": "Prescription Drugs",
        "effective_date": "2026-01-01",
        "drug": {"brand": "Example Scale", "hcpcs": ["X0100"]},
        "coverage": {"other_indications": {"outcome": "not_covered"}},
        "criteria": criteria,
        "requirements": {
            "initial": {"title": "Initial", "all_of": common, "indications": indications},
            "renewal": {"title": "Renewal", "duration": {"months": 12}, "indications": renewal},
        },
    }


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("scale") / "example-scale.yaml"
    path.write_text(yaml.safe_dump(big_spec_data(), sort_keys=False), encoding="utf-8")
    spec = load_spec(path)
    assert len(spec.criteria) == N
    return spec


@pytest.mark.opa
def test_a_100_criterion_policy_generates_lint_clean_rego(big, tmp_path: Path, opa_path) -> None:
    out = tmp_path / "rego"
    generate.write(generate.build([big], "the scale test"), out)  # opa fmt + opa check --strict
    policy = out / generate.policy_path(big)
    assert len(policy.read_text().splitlines()) > 500  # past Regal's default file-length limit
    results = {r.name: r for r in lint.run_all(out)}
    regal = next(r for name, r in results.items() if name.startswith("regal"))
    assert regal.ok, regal.output


@pytest.mark.opa
def test_the_request_strategy_draws_for_a_100_criterion_policy(big, tmp_path: Path, opa_path) -> None:
    out = tmp_path / "rego"
    generate.write(generate.build([big], "the scale test"), out)
    drawn: list = []

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(requests_for(big, [big]))
    def draw(request):
        drawn.append(json.loads(json.dumps(request)))

    draw()
    assert len(drawn) >= 50
    got = opa.eval_batch(
        out, "[d | some r in input.requests; d := data.rxrego.decision with input as r]", {"requests": drawn}
    )["value"]
    outcomes = set()

    def strip(d):
        return {k: v for k, v in d.items() if k != "errors"} if isinstance(d, dict) else d

    for request, rego in zip(drawn, got, strict=True):
        ref = reference.decide([big], request)
        assert strip(rego) == strip(ref), json.dumps(request)
        outcomes.add(ref["outcome"])
    assert {"approved", "denied", "pended"} <= outcomes, outcomes
