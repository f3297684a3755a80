"""The registry of test kinds (rxrego.spec.kinds): every kind says all it means in one place,
the schema files agree with it, and nothing outside it dispatches on a kind's class."""

from __future__ import annotations

import json
import re

import pytest

from conftest import EXAMPLES, ROOT, SPECS
from rxrego import generate
from rxrego.reference.leaves import LEAVES
from rxrego.spec import kinds
from rxrego.spec import model as m
from rxrego.spec.loader import load_specs

PACKAGE = ROOT / "generator" / "rxrego"
LIB = PACKAGE / "rego" / "rxrego" / "lib" / "lib.rego"
SPEC_LIST = load_specs([SPECS, EXAMPLES])
# One instance of every kind, from the real policy and the examples (which use them all).
INSTANCES: dict[str, list[m.Kind]] = {}
for _spec in SPEC_LIST:
    for _version in _spec.versions:
        for _c in _version.criteria:
            if isinstance(_c.test, m.Kind) and _c.test not in INSTANCES.setdefault(_c.kind, []):
                INSTANCES[_c.kind].append(_c.test)


def test_every_kind_is_used_by_an_example_and_has_a_reference_function() -> None:
    assert list(m.TEST_KINDS) == list(kinds.KINDS)
    assert set(INSTANCES) == set(kinds.KINDS)
    # the reference evaluator implements each kind on its own, under the same key
    assert set(LEAVES) == set(kinds.KINDS)


def test_a_key_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        kinds.kind(kinds.AgeTest)


@pytest.mark.parametrize("name", ["policy-spec.schema.json", "pa-request.schema.json"])
def test_schema_files_are_what_the_registry_declares(name: str) -> None:
    """Editors and integrators read the files; the registry is where a kind's schema is
    written. Run `python -m rxrego.spec.kinds` after changing a kind."""
    on_disk = (PACKAGE / "schemas" / name).read_text(encoding="utf-8")
    assert on_disk == kinds.schema_texts()[name], f"{name} differs from the registry: run `python -m rxrego.spec.kinds`"


def test_assembling_puts_each_kind_in_every_criterion_schema_and_drops_unknown_ones() -> None:
    schema = json.loads((PACKAGE / "schemas" / "policy-spec.schema.json").read_text())
    props = schema["properties"]["criteria"]["additionalProperties"]["properties"]
    props["retired_kind"] = {"type": "string"}
    del props["age"]
    out = kinds.assemble_spec_schema(schema)
    for criterion in (
        out["properties"]["criteria"]["additionalProperties"],
        out["properties"]["earlier_versions"]["items"]["properties"]["criteria"]["additionalProperties"],
    ):
        keys = list(criterion["properties"])
        assert keys[:4] == ["text", "note", "question", "documentation"]
        assert keys[4 : 4 + len(kinds.KINDS)] == list(kinds.KINDS)
        assert keys[4 + len(kinds.KINDS) :] == ["all_of", "any_of", "at_least", "when", "then", "not"]
        assert criterion["properties"]["age"] == kinds.AgeTest.schema
    assert "retired_kind" in props  # the input is not changed


def _request_schema_at(schema: dict, path: str) -> dict | None:
    """The schema a request value at a dotted path must meet, through properties and
    additionalProperties (a name the policy chooses, such as a biomarker's)."""
    node = schema
    for part in path.split("."):
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


@pytest.mark.parametrize("key", list(kinds.KINDS))
def test_each_kind_declares_everything_in_one_place(key: str) -> None:
    cls = kinds.KINDS[key]
    request_schema = json.loads((PACKAGE / "schemas" / "pa-request.schema.json").read_text())
    # the library: every module of package rxrego.lib (lib.rego and coverage.rego)
    lib = "\n".join(p.read_text() for p in sorted(LIB.parent.glob("*.rego")) if not p.name.endswith("_test.rego"))
    for test in INSTANCES[key]:
        assert isinstance(test, cls) and test.key == key
        # parse and dump are inverse
        assert cls.parse(test.dump()) == test
        # every field it reads is in the request schema, which the registry feeds
        for field in test.fields():
            assert _request_schema_at(request_schema, field) is not None, (key, field)
        # its Rego calls functions the library defines, on facts it declared
        expr = test.rego()
        called = re.findall(r"lib\.([a-z_]+)\(", expr)
        assert called, expr
        for function in called:
            assert re.search(rf"^{function}\(", lib, re.MULTILINE), f"lib has no {function}"
        for fact in re.findall(r'facts\["([^"]+)"\]', expr):
            assert fact in test.fields(), (key, fact)
        # plain words, one line, for explain, diff and render
        words = test.describe()
        assert words and "\n" not in words and words.strip() == words
        # questionnaire facts: its fields, or its own grouping of them; a kind that reads no
        # request field (review: a reviewer decides it) asks for nothing
        assert bool(test.question_keys()) == bool(test.fields())
    # every request fact the kind declares is read by one of its uses (which fields a use
    # reads may depend on its options: prescribed_by without consultation reads no
    # consulting specialties)
    read = {f for test in INSTANCES[key] for f in test.fields()}
    for path in cls.request_schema:
        assert any(f == path or f.startswith(path + ".") for f in read), (key, path)


def test_the_plain_words_say_the_rule() -> None:
    assert kinds.AgeTest(min_years=18).describe() == "age at the date of service at least 18 years"
    assert kinds.AgeTest(1, 17).describe() == "age at the date of service between 1 and 17 years"
    assert kinds.DiagnosisTest(("C91.0",)).describe() == "an ICD-10-CM code in C91.0"
    assert kinds.DiagnosisTest(("C49",), exceptions=("C49.A",)).describe() == "an ICD-10-CM code in C49 except C49.A"
    assert (
        kinds.PriorTherapyTest("tki", 2, ("failed",)).describe()
        == "at least 2 distinct agents of value set tki with result failed"
    )
    # one is singular: "1 year", "1 agent", "1 calendar month", never "1 years"
    assert kinds.AgeTest(min_years=1).describe() == "age at the date of service at least 1 year"
    assert kinds.AgeTest(max_years=1).describe() == "age at the date of service at most 1 year"
    assert (
        kinds.PriorTherapyTest("tki", 1, ("failed",), min_months=1).describe()
        == "at least 1 distinct agent of value set tki with result failed, each tried at least 1 calendar month"
    )


def test_no_module_outside_the_registry_names_a_kind_class() -> None:
    """No isinstance chain per kind outside the registry: only the registry (and the model,
    re-exporting it) names the kinds' classes; the reference evaluator, the kinds' second
    and independent implementation, names them in its functions' signatures."""
    names = {cls.__name__ for cls in kinds.KINDS.values()}
    allowed = {
        PACKAGE / "spec" / "kinds.py",
        PACKAGE / "spec" / "kinds_clinical.py",
        PACKAGE / "spec" / "model.py",
        PACKAGE / "reference" / "leaves.py",
        PACKAGE / "reference" / "clinical.py",
    }
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}: {n}" for n in sorted(names) if re.search(rf"\b{n}\b", text)]
    assert found == []


def test_generate_reads_a_kinds_rego_from_the_registry() -> None:
    spec = next(s for s in SPEC_LIST if s.id == "fep-5.21.100")
    criterion = spec.criterion("age_1_or_older")
    assert (
        generate.status_expr(criterion)
        == criterion.test.rego()
        == 'lib.age(facts["patient.birth_date"], service_date, 1, null)'
    )


# --- sex, the kind added through the registry: OPA and the reference, value by value ---------

SEX_SPEC = """
schema_version: 1
id: test-sex
number: T-SEX
title: Sexra
section: Tests
effective_date: 2026-01-01
drug: {brand: Sexra, hcpcs: [J0002]}
coverage: {medically_necessary: Sexra is necessary when..., investigational: Sexra is investigational otherwise., indication: dx}
criteria:
  dx: {text: The indication, attestation: indication}
  female: {text: Patient is female, sex: {allowed: [female]}}
  counselled: {text: Patient was counselled, attestation: counselled}
  if_female: {text: "If female, counselled", when: [female], then: [counselled]}
requirements:
  initial: {title: Initial, duration_months: 3, all_of: [dx, if_female]}
"""

# `female` is a condition whose requirement is answered false, so each status of it shows:
# met -> denied; unmet -> approved; unknown -> pended (asking for patient.sex); invalid ->
# denied, shown unmet (an invalid condition never switches its requirement off).
SHOWN = {
    "met": ("denied", "met"),
    "unmet": ("approved", "unmet"),
    "unknown": ("pended", "unknown"),
    "invalid": ("denied", "unmet"),
}
SEX_ROWS = [
    ({"sex": "female"}, "met"),
    ({"sex": "male"}, "unmet"),
    ({"sex": "other"}, "unmet"),
    ({"sex": "unknown"}, "unknown"),
    ({"sex": None}, "unknown"),
    ({}, "unknown"),
    (None, "unknown"),
    ({"sex": "Female"}, "invalid"),
    ({"sex": "F"}, "invalid"),
    ({"sex": " female"}, "invalid"),
    ({"sex": 1}, "invalid"),
    ({"sex": ["female"]}, "invalid"),
    ({"sex": {"code": "female"}}, "invalid"),
    ("female", "invalid"),
]


def test_sex_decides_alike_on_opa_and_in_the_reference(opa_path, tmp_path) -> None:
    from rxrego import opa, reference
    from rxrego.spec.loader import from_data
    from rxrego.spec.yamlsource import parse

    spec = from_data(parse(SEX_SPEC, "<sex>"))
    generate.write(generate.build([spec]), tmp_path / "rego")
    requests = []
    for patient, _ in SEX_ROWS:
        request = {
            "request_type": "initial",
            "date_of_service": "2026-05-10",
            "drug": {"hcpcs": "J0002"},
            "prescriber": {"attestations": {"indication": True, "counselled": False}},
        }
        if patient is not None:
            request["patient"] = patient
        requests.append(request)
    decisions = opa.eval_batch(tmp_path / "rego", "data.rxrego.decisions", {"requests": requests})["value"]
    for (patient, status), request, decision in zip(SEX_ROWS, requests, decisions, strict=True):
        assert (decision["outcome"], decision["criteria"]["female"]) == SHOWN[status], patient
        assert decision == reference.decide([spec], request), patient
        if status == "unknown":
            assert decision["missing"] == [{"id": "female", "text": "Patient is female", "fields": ["patient.sex"]}]
