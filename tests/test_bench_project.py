"""G4's `rxrego run` works in a scratch policy repository that bench/g3_scale.py lays out
like a payer's own: its rxrego.toml must be found and must name the folders it copied."""

from __future__ import annotations

import sys

from conftest import ROOT, SPECS

if str(ROOT) not in sys.path:  # `bench` is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

from bench.g3_scale import _project
from rxrego import project as project_mod


def test_the_scratch_project_is_a_policy_repository(tmp_path):
    synthetic = tmp_path / "corpus"
    synthetic.mkdir()
    (synthetic / "s-0001.yaml").write_text("id: s-0001\n", encoding="utf-8")
    root = _project(tmp_path, synthetic)

    found = project_mod.find(root / "policy_source" / "synthetic")
    assert found is not None and found.root == root.resolve()
    assert found.path("specs").is_dir() and found.path("cases").is_dir()
    assert (found.path("specs") / "synthetic" / "s-0001.yaml").is_file()
    # every spec of the checkout and every case file is there, beside the synthetic ones
    mine = {p.relative_to(SPECS) for p in SPECS.rglob("*.yaml")}
    assert mine and mine <= {p.relative_to(found.path("specs")) for p in found.path("specs").rglob("*.yaml")}
    cases = {p.relative_to(ROOT / "conformance") for p in (ROOT / "conformance").rglob("*.yaml")}
    assert cases == {p.relative_to(found.path("cases")) for p in found.path("cases").rglob("*.yaml")}

    # made again, it starts clean
    (root / "stale.txt").write_text("x", encoding="utf-8")
    assert not (_project(tmp_path, synthetic) / "stale.txt").exists()
