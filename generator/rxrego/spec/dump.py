"""The model back to plain data in the spec's YAML shape, so load(dump(load(x))) == load(x)."""

from __future__ import annotations

import hashlib
import json

from . import model as m


def _combinator_data(t) -> dict:
    if isinstance(t, m.AllOf):
        return {"all_of": list(t.children)}
    if isinstance(t, m.AnyOf):
        return {"any_of": list(t.children)}
    if isinstance(t, m.AtLeast):
        return {"at_least": {"n": t.n, "of": list(t.children)}}
    if isinstance(t, m.Conditional):
        return {"when": list(t.when), "then": list(t.then)}
    if isinstance(t, m.Negation):
        return {"not": t.child}
    raise TypeError(t)


def criterion_data(c: m.Criterion) -> dict:
    out: dict = {"text": c.text}
    if c.note is not None:
        out["note"] = c.note
    if c.question is not None:
        out["question"] = c.question
    if c.documentation:
        out["documentation"] = list(c.documentation)
    if isinstance(c.test, m.Kind):
        out[c.kind] = c.test.dump()
    else:
        out.update(_combinator_data(c.test))
    return out


def _drop_empty(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, [], {}, ())}


def dump_data(spec: m.PolicySpec) -> dict:
    data = {
        "schema_version": 1,
        "id": spec.id,
        "number": spec.number,
        "title": spec.title,
        "payer": spec.payer,
        "plan": spec.plan,
        "example": spec.example or None,
        "section": spec.section,
        "subsection": spec.subsection,
        "effective_date": spec.effective_date,
        "original_policy_date": spec.original_policy_date,
        "last_review_date": spec.last_review_date,
        "drug": _drop_empty(
            {
                "brand": spec.drug.brand,
                "generic": spec.drug.generic,
                "description": spec.drug.description,
                "hcpcs": list(spec.drug.hcpcs),
                "ndc": list(spec.drug.ndc),
                "products": {
                    p.id: _drop_empty(
                        {
                            "name": p.name,
                            "kind": None if p.kind == "brand" else p.kind,
                            "generic": p.generic,
                            "hcpcs": list(p.hcpcs),
                            "ndc": list(p.ndc),
                            "strengths": list(p.strengths),
                            "routes": list(p.routes),
                        }
                    )
                    for p in spec.drug.products
                },
            }
        ),
        "description": spec.description,
        "background": spec.background,
        "related_policies": list(spec.related_policies),
        "references": list(spec.references),
        "history": [{"date": h.date, "action": h.action} for h in spec.history],
        **_versioned(spec),
        "limits": _drop_empty({"pre_pa_allowance": spec.limits.pre_pa_allowance, "quantity": spec.limits.quantity}),
        "coverage_waivers": [
            {"criterion": w.criterion, "status": w.status, "reason": w.reason} for w in spec.coverage_waivers
        ],
        "earlier_versions": [
            _version_data(v, newer) for newer, v in zip(spec.versions[:-1], spec.earlier_versions, strict=True)
        ],
    }
    return _drop_empty(data)


def _version_data(version: m.PolicySpec, newer: m.PolicySpec) -> dict:
    """An earlier version as an author writes it: the sections that differ from the version
    above it (a given section replaces that section whole on loading)."""
    mine, theirs = _versioned(version), _versioned(newer)
    out = {"effective_date": version.effective_date}
    if version.version_note is not None:
        out["note"] = version.version_note
    for key in ("coverage", "value_sets", "criteria", "requirements"):
        if mine.get(key) != theirs.get(key):
            out[key] = mine.get(key, {})
    return out


def _versioned(spec: m.PolicySpec) -> dict:
    """The sections an earlier version may replace, as data."""
    return _drop_empty(
        {
            "coverage": _drop_empty(
                {
                    "applies_to": spec.coverage.applies_to,
                    "medically_necessary": spec.coverage.medically_necessary,
                    "investigational": spec.coverage.investigational,
                    "indication": spec.coverage.indication,
                    "other_indications": None
                    if spec.coverage.other_indications is None
                    else _drop_empty(
                        {
                            "outcome": spec.coverage.other_indications.outcome,
                            "statement": spec.coverage.other_indications.statement,
                        }
                    ),
                }
            ),
            "value_sets": {
                v.id: _drop_empty({"description": v.description, "agents": list(v.agents), "classes": list(v.classes)})
                for v in spec.value_sets
            },
            "criteria": {c.id: criterion_data(c) for c in spec.criteria},
            "requirements": {r.name: set_data(r) for r in spec.requirements},
        }
    )


def _duration_data(d: m.Duration | None) -> dict | None:
    if d is None:
        return None
    out: dict = {}
    if d.months is not None:
        out["months"] = d.months
    if d.weeks is not None:
        out["weeks"] = d.weeks
    if d.plan_year_start is not None:
        out["plan_year"] = {"starts": d.plan_year_start}
    if d.lifetime_cap_months is not None:
        out["lifetime_cap_months"] = d.lifetime_cap_months
    return out


def set_data(r: m.RequirementSet) -> dict:
    """A requirement set as the spec writes it (its title, combinator or indications, durations)."""
    if not r.indications:
        out = {"title": r.title, "duration_months": r.duration_months, **_combinator_data(r.root)}
    else:
        out = {
            "title": r.title,
            "all_of": list(r.root.children),
            "indications": {
                i.id: _drop_empty(
                    {
                        "heading": i.heading,
                        "diagnosis": i.diagnosis,
                        "all_of": list(i.all_of),
                        "duration": _duration_data(i.duration),
                        "duration_when": [{"criterion": c, **(_duration_data(d) or {})} for c, d in i.duration_when],
                    }
                )
                for i in r.indications
            },
        }
        if r.duration_months is not None:
            out["duration_months"] = r.duration_months
    if r.applies_to:
        out["applies_to"] = list(r.applies_to)
    if r.duration is not None:
        out["duration"] = _duration_data(r.duration)
    return _drop_empty(out) if r.indications else out


def content_version(spec: m.PolicySpec) -> str:
    """The version of a model as decisions report it (`policy.version`): "sha256:" and the
    first 16 hex digits of the SHA-256 of `dump_data(spec)` as canonical JSON (sorted keys, no
    spaces, UTF-8). Comment-only or layout-only edits of the YAML leave it unchanged."""
    canonical = json.dumps(dump_data(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
