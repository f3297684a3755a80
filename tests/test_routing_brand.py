"""On a policy that lists products, the drug's own brand (and generic) name names the policy and
every product of it (docs/semantics.md, "The request envelope"): the Rego router and the
reference evaluator route it alike, leaving the product undetermined when several remain;
the questionnaire asks which product, and questionnaire-decide sends its name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SPECS
from rxrego import generate as gen
from rxrego import reference
from rxrego.author.common import load_spec_file
from rxrego.author.questionnaire import build_questionnaire, response_to_request, validate_questionnaire
from rxrego.cli import main
from rxrego.spec.loader import load_specs

REPATHA = Path(__file__).parent / "fixtures" / "trial" / "acme-repatha.yaml"


@pytest.fixture(scope="module")
def specs():
    return load_specs([SPECS, REPATHA])


@pytest.fixture(scope="module")
def rego_dir(opa_path, specs, tmp_path_factory):
    out = tmp_path_factory.mktemp("brand-rego") / "rego"
    gen.write(gen.build(specs), out)
    return out


def _request(drug: dict) -> dict:
    # Repatha is also MN DHS's (policy_source/mn-dhs/pcsk9-inhibitors.yaml): name the plan.
    return {"request_type": "initial", "date_of_service": "2026-06-15", "plan": "acme", "drug": drug}


def test_the_drug_brand_routes_to_every_product_and_leaves_the_product_open(specs, rego_dir, decide_batch):
    requests = [
        _request({"name": "Repatha"}),
        _request({"name": " repatha\u00ae "}),
        _request({"name": "evolocumab"}),
        _request({"name": "Repatha Pushtronex"}),
        _request({"name": "Repatha", "ndc": "72511-0760-01"}),
        _request({"name": "Repatha", "strength": "420 mg/3.5 mL"}),
    ]
    opa_decisions = decide_batch(requests, rego_dir)
    for request, decision in zip(requests, opa_decisions, strict=True):
        assert decision == reference.decide(specs, request), request  # the router and the reference agree
        assert decision["outcome"] not in ("no_policy", "invalid_request"), (request, decision)
        assert decision["policy"]["id"] == "acme-repatha"
    assert [d["product"] for d in opa_decisions] == [None, None, None, "pushtronex", "sureclick", "pushtronex"]


def test_the_questionnaire_asks_which_product_and_the_answer_names_it(specs):
    spec = load_spec_file(REPATHA)
    q = build_questionnaire(spec)
    assert validate_questionnaire(q) == []
    first = q["item"][0]
    assert first["linkId"] == "drug.name" and first["type"] == "choice" and first["required"] is True
    assert [o["valueCoding"]["code"] for o in first["answerOption"]] == ["sureclick", "pushtronex"]
    assert [o["valueCoding"]["display"] for o in first["answerOption"]] == ["Repatha SureClick", "Repatha Pushtronex"]
    system = first["answerOption"][0]["valueCoding"]["system"]

    def qr(items: list) -> dict:
        return {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": items}

    chosen = [{"linkId": "drug.name", "answer": [{"valueCoding": {"system": system, "code": "pushtronex"}}]}]
    kwargs = {"date_of_service": "2026-06-15", "request_type": "initial", "final": False}
    assert response_to_request(qr(chosen), spec, **kwargs)["drug"] == {"name": "Repatha Pushtronex"}
    assert response_to_request(qr([]), spec, **kwargs)["drug"] == {"name": "Repatha"}
    besponsa = load_spec_file(SPECS / "fep" / "5.21.100-besponsa.yaml")
    assert all(i["linkId"] != "drug.name" for i in build_questionnaire(besponsa)["item"])  # no products listed


def test_questionnaire_decide_decides_a_policy_with_products(rego_dir, tmp_path):
    spec = load_spec_file(REPATHA)
    q = build_questionnaire(spec)
    system = q["item"][0]["answerOption"][0]["valueCoding"]["system"]
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
        "item": [{"linkId": "drug.name", "answer": [{"valueCoding": {"system": system, "code": "sureclick"}}]}],
    }
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    args = ["--spec", str(REPATHA), "--date-of-service", "2026-06-15", "--rego", str(rego_dir), "--json"]
    result = CliRunner().invoke(main, ["questionnaire-decide", str(path), *args])
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "pended", decision  # routed: facts are missing, not the policy
    assert decision["policy"]["id"] == "acme-repatha" and decision["product"] == "sureclick"
