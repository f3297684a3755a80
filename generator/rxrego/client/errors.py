"""The client's errors: one base class, one subclass per way a decision can fail to arrive.

None of them carries a decision, and no code path in the client turns one into an approval.
Callers who want a fail-closed answer instead of an exception use `decide_or_pend`.
"""

from __future__ import annotations


class RxRegoError(Exception):
    """No decision could be obtained. `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class SidecarUnavailable(RxRegoError):
    """OPA could not be reached (connection refused, timeout) or answered 5xx after retries."""


class DecisionUndefined(RxRegoError):
    """OPA answered 200 without a "result": the policy or bundle is not loaded."""


class Unauthorized(RxRegoError):
    """OPA refused the request (401/403): no token, a wrong token, or an operation not allowed."""


class InvalidRequest(RxRegoError):
    """The request was refused before it was sent (rxrego.requests_io: a number out of
    range, nesting too deep, not JSON), or OPA rejected it as malformed (400). `field` names
    the offending field when known ("" otherwise)."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None, field: str = "") -> None:
        super().__init__(message, status=status, body=body)
        self.field = field


class UnexpectedResponse(RxRegoError):
    """The answer is not the decision contract (not JSON, an outcome missing or unknown, ...)."""
