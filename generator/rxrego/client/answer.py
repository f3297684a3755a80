"""What the sync and the asyncio client share: their settings' rules and how an HTTP answer
from OPA's data API becomes a result or a typed error.

Both clients follow the same rules, so the same sidecar answer gives the same Decision or
the same exception whichever client asked:

- 200 with a JSON object holding "result": that result (the decision, or the list of them).
- 200 without "result": DecisionUndefined (the policy or bundle is not loaded).
- 200 whose body is not a JSON object: UnexpectedResponse.
- 400: InvalidRequest; 401/403: Unauthorized; 5xx: SidecarUnavailable; anything else:
  UnexpectedResponse. Each carries the status and the start of the body.

Retries (OPA's data API evaluates without side effects, which is why POST may be retried):
connection errors (refused, reset before the request was sent, connect timeout) and the
statuses in RETRY_STATUSES, at most `retries` times, sleeping `backoff_seconds(n, backoff)`
before the n-th retry (the first one immediate, then `backoff * 2**(n-1)`: urllib3's schedule).
A read timeout or an error after the request was sent is not retried, and 4xx never is.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..limits import MAX_BATCH_REQUESTS, MAX_BODY_BYTES, MAX_REQUEST_ID_CHARS
from .errors import DecisionUndefined, InvalidRequest, SidecarUnavailable, Unauthorized, UnexpectedResponse

DECISION_PATH = "/v1/data/rxrego/decision"
DECISIONS_PATH = "/v1/data/rxrego/decisions"
HEALTH_PATH = "/health?bundles"
RETRY_STATUSES = (502, 503, 504)
BACKOFF_MAX = 120.0  # seconds; urllib3's cap on one backoff sleep


def check_settings(
    base_url: str, timeout: float, retries: int, backoff: float, token: str | None, deadline: float | None = None
) -> str:
    """The base URL without a trailing slash; ValueError naming the first setting that is wrong
    (scheme not http/https or no host, timeout <= 0, retries or backoff < 0, deadline <= 0, a
    token that is empty or holds whitespace)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be http(s)://host[:port], not {base_url!r}")
    if timeout <= 0 or retries < 0 or backoff < 0:
        raise ValueError("timeout must be > 0, retries and backoff >= 0")
    if deadline is not None and deadline <= 0:
        raise ValueError("deadline must be > 0 seconds (or None)")
    if token is not None and (not token or any(c.isspace() for c in token)):
        raise ValueError("the token must be non-empty and contain no whitespace")
    return base_url.rstrip("/")


def backoff_seconds(retry: int, backoff: float) -> float:
    """Seconds to sleep before the `retry`-th retry (1-based): 0 for the first, then
    `backoff * 2**(retry-1)`, at most BACKOFF_MAX (what urllib3's Retry does for the sync client)."""
    return 0.0 if retry <= 1 else min(BACKOFF_MAX, backoff * 2 ** (retry - 1))


def _iso_date(value: object) -> str:
    """json.dumps's `default`: a datetime.date (as a YAML loader gives 2026-06-15) becomes
    its ISO form "2026-06-15", the form the request schema reads; TypeError for anything
    else (a datetime too: check_request refuses it first, naming the field)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def request_body(input_doc: Any) -> bytes:
    """{"input": input_doc} as UTF-8 JSON; InvalidRequest, before anything is sent, if it is
    not JSON-serialisable (NaN and infinities included) or is more than
    rxrego.limits.MAX_BODY_BYTES bytes (the sidecar's `server.decoding.max_length`: OPA
    would refuse it). datetime.date values are sent as ISO dates (YYYY-MM-DD)."""
    try:
        body = json.dumps({"input": input_doc}, allow_nan=False, ensure_ascii=False, default=_iso_date).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(f"the request is not JSON-serialisable: {exc}") from exc
    if len(body) > MAX_BODY_BYTES:
        field = "requests" if isinstance(input_doc, dict) and set(input_doc) == {"requests"} else ""
        raise InvalidRequest(
            f"the request was not sent: its body is {len(body):,} bytes, more than the sidecar accepts "
            f"({MAX_BODY_BYTES:,} bytes, 4 MiB){'; split the batch' if field else ''}",
            field=field,
        )
    return body


def result_of(url: str, status: int, text: str) -> Any:
    """The "result" of OPA's answer (`status`, body `text`) to a data API query at `url`, or
    the typed error the module docstring lists."""
    if status == 200:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise UnexpectedResponse(
                f"{url}: 200 with a body that is not JSON", status=status, body=text[:500]
            ) from exc
        if not isinstance(doc, dict):
            raise UnexpectedResponse(
                f"{url}: 200 with a body that is not a JSON object", status=status, body=text[:500]
            )
        if "result" not in doc:
            raise DecisionUndefined(
                f"{url}: the decision is undefined (is the rxrego bundle loaded and activated?)",
                status=status,
                body=text[:500],
            )
        return doc["result"]
    message = opa_message(text)
    if status == 400:
        raise InvalidRequest(f"{url}: OPA rejected the request: {message}", status=status, body=text[:500])
    if status in (401, 403):
        raise Unauthorized(f"{url}: {status} {message}", status=status, body=text[:500])
    if status >= 500:
        raise SidecarUnavailable(f"{url}: {status} {message}", status=status, body=text[:500])
    raise UnexpectedResponse(f"{url}: unexpected status {status}: {message}", status=status, body=text[:500])


def check_request(request: Any, prefix: tuple = ()) -> None:
    """InvalidRequest, before anything is sent, for a request rxrego.requests_io.check refuses:
    a number outside the accepted range (NaN and infinities too), nesting deeper than
    requests_io.MAX_DEPTH, a key that is not a string or a value that is not JSON; and for a
    `request_id` that is not a string or is longer than rxrego.limits.MAX_REQUEST_ID_CHARS
    (pa-request.schema.json; the sidecar answers such a request invalid_request). The error's
    `field` names the place, after `prefix` (("requests", 3) for one request of a batch)."""
    from .. import requests_io

    try:
        requests_io.check(request, prefix=prefix)
    except requests_io.RequestError as exc:
        raise InvalidRequest(f"the request was not sent: {exc}", field=exc.field) from exc
    request_id = request.get("request_id") if isinstance(request, dict) else None
    if request_id is not None:
        field = requests_io.format_path((*prefix, "request_id"))
        if not isinstance(request_id, str):
            raise InvalidRequest(
                f"the request was not sent: {field}: must be a string (the request schema's type), "
                f'not {type(request_id).__name__} {request_id!r:.40}; send it as text, e.g. "{request_id!s:.40}"',
                field=field,
            )
        if len(request_id) > MAX_REQUEST_ID_CHARS:
            raise InvalidRequest(
                f"the request was not sent: {field}: at most {MAX_REQUEST_ID_CHARS} characters "
                f"(an opaque case number), not {len(request_id):,}",
                field=field,
            )


def check_batch(requests: Iterable[Any]) -> list:
    """The requests of one batch as a list; InvalidRequest, before any round trip, for more
    than rxrego.limits.MAX_BATCH_REQUESTS of them (the sidecar would answer invalid_request):
    split such a batch."""
    batch = list(requests)
    if len(batch) > MAX_BATCH_REQUESTS:
        raise InvalidRequest(f"requests: at most {MAX_BATCH_REQUESTS} requests per batch, not {len(batch)}")
    return batch


def batch_result(result: Any, expected: int) -> list:
    """`result` as the list of `expected` decisions a batch query returns; UnexpectedResponse otherwise."""
    if not isinstance(result, list) or len(result) != expected:
        got = f"{len(result)} item(s)" if isinstance(result, list) else type(result).__name__
        raise UnexpectedResponse(f"expected a list of {expected} decision(s), got {got}")
    return result


def opa_message(text: str) -> str:
    """OPA's error message ("code: message") from an error body, or the body's start."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "(empty body)"
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        code = doc.get("code")
        return f"{code}: {doc['message']}" if code else doc["message"]
    return text.strip()[:200]
