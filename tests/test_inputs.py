"""Every input path refuses what a decision must never rest on, by kind, not by example.

Kinds: duplicate JSON keys, numbers outside the accepted range (NaN/Infinity literals, huge
and tiny exponents, enormous integers), nesting deeper than requests_io.MAX_DEPTH; a client
call held by a server that trickles bytes; a QuestionnaireResponse that is not final, answers
another questionnaire or codes an answer in a foreign system; a rego/ that is stale or holds
files the generator did not write. Each is sent through the reader, the client (against a
real OPA sidecar or a loopback server), the CLI (exit 2, the field named, no traceback) and,
where a decision is involved, the real OPA: nothing is ever approved, nothing crashes OPA.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from conftest import EXAMPLES, REGO, SPECS
from rxrego import bundle, generate, opa, requests_io, toolchain
from rxrego.author.questionnaire import ResponseError, build_questionnaire, response_to_request
from rxrego.cli import main as cli_main
from rxrego.client import (
    DECISION_PATH,
    DECISIONS_PATH,
    InvalidRequest,
    RxRegoClient,
    SidecarUnavailable,
    decide_or_pend,
)
from rxrego.sidecar import Sidecar, free_port
from rxrego.spec.loader import load_spec, load_specs

BESPONSA = SPECS / "fep" / "5.21.100-besponsa.yaml"

APPROVABLE = {
    "request_id": "PA-IN-1",
    "request_type": "initial",
    "date_of_service": "2026-11-30",
    "patient": {"id": "P-1", "birth_date": "1979-04-02"},
    "drug": {"name": "Besponsa", "hcpcs": "J9229"},
    "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}],
    "biomarkers": {"CD22": "positive", "philadelphia_chromosome": "positive"},
    "prior_therapies": [
        {"agent": "dasatinib", "class": "tyrosine_kinase_inhibitor", "result": "failed"},
        {"agent": "hyper-CVAD", "class": "standard_chemotherapy", "result": "failed"},
    ],
    "prescriber": {
        "specialty": "hematology",
        "attestations": {
            "liver_tests_each_dose": True,
            "vod_monitoring": True,
            "no_alkylating_hsct_conditioning": True,
        },
    },
}

# Number literals out of the accepted range, as JSON text (Python cannot hold most of them).
BAD_NUMBERS = [
    "1e10000000",
    "1e1000000",
    "-1e10000000",
    "1e-10000000",
    "-1e-10000000",
    "1E+999",
    "1e16",
    "1e-16",
    "123456789012345678901234567890",
    "1" + "0" * 5000,
    "0.0000000000000000001",
]
NOT_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity"]


def text_with(request: dict, path: tuple, literal: str) -> str:
    """The request as JSON text with the value at `path` replaced by a raw literal."""
    doc = copy.deepcopy(request)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "@@LITERAL@@"
    return json.dumps(doc).replace('"@@LITERAL@@"', literal)


def deep_notes(levels: int) -> str:
    return json.dumps(APPROVABLE)[:-1] + ', "notes": ' + "[" * levels + "]" * levels + "}"


def duplicated(key_path: tuple, first: str, second: str) -> str:
    """APPROVABLE with the last key of `key_path` given twice in its object (first, then second)."""
    doc = copy.deepcopy(APPROVABLE)
    node = doc
    for key in key_path[:-1]:
        node = node[key]
    node[key_path[-1]] = "@@FIRST@@"
    text = json.dumps(doc)
    return text.replace('"@@FIRST@@"', f'{first}, "{key_path[-1]}": {second}')


# (name, JSON text, the field the refusal must name)
HOSTILE = [
    ("duplicate request_type", duplicated(("request_type",), '"initial"', '"renewal"'), "request_type"),
    (
        "duplicate nested key",
        duplicated(("prescriber", "attestations", "vod_monitoring"), "false", "true"),
        "prescriber.attestations.vod_monitoring",
    ),
    ("duplicate in a list entry", duplicated(("diagnoses", 0, "code"), '"Z00"', '"C91.02"'), "diagnoses[0].code"),
    *[
        (f"number {n[:20]}", text_with(APPROVABLE, ("prior_therapies", 1, "cycles"), n), "prior_therapies[1].cycles")
        for n in BAD_NUMBERS
    ],
    *[(f"literal {n}", text_with(APPROVABLE, ("patient", "weight"), n), "patient.weight") for n in NOT_JSON_NUMBERS],
    ("1,000 levels deep", deep_notes(1000), "notes[0][0]"),
    ("33 levels deep", deep_notes(32), "notes[0]"),
    ("lone surrogate", text_with(APPROVABLE, ("diagnoses", 0, "code"), '"C91\\ud800"'), "diagnoses[0].code"),
    ("lone low surrogate", text_with(APPROVABLE, ("patient", "id"), '"\\udc00P"'), "patient.id"),
    ("lone surrogate in a key", json.dumps(APPROVABLE)[:-1] + ', "notes": {"a\\ud800": 1}}', "notes"),
]


# --- the reader ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_reader_refuses_each_kind_naming_the_field(name, text, field):
    with pytest.raises(requests_io.RequestError) as err:
        requests_io.loads(text)
    assert err.value.field.startswith(field), (err.value.field, field)
    assert str(err.value)


def test_the_reader_keeps_what_is_within_the_bounds():
    ok = json.dumps(
        {
            **APPROVABLE,
            "notes": json.loads("[" * 30 + "]" * 30),
            "quantity": {"units": 1e15, "days_supply": 30},
            "labs": [{"value": 1e-15}, {"value": 0.0}, {"value": -0.0}, {"value": 999999999999999}],
        }
    )
    assert requests_io.loads(ok) == json.loads(ok)
    assert requests_io.loads(json.dumps(APPROVABLE)) == APPROVABLE
    # a complete surrogate pair is one character; a UTF-8 byte order mark is ignored (RFC 8259 8.1)
    assert requests_io.loads('{"x": "\\ud83d\\ude00"}') == {"x": "\U0001f600"}
    assert requests_io.loads(b"\xef\xbb\xbf" + json.dumps(APPROVABLE).encode()) == APPROVABLE
    assert requests_io.loads("\ufeff" + json.dumps(APPROVABLE)) == APPROVABLE
    # 32 levels counting the request itself (the bound), strings full of brackets are text
    assert requests_io.loads("[" * 32 + "]" * 32)
    assert requests_io.loads(json.dumps({"x": "[[[[" * 100, "y": '"{{{'}))["y"] == '"{{{'
    with pytest.raises(requests_io.RequestError):
        requests_io.loads("[" * 33 + "]" * 33)


def test_the_reader_names_line_and_column_of_text_errors():
    with pytest.raises(requests_io.RequestError) as err:
        requests_io.loads('{\n  "a": [1,\n}')
    assert (err.value.line, err.value.column) == (3, 1)
    deep = '{"a": 1,\n "b": ' + "[" * 40 + "]" * 40 + "}"
    with pytest.raises(requests_io.RequestError) as err:
        requests_io.loads(deep)
    assert err.value.line == 2 and err.value.field.startswith("b[0]")
    with pytest.raises(requests_io.RequestError, match="not UTF-8"):
        requests_io.loads(b'{"a": "\xff"}')
    with pytest.raises(requests_io.RequestError, match="at most"):
        requests_io.loads(b" " * (requests_io.MAX_REQUEST_BYTES + 1))


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"x": float("nan")}, "x"),
        ({"x": [float("inf")]}, "x[0]"),
        ({"q": {"units": 10**16}}, "q.units"),
        ({"q": {"units": -1e300}}, "q.units"),
        ({"labs": [{"value": 5e-324}]}, "labs[0].value"),
        ({"x": 10**5000}, "x"),
        ({"x": {1: 2}}, "x"),
        ({"x": object()}, "x"),
        ({"q": ["ok", "a\ud800b"]}, "q[1]"),
        ({"q": {"\udfffk": 1}}, "q"),
    ],
    ids=["nan", "inf", "10**16", "-1e300", "5e-324", "10**5000", "int key", "object", "surrogate", "surrogate key"],
)
def test_check_refuses_python_values_by_kind(value, field):
    with pytest.raises(requests_io.RequestError) as err:
        requests_io.check(value)
    assert err.value.field == field


def test_check_is_not_recursive():
    doc: list = []
    node = doc
    for _ in range(100_000):  # far past Python's recursion limit
        node.append([])
        node = node[0]
    with pytest.raises(requests_io.RequestError) as err:
        requests_io.check({"notes": doc})
    assert err.value.field.startswith("notes[0][0]")


# --- the CLI: exit 2, the field named, no traceback ---------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(cli_main, list(args), catch_exceptions=True)


@pytest.mark.opa
@pytest.mark.parametrize("command", ["decide", "explain"])
@pytest.mark.parametrize(("name", "text", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_decide_and_explain_refuse_with_exit_2_naming_the_field(command, name, text, field, tmp_path, opa_path):
    path = tmp_path / "request.json"
    path.write_text(text)
    result = _run(command, str(path), "--rego", str(REGO), *(["--specs", str(SPECS)] if command == "explain" else []))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{path}" in result.output and field in result.output, result.output


@pytest.mark.opa
def test_the_cli_still_decides_a_good_request(tmp_path, opa_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(APPROVABLE))
    assert _run("decide", str(path), "--rego", str(REGO)).exit_code == 0
    assert _run("explain", str(path), "--rego", str(REGO), "--specs", str(SPECS)).exit_code == 0


@pytest.mark.opa
def test_a_byte_order_mark_is_ignored_in_request_files(tmp_path, opa_path):
    """Editors on Windows start UTF-8 files with a BOM: JSON (file or stdin) and YAML alike."""
    bom = b"\xef\xbb\xbf"
    for name, text in [("bom.json", json.dumps(APPROVABLE)), ("bom.yaml", yaml.safe_dump(APPROVABLE))]:
        path = tmp_path / name
        path.write_bytes(bom + text.encode())
        result = _run("decide", str(path), "--rego", str(REGO), "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["outcome"] == "approved"
    result = CliRunner().invoke(
        cli_main, ["decide", "-", "--rego", str(REGO)], input=bom + json.dumps(APPROVABLE).encode()
    )
    assert result.exit_code == 0, result.output


def test_decide_names_an_unreachable_server_in_one_line(tmp_path):
    """A sidecar that is not there: exit 2, one line naming the URL and what to check."""
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(APPROVABLE))
    token = tmp_path / "token"
    token.write_text("t")
    result = CliRunner().invoke(
        cli_main, ["decide", str(path), "--server", url, "--token-file", str(token), "--timeout", "1"]
    )
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert url in lines[0] and "connection refused" in lines[0] and "rxrego serve" in lines[0], lines[0]
    for raw in ("Traceback", "urllib3", "HTTPConnection", "Max retries", "NewConnectionError"):
        assert raw not in result.output, result.output
    # the library's own message is as plain (the urllib3 detail stays in the exception chain)
    with RxRegoClient(url, timeout=1) as client, pytest.raises(SidecarUnavailable) as err:
        client.decide(APPROVABLE)
    assert str(err.value) == f"{url}{DECISION_PATH}: cannot connect: connection refused"
    assert err.value.__cause__ is not None


# --- the real OPA: numbers out of range never crash it and are invalid_request -------------------


@pytest.fixture(scope="module")
def all_rego(tmp_path_factory, opa_path) -> Path:
    """5.21.100 and the examples (quantity limits, labs), generated as `rxrego generate` would."""
    out = tmp_path_factory.mktemp("inputs") / "rego"
    generate.write(generate.build(load_specs([SPECS, EXAMPLES]), "policy_source/ and tests/examples/"), out)
    return out


def _approvable_for_examples() -> list[dict]:
    """One approvable request per example spec (they read quantity and lab values)."""
    return [
        {
            "request_id": "imatinib",
            "request_type": "initial",
            "date_of_service": "2026-06-15",
            "drug": {"ndc": "99999-0001-01"},
            "diagnoses": [{"code": "C92.1", "phase": "chronic"}],
            "biomarkers": {"BCR_ABL1": "positive"},
            "clinical_status": {"disease_progression": False, "unacceptable_toxicity": False},
            "prescriber": {"specialty": "hematology"},
            "concurrent_therapies": [],
            "quantity": {"units": 60, "days_supply": 30},
        },
        {
            "request_id": "ponatinib",
            "request_type": "initial",
            "date_of_service": "2026-06-15",
            "drug": {"ndc": "99999-0002-01"},
            "patient": {"birth_date": "1980-05-09", "sex": "male"},
            "diagnoses": [{"code": "C92.1"}],
            "biomarkers": {"T315I": "positive", "philadelphia_chromosome": "positive"},
            "prior_therapies": [
                {"agent": "imatinib", "class": "second_generation_tki", "result": "failed"},
                {"agent": "dasatinib", "class": "second_generation_tki", "result": "failed"},
            ],
            "prescriber": {"attestations": {"cardiovascular_assessment": True}},
            "clinical_status": {"arterial_occlusive_event": True, "disease_progression": False},
            "labs": [{"name": "alt", "value": 120, "unit": "U/L", "date": "2026-06-15"}],
        },
        {
            "request_id": "blinatumomab",
            "request_type": "initial",
            "date_of_service": "2026-04-15",
            "drug": {"name": "example blinatumomab"},
            "diagnoses": [{"code": "C910", "lineage": "b_cell_precursor"}],
            "biomarkers": {"CD19": "positive"},
            "prescriber": {"attestations": {"bsa_based_dosing": True}},
            "clinical_status": {"early_relapse": True, "prior_hsct": True, "unacceptable_toxicity": False},
            "labs": [{"name": "Mrd", "value": 0.1, "unit": "%", "date": "2026-02-14"}],
            "concurrent_therapies": [],
            "quantity": {"units": 28, "days_supply": 42},
        },
    ]


def _eval_text(rego: Path, query: str, text: str, tmp_path: Path) -> object:
    """`query`'s value with `text` as the input, from `opa eval` (its own process)."""
    path = tmp_path / "input.json"
    path.write_text(text)
    result = opa.run(["eval", "--format", "json", "--data", str(rego), "--input", str(path), query])
    assert "panic" not in result.stderr, result.stderr[:400]
    assert result.returncode == 0, f"OPA failed: {result.stderr[:400]}"
    return json.loads(result.stdout)["result"][0]["expressions"][0]["value"]


def _refused_whole(rego: Path, text: str, tmp_path: Path) -> bool:
    """True when `opa eval` refuses to read the input at all (v1.22.4: "number too big"),
    without a panic; False when it evaluates it."""
    path = tmp_path / "input.json"
    path.write_text(text)
    result = opa.run(["eval", "--format", "json", "--data", str(rego), "--input", str(path), "data.rxrego.decision"])
    assert "panic" not in result.stderr, result.stderr[:400]
    return result.returncode != 0 and "number too big" in result.stderr


class OpaServer:
    """The real `opa run --server` on a loopback port over a Rego folder: one OPA process
    (one compilation of every policy) for many inputs, each sent as the WHOLE input of its
    own query, as `opa eval --input` would read it, rather than one `opa eval` process an
    input. `log` holds OPA's own output (where a panic would show)."""

    def __init__(self, rego: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = log
        addr = self.url.removeprefix("http://")
        args = ["run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check", str(rego)]
        with log.open("wb") as out:
            self.proc = subprocess.Popen([str(toolchain.opa().path), *args], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + opa.timeout_for(rego)
        while True:
            assert self.proc.poll() is None, f"OPA exited: {log.read_text()[:400]}"
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "OPA's server did not become healthy"
            time.sleep(0.1)

    def post(self, path: str, body: str) -> requests.Response:
        """POST a body given as text (numbers as written, not as Python read them)."""
        answer = requests.post(self.url + path, data=body.encode(), timeout=60)
        assert answer.status_code != 500 and self.proc.poll() is None, answer.text[:400]
        return answer

    def value(self, query: str, text: str) -> object:
        """`query`'s value with `text` as the input (POST /v1/query)."""
        answer = self.post("/v1/query", '{"query": ' + json.dumps(f"x := {query}") + ', "input": ' + text + "}")
        assert answer.status_code == 200, f"OPA failed: {answer.text[:400]}"
        (result,) = answer.json()["result"]
        return result["x"]

    def refuses(self, text: str) -> bool:
        """True when OPA refuses to read `text` at all (v1.22.4: "number too big"); False
        when it decides it."""
        answer = self.post("/v1/data/rxrego/decision", '{"input": ' + text + "}")
        return answer.status_code == 400 and "number too big" in answer.text

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        assert "panic" not in self.log.read_text(errors="replace"), self.log.read_text(errors="replace")[:400]


@pytest.fixture(scope="module")
def all_rego_server(all_rego, tmp_path_factory):
    """An OpaServer over all_rego, for the module's tests."""
    server = OpaServer(all_rego, tmp_path_factory.mktemp("inputs-opa") / "opa.log")
    yield server
    server.stop()


# Literals OPA v1.22.4 reads (out of range all the same) and literals it refuses to read.
READ_BY_OPA = ["1E+999", "-1e-999", "1e16", "123456789012345678901234567890"]
NOT_READ_BY_OPA = ["1e10000000", "-1e-10000000", "1e-10000000"]


def _leaf_paths(doc, path=()):
    if isinstance(doc, dict) and doc:
        for k, v in doc.items():
            yield from _leaf_paths(v, (*path, k))
    elif isinstance(doc, list) and doc:
        for i, v in enumerate(doc):
            yield from _leaf_paths(v, (*path, i))
    else:
        yield path


@pytest.mark.opa
def test_out_of_range_numbers_anywhere_are_invalid_request_and_never_crash_opa(all_rego, all_rego_server, tmp_path):
    """Every leaf of approvable requests for 5.21.100 and the examples, replaced by each
    out-of-range literal OPA reads, in ONE batch (`opa eval`) and each alone (the whole input
    of its own query, to OPA's server): OPA answers every one, invalid_request naming exactly
    that field. The literals it does not read are refused whole by `opa eval`, never with a
    panic (OPA v1.20.2 panicked comparing them)."""
    requests_ = [APPROVABLE, *_approvable_for_examples()]
    texts, fields = [], []
    for request in requests_:
        for path in _leaf_paths(request):
            if not path:
                continue
            for literal in READ_BY_OPA:
                texts.append(text_with(request, path, literal))
                fields.append(requests_io.format_path(path))
    # pairs that hash alike in OPA (0.5 and 1e-999: both hash to 0): memoization compares them
    pair = copy.deepcopy(APPROVABLE)
    pair["diagnoses"] = [{**pair["diagnoses"][0], "x": 0.5}, {**pair["diagnoses"][0], "x": "@@"}]
    texts.append(json.dumps(pair).replace('"@@"', "1e-999"))
    fields.append("diagnoses[1].x")
    decisions = _eval_text(all_rego, "data.rxrego.decisions", '{"requests": [' + ",".join(texts) + "]}", tmp_path)
    assert len(decisions) == len(texts)
    for decision, field, text in zip(decisions, fields, texts, strict=True):
        assert decision["outcome"] == "invalid_request", text[:300]
        assert [e["field"] for e in decision["errors"]] == [field]
        assert "outside the accepted range" in decision["errors"][0]["message"]
    for text, field in list(zip(texts, fields, strict=True))[::7]:
        single = all_rego_server.value("data.rxrego.decision", text)
        assert single["outcome"] == "invalid_request" and single["errors"][0]["field"] == field
    for literal in NOT_READ_BY_OPA:
        text = text_with(APPROVABLE, ("patient", "weight"), literal)
        if not _refused_whole(all_rego, text, tmp_path):  # an OPA that reads it must answer invalid_request
            assert _eval_text(all_rego, "data.rxrego.decision", text, tmp_path)["outcome"] == "invalid_request"
    # the approvable requests themselves are still approved
    for request, decision in zip(
        requests_,
        all_rego_server.value("data.rxrego.decisions", json.dumps({"requests": requests_})),
        strict=True,
    ):
        assert decision["outcome"] == "approved", (request["request_id"], decision)
    print(f"out-of-range numbers: {len(texts)} requests, OPA answered all, 0 approved")


@pytest.mark.opa
@pytest.mark.parametrize("literal", ["1e1000", "-1e-5000", "1E+9999", *NOT_READ_BY_OPA])
def test_the_quantity_and_lab_tests_never_compare_a_number_not_plainly_written(all_rego_server, literal):
    """The lib's own guard, queried directly (the router answers before it is reached): a
    number whose text is not plain (an exponent of more than 3 digits) is never compared: a
    quantity holding one is invalid, a lab result holding one is unreadable (unknown). Where
    OPA refuses to read the number at all, nothing can compare it."""
    fact = '{"state": "present", "value": ' + literal + "}"
    labs = (
        '{"state": "present", "value": [{"name": "alt", "value": '
        + literal
        + ', "unit": "U/L", "date": "2026-06-01"}]}'
    )
    text = '{"a": ' + fact + ', "l": ' + labs + "}"
    if all_rego_server.refuses(text):
        assert literal in NOT_READ_BY_OPA, f"OPA refused {literal}, which v1.22.4 reads"
        return
    good = '{"state": "present", "value": 30}'
    limit = '{"max_units": 60, "per_days": 30, "max_days_supply": 30, "whole_units": false}'
    test = '{"names": {"alt"}, "comparison": "<=", "value": 120, "within_days": 30}'
    lab = f'data.rxrego.lib.lab_result(input.l, "2026-06-15", "", null, {test}, {{"u/l": 1}})'
    assert all_rego_server.value(f"data.rxrego.lib.quantity(input.a, {good}, {limit})", text) == "invalid"
    assert all_rego_server.value(f"data.rxrego.lib.quantity({good}, input.a, {limit})", text) == "invalid"
    assert all_rego_server.value(lab, text) == "unknown"


# --- the client and the real sidecar ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory, opa_path):
    work = tmp_path_factory.mktemp("inputs-sidecar")
    rego = work / "rego"
    shutil.copytree(REGO, rego)
    info = bundle.build(rego, work / "bundle.tar.gz")
    with Sidecar(info.path) as sc:
        yield sc


@pytest.mark.opa
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("patient", "weight", float("nan")), "patient.weight"),
        (("quantity", "units", float("inf")), "quantity.units"),
        (("notes", None, 10**20), "notes"),
        (("labs", None, [{"value": -1e300}]), "labs[0].value"),
        (("x", None, 1e-300), "x"),
    ],
    ids=["nan", "inf", "10**20", "-1e300", "1e-300"],
)
def test_the_client_refuses_before_sending_and_never_approves(sidecar, change, field):
    key, sub, value = change
    request = copy.deepcopy(APPROVABLE)
    if sub is None:
        request[key] = value
    else:
        request.setdefault(key, {})[sub] = value
    with RxRegoClient(sidecar.url, timeout=5) as client:
        assert client.decide(APPROVABLE).approved
        with pytest.raises(InvalidRequest) as err:
            client.decide(request)
        assert err.value.field == field and field in str(err.value)
        with pytest.raises(InvalidRequest) as err:
            client.decide_many([APPROVABLE, request])
        assert err.value.field == f"requests[1].{field}"
        pended = decide_or_pend(client, request)
        assert (pended.outcome, pended.approved, pended.errors[0].field) == ("pended", False, field)


@pytest.mark.opa
def test_deep_nesting_is_refused_by_the_client_and_answered_by_opa(sidecar):
    deep: list = []
    node = deep
    for _ in range(1000):
        node.append([])
        node = node[0]
    with RxRegoClient(sidecar.url, timeout=5) as client:
        with pytest.raises(InvalidRequest) as err:
            client.decide({**APPROVABLE, "notes": deep})
        assert err.value.field.startswith("notes[0][0]")
        assert decide_or_pend(client, {**APPROVABLE, "notes": deep}).outcome == "pended"


@pytest.mark.opa
@pytest.mark.parametrize("literal", [*READ_BY_OPA, *NOT_READ_BY_OPA])
def test_the_sidecar_answers_out_of_range_numbers_and_keeps_answering(sidecar, literal):
    """What a caller without the client (curl) sends. A number OPA reads: invalid_request
    naming the field, in a batch too (beside an in-range twin that hashes alike). One it does
    not read (v1.22.4: "number too big"): refused whole with an error status. Never a
    decision from it, never a dropped connection, and the sidecar stays healthy."""
    bad = text_with(APPROVABLE, ("patient", "weight"), literal)
    twin = json.dumps({**APPROVABLE, "patient": {**APPROVABLE["patient"], "weight": 0.5}})
    one = requests.post(sidecar.url + DECISION_PATH, data='{"input": ' + bad + "}", timeout=10)
    batch = requests.post(
        sidecar.url + DECISIONS_PATH, data='{"input": {"requests": [' + twin + "," + bad + "]}}", timeout=10
    )
    if literal in READ_BY_OPA:
        assert one.status_code == 200, one.text
        decision = one.json()["result"]
        assert decision["outcome"] == "invalid_request" and decision["errors"][0]["field"] == "patient.weight"
        assert batch.status_code == 200, batch.text
        assert [d["outcome"] for d in batch.json()["result"]] == ["approved", "invalid_request"]
    else:
        for r in (one, batch):
            assert r.status_code >= 400 and "result" not in r.json(), r.text
            assert "number too big" in r.text
    assert requests.get(sidecar.url + "/health?bundles", timeout=5).status_code == 200
    with RxRegoClient(sidecar.url, timeout=5) as client:
        assert client.decide(APPROVABLE).approved


# --- the client's deadline ------------------------------------------------------------------------


class Trickle:
    """A loopback server that answers every connection one byte every `pause` seconds: the
    status line itself ("head"), or full headers and then the body ("body")."""

    def __init__(self, mode: str, pause: float = 0.5) -> None:
        self.mode, self.pause = mode, pause
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(1 << 16)
            if self.mode == "body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            payload = b"HTTP/1.1 200 OK\r\n" if self.mode == "head" else b" " * 100
            for byte in payload * 100:
                if self._stop.wait(self.pause):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.mark.parametrize("mode", ["head", "body"])
def test_a_trickling_server_cannot_hold_a_call_past_its_deadline(mode):
    """timeout=1.0, retries=0: the deadline is 1 s; the server would take minutes. The bound
    is asserted loosely (3x), a correctness bound, not a benchmark."""
    server = Trickle(mode)
    try:
        client = RxRegoClient(server.url, timeout=1.0, retries=0)
        assert client.deadline == 1.0
        for call in (lambda: client.decide(APPROVABLE), lambda: client.decide_many([APPROVABLE])):
            t0 = time.monotonic()
            with pytest.raises(SidecarUnavailable, match="deadline"):
                call()
            assert time.monotonic() - t0 < 3 * client.deadline
        t0 = time.monotonic()
        pended = decide_or_pend(client, APPROVABLE)
        assert (pended.outcome, pended.approved) == ("pended", False)
        assert client.health() is False
        assert time.monotonic() - t0 < 2 * 3 * client.deadline
        # retries and their backoff count against the same deadline
        patient = RxRegoClient(server.url, timeout=1.0, retries=2, backoff=0.2)
        assert patient.deadline == 3.0
        t0 = time.monotonic()
        with pytest.raises(SidecarUnavailable):
            patient.decide(APPROVABLE)
        assert time.monotonic() - t0 < 3 * patient.deadline
        short = RxRegoClient(server.url, timeout=5.0, retries=2, deadline=0.5)
        t0 = time.monotonic()
        with pytest.raises(SidecarUnavailable, match=r"0\.5s deadline"):
            short.decide(APPROVABLE)
        assert time.monotonic() - t0 < 3 * 0.5
    finally:
        server.close()
    with pytest.raises(ValueError):
        RxRegoClient(server.url, deadline=0)


class Scripted:
    """A loopback HTTP server answering POSTs with the next (status, body) of a script."""

    def __init__(self, script: list[tuple[int, dict]]) -> None:
        import http.server

        outer = self
        self.script, self.hits = list(script), 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.hits += 1
                status, body = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


DENIED_DOC = {
    "result": {
        "outcome": "denied",
        "reason": "criteria_unmet",
        "unmet": [{"id": "x", "text": "X"}],
        "met": [],
        "missing": [],
        "criteria": {"x": "unmet"},
    }
}


def test_5xx_is_retried_within_the_deadline_and_4xx_never():
    server = Scripted([(503, {}), (502, {}), (200, DENIED_DOC)])
    try:
        with RxRegoClient(server.url, timeout=2.0, retries=2, backoff=0.01) as client:
            assert client.decide(APPROVABLE).outcome == "denied"
        assert server.hits == 3
    finally:
        server.close()
    server = Scripted([(503, {})])
    try:
        with (
            RxRegoClient(server.url, timeout=2.0, retries=2, backoff=0.01) as client,
            pytest.raises(SidecarUnavailable, match="503"),
        ):
            client.decide(APPROVABLE)
        assert server.hits == 3
    finally:
        server.close()
    server = Scripted([(400, {"code": "invalid_parameter", "message": "bad"})])
    try:
        with RxRegoClient(server.url, timeout=2.0, retries=2, backoff=0.01) as client, pytest.raises(InvalidRequest):
            client.decide(APPROVABLE)
        assert server.hits == 1
    finally:
        server.close()


# --- questionnaire-decide: only final responses to this questionnaire, codings in its systems --------


@pytest.fixture(scope="module")
def spec():
    return load_spec(BESPONSA)


def _response(q: dict, **changes) -> dict:
    """An approvable, completed response to `q` (its url|version), with top-level changes."""
    systems = {
        it["linkId"]: it["answerOption"][0]["valueCoding"]["system"]
        for it in _items(q["item"])
        if it.get("answerOption")
    }

    def coded(link, code):
        return {"linkId": link, "answer": [{"valueCoding": {"system": systems[link], "code": code}}]}

    def group(link, children):
        return {"linkId": link, "item": children}

    items = [
        {"linkId": "patient.birth_date", "answer": [{"valueDate": "1979-04-02"}]},
        group(
            "diagnoses",
            [
                {"linkId": "diagnoses.code", "answer": [{"valueString": "C91.02"}]},
                coded("diagnoses.lineage", "b_cell_precursor"),
                coded("diagnoses.disease_status", "relapsed"),
            ],
        ),
        coded("biomarkers.CD22", "positive"),
        coded("biomarkers.philadelphia_chromosome", "positive"),
        {"linkId": "prior_therapies.any", "answer": [{"valueBoolean": True}]},
        group(
            "prior_therapies",
            [
                {"linkId": "prior_therapies.agent", "answer": [{"valueString": "dasatinib"}]},
                coded("prior_therapies.class", "tyrosine_kinase_inhibitor"),
                coded("prior_therapies.result", "failed"),
            ],
        ),
        group(
            "prior_therapies",
            [
                {"linkId": "prior_therapies.agent", "answer": [{"valueString": "hyper-CVAD"}]},
                coded("prior_therapies.class", "standard_chemotherapy"),
                coded("prior_therapies.result", "failed"),
            ],
        ),
        *[
            {"linkId": f"prescriber.attestations.{a}", "answer": [{"valueBoolean": True}]}
            for a in ("liver_tests_each_dose", "vod_monitoring", "no_alkylating_hsct_conditioning")
        ],
    ]
    qr = {
        "resourceType": "QuestionnaireResponse",
        "id": "QR-IN",
        "status": "completed",
        "questionnaire": f"{q['url']}|{q['version']}",
        "item": items,
    }
    qr.update(changes)
    return {k: v for k, v in qr.items() if v is not None}


def _items(items):
    for it in items:
        yield it
        yield from _items(it.get("item", []))


def _foreign(qr: dict, link: str, system: str) -> dict:
    out = copy.deepcopy(qr)
    for it in _items(out["item"]):
        if it["linkId"] == link:
            it["answer"][0]["valueCoding"]["system"] = system
    return out


REFUSED_RESPONSES = {
    # name: (changes to the approvable response, or a function of it, words of the refusal)
    "entered-in-error": ({"status": "entered-in-error"}, "status is 'entered-in-error'"),
    "in-progress": ({"status": "in-progress"}, "status is 'in-progress'"),
    "stopped": ({"status": "stopped"}, "status is 'stopped'"),
    "no status": ({"status": None}, "status is absent"),
    "another questionnaire": (
        {"questionnaire": "https://other.example/fhir/Questionnaire/fep-5.21.100|x"},
        "not the questionnaire of fep-5.21.100",
    ),
    "another version": (
        lambda q: {"questionnaire": f"{q['url']}|sha256:0000000000000000"},
        "version sha256:0000000000000000",
    ),
    "no version": (lambda q: {"questionnaire": q["url"]}, "without a version"),
    "no questionnaire": ({"questionnaire": None}, "does not say which questionnaire"),
}


@pytest.mark.parametrize("name", sorted(REFUSED_RESPONSES), ids=str)
def test_only_final_responses_to_this_questionnaire_are_mapped(spec, name):
    q = build_questionnaire(spec)
    changes, words = REFUSED_RESPONSES[name]
    qr = _response(q, **(changes(q) if callable(changes) else changes))
    with pytest.raises(ResponseError, match=words):
        response_to_request(qr, spec, date_of_service="2026-11-30", request_type="initial")


def test_codings_count_only_in_the_offered_system(spec):
    q = build_questionnaire(spec)
    ok = response_to_request(_response(q), spec, date_of_service="2026-11-30", request_type="initial")
    assert ok["biomarkers"] == {"CD22": "positive", "philadelphia_chromosome": "positive"}
    assert (
        response_to_request(_response(q, status="amended"), spec, date_of_service="2026-11-30", request_type="initial")
        == ok
    )
    for link in ("biomarkers.CD22", "diagnoses.lineage", "prior_therapies.result"):
        for system in ("http://loinc.org", None):
            with pytest.raises(ResponseError, match=f"linkId '{link}'.*not the code system"):
                response_to_request(
                    _foreign(_response(q), link, system), spec, date_of_service="2026-11-30", request_type="initial"
                )
    coded_boolean = copy.deepcopy(_response(q))
    coded_boolean["item"][-1]["answer"] = [{"valueCoding": {"system": "http://snomed.info/sct", "code": "373066001"}}]
    # a yes/no question takes valueBoolean alone: a coded "yes" is refused, not read as a code
    with pytest.raises(ResponseError, match="a boolean question is answered with valueCoding; expected valueBoolean"):
        response_to_request(coded_boolean, spec, date_of_service="2026-11-30", request_type="initial")


@pytest.mark.opa
def test_questionnaire_decide_refuses_with_exit_2_and_never_decides(spec, tmp_path, opa_path):
    q = build_questionnaire(spec)
    args = ["--spec", str(BESPONSA), "--date-of-service", "2026-11-30", "--rego", str(REGO)]
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(_response(q)))
    assert _run("questionnaire-decide", str(ok), *args).exit_code == 0
    cases = {name: _response(q, **(c(q) if callable(c) else c)) for name, (c, _) in REFUSED_RESPONSES.items()}
    cases["foreign biomarker system"] = _foreign(_response(q), "biomarkers.CD22", "http://loinc.org")
    for name, qr in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(qr))
        result = _run("questionnaire-decide", str(path), *args, "--json")
        assert result.exit_code == 2, (name, result.output)
        assert "Traceback" not in result.output and '"outcome"' not in result.output, name
        assert str(path) in result.output, name
    dup = tmp_path / "dup.json"
    dup.write_text(
        json.dumps(_response(q)).replace('"status": "completed"', '"status": "entered-in-error", "status": "completed"')
    )
    result = _run("questionnaire-decide", str(dup), *args)
    assert result.exit_code == 2 and "status: the key is given 2 times" in result.output


# --- bundle and serve refuse a stale rego/ ----------------------------------------------------------


@pytest.fixture(scope="module")
def current_rego(tmp_path_factory, opa_path) -> Path:
    """A copy of rego/ that `rxrego bundle` accepts as what the specs generate (checked once
    here: every copy made from it below holds the same bytes)."""
    dest = tmp_path_factory.mktemp("current") / "rego"
    shutil.copytree(REGO, dest)
    out = dest.parent / "bundle.tar.gz"
    result = _run("bundle", "-o", str(out), "--rego", str(dest), "--specs", str(SPECS))
    assert result.exit_code == 0 and out.is_file(), result.output
    return dest


@pytest.fixture
def rego_copy(current_rego, tmp_path) -> Path:
    dest = tmp_path / "rego"
    shutil.copytree(current_rego, dest)
    return dest


STALE = {
    "hand edit": lambda rego: (rego / "rxrego" / "router.rego").write_text(
        (rego / "rxrego" / "router.rego").read_text() + "\n# edited\n"
    ),
    "stray data.json": lambda rego: (rego / "data.json").write_text('{"rxrego": {"routes": {}}}'),
    "stray binary": lambda rego: (rego / "rxrego" / "x.bin").write_bytes(b"\xff\xfe\x00"),
    "missing module": lambda rego: (rego / "rxrego" / "lib" / "lib.rego").unlink(),
}


@pytest.mark.opa
@pytest.mark.parametrize("kind", sorted(STALE), ids=str)
def test_bundle_and_serve_refuse_a_rego_folder_the_generator_did_not_write(kind, rego_copy, tmp_path):
    out = tmp_path / "bundle.tar.gz"
    STALE[kind](rego_copy)
    result = _run("bundle", "-o", str(out), "--rego", str(rego_copy), "--specs", str(SPECS))
    assert result.exit_code == 1, result.output
    assert "is not what" in result.output and not out.exists()
    served = _run("serve", "--rego", str(rego_copy), "--specs", str(SPECS), "--port", "1")
    assert served.exit_code == 1 and "is not what" in served.output
    if kind != "missing module":
        loud = _run("bundle", "-o", str(out), "--rego", str(rego_copy), "--specs", str(SPECS), "--allow-stale")
        assert loud.exit_code == 0 and "WARNING: --allow-stale" in loud.output and out.exists()
    assert _run("bundle", "-o", str(out), "--rego", str(rego_copy), "--specs", str(tmp_path / "none")).exit_code == 2
