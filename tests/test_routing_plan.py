"""Policies under several plans naming one drug: the error tells the plan ids a request can
give (not the policies' packages), and questionnaire-decide sends the plan of the policy it
decides, so a plan's policy can be decided from its questionnaire."""

from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import REGO, SPECS
from rxrego import reference
from rxrego.author.common import load_spec_file
from rxrego.author.questionnaire import build_questionnaire, response_to_request
from rxrego.cli import main
from rxrego.spec.loader import load_specs

MN_DHS = SPECS / "mn-dhs" / "bosulif.yaml"


def test_several_plans_error_lists_the_plan_ids(decide_batch):
    specs = load_specs([SPECS])
    plans = sorted({s.plan for s in specs if s.plan and "bosulif" in (s.drug.brand or "").lower()})
    assert len(plans) > 1
    request = {"request_type": "initial", "date_of_service": "2026-06-15", "drug": {"name": "Bosulif"}}
    (decision,) = decide_batch([request])
    assert decision == reference.decide(specs, request)
    assert decision["outcome"] == "invalid_request"
    (error,) = decision["errors"]
    assert error["field"] == "plan"
    assert error["message"].endswith(f"name the plan ({', '.join(plans)})"), error
    assert "mn-dhs" in plans and "mn_dhs_bosulif" not in error["message"]


def test_questionnaire_decide_sends_the_plan_of_the_policy(opa_path, tmp_path):
    spec = load_spec_file(MN_DHS)
    assert spec.plan == "mn-dhs"
    q = build_questionnaire(spec)
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
    }
    mapped = response_to_request(response, spec, date_of_service="2026-06-15", request_type="initial")
    assert mapped["plan"] == "mn-dhs"
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    args = ["--spec", str(MN_DHS), "--date-of-service", "2026-06-15", "--rego", str(REGO), "--json"]
    result = CliRunner().invoke(main, ["questionnaire-decide", str(path), *args])
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "pended", decision  # decided by the plan's policy: facts missing
    assert decision["policy"]["id"] == spec.id
