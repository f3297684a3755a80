"""The decision of one policy for a request whose envelope is valid
(docs/semantics.md, "The decision")."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rxrego.spec import model as m
from rxrego.spec.dump import content_version

from .evaluate import Evaluation, policy_order
from .facts import add_months, parse_date
from .leaves import Context, missing_fields
from .logic import FAILING, MET, UNKNOWN, Status, shown


def statuses(spec: m.PolicySpec, request: dict, set_name: str) -> dict[str, str]:
    """The internal status (invalid included) of every criterion reachable from the root
    of requirement set `set_name`, in policy order."""
    rs = _requirement_set(spec, set_name)
    evaluation = Evaluation(_context(spec, request))
    return {cid: evaluation.status(cid) for cid in policy_order(spec, rs)}


def decide_policy(spec: m.PolicySpec, request: dict) -> dict:
    """The decision document of `spec` for `request` (its envelope already checked)."""
    rs = _requirement_set(spec, request["request_type"])
    ctx = _context(spec, request)
    evaluation = Evaluation(ctx)
    order = policy_order(spec, rs)
    status = {cid: evaluation.status(cid) for cid in order}
    root = evaluation.root_status(rs)
    outcome, reason = _outcome(root, lambda: evaluation.status(spec.coverage.indication))

    by_id = evaluation.by_id
    failing = _unmet_ids(rs, by_id, status, root)
    unknown = _missing_ids(rs, by_id, status, root)
    unmet = [{"id": cid, "text": by_id[cid].text} for cid in order if cid in failing]
    if reason == "investigational":
        unmet.insert(0, {"id": "investigational", "text": spec.coverage.investigational})

    decision: dict = {
        "outcome": outcome,
        "reason": reason,
        "request_type": rs.name,
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
        "missing": [
            {"id": cid, "text": by_id[cid].text, "fields": missing_fields(spec, by_id[cid].test)}
            for cid in order
            if cid in unknown
        ],
    }
    if outcome == "approved":
        start = ctx.date_of_service
        decision["approval"] = {
            "start": start.isoformat(),
            "end": add_months(start, rs.duration_months).isoformat(),
            "duration_months": rs.duration_months,
        }
    if isinstance(request.get("request_id"), str):
        decision["request_id"] = request["request_id"]
    return decision


def _requirement_set(spec: m.PolicySpec, name: str) -> m.RequirementSet:
    rs = spec.requirement_set(name)
    if rs is None:
        raise ValueError(f"policy {spec.id} has no {name!r} requirements")
    return rs


def _context(spec: m.PolicySpec, request: dict) -> Context:
    day = parse_date(request.get("date_of_service"))
    if day is None:
        raise ValueError("the request's date_of_service is not a valid date; check the envelope first")
    return Context(spec, request, day)


def _outcome(root: Status, indication: Callable[[], Status]) -> tuple[str, str]:
    if root == MET:
        return "approved", "criteria_met"
    if root == UNKNOWN:
        return "pended", "information_missing"
    # The indication is judged by its own status, whether or not this set reaches it.
    return "denied", "investigational" if indication() in FAILING else "criteria_unmet"


def _reachable(roots: Iterable[str], children: Callable[[str], Iterable[str]],
               passes: Callable[[str], bool]) -> set[str]:
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


def _unmet_ids(rs: m.RequirementSet, by_id: dict[str, m.Criterion],
               status: dict[str, Status], root: Status) -> set[str]:
    """Unmet or invalid all the way down from the root, never into a `when` list: a
    condition that fails is not a reason for a denial."""
    if root not in FAILING:
        return set()

    def children(cid: str) -> tuple[str, ...]:
        test = by_id[cid].test
        return test.then if isinstance(test, m.Conditional) else by_id[cid].children

    return _reachable(rs.root.children, children, lambda cid: status[cid] in FAILING)


def _missing_ids(rs: m.RequirementSet, by_id: dict[str, m.Criterion],
                 status: dict[str, Status], root: Status) -> set[str]:
    """Unknown leaves below a path with nothing met (`when` lists included): under a met
    node an answer would change nothing, so it is not asked for."""
    if root == MET:
        return set()
    below = _reachable(rs.root.children, lambda cid: by_id[cid].children, lambda cid: status[cid] != MET)
    return {cid for cid in below if by_id[cid].is_leaf and status[cid] == UNKNOWN}
