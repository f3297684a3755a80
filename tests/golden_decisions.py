"""The golden record of decision documents: `tests/golden/decisions.json`.

Every golden case of the conformance suite (conformance/) and a fixed corpus of requests for
every policy (policy_source/, every version, and the three examples in tests/examples/),
each with the decision document OPA returned for it. tests/test_golden_decisions.py decides
every request again with freshly generated Rego and compares the documents byte for byte
(canonical JSON: sorted keys, no insignificant white space), so a change to the generator,
the templates or the library that changes any decision, down to the order of a list, fails.

The record was written once, from the generator as it stood before the generated modules
were restructured, and is rewritten only for an intended change of decisions:

    .venv/bin/python tests/golden_decisions.py --write

or, keeping every recorded request (so that the change shows as the decisions that differ),
deciding each again and adding the requests of new cases and policies (drawn as --write
draws them); it lists every recorded decision that changed:

    .venv/bin/python tests/golden_decisions.py --update

The drawn requests come from tests/strategies.py (derandomized, so a rewrite draws the same
requests for the same strategies); they are stored in the record, so the comparison does not
depend on Hypothesis drawing them again.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from conftest import CASES, EXAMPLES, SPECS  # tests/ is on sys.path: run by pytest or as a script
from rxrego import generate, opa
from rxrego.conformance.cases import find_case_files, load_case_file
from rxrego.spec.loader import load_specs

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "decisions.json"
DRAWN = {"fep-5.21.100": 180}  # requests drawn per policy; the examples take DRAWN_DEFAULT
DRAWN_DEFAULT = 60
# Each request's decision, undefined included (null), in one `opa eval`.
QUERY = "{i: d | some i, r in input.requests; d := data.rxrego.decision with input as r}"


def all_specs():
    return load_specs([SPECS, EXAMPLES])


def canonical(value: object) -> str:
    """The byte form compared: sorted keys, no insignificant white space, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build_rego(specs, out: Path) -> Path:
    """Every policy (all versions) and the examples, generated as `rxrego generate` would."""
    generate.write(generate.build(specs, "policy_source/ and tests/examples/"), out)
    return out


def decide(rego_dir: Path, requests: list) -> list:
    """OPA's decision document for each request (None: undefined), in one `opa eval`."""
    got = opa.eval_batch(rego_dir, QUERY, {"requests": requests})["value"]
    return [got.get(str(i)) for i in range(len(requests))]


def golden_requests(specs) -> dict[str, object]:
    """{case key: request}: every conformance case, then the drawn corpus of each policy."""
    out: dict[str, object] = {}
    for path in find_case_files([CASES]):
        suite = load_case_file(path)
        for case in suite.cases:
            out[f"{path.relative_to(CASES.parent).as_posix()}::{case.name}"] = case.request
    for spec in sorted(specs, key=lambda s: s.id):
        for i, request in enumerate(_draw(spec, specs, DRAWN.get(spec.id, DRAWN_DEFAULT))):
            out[f"drawn/{spec.id}/{i:03d}"] = request
    return out


def _draw(spec, specs, n: int) -> list:
    """n distinct requests for `spec`, derandomized (the same on every run), taken evenly
    from about three times as many drawn."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from strategies import requests_for

    drawn: list = []
    seen: set[str] = set()

    def collect(batch: list) -> None:
        for request in json.loads(json.dumps(batch)):
            key = canonical(request)
            if key not in seen:
                seen.add(key)
                drawn.append(request)

    collect._hypothesis_internal_add_digest = f"golden/{spec.id}".encode()
    run = given(st.lists(requests_for(spec, specs), min_size=10, max_size=10))(collect)
    settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=(3 * n) // 10 + 1,
        suppress_health_check=list(HealthCheck),
    )(run)()
    # evenly spread over the run: Hypothesis starts with its simplest examples
    step = max(1, len(drawn) // n)
    return drawn[::step][:n]


def load() -> dict[str, dict]:
    """{case key: {"request": ..., "decision": ...}} as recorded."""
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def write(update: bool = False) -> None:
    """Write the record: every request drawn again (--write), or the recorded requests kept
    and only new keys drawn (--update, which prints each recorded decision that changed)."""
    specs = all_specs()
    requests = golden_requests(specs)
    old = load() if update else {}
    if update:
        # keys still wanted keep their recorded requests; new keys come from this draw
        current = {k for k in requests if not k.startswith("drawn/")}
        current |= {k for k in old if k.startswith("drawn/") and k.split("/")[1] in {s.id for s in specs}}
        drawn_ids = {k.split("/")[1] for k in old if k.startswith("drawn/")}
        current |= {k for k in requests if k.startswith("drawn/") and k.split("/")[1] not in drawn_ids}
        requests = {k: old[k]["request"] if k in old else requests[k] for k in sorted(current, key=_order(requests))}
    with tempfile.TemporaryDirectory(prefix="rxrego-golden-") as tmp:
        decisions = decide(build_rego(specs, Path(tmp) / "rego"), list(requests.values()))
    for (key, _), decision in zip(requests.items(), decisions, strict=True):
        if key in old and canonical(decision) != canonical(old[key]["decision"]):
            print(f"changed {key}:\n  was: {canonical(old[key]['decision'])}\n  now: {canonical(decision)}")
    lines = [
        f"{json.dumps(key, ensure_ascii=False)}: {canonical({'request': request, 'decision': decision})}"
        for (key, request), decision in zip(requests.items(), decisions, strict=True)
    ]
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"wrote {len(lines)} decisions to {GOLDEN.relative_to(HERE.parent)}")


def _order(requests: dict):
    """Sort key: the conformance cases in file order, then the drawn requests by key."""
    cases = [k for k in requests if not k.startswith("drawn/")]
    position = {k: i for i, k in enumerate(cases)}
    return lambda k: (1, k, 0) if k.startswith("drawn/") else (0, "", position[k])


if __name__ == "__main__":
    if sys.argv[1:] not in (["--write"], ["--update"]):
        sys.exit(__doc__)
    write(update=sys.argv[1:] == ["--update"])
