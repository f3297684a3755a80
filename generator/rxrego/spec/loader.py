"""Load and validate policy specs: YAML -> JSON Schema -> cross-reference checks -> typed model.

Every stage collects all of its issues before raising, so an author sees every mistake in
one run. Nothing downstream of this module reads YAML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import json
import multiprocessing as mp
import os
import re
import threading
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .. import limits
from ..schemacheck import CompiledSchema
from ..terminology import icd10cm, ucum
from ..terminology.hcpcs import unclassified
from ..terminology.ndc import ndc_11
from . import cache
from . import model as m
from .errors import SpecError, SpecIssue, describe, format_path
from .kinds import assemble_spec_schema
from .yamlsource import Located, decode, parse, read_bytes

SPEC_SUFFIXES = (".yaml", ".yml")


@functools.cache
def spec_schema() -> dict:
    """The policy-spec JSON Schema, its criterion kinds as the registry declares them (a test
    keeps the file, which editors read, equal to this)."""
    return assemble_spec_schema(
        json.loads(resources.files("rxrego.schemas").joinpath("policy-spec.schema.json").read_text())
    )


@functools.cache
def _validator() -> CompiledSchema:
    """The spec schema compiled (a valid spec costs ~0.1 ms, not jsonschema's ~20 ms) once
    32 specs were checked: compiling costs seconds, more than a dozen specs cost jsonschema,
    so `check` or `diff` of a few specs never pays it and the studio does. jsonschema still
    finds and words every error (rxrego.schemacheck). The schema itself is checked by a test
    (tests/test_schemacheck.py), not in every process."""
    return CompiledSchema(spec_schema(), check=False, compile_after=32)


def display_path(path: Path) -> str:
    """A path as the author typed it: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_specs(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files named by `paths`: files as given, folders searched recursively, sorted."""
    found: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        named = sorted(q for q in p.rglob("*") if q.suffix in SPEC_SUFFIXES and q.is_file()) if p.is_dir() else [p]
        for q in named:
            # A file named twice (its folder and itself) is one spec, not a clash with itself.
            if q.resolve() not in seen:
                seen.add(q.resolve())
                found.append(q)
    return found


def load_spec(path: str | Path) -> m.PolicySpec:
    """Load one spec file, or raise SpecError with every issue in it."""
    return _load_located(Path(path))[0]


def _load_located(path: Path) -> tuple[m.PolicySpec, Located]:
    """The spec in `path` and the positions cross-file messages need (_cross_file_positions),
    from the content-keyed cache when it is on and holds this file (rxrego.spec.cache);
    SpecError with every issue in the file (errors are never cached). With the cache off
    no key is computed (the spec's source_digest stays "")."""
    display = display_path(path)
    raw = read_bytes(path, display)
    if cache.directory() is None:
        located = parse(decode(raw, display), display)
        return from_data(located), _cross_file_positions(located)
    digest = cache.key("spec", display, raw)
    hit = cache.get("spec", digest)
    if isinstance(hit, tuple) and len(hit) == 2 and isinstance(hit[0], m.PolicySpec):
        return hit
    located = parse(decode(raw, display), display)
    spec = dataclasses.replace(from_data(located), source_digest=digest)
    positions = _cross_file_positions(located)
    cache.put("spec", digest, (spec, positions))
    return spec, positions


# The top-level keys under which _cross_spec_issues reports (the id and the drug's codes).
_CROSS_FILE_KEYS = frozenset({"id", "drug"})


def _cross_file_positions(located: Located) -> Located:
    """`located` without its data and with the positions of `id`, `drug` and what is under
    them alone: all _cross_spec_issues reads (Located.position looks up a path and its
    prefixes, so it answers those paths as the whole would), a tenth of the whole to keep."""
    return Located(
        located.file,
        None,
        {p: v for p, v in located.values.items() if not p or p[0] in _CROSS_FILE_KEYS},
        {p: v for p, v in located.keys.items() if p and p[0] in _CROSS_FILE_KEYS},
    )


def load_specs(paths: Iterable[str | Path]) -> list[m.PolicySpec]:
    """Load every spec under `paths`; raises one SpecError with the issues of all files.

    Also checks what only shows across files: two specs with one id, one Rego package,
    or one drug code. A large catalog is loaded by worker processes (`load_jobs`); the
    result, and every issue, is the same as one process loading each file in turn.
    """
    loaded: list[tuple[m.PolicySpec, Located]] = []
    issues: list[SpecIssue] = []
    files = find_specs(paths)
    for outcome in _load_each(files, load_jobs(len(files))):
        if isinstance(outcome, SpecError):
            issues.extend(outcome.issues)
        else:
            loaded.append(outcome)
    issues.extend(_cross_spec_issues(loaded))
    if issues:
        raise SpecError(issues)
    return sorted((spec for spec, _ in loaded), key=lambda s: s.id)


# Below this many files one process loads them: a worker's start costs more than it saves.
PARALLEL_FROM = 64
JOBS_ENV = "RXREGO_JOBS"


class JobsError(ValueError):
    """RXREGO_JOBS is set to something other than a positive whole number."""


def load_jobs(files: int) -> int:
    """How many processes load `files` spec files: 1 below PARALLEL_FROM files or in a
    process running other threads (forking one is not safe), else the CPUs this process may
    use, or RXREGO_JOBS when set (a positive integer; 1 turns workers off; JobsError for
    anything else), and never more than one per PARALLEL_FROM // 2 files."""
    raw = os.environ.get(JOBS_ENV, "").strip()
    if raw:
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # "²" is a digit to isdigit alone
            raise JobsError(f"{JOBS_ENV}={raw!r}: expected a positive whole number of processes (1: no workers)")
        wanted = int(raw)
    else:
        wanted = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if files < PARALLEL_FROM or threading.active_count() > 1 or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(wanted, files // (PARALLEL_FROM // 2)))


def _load_or_error(path: Path) -> tuple[m.PolicySpec, Located] | SpecError:
    try:
        return _load_located(path)
    except SpecError as exc:
        return exc


def _load_each(files: list[Path], jobs: int) -> list[tuple[m.PolicySpec, Located] | SpecError]:
    """Each file's (spec, positions) or its SpecError, in the order of `files`. With jobs > 1,
    worker processes forked from this one each load a share of the files in turn, sharing
    what this one read first: the compiled schema, the ICD-10-CM code set and the UCUM
    registry (each costs seconds: read once here, not once a worker, and kept for what this
    process does next). With the spec cache on, a file it holds needs none of them, so
    they are read only by a worker that loads a file afresh."""
    if jobs <= 1:
        return [_load_or_error(path) for path in files]
    if cache.directory() is None:
        _validator().compile()
        icd10cm.load()
        ucum.load()
    chunk = max(1, len(files) // (jobs * 8))  # small shares: one slow file delays no worker long
    with mp.get_context("fork").Pool(jobs) as pool:
        return pool.map(_load_or_error, files, chunksize=chunk)


def _cross_spec_issues(loaded: list[tuple[m.PolicySpec, Located]]) -> list[SpecIssue]:
    """Each identifier claimed twice, reported at the later claim and naming the first."""
    issues = []
    claims: dict[tuple[str, str], tuple[m.PolicySpec, Located, tuple]] = {}
    for spec, located in loaded:
        drug = spec.drug
        keys: list[tuple[tuple[str, str], tuple]] = [
            (("id", spec.id), ("id",)),
            (("Rego package", spec.package), ("id",)),
        ]
        keys += [(("HCPCS code", c), ("drug", "hcpcs", i)) for i, c in enumerate(drug.hcpcs)]
        keys += [(("NDC", ndc_11(c)), ("drug", "ndc", i)) for i, c in enumerate(drug.ndc)]
        keys += [
            (("drug name", n.lower()), ("drug", f)) for f, n in (("brand", drug.brand), ("generic", drug.generic)) if n
        ]
        for pid, p in ((p.id, p) for p in drug.products):
            keys += [(("HCPCS code", c), ("drug", "products", pid, "hcpcs", i)) for i, c in enumerate(p.hcpcs)]
            keys += [(("NDC", ndc_11(c)), ("drug", "products", pid, "ndc", i)) for i, c in enumerate(p.ndc)]
        for key, path in keys:
            # A drug's identifiers may be claimed once per plan (each payer's own policy).
            if key[0] in ("HCPCS code", "NDC", "drug name"):
                key = (key[0], key[1], spec.plan)  # type: ignore[assignment]
            other, other_loc, other_path = claims.setdefault(key, (spec, located, path))
            if other is spec:
                if key[0] == "NDC" and other_path != path:
                    # An NDC names one package of one product; HCPCS codes and names may be
                    # shared by a policy's products (J1745 bills several infliximab products).
                    issues.append(
                        located.issue(
                            path,
                            f"NDC {key[1]} (as 11 digits) is also listed at {format_path(other_path)}, "
                            f"line {located.position(other_path)[0]}: an NDC names one package of one product",
                        )
                    )
                continue
            if key[0] == "Rego package" and other.id == spec.id:
                continue  # the same id, already reported
            line = other_loc.position(other_path)[0]
            issues.append(
                located.issue(
                    path,
                    f"{key[0]} {key[1]!r}{' (as 11 digits)' if key[0] == 'NDC' else ''} is also claimed by "
                    f"{other.source}:{line} ({other.id}); "
                    "each must name one policy",
                )
            )
    return issues


def from_data(located: Located) -> m.PolicySpec:
    """The typed model of a parsed spec, or SpecError with every issue in it.

    The meaning checks (dates, references, value sets, cycles, ...) run even when the JSON
    Schema found mistakes, each criterion, requirement set and section on its own, so one
    mistake (a missing `text`, an unknown key) does not hide the others. Where the schema
    already reported a field, a meaning check of the same field is not repeated."""
    schema = without_placeholders(_schema_issues(located), placeholder_issues(located))
    tolerant = bool(schema)
    views = _recover(tolerant, lambda: _earlier_versions(located), [])
    issues = (
        _semantic_issues(located, tolerant=tolerant)
        + _recover(tolerant, lambda: _version_date_issues(located), [])
        + _recover(tolerant, lambda: _routing_issues(located), [])
    )
    for view in views:
        issues += _semantic_issues(
            view, check_unused=view.origins["criteria"] == view.origins["requirements"], tolerant=tolerant
        )
    if schema or issues:
        raise SpecError(schema + _not_repeated(schema, issues))
    assert isinstance(located.data, dict)  # the schema passed: the document is a mapping
    current = _build(located.data, located.file)
    earlier = tuple(
        dataclasses.replace(
            _build(view.data, located.file), version_note=view.note, package_suffix=_suffix(view.data["effective_date"])
        )
        for view in views
    )
    return dataclasses.replace(current, earlier_versions=earlier)


def _routing_issues(located: Located) -> list[SpecIssue]:
    """Each unclassified / NOC HCPCS code (J3490, J3590, J9999, ...) the drug or a product
    lists: billed for many drugs, it would route every request carrying it to this policy,
    whatever the drug (rxrego.terminology.hcpcs)."""
    d = located.data
    drug = d.get("drug") if isinstance(d, dict) else None
    if not isinstance(drug, dict):
        return []
    # A code beside the drug's (or product's) own NDCs is accepted: `check` warns of it
    # (noc_warnings), and a request giving an NDC of another drug with it is refused.
    where: list[tuple[tuple, object]] = []
    if not _list(drug.get("ndc")):
        where += [(("drug", "hcpcs", i), c) for i, c in enumerate(_list(drug.get("hcpcs")))]
    products = drug.get("products")
    for pid, p in products.items() if isinstance(products, dict) else ():
        if isinstance(p, dict) and not _list(p.get("ndc")):
            where += [(("drug", "products", pid, "hcpcs", i), c) for i, c in enumerate(_list(p.get("hcpcs")))]
    issues = []
    for path, code in where:
        descriptor = unclassified(code) if isinstance(code, str) else None
        if descriptor:
            issues.append(
                located.issue(
                    path,
                    f"{code} is a HCPCS code for no one drug ({descriptor}): any drug without a code of its own is "
                    f"billed under it, so routing by it alone would send other drugs' requests to this policy. "
                    f"Route by the drug's NDCs (ndc beside it: a claim billed under {code} carries the NDC) and "
                    "its brand and generic names, or drop the code and say in a comment that the policy lists it",
                )
            )
    return issues


def noc_warnings(spec: m.PolicySpec) -> list[str]:
    """What `check` warns of: each unclassified / NOC HCPCS code the spec routes by beside
    NDCs (refused without them: _routing_issues)."""
    listed = [("drug.hcpcs", c) for c in spec.drug.hcpcs]
    listed += [(f"drug.products.{p.id}.hcpcs", c) for p in spec.drug.products for c in p.hcpcs]
    return [
        f"{spec.source}: {where}: {code} ({unclassified(code)}) is billed for many drugs: a request giving only "
        "this code reaches this policy whatever the drug; requests should carry the NDC"
        for where, code in listed
        if unclassified(code)
    ]


PLACEHOLDER = re.compile(r"\bTODO\b")


def placeholder_issues(located: Located) -> list[SpecIssue]:
    """Every text that still holds a TODO placeholder (`rxrego new` writes them where the
    document must be read): a spec or case file is not done until each is replaced."""
    issues: list[SpecIssue] = []
    stack: list[tuple[tuple, object]] = [((), located.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        elif isinstance(value, str) and PLACEHOLDER.search(value):
            issues.append(located.issue(path, _placeholder_message(value)))
    return sorted(issues, key=lambda i: (i.line, i.column))


def _placeholder_message(value: str) -> str:
    """What to write in place of a TODO: the words after it, which `rxrego new` writes to
    say what the document gives there (shown whole, up to 200 characters)."""
    hint = PLACEHOLDER.split(value, maxsplit=1)[1].strip(" :-") if PLACEHOLDER.search(value) else ""
    if len(hint) > 200:
        hint = hint[:197] + "..."
    if not hint:
        return f"placeholder left to fill in: {describe(value)}; replace the TODO from the policy document"
    return f"placeholder left to fill in from the policy document: {hint}"


def without_placeholders(schema: list[SpecIssue], placeholders: list[SpecIssue]) -> list[SpecIssue]:
    """The placeholder issues, then the schema issues of every other field: a TODO in a
    date, a number or a choice is reported once, as the placeholder it is, not also as a
    value of the wrong type."""
    held = {(i.file, i.path) for i in placeholders}
    return placeholders + [i for i in schema if (i.file, i.path) not in held]


# A check that meets a shape the JSON Schema has already reported (a list where a mapping
# belongs, a missing key) stops there; the schema's issue says what is wrong.
_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError)


def _recover(tolerant: bool, check, default):
    """`check()`, or `default` when it fails on a malformed shape and `tolerant` (the schema
    found mistakes). Without schema mistakes a failure is a bug and propagates."""
    try:
        return check()
    except _SHAPE_ERRORS:
        if not tolerant:
            raise
        return default


def _not_repeated(schema: list[SpecIssue], issues: list[SpecIssue]) -> list[SpecIssue]:
    """Meaning issues minus those that restate a schema issue: the same field, or "no test"
    for a criterion whose test's key is misspelled (reported as an unknown field)."""
    schema_paths = {(i.file, i.path) for i in schema}
    misspelled = {(i.file, i.path.rsplit(".", 1)[0]) for i in schema if i.message.startswith("unknown field")}
    return [
        i
        for i in issues
        if (i.file, i.path) not in schema_paths
        and not (i.message.startswith("criterion has no test") and (i.file, i.path) in misspelled)
    ]


# --- earlier versions ---------------------------------------------------------------------

# The sections an earlier version may replace; everything else is the policy's identity.
VERSIONED = ("coverage", "value_sets", "criteria", "requirements")


class _VersionView:
    """An earlier version merged with the newer ones: each section is the nearest given
    one, and an issue in a section is reported where that section was written."""

    def __init__(self, located: Located, data: dict, origins: dict[str, tuple], note: str | None):
        self.located, self.data, self.origins, self.note = located, data, origins, note
        self.file = located.file

    def issue(self, path: tuple, message: str, *, key: bool = False) -> SpecIssue:
        path = tuple(path)
        if path and path[0] in self.origins:
            path = self.origins[path[0]] + path
        return self.located.issue(path, message, key=key)


def _earlier_versions(located: Located) -> list[_VersionView]:
    d = located.data
    if not isinstance(d, dict):  # reported by the schema
        return []
    merged = {k: d[k] for k in VERSIONED if k in d}
    origins: dict[str, tuple] = {k: () for k in (*VERSIONED, "effective_date")}
    views = []
    for i, version in enumerate(d.get("earlier_versions", [])):
        here = ("earlier_versions", i)
        for key in VERSIONED:
            if key in version:
                merged[key] = version[key]
                origins[key] = here
        origins["effective_date"] = here
        data = {k: v for k, v in d.items() if k != "earlier_versions"}
        data.update(merged, effective_date=version["effective_date"])
        views.append(_VersionView(located, data, dict(origins), version.get("note")))
    return views


def _version_date_issues(located: Located) -> list[SpecIssue]:
    """Earlier versions go newest first, each effective strictly before the one above it."""
    issues: list[SpecIssue] = []
    d = located.data
    if not isinstance(d, dict):  # reported by the schema
        return issues
    newer = d["effective_date"]
    for i, version in enumerate(d.get("earlier_versions", [])):
        date = version["effective_date"]
        path = ("earlier_versions", i, "effective_date")
        if not _real_date(date):
            issues.append(located.issue(path, f"not a real calendar date: {date!r}"))
        elif _real_date(newer) and date >= newer:
            issues.append(
                located.issue(
                    path, f"{date} is not before {newer}, the version above it (earlier versions go newest first)"
                )
            )
        newer = date
    return issues


def _suffix(effective_date: str) -> str:
    return "_v" + effective_date.replace("-", "_")


# --- stage 1: the JSON Schema ------------------------------------------------------------


def _schema_issues(located: Located) -> list[SpecIssue]:
    issues = []
    for err in _validator().errors(located.data):
        issues.extend(_explain(located, err))
    return issues


def explain_schema_error(located: Located, err: jsonschema.ValidationError) -> list[SpecIssue]:
    """A JSON Schema error as issues in the author's terms: the field, what was expected,
    what was found, and a hint where one helps (a close name for a typo). Shared by specs
    and case files."""
    return _explain(located, err)


def _explain(located: Located, err: jsonschema.ValidationError) -> list[SpecIssue]:
    path = tuple(err.absolute_path)
    v, found = err.validator, err.instance
    schema: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}  # a bool schema names no keyword
    schema_path = list(err.relative_schema_path)
    if len(schema_path) >= 2 and schema_path[-2] == "propertyNames" and isinstance(found, str):
        # jsonschema reports a bad mapping key as an error of the mapping, with the key as instance.
        what = schema.get("description", "a valid name")
        return [located.issue((*path, found), f"invalid name {found!r}: expected {what}", key=True)]
    if v == "additionalProperties" and isinstance(found, dict):
        allowed = sorted(schema.get("properties", {}))
        out = []
        for key in sorted(set(found) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            tip = (
                f"; did you mean '{hint[0]}'?"
                if hint
                else (f"; expected one of: {', '.join(allowed)}" if allowed else "")
            )
            if found[key] is None:
                # `{proves: a, b}`: inside { } a comma ends the value, and the rest became a key.
                tip += "; if it is the rest of the text before it, put that text in quotes (inside { } a comma ends a value)"
            out.append(located.issue((*path, key), f"unknown field '{key}'{tip}", key=True))
        if out:
            return out
        # additionalProperties given as a schema: the bad value is reported by its own error.
    if v == "required":
        missing = [k for k in schema.get("required", []) if isinstance(found, dict) and k not in found]
        # The field's description says what to write (e.g. a lab's plausible range).
        what = {k: schema.get("properties", {}).get(k, {}).get("description") for k in missing}
        return [
            located.issue(path, f"missing required field '{k}'" + (f" ({what[k]})" if what[k] else "")) for k in missing
        ]
    if v == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return [located.issue(path, f"expected {_article(str(want))}, found {describe(found)}")]
    if v == "enum" and isinstance(err.validator_value, list):
        return [
            located.issue(
                path, f"expected one of {', '.join(map(json.dumps, err.validator_value))}, found {describe(found)}"
            )
        ]
    if v == "const":
        return [located.issue(path, f"expected {json.dumps(err.validator_value)}, found {describe(found)}")]
    if v == "pattern":
        what = schema.get("description") or f"text matching {err.validator_value}"
        return [located.issue(path, f"expected {what}, found {describe(found)}")]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        rel = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return [located.issue(path, f"expected a number {rel} {err.validator_value}, found {describe(found)}")]
    if v in ("minItems", "minLength", "minProperties"):
        return [located.issue(path, f"must not be empty, found {describe(found)}")]
    if v in ("maxItems", "maxLength", "maxProperties"):
        return [located.issue(path, f"too long: at most {err.validator_value}, found {describe(found)}")]
    if v == "uniqueItems":
        return [located.issue(path, "items must be unique: a value is listed twice")]
    if v == "anyOf" and "agents" in json.dumps(err.validator_value):
        return [located.issue(path, "a value set needs 'agents' or 'classes' (or both)")]
    if v == "oneOf" and isinstance(found, dict) and (choices := _exclusive_choices(err.validator_value)):
        given = [k for k in choices if k in found]
        listed = " or ".join(choices)
        if len(given) > 1:
            return [located.issue(path, f"give either {listed}, not both (found {' and '.join(given)})")]
        return [located.issue(path, f"give one of {listed} (found neither)")]
    return [located.issue(path, err.message)]


def _exclusive_choices(branches: Any) -> list[str] | None:
    """The keys of a oneOf that says "exactly one of these keys" (each branch requires one
    key and nothing else, perhaps forbidding the others, one key or any of several), in order;
    None for any other oneOf."""
    if not isinstance(branches, list) or len(branches) < 2:
        return None
    keys = []
    for b in branches:
        if not isinstance(b, dict) or set(b) - {"required", "not"}:
            return None
        required = b.get("required")
        if not (isinstance(required, list) and len(required) == 1):
            return None
        if "not" in b and set(b["not"]) != {"required"} and not _forbids_keys(b["not"]):
            return None
        keys.append(required[0])
    return keys


def _forbids_keys(x: Any) -> bool:
    """Whether a oneOf branch's `not` is `{anyOf: [{required: [key]}, ...]}`: none of these keys."""
    alts = x.get("anyOf") if isinstance(x, dict) and set(x) == {"anyOf"} else None
    return isinstance(alts, list) and all(isinstance(a, dict) and set(a) == {"required"} for a in alts)


def _article(word: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "an integer"}.get(word, f"a {word}")


# --- stage 2: cross-references and meaning ---------------------------------------------

_CHILD_KEYS = ("all_of", "any_of", "when", "then")


def _semantic_issues(
    located: Located | _VersionView, *, check_unused: bool = True, tolerant: bool = False
) -> list[SpecIssue]:
    """Cross-references and meaning. With `tolerant` (the schema found mistakes) each date,
    criterion, requirement set and section is checked on its own, and one whose shape is
    broken is skipped, so the others are still checked."""
    d = located.data
    issues: list[SpecIssue] = []
    issue = located.issue
    if not isinstance(d, dict):
        return issues

    def each(check, *args) -> None:
        _recover(tolerant, lambda: check(*args), None)

    def date_field(key: str) -> None:
        if key in d and not _real_date(d[key]):
            issues.append(issue((key,), f"not a real calendar date: {d[key]!r}"))

    for key in ("effective_date", "original_policy_date", "last_review_date"):
        each(date_field, key)

    def history_entry(i: int, h: dict) -> None:
        if not _real_date(h["date"] if len(h["date"]) == 10 else h["date"] + "-01"):
            issues.append(issue(("history", i, "date"), f"not a real calendar date or month: {h['date']!r}"))

    for i, h in enumerate(_list(d.get("history"))):
        each(history_entry, i, h)

    def dates_in_order() -> None:
        if (
            "original_policy_date" in d
            and "effective_date" in d
            and _real_date(d["original_policy_date"])
            and _real_date(d["effective_date"])
            and d["original_policy_date"] > d["effective_date"]
        ):
            issues.append(issue(("original_policy_date",), f"is after the effective date {d['effective_date']}"))

    each(dates_in_order)

    criteria: dict = _dict(d.get("criteria"))
    value_sets = _dict(d.get("value_sets"))
    requirements = _dict(d.get("requirements"))
    drug = _dict(d.get("drug"))
    # A product test names one of the policy's products (drug.products); a policy without
    # products has one, named after its brand.
    product_ids = set(_dict(drug.get("products"))) or (
        {m.package_segment(drug["brand"])} if isinstance(drug.get("brand"), str) else set()
    )

    # A dosing table keyed by indication names indications of the requirement sets.
    indication_ids = {
        iid for rs in requirements.values() if isinstance(rs, dict) for iid in _dict(rs.get("indications"))
    }

    meant: set[str] = set()  # the criteria suggested for undefined references

    def undefined(cid: str) -> str:
        hint = difflib.get_close_matches(cid, list(criteria), n=1)
        meant.update(hint)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"refers to undefined criterion '{cid}'{tip}"

    def check_refs(path: tuple, ids: list) -> None:
        for i, cid in enumerate(ids):
            if isinstance(cid, str) and cid not in criteria:
                issues.append(issue((*path, i), undefined(cid)))

    def criterion(cid: str, c: dict) -> None:
        path = ("criteria", cid)
        tests = [k for k in c if k in m.TEST_KINDS or k in m.COMBINATOR_KINDS.values()]
        if "then" in c and "when" not in c:
            issues.append(issue((*path, "then"), "'then' needs a 'when' beside it (a conditional has both)", key=True))
        if "when" in c and "then" not in c:
            issues.append(
                issue((*path, "when"), "a conditional needs 'then': what is required when 'when' holds", key=True)
            )
        if not tests and "then" not in c:
            kinds = ", ".join([*m.TEST_KINDS, *m.COMBINATOR_KINDS.values()])
            issues.append(issue(path, f"criterion has no test: expected one of {kinds}"))
        elif len(tests) > 1:
            issues.append(
                issue(
                    (*path, tests[1]),
                    f"criterion has more than one test ({', '.join(tests)}); split it or combine with all_of",
                    key=True,
                )
            )
        for key in _CHILD_KEYS:
            if key in c:
                check_refs((*path, key), c[key])
                if cid in _ids(c[key]):
                    issues.append(issue((*path, key), f"criterion '{cid}' refers to itself"))
        if "not" in c:
            if c["not"] not in criteria:
                issues.append(issue((*path, "not"), undefined(c["not"])))
            elif c["not"] == cid:
                issues.append(issue((*path, "not"), f"criterion '{cid}' refers to itself"))
        if "documentation" in c and not any(k in c for k in m.TEST_KINDS):
            issues.append(
                issue(
                    (*path, "documentation"),
                    "documentation supports a fact: only a criterion with a test kind (not a combinator) can require it",
                    key=True,
                )
            )
        if "at_least" in c:
            check_refs((*path, "at_least", "of"), c["at_least"]["of"])
            if cid in _ids(c["at_least"]["of"]):
                issues.append(issue((*path, "at_least", "of"), f"criterion '{cid}' refers to itself"))
            if c["at_least"]["n"] > len(c["at_least"]["of"]):
                issues.append(
                    issue(
                        (*path, "at_least", "n"),
                        f"n is {c['at_least']['n']} but only {len(c['at_least']['of'])} criteria are listed; it could never be met",
                    )
                )
        for key, kind in m.TEST_KINDS.items():
            if key in c:
                test = kind.parse(c[key])
                for where, message in test.check(value_sets):
                    issues.append(issue((*path, key, *where), message))
                for where, pid in test.product_refs():
                    if pid not in product_ids:
                        issues.append(
                            issue(
                                (*path, key, *where),
                                f"refers to undefined product '{pid}'; the policy's products: {', '.join(sorted(product_ids))}",
                            )
                        )
                for where, iid in test.indication_refs():
                    if iid not in indication_ids:
                        known = ", ".join(sorted(indication_ids)) or "none (no requirement set lists indications)"
                        issues.append(
                            issue(
                                (*path, key, *where),
                                f"refers to undefined indication '{iid}'; the policy's indications: {known}",
                            )
                        )

    for cid, c in criteria.items():
        if isinstance(c, dict):
            each(criterion, cid, c)

    each(lambda: issues.extend(_cycle_issues(located, criteria)))
    each(lambda: issues.extend(_depth_issues(located, criteria)))

    claimed_types: dict[str, str] = {}
    with_indications = [name for name, rs in requirements.items() if isinstance(rs, dict) and "indications" in rs]

    def requirement_set(name: str, rs: dict) -> None:
        path = ("requirements", name)
        combos = [k for k in ("all_of", "any_of", "at_least") if k in rs]
        if "indications" in rs:
            if combos and combos != ["all_of"]:
                issues.append(
                    issue(
                        (*path, combos[-1]),
                        "a set with indications lists its common criteria under all_of (each indication adds its own)",
                        key=True,
                    )
                )
        elif len(combos) != 1:
            found = ", ".join(combos) if combos else "none"
            issues.append(
                issue(path, f"a requirement set needs exactly one of all_of, any_of, at_least; found {found}")
            )
        if with_indications and "indications" not in rs:
            issues.append(
                issue(
                    path,
                    f"set '{with_indications[0]}' has indications, so every set needs them (the indication gates every request type)",
                )
            )
        types = rs.get("applies_to", [name])
        if "applies_to" not in rs and name not in m.REQUEST_TYPES:
            issues.append(
                issue(
                    path,
                    f"set '{name}' is not a request type ({', '.join(m.REQUEST_TYPES)}): say which it decides with applies_to",
                    key=True,
                )
            )
        for t in types:
            if t in claimed_types:
                issues.append(
                    issue(
                        (*path, "applies_to") if "applies_to" in rs else path,
                        f"request type {t!r} is already decided by set '{claimed_types[t]}'",
                    )
                )
            claimed_types.setdefault(t, name)
        has_duration = "duration_months" in rs or "duration" in rs
        if "duration_months" in rs and "duration" in rs:
            issues.append(issue((*path, "duration"), "give duration or duration_months, not both", key=True))
        durations: list[tuple[tuple, object]] = [((*path, "duration"), rs.get("duration"))]
        for iid, ind in rs.get("indications", {}).items():
            ipath = (*path, "indications", iid)
            durations.append(((*ipath, "duration"), ind.get("duration")))
            durations += [((*ipath, "duration_when", i), w) for i, w in enumerate(ind.get("duration_when", []))]
        for dpath, dur in durations:
            if isinstance(dur, dict) and "weeks" in dur and "lifetime_cap_months" in dur:
                issues.append(
                    issue(
                        (*dpath, "lifetime_cap_months"),
                        "a lifetime cap counts months: give it with months or the plan year, not weeks",
                        key=True,
                    )
                )
        for iid, ind in rs.get("indications", {}).items():
            ipath = (*path, "indications", iid)
            dx = ind["diagnosis"]
            if dx not in criteria:
                issues.append(issue((*ipath, "diagnosis"), undefined(dx)))
            elif "diagnosis" not in criteria[dx]:
                issues.append(
                    issue(
                        (*ipath, "diagnosis"),
                        f"criterion '{dx}' is not a diagnosis test: an indication is selected by a diagnosis's ICD-10-CM codes",
                    )
                )
            check_refs((*ipath, "all_of"), ind.get("all_of", []))
            branch_ids = _reachable(
                criteria, [*d.get("requirements", {}).get(name, {}).get("all_of", []), dx, *ind.get("all_of", [])]
            )
            for i, w in enumerate(ind.get("duration_when", [])):
                if w["criterion"] not in branch_ids:
                    issues.append(
                        issue(
                            (*ipath, "duration_when", i, "criterion"),
                            f"criterion '{w['criterion']}' is not among this indication's criteria",
                        )
                    )
        if "indications" not in rs and not has_duration:
            issues.append(issue(path, "missing required field 'duration_months' (or 'duration')"))
        for key in ("all_of", "any_of"):
            if key in rs:
                check_refs((*path, key), rs[key])
        if "at_least" in rs:
            check_refs((*path, "at_least", "of"), rs["at_least"]["of"])
            n, of = rs["at_least"]["n"], rs["at_least"]["of"]
            if n > len(of):
                issues.append(
                    issue(
                        (*path, "at_least", "n"),
                        f"n is {n} but only {len(of)} criteria are listed; it could never be met",
                    )
                )

    for name, rs in requirements.items():
        if isinstance(rs, dict):
            each(requirement_set, name, rs)

    def coverage() -> None:
        cov = d["coverage"]
        if with_indications:
            if "indication" in cov:
                issues.append(
                    issue(
                        ("coverage", "indication"),
                        "a policy written with indications has no single indication criterion: each indication names its diagnosis",
                        key=True,
                    )
                )
        elif "indication" in cov and cov["indication"] not in criteria:
            issues.append(issue(("coverage", "indication"), undefined(cov["indication"])))
        other = cov.get("other_indications")
        if not with_indications and "indication" in cov and "investigational" not in cov and other is None:
            issues.append(
                issue(
                    ("coverage",),
                    "what happens to a request for another use? Give the policy's sentence as 'investigational' "
                    "(quoted in the denial), or, when the policy never says investigational, "
                    "other_indications: {outcome: not_covered} (or pend_for_review), with its own sentence "
                    "as statement if it has one",
                )
            )
        if with_indications and "investigational" in cov and other is None:
            issues.append(
                issue(
                    ("coverage", "investigational"),
                    "a policy written with indications does not read coverage.investigational: without "
                    "other_indications a request outside every indication is not_covered; to deny it as "
                    "investigational write other_indications: {outcome: investigational, statement: ...} "
                    "(the statement is quoted in the denial) in place of investigational",
                    key=True,
                )
            )
        if other is not None:
            if not with_indications and "indication" not in cov:
                issues.append(
                    issue(
                        ("coverage", "other_indications"),
                        "other_indications needs the indication it is other to: requirement sets written with "
                        "indications, or coverage.indication naming the criterion that defines the covered one",
                        key=True,
                    )
                )
            elif not with_indications and "investigational" in cov:
                issues.append(
                    issue(
                        ("coverage", "other_indications"),
                        "give one of investigational (the policy's sentence: other uses are investigational) and "
                        "other_indications (not_covered or pend_for_review), not both",
                        key=True,
                    )
                )
            elif other["outcome"] == "investigational" and "statement" not in other:
                issues.append(
                    issue(
                        ("coverage", "other_indications"),
                        "an investigational outcome quotes the policy's sentence: give it as statement (or use not_covered)",
                    )
                )

    each(coverage)

    def waiver(i: int, w: dict) -> None:
        if w["criterion"] not in criteria:
            issues.append(issue(("coverage_waivers", i, "criterion"), undefined(w["criterion"])))

    for i, w in enumerate(_list(d.get("coverage_waivers"))):
        each(waiver, i, w)

    def unused() -> None:
        # A criterion offered as "did you mean" for a misspelt reference is taken as used:
        # the misspelling is the one mistake to report, not also what it leaves unreached.
        used = _reachable(criteria, sorted(meant))
        for rs in requirements.values():
            used.update(_reachable(criteria, _root_ids(rs)))
            for ind in _dict(rs.get("indications")).values():
                used.update(_reachable(criteria, [ind["diagnosis"], *ind.get("all_of", [])]))
        for cid in criteria:
            if cid not in used:
                issues.append(
                    issue(("criteria", cid), f"criterion '{cid}' is not used by any requirement set", key=True)
                )

    # Without requirement sets to reach from, every criterion would look unused.
    if check_unused and requirements and all(isinstance(rs, dict) for rs in requirements.values()):
        each(unused)
    return issues


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _ids(value: object) -> list[str]:
    """The criterion ids in a list of them; anything else (reported by the schema) is none."""
    return [x for x in value if isinstance(x, str)] if isinstance(value, list) else []


def _root_ids(rs: object) -> list[str]:
    if not isinstance(rs, dict):
        return []
    if "at_least" in rs:
        return _ids(_dict(rs["at_least"]).get("of"))
    return _ids(rs.get("all_of", rs.get("any_of", [])))


def _child_ids(c: object) -> list[str]:
    if not isinstance(c, dict):
        return []
    ids = []
    for key in _CHILD_KEYS:
        ids.extend(_ids(c.get(key)))
    if isinstance(c.get("not"), str):
        ids.append(c["not"])
    if "at_least" in c:
        ids.extend(_ids(_dict(c["at_least"]).get("of")))
    return ids


def _reachable(criteria: dict, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        cid = stack.pop()
        if cid in seen or cid not in criteria:
            continue
        seen.add(cid)
        stack.extend(_child_ids(criteria[cid]))
    return seen


def _cycle_issues(located: Located | _VersionView, criteria: dict) -> list[SpecIssue]:
    """One issue per cycle of criterion references (a criterion that, through others, needs itself)."""
    issues = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset] = set()

    # Depth-first without recursion: a long chain of references must not exhaust Python's stack.
    for root in criteria:
        if root in state:
            continue
        trail: list[str] = [root]
        pending = [iter(_child_ids(criteria[root]))]
        state[root] = 1
        while pending:
            child = next(pending[-1], None)
            if child is None:
                pending.pop()
                state[trail.pop()] = 2
                continue
            if child not in criteria or child == trail[-1]:
                continue
            if state.get(child) == 1:
                loop = [*trail[trail.index(child) :], child]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    issues.append(
                        located.issue(("criteria", child), "circular reference: " + " -> ".join(loop), key=True)
                    )
            elif state.get(child) is None:
                state[child] = 1
                trail.append(child)
                pending.append(iter(_child_ids(criteria[child])))
    return issues


def criterion_depths(criteria: dict) -> dict[str, int]:
    """{criterion id: its depth}: 0 for a leaf, one more than its deepest child for a
    combinator; references to undefined criteria count as leaves. {} when the references
    have a cycle (reported by _cycle_issues). Iterative: a long chain must not exhaust
    Python's stack."""
    depths: dict[str, int] = {}
    on_path: set[str] = set()
    for root in criteria:
        stack = [root]
        while stack:
            cid = stack[-1]
            if cid in depths:
                stack.pop()
                continue
            todo = [c for c in _child_ids(criteria[cid]) if c in criteria and c not in depths]
            if any(c in on_path for c in todo):
                return {}
            if todo:
                on_path.add(cid)
                stack.extend(todo)
                continue
            depths[cid] = 1 + max((depths.get(c, 0) for c in _child_ids(criteria[cid])), default=-1)
            on_path.discard(cid)
            stack.pop()
    return depths


def _depth_issues(located: Located | _VersionView, criteria: dict) -> list[SpecIssue]:
    """An issue for each criterion at the first depth past limits.MAX_CRITERION_DEPTH: the
    data form's interpreter evaluates that many levels of combinators (README, "Serving")."""
    return [
        located.issue(
            ("criteria", cid),
            f"combinators nested {depth} deep over a leaf criterion; at most {limits.MAX_CRITERION_DEPTH} "
            "are supported: flatten the nesting (all_of inside all_of is one all_of)",
            key=True,
        )
        for cid, depth in criterion_depths(criteria).items()
        if depth == limits.MAX_CRITERION_DEPTH + 1
    ]


def _real_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    return True


# --- stage 3: the typed model -----------------------------------------------------------


def _test(c: dict):
    for key, kind in m.TEST_KINDS.items():
        if key in c:
            return kind.parse(c[key])
    return _combinator(c)


def _combinator(c: dict):
    if "all_of" in c:
        return m.AllOf(tuple(c["all_of"]))
    if "any_of" in c:
        return m.AnyOf(tuple(c["any_of"]))
    if "at_least" in c:
        return m.AtLeast(c["at_least"]["n"], tuple(c["at_least"]["of"]))
    if "not" in c:
        return m.Negation(c["not"])
    return m.Conditional(tuple(c["when"]), tuple(c["then"]))


def _build(d: dict, source: str) -> m.PolicySpec:
    drug = d["drug"]
    cov = d["coverage"]
    limits = d.get("limits", {})
    return m.PolicySpec(
        id=d["id"],
        number=d["number"],
        title=d["title"],
        section=d["section"],
        subsection=d.get("subsection"),
        payer=d.get("payer"),
        plan=d.get("plan"),
        example=d.get("example", False),
        effective_date=d["effective_date"],
        original_policy_date=d.get("original_policy_date"),
        last_review_date=d.get("last_review_date"),
        drug=m.Drug(
            drug["brand"],
            drug.get("generic"),
            drug.get("description"),
            tuple(drug.get("hcpcs", ())),
            tuple(drug.get("ndc", ())),
            tuple(
                m.Product(
                    pid,
                    p["name"],
                    p.get("kind", "brand"),
                    p.get("generic"),
                    tuple(p.get("hcpcs", ())),
                    tuple(p.get("ndc", ())),
                    tuple(p.get("strengths", ())),
                    tuple(p.get("routes", ())),
                )
                for pid, p in drug.get("products", {}).items()
            ),
        ),
        description=d.get("description"),
        background=d.get("background"),
        related_policies=tuple(d.get("related_policies", ())),
        references=tuple(d.get("references", ())),
        history=tuple(m.HistoryEntry(h["date"], h["action"]) for h in d.get("history", ())),
        coverage=m.Coverage(
            cov.get("medically_necessary"),
            # The single-indication form quotes an investigational statement from either place.
            cov.get("investigational")
            or (
                cov["other_indications"].get("statement")
                if "indication" in cov and cov.get("other_indications", {}).get("outcome") == "investigational"
                else None
            ),
            cov.get("indication"),
            cov.get("applies_to"),
            m.OtherIndications(cov["other_indications"]["outcome"], cov["other_indications"].get("statement"))
            if "other_indications" in cov
            else None,
        ),
        value_sets=tuple(
            m.ValueSet(k, v["description"], tuple(v.get("agents", ())), tuple(v.get("classes", ())))
            for k, v in d.get("value_sets", {}).items()
        ),
        criteria=tuple(
            m.Criterion(k, v["text"], _test(v), v.get("note"), v.get("question"), tuple(v.get("documentation", ())))
            for k, v in d["criteria"].items()
        ),
        requirements=tuple(_requirement_set(name, rs) for name, rs in d["requirements"].items()),
        limits=m.Limits(limits.get("pre_pa_allowance"), limits.get("quantity")),
        coverage_waivers=tuple(
            m.CoverageWaiver(w["criterion"], w["status"], w["reason"]) for w in d.get("coverage_waivers", ())
        ),
        source=source,
    )


def _duration(x: dict | None) -> m.Duration | None:
    if x is None:
        return None
    plan_year = x.get("plan_year")
    return m.Duration(
        x.get("months"),
        None if plan_year is None else plan_year.get("starts", "01-01"),
        x.get("lifetime_cap_months"),
        x.get("weeks"),
    )


def _requirement_set(name: str, rs: dict) -> m.RequirementSet:
    indications = tuple(
        m.Indication(
            iid,
            ind["heading"],
            ind["diagnosis"],
            tuple(ind.get("all_of", ())),
            _duration(ind.get("duration")),
            tuple((w["criterion"], _duration(w)) for w in ind.get("duration_when", ())),  # type: ignore[misc]
        )
        for iid, ind in rs.get("indications", {}).items()
    )
    root = m.AllOf(tuple(rs.get("all_of", ()))) if "indications" in rs else _combinator(rs)
    return m.RequirementSet(
        name,
        rs["title"],
        rs.get("duration_months"),
        root,
        tuple(rs.get("applies_to", ())),
        indications,
        _duration(rs.get("duration")),
    )
