"""`AsyncRxRegoClient`: the asyncio client for the OPA sidecar's data API (needs `rxrego[async]`).

    from rxrego.client.aio import AsyncRxRegoClient, decide_or_pend

    async with AsyncRxRegoClient("http://127.0.0.1:8181", token=token) as client:
        await client.wait_until_ready(10)
        decision = await client.decide(request)
        decisions = await client.decide_many(requests)   # one round trip

The same contract as the sync RxRegoClient (rxrego.client.http): the same settings, the same
Decision for the same answer, the same typed errors (all RxRegoError), the same retries
(rxrego.client.answer: connection errors and 502/503/504, `retries` times, the first retry
immediate then `backoff * 2**(n-1)` seconds; never a read timeout, never 4xx), and never an
approval it did not receive. `timeout` bounds each connect and each read; `deadline` bounds
the whole call: every attempt's connect and read, the retries and the backoff sleeps between
them (default `(retries + 1) * timeout`, as for the sync client). Requests are checked before
they are sent, as the sync client checks them (rxrego.client.answer.check_request).

Concurrency: one client serves any number of tasks of one event loop at once (httpx's
connection pool); make one per loop. HTTP goes through httpx, without proxies or netrc from
the environment (a sidecar is local).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

try:
    import httpx
except ModuleNotFoundError as exc:  # the sync client needs no httpx; this one does
    if exc.name != "httpx":
        raise
    raise ImportError(
        "rxrego.client.aio needs httpx, which is not installed: install rxrego[async] "
        "(pip install 'rxrego[async]'), or use the sync rxrego.client.RxRegoClient"
    ) from exc

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

__all__ = ["AsyncRxRegoClient", "decide_or_pend"]


class AsyncRxRegoClient:
    """Decisions from an rxrego OPA sidecar, for asyncio code.

    Every method either returns a Decision that OPA produced (validated against the decision
    contract) or raises a subclass of RxRegoError; none of them ever invents an approval.
    `timeout` and `deadline` are seconds; `retries` a count; `backoff` the seconds of the
    second retry's sleep (doubling after); `token` a bearer token; `verify`, `ca_bundle`
    and `cert` the TLS settings (as the sync client takes them). ValueError for a bad setting.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.1,
        deadline: float | None = None,
        token: str | None = None,
        verify: bool = True,
        ca_bundle: str | None = None,
        cert: str | tuple[str, str] | None = None,
    ) -> None:
        self.base_url = check_settings(base_url, timeout, retries, backoff, token, deadline)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.deadline = float(deadline) if deadline is not None else (self.retries + 1) * self.timeout
        headers = {"Accept": "application/json", "User-Agent": "rxrego-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            verify=str(ca_bundle) if ca_bundle else verify,
            cert=cert,
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=4),
        )
        self._has_token = bool(token)

    def __repr__(self) -> str:
        return (
            f"AsyncRxRegoClient({self.base_url!r}, timeout={self.timeout}, retries={self.retries}, "
            f"deadline={self.deadline}, token={'set' if self._has_token else None})"
        )

    async def aclose(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRxRegoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the API -------------------------------------------------------------------------

    async def decide(self, request: dict) -> Decision:
        """The decision for one request (POST /v1/data/rxrego/decision); InvalidRequest, before
        anything is sent, for a request rxrego.requests_io refuses (naming the field)."""
        check_request(request)
        return Decision.from_dict(await self._query(DECISION_PATH, request))

    async def decide_many(self, requests: Iterable[Any]) -> list[Decision]:
        """The decisions for many requests, in order, in ONE round trip
        (POST /v1/data/rxrego/decisions with input {"requests": [...]}). InvalidRequest,
        without a round trip, for more than rxrego.limits.MAX_BATCH_REQUESTS requests."""
        batch = check_batch(requests)
        for i, request in enumerate(batch):
            check_request(request, ("requests", i))
        result = batch_result(await self._query(DECISIONS_PATH, {"requests": batch}), len(batch))
        return [Decision.from_dict(d) for d in result]

    async def health(self) -> bool:
        """True when OPA is up and its bundle is activated (GET /health?bundles is 200)."""
        return await self._health_status(self.timeout) == 200

    async def wait_until_ready(self, timeout: float) -> None:
        """Return once health() is true; SidecarUnavailable after `timeout` seconds,
        Unauthorized at once if the sidecar refuses the token."""
        deadline = time.monotonic() + timeout
        last: int | str | None = None
        while True:
            remaining = deadline - time.monotonic()
            last = await self._health_status(max(0.05, min(self.timeout, remaining)))
            if last == 200:
                return
            if last in (401, 403):
                raise Unauthorized(f"{self.base_url} refused the token for /health", status=last)
            if time.monotonic() >= deadline:
                raise SidecarUnavailable(f"{self.base_url} was not ready within {timeout:g}s (last: {last})")
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    # --- transport -----------------------------------------------------------------------

    def _closed_check(self) -> None:
        if self._http.is_closed:
            raise RxRegoError("the client is closed")

    async def _health_status(self, timeout: float) -> int | str:
        self._closed_check()
        try:
            resp = await self._http.get(self.base_url + HEALTH_PATH, timeout=timeout)
            return resp.status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    async def _query(self, path: str, input_doc: Any) -> Any:
        """POST {"input": input_doc} to `path` with retries, within the deadline; the
        "result" of a 200, or a typed error (rxrego.client.answer.result_of)."""
        self._closed_check()
        body = request_body(input_doc)
        url = self.base_url + path
        try:
            async with asyncio.timeout(self.deadline):
                return await self._attempts(url, body, time.monotonic() + self.deadline)
        except TimeoutError as exc:
            raise SidecarUnavailable(f"{url}: no decision within the {self.deadline:g}s deadline") from exc

    async def _attempts(self, url: str, body: bytes, ends: float | None) -> Any:
        attempt = 0
        while True:
            # No attempt waits past the deadline: its connect and read get what is left.
            left = self.timeout if ends is None else max(0.001, min(self.timeout, ends - time.monotonic()))
            try:
                resp = await self._http.post(
                    url, content=body, headers={"Content-Type": "application/json"}, timeout=httpx.Timeout(left)
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent: safe to retry.
                if attempt >= self.retries:
                    raise SidecarUnavailable(f"{url}: cannot connect ({type(exc).__name__}: {exc})") from exc
            except httpx.TimeoutException as exc:
                raise SidecarUnavailable(f"{url}: no answer within {left:g}s ({type(exc).__name__})") from exc
            except httpx.HTTPError as exc:
                raise SidecarUnavailable(f"{url}: cannot connect ({type(exc).__name__}: {exc})") from exc
            else:
                if resp.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return result_of(url, resp.status_code, resp.text)
            attempt += 1
            await asyncio.sleep(backoff_seconds(attempt, self.backoff))


async def decide_or_pend(client: AsyncRxRegoClient, request: dict) -> Decision:
    """A fail-closed decision: the sidecar's, or on any RxRegoError a `pended` Decision with
    reason "decision_unavailable" and the error in `errors`. Never an approval by default."""
    try:
        return await client.decide(request)
    except RxRegoError as exc:
        return Decision.unavailable(exc, request)
