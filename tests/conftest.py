"""Shared fixtures. Tests that need the real OPA binary use `opa_path` (or a fixture built
on it): with CI=true a missing OPA fails the test; elsewhere it skips, naming `make run`."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pytest

from rxrego import opa, toolchain

ROOT = Path(__file__).resolve().parent.parent
REGO = ROOT / "rego"
SPECS = ROOT / "policy_source"
EXAMPLES = ROOT / "tests" / "examples"
CASES = ROOT / "conformance"

# The checkout's tools folder, whatever folder a test runs commands in (tests lay out policy
# repositories of their own in temporary folders). `make` exports the same.
os.environ.setdefault("RXREGO_TOOLS", str(ROOT / ".tools"))
# The spec cache (rxrego.spec.cache) is off in tests unless a test turns it on for itself.
os.environ.pop("RXREGO_CACHE_DIR", None)


def items_by_link(q: dict) -> dict:
    """A FHIR Questionnaire's items, nested ones too, by linkId; a linkId given twice fails."""
    out: dict = {}

    def walk(items):
        for it in items:
            assert it["linkId"] not in out, f"duplicate linkId {it['linkId']}"
            out[it["linkId"]] = it
            walk(it.get("item", []))

    walk(q["item"])
    return out


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> Path:
    try:
        return toolchain.find(name).path
    except toolchain.ToolError as exc:
        if in_ci():
            pytest.fail(f"{name} is required in CI and is missing: {exc}")
        pytest.skip(f"{name} not available ({exc}); run `make run` to install the pinned tools")


@pytest.fixture(scope="session")
def opa_path() -> Path:
    return require_tool("opa")


@pytest.fixture(scope="session")
def regal_path() -> Path:
    return require_tool("regal")


@pytest.fixture(scope="session")
def decide_batch(opa_path):
    """Evaluate many requests against a Rego folder in ONE `opa eval` process."""

    def run(requests: list, rego_dir: Path = REGO) -> list:
        return opa.eval_batch(rego_dir, "data.rxrego.decisions", {"requests": requests})["value"]

    return run


# --- a stand-in for the sidecar, on loopback -----------------------------------------------


class _AnswerHandler(http.server.BaseHTTPRequestHandler):
    """Reads each POST whole, records its path, and answers with the server's answer."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.paths.append(self.path)
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Loopback(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 standing where the sidecar would be, used only to send
    what OPA would not (a body that breaks the decision contract, a 5xx) or to see whether a
    client sent anything at all. `answer` is the (status, body bytes) every POST gets (default
    200 and `{}`: undefined); `paths` lists the path of each POST received, in order; `url`
    is the base URL a client is given."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _AnswerHandler)
        self.answer: tuple[int, bytes] = (200, b"{}")
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def posts(self) -> int:
        """How many POSTs it has received."""
        return len(self.paths)


@pytest.fixture
def loopback():
    """A Loopback server, serving on its own thread for the test, then shut down."""
    server = Loopback()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


# --- figures: what passing tests print (counts, convergence times) reaches the log --------

_FIGURES: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    """Keep what a passing test printed: the figures the hostile-input, differential, fault
    and topology tests measure, which pytest would otherwise capture and drop."""
    if report.when == "call" and report.passed:
        for name, text in report.sections:
            if "stdout" in name and text.strip():
                _FIGURES.append((report.nodeid, text.strip()))


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("rxrego figures (printed by passing tests)")
    for nodeid, text in _FIGURES:
        terminalreporter.write_line(f"{nodeid}:")
        for line in text.splitlines():
            terminalreporter.write_line(f"    {line}")
