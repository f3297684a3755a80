"""The client's `Decision` against every decision OPA is recorded as returning.

tests/golden/decisions.json holds the decision documents the pinned OPA returned for every
conformance case and every drawn request (tests/test_golden_decisions.py checks OPA still
returns them): each must validate against the published decision.schema.json and come back
from `Decision`'s typed fields whole, so no key the sidecar sends is dropped by the client.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rxrego.client import Decision, Missing

GOLDEN = Path(__file__).parent / "golden" / "decisions.json"


def _decisions() -> dict[str, dict]:
    return {key: entry["decision"] for key, entry in json.loads(GOLDEN.read_text(encoding="utf-8")).items()}


def _typed(d: Decision) -> dict[str, Any]:
    """The document rebuilt from Decision's typed fields only (never from `raw`)."""
    doc: dict[str, Any] = {"outcome": d.outcome, "reason": d.reason}
    if d.request_type is not None:
        doc["request_type"] = d.request_type
    if d.policy is not None:
        doc["policy"] = dict(vars(d.policy))
    if d.requirements is not None:
        doc["requirements"] = d.requirements
    if d.approval is not None:
        a = d.approval
        approval: dict[str, Any] = {"start": a.start.isoformat()}
        if a.end is not None:
            approval["end"] = a.end.isoformat()
        for key in ("duration_months", "duration_weeks", "plan_year_start", "lifetime_cap_months"):
            if getattr(a, key) is not None:
                approval[key] = getattr(a, key)
        if a.capped:
            approval["capped"] = True
        doc["approval"] = approval
    # Arrays and criteria are present whenever a policy decided; compare them when sent.
    raw = d.raw
    if "unmet" in raw:
        doc["unmet"] = [
            {"id": c.id, "text": c.text} | ({"fields": list(c.fields)} if c.fields else {}) for c in d.unmet
        ]
    if "missing" in raw:
        doc["missing"] = [
            {"id": m.id, "text": m.text, "fields": list(m.fields)}
            | ({"documents": list(m.documents)} if m.documents else {})
            | ({"reason": m.reason, "unit": m.unit} if m.reason is not None else {})
            for m in d.missing
        ]
    if "met" in raw:
        doc["met"] = list(d.met)
    if "criteria" in raw:
        doc["criteria"] = dict(d.criteria)
    if "errors" in raw:
        doc["errors"] = [{"field": e.field, "message": e.message} for e in d.errors]
    for key in ("drug", "indication"):
        if getattr(d, key) is not None:
            doc[key] = dict(getattr(d, key))
    for key in ("in_force_from", "review", "message"):
        if getattr(d, key) is not None:
            doc[key] = getattr(d, key)
    if "product" in raw:
        doc["product"] = d.product
    if "request_id" in raw:
        doc["request_id"] = d.request_id
    return doc


def test_the_golden_record_covers_every_outcome_and_the_rarer_keys():
    decisions = _decisions().values()
    assert {d["outcome"] for d in decisions} == {"approved", "denied", "pended", "no_policy", "invalid_request"}
    keys = set().union(*decisions)
    assert {"review", "message", "in_force_from", "drug", "product", "indication"} <= keys
    assert any("documents" in m for d in decisions for m in d.get("missing", []))
    assert any("plan_year_start" in d.get("approval", {}) for d in decisions)
    assert any("duration_weeks" in d.get("approval", {}) for d in decisions)


def test_every_recorded_decision_validates_against_the_schema():
    schema = json.loads(resources.files("rxrego.schemas").joinpath("decision.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    bad = {k: [e.message for e in validator.iter_errors(d)] for k, d in _decisions().items()}
    assert not {k: v for k, v in bad.items() if v}


def test_the_schema_declares_every_key_a_recorded_decision_has():
    schema = json.loads(resources.files("rxrego.schemas").joinpath("decision.schema.json").read_text())
    props = schema["properties"]
    decisions = list(_decisions().values())
    assert set().union(*decisions) <= set(props)
    assert {k for d in decisions for m in d.get("missing", []) for k in m} <= set(
        props["missing"]["items"]["properties"]
    )
    assert {k for d in decisions for u in d.get("unmet", []) for k in u} <= set(props["unmet"]["items"]["properties"])
    assert {k for d in decisions for k in d.get("approval", {})} <= set(props["approval"]["properties"])


def test_every_recorded_decision_round_trips_through_the_client_without_losing_a_key():
    lost = {}
    for key, doc in _decisions().items():
        typed = _typed(Decision.from_dict(doc))
        if typed != doc:
            lost[key] = {k: (doc.get(k), typed.get(k)) for k in set(doc) | set(typed) if doc.get(k) != typed.get(k)}
    assert not lost, next(iter(lost.items()))


def test_missing_carries_the_document_types_that_would_satisfy_it():
    decision = Decision.from_dict(
        {
            "outcome": "pended",
            "reason": "information_missing",
            "missing": [
                {
                    "id": "report",
                    "text": "A genetic test report",
                    "fields": ["documents"],
                    "documents": ["genetic_test_report"],
                },
                {"id": "age", "text": "Age 18 or older", "fields": ["patient.birth_date"]},
            ],
        }
    )
    assert decision.missing == (
        Missing("report", "A genetic test report", ("documents",), ("genetic_test_report",)),
        Missing("age", "Age 18 or older", ("patient.birth_date",), ()),
    )


@pytest.mark.parametrize(
    "doc",
    [
        {
            "outcome": "pended",
            "reason": "information_missing",
            "missing": [{"id": "x", "text": "t", "fields": [], "documents": "chart_notes"}],
        }
    ],
)
def test_documents_off_the_contract_are_refused(doc):
    from rxrego.client import UnexpectedResponse

    with pytest.raises(UnexpectedResponse, match="missing/0/documents"):
        Decision.from_dict(doc)
