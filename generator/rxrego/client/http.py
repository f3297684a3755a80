"""`RxRegoClient`: the thin HTTP client for the OPA sidecar's data API.

Deadline: every call (`decide`, `decide_many`, `health`) has a total deadline, `deadline`
seconds (default `(retries + 1) * timeout`) from the moment it starts, covering connecting,
sending, reading, every retry and every backoff sleep. `timeout` still bounds each connect
and each wait for bytes; the deadline bounds the whole, so a server that trickles a byte
every half second cannot hold a call longer than the deadline. It is enforced by a watchdog
timer that shuts down the sockets the call is using when the deadline passes (the blocked
read then ends at once), and by checking the time left before each attempt and sleep.

Retries (the client's own loop, so they count against the deadline): connection errors
before the request was sent (refused, connect timeout, name resolution) and 502/503/504
answers, with exponential backoff (`backoff * 2**(n-1)` seconds, the first retry
immediate). Read errors and read timeouts are not retried, so a hung sidecar costs one
`timeout`; 4xx answers are never retried. Evaluating a decision has no side effects, which
is why POST may be retried at all. Against a stopped loopback process a call fails at once
(connection refused).

Requests are checked before they are sent (`rxrego.requests_io.check`): a number outside the
accepted range, NaN or an infinity, nesting deeper than `requests_io.MAX_DEPTH` or a value
that is not JSON raises InvalidRequest naming the field, and nothing is sent.

Threads: one client may be shared by any number of threads. requests does not promise that a
Session is thread-safe (its cookie jar and adapter table are shared mutable state), so each
thread gets its own Session (created on first use, kept in a thread-local); all of them share
nothing but the client's immutable configuration. A lock guards only the registry that
`close()` uses to close every thread's session.
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .answer import (
    DECISION_PATH,
    DECISIONS_PATH,
    HEALTH_PATH,
    RETRY_STATUSES,
    backoff_seconds,
    batch_result,
    check_batch,
    check_request,
    check_settings,
    request_body,
    result_of,
)
from .decision import Decision
from .errors import RxRegoError, SidecarUnavailable, Unauthorized

# --- the deadline: a watchdog that shuts down the sockets of a call that ran out of time ------


class _Call:
    """One call's deadline, and the connections it has used (shut down when it passes)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._conns: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, conn: HTTPConnection) -> None:
        with self._lock:
            if self.expired:
                _shut(conn)
            elif conn not in self._conns:
                self._conns.append(conn)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            conns, self._conns = self._conns, []
        for conn in conns:
            _shut(conn)

    @contextmanager
    def active(self) -> Iterator[None]:
        """While inside, connections this thread uses are watched and the watchdog runs."""
        self._timer = threading.Timer(max(0.0, self.remaining()), self._expire)
        self._timer.daemon = True
        self._timer.start()
        _CURRENT.call = self
        try:
            yield
        finally:
            _CURRENT.call = None
            self._timer.cancel()
            with self._lock:
                self._conns = []


_CURRENT = threading.local()


def _shut(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # a blocked recv() returns at once


if TYPE_CHECKING:
    _WatchedBase = HTTPConnection  # the mixin is only ever combined with an urllib3 connection
else:
    _WatchedBase = object


class _Watched(_WatchedBase):
    """Registers the connection with the calling thread's _Call on every use."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        call = getattr(_CURRENT, "call", None)
        if call is not None:
            call.watch(self)
        return super().request(*args, **kwargs)

    def connect(self) -> None:
        super().connect()
        call = getattr(_CURRENT, "call", None)
        if call is not None:
            call.watch(self)  # shut at once if the deadline passed while connecting


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Adapter(HTTPAdapter):
    """requests' adapter with pools whose connections the deadline watchdog can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class RxRegoClient:
    """Decisions from an rxrego OPA sidecar.

    >>> with RxRegoClient("http://127.0.0.1:8181") as client:
    ...     decision = client.decide(request)
    ...     if decision.approved: ...

    Every method either returns a Decision that OPA produced (validated against the decision
    contract) or raises a subclass of RxRegoError; none of them ever invents an approval.

    timeout: seconds for each connect and each wait for bytes; retries: extra attempts after
    a connection error or a 502/503/504; backoff: seconds, doubled each retry; deadline:
    seconds a whole call may take, retries and sleeps included (default
    `(retries + 1) * timeout`); a call that runs out raises SidecarUnavailable.
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
        deadline: float | None = None,
    ) -> None:
        self.base_url = check_settings(base_url, timeout, retries, backoff, token, deadline)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.deadline = float(deadline) if deadline is not None else (self.retries + 1) * self.timeout
        self._token = token
        self._verify: bool | str = str(ca_bundle) if ca_bundle else verify
        self._cert = cert
        self._local = threading.local()
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"RxRegoClient({self.base_url!r}, timeout={self.timeout}, retries={self.retries}, "
            f"deadline={self.deadline}, token={'set' if self._token else None})"
        )

    # --- sessions ------------------------------------------------------------------------

    def _new_session(self) -> requests.Session:
        # No urllib3 retries: the client's own loop retries, within the deadline.
        adapter = _Adapter(max_retries=0, pool_connections=1, pool_maxsize=4)
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
        """The decision for one request (POST /v1/data/rxrego/decision).

        InvalidRequest, before anything is sent, for a request `requests_io.check` refuses
        (a number out of range, nesting too deep, a value that is not JSON), naming the field.
        """
        check_request(request)
        return Decision.from_dict(self._query(DECISION_PATH, request))

    def decide_many(self, requests: Iterable[Any]) -> list[Decision]:
        """The decisions for many requests, in order, in ONE round trip
        (POST /v1/data/rxrego/decisions with input {"requests": [...]}). InvalidRequest,
        without a round trip, for more than rxrego.limits.MAX_BATCH_REQUESTS requests (the
        sidecar would answer invalid_request): split such a batch. Each request is checked as
        `decide` checks it; a refused one names its place (requests[3].labs...)."""
        batch = check_batch(requests)
        for i, request in enumerate(batch):
            check_request(request, ("requests", i))
        result = batch_result(self._query(DECISIONS_PATH, {"requests": batch}), len(batch))
        return [Decision.from_dict(d) for d in result]

    def health(self) -> bool:
        """True when OPA is up and its bundle is activated (GET /health?bundles is 200),
        answered within the deadline."""
        return self._health_status(self.deadline) == 200

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

    def _health_status(self, budget: float) -> int | str:
        try:
            return self._send("GET", HEALTH_PATH, None, _Call(budget)).status_code
        except SidecarUnavailable as exc:
            cause = exc.__cause__
            return type(cause).__name__ if cause is not None else "deadline passed"

    def _send(self, method: str, path: str, body: bytes | None, call: _Call) -> requests.Response:
        """One request with the client's retries, all within `call`'s deadline; the response
        (read whole), or SidecarUnavailable."""
        url = self.base_url + path
        headers = {"Content-Type": "application/json"} if body is not None else None
        attempt = 0
        while True:
            remaining = call.remaining()
            if remaining <= 0:
                raise SidecarUnavailable(f"{url}: no answer within the {call.seconds:g}s deadline")
            wait = min(self.timeout, remaining)
            try:
                with call.active():
                    resp = self._session().request(method, url, data=body, headers=headers, timeout=(wait, wait))
            except requests.RequestException as exc:
                # A timeout of an attempt the deadline cut short is the deadline, whichever fired first.
                if call.expired or (isinstance(exc, requests.Timeout) and wait < self.timeout):
                    raise SidecarUnavailable(f"{url}: no answer within the {call.seconds:g}s deadline") from exc
                if attempt < self.retries and _before_sending(exc):
                    attempt += 1
                    self._backoff(attempt, call)
                    continue
                if isinstance(exc, requests.Timeout):
                    raise SidecarUnavailable(f"{url}: no answer within {wait:g}s ({type(exc).__name__})") from exc
                raise SidecarUnavailable(f"{url}: {_reason(exc)}") from exc
            if resp.status_code in RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                self._backoff(attempt, call)
                continue
            return resp

    def _backoff(self, attempt: int, call: _Call) -> None:
        time.sleep(max(0.0, min(backoff_seconds(attempt, self.backoff), call.remaining())))

    def _query(self, path: str, input_doc: Any) -> Any:
        """POST {"input": input_doc} to `path` within the deadline; the "result" of a 200, or a
        typed error (rxrego.client.answer.result_of)."""
        body = request_body(input_doc)
        url = self.base_url + path
        resp = self._send("POST", path, body, _Call(self.deadline))
        return result_of(url, resp.status_code, resp.text)


def decide_or_pend(client: RxRegoClient, request: dict) -> Decision:
    """A fail-closed decision: the sidecar's, or on any RxRegoError a `pended` Decision with
    reason "decision_unavailable" and the error in `errors`. Never an approval by default."""
    try:
        return client.decide(request)
    except RxRegoError as exc:
        return Decision.unavailable(exc, request)


def _before_sending(exc: requests.RequestException) -> bool:
    """A connection error raised before the request reached the server (safe to retry)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError)


def _reason(exc: requests.RequestException) -> str:
    """Why a call failed, in one line: the operating system's words for the first socket
    error under it ("cannot connect: connection refused", "...: name or service not known"),
    else the innermost error's class and first line. urllib3's nested repr of its pool and
    connection objects is never shown (the exception chain keeps it for debugging)."""
    node: BaseException | None = exc
    innermost: BaseException = exc
    while node is not None:
        if isinstance(node, OSError) and not isinstance(node, requests.RequestException) and node.strerror:
            return f"cannot connect: {node.strerror[:1].lower()}{node.strerror[1:]}"
        innermost = node
        node = node.__cause__ or node.__context__
    first = str(innermost).splitlines()[0] if str(innermost) else ""
    return f"cannot connect ({type(innermost).__name__}{': ' + first if first else ''})"
