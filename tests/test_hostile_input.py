"""Hostile input: broken specs end in clear, located errors and leave rego/ as it was;
malformed requests are never approved."""

from __future__ import annotations

import copy
import json
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REGO, SPECS
from rxrego.cli import main
from rxrego.spec.errors import SpecError
from rxrego.spec.yamlsource import parse

BESPONSA = SPECS / "fep" / "5.21.100-besponsa.yaml"
BASE_SPEC = yaml.safe_load(BESPONSA.read_text())
# Dates stay text in specs; safe_load made them date objects.
BASE_SPEC = json.loads(json.dumps(BASE_SPEC, default=str))

# --- specs ------------------------------------------------------------------------------

ODD = ["", " ", "\t", "é", "😀", "\u202e", "a" * 5000, "-1", "null", "Ünïcode", "x y", "1abc", "CAPS", "a.b"]

WRONG_TYPES = st.sampled_from([None, 0, -1, 1.5, True, False, "text", [], {}, [1, 2], {"x": 1}, "2026-02-30"])


def paths(doc, prefix=()):
    """Every (path, value) in a JSON-like document."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, (*prefix, i))


ALL_PATHS = [p for p, _ in paths(BASE_SPEC) if p]
MAPPING_PATHS = [p for p, v in paths(BASE_SPEC) if isinstance(v, dict)]
REQUIRED_TOP = [
    "schema_version",
    "id",
    "number",
    "title",
    "section",
    "effective_date",
    "drug",
    "coverage",
    "criteria",
    "requirements",
]
CRITERIA = list(BASE_SPEC["criteria"])


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def set_at(doc, path, value):
    get(doc, path[:-1])[path[-1]] = value


@st.composite
def broken_specs(draw):
    """The Besponsa spec with one mutation that must make it invalid, and sometimes noise."""
    doc = copy.deepcopy(BASE_SPEC)
    kind = draw(
        st.sampled_from(
            [
                "wrong_type",
                "missing_key",
                "unknown_key",
                "bad_date",
                "dangling_ref",
                "cycle",
                "huge_string",
                "odd_id",
                "bad_duration",
                "bad_value_set",
                "two_tests",
                "empty_list",
            ]
        )
    )
    if kind == "wrong_type":
        path = draw(
            st.sampled_from([p for p in ALL_PATHS if not isinstance(get(doc, p), dict | list) and p[0] != "history"])
        )
        old = get(doc, path)
        new = draw(
            WRONG_TYPES.filter(lambda v: type(v) is not type(old) and not (isinstance(old, str) and isinstance(v, str)))
        )
        set_at(doc, path, new)
    elif kind == "missing_key":
        key = draw(st.sampled_from(REQUIRED_TOP))
        del doc[key]
    elif kind == "unknown_key":
        path = draw(
            st.sampled_from(
                [p for p in MAPPING_PATHS if not (p and p[0] in ("criteria", "value_sets") and len(p) == 1)]
            )
        )
        key = draw(st.sampled_from(["colour", "allow", "min_year", "textt", "override", "__proto__"]))
        target = get(doc, path)
        if key in target:
            key += "_x"
        target[key] = draw(WRONG_TYPES)
    elif kind == "bad_date":
        key = draw(st.sampled_from(["effective_date", "original_policy_date", "last_review_date"]))
        doc[key] = draw(
            st.sampled_from(["2026-02-30", "2026-13-01", "26-04-01", "April 1, 2026", "2026/04/01", "0000-00-00"])
        )
    elif kind == "dangling_ref":
        cid = draw(
            st.sampled_from([c for c, v in doc["criteria"].items() if any(k in v for k in ("all_of", "when", "then"))])
        )
        key = next(k for k in ("all_of", "when", "then") if k in doc["criteria"][cid])
        doc["criteria"][cid][key].append(draw(st.sampled_from(["no_such_criterion", "diagnosiss", "age"])))
    elif kind == "cycle":
        doc["criteria"]["no_disease_progression"] = {"text": "loop", "all_of": ["no_progression_or_toxicity"]}
    elif kind == "huge_string":
        path = draw(st.sampled_from([("title",), ("criteria", "diagnosis", "text"), ("coverage", "investigational")]))
        set_at(doc, path, "x" * draw(st.integers(4001, 20_000)))
    elif kind == "odd_id":
        old = draw(st.sampled_from(CRITERIA))
        new = draw(st.sampled_from(ODD))
        doc["criteria"] = {(new if k == old else k): v for k, v in doc["criteria"].items()}
    elif kind == "bad_duration":
        rs = draw(st.sampled_from(["initial", "renewal"]))
        doc["requirements"][rs]["duration_months"] = draw(st.sampled_from([0, -3, 1000, 2.5, "3", None]))
    elif kind == "bad_value_set":
        doc["criteria"]["failed_tki"]["prior_therapy"]["value_set"] = draw(
            st.sampled_from(["tkis", "tyrosine_kinase_inhibitor", "none"])
        )
    elif kind == "two_tests":
        doc["criteria"]["vod_monitoring"]["age"] = {"min_years": 1}
    elif kind == "empty_list":
        doc["requirements"]["initial"]["all_of"] = []
    # Noise must not repair the mutation, so it never follows a wrong_type (which may have hit this text).
    if kind != "wrong_type" and "age_1_or_older" in doc.get("criteria", {}) and draw(st.booleans()):
        # Noise that is valid on its own: a changed wording with odd unicode.
        doc["criteria"]["age_1_or_older"]["text"] = draw(st.text(min_size=1, max_size=30).filter(lambda s: s.strip()))
    return kind, doc


LOCATED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+):(?: (?P<field>[^ :][^:]*):)? (?P<message>.+)$")


@pytest.fixture(scope="module")
def rego_copy(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "rego"
    shutil.copytree(REGO, out)
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


SPEC_TRIES = {"n": 0}


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(case=broken_specs())
def test_broken_specs_fail_clearly_and_leave_rego_untouched(case, rego_copy, tmp_path_factory):
    kind, doc = case
    folder = tmp_path_factory.mktemp("spec")
    spec = folder / "broken.yaml"
    spec.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    before = tree(rego_copy)
    runner = CliRunner()
    for args in (["check", str(spec)], ["generate", "--specs", str(folder), "--out", str(rego_copy)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (kind, args[0], result.output)
        assert isinstance(result.exception, SystemExit), f"traceback for {kind}: {result.exception!r}"
        errors = [line for line in result.output.splitlines() if line.startswith(str(spec))]
        assert errors, (kind, result.output)
        for line in errors:
            m = LOCATED.match(line)
            assert m, f"not file:line:col: field: message -> {line}"
            assert m["field"] or "'" in m["message"], f"names no field: {line}"
    assert tree(rego_copy) == before
    SPEC_TRIES["n"] += 1


def test_spec_tries_were_counted():
    """Runs after the property test in file order: the 500 broken specs were really tried."""
    print(f"hostile specs: {SPEC_TRIES['n']} tried, every one a located error, rego/ unchanged")
    assert SPEC_TRIES["n"] >= 500


def test_billion_laughs_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n"
    started = time.process_time()
    with pytest.raises(SpecError) as exc:
        parse(bomb, "bomb.yaml")
    assert time.process_time() - started < 5  # CPU seconds, not wall clock: an expansion would take hours
    assert "aliases" in str(exc.value)


def test_oversized_and_non_utf8_specs(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"title: " + b"x" * (1024 * 1024 + 10) + b"\n")
    result = CliRunner().invoke(main, ["check", str(big)])
    assert result.exit_code == 2 and "at most 1048576 bytes" in result.output
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"id: x\ntitle: caf\xe9\n")
    result = CliRunner().invoke(main, ["check", str(latin)])
    assert result.exit_code == 2
    assert "latin.yaml:2:11:" in result.output and "byte offset 16" in result.output


# --- requests ---------------------------------------------------------------------------

APPROVABLE = {
    "request_type": "initial",
    "date_of_service": "2026-06-15",
    "patient": {"birth_date": "1980-03-20"},
    "drug": {"hcpcs": "J9229"},
    "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}],
    "biomarkers": {"CD22": "positive", "philadelphia_chromosome": "negative"},
    "prescriber": {
        "attestations": {"liver_tests_each_dose": True, "vod_monitoring": True, "no_alkylating_hsct_conditioning": True}
    },
}

# Every fact the approval rests on: breaking any one of them must prevent approval.
FACTS = [
    ("request_type",),
    ("date_of_service",),
    ("patient",),
    ("patient", "birth_date"),
    ("drug",),
    ("diagnoses",),
    ("diagnoses", 0),
    ("diagnoses", 0, "code"),
    ("diagnoses", 0, "lineage"),
    ("diagnoses", 0, "disease_status"),
    ("biomarkers",),
    ("biomarkers", "CD22"),
    ("biomarkers", "philadelphia_chromosome"),
    ("prescriber",),
    ("prescriber", "attestations"),
    ("prescriber", "attestations", "liver_tests_each_dose"),
    ("prescriber", "attestations", "vod_monitoring"),
    ("prescriber", "attestations", "no_alkylating_hsct_conditioning"),
]


def deep(depth: int, leaf: object) -> object:
    for i in range(depth):
        leaf = {"x": leaf} if i % 2 else [leaf]
    return leaf


BAD_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            0,
            1,
            -1,
            1.5,
            True,
            False,
            "",
            "true",
            "false",
            "yes",
            "1",
            "0",
            "null",
            "2026-02-30",
            "2026-13-01",
            "1899-12-31",
            "2200-01-01",
            "26-06-15",
            "2026-6-15",
            "positive ",
            "POSITIVE",
            "equivocal",
            "c91.02x",
            [],
            {},
            [None],
            [{}],
            ["C91.02"],
        ]
    ),
    st.integers(-(10**12), 10**12),
    st.text(max_size=20),
    # Huge arrays are built from a drawn size: drawing thousands of elements one by one
    # would cost far more than the evaluation under test.
    st.integers(1000, 5000).map(lambda n: list(range(n))),
    st.integers(10, 60).map(lambda d: deep(d, "positive")),
)

NOISE = st.dictionaries(
    st.text(min_size=1, max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=5)), max_size=3
)


@st.composite
def malformed_requests(draw):
    request = copy.deepcopy(APPROVABLE)
    path = draw(st.sampled_from(FACTS))
    value = draw(BAD_VALUES)
    original = get(request, path)
    if value == original or (
        isinstance(value, str)
        and isinstance(original, str)
        and value.lower() == original.lower()
        and path[-1] != "code"
    ):
        value = 12345
    if (
        path == ("diagnoses", 0, "code")
        and isinstance(value, str)
        and value.replace(".", "").replace(" ", "").upper().startswith("C910")
    ):
        value = 91.02  # a code spelled differently is the same code, not a malformation
    set_at(request, path, value)
    extra = draw(NOISE)
    request.update({k: v for k, v in extra.items() if k not in request})
    return path, request


def test_malformed_requests_are_never_approved(decide_batch):
    """At least 2,000 malformed requests through the generated policies on OPA, in batches
    of 500 (one OPA process each): zero approvals, each denied, pended or invalid with a reason."""
    batch: list = []

    @settings(max_examples=2000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=malformed_requests())
    def collect(case):
        batch.append(case)

    collect()
    assert len(batch) >= 2000
    requests = [r for _, r in batch]
    decisions = []
    for i in range(0, len(requests), 500):
        decisions += decide_batch(requests[i : i + 500])
    approvals = [(p, r, d) for (p, r), d in zip(batch, decisions, strict=True) if d.get("outcome") == "approved"]
    print(f"hostile requests: {len(requests)} tried, {len(approvals)} approved")
    assert not approvals, f"approved a malformed request at {approvals[0][0]}: {json.dumps(approvals[0][1])[:500]}"
    for d in decisions:
        assert d["outcome"] in ("denied", "pended", "invalid_request", "no_policy")
        assert d["reason"]
        if d["outcome"] == "denied":
            assert d["unmet"]
        elif d["outcome"] == "pended":
            assert d["missing"]
        elif d["outcome"] == "invalid_request":
            assert d["errors"]
