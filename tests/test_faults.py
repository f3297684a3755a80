"""Faults in the sidecar, against the real `opa run --server` on loopback.

1. OPA SIGKILLed in the middle of a load from several threads sharing ONE RxRegoClient:
   every call after the kill raises SidecarUnavailable within the client's own bound
   (timeout * (retries + 1) + backoff), none hangs, none is an approval; OPA restarted on the
   same port serves the same client object again.
2. The bundle replaced while serving: OPA polls a bundle server on loopback (the `services` +
   `bundles` of `rxrego.deploy.opa_config`, polling 1-2 s); revision B (regenerated from a
   spec copy whose liver-test wording differs) replaces A under load with zero failed
   requests. Which revision answered is read from the decision log: OPA's data API answer
   carries no revision, each decision-log entry carries `bundles.rxrego.revision` (and the
   request_id in its masked input, to pair it with the answer). Every entry's revision must
   agree with the wording of its answer: no decision mixes A and B.
3. Decision-log content (single and batch): decision_id, revision, policy id, outcome, and of
   the request only the allow-listed facts (docs/decision-log.md): no patient, no diagnosis.
4. Access control, one table: no token, a wrong token and the right token against the
   decision paths and against every write, read-back and query endpoint.

Every process is a Sidecar stopped by its fixture or `finally`; every load loop is bounded in
calls and in time. Helpers here (generate_revisions, LIVER_DENIED, wording, BundleServer)
are reused by tests/test_topology.py.
"""

from __future__ import annotations

import copy
import hashlib
import http.client
import http.server
import json
import os
import secrets
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from rxrego import bundle, deploy
from rxrego import generate as gen
from rxrego.client import Decision, RxRegoClient, RxRegoError, SidecarUnavailable
from rxrego.sidecar import Sidecar
from rxrego.spec.loader import load_specs
from test_client_sidecar import APPROVED, CASES, EXPECTED, bearer, decision_entries, logged_facts, wait_for_lines

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "policy_source"
SPEC_FILE = Path("fep") / "5.21.100-besponsa.yaml"
OLD_WORDING = "Prescriber agrees to obtain ALT"
NEW_WORDING = "Prescriber agrees to order ALT"
POLICY_ID = "fep-5.21.100"


def liver_denied(request_id: str) -> dict:
    """A request denied on the liver-test attestation alone (its text shows the wording)."""
    req = copy.deepcopy(APPROVED)
    req["prescriber"]["attestations"]["liver_tests_each_dose"] = False
    req["request_id"] = request_id
    return req


LIVER_DENIED = liver_denied("req-liver-denied")


def wording(decision: Decision | dict) -> str:
    """ "a" or "b": which wording of the liver-test criterion the denial quotes."""
    raw = decision.raw if isinstance(decision, Decision) else decision
    texts = [c["text"] for c in raw["unmet"] if c["id"] == "liver_tests_each_dose"]
    assert len(texts) == 1, raw
    if texts[0].startswith(OLD_WORDING):
        return "a"
    if texts[0].startswith(NEW_WORDING):
        return "b"
    raise AssertionError(f"neither wording: {texts[0]!r}")


def generate_revisions(dest: Path) -> dict[str, Path]:
    """Rego generated from two copies of policy_source/: "a" as the specs are, "b" with the
    liver-test criterion's wording changed. Both come from `rxrego generate`'s own code, so
    they differ only by that text (and the spec's content hash)."""
    out = {}
    for name, change in (("a", None), ("b", (OLD_WORDING, NEW_WORDING))):
        specs = dest / f"specs-{name}"
        shutil.copytree(SPECS, specs)
        if change is not None:
            f = specs / SPEC_FILE
            text = f.read_text(encoding="utf-8")
            assert change[0] in text, f"{SPEC_FILE} no longer says {change[0]!r}; update OLD_WORDING"
            f.write_text(text.replace(*change), encoding="utf-8")
        files = gen.build(load_specs([str(specs)]), f"specs-{name}/")
        gen.write(files, dest / f"rego-{name}")
        out[name] = dest / f"rego-{name}"
    return out


# --- a bundle server on loopback (nginx plays it in tests/test_topology.py) -------------------


class _BundleHandler(http.server.BaseHTTPRequestHandler):
    """GET a file under the server's root, with an ETag (a hash of the bytes) and 304 on
    If-None-Match, as OPA's bundle downloader expects from a bundle server."""

    def do_GET(self):
        name = self.path.split("?", 1)[0].lstrip("/")
        path = (self.server.root / name).resolve()
        try:
            if self.server.root not in path.parents:
                raise OSError("outside the root")
            data = path.read_bytes()
        except OSError:
            self.server.log.append(404)
            self.send_error(404)
            return
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.server.log.append(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.server.log.append(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class BundleServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving `root`; `publish` replaces a file in one
    step (os.replace), so a download sees the old bytes or the new, never a mix."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BundleHandler)
        self.server.root = self.root
        self.server.log = []
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="bundle-server", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def statuses(self) -> list[int]:
        return list(self.server.log)

    def publish(self, src: Path, name: str = "bundles/rxrego.tar.gz") -> float:
        return publish(src, self.root / name)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def publish(src: Path, dest: Path) -> float:
    """Copy `src` to `dest` atomically (world-readable); the monotonic time it was done."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    shutil.copyfile(src, staged)
    os.chmod(staged, 0o644)
    os.replace(staged, dest)
    return time.monotonic()


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def revisions(opa_path, work) -> dict[str, Path]:
    return generate_revisions(work)


@pytest.fixture(scope="module")
def bundles(revisions, work) -> dict[str, bundle.BundleInfo]:
    out = {name: bundle.build(rego, work / f"bundle-{name}.tar.gz") for name, rego in revisions.items()}
    assert out["a"].revision != out["b"].revision
    return out


# --- 1. OPA killed in the middle of a load ----------------------------------------------------

# (name, request id made unique, request): CASES reuses some request ids
LOAD = [
    (n, dict(CASES[n], request_id=f"load-{n}"))
    for n in ("approved", "denied", "pended", "no_policy", "denied_investigational")
]
LOAD_EXPECTED = {req["request_id"]: EXPECTED[n][0] for n, req in LOAD}


@pytest.mark.opa
def test_opa_killed_mid_load_fails_every_call_fast_and_the_same_client_recovers(bundles):
    timeout, retries, backoff = 1.0, 1, 0.05
    # a bound on a hang, not a performance figure: the client's worst case plus a margin
    bound = timeout * (retries + 1) + backoff + 0.5
    n_threads, max_calls, after_kill_per_thread = 4, 3000, 15
    sc = Sidecar(bundles["a"].path)
    sc.__enter__()
    sc2 = None
    pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="load")
    try:
        port = sc.port
        client = RxRegoClient(sc.url, timeout=timeout, retries=retries, backoff=backoff)
        assert client.decide(APPROVED).approved  # the main thread's session has a pooled connection too
        calls: list[tuple[int, float, float, str, object]] = []  # (thread, start, end, request_id, decision or error)
        lock = threading.Lock()
        stop = threading.Event()
        killed_at: list[float] = []

        def hammer(k: int) -> None:
            after = 0
            deadline = time.monotonic() + 15
            for n in range(max_calls):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                req = LOAD[(n + k) % len(LOAD)][1]
                t0 = time.monotonic()
                try:
                    out: object = client.decide(req)
                except RxRegoError as exc:
                    out = exc
                t1 = time.monotonic()
                with lock:
                    calls.append((k, t0, t1, req["request_id"], out))
                if killed_at and t0 > killed_at[0]:
                    after += 1
                    if after >= after_kill_per_thread:
                        return
                    time.sleep(0.02)  # a caller that keeps trying, not a busy loop

        futures = [pool.submit(hammer, k) for k in range(n_threads)]
        deadline = time.monotonic() + 10
        while len(calls) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        kill_sent = time.monotonic()
        os.kill(sc.pid, signal.SIGKILL)
        sc.process.wait(timeout=5)  # dead and reaped: from here on nobody can answer
        killed_at.append(time.monotonic())
        for f in futures:
            f.result(timeout=15)  # every thread finished: nothing hung
        stop.set()

        before = [c for c in calls if c[2] < kill_sent]  # answered before the signal
        straddling = [c for c in calls if c[1] < killed_at[0] and c[2] >= kill_sent]
        after = [c for c in calls if c[1] >= killed_at[0]]  # started once OPA was dead
        assert len(before) >= 20 and len(after) >= n_threads * after_kill_per_thread
        for _, _, _, rid, out in before:
            assert isinstance(out, Decision) and out.outcome == LOAD_EXPECTED[rid], (rid, out)
        for _, _, _, rid, out in straddling:  # answered before the kill, or unavailable
            assert (isinstance(out, Decision) and out.outcome == LOAD_EXPECTED[rid]) or isinstance(
                out, SidecarUnavailable
            ), (rid, out)
        for _, t0, t1, rid, out in after:
            assert isinstance(out, SidecarUnavailable), (rid, out)
            assert t1 - t0 < bound, f"a call took {t1 - t0:.2f}s after the kill (bound {bound}s)"
        slowest = max(t1 - t0 for _, t0, t1, _, _ in after)

        # OPA again, on the same port; the same client object, the same worker threads
        sc.stop()
        sc2 = Sidecar(bundles["a"].path, port=port)
        sc2.__enter__()
        client.wait_until_ready(10)
        assert client.decide(APPROVED).approved  # the main thread's stale connection is replaced
        calls.clear()
        killed_at.clear()
        stop.clear()

        def again(k: int) -> None:
            for n in range(25):
                req = LOAD[(n + k) % len(LOAD)][1]
                d = client.decide(req)
                with lock:
                    calls.append((k, 0.0, 0.0, req["request_id"], d))

        for f in [pool.submit(again, k) for k in range(n_threads)]:
            f.result(timeout=30)
        assert len(calls) == n_threads * 25
        assert all(isinstance(d, Decision) and d.outcome == LOAD_EXPECTED[rid] for _, _, _, rid, d in calls)
        client.close()
        print(
            f"\nkill mid-load: {len(before)} decisions before SIGKILL, {len(straddling)} in flight, "
            f"{len(after)} calls after it all SidecarUnavailable (slowest {slowest * 1000:.0f} ms, bound {bound:g} s); "
            f"restarted on port {port}: {len(calls)} decisions from the same client"
        )
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        sc.stop()
        if sc2 is not None:
            sc2.stop()


# --- 2. the bundle replaced while serving -----------------------------------------------------


@pytest.mark.opa
def test_bundle_replaced_under_load_without_a_failed_request(bundles, work):
    polling_min, polling_max, margin = 1, 2, 4.0
    server = BundleServer(work / "www")
    log = work / "swap-decisions.jsonl"
    sc = None
    try:
        server.publish(bundles["a"].path)
        config = deploy.opa_config(
            f"{server.url}/bundles/rxrego.tar.gz", polling_min=polling_min, polling_max=polling_max
        )
        sc = Sidecar(None, config=config, decision_log=log)
        sc.__enter__()  # healthy: /health?bundles is 200 once A is activated
        calls: list[tuple[int, float, float, str, object]] = []
        lock = threading.Lock()
        stop = threading.Event()

        with RxRegoClient(sc.url, timeout=5.0, retries=0) as client:

            def load(k: int) -> None:
                deadline = time.monotonic() + 20
                for n in range(4000):
                    if stop.is_set() or time.monotonic() > deadline:
                        return
                    req = liver_denied(f"swap-{k}-{n}") if n % 2 == 0 else dict(APPROVED, request_id=f"swap-{k}-{n}")
                    t0 = time.monotonic()
                    try:
                        out: object = client.decide(req)
                    except RxRegoError as exc:
                        out = exc
                    with lock:
                        calls.append((k, t0, time.monotonic(), req["request_id"], out))
                    time.sleep(0.005)

            threads = [threading.Thread(target=load, args=(k,), name=f"swap-load-{k}") for k in range(2)]
            for t in threads:
                t.start()
            try:
                time.sleep(0.5)
                published = server.publish(bundles["b"].path)

                def first_b() -> float | None:
                    with lock:
                        return next(
                            (
                                c[2]
                                for c in calls
                                if isinstance(c[4], Decision) and c[4].outcome == "denied" and wording(c[4]) == "b"
                            ),
                            None,
                        )

                while first_b() is None and time.monotonic() < published + polling_max + margin:
                    time.sleep(0.05)

                def b_answers(k: int) -> int:
                    with lock:
                        return sum(
                            1
                            for c in calls
                            if c[0] == k
                            and isinstance(c[4], Decision)
                            and c[4].outcome == "denied"
                            and wording(c[4]) == "b"
                        )

                # B under load for a while too: each thread gets a few B answers
                deadline = time.monotonic() + 5
                while min(b_answers(k) for k in range(2)) < 5 and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                stop.set()
                for t in threads:
                    t.join(timeout=15)
            assert not any(t.is_alive() for t in threads)

        errors = [c for c in calls if not isinstance(c[4], Decision)]
        assert errors == [], f"{len(errors)} request(s) failed during the swap: {errors[:3]}"
        denied = [c for c in calls if c[4].outcome == "denied"]
        # even calls are the liver-test denial, odd ones the approval: every answer is right
        assert all(c[4].outcome == ("denied" if int(c[3].rsplit("-", 1)[1]) % 2 == 0 else "approved") for c in calls)
        swapped_at = first_b()
        assert swapped_at is not None, f"B was not served within {polling_max + margin:g}s of publishing"
        swap = swapped_at - published
        assert swap <= polling_max + margin
        for k in range(2):  # each thread sees A, then B, never A again
            seq = "".join(wording(c[4]) for c in denied if c[0] == k)
            assert seq.startswith("a") and seq.endswith("b") and "ba" not in seq, seq

        # the decision log names the revision of every answer, and it agrees with the wording
        rev = {"a": bundles["a"].revision, "b": bundles["b"].revision}
        want = {c[3]: wording(c[4]) for c in denied}
        entries = wait_for_lines(
            log, lambda es: set(want) <= {e.get("input", {}).get("request_id") for e in es}, timeout=10
        )
        by_request = {e["input"]["request_id"]: e for e in entries if e.get("path") == "rxrego/decision"}
        assert set(want) <= set(by_request)
        for rid, w in want.items():
            e = by_request[rid]
            assert e["bundles"]["rxrego"]["revision"] == rev[w], (rid, w, e["bundles"])
            assert wording(e["result"]) == w
        last = by_request[max(want, key=lambda r: next(c[2] for c in denied if c[3] == r))]
        assert last["bundles"]["rxrego"]["revision"] == rev["b"]
        n_a = sum(1 for w in want.values() if w == "a")
        statuses = server.statuses
        print(
            f"\nbundle swap: {len(calls)} decisions under load, 0 failed; B served {swap:.2f} s after publishing "
            f"(polling {polling_min}-{polling_max} s); liver denials answered by {rev['a']}: {n_a}, by {rev['b']}: {len(want) - n_a} "
            f"(decision log); bundle server: {statuses.count(200)} downloads, {statuses.count(304)} not modified"
        )
    finally:
        if sc is not None:
            sc.stop()
        server.close()


# --- 3. what the decision log holds -----------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(bundles, work):
    """A sidecar with a token and --decision-log FILE."""
    token = secrets.token_urlsafe(32)
    log = work / "guarded-decisions.jsonl"
    with Sidecar(bundles["a"].path, token=token, decision_log=log) as sc:
        yield sc, token, log


def _patient(request: dict, patient) -> dict:
    return dict(copy.deepcopy(request), patient=patient)


@pytest.mark.opa
def test_decision_log_entries_name_decision_revision_policy_outcome_and_keep_only_allowed_facts(guarded, bundles):
    sc, token, log = guarded
    secrets_ = [
        "1966-06-06",
        "PAT-FAULTS-1",
        "1955-05-05",
        "PAT-FAULTS-2",
        "1944-04-04",
        "PAT-FAULTS-3",
        "PAT-FAULTS-4 1933-03-03",
        "C91.02",
    ]
    single = _patient(APPROVED, {"id": "PAT-FAULTS-1", "birth_date": "1966-06-06"})
    batch = [
        _patient(APPROVED, {"id": "PAT-FAULTS-2", "birth_date": "1955-05-05"}),
        _patient(LIVER_DENIED, {"birth_date": "1944-04-04", "id": "PAT-FAULTS-3", "sex": "F"}),
        _patient(APPROVED, "PAT-FAULTS-4 1933-03-03"),  # not an object
    ]
    h = bearer(token)
    r1 = requests.post(sc.url + "/v1/data/rxrego/decision", json={"input": single}, headers=h, timeout=5).json()
    r2 = requests.post(
        sc.url + "/v1/data/rxrego/decisions", json={"input": {"requests": batch}}, headers=h, timeout=5
    ).json()
    ids = {r1["decision_id"], r2["decision_id"]}
    by_id = decision_entries(wait_for_lines(log, lambda es: ids <= set(decision_entries(es)), timeout=10))
    assert ids <= set(by_id)

    one = by_id[r1["decision_id"]]
    assert one["path"] == "rxrego/decision"
    assert one["bundles"]["rxrego"]["revision"] == bundles["a"].revision
    assert one["result"] == r1["result"]
    assert (one["result"]["policy"]["id"], one["result"]["outcome"]) == (POLICY_ID, "approved")
    assert one["masked"] == ["/input"]
    assert one["input"] == logged_facts(single)
    assert one["input"]["request_id"] == APPROVED["request_id"]  # what identifies the request stays

    many = by_id[r2["decision_id"]]
    assert many["path"] == "rxrego/decisions"
    assert many["bundles"]["rxrego"]["revision"] == bundles["a"].revision
    assert many["result"] == r2["result"]
    assert [d["policy"]["id"] for d in many["result"]] == [POLICY_ID] * 3
    assert [d["outcome"] for d in many["result"]] == ["approved", "denied", "denied"]
    assert many["input"] == {"requests": [logged_facts(r) for r in batch]}
    assert all("patient" not in r for r in many["input"]["requests"])

    text = log.read_text(encoding="utf-8")
    leaked = [s for s in secrets_ if s in text]
    assert leaked == [], f"in the decision log: {leaked}"
    assert token not in text


# --- 4. access control ------------------------------------------------------------------------

ALLOWED, REFUSED, REDIRECTED = "allowed", "refused", "redirected"


def _access_table(sc: Sidecar) -> list[tuple[str, str, str | None, str]]:
    """(method, raw path, body, what the right token gets). No token and a wrong token are
    refused everything, except that OPA's router redirects a path with a trailing slash
    (for every caller, with no body): the client must follow it, and is then asked again."""
    decision = json.dumps({"input": APPROVED})
    authz_id = (sc.workdir / "system" / "authz" / "authz.rego").as_posix().lstrip("/")
    mask_id = (sc.workdir / "system" / "log" / "mask.rego").as_posix().lstrip("/")
    return [
        ("POST", "/v1/data/rxrego/decision", decision, ALLOWED),
        ("POST", "/v1/data/rxrego/decisions", json.dumps({"input": {"requests": [APPROVED]}}), ALLOWED),
        ("GET", "/health", None, ALLOWED),
        ("GET", "/health?bundles", None, ALLOWED),
        # writes: policies and data
        ("PUT", "/v1/policies/x", "package x\n\nallow := true\n", REFUSED),
        ("PUT", f"/v1/policies/{authz_id}", "package system.authz\n\nallow := true\n", REFUSED),
        ("PUT", "/v1/policies/rxrego/rxrego/router.rego", "package rxrego\n\ndecision := {}\n", REFUSED),
        ("DELETE", f"/v1/policies/{authz_id}", None, REFUSED),
        ("DELETE", f"/v1/policies/{mask_id}", None, REFUSED),
        ("DELETE", "/v1/policies/rxrego/rxrego/router.rego", None, REFUSED),
        ("PUT", "/v1/data/x", '{"a": 1}', REFUSED),
        ("PUT", "/v1/data/rxrego/routes", "{}", REFUSED),
        ("PATCH", "/v1/data", '[{"op": "add", "path": "/x", "value": 1}]', REFUSED),
        ("PATCH", "/v1/data/system", '[{"op": "add", "path": "/authz", "value": {}}]', REFUSED),
        ("DELETE", "/v1/data/rxrego", None, REFUSED),
        # reads beyond the decision
        ("GET", "/v1/policies", None, REFUSED),
        ("GET", "/v1/data", None, REFUSED),
        ("GET", "/v1/data/rxrego/lib", None, REFUSED),
        ("POST", "/v1/data/rxrego/lib", '{"input": {}}', REFUSED),
        ("POST", "/v1/data/rxrego", '{"input": {}}', REFUSED),
        ("GET", "/v1/data/system/authz/token_sha256", None, REFUSED),
        ("GET", "/v1/data/rxrego/decision", None, REFUSED),
        ("POST", "/v1/query", '{"query": "data.rxrego.routes"}', REFUSED),
        ("GET", "/v1/query?q=data.rxrego.routes", None, REFUSED),
        ("POST", "/", '{"input": {}}', REFUSED),  # the default decision (data.system.main)
        ("POST", "/v1/compile", '{"query": "data.rxrego.decision"}', REFUSED),
        ("GET", "/v1/config", None, REFUSED),
        ("GET", "/v1/status", None, REFUSED),
        ("GET", "/metrics", None, REFUSED),
        # the decision path, bent
        ("POST", "/v1/data/rxrego/decision?explain=full", decision, REFUSED),
        ("POST", "/v1/data/rxrego/decision?metrics=true&instrument=true", decision, REFUSED),
        ("POST", "/v1/data/rxrego/decision?provenance=true", decision, REFUSED),
        ("POST", "/v1/data/rxrego/decision/../lib", decision, REFUSED),
        ("POST", "/v1/data/rxrego/./lib", decision, REFUSED),
        ("POST", "//v1/data/rxrego/lib", decision, REFUSED),
        ("POST", "/v1/data/rxrego%2Flib", decision, REFUSED),
        ("POST", "/v1/data/rxrego/decision/", decision, REDIRECTED),
        ("POST", "/v1/data/rxrego/decision/outcome", decision, REFUSED),
    ]


def _raw(sc: Sidecar, method: str, path: str, body: str | None, token: str | None) -> tuple[int, bytes]:
    """One request with the path sent exactly as written (no client-side normalisation)."""
    conn = http.client.HTTPConnection(sc.host, sc.port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body.encode() if body is not None else None, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.opa
def test_access_control_table(guarded):
    sc, token, _ = guarded
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    problems = []
    rows = _access_table(sc)
    for method, path, body, right in rows:
        for who, tok in (("no token", None), ("wrong token", wrong), ("right token", token)):
            want = right if who == "right token" or right == REDIRECTED else REFUSED
            status, data = _raw(sc, method, path, body, tok)
            if want == ALLOWED:
                ok = status == 200 and (not path.startswith("/v1/data") or b'"result"' in data)
            elif want == REDIRECTED:
                ok = status in (301, 307, 308) and b"result" not in data
            else:
                # refused by the authorization policy; nothing else may get through
                ok = status in (401, 403)
            if not ok:
                problems.append(f"{who:<11} {method} {path}: {status} {data[:120]!r} (want {want})")
    assert problems == [], "\n".join(problems)
    # and nothing changed: decisions are still the bundle's, the authz policy still holds
    h = bearer(token)
    ok = requests.post(sc.url + "/v1/data/rxrego/decision", json={"input": APPROVED}, headers=h, timeout=5).json()
    assert ok["result"]["outcome"] == "approved"
    nopol = requests.post(
        sc.url + "/v1/data/rxrego/decision", json={"input": CASES["no_policy"]}, headers=h, timeout=5
    ).json()
    assert nopol["result"]["outcome"] == "no_policy"
    assert requests.post(sc.url + "/v1/data/rxrego/decision", json={"input": APPROVED}, timeout=5).status_code == 401
    print(
        f"\naccess control: {len(rows)} endpoints x 3 callers, {sum(r[3] == ALLOWED for r in rows)} allowed to the token holder only"
    )
