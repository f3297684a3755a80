"""The benchmark corpus (bench/corpus.py): a small corpus loads and validates, uses every
criterion kind, is byte-for-byte deterministic for a seed, loads beside the real and example
specs, and generates clean Rego (opa fmt + opa check --strict) that routes to each policy."""

from __future__ import annotations

import re
import sys

import pytest

from conftest import EXAMPLES, ROOT, SPECS

if str(ROOT) not in sys.path:  # `bench` is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

from bench import corpus
from rxrego import generate, lint, opa
from rxrego.spec.loader import load_specs

N = 20


def tree(root):
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    corpus.write_corpus(out, N, seed=7)
    return out


@pytest.fixture(scope="module")
def specs(corpus_dir):
    return load_specs([corpus_dir])


def test_small_corpus_loads_and_validates(specs):
    assert len(specs) == N
    assert len({s.id for s in specs}) == N


def test_uses_every_criterion_kind(specs):
    assert corpus.kinds_used(specs) == set(corpus.ALL_KINDS)
    # ... and each spec alone does too, so any prefix of a corpus covers them.
    for spec in specs:
        assert {c.kind for c in spec.criteria} == set(corpus.ALL_KINDS), spec.id


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, corpus_dir):
    again, other = tmp_path / "again", tmp_path / "other"
    corpus.write_corpus(again, N, seed=7)
    corpus.write_corpus(other, N, seed=8)
    assert tree(again) == tree(corpus_dir)
    assert tree(other) != tree(corpus_dir)
    # spec i depends only on (i, seed): a smaller corpus is a prefix of a larger one
    small = tmp_path / "small"
    corpus.write_corpus(small, 5, seed=7)
    assert all(tree(small)[name] == tree(corpus_dir)[name] for name in tree(small))


def test_identifiers_are_unique_and_illustrative(specs):
    names = [n.lower() for s in specs for n in (s.drug.brand, s.drug.generic)]
    assert len(names) == len(set(names))
    hcpcs = [c for s in specs for c in s.drug.hcpcs]
    assert len(hcpcs) == len(set(hcpcs))
    assert not {"J9229", "X0001"} & set(hcpcs)
    assert all(re.fullmatch(r"[A-Z][0-9]{4}", c) for c in hcpcs)
    ndcs = [c for s in specs for c in s.drug.ndc]
    assert len(ndcs) == len(set(ndcs))
    assert all(c.startswith("9") and not c.startswith("99999") for c in ndcs)
    assert all(s.example for s in specs)


def test_identifiers_stay_unique_at_scale():
    n = 3000
    stems = {corpus._stem(i, corpus.DEFAULT_SEED) for i in range(n)}
    assert len(stems) == n
    assert len({corpus.hcpcs_code(i) for i in range(n)}) == n
    assert len({corpus.ndc_codes(i, 1)[0] for i in range(n)}) == n


def test_generates_clean_rego_beside_the_real_and_example_specs(opa_path, corpus_dir, specs):
    everything = load_specs([corpus_dir, SPECS, EXAMPLES])  # no id, code or name clashes
    assert len(everything) == N + len(load_specs([SPECS, EXAMPLES]))
    files = generate.build(specs, "the benchmark corpus")  # opa fmt + opa check --strict
    # each policy's modules (its versions' modules or aliases, and derived tables), the
    # library (its modules), the router and its routing data
    assert sorted(files) == sorted(
        [path for s in specs for path in generate.policy_modules(s)]
        + [generate.LIB_PATH, *generate.LIB_PARTS, generate.ROUTER_PATH, generate.ROUTING_PATH]
    )
    assert sum(len(s.versions) for s in specs) > N  # the corpus has versions
    assert files == generate.build(specs, "the benchmark corpus")

    # The router does not grow with the catalog (its tables are data): Regal's file-length
    # limit holds at any number of policies, and the whole corpus lints clean.
    assert generate.render(specs[:1], "x")[generate.ROUTER_PATH] == generate.render(specs, "x")[generate.ROUTER_PATH]
    out = corpus_dir.parent / "rego"
    generate.write(files, out)
    assert [(r.name, r.ok, r.output) for r in lint.run_all(out, built=True) if not r.ok] == []
    requests = [
        {"request_type": "initial", "date_of_service": "2026-06-15", "drug": {"hcpcs": s.drug.hcpcs[0]}} for s in specs
    ]
    decisions = opa.eval_batch(out, "data.rxrego.decisions", {"requests": requests})["value"]
    assert [d["policy"]["id"] for d in decisions] == [s.id for s in specs]
    # nothing about the patient is given: every policy pends, naming what is missing
    assert {d["outcome"] for d in decisions} == {"pended"}
