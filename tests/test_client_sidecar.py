"""The bundle, the OPA sidecar and the thin client, against the real `opa run --server`.

Every decision here comes from the pinned OPA serving the bundle built from (a snapshot of)
rego/; it is read three ways (rxrego.client, opa-python-client, plain requests) that must
agree. The one stand-in server, the loopback server of tests/conftest.py (`loopback`),
is used only to send documents that break the decision contract (UnexpectedResponse). Expected outcomes are written by hand from
docs/semantics.md, never computed by the code under test.

Tests that need OPA use the `opa_path` fixture (tests/conftest.py): with CI=true a missing
OPA fails them; elsewhere they skip and name `make run`.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from opa_client import OpaClient

import rxrego.client.answer as client_answer
from rxrego import bundle, toolchain
from rxrego import opa as opa_mod
from rxrego.cli import main as cli_main
from rxrego.client import (
    DECISION_PATH,
    DECISIONS_PATH,
    Approval,
    Decision,
    DecisionUndefined,
    InvalidRequest,
    RxRegoClient,
    RxRegoError,
    SidecarUnavailable,
    Unauthorized,
    UnexpectedResponse,
    decide_or_pend,
)
from rxrego.sidecar import Sidecar, SidecarError, authz_policy, free_port

ROOT = Path(__file__).resolve().parent.parent
REGO = ROOT / "rego"
SPECS = ROOT / "policy_source"

# --- requests, and what docs/semantics.md says each must give --------------------------------

APPROVED = {
    "request_id": "req-approved-1",
    "request_type": "initial",
    "date_of_service": "2026-11-30",
    "patient": {"birth_date": "1980-05-10"},
    "drug": {"hcpcs": "J9229"},
    "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}],
    "biomarkers": {"CD22": "positive", "philadelphia_chromosome": "negative"},
    "prescriber": {
        "attestations": {"liver_tests_each_dose": True, "vod_monitoring": True, "no_alkylating_hsct_conditioning": True}
    },
}


def variant(**changes) -> dict:
    req = copy.deepcopy(APPROVED)
    for key, value in changes.items():
        if value is None:
            req.pop(key, None)
        else:
            req[key] = value
    req["request_id"] = f"req-{len(changes)}-{'-'.join(sorted(changes))}"
    return req


CASES = {
    "approved": APPROVED,
    # an attestation answered "no": unmet, and the indication is met -> criteria_unmet
    "denied": variant(
        prescriber={
            "attestations": {
                "liver_tests_each_dose": True,
                "vod_monitoring": False,
                "no_alkylating_hsct_conditioning": True,
            }
        }
    ),
    # AML, not ALL: the coverage indication is unmet -> investigational
    "denied_investigational": variant(
        diagnoses=[{"code": "C92.00", "lineage": "b_cell_precursor", "disease_status": "relapsed"}]
    ),
    # no attestations at all: unknown -> pended
    "pended": variant(prescriber=None),
    "no_policy": variant(drug={"hcpcs": "J0000"}),
    "invalid_request": variant(date_of_service=None),
}
EXPECTED = {
    "approved": ("approved", "criteria_met"),
    "denied": ("denied", "criteria_unmet"),
    "denied_investigational": ("denied", "investigational"),
    "pended": ("pended", "information_missing"),
    "no_policy": ("no_policy", "no_policy"),
    "invalid_request": ("invalid_request", "invalid_request"),
}


def logged_facts(request) -> dict:
    """What the decision-log mask keeps of one request (docs/decision-log.md), worked out
    here independently of the mask: request_id (a string of at most 128 characters),
    request_type (initial or renewal), date_of_service (shaped YYYY-MM-DD) and the drug's
    hcpcs, ndc and name (strings); nothing else."""
    if not isinstance(request, dict):
        return {}
    kept = {}
    if isinstance(request.get("request_id"), str) and len(request["request_id"]) <= 128:
        kept["request_id"] = request["request_id"]
    if request.get("request_type") in ("initial", "renewal"):
        kept["request_type"] = request["request_type"]
    dos = request.get("date_of_service")
    if isinstance(dos, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", dos):
        kept["date_of_service"] = dos
    drug = request.get("drug")
    if isinstance(drug, dict):
        ids = {k: drug[k] for k in ("hcpcs", "ndc", "name") if isinstance(drug.get(k), str)}
        if ids:
            kept["drug"] = ids
    return kept


def decision_entries(entries: list[dict]) -> dict[str, dict]:
    """The decision-log entries among OPA's output lines, by decision id (the same file also
    holds OPA's own warning and error lines, which have no decision id)."""
    return {e["decision_id"]: e for e in entries if "decision_id" in e}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sidecar")


@pytest.fixture(scope="module")
def rego_snapshot(opa_path, work) -> Path:
    """A private copy of rego/, so a regeneration during the run cannot change what is compared."""
    dest = work / "rego"
    shutil.copytree(REGO, dest)
    return dest


@pytest.fixture(scope="module")
def bundle_info(rego_snapshot, work) -> bundle.BundleInfo:
    return bundle.build(rego_snapshot, work / "bundle.tar.gz")


@pytest.fixture(scope="module")
def decision_log(work) -> Path:
    return work / "decisions.jsonl"


@pytest.fixture(scope="module")
def sidecar(bundle_info, decision_log):
    with Sidecar(bundle_info.path, decision_log=decision_log) as sc:
        yield sc


@pytest.fixture(scope="module")
def client(sidecar):
    with RxRegoClient(sidecar.url, timeout=5.0) as c:
        yield c


@pytest.fixture(scope="module")
def token_sidecar(bundle_info):
    token = secrets.token_urlsafe(32)
    with Sidecar(bundle_info.path, token=token) as sc:
        yield sc, token


@pytest.fixture(scope="module")
def keys(work) -> dict[str, Path]:
    """Two RSA key pairs (a, b) made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("openssl is required in CI to make signing keys")
        pytest.skip("openssl not found: cannot make signing keys")
    out = {}
    for name in ("a", "b"):
        key, pub = work / f"{name}.key.pem", work / f"{name}.pub.pem"
        subprocess.run(
            [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
            check=True,
            capture_output=True,
        )
        subprocess.run([openssl, "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True)
        out[name], out[f"{name}_pub"] = key, pub
    return out


def wait_for_lines(path: Path, predicate, timeout: float = 5.0) -> list[dict]:
    """The JSON lines of `path` once `predicate(entries)` holds (OPA logs asynchronously).
    Only complete lines count: a last line without its newline is still being written."""
    deadline = time.monotonic() + timeout
    while True:
        entries = []
        if path.exists():
            text = path.read_text()
            complete = text[: text.rfind("\n") + 1]
            entries = [json.loads(line) for line in complete.splitlines() if line.strip()]
        if predicate(entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


# --- one decision, three clients --------------------------------------------------------------


@pytest.mark.opa
def test_each_request_gets_the_outcome_the_semantics_give(client):
    for name, req in CASES.items():
        d = client.decide(req)
        assert (d.outcome, d.reason) == EXPECTED[name], name
        assert d.request_id == req["request_id"]
        assert d.approved is (name == "approved"), name


@pytest.mark.opa
def test_the_approval_is_the_documented_period(client):
    d = client.decide(APPROVED)
    # docs/semantics.md: 2026-11-30 + 3 months = 2027-02-28 (the day clamped)
    assert d.approval == Approval(start=dt.date(2026, 11, 30), end=dt.date(2027, 2, 28), duration_months=3)
    assert d.policy is not None and d.policy.number == "5.21.100" and d.policy.version.startswith("sha256:")
    assert d.unmet == () and d.missing == ()
    assert "diagnosis" in d.met and d.criteria["diagnosis"] == "met"


@pytest.mark.opa
def test_denied_and_pended_carry_the_policy_words_and_fields(client):
    denied = client.decide(CASES["denied"])
    assert [c.id for c in denied.unmet] == ["vod_monitoring"]
    assert "veno-occlusive" in denied.unmet[0].text
    inv = client.decide(CASES["denied_investigational"])
    assert inv.unmet[0].id == "investigational" and "investigational" in inv.unmet[0].text
    pended = client.decide(CASES["pended"])
    fields = {m.id: m.fields for m in pended.missing}
    assert fields["vod_monitoring"] == ("prescriber.attestations.vod_monitoring",)
    assert pended.approval is None and not pended.approved
    invalid = client.decide(CASES["invalid_request"])
    assert [e.field for e in invalid.errors] == ["date_of_service"]
    nopol = client.decide(CASES["no_policy"])
    assert dict(nopol.drug) == {"hcpcs": "J0000"}


@pytest.mark.opa
def test_rxrego_client_opa_python_client_and_plain_requests_agree(sidecar, client, rego_snapshot):
    opa = OpaClient(host="127.0.0.1", port=sidecar.port, timeout=5.0)
    try:
        for name, req in CASES.items():
            ours = client.decide(req)
            theirs = opa.query_rule(input_data=req, package_path="rxrego", rule_name="decision")
            plain = requests.post(sidecar.url + DECISION_PATH, json={"input": req}, timeout=5).json()
            assert ours.raw == theirs["result"] == plain["result"], name
            assert ours.outcome == EXPECTED[name][0]
        # opa-python-client's batch (an ad-hoc query) agrees with decide_many
        batch = list(CASES.values())
        bulk = opa.bulk_query_rule(batch, "rxrego", "decision")
        assert [d.raw for d in client.decide_many(batch)] == bulk
    finally:
        opa.close_connection()
    # and the sidecar agrees with a local `opa eval` of the same Rego
    local = opa_mod.eval_batch(rego_snapshot, "data.rxrego.decisions", {"requests": list(CASES.values())})["value"]
    assert [client.decide(r).raw for r in CASES.values()] == local


@pytest.mark.opa
def test_decide_many_is_one_round_trip_equal_to_n_decides(client, monkeypatch):
    batch = list(CASES.values()) * 3
    sent = []
    real_send = requests.Session.send

    def counting_send(self, request, **kwargs):
        sent.append((request.method, request.url))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting_send)
    many = client.decide_many(batch)
    assert sent == [("POST", client.base_url + DECISIONS_PATH)]
    monkeypatch.undo()
    singles = [client.decide(r) for r in batch]
    assert many == singles
    assert [d.outcome for d in many] == [EXPECTED[n][0] for n in CASES] * 3
    assert client.decide_many([]) == []


@pytest.mark.opa
def test_one_client_shared_by_threads(client):
    batch = list(CASES.values()) * 8
    expected = [client.decide(r) for r in batch]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(client.decide, batch))
    assert got == expected


@pytest.mark.opa
def test_health_and_wait_until_ready(client):
    assert client.health() is True
    client.wait_until_ready(2.0)


# --- the Decision value -----------------------------------------------------------------------

APPROVED_DOC = {
    "outcome": "approved",
    "reason": "criteria_met",
    "approval": {"start": "2026-11-30", "end": "2027-02-28", "duration_months": 3},
    "criteria": {"x": "met"},
    "met": ["x"],
    "unmet": [],
    "missing": [],
}


def test_decision_is_frozen_and_keeps_a_copy_of_what_it_received():
    doc = copy.deepcopy(APPROVED_DOC)
    d = Decision.from_dict(doc)
    doc["outcome"] = "denied"
    doc["criteria"]["x"] = "unmet"
    assert d.raw["outcome"] == "approved" and d.criteria["x"] == "met"
    with pytest.raises(AttributeError):
        d.outcome = "denied"  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.criteria["x"] = "unmet"  # type: ignore[index]
    assert hash(d) == hash(Decision.from_dict(copy.deepcopy(APPROVED_DOC)))


def test_approved_needs_the_outcome_and_a_period():
    assert Decision.from_dict(APPROVED_DOC).approved is True
    no_period = {k: v for k, v in APPROVED_DOC.items() if k != "approval"}
    assert Decision.from_dict(no_period).approved is False
    for outcome in ("denied", "pended", "no_policy", "invalid_request"):
        doc = {"outcome": outcome, "reason": "criteria_unmet" if outcome == "denied" else "information_missing"}
        assert Decision.from_dict(doc).approved is False


def test_a_policy_not_in_force_is_no_policy_with_its_first_date():
    doc = {"outcome": "no_policy", "reason": "not_in_force", "drug": {"hcpcs": "J9229"}, "in_force_from": "2017-09-08"}
    d = Decision.from_dict(doc)
    assert (d.outcome, d.reason, d.in_force_from, d.approved) == ("no_policy", "not_in_force", "2017-09-08", False)


@pytest.mark.parametrize(
    "doc",
    [
        {"reason": "criteria_met"},  # no outcome
        {"outcome": "approve", "reason": "criteria_met"},
        {"outcome": "APPROVED", "reason": "criteria_met"},
        {"outcome": "approved"},  # no reason
        {
            "outcome": "approved",
            "reason": "criteria_met",
            "approval": {"start": "2026-11-30", "end": "soon", "duration_months": 3},
        },
        {
            "outcome": "approved",
            "reason": "criteria_met",
            "approval": {"start": "20261130", "end": "20270228", "duration_months": 3},
        },
        {
            "outcome": "approved",
            "reason": "criteria_met",
            "approval": {"start": "2026-11-30", "end": "2026-01-01", "duration_months": 3},
        },
        {"outcome": "denied", "reason": "criteria_unmet", "approval": APPROVED_DOC["approval"]},
        {"outcome": "denied", "reason": "criteria_unmet", "unmet": [{"id": "x"}]},
        {"outcome": "pended", "reason": "information_missing", "criteria": {"x": "maybe"}},
        ["approved"],
        "approved",
        None,
    ],
)
def test_documents_off_the_contract_are_unexpected(doc):
    with pytest.raises(UnexpectedResponse):
        Decision.from_dict(doc)


# --- the bundle -------------------------------------------------------------------------------


def _members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getmembers()


@pytest.mark.opa
def test_bundle_is_reproducible_and_names_its_content(rego_snapshot, work, keys):
    a = bundle.build(rego_snapshot, work / "r1.tar.gz")
    later = time.time() + 1000
    content = [f for f in rego_snapshot.rglob("*") if f.suffix == ".rego" or f.name in bundle.DATA_FILES]
    assert any(f.name in bundle.DATA_FILES for f in content)  # the router's tables (rxrego/routing)
    for f in content:
        os.utime(f, (later, later))
    b = bundle.build(rego_snapshot, work / "r2.tar.gz")
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.sha256 == hashlib.sha256(a.path.read_bytes()).hexdigest()

    # the revision: sha256 over the sorted (path, length, bytes) of the modules and data
    # files, 16 hex digits
    h = hashlib.sha256()
    for f in sorted(content, key=lambda p: p.relative_to(rego_snapshot).as_posix()):
        data = f.read_bytes()
        h.update(f"{f.relative_to(rego_snapshot).as_posix()}\0{len(data)}\0".encode() + data)
    manifest = bundle.read_manifest(a.path)
    assert manifest["roots"] == ["rxrego"]
    assert manifest["revision"] == a.revision == "sha256:" + h.hexdigest()[:16]
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", a.revision)

    members = _members(a.path)
    names = [m.name for m in members]
    assert names == sorted(names)
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.mode == 0o644 for m in members)
    assert all(n.lstrip("/").startswith("rxrego/") for n in names if n.lstrip("/") not in (".manifest", "data.json"))
    assert a.path.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header mtime

    # signed with RS256 (deterministic): the same bytes twice as well
    s1 = bundle.build(rego_snapshot, work / "s1.tar.gz", signing_key=keys["a"])
    s2 = bundle.build(rego_snapshot, work / "s2.tar.gz", signing_key=keys["a"])
    assert s1.path.read_bytes() == s2.path.read_bytes()
    assert bundle.is_signed(s1.path) and not bundle.is_signed(a.path)

    # one byte of content changes the revision and the bytes
    changed = work / "rego-changed"
    shutil.copytree(rego_snapshot, changed)
    router = changed / "rxrego" / "router.rego"
    router.write_text(router.read_text() + "\n# changed\n")
    c = bundle.build(changed, work / "r3.tar.gz")
    assert c.revision != a.revision and c.sha256 != a.sha256


@pytest.mark.opa
def test_bundle_command_writes_the_same_bytes_twice(rego_snapshot, work):
    runner = CliRunner()
    outs = []
    for i in (1, 2):
        out = work / f"cli-{i}.tar.gz"
        result = runner.invoke(
            cli_main, ["bundle", "-o", str(out), "--rego", str(rego_snapshot), "--specs", str(SPECS)]
        )
        assert result.exit_code == 0, result.output
        assert "revision sha256:" in result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    missing = runner.invoke(cli_main, ["bundle", "-o", str(work / "x.tar.gz"), "--rego", str(work / "nope")])
    assert missing.exit_code == 2 and "no such folder" in missing.output


# --- signatures -------------------------------------------------------------------------------


@pytest.mark.opa
def test_signed_bundle_is_served_when_the_signature_verifies(rego_snapshot, work, keys):
    info = bundle.build(rego_snapshot, work / "signed.tar.gz", signing_key=keys["a"])
    with Sidecar(info.path, verification_key=keys["a_pub"]) as sc, RxRegoClient(sc.url) as c:
        assert c.decide(APPROVED).approved


def _tampered(signed: Path, out: Path) -> Path:
    """The signed bundle with its routing data (a route added) changed and the signature kept."""
    raw = io.BytesIO()
    changed = False
    with tarfile.open(signed, "r:gz") as src, tarfile.open(fileobj=raw, mode="w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name.lstrip("/") == "data.json":  # opa build merges the data files into one
                tables = json.loads(data)
                hcpcs = tables["rxrego"]["routing"]["routes"]["hcpcs"]
                hcpcs["J0000"] = hcpcs["J9229"]
                data = json.dumps(tables).encode()
                changed = True
            m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    assert changed, "the bundle's data.json was not found or not changed"
    out.write_bytes(gzip.compress(raw.getvalue()))
    return out


@pytest.mark.opa
@pytest.mark.parametrize(
    "case, reason",
    [
        ("other_key", r"failed to verify JWT signature"),
        ("unsigned", r"missing \.signatures\.json"),
        ("tampered", r"digest mismatch"),
    ],
)
def test_a_bundle_whose_signature_does_not_verify_is_refused(case, reason, rego_snapshot, work, keys):
    if case == "other_key":
        path = bundle.build(rego_snapshot, work / f"{case}.tar.gz", signing_key=keys["b"]).path
    elif case == "unsigned":
        path = bundle.build(rego_snapshot, work / f"{case}.tar.gz").path
    else:
        signed = bundle.build(rego_snapshot, work / "to-tamper.tar.gz", signing_key=keys["a"]).path
        path = _tampered(signed, work / f"{case}.tar.gz")
    sc = Sidecar(path, verification_key=keys["a_pub"])
    sc.start()
    try:
        # while OPA considers the bundle, it never answers a decision
        answers = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not sc.bundle_error:
            try:
                r = requests.post(sc.url + DECISION_PATH, json={"input": APPROVED}, timeout=2)
            except requests.ConnectionError:
                continue
            answers += 1
            assert r.status_code == 200 and "result" not in r.json()
            assert requests.get(sc.url + "/health?bundles", timeout=2).status_code != 200
        with pytest.raises(SidecarError, match=reason):
            sc.wait_until_healthy(10)
    finally:
        sc.stop()
    assert not sc.running


@pytest.mark.opa
def test_opa_itself_refuses_a_bundle_signed_with_another_key(opa_path, rego_snapshot, work, keys):
    path = bundle.build(rego_snapshot, work / "cli-other-key.tar.gz", signing_key=keys["b"]).path
    port = free_port()
    result = subprocess.run(
        [
            str(opa_path),
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{port}",
            "--verification-key",
            str(keys["a_pub"]),
            "--bundle",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode != 0
    assert "verif" in (result.stderr + result.stdout)


@pytest.mark.opa
def test_serve_refuses_a_bad_signature_with_exit_2(rego_snapshot, work, keys):
    path = bundle.build(rego_snapshot, work / "serve-unsigned.tar.gz").path
    result = CliRunner().invoke(
        cli_main, ["serve", "--bundle", str(path), "--port", str(free_port()), "--verification-key", str(keys["a_pub"])]
    )
    assert result.exit_code == 2, result.output
    assert "refused the bundle" in result.output and "Traceback" not in result.output


# --- the token --------------------------------------------------------------------------------


@pytest.mark.opa
def test_decisions_need_the_token(token_sidecar):
    sc, token = token_sidecar
    url = sc.url + DECISION_PATH
    assert requests.post(url, json={"input": APPROVED}, timeout=5).status_code == 401
    assert requests.post(url, json={"input": APPROVED}, headers=bearer("x" + token), timeout=5).status_code == 401
    ok = requests.post(url, json={"input": APPROVED}, headers=bearer(token), timeout=5)
    assert ok.status_code == 200 and ok.json()["result"]["outcome"] == "approved"
    many = requests.post(
        sc.url + DECISIONS_PATH, json={"input": {"requests": [APPROVED]}}, headers=bearer(token), timeout=5
    )
    assert many.status_code == 200 and many.json()["result"][0]["outcome"] == "approved"
    assert requests.get(sc.url + "/health", headers=bearer(token), timeout=5).status_code == 200
    assert requests.get(sc.url + "/health", timeout=5).status_code == 401

    for bad in (None, "x" + token):
        with RxRegoClient(sc.url, token=bad) as c:
            with pytest.raises(Unauthorized) as err:
                c.decide(APPROVED)
            assert err.value.status == 401
            with pytest.raises(Unauthorized):
                c.decide_many([APPROVED])
            with pytest.raises(Unauthorized):
                c.wait_until_ready(2)
            assert c.health() is False
            pended = decide_or_pend(c, APPROVED)
            assert (pended.outcome, pended.reason, pended.approved) == ("pended", "decision_unavailable", False)
    with RxRegoClient(sc.url, token=token) as c:
        c.wait_until_ready(2)
        assert c.decide(APPROVED).approved
    opa = OpaClient(host="127.0.0.1", port=sc.port, token=token)
    try:
        assert (
            opa.query_rule(input_data=APPROVED, package_path="rxrego", rule_name="decision")["result"]["outcome"]
            == "approved"
        )
    finally:
        opa.close_connection()


@pytest.mark.opa
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("PUT", "/v1/policies/x", "package x\n\nallow := true\n"),
        ("PUT", "/v1/policies/rxrego/router.rego", "package rxrego\n\ndecision := {}\n"),
        ("DELETE", "/v1/policies/x", None),
        ("GET", "/v1/policies", None),
        ("PUT", "/v1/data/x", '{"a": 1}'),
        ("PUT", "/v1/data/rxrego/routes", '{"hcpcs": {}}'),
        ("PATCH", "/v1/data/rxrego", "[]"),
        ("GET", "/v1/data", None),
        ("POST", "/v1/data", '{"input": {}}'),
        ("GET", "/v1/data/rxrego/lib", None),
        ("POST", "/v1/data/rxrego/lib", '{"input": {}}'),
        ("GET", "/v1/data/rxrego/routes", None),
        ("GET", "/v1/data/system/authz", None),
        ("GET", "/v1/data/rxrego/decision", None),
        ("POST", "/v1/data/rxrego/decision?explain=full", '{"input": {}}'),
        ("POST", "/v1/query", '{"query": "data.rxrego.routes"}'),
        ("POST", "/v1/compile", '{"query": "data.rxrego.decision"}'),
        ("GET", "/v1/config", None),
        ("GET", "/v1/status", None),
        ("GET", "/metrics", None),
    ],
)
def test_the_token_allows_nothing_but_decisions(token_sidecar, method, path, body):
    sc, token = token_sidecar
    resp = requests.request(method, sc.url + path, data=body, headers=bearer(token), timeout=5)
    assert resp.status_code in (401, 403), resp.text
    # and nothing was changed: the decision is still the bundle's
    ok = requests.post(sc.url + DECISION_PATH, json={"input": APPROVED}, headers=bearer(token), timeout=5)
    assert ok.json()["result"]["outcome"] == "approved"


@pytest.mark.opa
def test_the_token_is_never_written_down(token_sidecar):
    sc, token = token_sidecar
    digest = hashlib.sha256(token.encode()).hexdigest()
    text = authz_policy(token)
    assert digest in text and token not in text
    files = [f for f in sc.workdir.rglob("*") if f.is_file()]
    assert any(f.name == "authz.rego" for f in files)
    for f in files:
        assert token.encode() not in f.read_bytes(), f


# --- typed errors -----------------------------------------------------------------------------


def test_closed_port_is_unavailable_fast_and_pends():
    url = f"http://127.0.0.1:{free_port()}"
    with RxRegoClient(url, timeout=2.0, retries=2, backoff=0.05) as c:
        t0 = time.monotonic()
        with pytest.raises(SidecarUnavailable):
            c.decide(APPROVED)
        assert time.monotonic() - t0 < 2.0
        with pytest.raises(SidecarUnavailable):
            c.decide_many([APPROVED])
        assert c.health() is False
        with pytest.raises(SidecarUnavailable):
            c.wait_until_ready(0.3)
        d = decide_or_pend(c, APPROVED)
    assert (d.outcome, d.reason, d.approved, d.approval) == ("pended", "decision_unavailable", False, None)
    assert d.request_id == APPROVED["request_id"]
    assert "SidecarUnavailable" in d.errors[0].message
    assert d.to_dict()["reason"] == "decision_unavailable"


@pytest.mark.opa
def test_retries_connection_errors_but_never_4xx(token_sidecar, monkeypatch):
    import urllib3.connectionpool

    attempts = []
    real = urllib3.connectionpool.HTTPConnectionPool._make_request

    def counting(self, conn, method, url, *args, **kwargs):
        attempts.append((self.port, method, url))
        return real(self, conn, method, url, *args, **kwargs)

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "_make_request", counting)
    with (
        RxRegoClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01) as c,
        pytest.raises(SidecarUnavailable),
    ):
        c.decide(APPROVED)
    assert len(attempts) == 3  # the first try and two retries
    attempts.clear()
    sc, _token = token_sidecar
    with RxRegoClient(sc.url, retries=2, backoff=0.01, token="wrong") as c, pytest.raises(Unauthorized):
        c.decide(APPROVED)
    assert len(attempts) == 1
    # 502/503/504 are retried with backoff, POST included, and read errors are not:
    # tests/test_inputs.py::test_5xx_is_retried_within_the_deadline_and_4xx_never


@pytest.mark.opa
def test_a_sidecar_killed_mid_run_is_unavailable_within_the_timeout(bundle_info):
    with Sidecar(bundle_info.path) as sc, RxRegoClient(sc.url, timeout=2.0, retries=2, backoff=0.05) as c:
        events: list[tuple[float, object]] = []

        def hammer():
            while True:
                try:
                    events.append((time.monotonic(), c.decide(APPROVED)))
                except RxRegoError as exc:
                    events.append((time.monotonic(), exc))
                    return

        t = threading.Thread(target=hammer)
        t.start()
        time.sleep(0.3)
        killed_at = time.monotonic()
        os.kill(sc.pid, signal.SIGKILL)
        t.join(timeout=10)
        assert not t.is_alive()
        last_time, last = events[-1]
        assert isinstance(last, SidecarUnavailable)
        assert last_time - killed_at < 2.0
        assert len(events) > 1 and all(isinstance(d, Decision) and d.approved for _, d in events[:-1])
        assert decide_or_pend(c, APPROVED).outcome == "pended"


@pytest.mark.opa
def test_a_hung_sidecar_is_unavailable_after_one_timeout(bundle_info):
    with Sidecar(bundle_info.path) as sc, RxRegoClient(sc.url, timeout=1.0, retries=2) as c:
        assert c.decide(APPROVED).approved
        os.kill(sc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            with pytest.raises(SidecarUnavailable):
                c.decide(APPROVED)
            elapsed = time.monotonic() - t0
        finally:
            os.kill(sc.pid, signal.SIGCONT)
        assert 0.9 <= elapsed < 1.9


@pytest.mark.opa
def test_opa_without_the_bundle_is_undefined_never_approved(opa_path):
    with Sidecar(None) as sc, RxRegoClient(sc.url) as c:
        raw = requests.post(sc.url + DECISION_PATH, json={"input": APPROVED}, timeout=5)
        assert raw.status_code == 200 and "result" not in raw.json()
        with pytest.raises(DecisionUndefined):
            c.decide(APPROVED)
        with pytest.raises(DecisionUndefined):
            c.decide_many([APPROVED])
        d = decide_or_pend(c, APPROVED)
        assert (d.outcome, d.reason, d.approved) == ("pended", "decision_unavailable", False)
        assert "DecisionUndefined" in d.errors[0].message


@pytest.mark.opa
def test_requests_that_are_not_json_are_invalid(client):
    for bad in ({"x": object()}, {"x": float("nan")}, {"x": "\ud800"}, {"x": {1, 2}}):
        with pytest.raises(InvalidRequest):
            client.decide(bad)
        with pytest.raises(InvalidRequest):
            client.decide_many([APPROVED, bad])
        assert decide_or_pend(client, bad).outcome == "pended"


@pytest.mark.opa
def test_a_request_loaded_from_yaml_decides_as_its_json_twin(client):
    """A YAML loader gives 2026-11-30 as a datetime.date: the client sends it as the ISO
    date, and the decision is the one the same request written in JSON gets. A datetime
    (a time of day) is refused before sending, naming the field."""
    import yaml

    text = yaml.safe_dump(APPROVED)
    loaded = yaml.safe_load(text.replace("'", ""))
    assert isinstance(loaded["date_of_service"], dt.date)
    assert isinstance(loaded["patient"]["birth_date"], dt.date)
    assert client.decide(loaded).to_dict() == client.decide(APPROVED).to_dict()
    assert [d.outcome for d in client.decide_many([loaded, APPROVED])] == ["approved", "approved"]
    timed = copy.deepcopy(APPROVED)
    timed["patient"]["birth_date"] = dt.datetime(1980, 5, 10, 8, 30)
    with pytest.raises(InvalidRequest) as err:
        client.decide(timed)
    assert "patient.birth_date" in str(err.value) and "time of day" in str(err.value)


@pytest.mark.opa
def test_a_400_from_opa_is_invalid_request(client, monkeypatch):
    # The client only ever sends well-formed JSON; make it send a body OPA rejects.
    monkeypatch.setattr(client_answer, "json", types.SimpleNamespace(dumps=lambda *a, **k: "[1]", loads=json.loads))
    with pytest.raises(InvalidRequest) as err:
        client.decide(APPROVED)
    assert err.value.status == 400 and "malformed input" in str(err.value)


def _doc(result) -> bytes:
    return json.dumps({"result": result}).encode()


@pytest.mark.parametrize(
    "status, body",
    [
        (200, b"<html>not json</html>"),
        (200, b"[1, 2]"),
        (200, _doc({"reason": "criteria_met", "approval": APPROVED_DOC["approval"]})),
        (200, _doc({"outcome": "approve", "reason": "criteria_met", "approval": APPROVED_DOC["approval"]})),
        (200, _doc({"outcome": "yes", "reason": "criteria_met"})),
        (200, _doc("approved")),
        (
            200,
            _doc(
                {"outcome": "approved", "reason": "criteria_met", "approval": {"start": "2026-11-30", "end": "later"}}
            ),
        ),
        (404, b'{"code": "not_found"}'),
        (302, b""),
    ],
)
def test_malformed_answers_are_unexpected_and_never_approvals(loopback, status, body):
    loopback.answer = (status, body)
    with RxRegoClient(loopback.url, retries=0) as c:
        with pytest.raises(UnexpectedResponse):
            c.decide(APPROVED)
        d = decide_or_pend(c, APPROVED)
        assert (d.outcome, d.approved) == ("pended", False)


def test_a_batch_of_the_wrong_length_is_unexpected(loopback):
    loopback.answer = (200, _doc([APPROVED_DOC]))
    with RxRegoClient(loopback.url, retries=0) as c:
        assert c.decide_many([APPROVED])[0].approved  # the length matches: fine
        with pytest.raises(UnexpectedResponse):
            c.decide_many([APPROVED, APPROVED])
        loopback.answer = (200, _doc(APPROVED_DOC))
        with pytest.raises(UnexpectedResponse):
            c.decide_many([APPROVED])


# --- decision logs ----------------------------------------------------------------------------


@pytest.mark.opa
def test_decision_log_has_id_revision_and_only_the_allow_listed_facts(sidecar, bundle_info, decision_log):
    one = dict(copy.deepcopy(APPROVED), patient={"birth_date": "1971-03-14", "id": "PAT-SECRET-77"})
    two = dict(copy.deepcopy(APPROVED), patient={"birth_date": "1969-07-20", "id": "PAT-SECRET-88"})
    r1 = requests.post(sidecar.url + DECISION_PATH, json={"input": one}, timeout=5).json()
    r2 = requests.post(sidecar.url + DECISIONS_PATH, json={"input": {"requests": [one, two]}}, timeout=5).json()
    ids = {r1["decision_id"], r2["decision_id"]}
    by_id = decision_entries(wait_for_lines(decision_log, lambda es: ids <= set(decision_entries(es))))
    assert ids <= set(by_id)

    single = by_id[r1["decision_id"]]
    assert single["path"] == "rxrego/decision"
    assert single["bundles"]["rxrego"]["revision"] == bundle_info.revision
    assert single["result"] == r1["result"] and single["result"]["outcome"] == "approved"
    assert single["input"] == logged_facts(one) == {
        "request_id": "req-approved-1", "request_type": "initial", "date_of_service": "2026-11-30", "drug": {"hcpcs": "J9229"},
    }  # fmt: skip
    assert single["masked"] == ["/input"] and "erased" not in single

    batch = by_id[r2["decision_id"]]
    assert batch["path"] == "rxrego/decisions"
    assert batch["input"] == {"requests": [logged_facts(one), logged_facts(two)]}
    assert batch["result"] == r2["result"]

    text = decision_log.read_text()
    for secret in ("1971-03-14", "1969-07-20", "PAT-SECRET-77", "PAT-SECRET-88", "C91.02", "b_cell_precursor"):
        assert secret not in text
    assert decision_log.stat().st_mode & 0o777 == 0o600


@pytest.mark.opa
def test_decision_logs_go_to_the_console_or_are_appended(bundle_info, work):
    console, other = io.StringIO(), io.StringIO()
    with Sidecar(bundle_info.path, decision_stream=console, log_stream=other) as sc:
        r = requests.post(sc.url + DECISION_PATH, json={"input": APPROVED}, timeout=5).json()
        deadline = time.monotonic() + 5
        while r["decision_id"] not in console.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = console.getvalue().splitlines()
    assert all("decision_id" in json.loads(line) for line in lines)  # OPA's other lines go to log_stream
    line = next(ln for ln in lines if r["decision_id"] in ln)
    assert json.loads(line)["input"] == logged_facts(APPROVED) and "1980-05-10" not in line
    assert "decision_id" not in other.getvalue()

    log = work / "appended.jsonl"
    log.write_text('{"decision_id": "from-before"}\n')
    log.chmod(0o644)
    with Sidecar(bundle_info.path, decision_log=log) as sc:
        r = requests.post(sc.url + DECISION_PATH, json={"input": APPROVED}, timeout=5).json()
        entries = wait_for_lines(log, lambda es: r["decision_id"] in decision_entries(es))
    assert entries[0] == {"decision_id": "from-before"}  # appended after what was there
    assert r["decision_id"] in decision_entries(entries)
    assert log.stat().st_mode & 0o777 == 0o600  # an existing log is made private too


# --- the commands -----------------------------------------------------------------------------


def _write(path: Path, doc) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.opa
def test_decide_locally_exit_status_by_outcome(rego_snapshot, work):
    runner = CliRunner()
    for name, req in CASES.items():
        result = runner.invoke(cli_main, ["decide", _write(work / f"{name}.json", req), "--rego", str(rego_snapshot)])
        assert result.exit_code == (0 if name == "approved" else 1), (name, result.output)
        assert result.output.startswith(EXPECTED[name][0].upper())
    approved = runner.invoke(cli_main, ["decide", str(work / "approved.json"), "--rego", str(rego_snapshot)])
    assert "2026-11-30 to 2027-02-28" in approved.output
    denied = runner.invoke(cli_main, ["decide", str(work / "denied.json"), "--rego", str(rego_snapshot)])
    assert "hepatic veno-occlusive disease" in denied.output
    pended = runner.invoke(cli_main, ["decide", str(work / "pended.json"), "--rego", str(rego_snapshot)])
    assert "send: prescriber.attestations.vod_monitoring" in pended.output


@pytest.mark.opa
def test_decide_errors_exit_2_without_a_traceback(rego_snapshot, work):
    runner = CliRunner()
    bad = work / "bad.json"
    bad.write_text('{"request_type": ')
    cases = [
        (["decide", str(work / "absent.json")], "no such file"),
        (["decide", str(bad), "--rego", str(rego_snapshot)], "not valid JSON"),
        (["decide", _write(work / "a.json", APPROVED), "--server", f"http://127.0.0.1:{free_port()}"], "no decision"),
        (["decide", str(work / "a.json"), "--rego", str(work / "no-rego")], "no such folder"),
    ]
    for args, message in cases:
        result = runner.invoke(cli_main, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.mark.opa
def test_decide_against_the_sidecar(sidecar, client, token_sidecar, work):
    runner = CliRunner()
    path = _write(work / "server.json", CASES["denied"])
    result = runner.invoke(cli_main, ["decide", path, "--server", sidecar.url, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == client.decide(CASES["denied"]).raw
    sc, token = token_sidecar
    token_file = work / "token"
    token_file.write_text(token + "\n")
    ok = runner.invoke(
        cli_main, ["decide", _write(work / "ok.json", APPROVED), "--server", sc.url, "--token-file", str(token_file)]
    )
    assert ok.exit_code == 0 and ok.output.startswith("APPROVED")
    refused = runner.invoke(cli_main, ["decide", str(work / "ok.json"), "--server", sc.url])
    assert refused.exit_code == 2 and "401" in refused.output


def _serve(bundle_path: Path, port: int, log: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, RXREGO_OPA=str(toolchain.opa().path))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rxrego.cli",
            "serve",
            "--bundle",
            str(bundle_path),
            "--port",
            str(port),
            "--decision-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        **popen,
    )


@pytest.mark.opa
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "Ctrl-C"])
def test_serve_runs_until_a_signal_and_exits_0(how, bundle_info, work, opa_path):
    port = free_port()
    log = work / f"serve-{how}.jsonl"
    # Ctrl-C: the terminal sends SIGINT to the whole process group, OPA included
    proc = _serve(bundle_info.path, port, log, start_new_session=(how == "Ctrl-C"))
    try:
        with RxRegoClient(f"http://127.0.0.1:{port}") as c:
            c.wait_until_ready(20)
            assert c.decide(APPROVED).approved
        if how == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(getattr(signal, how))
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert f"curl -s -X POST http://127.0.0.1:{port}/v1/data/rxrego/decision" in err
    # The sample query names a drug this bundle routes (an HCPCS code of its routing table),
    # on today's date.
    routed = bundle.read_json_member(bundle_info.path, "data.json")["rxrego"]["routing"]["routes"]["hcpcs"]
    sample = re.search(r'"date_of_service": "([0-9-]+)", "drug": \{"hcpcs": "([A-Z0-9]+)"\}', err)
    assert sample, err
    assert sample.group(1) == dt.date.today().isoformat() and sample.group(2) in routed, err
    assert bundle_info.revision in err
    with pytest.raises(requests.ConnectionError):  # OPA is gone with it
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
    assert wait_for_lines(log, lambda es: len(es) >= 1)


@pytest.mark.opa
def test_serve_exits_1_when_opa_dies(bundle_info, work, opa_path):
    port = free_port()
    proc = _serve(bundle_info.path, port, work / "serve-dies.jsonl")
    try:
        opa_pid = None
        deadline = time.monotonic() + 20
        while opa_pid is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"\(pid (\d+)\)", line)
            if m:
                opa_pid = int(m.group(1))
        assert opa_pid is not None
        os.kill(opa_pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert "OPA exited" in err and "Traceback" not in err


# --- waiting for activation: as long as OPA works on the bundle, with progress ------------


def test_the_wait_reports_progress_with_opas_cpu_and_memory(bundle_info):
    seen = []
    sc = Sidecar(bundle_info.path)
    sc.start()
    try:
        sc.wait_until_healthy(progress=lambda *p: seen.append(p), progress_every=0.0)
        assert sc.health()[0]
    finally:
        sc.stop()
    assert seen, "progress was never reported"
    elapsed, cpu, rss = seen[-1]
    assert elapsed >= 0 and cpu is not None and cpu >= 0 and rss is not None and rss > 1 << 20


def test_the_wait_gives_up_when_opa_does_no_work_and_never_gets_its_bundle():
    """A bundle server that accepts no connection: OPA idles, never healthy. The wait ends on
    the stall, not on a fixed timeout (there is none here), with OPA's state in the message."""
    import socket as socket_mod

    with socket_mod.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)  # connections queue, none is ever answered
        port = silent.getsockname()[1]
        config = {
            "services": {"silent": {"url": f"http://127.0.0.1:{port}"}},
            "bundles": {"rxrego": {"service": "silent", "resource": "bundle.tar.gz"}},
        }
        sc = Sidecar(None, config=config)
        sc.start()
        try:
            t0 = time.monotonic()
            with pytest.raises(SidecarError, match="did no work for 2s"):
                sc.wait_until_healthy(stall_seconds=2.0)
            assert time.monotonic() - t0 >= 2.0
        finally:
            sc.stop()
