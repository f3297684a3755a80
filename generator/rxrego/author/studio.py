"""`rxrego studio`: a local web page where a policy author tries requests without writing JSON.

Pick a policy, fill in the request as a form generated from the spec (the items of the FHIR
Questionnaire `rxrego questionnaire` emits, with its enableWhen logic), and see the decision
and the criteria tree change as you type, beside the policy as `rxrego render` lays it out.
A filled form can be saved as a golden case in the policy's case file.

Every decision comes from OPA, the real engine: the studio generates Rego from the specs into
a private folder (so it is never stale), bundles it and runs `opa run --server` on loopback
through `rxrego.sidecar.Sidecar`. The form's answers travel as a FHIR QuestionnaireResponse
and are mapped to a PA request by `questionnaire.response_to_request`, the same mapping
`rxrego questionnaire-decide` uses. When a spec file changes on disk the studio reloads the
specs, regenerates and swaps in a new OPA before the next decision (the old one serves until
the new one is healthy).

The HTTP side is Python's `http.server`, bound to 127.0.0.1 only; requests whose Host header
is not the loopback address are refused (no DNS rebinding), and the JSON API takes only
`Content-Type: application/json` (a cross-site form cannot post it without the browser asking
first). The page is server-rendered HTML with one small script and one stylesheet, shipped as
package data; no build step, nothing fetched from elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jinja2
import requests
from markupsafe import Markup, escape

from .. import bundle as bundle_mod
from .. import generate as gen
from .. import requests_io
from ..sidecar import HOST, Sidecar, SidecarError
from ..spec import model as m
from ..spec.errors import SpecError
from ..spec.loader import find_specs
from . import casefile
from .common import InputError, combinator_phrase, describe_test, versions_of
from .explain import ROOT_STATUS, fact_lines, find_version
from .fresh import load_spec_folder
from .questionnaire import ResponseError, build_questionnaire, needs, response_to_request
from .render import render

LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_BODY = 1024 * 1024
STATIC = {"studio.js": "text/javascript; charset=utf-8", "studio.css": "text/css; charset=utf-8"}


class StudioError(RuntimeError):
    """The studio cannot serve: the specs have errors, OPA is missing or would not start."""


# --- the engine: specs, generated Rego and OPA ---------------------------------------------------


def _fingerprint(specs_dir: Path) -> tuple:
    """What changes when a spec file is edited, added or removed (path, mtime, size)."""
    out = []
    for p in find_specs([specs_dir]) if specs_dir.exists() else ():
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


class Engine:
    """The specs under `specs_dir` and an OPA sidecar serving Rego generated from them.

    `refresh()` reloads when a spec file changed (by mtime and size) and is cheap otherwise;
    `decide(request)` asks OPA (POST /v1/data/rxrego/decision) and returns the decision
    document (a dict). While the specs have errors, `errors` lists them (file:line:column
    messages) and `decide` raises StudioError; the last good OPA is stopped so that no
    decision comes from Rego that no longer matches the specs.
    """

    def __init__(self, specs_dir: Path, *, timeout: float = 10.0):
        self.specs_dir = Path(specs_dir)
        self.timeout = timeout
        self.specs: list[m.PolicySpec] = []
        self.errors: list[str] = []
        self.sidecar: Sidecar | None = None
        self._seen: tuple | None = None
        self._lock = threading.RLock()
        self._session = requests.Session()
        self._session.trust_env = False  # loopback: never through a proxy

    def refresh(self) -> None:
        with self._lock:
            seen = _fingerprint(self.specs_dir)
            if seen == self._seen:
                return
            try:
                specs = load_spec_folder(self.specs_dir)
            except InputError as exc:
                self.errors = str(exc).splitlines()
                self._stop()
                self._seen = seen
                return
            self._start(specs)  # raises (and is retried next time) when OPA will not start
            self.specs, self.errors, self._seen = specs, [], seen

    def _start(self, specs: list[m.PolicySpec]) -> None:
        """Generate, bundle and start a new OPA; only then stop the old one."""
        with tempfile.TemporaryDirectory(prefix="rxrego-studio-") as tmp:
            rego = Path(tmp) / "rego"
            gen.write(gen.build(specs, gen.project_label(self.specs_dir) + "/"), rego)
            try:
                info = bundle_mod.build(rego, Path(tmp) / "bundle.tar.gz")
            except bundle_mod.BundleError as exc:
                raise StudioError(str(exc)) from exc
            sidecar = Sidecar(info.path)  # copies the bundle into its own folder
            try:
                sidecar.__enter__()
            except SidecarError as exc:
                raise StudioError(f"OPA did not start: {exc}") from exc
        old, self.sidecar = self.sidecar, sidecar
        if old is not None:
            old.stop()

    def _stop(self) -> None:
        if self.sidecar is not None:
            self.sidecar.stop()
            self.sidecar = None

    def spec(self, policy_id: str) -> m.PolicySpec | None:
        return next((s for s in self.specs if s.id == policy_id), None)

    def decide(self, request: object) -> dict:
        self.refresh()
        with self._lock:
            if self.sidecar is None:
                raise StudioError("the specs have errors, so nothing is decided until they are fixed")
            url = f"{self.sidecar.url}/v1/data/rxrego/decision"
        try:
            resp = self._session.post(url, json={"input": request}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StudioError(f"OPA did not answer: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise StudioError(f"OPA answered {resp.status_code}: {resp.text[:300]}")
        result = resp.json().get("result")
        if not isinstance(result, dict):
            raise StudioError("OPA has no decision for this request (data.rxrego.decision is undefined)")
        return result

    def close(self) -> None:
        with self._lock:
            self._stop()
        self._session.close()


# --- the page -----------------------------------------------------------------------------------


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rxrego", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson_attr"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)
    return env


def item_sets(spec: m.PolicySpec) -> dict[str, list[str]]:
    """Top-level questionnaire linkId -> the requirement sets that need its fact."""
    out = {}
    for key, uses in needs(spec).items():
        sets = list(dict.fromkeys(n.set_name for n in uses))
        links = [f"{key}.any", key] if key in ("prior_therapies", "concurrent_therapies") else [key]
        if key == "quantity":
            links = ["quantity.units", "quantity.days_supply"]
        for link in links:
            out[link] = sets
    return out


def page_html(engine: Engine, policy_id: str | None, today: dt.date | None = None) -> str:
    """The studio page: the policy picker, and for the chosen policy the form, the decision
    panel and the rendered policy (an iframe of /render?policy=ID)."""
    spec = engine.spec(policy_id) if policy_id else None
    if spec is None and engine.specs and not policy_id:
        spec = engine.specs[0]
    questionnaire = build_questionnaire(spec) if spec else None
    dos = max((today or dt.date.today()).isoformat(), spec.effective_date) if spec else ""
    return (
        _env()
        .get_template("studio.html.j2")
        .render(
            specs=engine.specs,
            spec=spec,
            asked=policy_id,
            errors=engine.errors,
            items=questionnaire["item"] if questionnaire else [],
            sets=item_sets(spec) if spec else {},
            set_titles=[(r.name, r.title) for r in spec.requirements] if spec else [],
            date_of_service=dos,
        )
    )


def _status_class(status: str) -> str:
    return f"st-{status}" if status in ("met", "unmet", "unknown") else "st-other"


def tree_html(spec: m.PolicySpec, rs: m.RequirementSet, decision: dict, request: object) -> Markup:
    """The criteria tree of the set applied: one <li data-criterion=ID class="st-STATUS"> per
    node, with the policy's words, what a leaf checks and the request facts it read."""
    statuses = decision.get("criteria") or {}
    parts: list[str] = []

    def node(cid: str) -> None:
        c = spec.criterion(cid)
        status = str(statuses.get(cid, "?"))
        parts.append(
            f'<li class="node {_status_class(status)}" data-criterion="{escape(cid)}" data-status="{escape(status)}">'
            f'<span class="badge">{escape(status)}</span> <span class="text">{escape(c.text)}</span> <code>{escape(cid)}</code>'
        )
        t = c.test
        if isinstance(t, m.Kind):
            parts.append(f'<div class="checks">checks: {escape(describe_test(spec, t))}</div>')
            facts = fact_lines(spec, t, request)
            if facts:
                parts.append('<div class="facts">' + "<br>".join(str(escape(f)) for f in facts) + "</div>")
        elif isinstance(t, m.Conditional):
            parts.append('<div class="lead">when ALL of these hold:</div><ul>')
            for w in t.when:
                node(w)
            parts.append('</ul><div class="lead">then ALL of these are required:</div><ul>')
            for x in t.then:
                node(x)
            parts.append("</ul>")
        else:
            parts.append(f'<div class="lead">{escape(combinator_phrase(t))}:</div><ul>')
            for x in c.children:
                node(x)
            parts.append("</ul>")
        parts.append("</li>")

    root = ROOT_STATUS.get(str(decision.get("outcome")), "?")
    parts.append(
        f'<ul class="tree"><li class="node root {_status_class(root)}"><span class="badge">{escape(root)}</span> <span class="text">{escape(rs.title)}</span><ul>'
    )
    for cid in rs.root.children:
        node(cid)
    parts.append("</ul></li></ul>")
    return Markup("".join(parts))


def decision_view(engine: Engine, decision: dict, request: object) -> dict:
    """What the page shows for a decision: the decision, the request, and the tree (HTML)."""
    tree = ""
    policy = decision.get("policy")
    if decision.get("outcome") in ROOT_STATUS and isinstance(policy, dict):
        spec = find_version(engine.specs, policy)
        rs = spec.requirement_set(str(decision.get("request_type"))) if spec else None
        if spec is not None and rs is not None:
            tree = str(tree_html(spec, rs, decision, request))
    return {"decision": decision, "request": request, "tree_html": tree}


# --- the API ------------------------------------------------------------------------------------


class ApiError(Exception):
    """A bad API call; the message is shown on the page."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


def _request_from_form(engine: Engine, body: dict) -> tuple[m.PolicySpec, dict]:
    engine.refresh()
    if engine.errors:
        raise ApiError("the specs have errors: " + "; ".join(engine.errors[:3]), HTTPStatus.CONFLICT)
    spec = engine.spec(str(body.get("policy")))
    if spec is None:
        raise ApiError(f"no policy {body.get('policy')!r} among the specs")
    request_type = body.get("request_type")
    if request_type not in {r.name for v in versions_of(spec) for r in v.requirements}:
        raise ApiError(f"request_type must be one of the policy's requirement sets, not {request_type!r}")
    dos = body.get("date_of_service")
    if not isinstance(dos, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", dos):
        raise ApiError("date of service: give a date (YYYY-MM-DD)")
    try:
        # The studio's own form, answered as it is typed: not a final response (final=False).
        request = response_to_request(
            body.get("response") or {}, spec, date_of_service=dos, request_type=request_type, final=False
        )
    except ResponseError as exc:
        raise ApiError(str(exc)) from None
    return spec, request


def api_decide(engine: Engine, body: dict) -> dict:
    _, request = _request_from_form(engine, body)
    try:
        decision = engine.decide(request)
    except StudioError as exc:
        raise ApiError(str(exc), HTTPStatus.SERVICE_UNAVAILABLE) from None
    return decision_view(engine, decision, request)


def api_save_case(engine: Engine, body: dict, cases_dir: Path) -> dict:
    """Decide the form, then append it to the policy's case file as a case expecting that
    decision (outcome, reason, and the unmet / missing criteria or the approval period)."""
    spec, request = _request_from_form(engine, body)
    try:
        decision = engine.decide(request)
    except StudioError as exc:
        raise ApiError(str(exc), HTTPStatus.SERVICE_UNAVAILABLE) from None
    expect = casefile.expectation(decision)
    try:
        saved = casefile.append_case(
            cases_dir,
            spec,
            engine.specs_dir,
            name=str(body.get("name", "")).strip(),
            proves=str(body.get("proves", "")).strip(),
            request=request,
            expect=expect,
        )
    except InputError as exc:
        raise ApiError(str(exc)) from None
    return {"file": saved.as_posix(), "name": body.get("name"), "expect": expect}


# --- HTTP ------------------------------------------------------------------------------------------


def _static(name: str) -> bytes:
    return resources.files("rxrego.author").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # `format`: the parameter name of the base class
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return name in ("127.0.0.1", "localhost", "[::1]")

    def _send(self, status: HTTPStatus, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if ctype.startswith("text/html"):
            self.send_header(
                "Content-Security-Policy",
                "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'; form-action 'none'",
            )
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: HTTPStatus, doc: object) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def handle_one_request(self) -> None:
        """A bug while answering becomes a 500 naming it, not a traceback on the terminal."""
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # the last line of defence of a long-running server
            self.close_connection = True
            if self.server.log is not None:
                self.server.log(f"error answering {getattr(self, 'path', '?')}: {type(exc).__name__}: {exc}")
            with contextlib.suppress(OSError):
                self._json(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"error": f"the studio failed (please report): {type(exc).__name__}: {exc}"},
                )

    def do_GET(self) -> None:  # the method name http.server dispatches to
        if not self._host_ok():
            self._send(HTTPStatus.FORBIDDEN, b"loopback only", "text/plain; charset=utf-8")
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        engine = self.server.engine
        try:
            engine.refresh()
        except (StudioError, gen.GenerateError, SpecError) as exc:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, str(exc).encode("utf-8"), "text/plain; charset=utf-8")
            return
        if url.path == "/":
            policy = query["policy"][0] if query.get("policy") else None
            self._send(HTTPStatus.OK, page_html(engine, policy).encode("utf-8"), "text/html; charset=utf-8")
        elif url.path == "/render":
            spec = engine.spec((query.get("policy") or [""])[0])
            if spec is None:
                self._send(HTTPStatus.NOT_FOUND, b"no such policy", "text/plain; charset=utf-8")
                return
            self._send(HTTPStatus.OK, render(spec, "html", notes=True).encode("utf-8"), "text/html; charset=utf-8")
        elif url.path.startswith("/static/") and url.path[len("/static/") :] in STATIC:
            name = url.path[len("/static/") :]
            self._send(HTTPStatus.OK, _static(name), STATIC[name])
        elif url.path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        elif url.path == "/health":
            self._json(
                HTTPStatus.OK, {"specs": len(engine.specs), "errors": engine.errors, "opa": engine.sidecar is not None}
            )
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if not self._host_ok():
            self._send(HTTPStatus.FORBIDDEN, b"loopback only", "text/plain; charset=utf-8")
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send application/json"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"the body must be 1 to {MAX_BODY} bytes"})
            return
        try:
            body = requests_io.loads(self.rfile.read(length))  # duplicate keys, numbers, depth
        except requests_io.RequestError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"the body is refused: {exc}", "field": exc.field})
            return
        if not isinstance(body, dict):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
            return
        path = urlsplit(self.path).path
        try:
            if path == "/api/decide":
                self._json(HTTPStatus.OK, api_decide(self.server.engine, body))
            elif path == "/api/cases":
                with self.server.save_lock:
                    self._json(HTTPStatus.OK, api_save_case(self.server.engine, body, self.server.cases_dir))
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        except ApiError as exc:
            self._json(exc.status, {"error": str(exc)})
        except (StudioError, gen.GenerateError) as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, engine: Engine, cases_dir: Path, log):
        super().__init__(address, _Handler)
        self.engine = engine
        self.cases_dir = cases_dir
        self.log = log
        self.save_lock = threading.Lock()


@dataclass
class Studio:
    """The studio on http://127.0.0.1:PORT (PORT 0: the OS picks a free one).

        with Studio(Path("policy_source"), Path("conformance")) as studio:
            print(studio.url)        # serving in a background thread until the block ends

    `start()` loads the specs, generates Rego, starts OPA and the HTTP server (raising
    StudioError when the specs have errors or OPA will not start); `serve_forever()` serves
    in the calling thread; `stop()` stops the server and OPA.
    """

    specs_dir: Path
    cases_dir: Path
    host: str = HOST
    port: int = 0
    log: object = None  # a callable taking one line, or None for silence

    def __post_init__(self) -> None:
        if self.host not in LOOPBACK:
            raise StudioError(f"the studio listens on loopback only (127.0.0.1), not {self.host}")
        self.engine = Engine(Path(self.specs_dir))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> Studio:
        self.engine.refresh()
        if self.engine.errors:
            errors = "\n".join(self.engine.errors)
            self.engine.close()
            raise StudioError(errors)
        try:
            self._server = _Server((self.host, self.port), self.engine, Path(self.cases_dir), self.log)
        except OSError as exc:
            self.engine.close()
            raise StudioError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        return self

    def serve_forever(self) -> None:
        assert self._server is not None, "not started"
        self._server.serve_forever(poll_interval=0.25)

    def shutdown(self) -> None:
        """Ask `serve_forever` to return (from another thread or a signal handler)."""
        if self._server is not None:
            threading.Thread(target=self._server.shutdown, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=10)
                self._thread = None
            self._server.server_close()
            self._server = None
        self.engine.close()

    def __enter__(self) -> Studio:
        self.start()
        self._thread = threading.Thread(target=self.serve_forever, name="rxrego-studio", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_cases_dir(specs_dir: Path) -> Path:
    """conformance/ beside the specs folder."""
    return Path(os.path.normpath(Path(specs_dir).parent / "conformance"))
