"""The decision of one policy for a request whose envelope is valid
(docs/semantics.md, "The decision")."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

from rxrego.spec import model as m
from rxrego.spec.dump import content_version

from .clinical import icd10_code, unit_not_convertible
from .evaluate import Evaluation, order_from, policy_order
from .facts import ABSENT, add_months, as_number, is_whole, lower, parse_date, read
from .leaves import Context, missing_fields
from .logic import FAILING, INVALID, MET, UNKNOWN, UNMET, Status, all_of, shown


def statuses(spec: m.PolicySpec, request: dict, set_name: str) -> dict[str, str]:
    """The internal status (invalid included) of every criterion reachable from the root
    of requirement set `set_name`, in policy order."""
    rs = _requirement_set(spec, set_name)
    evaluation = Evaluation(_context(spec, request))
    return {cid: evaluation.status(cid) for cid in policy_order(spec, rs)}


def decide_policy(spec: m.PolicySpec, request: dict, products: frozenset[str] = frozenset()) -> dict:
    """The decision document of `spec` for `request` (its envelope already checked, its
    request type decided by one of the policy's sets)."""
    if spec.has_indications:
        return decide_indicated(spec, request, products)
    rs = _requirement_set(spec, request["request_type"])
    ctx = _context(spec, request, products)
    evaluation = Evaluation(ctx)
    order = policy_order(spec, rs)
    status = {cid: evaluation.status(cid) for cid in order}
    root = evaluation.root_status(rs)
    indication = spec.coverage.indication
    other = spec.coverage.other_indications
    outcome, reason = _outcome(
        root,
        lambda: evaluation.status(indication) if indication is not None else MET,
        other.outcome if other is not None else "investigational",
    )

    by_id = evaluation.by_id
    failing = _unmet_ids(rs.root.children, by_id, status, root) if outcome == "denied" else set()
    unknown = _missing_ids(rs.root.children, by_id, status, root)
    unmet: list[dict] = [_unmet_entry(spec, by_id, status, cid) for cid in order if cid in failing]
    if reason == "investigational":
        unmet.insert(0, {"id": "investigational", "text": spec.coverage.investigational})
    elif reason == "not_covered":
        unmet.insert(0, {"id": "other_indications", "text": m.other_use_text(spec)})

    decision: dict = {
        "outcome": outcome,
        "reason": reason,
        "request_type": request["request_type"],
        "policy": {
            "id": spec.id,
            "number": spec.number,
            "title": spec.title,
            "effective_date": spec.effective_date,
            "version": content_version(spec),
        },
        "requirements": rs.title,
        "criteria": {cid: shown(s) for cid, s in status.items()},
        "met": [cid for cid in order if status[cid] == MET],
        "unmet": unmet,
        "missing": [_missing_entry(spec, by_id[cid], ctx) for cid in order if cid in unknown],
    }
    if outcome == "approved":
        start = ctx.date_of_service
        decision["approval"] = {
            "start": start.isoformat(),
            # Ignored: a set without indications is taken to state duration_months (the loader
            # requires it or `duration`); a set stating only `duration` is not handled here.
            "end": add_months(start, rs.duration_months).isoformat(),  # type: ignore[arg-type]
            "duration_months": rs.duration_months,
        }
    if reason == "other_indication_review":
        decision["review"] = m.other_use_text(spec)
    if isinstance(request.get("request_id"), str):
        decision["request_id"] = request["request_id"]
    return decision


def _requirement_set(spec: m.PolicySpec, request_type: str) -> m.RequirementSet:
    rs = spec.set_for(request_type)
    if rs is None:
        raise ValueError(f"policy {spec.id} has no requirements for {request_type!r} requests")
    return rs


# --- the indication model (docs/semantics.md, "Indications") -------------------------------

OTHER_INDICATION_DEFAULT = "The diagnosis is not one of the indications the policy covers: {}."
CAP_FIELD = "therapy.months_received"


def _policy_block(spec: m.PolicySpec) -> dict:
    return {
        "id": spec.id,
        "number": spec.number,
        "title": spec.title,
        "effective_date": spec.effective_date,
        "version": content_version(spec),
    }


def indication_candidates(spec: m.PolicySpec, rs: m.RequirementSet, request: dict) -> tuple[Status, list[m.Indication]]:
    """The indication gate: the set's indications whose diagnosis codes match a code in the
    request's `diagnoses` (codes only, read as the diagnosis test reads them: of ICD-10-CM form
    and one of the indication's expanded codes; qualifiers and biomarkers are that
    indication's criteria), and the gate's status: met (some match); else unknown (diagnoses
    absent, or an entry without a code); else invalid (not a list, or a malformed entry: not
    an object, or a code not of ICD-10-CM form); else unmet."""
    diagnoses = read(request, ("diagnoses",))
    if diagnoses is ABSENT:
        return UNKNOWN, []
    if not isinstance(diagnoses, list):
        return INVALID, []
    codes = [e["code"] for e in diagnoses if isinstance(e, dict) and isinstance(e.get("code"), str)]
    found = [
        ind
        for ind in rs.indications
        if any(icd10_code(code, set(spec.criterion(ind.diagnosis).test.codes())) == MET for code in codes)  # type: ignore[union-attr]
    ]
    if found:
        return MET, found
    if any(isinstance(e, dict) and e.get("code") is None for e in diagnoses):
        return UNKNOWN, []
    if any(not isinstance(e, dict) or icd10_code(e.get("code"), set()) == INVALID for e in diagnoses):
        return INVALID, []
    return UNMET, []


def decide_indicated(spec: m.PolicySpec, request: dict, products: frozenset[str] = frozenset()) -> dict:
    """The decision of a policy written with indications: the request's indication (named, or
    the one its diagnosis codes select) is decided alone; outside every indication, the
    policy's other-indications outcome."""
    rs = _requirement_set(spec, request["request_type"])
    base: dict = {"request_type": request["request_type"], "policy": _policy_block(spec), "requirements": rs.title}
    named = request.get("indication")
    if named is not None:
        ind = rs.indication(named)
        if ind is None:
            known = ", ".join(sorted(i.id for i in rs.indications))
            return _invalid_field(
                request, "indication", f"not an indication of these requirements; expected one of: {known}"
            )
        return _decide_indication(spec, rs, ind, request, base, products)
    gate, found = indication_candidates(spec, rs, request)
    if len(found) > 1:
        names = ", ".join(sorted(i.id for i in found))
        return _invalid_field(request, "indication", f"the diagnoses match several indications ({names}): name one")
    if found:
        return _decide_indication(spec, rs, found[0], request, base, products)
    return _with_request_id(request, {**base, **_gate_outcome(spec, rs, gate)})


def _gate_outcome(spec: m.PolicySpec, rs: m.RequirementSet, gate: Status) -> dict:
    headings = "; ".join(i.heading for i in sorted(rs.indications, key=lambda i: i.id))
    empty: dict[str, dict | list] = {"criteria": {}, "met": [], "unmet": [], "missing": []}
    if gate == UNKNOWN:
        text = f"The diagnosis, to tell which of the policy's indications the request is for: {headings}"
        return {
            "outcome": "pended",
            "reason": "information_missing",
            **empty,
            "missing": [{"id": "indication", "text": text, "fields": ["diagnoses"]}],
        }
    default = OTHER_INDICATION_DEFAULT.format(headings)
    if gate == INVALID:
        return {
            "outcome": "denied",
            "reason": "criteria_unmet",
            **empty,
            "unmet": [{"id": "indication", "text": default, "fields": ["diagnoses"]}],
        }
    other = spec.coverage.other_indications or m.OtherIndications()
    text = other.statement or default
    if other.outcome == "investigational":
        return {
            "outcome": "denied",
            "reason": "investigational",
            **empty,
            "unmet": [{"id": "investigational", "text": text}],
        }
    if other.outcome == "pend_for_review":
        return {"outcome": "pended", "reason": "other_indication_review", **empty, "review": text}
    return {"outcome": "denied", "reason": "not_covered", **empty, "unmet": [{"id": "other_indications", "text": text}]}


def _decide_indication(
    spec: m.PolicySpec, rs: m.RequirementSet, ind: m.Indication, request: dict, base: dict, products: frozenset[str]
) -> dict:
    ctx = dataclasses.replace(_context(spec, request, products), indication=ind.id)
    evaluation = Evaluation(ctx)
    root_node = rs.indication_root(ind)
    order = order_from(spec, root_node.children)
    status = {cid: evaluation.status(cid) for cid in order}
    root = all_of_status(status, root_node.children)
    by_id = evaluation.by_id
    decision: dict = {
        **base,
        "indication": {"id": ind.id, "heading": ind.heading},
        "criteria": {cid: shown(s) for cid, s in status.items()},
        "met": [cid for cid in order if status[cid] == MET],
        "unmet": [],
        "missing": [],
    }
    if root in FAILING:
        failing = _unmet_ids(root_node.children, by_id, status, root)
        decision.update(
            outcome="denied",
            reason="criteria_unmet",
            unmet=[_unmet_entry(spec, by_id, status, cid) for cid in order if cid in failing],
        )
    elif root == UNKNOWN:
        asked = _missing_ids(root_node.children, by_id, status, root)
        decision.update(
            outcome="pended",
            reason="information_missing",
            missing=[_missing_entry(spec, by_id[cid], ctx) for cid in order if cid in asked],
        )
    else:
        branch = next((d for cid, d in ind.duration_when if status[cid] == MET), None)
        decision.update(_approval(branch or rs.duration_of(ind), ctx.date_of_service, request))
    return _with_request_id(request, decision)


def all_of_status(status: dict[str, Status], ids: tuple[str, ...]) -> Status:
    """The status of an indication's root: all of its criteria."""
    return all_of(status[cid] for cid in ids)


def _requires(c: m.Criterion) -> tuple[str, ...]:
    """What a criterion requires: a conditional's `then`, a combinator's children; a
    negation nothing (a denial quotes the `not` criterion's own words, never what it
    negates)."""
    if isinstance(c.test, m.Negation):
        return ()
    return c.test.then if isinstance(c.test, m.Conditional) else c.children


def _unmet_entry(spec: m.PolicySpec, by_id: dict[str, m.Criterion], status: dict[str, Status], cid: str) -> dict:
    """A criterion a denial lists: its id and words; an invalid one (a fact of the wrong type
    or shape) also names the request `fields` to correct, those read by the invalid leaves
    reached from it through invalid criteria only (conditions and negations included),
    sorted."""
    c = by_id[cid]
    if status[cid] != INVALID:
        return {"id": cid, "text": c.text}
    below = _reachable([cid], lambda k: by_id[k].children, lambda k: status.get(k) == INVALID)
    fields = {f for k in below if by_id[k].is_leaf for f in _leaf_fields(spec, by_id[k])}
    return {"id": cid, "text": c.text, "fields": sorted(fields)}


def _leaf_fields(spec: m.PolicySpec, c: m.Criterion) -> list[str]:
    """The request fields a leaf reads: its test's, and `documents` when it requires
    documentation."""
    fields = missing_fields(spec, c.test)
    return [*fields, "documents"] if c.documentation else fields


def _missing_entry(spec: m.PolicySpec, c: m.Criterion, ctx: Context) -> dict:
    """A missing leaf: its id, words and request fields; with documentation required, the
    `documents` field too and the document types that would support it; a lab criterion
    when a result of the lab has a unit that does not convert, `reason`
    "unit_not_convertible" and the criterion's `unit`."""
    entry: dict = {"id": c.id, "text": c.text, "fields": _leaf_fields(spec, c)}
    if c.documentation:
        entry["documents"] = sorted(c.documentation)
    if unit_not_convertible(c.test, ctx.request, ctx.date_of_service):
        entry.update(reason="unit_not_convertible", unit=getattr(c.test, "unit", None))
    elif (unit := _measured_unit_not_convertible(c.test, ctx.request)) is not None:
        entry.update(reason="unit_not_convertible", unit=unit)
    return entry


def _measured_unit_not_convertible(test: object, request: dict) -> str | None:
    """The unit of the first body measurement or dose the test reads (Kind.unit_facts)
    that holds a number whose unit (a string) does not convert into it; else None."""
    for f in test.unit_facts() if isinstance(test, m.Kind) else []:
        fact = read(request, tuple(f["path"]))
        if not isinstance(fact, dict):
            continue
        number, unit = fact.get(f["value"]), fact.get("unit")
        if (
            isinstance(number, (int, float))
            and not isinstance(number, bool)
            and not (isinstance(unit, str) and lower(unit) in f["units"])
        ):
            return f["unit"]
    return None


def _approval(duration: m.Duration | None, start: dt.date, request: dict) -> dict:
    """approved with its period; or, when a lifetime cap is reached or cannot be read, the
    decision that says so (docs/semantics.md, "Durations"). No duration: no end date."""
    if duration is None:
        return {"outcome": "approved", "reason": "criteria_met", "approval": {"start": start.isoformat()}}
    if duration.months is not None:
        end = add_months(start, duration.months)
    elif duration.weeks is not None:
        end = start + dt.timedelta(days=7 * duration.weeks)
    else:
        end = plan_year_end(start, duration.plan_year_start)
    approval: dict = {"start": start.isoformat()}
    if duration.months is not None:
        approval["duration_months"] = duration.months
    elif duration.weeks is not None:
        approval["duration_weeks"] = duration.weeks
    else:
        approval["plan_year_start"] = duration.plan_year_start
    cap = duration.lifetime_cap_months
    if cap is not None:
        text = f"Lifetime cap: at most {cap} months of therapy in a lifetime"
        raw = read(request, ("therapy", "months_received"))
        if raw is ABSENT:
            return {
                "outcome": "pended",
                "reason": "information_missing",
                "missing": [{"id": "lifetime_cap", "text": text, "fields": [CAP_FIELD]}],
            }
        received = as_number(raw)
        if received is None or received < 0 or not is_whole(received):
            return {
                "outcome": "denied",
                "reason": "criteria_unmet",
                "unmet": [{"id": "lifetime_cap", "text": text, "fields": [CAP_FIELD]}],
            }
        left = cap - int(received)
        if left <= 0:
            return {
                "outcome": "denied",
                "reason": "lifetime_cap_reached",
                "unmet": [{"id": "lifetime_cap", "text": text}],
            }
        capped = add_months(start, left)
        approval["lifetime_cap_months"] = cap
        if capped < end:
            end = capped
            approval["capped"] = True
            if duration.months is not None:
                approval["duration_months"] = left
    approval["end"] = end.isoformat()
    return {"outcome": "approved", "reason": "criteria_met", "approval": approval}


def plan_year_end(start: dt.date, plan_year_start: str | None) -> dt.date:
    """The last day of the plan year `start` falls in; the plan year begins each year on
    plan_year_start ("MM-DD", a day every year has)."""
    month, day = (int(x) for x in (plan_year_start or "01-01").split("-"))
    next_start = dt.date(start.year, month, day)
    if (start.month, start.day) >= (month, day):
        next_start = dt.date(start.year + 1, month, day)
    return next_start - dt.timedelta(days=1)


def _invalid_field(request: dict, field: str, message: str) -> dict:
    return _with_request_id(
        request,
        {"outcome": "invalid_request", "reason": "invalid_request", "errors": [{"field": field, "message": message}]},
    )


def _with_request_id(request: dict, decision: dict) -> dict:
    if isinstance(request.get("request_id"), str):
        decision["request_id"] = request["request_id"]
    return decision


def _context(spec: m.PolicySpec, request: dict, products: frozenset[str] = frozenset()) -> Context:
    day = parse_date(request.get("date_of_service"))
    if day is None:
        raise ValueError("the request's date_of_service is not a valid date; check the envelope first")
    return Context(spec, request, day, products)


def _outcome(root: Status, indication: Callable[[], Status], other: str) -> tuple[str, str]:
    """(outcome, reason). `other`: what the policy does with other uses (investigational,
    not_covered, pend_for_review); a malformed diagnosis is another use only for an
    investigational policy (docs/semantics.md, "The decision (single-indication form)")."""
    if root == MET:
        return "approved", "criteria_met"
    if root == UNKNOWN:
        return "pended", "information_missing"
    # The indication is judged by its own status, whether or not this set reaches it.
    status = indication()
    if other == "investigational" and status in FAILING:
        return "denied", "investigational"
    if other == "not_covered" and status == UNMET:
        return "denied", "not_covered"
    if other == "pend_for_review" and status == UNMET:
        return "pended", "other_indication_review"
    return "denied", "criteria_unmet"


def _reachable(
    roots: Iterable[str], children: Callable[[str], Iterable[str]], passes: Callable[[str], bool]
) -> set[str]:
    """The criteria with a path from `roots` on which every criterion `passes`."""
    found: set[str] = set()

    def visit(cid: str) -> None:
        # A criterion already found was entered on a passing path: its subtree is done.
        if cid not in found and passes(cid):
            found.add(cid)
            for child in children(cid):
                visit(child)

    for cid in roots:
        visit(cid)
    return found


def _unmet_ids(
    roots: Iterable[str], by_id: dict[str, m.Criterion], status: dict[str, Status], root: Status
) -> set[str]:
    """The criteria a denial lists: unmet or invalid all the way down from the root's
    children `roots`, never into a `when` list (a condition that fails is not a reason for a
    denial). A root that is not failing: none."""
    if root not in FAILING:
        return set()
    return _reachable(roots, lambda cid: _requires(by_id[cid]), lambda cid: status[cid] in FAILING)


def _missing_ids(
    roots: Iterable[str], by_id: dict[str, m.Criterion], status: dict[str, Status], root: Status
) -> set[str]:
    """The leaves a pend asks for: unknown leaves with a path from the root's children
    `roots` on which every criterion is unknown (`when` lists and negations included). Under
    a met criterion an answer changes nothing; under a failing one it cannot make it met; a
    root that is not unknown (an approval, a denial) asks for nothing."""
    if root != UNKNOWN:
        return set()
    below = _reachable(roots, lambda cid: by_id[cid].children, lambda cid: status[cid] == UNKNOWN)
    return {cid for cid in below if by_id[cid].is_leaf}
