"""The router: the request envelope, then the drug lookup (docs/semantics.md,
"The request envelope")."""

from __future__ import annotations

from collections.abc import Sequence

from rxrego.spec import model as m

from .decision import decide_policy
from .facts import field_path, lower, number_paths, parse_date, strip_space

_IDENTIFIERS = ("hcpcs", "ndc", "name")
_REQUEST_TYPES = ("initial", "renewal")


def decide(specs: Sequence[m.PolicySpec], request: object) -> dict:
    """The decision `data.rxrego.decision` gives for `request` under these policies."""
    if not isinstance(request, dict):
        return _invalid(request, [_error("", "the request must be a JSON object")])
    # A number outside the accepted range anywhere: nothing else of the request is read.
    numbers = number_errors(request)
    if numbers:
        return _invalid(request, numbers)
    errors = envelope_errors(request)
    if errors:
        return _invalid(request, errors)

    drug = _identifiers(request["drug"])
    matches = {spec.id: spec for spec in specs if _names_drug(spec, drug)}
    if not matches:
        return _with_request_id(request, {"outcome": "no_policy", "reason": "no_policy", "drug": drug})
    if len(matches) > 1:
        ids = ", ".join(sorted(matches))
        return _invalid(request, [_error("drug", f"the drug identifiers name different policies ({ids})")])
    (policy,) = matches.values()
    spec = in_force(policy, request["date_of_service"])
    if spec is None:
        first = policy.versions[-1].effective_date
        return _with_request_id(request, {"outcome": "no_policy", "reason": "not_in_force", "drug": drug, "in_force_from": first})
    if spec.requirement_set(request["request_type"]) is None:
        message = f"policy {spec.id} has no {request['request_type']} requirements"
        return _invalid(request, [_error("request_type", message)])
    return decide_policy(spec, request)


def in_force(policy: m.PolicySpec, date_of_service: str) -> m.PolicySpec | None:
    """The newest version whose effective date is on or before the date of service."""
    for version in policy.versions:  # newest first
        if parse_date(version.effective_date) <= parse_date(date_of_service):
            return version
    return None


def number_errors(request: dict) -> list[dict]:
    """Every number of the request outside the accepted range (docs/semantics.md,
    "Numbers"), sorted by field."""
    errors = [
        _error(field_path(path), f"the number {text} is outside the accepted range")
        for path, text in number_paths(request)
    ]
    return sorted(errors, key=lambda e: (e["field"], e["message"]))


def envelope_errors(request: dict) -> list[dict]:
    """Every problem with request_type, date_of_service and drug, sorted by field."""
    errors = []
    request_type = request.get("request_type")
    # isinstance first: a list or object is never a request type (and is not hashable).
    if not (isinstance(request_type, str) and request_type in _REQUEST_TYPES):
        errors.append(_error("request_type", "request_type must be \"initial\" or \"renewal\""))
    if parse_date(request.get("date_of_service")) is None:
        errors.append(_error("date_of_service", "date_of_service must be a real date YYYY-MM-DD, years 1900-2199"))
    errors.extend(_drug_errors(request.get("drug")))
    return sorted(errors, key=lambda e: (e["field"], e["message"]))


def _drug_errors(drug: object) -> list[dict]:
    if not isinstance(drug, dict):
        return [_error("drug", "drug must be an object with hcpcs, ndc or name")]
    # null is "not given", as for every fact; a given identifier must be a string.
    given = [key for key in _IDENTIFIERS if drug.get(key) is not None]
    if not given:
        return [_error("drug", "drug must give at least one of hcpcs, ndc, name")]
    return [_error(f"drug.{key}", f"drug.{key} must be a string") for key in given if not isinstance(drug[key], str)]


def _identifiers(drug: dict) -> dict[str, str]:
    """The identifiers the request gives, as given (the envelope made them strings)."""
    return {key: drug[key] for key in _IDENTIFIERS if drug.get(key) is not None}


def _names_drug(spec: m.PolicySpec, drug: dict[str, str]) -> bool:
    """Whether any identifier names this policy's drug; one that names nothing is ignored."""
    if drug.get("hcpcs") in spec.drug.hcpcs or drug.get("ndc") in spec.drug.ndc:
        return True
    if "name" not in drug:
        return False
    names = {_drug_name(n) for n in (spec.drug.brand, spec.drug.generic) if n is not None}
    return _drug_name(drug["name"]) in names


def _drug_name(name: str) -> str:
    return lower(strip_space(name))


def _error(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _invalid(request: object, errors: list[dict]) -> dict:
    return _with_request_id(request, {"outcome": "invalid_request", "reason": "invalid_request", "errors": errors})


def _with_request_id(request: object, decision: dict) -> dict:
    if isinstance(request, dict) and isinstance(request.get("request_id"), str):
        decision["request_id"] = request["request_id"]
    return decision
