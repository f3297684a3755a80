"""A spec as a readable policy document, laid out like the payer's document.

The requirement sets are turned into an outline first (`outline`): the document's preamble
(age lines, then "Diagnosis / Patient must have the following / <indication>"), then "AND ALL
of the following:" and the numbered criteria, each combinator with its wording ("Patient must
have at least ONE of the following:", "If <when>, then:"). The Markdown and the HTML templates
(templates/render_policy.*.j2) only lay that outline out. HTML is autoescaped: every spec
string is escaped, so a spec cannot inject markup into the page.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup, escape

from ..prose import counted
from ..spec import model as m
from ..spec.dump import content_version
from .common import combinator_phrase, long_date, versions_of

FORMATS = ("md", "html")


@dataclass
class Block:
    """A lead line and the items under it ("Patient must have ALL of the following:" + list)."""

    lead: str
    items: list[Node]


@dataclass
class Node:
    id: str
    text: str
    kind: str
    label: str = ""
    blocks: list[Block] = field(default_factory=list)
    rule: list[str] = field(default_factory=list)  # the encoded rule in plain words (author/rules.py)


@dataclass
class SetOutline:
    name: str
    title: str
    duration_months: int | str | None  # months, or a phrase (per indication); None: not stated in months
    limits_title: str
    preamble: list[Node]  # leading lines of a preamble kind (age), shown unnumbered like the document
    indication: Node | None  # the covered diagnosis, shown under "Diagnosis"
    main: Block | None  # "AND ALL of the following:" and the numbered criteria


# --- outline ---------------------------------------------------------------------------------

_LABELS = ("decimal", "alpha", "roman", "decimal")


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out += numeral
            n -= value
    return out


def label(level: int, i: int) -> str:
    """The document's numbering: 1. / a. / i. / 1) by depth."""
    style = _LABELS[min(level, len(_LABELS) - 1)]
    if style == "alpha":
        return f"{chr(ord('a') + (i - 1) % 26)}."
    if style == "roman":
        return f"{_roman(i)}."
    return f"{i}." if level == 0 else f"{i})"


def _node(spec: m.PolicySpec, cid: str, level: int, index: int) -> Node:
    from .rules import rule_lines

    c = spec.criterion(cid)
    node = Node(cid, c.text, c.kind, label(level, index), rule=rule_lines(spec, cid))
    t = c.test
    if isinstance(t, m.AllOf | m.AnyOf | m.AtLeast):
        node.blocks.append(Block(f"Patient must have {combinator_phrase(t)}:", _items(spec, t.children, level + 1)))
    elif isinstance(t, m.Conditional):
        condition = " AND ".join(spec.criterion(w).text for w in t.when)
        then = " ALL of the following" if len(t.then) > 1 else ""
        node.blocks.append(Block(f"If {condition}, then{then}:", _items(spec, t.then, level + 1)))
        for w in t.when:  # a condition that is itself a combinator: say what it means
            wt = spec.criterion(w).test
            if isinstance(wt, m.AllOf | m.AnyOf | m.AtLeast):
                lead = f"where “{spec.criterion(w).text}” means {combinator_phrase(wt)}:"
                node.blocks.append(Block(lead, _items(spec, wt.children, level + 1)))
            elif isinstance(wt, m.Conditional | m.Negation):
                node.blocks.append(Block(f"where “{spec.criterion(w).text}” means:", [_node(spec, w, level + 1, 1)]))
    elif isinstance(t, m.Negation):
        node.blocks.append(Block("Patient must NOT have the following:", _items(spec, (t.child,), level + 1)))
    return node


def _items(spec: m.PolicySpec, ids, level: int) -> list[Node]:
    return [_node(spec, cid, level, i) for i, cid in enumerate(ids, 1)]


def _unlabelled(node: Node) -> Node:
    node.label = ""
    return node


def limits_title(title: str) -> str:
    """'Prior-Approval Requirements' -> 'Prior-Approval Limits' (the document's headings)."""
    if re.search(r"Requirements\s*$", title):
        return re.sub(r"Requirements\s*$", "Limits", title)
    return f"{title}: Limits"


def duration_text(d: m.Duration | None) -> str:
    """An approval duration in words: '7 months', 'to the end of the plan year (from 07-01)',
    'no end stated', and the lifetime cap."""
    if d is None:
        return "no end stated"
    if d.weeks is not None:
        text = counted(d.weeks, "week")
    elif d.months is not None:
        text = months(d.months)
    else:
        text = f"to the end of the plan year (starting {d.plan_year_start})"
    if d.lifetime_cap_months is not None:
        text += f", within a lifetime cap of {months(d.lifetime_cap_months)}"
    return text


def _indications_outline(spec: m.PolicySpec, rs: m.RequirementSet) -> SetOutline:
    """A set written with indications: each indication, its duration and its criteria."""
    items = []
    for i, ind in enumerate(rs.indications, 1):
        durations = duration_text(rs.duration_of(ind))
        for cid, d in ind.duration_when:
            durations += f"; {duration_text(d)} when “{spec.criterion(cid).text}”"
        node = Node(ind.id, f"{ind.heading} (approval: {durations})", "indication", f"{i}.")
        node.blocks.append(Block("ALL of the following:", _items(spec, rs.indication_root(ind).children, 1)))
        items.append(node)
    lead = "The request's diagnosis selects ONE of these indications; its criteria apply:"
    dur = rs.duration_months if rs.duration_months is not None else "per indication (see each)"
    return SetOutline(rs.name, rs.title, dur, limits_title(rs.title), [], None, Block(lead, items))


def outline(spec: m.PolicySpec) -> list[SetOutline]:
    out = []
    for rs in spec.requirements:
        if rs.indications:
            out.append(_indications_outline(spec, rs))
            continue
        preamble: list[Node] = []
        indication: Node | None = None
        rest = list(rs.root.children)
        if isinstance(rs.root, m.AllOf):
            # The document opens with the age lines and the diagnosis, then "AND ALL of the following".
            while rest:
                c = spec.criterion(rest[0])
                if isinstance(c.test, m.Kind) and c.test.preamble:
                    preamble.append(_unlabelled(_node(spec, rest.pop(0), 0, 1)))
                elif c.id == spec.coverage.indication and indication is None:
                    indication = _unlabelled(_node(spec, rest.pop(0), 0, 1))
                else:
                    break
            opened = preamble or indication
            lead = "AND ALL of the following:" if opened else "Patient must have ALL of the following:"
        else:
            lead = f"Patient must have {combinator_phrase(rs.root)}:"
        main = Block(lead, _items(spec, rest, 0)) if rest else None
        out.append(
            SetOutline(rs.name, rs.title, rs.duration_months, limits_title(rs.title), preamble, indication, main)
        )
    return out


# --- rendering ---------------------------------------------------------------------------------

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def md_text(text: object) -> str:
    """Spec text for Markdown: whitespace folded, and '<' escaped where it could open raw HTML."""
    return _TAG_START.sub(r"\\<", " ".join(str(text).split()))


def md_cell(text: object) -> str:
    return md_text(text).replace("|", "\\|")


def md_items(block: Block, indent: int = 0, rules: bool = False) -> str:
    """A block's items as nested Markdown lists: numbered at the top, labelled bullets below;
    with `rules`, each item's encoded rule as an italic line under it."""
    lines = []
    pad = " " * indent
    for node in block.items:
        marker = f"{node.label} " if indent == 0 else f"- {node.label} "
        lines.append(f"{pad}{marker}{md_text(node.text)}")
        sub = pad + " " * len(marker)
        if rules:
            lines += [f"{sub}<br>*Rule:* {md_text(r)}" for r in node.rule]
        for b in node.blocks:
            lines.append(f"{sub}- {md_text(b.lead)}")
            lines.append(md_items(b, len(sub) + 2, rules))
    return "\n".join(lines)


def emphasize(text: str, *words: str, html: bool) -> str:
    """The document's bold words ('medically necessary', 'investigational'), safely."""
    if html:
        out = str(escape(" ".join(text.split())))
        for w in words:
            out = out.replace(str(escape(w)), f"<strong>{escape(w)}</strong>")
        return Markup(out)
    out = md_text(text)
    for w in words:
        out = out.replace(w, f"**{w}**")
    return out


def months(n: int | str) -> str:
    if isinstance(n, str):
        return n
    return counted(n, "month")


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rxrego", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        md=md_text, md_cell=md_cell, md_items=md_items, long_date=long_date, months=months, emphasize=emphasize
    )
    return env


def render(spec: m.PolicySpec, fmt: str, *, notes: bool = False, rules: bool = True) -> str:
    """The policy document for `spec` (its current version) as Markdown or HTML. With
    `rules` (the default) each criterion's encoded rule is shown beside its wording (HTML: in
    a second column; Markdown: an italic line under it), for review against the document;
    without, the document alone."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    earlier = [v.effective_date for v in versions_of(spec)[1:]]
    notes_list = [(c.id, c.text, c.note) for c in spec.criteria if c.note] if notes else []
    return (
        _env()
        .get_template(f"render_policy.{fmt}.j2")
        .render(
            spec=spec,
            version=content_version(spec),
            sets=outline(spec),
            earlier=earlier,
            notes=notes,
            rules=rules,
            criterion_notes=notes_list,
            value_sets=spec.value_sets if notes else (),
            other_indications=_other_indications(spec),
        )
    )


def _other_indications(spec: m.PolicySpec) -> str:
    """What the policy does outside its indications, in words."""
    other = spec.coverage.other_indications
    if other is None:
        return ""
    said = {
        "investigational": "investigational",
        "not_covered": "not covered",
        "pend_for_review": "referred for review",
    }[other.outcome]
    return f"{said}. {other.statement}" if other.statement else f"{said} (the policy states no sentence of its own)."
