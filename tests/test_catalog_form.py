"""The data form of a catalog (rxrego.catalog, `rxrego bundle --form data`) decides exactly
as the per-module form does: every golden case of every policy, and requests Hypothesis
draws for the real policies and the examples, through the router in the real OPA, one
`opa eval` per form, compared field by field. Also: the bundle is served by a real sidecar,
and what has no data form (a library function the interpreter does not call, combinators
nested past its levels) is refused by name."""

from __future__ import annotations

import json
import tarfile
import textwrap
from pathlib import Path

import pytest
import requests as http
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import corpus
from conftest import CASES, EXAMPLES, REGO, SPECS
from rxrego import catalog, generate, limits, opa
from rxrego.cli import main
from rxrego.conformance.cases import find_case_files, load_case_file
from rxrego.sidecar import Sidecar
from rxrego.spec import model as m
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_specs
from strategies import requests_for

REAL = load_specs([SPECS])
# The deep chain's requests: attested, refused, not answered.
OUTCOMES = ["approved", "denied", "pended"]


def _data_form_dir(specs, rego_dir: Path, out: Path) -> Path:
    generate._write_tree(out, catalog.data_form(specs, generate._read_tree(rego_dir)))
    return out


def _differences(a: object, b: object, path: str = "") -> list[str]:
    """The fields (JSON paths) where two decisions differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [path or "."]


def _assert_alike(requests: list, modules: list, data: list, what: str) -> None:
    assert len(modules) == len(data) == len(requests)
    bad = []
    for i, (request, mod, d) in enumerate(zip(requests, modules, data, strict=True)):
        if fields := _differences(mod, d):
            bad.append(
                f"{what} #{i}: {', '.join(fields[:8])}\n  request: {json.dumps(request)[:400]}\n"
                f"  modules: {json.dumps(mod)[:400]}\n  data:    {json.dumps(d)[:400]}"
            )
    assert not bad, f"{len(bad)} of {len(requests)} decisions differ between the forms:\n" + "\n".join(bad[:5])


@pytest.mark.opa
def test_every_golden_case_decides_alike_in_both_forms(opa_path, tmp_path: Path):
    requests = [c.request for f in find_case_files([CASES]) for c in load_case_file(f).cases]
    assert len(requests) >= 500
    data_dir = _data_form_dir(REAL, REGO, tmp_path / "data-form")
    assert not (data_dir / "rxrego" / "policies").exists()
    modules = opa.eval_batch(REGO, opa.DECIDE_EACH, {"requests": requests})["value"]
    data = opa.eval_batch(data_dir, opa.DECIDE_EACH, {"requests": requests})["value"]
    _assert_alike(requests, modules, data, "golden case")
    # Not vacuous: the cases reach every outcome through both forms.
    assert {d["outcome"] for d in data} >= {"approved", "denied", "pended", "invalid_request", "no_policy"}


@pytest.mark.opa
def test_drawn_requests_decide_alike_in_both_forms(opa_path, tmp_path: Path):
    """The differential test's requests (tests/strategies.py), for the real policies and the
    examples generated together, 40 a policy."""
    specs = load_specs([SPECS, EXAMPLES])
    rego_dir = tmp_path / "rego"
    generate.write(generate.build(specs), rego_dir)
    drawn: list = []
    for spec in specs:
        others = [s for s in specs if s is not spec]

        @settings(
            max_examples=4, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
        )
        @given(st.lists(requests_for(spec, others), min_size=10, max_size=10))
        def collect(batch: list) -> None:
            drawn.extend(json.loads(json.dumps(batch)))

        collect()
    assert len(drawn) >= 40 * len(specs)
    data_dir = _data_form_dir(specs, rego_dir, tmp_path / "data-form")
    modules = opa.eval_batch(rego_dir, opa.DECIDE_EACH, {"requests": drawn})["value"]
    data = opa.eval_batch(data_dir, opa.DECIDE_EACH, {"requests": drawn})["value"]
    _assert_alike(drawn, modules, data, "drawn request")


@pytest.mark.opa
def test_the_data_form_bundle_is_served_by_the_sidecar(opa_path, tmp_path: Path):
    """`rxrego bundle --form data`, served by the real OPA: the router reaches the data
    form's decision, the same as the module form's."""
    out = tmp_path / "bundle.tar.gz"
    result = CliRunner().invoke(
        main, ["bundle", "--form", "data", "-o", str(out), "--rego", str(REGO), "--specs", str(SPECS)]
    )
    assert result.exit_code == 0, result.output
    assert "data form" in result.output
    with tarfile.open(out) as tar:
        names = {m.name.lstrip("/") for m in tar.getmembers()}
    assert "rxrego/catalog/catalog.rego" in names and not any(n.startswith("rxrego/policies/") for n in names)
    cases = [c for f in find_case_files([CASES]) for c in load_case_file(f).cases][:20]
    requests = [c.request for c in cases]
    expected = opa.eval_batch(REGO, opa.DECIDE_EACH, {"requests": requests})["value"]
    sidecar = Sidecar(out)
    sidecar.start()
    try:
        sidecar.wait_until_healthy()
        with http.Session() as s:
            s.trust_env = False
            served = [
                s.post(f"{sidecar.url}/v1/data/rxrego/decision", json={"input": r}, timeout=30).json()["result"]
                for r in requests
            ]
    finally:
        sidecar.stop()
    _assert_alike(requests, expected, served, "served golden case")


@pytest.mark.opa
def test_the_data_form_from_specs_alone_is_the_bundles(opa_path):
    """catalog.build (what the benchmark times) writes what `bundle --form data` bundles."""
    assert catalog.build(REAL) == catalog.data_form(REAL, generate._read_tree(REGO))


def test_the_data_holds_every_field_the_interpreter_reads():
    read = catalog.fields_read()
    # The reads the shim and the interpreter make of a version's data, found in their text.
    assert {"reads_products", "alias_of", "request_types", "policy"} <= read[catalog.SHIM]
    assert {"indications", "levels", "criteria", "evaluate", "select"} <= read[catalog.INTERPRETER]
    policies = catalog.catalog(REAL)["policies"]
    # The real catalog has each kind of entry the check tells apart.
    assert any("alias_of" in e for e in policies.values())
    assert any(e.get("indications") for e in policies.values())
    assert any(e.get("indications") is False for e in policies.values())
    catalog.check_fields(policies)


def test_data_without_a_field_the_interpreter_reads_is_refused():
    """A catalog written by a generator that predates a field the shipped interpreter reads
    (a package changed while a long run used it: the interpreter is read from disk when the
    bundle is built, the generator was imported before) is refused, naming the field.
    Without the check such data decides: the shim read a missing `reads_products` as false,
    and all of Korlym's and Bosulif's cases that hinge on the product requested were pended."""
    policies = catalog.catalog(REAL)["policies"]
    assert policies["wha_gl_154367"]["reads_products"] is True
    older = {name: {k: v for k, v in e.items() if k != "reads_products"} for name, e in policies.items()}
    with pytest.raises(catalog.CatalogError) as err:
        catalog.check_fields(older)
    message = str(err.value)
    assert catalog.SHIM in message and "reads_products" in message and "different versions" in message
    # An alias needs only its target and its policy block.
    alias = next(n for n, e in policies.items() if "alias_of" in e)
    broken = {**policies, alias: {"alias_of": policies[alias]["alias_of"]}}
    with pytest.raises(catalog.CatalogError, match=f"policy.*for {alias}"):
        catalog.check_fields(broken)


def test_each_criterion_is_its_status_expression_as_data():
    spec = next(s for s in REAL if s.id == "fep-5.21.100")
    data = catalog.policy_data(spec)
    crit = data["criteria"]
    assert crit["age_1_or_older"] == {
        "depth": 0,
        "expr": {
            "call": "age",
            "args": [{"fact": "patient.birth_date"}, {"ref": "service_date"}, {"value": 1}, {"value": None}],
        },
    }
    assert crit["ph_positive_adult_prior_therapy"] == {
        "depth": 1,
        "expr": {
            "call": "when",
            "args": [
                {"statuses": ["age_18_or_older", "ph_positive"]},
                {"statuses": ["failed_tki", "failed_standard_chemotherapy"]},
            ],
        },
    }
    diagnosis = crit["diagnosis"]["expr"]
    assert diagnosis["args"][1] == {"set": ["C910", "C9100", "C9101", "C9102"]}
    assert diagnosis["args"][2] == {
        "typed": [
            2,
            {"disease_status": {"$set": ["refractory", "relapsed"]}, "lineage": {"$set": ["b_cell_precursor"]}},
        ]
    }
    assert diagnosis["args"][3] == {
        "array": [{"call": "biomarker", "args": [{"fact": "biomarkers.CD22"}, {"set": ["positive"]}]}]
    }
    assert data["levels"][1] == ["no_progression_or_toxicity", "ph_positive_adult_prior_therapy"]


def test_a_function_the_interpreter_does_not_call_is_refused_by_name():
    spec = next(s for s in REAL if s.id == "fep-5.21.100")
    supported = catalog.supported_functions() - {"history"}
    with pytest.raises(catalog.CatalogError) as err:
        catalog.criteria(spec, supported)
    message = str(err.value)
    assert "policy_source/fep/5.21.100-besponsa.yaml" in message
    assert "criterion 'failed_tki'" in message and "lib.history" in message


def test_the_interpreter_calls_every_function_a_kind_can_write(tmp_path: Path):
    """The bench corpus, the real policies and the examples together use every criterion
    kind: each of their criteria has a data form."""
    corpus.write_corpus(tmp_path, 8)
    loaded = load_specs([tmp_path, SPECS, EXAMPLES])
    assert corpus.kinds_used(loaded) >= set(m.TEST_KINDS)
    policies = catalog.catalog(loaded)["policies"]
    assert len(policies) >= 8 + len(REAL) and all("criteria" in p or "alias_of" in p for p in policies.values())


def _chain_spec(depth: int) -> str:
    """A spec whose criterion `c{depth}` is `depth` all_of's over one attestation."""
    chain = "".join(f"  c{i}:\n    text: Level {i}\n    all_of: [c{i - 1}]\n" for i in range(1, depth + 1))
    return (
        textwrap.dedent(
            """\
        schema_version: 1
        id: example-deep
        number: "EX-900"
        title: Example deep nesting
        payer: Example Health Plan (illustrative)
        example: true
        section: Prescription Drugs
        subsection: Other
        effective_date: 2026-01-01
        drug:
          brand: Example Deepab
          generic: example deepab
          hcpcs: [X0900]
        coverage:
          medically_necessary: Example Deepab is medically necessary when the criteria below are met.
          investigational: Example Deepab is investigational otherwise.
        criteria:
          c0:
            text: Prescriber attests
            attestation: attests
        """
        )
        + chain
        + textwrap.dedent(
            f"""\
        requirements:
          initial:
            title: Initial approval
            duration_months: 6
            all_of: [c{depth}]
        """
        )
    )


def test_check_refuses_combinators_nested_past_the_interpreters_levels(tmp_path: Path):
    deep = limits.MAX_CRITERION_DEPTH + 1
    path = tmp_path / "deep.yaml"
    path.write_text(_chain_spec(deep), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_specs([path])
    (issue,) = err.value.issues
    assert issue.file.endswith("deep.yaml") and issue.path == f"criteria.c{deep}"
    assert issue.line == _chain_spec(deep).splitlines().index(f"  c{deep}:") + 1
    assert f"nested {deep} deep" in issue.message and f"at most {limits.MAX_CRITERION_DEPTH}" in issue.message


@pytest.mark.opa
def test_the_deepest_nesting_allowed_decides_alike_in_both_forms(opa_path, tmp_path: Path):
    path = tmp_path / "specs" / "deep.yaml"
    path.parent.mkdir()
    path.write_text(_chain_spec(limits.MAX_CRITERION_DEPTH), encoding="utf-8")
    specs = load_specs([path])
    assert max(catalog.depths(specs[0]).values()) == limits.MAX_CRITERION_DEPTH
    rego_dir = tmp_path / "rego"
    generate.write(generate.build(specs), rego_dir)
    data_dir = _data_form_dir(specs, rego_dir, tmp_path / "data-form")
    base = {"request_type": "initial", "date_of_service": "2026-03-01", "drug": {"hcpcs": "X0900"}}
    requests = [{**base, "prescriber": {"attestations": {"attests": answer}}} for answer in (True, False)] + [base]
    modules = opa.eval_batch(rego_dir, opa.DECIDE_EACH, {"requests": requests})["value"]
    data = opa.eval_batch(data_dir, opa.DECIDE_EACH, {"requests": requests})["value"]
    _assert_alike(requests, modules, data, "request")
    assert [d["outcome"] for d in data] == OUTCOMES


@pytest.mark.opa
def test_the_runner_decides_over_the_entries_its_cases_reach_as_over_the_whole_catalog(opa_path, tmp_path: Path):
    """runner.run on a data form tree gives OPA only the catalog entries of the policies the
    suites cover (and the router's tables as JSON): the decisions are those of the whole
    tree; a request routed to a policy outside those entries decides over the whole tree."""
    from rxrego.conformance import runner

    specs = load_specs([SPECS, EXAMPLES])
    data_dir = tmp_path / "data-form"
    generate._write_tree(data_dir, catalog.build(specs, "test"))
    suites = [s for s in runner.load_suites([CASES], specs) if s.policy in {"fep-5.21.100", "mn-dhs-bosulif"}]
    assert len(suites) == 2
    lines = catalog.entry_lines((data_dir / catalog.DATA_PATH).read_text(encoding="utf-8"))
    assert lines is not None and len(lines) > 2 * len(suites)
    requests = [c.request for s in suites for c in s.cases]
    whole = opa.eval_batch(data_dir, opa.DECIDE_EACH, {"requests": requests})["value"]
    trimmed = runner._eval_trimmed(suites, specs, data_dir, {"requests": requests}, False)
    assert trimmed is not None
    assert trimmed["value"] == whole
    assert [r.decision for r in runner.run(suites, specs, data_dir).results] == whole
    # A request for a policy no suite covers: routed outside the entries given, so None
    # (the runner then decides over the whole tree).
    other = next(s for s in specs if s.id not in {x.policy for x in suites} and s.drug.hcpcs)
    stray = dict(requests[0], drug={"hcpcs": other.drug.hcpcs[0]})
    assert runner._eval_trimmed(suites, specs, data_dir, {"requests": [stray]}, False) is None
