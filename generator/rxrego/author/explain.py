"""A decision explained: the outcome, then the criteria tree of the requirement set that was
applied, each node met / unmet / unknown (from the decision's `criteria` map), in the policy's
words, with the request facts each leaf read.

`explain_lines` is pure: decision + request + specs in, lines of text out. Colour is ANSI SGR
escapes (`style`); the command line strips them when the output is not a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..prose import counted
from ..spec import model as m
from ..spec.dump import content_version
from .common import (
    ABSENT,
    INVALID,
    combinator_phrase,
    describe_test,
    documentation_line,
    parse_date,
    read_fact,
    show_value,
    versions_of,
)

COLOURS = {
    "met": "green",
    "unmet": "red",
    "unknown": "yellow",
    "approved": "green",
    "denied": "red",
    "pended": "yellow",
}
ROOT_STATUS = {"approved": "met", "denied": "unmet", "pended": "unknown"}
INDENT = "  "
# ANSI SGR codes (ECMA-48): foreground colours 30-37, bold 1, faint 2, reset 0.
_SGR_COLOURS = {"black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36, "white": 37}


def style(text: str, fg: str | None = None, bold: bool = False, dim: bool = False) -> str:
    """`text` wrapped in ANSI escapes for colour `fg` (a name of _SGR_COLOURS), bold, dim."""
    codes = ([_SGR_COLOURS[fg]] if fg else []) + ([1] if bold else []) + ([2] if dim else [])
    if not codes:
        return text
    return "".join(f"\x1b[{c}m" for c in codes) + text + "\x1b[0m"


def _tag(status: str) -> str:
    return style(f"{status:<8}", fg=COLOURS.get(status, "magenta"), bold=status == "unmet")


def find_version(specs: Sequence[m.PolicySpec], policy: dict) -> m.PolicySpec | None:
    """The spec version that made the decision: same id, same effective date."""
    for spec in specs:
        if spec.id == policy.get("id"):
            for version in versions_of(spec):
                if version.effective_date == policy.get("effective_date"):
                    return version
            return None
    return None


def approval_text(approval: dict) -> str:
    """The approval period of a decision in words: its start and end, then how the end was
    set: calendar months (`duration_months`), weeks (`duration_weeks`), the plan year's last day (`plan_year_start`,
    MM-DD), or no end (the policy states no duration); and, with a lifetime cap, whether the
    cap cut it short (`capped`). The keys are the decision schema's `approval` (docs/semantics.md,
    "Durations")."""
    start, end, months = approval.get("start"), approval.get("end"), approval.get("duration_months")
    if end is None:
        return f"from {start}, no end date (the policy states no duration)"
    weeks = approval.get("duration_weeks")
    text = f"{start} to {end}" + (f" ({counted(months, 'month')})" if months is not None else "")
    text += f" ({counted(weeks, 'week')})" if weeks is not None else ""
    if approval.get("capped"):
        text += ", ended by the lifetime cap"
    elif approval.get("plan_year_start") is not None:
        text += f", the end of the plan year starting {approval['plan_year_start']}"
    if approval.get("lifetime_cap_months") is not None:
        text += f"; lifetime cap {approval['lifetime_cap_months']} months"
    return text


def header_lines(decision: dict, request: object = None, specs: Sequence[m.PolicySpec] = ()) -> list[str]:
    """The decision in a few lines: outcome and reason, policy, request, approval, errors.
    With the `specs`, a missing criterion also says what within its fields is needed (the
    ULN of a result, a dose's interval: Kind.missing_hint)."""
    outcome = str(decision.get("outcome", "?"))
    reason = decision.get("reason", "?")
    lines = [f"{'Decision':<12}{style(outcome.upper(), fg=COLOURS.get(outcome, 'magenta'), bold=True)}  ({reason})"]
    if decision.get("request_id") is not None:
        lines.append(f"{'Request id':<12}{decision['request_id']}")
    policy = decision.get("policy")
    if isinstance(policy, dict):
        lines.append(
            f"{'Policy':<12}{policy.get('number')} {policy.get('title')}  [{policy.get('id')}; version effective "
            f"{policy.get('effective_date')}; {policy.get('version')}]"
        )
    if decision.get("request_type"):
        dos = request.get("date_of_service") if isinstance(request, dict) else None
        lines.append(
            f"{'Request':<12}{decision['request_type']}: {decision.get('requirements', '')}, date of service {show_value(dos)}"
        )
    if isinstance(decision.get("indication"), dict):
        lines.append(f"{'Indication':<12}{decision['indication'].get('heading')} [{decision['indication'].get('id')}]")
    if "product" in decision:
        lines.append(f"{'Product':<12}{decision['product'] or 'not known: the identifiers name several products'}")
    if decision.get("review"):
        lines.append(f"{'Review':<12}{decision['review']}")
    if decision.get("message"):
        lines.append(f"{'Message':<12}{decision['message']}")
    approval = decision.get("approval")
    if isinstance(approval, dict):
        lines.append(f"{'Approval':<12}{approval_text(approval)}")
    if outcome == "no_policy":
        drug = decision.get("drug") or {}
        given = ", ".join(f"{k} {show_value(v)}" for k, v in sorted(drug.items())) or "no identifiers"
        if reason == "not_in_force":
            lines.append(
                f"{'Drug':<12}{given}: its policy was not in force on the date of service; it applies from {decision.get('in_force_from')}"
            )
        else:
            lines.append(f"{'Drug':<12}no policy covers this drug ({given})")
    if decision.get("errors"):
        lines.append("The request was not decided; fix these fields:")
        for e in decision["errors"]:
            lines.append(f"{INDENT}- {e.get('field') or '(request)'}: {e.get('message')}")
    if decision.get("unmet"):
        lines.append("Unmet, in the policy's words:")
        lines += [f"{INDENT}- {u.get('text')}  [{u.get('id')}]" for u in decision["unmet"]]
    if decision.get("missing"):
        lines.append("Missing information (send these fields):")
        spec = find_version(specs, policy) if isinstance(policy, dict) else None
        for x in decision["missing"]:
            needed = f" (a document: {' or '.join(x['documents'])})" if x.get("documents") else ""
            hint = _missing_hint(spec, x.get("id"))
            lines.append(
                f"{INDENT}- {x.get('text')}  [{x.get('id')}]: {', '.join(x.get('fields', []))}{needed}"
                + (f"; needed: {hint}" if hint else "")
            )
    return lines


def _missing_hint(spec: m.PolicySpec | None, cid: object) -> str:
    """The missing criterion's test's hint (Kind.missing_hint), "" when none or unknown."""
    if spec is None or not isinstance(cid, str) or cid not in {c.id for c in spec.criteria}:
        return ""
    test = spec.criterion(cid).test
    return test.missing_hint() if isinstance(test, m.Kind) else ""


def fact_lines(spec: m.PolicySpec, test: m.Test, request: object) -> list[str]:
    """`path = value` for each request field a leaf reads, with its kind's note on the value."""
    out = []
    dos = parse_date(request.get("date_of_service")) if isinstance(request, dict) else None
    for path in test.fields():
        state, value = read_fact(request, path)
        if state == ABSENT:
            out.append(f"{path} = (absent)")
            continue
        if state == INVALID:
            out.append(f"{path} = (unreadable: {value})")
            continue
        shown = show_value(value) + test.fact_note(path, value, dos)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and len(shown) > 70:
            note = test.fact_note(path, value, dos)
            out.append(f"{path} = {len(value)} {'entry' if len(value) == 1 else 'entries'}{note}:")
            out += [f"{INDENT}- {show_value(v)}" for v in value]
        else:
            out.append(f"{path} = {shown}")
    return out


def document_lines(c: m.Criterion, request: object) -> list[str]:
    """What the request's `documents` give a criterion requiring documentation: each entry
    that supports it, or why none does."""
    state, value = read_fact(request, "documents")
    if state == ABSENT:
        return ["documents = (absent: no document referenced)"]
    if state == INVALID or not isinstance(value, list):
        return [f"documents = {show_value(value)} (not a list: never met)"]
    supporting = [
        d
        for d in value
        if isinstance(d, dict)
        and d.get("type") in c.documentation
        and (d.get("supports") is None or (isinstance(d.get("supports"), list) and c.id in d["supports"]))
    ]
    if supporting:
        return [f"documents: {show_value(d)} supports it" for d in supporting]
    return [f"documents = {show_value(value)} (none of type {' or '.join(c.documentation)} supporting {c.id})"]


def _all_of(statuses: list[str]) -> str:
    if "unmet" in statuses:
        return "unmet"
    if "unknown" in statuses or "?" in statuses:
        return "unknown"
    return "met"


def tree_lines(spec: m.PolicySpec, rs: m.RequirementSet, decision: dict, request: object) -> list[str]:
    statuses: dict = decision.get("criteria") or {}
    root = ROOT_STATUS.get(decision.get("outcome", ""), "?")
    top = rs.root
    chosen = decision.get("indication")
    ind = rs.indication(str(chosen.get("id"))) if isinstance(chosen, dict) else None
    if ind is not None:  # a policy written with indications: the tree of the one decided
        top = rs.indication_root(ind)
        lines = [f"{_tag(root)}{rs.title}, {ind.heading} [{ind.id}]: {combinator_phrase(top)}"]
    elif rs.indications:  # decided at the indication gate: no criteria were evaluated
        return [
            f"{_tag(root)}{rs.title}: no indication of the policy matches the request's diagnoses "
            f"({', '.join(i.id for i in rs.indications)})"
        ]
    else:
        lines = [f"{_tag(root)}{rs.title}: {combinator_phrase(top)}"]

    def status(cid: str) -> str:
        return statuses.get(cid, "?")

    def node(cid: str, depth: int) -> None:
        c = spec.criterion(cid)
        pad = INDENT * depth
        lines.append(f"{pad}{_tag(status(cid))}{c.text}  [{cid}]")
        inner = pad + " " * 8
        t = c.test
        if isinstance(t, m.Kind):
            lines.append(f"{inner}{style('checks: ' + describe_test(spec, t), dim=True)}")
            lines.extend(f"{inner}{f}" for f in fact_lines(spec, t, request))
            if c.documentation:
                lines.append(f"{inner}{style('and: ' + documentation_line(c), dim=True)}")
                lines.extend(f"{inner}{f}" for f in document_lines(c, request))
        elif isinstance(t, m.Conditional):
            cond = _all_of([status(w) for w in t.when])
            if cond == "unmet" and status(cid) == "unmet":
                # Decisions show invalid as unmet. A condition that does not hold makes the
                # conditional met, so an unmet conditional over an "unmet" condition means the
                # condition is invalid, which never switches the requirement off
                # (docs/semantics.md, "when / then": C invalid -> invalid, shown unmet).
                verdict = "a fact of the condition is invalid, so the requirement cannot be switched off (unmet)"
            else:
                verdict = {
                    "met": "the condition holds, so the requirement applies",
                    "unmet": "the condition does not hold, so the requirement does not apply (met)",
                }.get(cond, "the condition is not known; met only if the requirement is met anyway")
            lines.append(f"{inner}when ALL of these hold: ({verdict})")
            for w in t.when:
                node(w, depth + 5)
            lines.append(f"{inner}then ALL of these are required:")
            for x in t.then:
                node(x, depth + 5)
        else:
            lines.append(f"{inner}{combinator_phrase(t)}:")
            for x in c.children:
                node(x, depth + 5)

    for cid in top.children:
        node(cid, 1)
    return lines


def explain_lines(decision: dict, request: object, specs: Sequence[m.PolicySpec]) -> tuple[list[str], list[str]]:
    """(lines, warnings): the decision summary and, for a policy decision, its criteria tree."""
    lines = header_lines(decision, request, specs)
    warnings: list[str] = []
    policy = decision.get("policy")
    if decision.get("outcome") not in ROOT_STATUS or not isinstance(policy, dict):
        return lines, warnings
    spec = find_version(specs, policy)
    if spec is None:
        warnings.append(
            f"no spec for {policy.get('id')} effective {policy.get('effective_date')} among the specs given "
            "(--specs); the criteria tree needs it"
        )
        return lines, warnings
    version = content_version(spec)
    if policy.get("version") and policy.get("version") != version:
        warnings.append(
            f"the Rego that decided is not generated from this spec ({policy.get('version')} vs {version} "
            f"in {spec.source}): run `rxrego generate`; statuses below come from the decision"
        )
    rs = spec.set_for(str(decision.get("request_type")))
    if rs is None:
        warnings.append(f"{spec.id} has no {decision.get('request_type')} requirements")
        return lines, warnings
    lines.append("")
    lines += tree_lines(spec, rs, decision, request)
    return lines, warnings
