"""`Decision`: the decision contract (schemas/decision.schema.json) as frozen Python values.

`Decision.from_dict` is the only way a document from OPA becomes a Decision: it validates the
document against the published JSON Schema first and raises UnexpectedResponse for anything
else, so a malformed answer is never read as an approval.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

from ..schemacheck import CompiledSchema
from .errors import UnexpectedResponse

OUTCOMES = ("approved", "denied", "pended", "no_policy", "invalid_request")
# Set by decide_or_pend only, never by the policy: the client could not get a decision.
DECISION_UNAVAILABLE = "decision_unavailable"


@functools.cache
def _validator() -> CompiledSchema:
    """The decision schema, compiled (rxrego.schemacheck: jsonschema explains a refusal)."""
    text = resources.files("rxrego").joinpath("schemas/decision.schema.json").read_text(encoding="utf-8")
    return CompiledSchema(json.loads(text))


@dataclass(frozen=True)
class PolicyRef:
    id: str
    number: str
    title: str
    effective_date: str
    version: str


@dataclass(frozen=True)
class Approval:
    """An approval period: end None when the policy states no duration; duration_months None
    for a plan-year approval, which gives plan_year_start ("MM-DD", the approval ends the day
    before the next plan year), and for one stated in weeks, which gives duration_weeks;
    lifetime_cap_months the policy's lifetime cap, if any; capped when that cap ends the
    approval early."""

    start: dt.date
    end: dt.date | None
    duration_months: int | None = None
    capped: bool = False
    plan_year_start: str | None = None
    lifetime_cap_months: int | None = None
    duration_weeks: int | None = None


@dataclass(frozen=True)
class Criterion:
    """A criterion a denial lists, in the policy's words; `fields`, for a criterion denied
    because a fact is malformed (of the wrong type or shape), the request fields to correct
    (empty otherwise)."""

    id: str
    text: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Missing:
    """A criterion that is unknown and stands between the request and a decision: `fields`
    the request fields that would decide it; `documents` the document types (request
    `documents[].type`) that would satisfy it, for a criterion that requires documentation
    (empty otherwise); `reason` "unit_not_convertible" when a lab result's, body
    measurement's or dose's unit does not convert into `unit`, the unit the criterion reads
    it in (both None otherwise)."""

    id: str
    text: str
    fields: tuple[str, ...]
    documents: tuple[str, ...] = ()
    reason: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def _frozen_mapping(value: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Decision:
    """One decision. `approved` is the only thing a caller should act on to dispense."""

    outcome: str
    reason: str
    request_type: str | None = None
    policy: PolicyRef | None = None
    requirements: str | None = None
    approval: Approval | None = None
    unmet: tuple[Criterion, ...] = ()
    missing: tuple[Missing, ...] = ()
    met: tuple[str, ...] = ()
    criteria: Mapping[str, str] = field(default_factory=_frozen_mapping, hash=False)
    errors: tuple[FieldError, ...] = ()
    drug: Mapping[str, Any] | None = field(default=None, hash=False)
    in_force_from: str | None = None  # no_policy / not_in_force: the first date a version applied
    indication: Mapping[str, str] | None = field(default=None, hash=False)  # {"id", "heading"} decided
    product: str | None = None
    request_id: str | None = None
    review: str | None = None  # other_indication_review: what the reviewer is to check
    message: str | None = None  # no_requirements: why the request is referred for review
    raw: dict = field(default_factory=dict, hash=False, repr=False)

    @property
    def approved(self) -> bool:
        """True only for outcome "approved" with an approval period: never inferred otherwise."""
        return self.outcome == "approved" and self.approval is not None

    @classmethod
    def from_dict(cls, doc: Any) -> Decision:
        """The Decision for an OPA result document; UnexpectedResponse if it is not the contract."""
        if not isinstance(doc, dict):
            raise UnexpectedResponse(f"the decision is not a JSON object: {_short(doc)}")
        errors = sorted(_validator().errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(document)"
            raise UnexpectedResponse(f"the decision does not follow the contract at {where}: {e.message}")
        outcome = doc["outcome"]
        if "approval" in doc and outcome != "approved":
            raise UnexpectedResponse(f"an approval period on a decision whose outcome is {outcome!r}")
        raw = copy.deepcopy(doc)
        try:
            return cls(
                outcome=outcome,
                reason=doc["reason"],
                request_type=doc.get("request_type"),
                policy=PolicyRef(
                    **{k: doc["policy"][k] for k in ("id", "number", "title", "effective_date", "version")}
                )
                if "policy" in doc
                else None,
                requirements=doc.get("requirements"),
                approval=_approval(doc["approval"]) if "approval" in doc else None,
                unmet=tuple(Criterion(u["id"], u["text"], tuple(u.get("fields", ()))) for u in doc.get("unmet", [])),
                missing=tuple(
                    Missing(
                        m["id"],
                        m["text"],
                        tuple(m["fields"]),
                        tuple(m.get("documents", ())),
                        m.get("reason"),
                        m.get("unit"),
                    )
                    for m in doc.get("missing", [])
                ),
                met=tuple(doc.get("met", [])),
                criteria=_frozen_mapping(doc.get("criteria")),
                errors=tuple(FieldError(e["field"], e["message"]) for e in doc.get("errors", [])),
                drug=_frozen_mapping(doc["drug"]) if "drug" in doc else None,
                in_force_from=doc.get("in_force_from"),
                indication=_frozen_mapping(doc["indication"]) if "indication" in doc else None,
                product=doc.get("product"),
                request_id=doc.get("request_id"),
                review=doc.get("review"),
                message=doc.get("message"),
                raw=raw,
            )
        except (KeyError, TypeError, ValueError) as exc:  # the schema should have caught it
            raise UnexpectedResponse(f"the decision does not follow the contract: {exc}") from exc

    @classmethod
    def unavailable(cls, error: BaseException, request: Any = None) -> Decision:
        """The fail-closed stand-in for a decision that could not be obtained: pended."""
        message = f"{type(error).__name__}: {error}"
        field = getattr(error, "field", "") or ""
        raw: dict[str, Any] = {
            "outcome": "pended",
            "reason": DECISION_UNAVAILABLE,
            "errors": [{"field": field, "message": message}],
        }
        request_id = request.get("request_id") if isinstance(request, dict) else None
        if isinstance(request_id, str):
            raw["request_id"] = request_id
        return cls(
            outcome="pended",
            reason=DECISION_UNAVAILABLE,
            errors=(FieldError(field, message),),
            request_id=raw.get("request_id"),
            raw=raw,
        )

    def to_dict(self) -> dict:
        """A copy of the document as received (what `--json` prints)."""
        return copy.deepcopy(self.raw)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _approval(doc: dict) -> Approval:
    try:
        ends = [doc["start"]] + ([doc["end"]] if "end" in doc else [])
        if not all(isinstance(d, str) and _DATE.fullmatch(d) for d in ends):
            raise ValueError(f"expected YYYY-MM-DD, got {ends!r}")
        start = dt.date.fromisoformat(doc["start"])
        end = dt.date.fromisoformat(doc["end"]) if "end" in doc else None
    except ValueError as exc:
        raise UnexpectedResponse(f"the approval period is not a date range: {exc}") from exc
    months = doc.get("duration_months")
    if (months is not None and (isinstance(months, bool) or months < 1)) or (end is not None and end < start):
        raise UnexpectedResponse(f"the approval period is not a period: {_short(doc)}")
    weeks = doc.get("duration_weeks")
    if weeks is not None and (isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 1):
        raise UnexpectedResponse(f"the approval period is not a period: {_short(doc)}")
    cap = doc.get("lifetime_cap_months")
    if cap is not None and (isinstance(cap, bool) or cap < 1):
        raise UnexpectedResponse(f"the approval period's lifetime cap is not a number of months: {_short(doc)}")
    return Approval(start, end, months, doc.get("capped") is True, doc.get("plan_year_start"), cap, weeks)


def _short(value: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
