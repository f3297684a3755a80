"""The compiled schema check (rxrego.schemacheck) against jsonschema, the reference.

Every schema rxrego checks on a hot path uses only keywords that mean the same in draft 7
(which fastjsonschema compiles) and in 2020-12 (which the schemas declare); and for valid
documents and documents broken at every place in every way, the compiled check and
jsonschema give the same verdict."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import pytest

from rxrego.client.decision import Decision
from rxrego.client.decision import _validator as decision_validator
from rxrego.conformance.runner import load_suites
from rxrego.reference.router import decide
from rxrego.schemacheck import DRAFT7_SAME, CompiledSchema, keywords
from rxrego.spec.kinds import assemble_request_schema
from rxrego.spec.loader import _validator as spec_validator
from rxrego.spec.loader import find_specs, load_specs, spec_schema
from rxrego.spec.yamlsource import parse, read_text

ROOT = Path(__file__).resolve().parent.parent
WRONG = (None, True, -1, 0.5, "", "x" * 300, "NOT-A-VALUE", [], [1], {}, {"zz": 1})


def _schema(name: str) -> dict:
    return json.loads(resources.files("rxrego").joinpath("schemas", name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "name",
    ["decision.schema.json", "pa-request.schema.json", "conformance-cases.schema.json", "policy-spec.schema.json"],
)
def test_schemas_use_only_keywords_shared_with_draft_7(name):
    schema = _schema(name)
    schema = {"policy-spec.schema.json": spec_schema(), "pa-request.schema.json": assemble_request_schema(schema)}.get(
        name, schema
    )
    assert keywords(schema) <= DRAFT7_SAME, sorted(keywords(schema) - DRAFT7_SAME)
    CompiledSchema(schema)  # compiles


def test_a_keyword_outside_the_shared_set_is_refused():
    with pytest.raises(ValueError, match="unevaluatedProperties"):
        CompiledSchema({"type": "object", "unevaluatedProperties": False})


def _variants(doc, every: int = 1):
    """`doc`, then copies broken at each place (every `every`-th place of a pre-order walk):
    the value replaced by each WRONG value, the key removed, an unknown key added."""
    yield doc
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(doc, ())
    for path in paths[::every]:
        for wrong in WRONG:
            yield _replaced(doc, path, wrong)
        if path:
            yield _replaced(doc, path, _DELETE)
        yield _replaced(doc, (*path, "unknown_key_zz"), "x", add=True)


_DELETE = object()


def _replaced(doc, path, value, add=False):
    out = copy.deepcopy(doc)
    if not path:
        return value
    node = out
    for p in path[:-1]:
        node = node[p]
    if add and not isinstance(node, dict):
        return out
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def _agree(compiled: CompiledSchema, docs) -> tuple[int, int]:
    n = refused = 0
    for doc in docs:
        fast = not any(True for _ in compiled.errors(doc))
        reference = not any(True for _ in compiled.reference.iter_errors(doc))
        assert fast == reference, f"compiled {fast}, jsonschema {reference} for {json.dumps(doc)[:400]}"
        n += 1
        refused += not reference
    return n, refused


def _golden_decisions() -> list[dict]:
    specs = load_specs(find_specs([ROOT / "policy_source"]))
    suites = load_suites([ROOT / "conformance"], specs)
    # Once every outcome the schema names is seen and 12 are kept, no later case adds one:
    # deciding the remaining golden cases (most of them) would change nothing.
    schema = json.loads(resources.files("rxrego.schemas").joinpath("decision.schema.json").read_text())
    every = set(schema["properties"]["outcome"]["enum"])
    decisions, outcomes = [], set()
    for case in (c for suite in suites for c in suite.cases):
        if outcomes == every and len(decisions) >= 12:
            break
        d = decide(specs, case.request)
        if d["outcome"] not in outcomes or len(decisions) < 12:
            outcomes.add(d["outcome"])
            decisions.append(d)
    assert outcomes >= {"approved", "denied", "pended", "no_policy", "invalid_request"}, outcomes
    return decisions


def test_decision_check_agrees_with_jsonschema_on_golden_decisions_and_broken_copies():
    compiled = decision_validator()
    n, refused = _agree(compiled, (v for d in _golden_decisions() for v in _variants(d)))
    assert n > 1000 and refused > n // 2


def test_a_broken_decision_is_refused_with_jsonschemas_words():
    doc = {"outcome": "approved", "reason": "criteria_met", "approval": "forever"}
    from rxrego.client.errors import UnexpectedResponse

    with pytest.raises(UnexpectedResponse, match="approval"):
        Decision.from_dict(doc)


def test_spec_check_agrees_with_jsonschema_on_every_spec_and_broken_copies():
    compiled = spec_validator()
    specs = find_specs([ROOT / "policy_source"])
    assert specs
    docs = [parse(read_text(p, str(p)), str(p)).data for p in specs[:2]]
    n, refused = _agree(compiled, (v for d in docs for v in _variants(d, every=7)))
    assert n > 300 and refused > n // 3
