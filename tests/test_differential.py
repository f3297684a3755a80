"""Differential test: the generated Rego, on the real OPA binary, against the independent
reference evaluator (rxrego.reference), on requests Hypothesis draws from each policy's spec
(tests/strategies.py).

The real policy (policy_source/) and the three examples (tests/examples/) are generated
together into a temporary Rego folder, so the router knows all four and requests may name
several of them. Each Hypothesis example is a batch of up to 20 requests; a policy's
batches are drawn first, then all its requests are decided in ONE `opa eval` process (up to
DECIDE_AT_ONCE requests a process) and each by `reference.decide`; the two decisions must be
identical except for the wording of error messages (their `field`s must agree). At least
RXREGO_DIFF_REQUESTS requests (default 1000; `make bench` runs 20,000 fresh ones) are compared
per policy, and the count is asserted.

Hypothesis settings: the profile "rxrego-differential" (derandomized: the same requests every
run) unless HYPOTHESIS_PROFILE names another registered profile, e.g.
`HYPOTHESIS_PROFILE=rxrego-differential-random` for fresh requests on every run: drawn from a
seed (RXREGO_DIFF_SEED, else a random one) that a failure names, so that
`RXREGO_DIFF_SEED=<seed>` draws the same requests again. The number of examples always comes
from RXREGO_DIFF_REQUESTS.

On a disagreement the request is minimized and the failure shows it, both decisions and a
golden case in the conformance format, ready to paste. Hypothesis's own shrinking is off: a
shrink step of a 100-request batch cost one OPA process, and it ran into Hypothesis's
five-minute shrinking limit per policy without reaching one request. Instead `_minimize`
removes object keys and list elements from the disagreeing request for as long as the same
decision keys still disagree, deciding every candidate of a round in one `opa eval`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from conftest import CASES, EXAMPLES, ROOT, SPECS
from rxrego import generate, opa, reference
from rxrego.conformance.cases import find_case_files, load_case_file, mismatches
from rxrego.reference.evaluate import policy_order
from rxrego.reference.router import in_force
from rxrego.spec.loader import load_specs
from strategies import requests_for

REQUESTS = int(os.environ.get("RXREGO_DIFF_REQUESTS", "1000"))
# Requests one Hypothesis example draws. Small on purpose: an example making more choices
# than Hypothesis allows one test case (8,192) is thrown away whole (an overrun), after every
# choice it made was paid for. Batches of 100 overran for policies reading many facts (54 of
# 73 examples for one, 25 of 44 for another: most of their drawing time); batches of 20
# overrun rarely, and as all of a policy's requests are decided in one `opa eval` whatever
# the batch size, a smaller batch costs nothing else.
BATCH = 20
# Requests decided by one `opa eval` process: all of a policy's at the default count; the
# larger runs of `make bench` in a few processes, each well within OPA's timeout.
DECIDE_AT_ONCE = 5000

ALL_SPECS = load_specs([SPECS, EXAMPLES])
BY_ID = {s.id: s for s in ALL_SPECS}
REAL_POLICY = "fep-5.21.100"
STATUSES = ("met", "unmet", "unknown", "invalid")  # the reference's internal statuses
OUTCOMES = ("approved", "denied", "pended", "no_policy", "invalid_request")
REASONS = (
    "criteria_met",
    "criteria_unmet",
    "investigational",
    "information_missing",
    "no_policy",
    "not_in_force",
    "invalid_request",
)

settings.register_profile("rxrego-differential", derandomize=True, database=None, deadline=None)
# Random requests; no example database: the test compares after drawing, so Hypothesis never
# sees a failing example to keep. A failure names the seed instead (SEED).
settings.register_profile("rxrego-differential-random", derandomize=False, database=None, deadline=None)
# The seed of a random profile's draws: each policy's (and round's) seed derives from it.
SEED = int(os.environ.get("RXREGO_DIFF_SEED") or random.SystemRandom().getrandbits(63))


def _settings() -> settings:
    name = os.environ.get("HYPOTHESIS_PROFILE") or "rxrego-differential"
    parent = settings.get_profile(name)
    return settings(
        parent,
        deadline=None,
        # _minimize shrinks a disagreeing request (see the module's docstring)
        phases=[p for p in parent.phases if p not in (Phase.shrink, Phase.explain)],
        # a failing batch is 20 requests: the failure message shows the one that matters
        verbosity=Verbosity.quiet if parent.verbosity == Verbosity.normal else parent.verbosity,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


def batch_size(spec) -> int:
    """Requests a batch: BATCH, half as many for a policy reading many facts, so that one batch
    stays within what Hypothesis draws for one example. Each leaf reading a list (labs,
    therapies, diagnoses) adds entries to the lists drawn, so beyond nine such leaves each
    counts as a fact of its own (a policy with 18 of them drew requests too large for any
    example). Eleven facts are the most a full batch holds: one of twelve (four lab tests among
    them, read against the result's reference range, a baseline and a change) drew batches too
    large."""
    leaves = len({f for c in spec.criteria if c.is_leaf for f in c.test.fields()})
    # a dose table's column draws a fact of its own (a lab list, a measurement, a therapy history)
    leaves += 4 * sum(
        len(t.table.keys) for c in spec.criteria if (t := c.test) is not None and getattr(t, "table", None)
    )
    lists = sum(
        1 for c in spec.criteria if c.is_leaf and {"labs", "prior_therapies", "diagnoses"} & set(c.test.fields())
    )
    leaves += max(0, lists - 9)
    # a criterion requiring documentation draws the request's `documents` list too, one more
    # fact for a full batch (eleven facts and the documents list drew batches too large)
    documents = any(c.is_leaf and c.documentation for c in spec.criteria)
    return BATCH if leaves + documents <= 11 else BATCH // 2


def _batches(spec) -> st.SearchStrategy[list]:
    return st.lists(requests_for(spec, ALL_SPECS), min_size=batch_size(spec), max_size=batch_size(spec))


def _run(check, policy_id: str, strategy, count, wanted: int = REQUESTS, batch: int = BATCH) -> None:
    """Run `check` over Hypothesis batches until `count()` reaches `wanted` requests.

    Hypothesis may count an example it does not run again (a duplicate), so a run of
    REQUESTS / BATCH examples can fall a batch short: further rounds, each with a seed of its
    own, top it up. The digest keeps each policy's (and round's) examples and derandomized
    seed its own although the function's source is shared."""
    for round_ in range(5):
        remaining = wanted - count()
        if remaining <= 0:
            return
        check._hypothesis_internal_add_digest = f"{policy_id}/{round_}".encode()
        run = given(strategy)(check)
        if not _settings().derandomize:
            run = seed(int.from_bytes(hashlib.sha256(f"{SEED}/{policy_id}/{round_}".encode()).digest()[:8]))(run)
        settings(_settings(), max_examples=math.ceil(remaining / batch))(run)()


# --- the requests drawn, once a session ---------------------------------------------------
#
# Drawing is most of these tests' cost (about 100 us a Hypothesis choice, dozens of choices a
# request). Each policy's requests are drawn once, by whichever test (in whichever xdist
# worker) needs them first, and kept in a file the other tests read: the differential test
# decides all of them on OPA and the reference, the strategy tests count what they reach.
# The file's folder is named by a digest of everything the drawing depends on (see
# `_draw_key`), so a changed strategy, spec, setting or Hypothesis draws afresh; it lives in
# pytest's cache folder when there is one (a later run reads it, and draws nothing when
# nothing changed: the derandomized profile would draw the same requests again), else in
# the session's temporary folder shared by its workers. A clean clone draws everything.


def _wanted(policy_id: str) -> int:
    """Requests drawn for a policy: REQUESTS; six times as many for REAL_POLICY, whose strategy
    test reads them all (see test_strategies_reach_every_status_and_outcome: its four versions
    must each see every outcome, and the oldest is in force for a few weeks of dates only):
    the differential test then compares all of them."""
    return 6 * REQUESTS if policy_id == REAL_POLICY else REQUESTS


def _draw_key() -> str:
    """A digest of what the drawn requests depend on: the strategies, this module (batch
    sizes, settings), the spec model they are read from, every spec file loaded, the profile,
    the seed of a random profile, the request count, Hypothesis's and Python's versions."""
    digest = hashlib.sha256()
    sources = [Path(__file__), ROOT / "tests" / "strategies.py"]
    sources += sorted((ROOT / "generator" / "rxrego" / "spec").rglob("*.py"))
    sources += sorted(p for folder in (SPECS, EXAMPLES) for p in folder.rglob("*") if p.is_file())
    for path in sources:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    profile = os.environ.get("HYPOTHESIS_PROFILE") or "rxrego-differential"
    random_seed = "" if _settings().derandomize else str(SEED)
    digest.update(f"{profile}/{random_seed}/{REQUESTS}/{hypothesis.__version__}/{sys.version}".encode())
    return digest.hexdigest()[:16]


def _draw(policy_id: str) -> list:
    """`_wanted(policy_id)` requests drawn for the policy, as plain JSON data."""
    spec = BY_ID[policy_id]
    drawn: list = []

    def collect(batch: list) -> None:
        drawn.extend(json.loads(json.dumps(batch)))  # exactly the JSON both sides see

    _run(collect, policy_id, _batches(spec), lambda: len(drawn), _wanted(policy_id), batch=batch_size(spec))
    return drawn


class DrawnRequests:
    """Each policy's drawn requests, drawn at most once however many tests and workers read
    them: a file a policy under `folder`, written whole by the first reader under a lock the
    others wait on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._read: dict[str, list] = {}

    def __call__(self, policy_id: str) -> list:
        """The policy's requests (a list of `_wanted(policy_id)` or more JSON values)."""
        got = self._get(policy_id, wait=True)
        assert got is not None
        return got

    def each(self, policy_ids: list[str]) -> Iterator[tuple[str, list]]:
        """(policy id, requests) for every policy, the ones another worker is drawing last."""
        busy = []
        for policy_id in policy_ids:
            got = self._get(policy_id, wait=False)
            if got is None:
                busy.append(policy_id)
            else:
                yield policy_id, got
        for policy_id in busy:
            yield policy_id, self(policy_id)

    def _get(self, policy_id: str, wait: bool) -> list | None:
        if policy_id in self._read:
            return self._read[policy_id]
        path = self.folder / f"{policy_id}.json"
        with open(self.folder / f"{policy_id}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return None  # another worker is drawing them
            if path.is_file():
                drawn = json.loads(path.read_text(encoding="utf-8"))
            else:
                drawn = _draw(policy_id)
                part = path.with_suffix(".part")
                part.write_text(json.dumps(drawn, ensure_ascii=False), encoding="utf-8")
                part.replace(path)
        self._read[policy_id] = drawn
        return drawn


@pytest.fixture(scope="session")
def drawn_requests(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DrawnRequests:
    """The session's DrawnRequests, in pytest's cache folder (or the workers' shared
    temporary folder) under `_draw_key()`; folders of other keys there are removed."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        root = cache.mkdir("rxrego-differential-requests")
        for old in root.iterdir():
            if old.name != _draw_key():
                shutil.rmtree(old, ignore_errors=True)
    else:
        base = tmp_path_factory.getbasetemp()
        # xdist workers' folders (popen-gw0, ...) share a parent; a single process has its own
        root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        root = root / "rxrego-differential-requests"
    return DrawnRequests(root / _draw_key())


@pytest.fixture(scope="module")
def rego_dir(tmp_path_factory: pytest.TempPathFactory, opa_path: Path) -> Path:
    """5.21.100 (every version) and the three examples, generated as `rxrego generate` would."""
    out = tmp_path_factory.mktemp("differential") / "rego"
    generate.write(generate.build(ALL_SPECS, "policy_source/ and tests/examples/"), out)
    return out


# --- comparing ----------------------------------------------------------------------------


def _view(decision: object) -> object:
    """The decision as compared: everything but the wording of error messages."""
    if not isinstance(decision, dict):
        return decision
    out = dict(decision)
    if isinstance(out.get("errors"), list):
        out["errors"] = [e.get("field", "<no field>") if isinstance(e, dict) else e for e in out["errors"]]
    return out


_ABSENT = "<absent>"
_WHOLE = "<the decision>"  # what _differences names when a side is not an object (undefined)


def _differences(rego: object, ref: object) -> list[str]:
    a, b = _view(rego), _view(ref)
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [] if a == b else [_WHOLE]
    return sorted(k for k in a.keys() | b.keys() if a.get(k, _ABSENT) != b.get(k, _ABSENT))


def _key(request: object) -> str:
    return json.dumps(request, sort_keys=True, ensure_ascii=False)


def _decide_each(requests: list, rego_dir: Path) -> list:
    """OPA's decision for each request, None where data.rxrego.decision is undefined (the
    batch query would silently drop it), in one `opa eval`."""
    query = "{i: d | some i, r in input.requests; d := data.rxrego.decision with input as r}"
    got = opa.eval_batch(rego_dir, query, {"requests": requests})["value"]
    return [got.get(str(i)) for i in range(len(requests))]


def _rego_decisions(batch: list, rego_dir: Path, decide_batch, cache: dict) -> list:
    """OPA's decision for every request (None: undefined), from one `opa eval` for those
    not decided before."""
    keys = [_key(r) for r in batch]
    todo = list(dict.fromkeys(k for k in keys if k not in cache))
    if todo:
        requests = [json.loads(k) for k in todo]
        try:
            values = decide_batch(requests, rego_dir)
            if len(values) != len(requests):
                values = _decide_each(requests, rego_dir)
        except opa.OpaError as exc:
            raise AssertionError(_eval_failure(requests, rego_dir, exc)) from None
        cache.update(zip(todo, values, strict=True))
    return [cache[k] for k in keys]


def _eval_failure(requests: list, rego_dir: Path, exc: Exception) -> str:
    """`opa eval` failed for a whole batch: find the first request it fails on alone."""
    for request in requests:
        try:
            _decide_each([request], rego_dir)
        except opa.OpaError as alone:
            return (
                f"opa eval fails on this request:\n{json.dumps(request, indent=2, ensure_ascii=False)}\n\n"
                f"{alone}\n\nreference decision:\n"
                f"{json.dumps(reference.decide(ALL_SPECS, request), indent=2, ensure_ascii=False)}"
            )
    return f"opa eval failed on a batch of {len(requests)} requests, on none alone:\n{exc}"


def _simpler(value: object):
    """Every JSON value one step simpler than `value`: an object key or a list element
    removed, at any depth; the largest removals first."""
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
        for key, inner in value.items():
            for simpler in _simpler(inner):
                yield {**value, key: simpler}
    elif isinstance(value, list):
        for i in range(len(value)):
            yield value[:i] + value[i + 1 :]
        for i, inner in enumerate(value):
            for simpler in _simpler(inner):
                yield [*value[:i], simpler, *value[i + 1 :]]


def _minimize(request: object, keys: list[str], rego_dir: Path) -> object:
    """The smallest request reached by one-step simplifications on which Rego and the
    reference still disagree on exactly `keys` (each round's candidates in one opa eval)."""
    current = request
    for _ in range(500):
        candidates = list(_simpler(current))
        if not candidates:
            break
        try:
            decisions = _decide_each(candidates, rego_dir)
        except opa.OpaError:
            break  # report what is already minimal rather than a different failure
        for candidate, rego in zip(candidates, decisions, strict=True):
            if _differences(rego, reference.decide(ALL_SPECS, candidate)) == keys:
                current = candidate
                break
        else:
            break
    return current


# --- reporting a disagreement ----------------------------------------------------------------


def _case_file_for(policy_id: str) -> str:
    for path in find_case_files([CASES]):
        try:
            if load_case_file(path).policy == policy_id:
                return path.relative_to(CASES.parent).as_posix()
        except Exception:  # a broken case file is the conformance tests' business
            continue
    return f"a new conformance/<payer>/<policy>.cases.yaml with `policy: {policy_id}`"


def _expect(ref: dict, keys: list[str]) -> dict:
    """The reference's decision on the keys that matter (all of them when the Rego gave no
    decision), in the golden-case form."""
    expect = {}
    wanted = [k for k in ref if k != "policy"] if _WHOLE in keys else keys
    for key in ["outcome", "reason", *wanted]:
        if key not in ref or key in expect:
            continue
        value = ref[key]
        if key in ("unmet", "missing"):
            value = [e["id"] for e in value]
        elif key == "errors":
            value = [{"field": e["field"]} for e in value]
        elif key == "policy":
            value = {"id": value["id"], "effective_date": value["effective_date"]}
        expect[key] = value
    return expect


def _golden_case(policy_id: str, request: object, ref: dict, keys: list[str]) -> tuple[str, str]:
    """A case for the conformance file, and a note on whether it round-trips."""
    slug = re.sub(r"[^a-z0-9-]+", "-", policy_id.lower()).strip("-")
    name = f"differential-{slug}-{hashlib.sha256(_key(request).encode()).hexdigest()[:8]}"
    expect = _expect(ref, keys)
    case = (
        f"  - name: {name}\n"
        f'    proves: "TODO: what this proves (found by the differential test: Rego and reference '
        f'disagreed on {", ".join(keys)})"\n'
        f"    request: {json.dumps(request, ensure_ascii=True)}\n"
        f"    expect: {json.dumps(expect, ensure_ascii=True)}\n"
    )
    absent = [k for k in keys if k not in ref and k != _WHOLE]
    note = ""
    if _WHOLE in keys:
        note += "\n  (the Rego gives no decision at all for this request: the case fails on OPA until it does)"
    if absent:
        note += f"\n  (the reference has no {', '.join(absent)}: a subset `expect` cannot say 'absent')"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.cases.yaml"
        path.write_text(f"policy: {policy_id}\ncases:\n{case}", encoding="utf-8")
        try:
            (loaded,) = load_case_file(path).cases
            if loaded.request != request:
                note += "\n  (WARNING: the YAML above does not read back as the same request)"
            elif problems := mismatches(loaded.expect, ref):
                note += f"\n  (WARNING: expect does not match the reference: {problems})"
        except Exception as exc:  # report, do not hide the disagreement behind it
            note += f"\n  (WARNING: the case does not load: {exc})"
    return case, note


def _report(policy_id: str, rego_dir: Path, generated: object, request: object, rego: object, ref: object) -> str:
    keys = _differences(rego, ref)
    case, note = _golden_case(policy_id, request, ref, keys) if isinstance(ref, dict) else ("", "")

    def dump(v):
        return json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False)

    drawn_as = (
        "the derandomized profile's requests: drawn alike on every run"
        if _settings().derandomize
        else f"RXREGO_DIFF_SEED={SEED} draws these requests again"
    )
    return (
        f"Rego and the reference disagree (policy under test {policy_id}) on: {', '.join(keys)}\n"
        f"({drawn_as})\n"
        f"(error messages are not compared, by design; everything else is)\n\n"
        f"minimal request:\n{json.dumps(request, indent=2, ensure_ascii=False)}\n\n"
        f"Rego decision (opa eval over {rego_dir}; null: undefined):\n{dump(rego)}\n\n"
        f"reference decision (rxrego.reference.decide):\n{dump(ref)}\n\n"
        f"golden case, to paste under `cases:` in {_case_file_for(policy_id)}.\n"
        f"Its expect is the REFERENCE's decision: check docs/semantics.md, and take the Rego's values\n"
        f"instead if the reference is the one that is wrong. (Policies loaded here: {', '.join(sorted(BY_ID))};\n"
        f"the conformance suite loads policy_source/ only.)\n{case}{note}\n\n"
        f"the request as generated, before minimizing:\n{json.dumps(generated, ensure_ascii=False)}"
    )


def _disagreement(policy_id: str, rego_dir: Path, request: object, rego: object, ref: object) -> str:
    small = _minimize(request, _differences(rego, ref), rego_dir)
    (small_rego,) = _decide_each([small], rego_dir)
    return _report(policy_id, rego_dir, request, small, small_rego, reference.decide(ALL_SPECS, small))


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.opa
# a failing example is a batch of requests; the assertion message shows the one that matters
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@pytest.mark.parametrize("policy_id", sorted(BY_ID))
def test_rego_and_reference_decide_alike(policy_id: str, rego_dir: Path, decide_batch, drawn_requests) -> None:
    spec = BY_ID[policy_id]
    # Every batch is drawn first (or read, drawn by another test: `drawn_requests`), then all
    # are decided in one `opa eval`: one OPA process a batch recompiled every policy for each
    # batch, most of the test's time. The requests are the same (Hypothesis draws without
    # regard to what the test does with a passing example), and each is compared as before.
    drawn = drawn_requests(policy_id)
    cache: dict[str, object] = {}
    decisions = [
        d
        for i in range(0, len(drawn), DECIDE_AT_ONCE)
        for d in _rego_decisions(drawn[i : i + DECIDE_AT_ONCE], rego_dir, decide_batch, cache)
    ]
    compared = 0
    for request, rego in zip(drawn, decisions, strict=True):
        ref = reference.decide(ALL_SPECS, request)
        if _view(rego) != _view(ref):
            raise AssertionError(_disagreement(policy_id, rego_dir, request, rego, ref))
        compared += 1
    assert compared >= REQUESTS, f"only {compared} requests compared for {policy_id}; RXREGO_DIFF_REQUESTS={REQUESTS}"
    print(f"differential {spec.id}: {compared} requests, 0 disagreements")


def test_strategies_reach_every_status_and_outcome(drawn_requests) -> None:
    """The strategy the differential test draws 5.21.100's requests from is not vacuous: the
    reference sees every criterion (of any version) met, unmet, unknown and invalid; every
    version decides requests approved, denied and pended; every outcome and reason occurs.

    It reads six times the differential count (all of which the differential test compares
    on OPA, see `_wanted`): the rarest combinations (a condition met but its requirement
    unmet, in the December 2017 version alone; a pend under the September 2017 version) then
    occur."""
    spec = BY_ID[REAL_POLICY]
    seen: dict[str, set[str]] = defaultdict(set)
    decided: dict[str, set[str]] = defaultdict(set)
    reasons: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()

    def collect(batch: list) -> None:
        for request in json.loads(json.dumps(batch)):
            decision = reference.decide(ALL_SPECS, request)
            outcomes[decision["outcome"]] += 1
            reasons[decision["reason"]] += 1
            if (
                decision["outcome"] in ("approved", "denied", "pended")
                and decision.get("policy", {}).get("id") == spec.id
            ):
                version = in_force(spec, request["date_of_service"])
                decided[version.effective_date].add(decision["outcome"])
                for cid, status in reference.statuses(version, request, request["request_type"]).items():
                    seen[cid].add(status)

    collect(drawn_requests(REAL_POLICY))
    assert sum(outcomes.values()) >= 6 * REQUESTS

    # every criterion some requirement set of some version reaches (criterion ids are shared
    # between versions; an earlier version may inherit criteria it does not use)
    reachable = sorted({cid for v in spec.versions for rs in v.requirements for cid in policy_order(v, rs)})
    lacking = {cid: [s for s in STATUSES if s not in seen[cid]] for cid in reachable if not set(STATUSES) <= seen[cid]}
    assert not lacking, f"criteria never seen with these statuses: {lacking}"
    undecided = {
        v.effective_date: sorted({"approved", "denied", "pended"} - decided[v.effective_date])
        for v in spec.versions
        if len(decided[v.effective_date]) < 3
    }
    assert not undecided, f"versions (by effective date) that never gave these outcomes: {undecided}"
    assert not [o for o in OUTCOMES if not outcomes[o]], f"outcomes never reached: {dict(outcomes)}"
    assert not [r for r in REASONS if not reasons[r]], f"reasons never reached: {dict(reasons)}"
    print(
        f"strategies for {spec.id}: {sum(outcomes.values())} requests, every status of {len(reachable)} "
        f"criteria, {len(spec.versions)} versions; {dict(outcomes)}"
    )


# The coverage model's constructs (docs/semantics.md, "Indications", "Durations", routing):
# what the requests drawn for the policies written with indications must reach between them,
# so the comparison above covers each.
COVERAGE_REASONS = (
    "not_covered",
    "other_indication_review",
    "lifetime_cap_reached",
    "no_requirements",
    "criteria_met",
    "criteria_unmet",
    "information_missing",
    "invalid_request",
)
COVERAGE_ERROR_FIELDS = ("indication", "plan", "drug", "drug.hcpcs", "drug.ndc", "drug.strength")
COVERAGE_APPROVALS = ("months", "weeks", "plan_year", "capped", "no_end", "branch_duration")


def test_strategies_reach_every_construct_of_the_coverage_model(drawn_requests) -> None:
    """Requests drawn for the policies written with indications reach every reason, every
    indication of every set, the product test both ways, each kind of approval period and
    each routing error the coverage model adds. The requests are the differential test's
    (`drawn_requests`): those it compares on OPA are the ones counted here."""
    specs = [s for s in ALL_SPECS if s.has_indications]
    reasons: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    approvals: Counter[str] = Counter()
    indications: set[tuple[str, str, str]] = set()
    products: Counter[str] = Counter()

    def collect(batch: list) -> None:
        for request in json.loads(json.dumps(batch)):
            d = reference.decide(ALL_SPECS, request)
            reasons[d["reason"]] += 1
            fields.update(e["field"] for e in d.get("errors", []))
            if "indication" in d:
                indications.add((d["policy"]["id"], d["requirements"], d["indication"]["id"]))
            if "product" in d:
                products[str(d["product"])] += 1
            a = d.get("approval")
            if a:
                approvals[
                    "no_end"
                    if "end" not in a
                    else "plan_year"
                    if "plan_year_start" in a
                    else "weeks"
                    if "duration_weeks" in a
                    else "months"
                ] += 1
                approvals.update(["capped"] if a.get("capped") else [])
                approvals.update(
                    ["branch_duration"]
                    if d["policy"]["id"] == "carefirst-caremark-bosutinib"
                    and d["request_type"] == "renewal"
                    and a.get("duration_months") == 7
                    else []
                )

    def count():
        return sum(reasons.values())

    every = {(s.id, r.title, i.id) for s in specs for r in s.requirements for i in r.indications}

    def unreached() -> list[str]:
        return (
            [r for r in COVERAGE_REASONS if not reasons[r]]
            + [f for f in COVERAGE_ERROR_FIELDS if not fields[f]]
            + [a for a in COVERAGE_APPROVALS if not approvals[a]]
            + [str(i) for i in sorted(every - indications)]
        )

    share = math.ceil(max(REQUESTS, 6000) / len(specs))
    # Each policy's own requests, a share each; a construct that only one rare combination of
    # facts reaches (a renewal branch's own duration, an indication of one set among many)
    # may take up to three further shares. The shares are the differential test's requests
    # in order; a policy with fewer of them than the rounds read (a small
    # RXREGO_DIFF_REQUESTS) has the rest drawn here, each round with a seed of its own
    # (still deterministic).
    for round_ in range(4):
        if round_ and not unreached():
            break
        for policy_id, drawn in drawn_requests.each([s.id for s in specs]):
            part = drawn[round_ * share : (round_ + 1) * share]
            collect(part)
            if len(part) < share:
                wanted = count() + share - len(part)
                _run(collect, f"coverage-model/{policy_id}/{round_}", _batches(BY_ID[policy_id]), count, wanted)

    assert not [r for r in COVERAGE_REASONS if not reasons[r]], f"reasons never reached: {dict(reasons)}"
    assert not [f for f in COVERAGE_ERROR_FIELDS if not fields[f]], f"error fields never reached: {dict(fields)}"
    assert not [a for a in COVERAGE_APPROVALS if not approvals[a]], f"approvals never reached: {dict(approvals)}"
    assert not every - indications, f"indications never decided: {sorted(every - indications)}"
    assert len(products) >= 3, f"products decided: {dict(products)}"
    print(
        f"coverage model: {count()} requests over {len(specs)} policies; reasons {dict(reasons)}; "
        f"approvals {dict(approvals)}; error fields {dict(fields)}"
    )
