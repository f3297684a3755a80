"""The yardstick of benchmark G1 (bench/reference/besponsa.rego, 5.21.100 written by hand)
returns the generated decision document: for every request of the golden record
(tests/golden/decisions.json) that the current version of 5.21.100 decided, the hand-written
module's decision is byte-identical (canonical JSON) to the recorded one."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, SPECS
from golden_decisions import canonical, load
from rxrego import opa
from rxrego.spec.dump import content_version
from rxrego.spec.loader import load_specs

HANDWRITTEN = ROOT / "bench" / "reference"
QUERY = "{i: d | some i, r in input.requests; d := data.bench.reference.besponsa.decision with input as r}"


@pytest.mark.opa
def test_handwritten_besponsa_decides_every_golden_case_of_the_current_version(opa_path, tmp_path: Path):
    (spec,) = [s for s in load_specs([SPECS]) if s.id == "fep-5.21.100"]
    golden = load()
    keys = [
        k
        for k, v in golden.items()
        if isinstance(v["decision"], dict)
        and (v["decision"].get("policy") or {}).get("version") == content_version(spec)
    ]
    outcomes = {golden[k]["decision"]["outcome"] for k in keys}
    types = {golden[k]["request"]["request_type"] for k in keys}
    assert len(keys) >= 100 and outcomes == {"approved", "denied", "pended"} and types == {"initial", "renewal"}
    got = opa.eval_batch(HANDWRITTEN, QUERY, {"requests": [golden[k]["request"] for k in keys]})["value"]
    differ = [
        f"{k}:\n  generated:    {canonical(golden[k]['decision'])}\n  hand-written: {canonical(got.get(str(i)))}"
        for i, k in enumerate(keys)
        if canonical(got.get(str(i))) != canonical(golden[k]["decision"])
    ]
    assert not differ, f"{len(differ)} of {len(keys)} decisions differ:\n" + "\n".join(differ[:3])
    print(f"hand-written 5.21.100: {len(keys)} golden decisions byte-identical")
