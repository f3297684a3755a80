"""What changed between two versions of a spec, criterion by criterion, and which golden cases
decide differently because of it.

`spec_changes` compares the models (never the YAML text, so comments and layout do not count).
`case_changes` generates Rego for each version (with the other specs, so routing works) into
scratch folders and runs the policy's golden cases on both, one `opa eval` each.
"""

from __future__ import annotations

import dataclasses
import difflib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import generate as gen
from .. import opa
from ..conformance.cases import Case, find_case_files, load_case_file
from ..prose import counted
from ..spec import model as m
from ..spec.dump import criterion_data, dump_data, set_data
from ..spec.errors import SpecError
from .common import InputError, describe_test, set_criteria, versions_of


@dataclass(frozen=True)
class Change:
    section: str  # Policy, Drug, Coverage, Value sets, Criteria, Requirement sets, Limits, ...
    subject: str  # what changed: a field, a criterion id, a value set, a set name
    lines: tuple[str, ...]  # how, one fact a line

    def text(self) -> str:
        if len(self.lines) == 1 and self.lines[0].startswith(self.subject):
            return f"  {self.lines[0]}"  # effective_date: 2024-03-01 -> 2026-04-01
        return "\n".join([f"  {self.subject}", *(f"    {line}" for line in self.lines)])


# --- small comparisons -------------------------------------------------------------------------


def _short(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def word_diff(old: str, new: str) -> str:
    """The words removed [-...-] and added {+...+}, with a little context."""
    a, b = old.split(), new.split()
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            words = a[i1:i2]
            parts.append(" ".join(words) if len(words) <= 6 else " ".join(words[:3]) + " ... " + " ".join(words[-3:]))
            continue
        if i2 > i1:
            parts.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            parts.append("{+" + " ".join(b[j1:j2]) + "+}")
    return " ".join(parts)


def text_change(name: str, old: str | None, new: str | None) -> list[str]:
    """A reworded text: short values inline, long ones old/new on their own lines."""
    if old == new:
        return []
    if old is None:
        return [f"{name} added: {new}"]
    if new is None:
        return [f"{name} removed (was: {old})"]
    if " ".join(old.split()) == " ".join(new.split()):
        return []  # only line breaks / spacing differ: the same words
    if len(old) <= 50 and len(new) <= 50:
        return [f"{name}: {old} -> {new}"]
    return [f"{name} reworded:", f"  - old: {old}", f"  + new: {new}", f"  words: {word_diff(old, new)}"]


def members_change(name: str, old: Sequence, new: Sequence) -> list[str]:
    """A list whose members were added, removed or reordered."""
    if tuple(old) == tuple(new):
        return []
    added = [x for x in new if x not in old]
    removed = [x for x in old if x not in new]
    out = []
    if added:
        out.append(f"{name}: added {', '.join(map(_short, added))}")
    if removed:
        out.append(f"{name}: removed {', '.join(map(_short, removed))}")
    if not added and not removed:
        out.append(f"{name}: reordered [{', '.join(map(_short, old))}] -> [{', '.join(map(_short, new))}]")
    return out


def _pairs_change(name: str, old: tuple, new: tuple) -> list[str]:
    a, b = dict(old), dict(new)
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        if key not in b:
            out.append(f"{name}.{key}: removed (was {', '.join(a[key])})")
        elif key not in a:
            out.append(f"{name}.{key}: added ({', '.join(b[key])})")
        else:
            out += members_change(f"{name}.{key}", a[key], b[key])
    return out


_ABSENT = object()


def _leaf(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_leaf(x) for x in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_leaf(v)}" for k, v in value.items()) + "}"
    return _short(value)


def data_changes(name: str, old: object, new: object) -> list[str]:
    """Every difference between two pieces of spec data (the dumped model: dicts, lists,
    scalars), one line a leaf: `indications.hefh.duration.months: 6 -> 3`,
    `products.sureclick.ndc: added 72511-760-02`, `other_indications: added {...}`.
    Durations read as approval durations. `name` is the dotted path so far ("" at the top)."""
    if old == new:
        return []
    label = name or "(whole)"
    if old is _ABSENT:
        return [f"{label}: added ({_leaf(new)})"]
    if new is _ABSENT:
        return [f"{label}: removed (was {_leaf(old)})"]
    if isinstance(old, dict) and isinstance(new, dict):
        if name.rsplit(".", 1)[-1] == "duration":
            return [f"{label}: approval duration {_duration_words(old)} -> {_duration_words(new)}"]
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            out += data_changes(f"{name}.{key}" if name else str(key), old.get(key, _ABSENT), new.get(key, _ABSENT))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if all(isinstance(x, str | int | float | bool) for x in [*old, *new]):
            return members_change(label, old, new)
        if len(old) == len(new):
            return [
                line
                for i, (a, b) in enumerate(zip(old, new, strict=True))
                for line in data_changes(f"{label}[{i}]", a, b)
            ]
        return [f"{label}: {_leaf(old)} -> {_leaf(new)}"]
    if isinstance(old, str) and isinstance(new, str):
        return text_change(label, old, new)
    return [f"{label}: {_leaf(old)} -> {_leaf(new)}"]


def _duration_words(d: dict) -> str:
    parts = []
    if "months" in d:
        parts.append(f"{d['months']} months")
    if "weeks" in d:
        parts.append(counted(d["weeks"], "week"))
    if isinstance(d.get("plan_year"), dict):
        parts.append(f"to the end of the plan year starting {d['plan_year'].get('starts')}")
    if "lifetime_cap_months" in d:
        parts.append(f"capped at {d['lifetime_cap_months']} months of therapy")
    return ", ".join(parts) or "(none)"


def residual_changes(name: str, old: dict, new: dict, handled: set[str]) -> list[str]:
    """`data_changes` of the keys a readable comparison did not already word."""
    return data_changes(
        name, {k: v for k, v in old.items() if k not in handled}, {k: v for k, v in new.items() if k not in handled}
    )


def test_change(kind: str, old: object, new: object) -> list[str]:
    """Field by field: `age.min_years: 18 -> 1`, `diagnosis.biomarkers.CD22: added (positive)`."""
    if type(old) is not type(new) or not dataclasses.is_dataclass(old):
        return [f"test: {type(old).__name__} -> {type(new).__name__}"]
    out = []
    for f in dataclasses.fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        label = f"{kind}.{f.name}"
        if f.name in ("qualifiers", "biomarkers"):
            out += _pairs_change(label, a, b)
        elif isinstance(a, tuple) and isinstance(b, tuple):
            out += members_change(label, a, b)
        else:
            out.append(f"{label}: {_short(a)} -> {_short(b)}")
    return out


# --- the spec ------------------------------------------------------------------------------------


def _criterion_summary(spec: m.PolicySpec, c: m.Criterion) -> list[str]:
    return [f"text: {c.text}", f"{c.kind}: {describe_test(spec, c.test)}"]


def criteria_changes(old: m.PolicySpec, new: m.PolicySpec) -> list[Change]:
    out = []
    old_ids = {c.id for c in old.criteria}
    new_ids = {c.id for c in new.criteria}
    for c in old.criteria:
        if c.id not in new_ids:
            out.append(Change("Criteria", f"{c.id}: removed", tuple(_criterion_summary(old, c))))
    for c in new.criteria:
        if c.id not in old_ids:
            out.append(Change("Criteria", f"{c.id}: added", tuple(_criterion_summary(new, c))))
            continue
        o = old.criterion(c.id)
        lines = text_change("text", o.text, c.text) + text_change("note", o.note, c.note)
        lines += members_change("documentation", o.documentation, c.documentation)
        if o.kind != c.kind:
            lines.append(f"test: {o.kind} ({describe_test(old, o.test)}) -> {c.kind} ({describe_test(new, c.test)})")
        elif isinstance(c.test, m.Negation) and isinstance(o.test, m.Negation):
            if o.test.child != c.test.child:
                lines.append(f"not: {o.test.child} -> {c.test.child}")
        elif isinstance(c.test, m.Conditional) and isinstance(o.test, m.Conditional):
            lines += members_change("when", o.test.when, c.test.when) + members_change("then", o.test.then, c.test.then)
        elif isinstance(c.test, m.AtLeast) and isinstance(o.test, m.AtLeast):
            if o.test.n != c.test.n:
                lines.append(f"at_least.n: {o.test.n} -> {c.test.n}")
            lines += members_change("at_least.of", o.test.children, c.test.children)
        elif isinstance(c.test, m.AllOf | m.AnyOf) and isinstance(o.test, m.AllOf | m.AnyOf):
            lines += members_change(c.kind, o.test.children, c.test.children)
        else:
            lines += test_change(c.kind, o.test, c.test)
        # Whatever the wording above does not cover (a question, a future field) still counts.
        lines += residual_changes("", criterion_data(o), criterion_data(c), _CRITERION_WORDED | {o.kind, c.kind})
        if lines:
            out.append(Change("Criteria", f"{c.id} ({c.kind})", tuple(lines)))
    return out


_CRITERION_WORDED = {"text", "note", "documentation", "all_of", "any_of", "at_least", "when", "then", "not"}
_SET_WORDED = {"title", "duration_months", "all_of", "any_of", "at_least"}


def _root_kind(root: object) -> str:
    return m.COMBINATOR_KINDS[type(root)]


def _months(n: int | None) -> str:
    """An approval duration in words: '6 months', or 'no duration' when the set states none."""
    return "no duration" if n is None else counted(n, "month")


def _given(value: object) -> str:
    return "not given" if value is None else str(value)


def _indicated(spec: m.PolicySpec, rs: m.RequirementSet) -> dict[str, list[str]]:
    """{criterion id: the ids of the set's indications that use it (their diagnosis, their
    criteria, and what those reach)}."""
    out: dict[str, list[str]] = {}
    for ind in rs.indications:
        reach = set_criteria(spec, dataclasses.replace(rs, root=m.AllOf((ind.diagnosis, *ind.all_of))))
        for cid in reach:
            out.setdefault(cid, []).append(ind.id)
    return out


def _moved(name: str, ids: list[str], now_in: dict[str, list[str]]) -> list[str]:
    """Lines for criteria that left `name` (the set's own list, or its nesting): those an
    indication now uses 'moved into indication ...', the others 'no longer part of the set'."""
    moved = [c for c in ids if c in now_in]
    gone = [c for c in ids if c not in now_in]
    lines = [f"{c}: moved into indication {', '.join(now_in[c])}" for c in moved]
    if gone:
        lines.append(f"no longer part of the set{name}: {', '.join(gone)}")
    return lines


def requirement_changes(old: m.PolicySpec, new: m.PolicySpec) -> list[Change]:
    out = []
    old_sets = {r.name: r for r in old.requirements}
    new_sets = {r.name: r for r in new.requirements}
    for name, r in old_sets.items():
        if name not in new_sets:
            out.append(
                Change("Requirement sets", f"{name}: removed", (f"was: {r.title}, {_months(r.duration_months)}",))
            )
    for name, r in new_sets.items():
        if name not in old_sets:
            out.append(
                Change(
                    "Requirement sets",
                    f"{name}: added",
                    (f"{r.title}, {_months(r.duration_months)}, {_root_kind(r.root)} {', '.join(r.root.children)}",),
                )
            )
            continue
        o = old_sets[name]
        lines = text_change("title", o.title, r.title)
        if o.duration_months != r.duration_months:
            lines.append(
                f"duration_months: {_given(o.duration_months)} -> {_given(r.duration_months)} "
                f"(approval duration {_months(o.duration_months)} -> {_months(r.duration_months)})"
            )
        if _root_kind(o.root) != _root_kind(r.root):
            lines.append(f"combinator: {_root_kind(o.root)} -> {_root_kind(r.root)}")
        if isinstance(o.root, m.AtLeast) and isinstance(r.root, m.AtLeast) and o.root.n != r.root.n:
            lines.append(f"at_least.n: {o.root.n} -> {r.root.n}")
        # A criterion the set's own list dropped but one of its indications now uses moved.
        now_in = {c: i for c, i in _indicated(new, r).items() if c not in _indicated(old, o)}
        kind = _root_kind(r.root)
        members = members_change(kind, o.root.children, r.root.children)
        dropped = [c for c in o.root.children if c not in r.root.children]
        if dropped and any(c in now_in for c in dropped):
            members = [x for x in members if not x.startswith(f"{kind}: removed ")] + _moved(
                f" ({kind})", dropped, now_in
            )
        lines += members
        # Membership through nesting: criteria that now take part in the set, or no longer do.
        before, after = set_criteria(old, o), set_criteria(new, r)
        direct = set(o.root.children) | set(r.root.children)
        joined = [c for c in after if c not in before and c not in direct]
        left = [c for c in before if c not in after and c not in direct]
        if joined:
            lines.append(f"now part of the set (through nesting): {', '.join(joined)}")
        if left:
            lines += _moved(" (through nesting)", left, now_in)
        # Indications (headings, diagnoses, criteria, durations), applies_to, the set's duration.
        lines += residual_changes("", set_data(o), set_data(r), _SET_WORDED)
        if lines:
            out.append(Change("Requirement sets", name, tuple(lines)))
    return out


def value_set_changes(old: m.PolicySpec, new: m.PolicySpec) -> list[Change]:
    out = []
    old_vs = {v.id: v for v in old.value_sets}
    new_vs = {v.id: v for v in new.value_sets}
    for vid, v in old_vs.items():
        if vid not in new_vs:
            out.append(
                Change(
                    "Value sets",
                    f"{vid}: removed",
                    (f"agents: {', '.join(v.agents) or '-'}; classes: {', '.join(v.classes) or '-'}",),
                )
            )
    for vid, v in new_vs.items():
        if vid not in old_vs:
            out.append(
                Change(
                    "Value sets",
                    f"{vid}: added",
                    (f"agents: {', '.join(v.agents) or '-'}; classes: {', '.join(v.classes) or '-'}",),
                )
            )
            continue
        o = old_vs[vid]
        lines = text_change("description", o.description, v.description)
        lines += members_change("agents", o.agents, v.agents) + members_change("classes", o.classes, v.classes)
        if lines:
            out.append(Change("Value sets", vid, tuple(lines)))
    return out


_METADATA = (
    "id",
    "number",
    "title",
    "payer",
    "section",
    "subsection",
    "effective_date",
    "original_policy_date",
    "last_review_date",
    "description",
    "background",
    "example",
)


_COVERAGE_WORDED = ("applies_to", "medically_necessary", "investigational", "indication")
_DRUG_WORDED = ("brand", "generic", "description")
# The top-level sections of the dumped spec that have their own comparison below; every other
# top-level key (the plan, a future field) is compared generically, so none can be forgotten.
_SECTIONS = {
    "schema_version",
    "drug",
    "coverage",
    "value_sets",
    "criteria",
    "requirements",
    "limits",
    "related_policies",
    "references",
    "history",
    "coverage_waivers",
    "earlier_versions",
}


def _section(spec: m.PolicySpec, key: str) -> dict:
    value = dump_data(spec).get(key, {})
    return value if isinstance(value, dict) else {}


def versioned_changes(old: m.PolicySpec, new: m.PolicySpec) -> list[Change]:
    """The sections an earlier version may replace: coverage, value sets, criteria, requirements."""
    out = []
    lines = []
    for f in _COVERAGE_WORDED:
        lines += text_change(f, getattr(old.coverage, f), getattr(new.coverage, f))
    lines += residual_changes(
        "", _section(old, "coverage"), _section(new, "coverage"), set(_COVERAGE_WORDED)
    )  # other_indications and any later field
    if lines:
        out.append(Change("Coverage", "coverage", tuple(lines)))
    return out + value_set_changes(old, new) + criteria_changes(old, new) + requirement_changes(old, new)


def spec_changes(old: m.PolicySpec, new: m.PolicySpec) -> list[Change]:
    """Every difference between two specs' models, grouped by section, in a stable order.

    Criteria, requirement sets, value sets, durations, codes and history are worded for a
    reader; everything else in the model (and anything a readable comparison does not word) is
    compared on the dumped model (`rxrego.spec.dump.dump_data`), key by key, so every field
    that can change a decision shows up."""
    out = []
    old_data, new_data = dump_data(old), dump_data(new)
    for f in _METADATA:
        a, b = getattr(old, f), getattr(new, f)
        if a != b:
            if isinstance(a, str | None) and isinstance(b, str | None):
                lines = text_change(f, a, b)
            else:
                lines = [f"{f}: {_short(a)} -> {_short(b)}"]
            if lines:
                out.append(Change("Policy", f, tuple(lines)))
    for f in [*old_data, *(k for k in new_data if k not in old_data)]:
        if f in _SECTIONS or f in _METADATA:
            continue
        lines = data_changes(f, old_data.get(f, _ABSENT), new_data.get(f, _ABSENT))
        if lines:
            out.append(Change("Policy", f, tuple(lines)))
    drug = []
    for f in _DRUG_WORDED:
        drug += text_change(f, getattr(old.drug, f), getattr(new.drug, f))
    drug += members_change("hcpcs", old.drug.hcpcs, new.drug.hcpcs) + members_change("ndc", old.drug.ndc, new.drug.ndc)
    drug += residual_changes(
        "", old_data.get("drug", {}), new_data.get("drug", {}), {*_DRUG_WORDED, "hcpcs", "ndc"}
    )  # products: names, NDCs, strengths, routes
    if drug:
        out.append(Change("Drug", "drug", tuple(drug)))
    out += versioned_changes(old, new)
    limits = data_changes("", old_data.get("limits", {}), new_data.get("limits", {}))
    if limits:
        out.append(Change("Limits", "limits", tuple(limits)))
    for f in ("related_policies", "references"):
        lines = members_change(f, getattr(old, f), getattr(new, f))
        if lines:
            out.append(Change("Policy", f, tuple(lines)))
    hist_old = [(h.date, " ".join(h.action.split())) for h in old.history]
    hist_new = [(h.date, " ".join(h.action.split())) for h in new.history]
    hist = [f"added: {d} {a}" for d, a in hist_new if (d, a) not in hist_old]
    hist += [f"removed: {d} {a}" for d, a in hist_old if (d, a) not in hist_new]
    if not hist:  # the same entries, reordered or respaced
        hist = data_changes("history", old_data.get("history", []), new_data.get("history", []))
    if hist:
        out.append(Change("History", "history", tuple(hist)))
    waivers_old = {(w.criterion, w.status): w.reason for w in old.coverage_waivers}
    waivers_new = {(w.criterion, w.status): w.reason for w in new.coverage_waivers}
    waivers = [f"added: {c} {s}" for c, s in waivers_new if (c, s) not in waivers_old]
    waivers += [f"removed: {c} {s}" for c, s in waivers_old if (c, s) not in waivers_new]
    if not waivers:  # the same criteria and statuses; a reason reworded
        waivers = data_changes(
            "coverage_waivers", old_data.get("coverage_waivers", []), new_data.get("coverage_waivers", [])
        )
    if waivers:
        out.append(Change("Coverage waivers", "coverage_waivers", tuple(waivers)))
    out += _earlier_version_changes(old, new)
    if not out and old_data != new_data:  # a difference no comparison above words: still one
        out.append(Change("Spec", "spec", tuple(data_changes("", old_data, new_data))))
    return out


def _earlier_version_changes(old: m.PolicySpec, new: m.PolicySpec) -> list[Change]:
    a = {v.effective_date: v for v in versions_of(old)[1:]}
    b = {v.effective_date: v for v in versions_of(new)[1:]}
    out = []
    for date in sorted(set(a) | set(b), reverse=True):
        if date not in b:
            out.append(Change("Earlier versions", f"effective {date}: removed", ()))
        elif date not in a:
            out.append(Change("Earlier versions", f"effective {date}: added", ()))
        else:
            lines = text_change("note", getattr(a[date], "version_note", None), getattr(b[date], "version_note", None))
            for change in versioned_changes(a[date], b[date]):
                lines += [change.subject, *(f"  {x}" for x in change.lines)]
            if lines:
                out.append(Change("Earlier versions", f"effective {date}", tuple(lines)))
    return out


# --- golden cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseChange:
    case: Case
    old: dict
    new: dict

    def text(self) -> str:
        o, n = _signature(self.old), _signature(self.new)
        line = f"{self.case.name}: {o['outcome']} -> {n['outcome']}"
        details = []
        for key in ("reason", "unmet", "missing", "approval"):
            if o[key] != n[key]:
                details.append(f"{key}: {_show_sig(o[key])} -> {_show_sig(n[key])}")
        return line + (f"  ({'; '.join(details)})" if details else "")


def _show_sig(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return _short(value)


def _ids(items: object) -> tuple:
    return tuple(x.get("id") for x in items if isinstance(x, dict)) if isinstance(items, list) else ()


def _signature(decision: object) -> dict:
    d = decision if isinstance(decision, dict) else {}
    approval = d.get("approval")
    if not isinstance(approval, dict):
        approval = {}
    return {
        "outcome": d.get("outcome"),
        "reason": d.get("reason"),
        "unmet": _ids(d.get("unmet")),
        "missing": _ids(d.get("missing")),
        "approval": approval.get("end"),
    }


def policy_cases(cases_path: str | Path, policy_ids: set[str]) -> tuple[list[Case], list[str]]:
    """The golden cases for the policy (by id) under `cases_path`, and the files they came from."""
    cases: list[Case] = []
    files = []
    for path in find_case_files([cases_path]):
        try:
            suite = load_case_file(path)
        except SpecError as exc:
            raise InputError(
                "\n".join(str(i) for i in exc.issues) + f"\n{len(exc.issues)} error(s) in the case files"
            ) from None
        if suite.policy in policy_ids:
            cases.extend(suite.cases)
            files.append(suite.path)
    return cases, files


def _with(others: Sequence[m.PolicySpec], spec: m.PolicySpec, drop: set[str]) -> list[m.PolicySpec]:
    return sorted([s for s in others if s.id not in drop] + [spec], key=lambda s: s.id)


def decide_all(specs: Sequence[m.PolicySpec], requests: list, modules: dict[int, dict[str, str]] | None = None) -> list:
    """Generate Rego for `specs` into a scratch folder and decide `requests` in ONE opa eval.

    The Rego is rendered, not formatted or checked (`rxrego generate` does that; opa eval
    compiles it, and a compile error is an OpaError). `modules`: gen.render's cache of each
    spec's modules, shared between calls that decide under mostly the same specs."""
    files = gen.render(specs, modules=modules)
    with tempfile.TemporaryDirectory(prefix="rxrego-diff-") as tmp:
        out = Path(tmp) / "rego"
        gen.write(files, out)
        return opa.eval_batch(out, opa.DECIDE_EACH, {"requests": requests})["value"]


def case_changes(
    old: m.PolicySpec, new: m.PolicySpec, others: Sequence[m.PolicySpec], cases: Sequence[Case]
) -> list[CaseChange]:
    """The cases whose outcome, reason, unmet or missing ids, or approval end differ."""
    if not cases:
        return []
    drop = {old.id, new.id}
    requests = [c.request for c in cases]
    modules: dict[int, dict[str, str]] = {}  # the other policies are rendered once
    before = decide_all(_with(others, old, drop), requests, modules)
    after = decide_all(_with(others, new, drop), requests, modules)
    return [CaseChange(c, a, b) for c, a, b in zip(cases, before, after, strict=True) if _signature(a) != _signature(b)]
