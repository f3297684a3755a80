"""Each criterion's encoded rule in plain words, for reviewing a spec against the document.

`rxrego render` prints these beside the author's wording, so a reviewer reads both: what the
document says and what the Rego will decide. Where the wording says "2 of the following" and
the encoding `at_least: 1`, the rule line says "at least 1 of the 3 criteria below".

What a rule line shows:

- a leaf: what it checks (`describe_test`, the same words `explain` uses), and spelled out
  what the words only name: ICD-10-CM codes with their descriptions from the ICD-10-CM code
  set (`rxrego.terminology.icd10cm`, the `simple-icd-10-cm` release) and the billable codes
  under a category, the codes a range FIRST-LAST names, the exceptions (`except`), the members of a value set (agents and classes), specialties;
- a combinator: how many of its children it requires, of how many;
- a conditional: the criteria that switch it on and what it then requires.

Descriptions come from the code set, never from the spec, so a code the spec names wrongly
shows the code set's words (or that the code is not in ICD-10-CM).
"""

from __future__ import annotations

import functools

from ..spec import model as m
from .common import count_word, describe_test, documentation_line

MAX_CODES_SHOWN = 8


@functools.cache
def icd10_line(prefix: str) -> str:
    """'C91.0 Acute lymphoblastic leukemia [ALL] (codes C91.00 ..., C91.01 ..., C91.02 ...)'."""
    from ..terminology import icd10cm

    if icd10cm.is_range(prefix):
        return _range_line(prefix)
    code = icd10cm.canonical(prefix)
    if not icd10cm.well_formed(code) or not icd10cm.exists(code):
        return f"{prefix}: not an ICD-10-CM code (no such code in the code set)"
    line = f"{code} {icd10cm.description(code)}"
    below = [c for c in icd10cm.descendants(code) if c != code]
    leaves = [c for c in below if not icd10cm.descendants(c) or icd10cm.descendants(c) == (c,)] or below
    if leaves:
        shown = "; ".join(f"{c} {icd10cm.description(c)}" for c in leaves[:MAX_CODES_SHOWN])
        more = f"; and {len(leaves) - MAX_CODES_SHOWN} more" if len(leaves) > MAX_CODES_SHOWN else ""
        line += f" (any code under it: {shown}{more})"
    return line


def _range_line(entry: str) -> str:
    """'I20-I25 (6 codes, each with the codes under it: I20 Angina pectoris; ...)', or why
    the range cannot be read (the message `check` gives)."""
    from ..terminology import icd10cm

    try:
        heads = icd10cm.range_heads(entry)
    except icd10cm.CodeError as exc:
        return f"{entry}: not an ICD-10-CM range ({exc})"
    shown = "; ".join(f"{c} {icd10cm.description(c)}" for c in heads[:MAX_CODES_SHOWN])
    more = f"; and {len(heads) - MAX_CODES_SHOWN} more" if len(heads) > MAX_CODES_SHOWN else ""
    return f"{entry} ({len(heads)} codes, each with the codes under it: {shown}{more})"


def _members(spec: m.PolicySpec, vid: str) -> str:
    vs = next((v for v in spec.value_sets if v.id == vid), None)
    if vs is None:
        return f"value set {vid}"
    parts = []
    if vs.agents:
        parts.append(", ".join(vs.agents))
    if vs.classes:
        parts.append("any agent of class " + " or ".join(vs.classes))
    return f"value set {vid}: " + "; ".join(parts)


def _ids(spec: m.PolicySpec, ids) -> str:
    return ", ".join(f"“{spec.criterion(i).text}”" for i in ids)


def rule_lines(spec: m.PolicySpec, cid: str) -> list[str]:
    """The encoded rule of one criterion, one or more lines of plain words."""
    c = spec.criterion(cid)
    t = c.test
    if isinstance(t, m.AtLeast):
        n, of = t.n, len(t.children)
        return [f"met when at least {n} ({count_word(n)}) of the {of} criteria below {'is' if n == 1 else 'are'} met"]
    if isinstance(t, m.AnyOf):
        return [f"met when at least 1 (ONE) of the {len(t.children)} criteria below is met"]
    if isinstance(t, m.AllOf):
        n = len(t.children)
        return ["met when both criteria below are met" if n == 2 else f"met when all {n} criteria below are met"]
    if isinstance(t, m.Conditional):
        return [
            f"applies only when all of these hold: {_ids(spec, t.when)}; otherwise met",
            f"then requires all of: {_ids(spec, t.then)}",
        ]
    if isinstance(t, m.Negation):
        return [
            f"met when {_ids(spec, [t.child])} is unmet, unmet when it is met; unknown and invalid stay as they are"
        ]
    lines = [describe_test(spec, t)]
    if c.documentation:
        lines.append(documentation_line(c))
    icd10 = getattr(t, "icd10", None)
    if icd10:
        lines += [f"ICD-10-CM {icd10_line(code)}" for code in icd10]
        # Exceptions: not covered, nor the codes above them (docs/semantics.md, diagnosis).
        lines += [f"ICD-10-CM except {icd10_line(code)}" for code in getattr(t, "exceptions", ())]
    vid = getattr(t, "value_set", None)
    if isinstance(vid, str):
        lines.append(_members(spec, vid))
    return lines
