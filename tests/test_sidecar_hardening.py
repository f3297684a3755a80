"""The sidecar under hostile requests, on the real `rxrego serve` machinery (Sidecar: the real
`opa run --server` on loopback, with a token and a decision-log file).

1. A request nested 1,000 levels deep (and its kin) is answered, and the sidecar keeps
   answering afterwards: OPA's output goes to a file, never through a pipe a reader could
   stop draining. A console follower that fails stops the sidecar (fail closed).
2. Bodies: a gzip bomb and an oversized body are refused by OPA before authentication and
   after it, fast, and OPA's memory stays bounded (its peak RSS, read from /proc).
3. Batches: `requests` must be a list of at most MAX_BATCH_REQUESTS; anything else is one
   invalid_request naming `requests`.
4. The decision log is an allow-list: random field names and PHI-looking values anywhere in a
   request (object-keyed batches included) never reach it; only the allow-listed facts do.
   The log file is 0600.
5. A number OPA cannot compare (1e10000000 against a quantity limit) is never an approval, and
   the sidecar keeps answering.
6. A request_id the client refuses (not a string, or over MAX_REQUEST_ID_CHARS) is
   invalid_request naming `request_id` over HTTP too, not echoed and not logged.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import secrets
import string
import time
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rxrego.client.answer as client_answer
from rxrego import bundle, limits
from rxrego import generate as gen
from rxrego.client import InvalidRequest, RxRegoClient, SidecarUnavailable, decide_or_pend
from rxrego.sidecar import Sidecar
from rxrego.spec.loader import load_specs
from test_client_sidecar import APPROVED, bearer, decision_entries, logged_facts, wait_for_lines

ROOT = Path(__file__).resolve().parent.parent
DECISION = "/v1/data/rxrego/decision"
DECISIONS = "/v1/data/rxrego/decisions"
# A policy with a quantity limit (tests/examples), beside the real ones.
IMATINIB = {
    "request_id": "req-imatinib",
    "request_type": "initial",
    "date_of_service": "2026-11-30",
    "drug": {"name": "example imatinib"},
    "quantity": {"units": 30, "days_supply": 30},
}


def opa_memory(pid: int) -> dict[str, int]:
    """OPA's resident memory now and at its peak, in KiB (/proc/<pid>/status)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


@pytest.fixture(scope="module")
def hardened(opa_path, tmp_path_factory):
    """A sidecar with a token and a decision-log file, serving the real policies and the
    examples (one of which has a quantity limit)."""
    work = tmp_path_factory.mktemp("hardening")
    rego = work / "rego"
    gen.write(gen.build(load_specs([str(ROOT / "policy_source"), str(ROOT / "tests" / "examples")]), "specs/"), rego)
    info = bundle.build(rego, work / "bundle.tar.gz")
    token = secrets.token_urlsafe(24)
    log = work / "decisions.jsonl"
    with Sidecar(info.path, token=token, decision_log=log) as sc:
        yield sc, token, log


def post(
    sc: Sidecar, token: str | None, path: str, body: bytes | str, headers: dict | None = None, timeout: float = 10
):
    h = {"Content-Type": "application/json", **(bearer(token) if token else {}), **(headers or {})}
    return requests.post(sc.url + path, data=body, headers=h, timeout=timeout)


def keeps_answering(sc: Sidecar, token: str, n: int = 20) -> None:
    """n decisions in a row, each answered (approved, as it must be) within the client's timeout."""
    with RxRegoClient(sc.url, token=token, timeout=5.0, retries=0) as c:
        for _ in range(n):
            assert c.decide(APPROVED).approved
    assert sc.health()[0] and sc.failure is None


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


# --- 1. nesting, and the log pipeline ---------------------------------------------------------


@pytest.mark.opa
def test_a_deeply_nested_request_is_answered_and_the_sidecar_keeps_answering(hardened):
    sc, token, log = hardened
    base = json.dumps({"input": APPROVED})[:-2]
    kin = {
        "array 1,000": nested(1000),
        "object 1,000": '{"a":' * 1000 + "1" + "}" * 1000,
        "array 5,000": nested(5000),
        "mixed 2,000": '[{"a":' * 1000 + "1" + "}]" * 1000,
    }
    for name, value in kin.items():
        r = post(sc, token, DECISION, base + ', "notes": ' + value + "}}")
        assert r.status_code == 200, (name, r.text[:200])
        assert r.json()["result"]["outcome"] == "approved", name  # the notes are not read
    # beyond OPA's JSON depth bound: refused as a bad body, never decided
    r = post(sc, token, DECISION, base + ', "notes": ' + nested(100_000) + "}}")
    assert r.status_code == 400 and "depth" in r.json()["message"]
    keeps_answering(sc, token, 25)
    entries = decision_entries(wait_for_lines(log, lambda es: len(decision_entries(es)) >= 4))
    assert all("notes" not in json.dumps(e["input"]) for e in entries.values())


class _BrokenConsole(io.StringIO):
    """A console that stops accepting writes after the first decision-log entry."""

    def __init__(self) -> None:
        super().__init__()
        self.entries = 0

    def write(self, s: str) -> int:
        if self.entries >= 1:
            raise OSError(5, "the console went away")
        if s.endswith("\n"):
            self.entries += 1
        return super().write(s)


@pytest.mark.opa
def test_a_console_that_fails_stops_the_sidecar_rather_than_serving_unlogged(hardened):
    sc0, _, _ = hardened
    console = _BrokenConsole()
    with Sidecar(sc0.bundle, decision_stream=console) as sc, RxRegoClient(sc.url, timeout=2.0, retries=0) as c:
        assert c.decide(APPROVED).approved  # logged to the console
        nest = json.dumps({"input": APPROVED})[:-2] + ', "notes": ' + nested(1000) + "}}"
        requests.post(sc.url + DECISION, data=nest, timeout=5)  # its entry cannot be written
        deadline = time.monotonic() + 10
        while sc.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not sc.running and "follower failed" in sc.failure and "console went away" in sc.failure
        healthy, why = sc.health()
        assert not healthy and why == sc.failure
        with pytest.raises(SidecarUnavailable):
            c.decide(APPROVED)
        assert decide_or_pend(c, APPROVED).outcome == "pended"
    assert console.getvalue().count("\n") == 1


@pytest.mark.opa
def test_the_console_gets_whole_entries_and_opa_lines_apart(hardened):
    sc0, _, _ = hardened
    console, other = io.StringIO(), io.StringIO()
    with Sidecar(sc0.bundle, decision_stream=console, log_stream=other) as sc:
        nest = json.dumps({"input": APPROVED})[:-2] + ', "notes": ' + nested(1000) + "}}"
        ids = [requests.post(sc.url + DECISION, data=nest, timeout=5).json()["decision_id"] for _ in range(3)]
        batch = json.dumps({"input": {"requests": [APPROVED] * 50}})
        ids.append(requests.post(sc.url + DECISIONS, data=batch, timeout=10).json()["decision_id"])
    lines = console.getvalue().splitlines()
    entries = {json.loads(line)["decision_id"]: json.loads(line) for line in lines}  # every line whole JSON
    assert set(ids) <= set(entries)
    assert entries[ids[-1]]["input"] == {"requests": [logged_facts(APPROVED)] * 50}
    assert "decision_id" not in other.getvalue()


# --- 2. bodies ----------------------------------------------------------------------------------

BOMB_INFLATED = 100 * 1024 * 1024


@pytest.mark.opa
def test_bombs_and_oversized_bodies_are_refused_fast_before_and_after_authentication(hardened):
    sc, token, log = hardened
    bomb = gzip.compress(b'{"input": {"notes": "' + b"a" * BOMB_INFLATED + b'"}}', 9)
    before = opa_memory(sc.pid)
    big = b'{"input": {"notes": "' + b"a" * (limits.MAX_BODY_BYTES + 1) + b'"}}'
    figures = []
    for who, tok in (("no token", None), ("wrong token", token + "x"), ("token", token)):
        t0 = time.monotonic()
        r = post(sc, tok, DECISION, bomb, headers={"Content-Encoding": "gzip"})
        figures.append(f"gzip bomb ({who}): {r.status_code} in {time.monotonic() - t0:.3f} s")
        # OPA v1.22 names the limit that refused the body (v1.20: "gzip payload too large")
        assert r.status_code == 400 and r.json()["message"] == (
            f"request body too large: decompressed size exceeds limit of {limits.MAX_DECOMPRESSED_BYTES} bytes (server.decoding.gzip.max_length)"
        ), (who, r.text[:200])
        r = post(sc, tok, DECISION, big)
        assert r.status_code == 400 and r.json()["message"].startswith("request body too large: "), (who, r.text[:200])
        assert r.json()["message"].endswith(
            f"exceeds limit of {limits.MAX_BODY_BYTES} bytes (server.decoding.max_length)"
        ), (who, r.text[:200])

        # no Content-Length (chunked): OPA stops reading at the bound and refuses the rest
        def chunks():
            yield b'{"input": {"notes": "'
            for _ in range(limits.MAX_BODY_BYTES // 65536 + 2):
                yield b"a" * 65536
            yield b'"}}'

        r = requests.post(
            sc.url + DECISION,
            data=chunks(),
            headers={"Content-Type": "application/json", **(bearer(tok) if tok else {})},
            timeout=10,
        )
        assert r.status_code == 400, (who, r.status_code, r.text[:200])
        assert "result" not in r.text
    after = opa_memory(sc.pid)
    grew_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(f"\n{len(bomb)} B gzip inflating to {BOMB_INFLATED >> 20} MiB: " + "; ".join(figures))
    print(
        f"OPA peak RSS {before['VmHWM'] >> 10} MiB before, {after['VmHWM'] >> 10} MiB after ({grew_mib:.0f} MiB more)"
    )
    # Without the limits the bomb alone took OPA to about 1 GB; with them the growth is a few
    # copies of the bound at most.
    assert grew_mib < 16 * (limits.MAX_DECOMPRESSED_BYTES >> 20), after
    keeps_answering(sc, token, 3)
    assert max(len(line) for line in log.read_bytes().splitlines()) < limits.MAX_BODY_BYTES


# --- 3. batches ---------------------------------------------------------------------------------


@pytest.mark.opa
@pytest.mark.parametrize(
    "requests_, message",
    [
        ({"a/b": APPROVED, "0": APPROVED}, "required: a list of requests"),
        ({}, "required: a list of requests"),
        ("[]", "required: a list of requests"),
        (None, "required: a list of requests"),
        (7, "required: a list of requests"),
        ([{"request_type": "initial", "date_of_service": "2026-11-30", "drug": {"hcpcs": "J0000"}}] * (limits.MAX_BATCH_REQUESTS + 1),
         f"at most {limits.MAX_BATCH_REQUESTS} requests per batch, not {limits.MAX_BATCH_REQUESTS + 1}"),
    ],
    ids=["object-keyed", "empty-object", "string", "null", "number", "one-too-many"],
)  # fmt: skip
def test_a_batch_must_be_a_bounded_list(hardened, requests_, message):
    sc, token, _ = hardened
    r = post(sc, token, DECISIONS, json.dumps({"input": {"requests": requests_, "request_id": "batch-1"}}))
    assert r.status_code == 200
    assert r.json()["result"] == {
        "outcome": "invalid_request",
        "reason": "invalid_request",
        "errors": [{"field": "requests", "message": message}],
        "request_id": "batch-1",
    }


@pytest.mark.opa
def test_a_batch_at_the_bound_is_decided_and_the_client_refuses_more(hardened):
    sc, token, _ = hardened
    cheap = {"request_type": "initial", "date_of_service": "2026-11-30", "drug": {"hcpcs": "J0000"}}  # no policy
    r = post(sc, token, DECISIONS, json.dumps({"input": {"requests": [cheap] * limits.MAX_BATCH_REQUESTS}}), timeout=60)
    assert [d["outcome"] for d in r.json()["result"]] == ["no_policy"] * limits.MAX_BATCH_REQUESTS
    with RxRegoClient(sc.url, token=token) as c:
        from rxrego.client import InvalidRequest

        with pytest.raises(InvalidRequest, match=f"at most {limits.MAX_BATCH_REQUESTS}"):
            c.decide_many([cheap] * (limits.MAX_BATCH_REQUESTS + 1))
        assert [d.approved for d in c.decide_many([APPROVED, cheap])] == [True, False]


# --- 4. the decision log is an allow-list -----------------------------------------------------

PHI = st.one_of(
    st.from_regex(r"\A[0-9]{3}-[0-9]{2}-[0-9]{4}\Z"),  # SSN-shaped
    st.from_regex(r"\A\([0-9]{3}\) [0-9]{3}-[0-9]{4}\Z"),  # phone
    st.from_regex(r"\A19[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])\Z"),  # a birth date
    st.from_regex(r"\AMBR[0-9]{9}\Z"),  # a member id
    st.builds(
        lambda a, b: f"{a} {b}",
        st.sampled_from(["Jane", "John", "Maria", "Wei"]),
        st.sampled_from(["Roe", "Doe", "Okafor", "Zhang"]),
    ),
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "ssn",
            "name",
            "dob",
            "birthDate",
            "address",
            "phone",
            "member_id",
            "notes",
            "npi",
            "a/b",
            "~1",
            "",
            "patient",
            "drug",
            "0",
        ]
    ),
    st.text(string.ascii_letters + "/~._-", min_size=1, max_size=12),
)


@st.composite
def phi_requests(draw):
    """(a request carrying PHI-looking values in places the mask must drop, the values)."""
    secrets_: list[str] = []

    def phi() -> str:
        value = draw(PHI) + "-" + secrets.token_hex(3)  # unique, so a hit in the log is this value
        secrets_.append(value)
        return value

    def junk(depth: int = 0):
        kind = draw(st.sampled_from(["phi", "obj", "list"] if depth < 3 else ["phi"]))
        if kind == "phi":
            return phi()
        if kind == "obj":
            return {draw(KEYS): junk(depth + 1) for _ in range(draw(st.integers(1, 3)))}
        return [junk(depth + 1) for _ in range(draw(st.integers(1, 3)))]

    req = copy.deepcopy(APPROVED)
    req["patient"] = {"birth_date": phi(), "id": phi(), draw(KEYS): junk()}
    for _ in range(draw(st.integers(1, 4))):
        key = draw(KEYS)
        if key not in logged_facts(req) and key not in ("request_id", "request_type", "date_of_service", "drug"):
            req[key] = junk()
    req["drug"][draw(st.sampled_from(["lot", "sig", "ndc_note"]))] = phi()  # extra drug keys are dropped
    spot = draw(st.sampled_from(["none", "request_type", "date_of_service", "request_id_number", "drug_hcpcs_object"]))
    if spot == "request_type":
        req["request_type"] = phi()  # not initial or renewal: dropped
    elif spot == "date_of_service":
        req["date_of_service"] = "on " + phi()  # not shaped as a date: dropped
    elif spot == "request_id_number":
        req["request_id"] = {"mrn": phi()}  # not a string: dropped
    elif spot == "drug_hcpcs_object":
        req["drug"]["hcpcs"] = {"code": phi()}
    return req, secrets_


FUZZ = {"sent": 0}


@pytest.mark.opa
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_decision_log_keeps_only_the_allow_listed_facts(hardened, data):
    sc, token, log = hardened
    shape = data.draw(st.sampled_from(["single", "batch", "object-keyed batch"]))
    reqs = [data.draw(phi_requests()) for _ in range(1 if shape == "single" else data.draw(st.integers(1, 3)))]
    all_secrets = [s for _, ss in reqs for s in ss]
    if shape == "single":
        doc = {"input": reqs[0][0]}
        path = DECISION
    elif shape == "batch":
        doc = {"input": {"requests": [r for r, _ in reqs]}}
        path = DECISIONS
    else:
        doc = {"input": {"requests": {data.draw(KEYS) + str(i): r for i, (r, _) in enumerate(reqs)}}}
        path = DECISIONS
    answer = post(sc, token, path, json.dumps(doc)).json()
    FUZZ["sent"] += 1
    did = answer["decision_id"]
    entry = decision_entries(wait_for_lines(log, lambda es: did in decision_entries(es)))[did]
    if shape == "single":
        assert entry["input"] == logged_facts(reqs[0][0])
        assert answer["result"]["outcome"] in ("approved", "denied", "pended", "invalid_request", "no_policy")
    elif shape == "batch":
        assert entry["input"] == {"requests": [logged_facts(r) for r, _ in reqs]}
    else:
        assert entry["input"] == {}
        assert answer["result"]["outcome"] == "invalid_request"
        assert answer["result"]["errors"] == [{"field": "requests", "message": "required: a list of requests"}]
    line = json.dumps(entry)
    leaked = [s for s in all_secrets if s in line]
    assert leaked == [], leaked
    assert log.stat().st_mode & 0o777 == 0o600


@pytest.mark.opa
def test_after_the_fuzz_the_whole_log_holds_no_request_value_but_the_allowed(hardened):
    """The file as a whole (every entry and every OPA line) against every request value the
    module sent that is not an allow-listed fact."""
    sc, token, log = hardened
    marker = "PHI-" + secrets.token_hex(8)
    odd = dict(
        copy.deepcopy(APPROVED), **{"a/b": marker, "~0": [marker], "patient": {"dob": marker, "birthDate": marker}}
    )
    for body in (
        {"input": odd},
        {"input": {"requests": [odd, odd]}},
        {"input": {"requests": {"a/b": odd}}},
        {"input": marker},
        {"input": [odd]},
    ):
        post(sc, token, DECISIONS if "requests" in str(body)[:20] else DECISION, json.dumps(body))
    time.sleep(0.3)
    assert marker not in log.read_text(encoding="utf-8")
    assert log.stat().st_mode & 0o777 == 0o600


# --- 5. numbers OPA cannot compare -------------------------------------------------------------


@pytest.mark.opa
@pytest.mark.parametrize("number", ["1e10000000", "-1e10000000", "1e-10000000"])
def test_a_number_opa_cannot_compare_is_never_approved_and_the_sidecar_survives(hardened, number):
    """OPA v1.20.2 panics comparing such a number (ast.NumberCompare: "illegal value") and
    Go's HTTP server drops the connection; OPA v1.22.4 refuses it as it reads the input
    (500 "invalid number: number too big"). The request must end as invalid_request naming
    the field, as that drop, or as that refusal: each of the last two the client reports as
    unavailable and decide_or_pend pends. Never an approval, and the sidecar answers on."""
    sc, token, log = hardened
    body = json.dumps({"input": IMATINIB}).replace('"days_supply": 30', f'"days_supply": {number}')
    assert number in body
    try:
        r = post(sc, token, DECISION, body)
    except requests.ConnectionError:
        # the drop is not silent: OPA wrote why beside the decision log
        deadline = time.monotonic() + 5
        while "http: panic serving" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "http: panic serving" in log.read_text(errors="replace")
    else:
        doc = r.json()
        if r.status_code == 500:
            assert "result" not in doc and doc["message"] == "invalid number: number too big", doc
            with pytest.raises(SidecarUnavailable):  # what the client makes of it: no decision
                client_answer.result_of(sc.url + DECISION, r.status_code, r.text)
        else:
            result = doc["result"]
            assert result["outcome"] == "invalid_request", result
            assert any(e["field"].startswith("quantity") for e in result["errors"]), result
    # the same request kept whole decides as before
    with RxRegoClient(sc.url, token=token, timeout=5.0, retries=0) as c:
        assert c.decide(IMATINIB).outcome == "pended"
    keeps_answering(sc, token, 20)


# --- 6. request_id: the sidecar refuses what the client refuses --------------------------------

LONGEST_ID = "x" * limits.MAX_REQUEST_ID_CHARS


@pytest.mark.opa
@pytest.mark.parametrize(
    "request_id",
    [12345, 1.5, True, ["PA-1"], {"case": "PA-1"}, LONGEST_ID + "x", "PA-" + "9" * 2000],
    ids=["integer", "decimal", "boolean", "list", "object", "one-too-long", "2003-characters"],
)
def test_a_request_id_the_client_refuses_is_invalid_over_http_and_not_logged(hardened, request_id):
    sc, token, log = hardened
    request = dict(copy.deepcopy(APPROVED), request_id=request_id)
    # the client refuses it before sending, naming the field ...
    with RxRegoClient(sc.url, token=token, timeout=5.0, retries=0) as c, pytest.raises(InvalidRequest) as refused:
        c.decide(request)
    assert refused.value.field == "request_id"
    # ... and the sidecar, sent it over HTTP, answers invalid_request naming the same field,
    # alone or in a batch, echoing nothing and logging no request_id
    single = post(sc, token, DECISION, json.dumps({"input": request})).json()
    batch = post(sc, token, DECISIONS, json.dumps({"input": {"requests": [APPROVED, request]}})).json()
    refusal = {
        "outcome": "invalid_request",
        "reason": "invalid_request",
        "errors": [
            {
                "field": "request_id",
                "message": f"expected a string of at most {limits.MAX_REQUEST_ID_CHARS} characters: an opaque case number",
            }
        ],
    }
    assert single["result"] == refusal
    assert batch["result"][0]["outcome"] == "approved"
    assert batch["result"][1] == refusal
    entries = decision_entries(
        wait_for_lines(log, lambda es: {single["decision_id"], batch["decision_id"]} <= set(decision_entries(es)))
    )
    assert "request_id" not in entries[single["decision_id"]]["input"]
    assert entries[batch["decision_id"]]["input"]["requests"][1] == logged_facts(request)
    assert "request_id" not in logged_facts(request)


@pytest.mark.opa
def test_a_request_id_at_the_bound_is_decided_echoed_and_logged(hardened):
    sc, token, log = hardened
    request = dict(copy.deepcopy(APPROVED), request_id=LONGEST_ID)
    with RxRegoClient(sc.url, token=token, timeout=5.0, retries=0) as c:
        assert c.decide(request).request_id == LONGEST_ID
    answer = post(sc, token, DECISION, json.dumps({"input": request})).json()
    assert answer["result"]["outcome"] == "approved"
    assert answer["result"]["request_id"] == LONGEST_ID
    did = answer["decision_id"]
    entry = decision_entries(wait_for_lines(log, lambda es: did in decision_entries(es)))[did]
    assert entry["input"]["request_id"] == LONGEST_ID
