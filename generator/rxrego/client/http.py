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

import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .answer import (
    DECISION_PATH,
    DECISIONS_PATH,
    HEALTH_PATH,
    RETRY_STATUSES,
    batch_result,
    check_batch,
    check_settings,
    request_body,
    result_of,
)
from .decision import Decision
from .errors import RxRegoError, SidecarUnavailable, Unauthorized


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
        self.base_url = check_settings(base_url, timeout, retries, backoff, token)
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
        batch = check_batch(requests)
        result = batch_result(self._query(DECISIONS_PATH, {"requests": batch}), len(batch))
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
        """POST {"input": input_doc} to `path`; the "result" of a 200, or a typed error
        (rxrego.client.answer.result_of)."""
        body = request_body(input_doc)
        url = self.base_url + path
        try:
            resp = self._session().post(
                url, data=body, headers={"Content-Type": "application/json"}, timeout=(self.timeout, self.timeout)
            )
        except requests.Timeout as exc:
            raise SidecarUnavailable(f"{url}: no answer within {self.timeout:g}s ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise SidecarUnavailable(f"{url}: {_reason(exc)}") from exc
        return result_of(url, resp.status_code, resp.text)


def decide_or_pend(client: RxRegoClient, request: dict) -> Decision:
    """A fail-closed decision: the sidecar's, or on any RxRegoError a `pended` Decision with
    reason "decision_unavailable" and the error in `errors`. Never an approval by default."""
    try:
        return client.decide(request)
    except RxRegoError as exc:
        return Decision.unavailable(exc, request)


def _reason(exc: requests.RequestException) -> str:
    return f"cannot connect ({type(exc).__name__}: {exc})"
