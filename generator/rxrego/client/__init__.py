"""rxrego.client: decisions from the rxrego OPA sidecar over HTTP.

    from rxrego.client import RxRegoClient, decide_or_pend

    with RxRegoClient("http://127.0.0.1:8181", token=token) as client:
        client.wait_until_ready(10)
        decision = client.decide(request)          # one request
        decisions = client.decide_many(requests)   # many, one round trip
        if decision.approved:                      # outcome "approved" AND an approval period
            ...

Errors all derive from RxRegoError: SidecarUnavailable, DecisionUndefined, Unauthorized,
InvalidRequest, UnexpectedResponse. `decide_or_pend` turns any of them into a pended
decision (reason "decision_unavailable") for callers that need an answer, never an approval.

asyncio code uses `rxrego.client.aio.AsyncRxRegoClient` (install `rxrego[async]` for httpx):
the same methods as coroutines, the same errors, retries and fail-closed rules.

This package needs only requests and jsonschema (`pip install rxrego[client]`): it imports
nothing of the generator, so a service can ask for decisions without the toolchain.
"""

from .decision import (
    DECISION_UNAVAILABLE,
    OUTCOMES,
    Approval,
    Criterion,
    Decision,
    FieldError,
    Missing,
    PolicyRef,
)
from .errors import (
    DecisionUndefined,
    InvalidRequest,
    RxRegoError,
    SidecarUnavailable,
    Unauthorized,
    UnexpectedResponse,
)
from .http import DECISION_PATH, DECISIONS_PATH, RxRegoClient, decide_or_pend

__all__ = [
    "DECISIONS_PATH",
    "DECISION_PATH",
    "DECISION_UNAVAILABLE",
    "OUTCOMES",
    "Approval",
    "Criterion",
    "Decision",
    "DecisionUndefined",
    "FieldError",
    "InvalidRequest",
    "Missing",
    "PolicyRef",
    "RxRegoClient",
    "RxRegoError",
    "SidecarUnavailable",
    "Unauthorized",
    "UnexpectedResponse",
    "decide_or_pend",
]
