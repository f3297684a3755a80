"""`RxRegoClient`: the thin HTTP client for the OPA sidecar's data API.

Retries: urllib3 `Retry` on the session's adapter retries connection errors (refused, reset
before the request was sent, connect timeout) and 502/503/504, with exponential backoff
(`backoff * 2**(n-1)` seconds, the first retry immediate). Read errors and read timeouts are
not retried, so a hung sidecar costs one `timeout`; 4xx answers are never retried. Evaluating
a decision has no side effects, which is why POST may be retried at all. Worst case a call
takes about `(retries + 1) * timeout` plus the backoff sleeps, when every connect attempt
times out; against a stopped loopback process it fails at once (connection refused).

Threads: one client may be shared by any number of threads. requests does not promise that a
Session is thread-safe (its cookie jar and adapter table are shared mutable state), so each
thread gets its own Session (created on first use, kept in a thread-local); all of them share
nothing but the client's immutable configuration. A lock guards only the registry that
`close()` uses to close every thread's session.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..limits import MAX_BATCH_REQUESTS
from .decision import Decision
from .errors import (
    DecisionUndefined,
    InvalidRequest,
    RxRegoError,
    SidecarUnavailable,
    Unauthorized,
    UnexpectedResponse,
)

DECISION_PATH = "/v1/data/rxrego/decision"
DECISIONS_PATH = "/v1/data/rxrego/decisions"
HEALTH_PATH = "/health?bundles"
RETRY_STATUSES = (502, 503, 504)


class RxRegoClient:
    """Decisions from an rxrego OPA sidecar.

    >>> with RxRegoClient("http://127.0.0.1:8181") as client:
    ...     decision = client.decide(request)
    ...     if decision.approved: ...

    Every method either returns a Decision that OPA produced (validated against the decision
    contract) or raises a subclass of RxRegoError; none of them ever invents an approval.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.1,
        token: str | None = None,
        verify: bool = True,
        ca_bundle: str | None = None,
        cert: str | tuple[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port], not {base_url!r}")
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError("timeout must be > 0, retries and backoff >= 0")
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("the token must be non-empty and contain no whitespace")
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self._token = token
        self._verify: bool | str = str(ca_bundle) if ca_bundle else verify
        self._cert = cert
        self._local = threading.local()
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"RxRegoClient({self.base_url!r}, timeout={self.timeout}, retries={self.retries}, token={'set' if self._token else None})"

    # --- sessions ------------------------------------------------------------------------

    def _new_session(self) -> requests.Session:
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=0,
            redirect=0,
            status=self.retries,
            other=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),
            backoff_factor=self.backoff,
            raise_on_status=False,  # the last 5xx response comes back and is mapped below
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=4)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self._verify
        session.cert = self._cert
        session.trust_env = False  # no proxy or netrc from the environment for a sidecar
        session.headers.update({"Accept": "application/json", "User-Agent": "rxrego-client"})
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        return session

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            with self._lock:
                if self._closed:
                    raise RxRegoError("the client is closed")
                session = self._new_session()
                self._sessions.add(session)
            self._local.session = session
        return session

    def close(self) -> None:
        """Close every thread's session; the client cannot be used afterwards."""
        with self._lock:
            self._closed = True
            sessions = list(self._sessions)
            self._sessions = weakref.WeakSet()
        for s in sessions:
            s.close()

    def __enter__(self) -> RxRegoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the API -------------------------------------------------------------------------

    def decide(self, request: dict) -> Decision:
        """The decision for one request (POST /v1/data/rxrego/decision)."""
        return Decision.from_dict(self._query(DECISION_PATH, request))

    def decide_many(self, requests: Iterable[Any]) -> list[Decision]:
        """The decisions for many requests, in order, in ONE round trip
        (POST /v1/data/rxrego/decisions with input {"requests": [...]}). InvalidRequest,
        without a round trip, for more than rxrego.limits.MAX_BATCH_REQUESTS requests (the
        sidecar would answer invalid_request): split such a batch."""
        batch = list(requests)
        if len(batch) > MAX_BATCH_REQUESTS:
            raise InvalidRequest(f"requests: at most {MAX_BATCH_REQUESTS} requests per batch, not {len(batch)}")
        result = self._query(DECISIONS_PATH, {"requests": batch})
        if not isinstance(result, list) or len(result) != len(batch):
            got = f"{len(result)} item(s)" if isinstance(result, list) else type(result).__name__
            raise UnexpectedResponse(f"expected a list of {len(batch)} decision(s), got {got}")
        return [Decision.from_dict(d) for d in result]

    def health(self) -> bool:
        """True when OPA is up and its bundle is activated (GET /health?bundles is 200)."""
        return self._health_status(self.timeout) == 200

    def wait_until_ready(self, timeout: float) -> None:
        """Return once health() is true; SidecarUnavailable after `timeout` seconds,
        Unauthorized at once if the sidecar refuses the token."""
        deadline = time.monotonic() + timeout
        last: int | str | None = None
        while True:
            remaining = deadline - time.monotonic()
            last = self._health_status(max(0.05, min(self.timeout, remaining)))
            if last == 200:
                return
            if last in (401, 403):
                raise Unauthorized(f"{self.base_url} refused the token for /health", status=last)
            if time.monotonic() >= deadline:
                raise SidecarUnavailable(f"{self.base_url} was not ready within {timeout:g}s (last: {last})")
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    # --- transport -----------------------------------------------------------------------

    def _health_status(self, timeout: float) -> int | str:
        try:
            return self._session().get(self.base_url + HEALTH_PATH, timeout=timeout).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    def _query(self, path: str, input_doc: Any) -> Any:
        """POST {"input": input_doc} to `path`; the "result" of a 200, or a typed error."""
        try:
            body = json.dumps({"input": input_doc}, allow_nan=False, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidRequest(f"the request is not JSON-serialisable: {exc}") from exc
        url = self.base_url + path
        try:
            resp = self._session().post(
                url, data=body, headers={"Content-Type": "application/json"}, timeout=(self.timeout, self.timeout)
            )
        except requests.Timeout as exc:
            raise SidecarUnavailable(f"{url}: no answer within {self.timeout:g}s ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise SidecarUnavailable(f"{url}: {_reason(exc)}") from exc
        status = resp.status_code
        text = resp.text
        if status == 200:
            try:
                doc = resp.json()
            except ValueError as exc:
                raise UnexpectedResponse(f"{url}: 200 with a body that is not JSON", status=status, body=text[:500]) from exc
            if not isinstance(doc, dict):
                raise UnexpectedResponse(f"{url}: 200 with a body that is not a JSON object", status=status, body=text[:500])
            if "result" not in doc:
                raise DecisionUndefined(
                    f"{url}: the decision is undefined (is the rxrego bundle loaded and activated?)",
                    status=status,
                    body=text[:500],
                )
            return doc["result"]
        message = _opa_message(text)
        if status == 400:
            raise InvalidRequest(f"{url}: OPA rejected the request: {message}", status=status, body=text[:500])
        if status in (401, 403):
            raise Unauthorized(f"{url}: {status} {message}", status=status, body=text[:500])
        if status >= 500:
            raise SidecarUnavailable(f"{url}: {status} {message}", status=status, body=text[:500])
        raise UnexpectedResponse(f"{url}: unexpected status {status}: {message}", status=status, body=text[:500])


def decide_or_pend(client: RxRegoClient, request: dict) -> Decision:
    """A fail-closed decision: the sidecar's, or on any RxRegoError a `pended` Decision with
    reason "decision_unavailable" and the error in `errors`. Never an approval by default."""
    try:
        return client.decide(request)
    except RxRegoError as exc:
        return Decision.unavailable(exc, request)


def _opa_message(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "(empty body)"
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        code = doc.get("code")
        return f"{code}: {doc['message']}" if code else doc["message"]
    return text.strip()[:200]


def _reason(exc: requests.RequestException) -> str:
    return f"cannot connect ({type(exc).__name__}: {exc})"
