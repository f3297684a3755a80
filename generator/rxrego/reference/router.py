"""The router: the request envelope, then the drug lookup (docs/semantics.md,
"The request envelope")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rxrego.limits import MAX_REQUEST_ID_CHARS
from rxrego.spec import model as m

from .decision import decide_policy
from .facts import field_path, lower, number_paths, parse_date, strip_space, upper

_IDENTIFIERS = ("hcpcs", "ndc", "name")
_REQUEST_TYPES = m.REQUEST_TYPES
REQUEST_TYPES_TEXT = "initial, renewal, continuation, new_to_plan or restart"
# Trademark and copyright signs a drug name may carry (Besponsa®): ignored in routing.
_SIGNS = ("\u00ae", "\u2122", "\u00a9", "\u2120")
_HCPCS_SPACE = re.compile("[ \t\n\r]")
# 10-digit NDC layouts with hyphens, and how each becomes the 11-digit 5-4-2 form.
_NDC_PAD: dict[tuple[int, ...], tuple[int, int, int]] = {
    (5, 4, 2): (0, 0, 0),
    (4, 4, 2): (1, 0, 0),
    (5, 3, 2): (0, 1, 0),
    (5, 4, 1): (0, 0, 1),
}
AMBIGUOUS_NDC = "ambiguous"


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
    if drug.get("ndc") is not None and normal_ndc(drug["ndc"]) == AMBIGUOUS_NDC:
        return _invalid(
            request, [_error("drug.ndc", "a 10-digit NDC needs its hyphens (4-4-2, 5-3-2 or 5-4-1) to be read")]
        )
    plan = request.get("plan")
    # A policy under a plan answers requests naming that plan, or naming none.
    eligible = [s for s in specs if s.plan is None or plan is None or s.plan == plan]
    named = {key: _products_named(eligible, key, value) for key, value in drug.items()}
    policies = {pid for found in named.values() for pid, _ in found}
    if not policies:
        return _with_request_id(request, {"outcome": "no_policy", "reason": "no_policy", "drug": drug})
    if len(policies) > 1:
        ids = ", ".join(sorted(_package(specs, pid) for pid in policies))
        plans = {next(s for s in specs if s.id == pid).plan for pid in policies}
        if None not in plans:  # the plan ids a request may give, not the packages
            listed = ", ".join(sorted(p for p in plans if p is not None))
            return _invalid(
                request, [_error("plan", f"policies under several plans name the drug: name the plan ({listed})")]
            )
        return _invalid(request, [_error("drug", f"the drug identifiers name different policies: {ids}")])
    (policy_id,) = policies
    unknown = [key for key, found in named.items() if not found]
    if unknown:
        return _invalid(
            request,
            [_error(f"drug.{key}", "names no product of the policy the other identifiers name") for key in unknown],
        )
    products = set.intersection(*({prod for _, prod in found} for found in named.values()))
    if not products:
        return _invalid(request, [_error("drug", "the drug identifiers name different products")])
    policy = next(s for s in specs if s.id == policy_id)
    strength = request["drug"].get("strength")
    if strength is not None:
        by_id = {p.id: p for p in policy.products}
        products = {
            pid for pid in products if strength_key(strength) in {strength_key(x) for x in by_id[pid].strengths}
        }
        if not products:
            return _invalid(request, [_error("drug.strength", "names no strength of the product the identifiers name")])
    spec = in_force(policy, request["date_of_service"])
    if spec is None:
        first = policy.versions[-1].effective_date
        return _with_request_id(
            request, {"outcome": "no_policy", "reason": "not_in_force", "drug": drug, "in_force_from": first}
        )
    if spec.set_for(request["request_type"]) is None:
        return _with_request_id(
            request,
            {
                "outcome": "pended",
                "reason": "no_requirements",
                "request_type": request["request_type"],
                "message": f"the policy in force has no requirements for {request['request_type']} requests: refer for review",
            },
        )
    decision = decide_policy(spec, request, frozenset(products))
    if policy.drug.products and decision["outcome"] != "invalid_request":
        decision["product"] = next(iter(products)) if len(products) == 1 else None
    return decision


def _package(specs: Sequence[m.PolicySpec], policy_id: str) -> str:
    return next(s.package for s in specs if s.id == policy_id)


def _products_named(specs: Sequence[m.PolicySpec], key: str, value: str) -> set[tuple[str, str]]:
    """(policy id, product id) of every product this identifier names, in any policy."""
    wanted = identifier_key(key, value)
    return {
        (spec.id, p.id)
        for spec in specs
        for p in spec.products
        if wanted is not None and wanted in product_keys(key, p, spec.product_names(p))
    }


def product_keys(key: str, p: m.Product, names: Sequence[str]) -> set[str]:
    """The normalised identifiers of one product (what the router's tables hold); `names`:
    the names that route to it (`PolicySpec.product_names`)."""
    if key == "hcpcs":
        return {hcpcs_key(c) for c in p.hcpcs}
    if key == "ndc":
        return {n for c in p.ndc if (n := normal_ndc(c)) not in (None, AMBIGUOUS_NDC)}
    return {name_key(n) for n in names}


def identifier_key(key: str, value: str) -> str | None:
    if key == "hcpcs":
        return hcpcs_key(value)
    if key == "ndc":
        return normal_ndc(value)
    return name_key(value)


def hcpcs_key(code: str) -> str:
    """j9229, "J9229 " and "J 9229" are J9229: spaces, tabs and line breaks removed, upper case."""
    return upper(_HCPCS_SPACE.sub("", code))


def strength_key(strength: str) -> str:
    """ "500 mg", "500MG" and "500 Mg" are one strength: spaces removed, lower case."""
    return lower(_HCPCS_SPACE.sub("", strength))


def name_key(name: str) -> str:
    """A drug name as routed: trademark signs removed, surrounding white space trimmed, lower case."""
    for sign in _SIGNS:
        name = name.replace(sign, "")
    return lower(strip_space(name))


def normal_ndc(ndc: str) -> str | None:
    """The 11-digit 5-4-2 form without hyphens of an NDC written 5-4-2, 4-4-2, 5-3-2 or 5-4-1
    with hyphens, or as 11 digits; AMBIGUOUS_NDC for 10 digits without hyphens (the layout
    cannot be told); None for anything else."""
    text = strip_space(ndc)
    if re.fullmatch("[0-9]{11}", text):
        return text
    if re.fullmatch("[0-9]{10}", text):
        return AMBIGUOUS_NDC
    parts = text.split("-")
    if len(parts) != 3 or not all(re.fullmatch("[0-9]+", part) for part in parts):
        return None
    pad = _NDC_PAD.get(tuple(len(part) for part in parts))
    if pad is None:
        return None
    return "".join("0" * n + part for n, part in zip(pad, parts, strict=True))


def in_force(policy: m.PolicySpec, date_of_service: str) -> m.PolicySpec | None:
    """The newest version whose effective date is on or before the date of service (None:
    none is yet); ValueError if `date_of_service` is not a YYYY-MM-DD date."""
    service = parse_date(date_of_service)
    if service is None:
        raise ValueError(f"not a date: {date_of_service!r}")
    for version in policy.versions:  # newest first
        effective = parse_date(version.effective_date)
        if effective is not None and effective <= service:
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
        errors.append(_error("request_type", f"request_type must be one of {REQUEST_TYPES_TEXT}"))
    if parse_date(request.get("date_of_service")) is None:
        errors.append(_error("date_of_service", "date_of_service must be a real date YYYY-MM-DD, years 1900-2199"))
    errors.extend(_drug_errors(request.get("drug")))
    if request.get("plan") is not None and not isinstance(request["plan"], str):
        errors.append(_error("plan", "plan must be a string: the payer's plan id"))
    request_id = request.get("request_id")
    if request_id is not None and not (isinstance(request_id, str) and len(request_id) <= MAX_REQUEST_ID_CHARS):
        errors.append(_error("request_id", f"request_id must be a string of at most {MAX_REQUEST_ID_CHARS} characters"))
    if request.get("indication") is not None and not isinstance(request["indication"], str):
        errors.append(_error("indication", "indication must be a string: the id of one of the policy's indications"))
    return sorted(errors, key=lambda e: (e["field"], e["message"]))


def _drug_errors(drug: object) -> list[dict]:
    if not isinstance(drug, dict):
        return [_error("drug", "drug must be an object with hcpcs, ndc or name")]
    # null is "not given", as for every fact; a given identifier must be a string.
    given = [key for key in _IDENTIFIERS if drug.get(key) is not None]
    if not given:
        return [_error("drug", "drug must give at least one of hcpcs, ndc, name")]
    errors = [_error(f"drug.{key}", f"drug.{key} must be a string") for key in given if not isinstance(drug[key], str)]
    if drug.get("strength") is not None and not isinstance(drug["strength"], str):
        errors.append(_error("drug.strength", "drug.strength must be a string"))
    return errors


def _identifiers(drug: dict) -> dict[str, str]:
    """The identifiers the request gives, as given (the envelope made them strings)."""
    return {key: drug[key] for key in _IDENTIFIERS if drug.get(key) is not None}


def _error(field: str, message: str) -> dict:
    return {"field": field, "message": message}


def _invalid(request: object, errors: list[dict]) -> dict:
    return _with_request_id(request, {"outcome": "invalid_request", "reason": "invalid_request", "errors": errors})


def _with_request_id(request: object, decision: dict) -> dict:
    """The decision, echoing the request's request_id when the envelope accepts it."""
    request_id = request.get("request_id") if isinstance(request, dict) else None
    if isinstance(request_id, str) and len(request_id) <= MAX_REQUEST_ID_CHARS:
        decision["request_id"] = request_id
    return decision
