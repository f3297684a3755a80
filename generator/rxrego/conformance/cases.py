"""Golden case files: loading, expanding `base` + `set`/`unset`, and subset matching."""

from __future__ import annotations

import copy
import difflib
import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema

from ..spec.errors import SpecError
from ..spec.loader import (
    PLACEHOLDER,
    display_path,
    explain_schema_error,
    placeholder_issues,
    without_placeholders,
)
from ..spec.yamlsource import parse, read_text

CASE_SUFFIX = ".cases.yaml"
# Ids a decision's unmet or missing may carry that are no criterion of the spec: the library
# writes them (rego/rxrego/lib/lib.rego, coverage.rego) for a request outside the covered
# indication, an investigational one, or a lifetime cap.
DECISION_IDS = frozenset({"indication", "investigational", "other_indications", "lifetime_cap"})


@dataclass(frozen=True)
class Case:
    name: str
    proves: str
    request: object
    expect: dict
    file: str
    line: int

    @property
    def id(self) -> str:
        return f"{Path(self.file).name}::{self.name}"


@dataclass(frozen=True)
class Waiver:
    criterion: str
    status: str
    reason: str


@dataclass(frozen=True)
class CaseFile:
    path: str
    policy: str
    cases: tuple[Case, ...]
    waivers: tuple[Waiver, ...]


@functools.cache
def _validator():
    schema = json.loads(resources.files("rxrego.schemas").joinpath("conformance-cases.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def find_case_files(paths) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob(f"*{CASE_SUFFIX}") if q.is_file()))
        elif p.is_file():
            out.append(p)
    return out


def load_case_file(path: Path, criteria: Mapping[str, Collection[str]] | None = None) -> CaseFile:
    """The case file at `path`; SpecError with every static problem of the file at once:
    schema errors, placeholders, duplicate case names, undefined bases, `set`/`unset` that
    cannot apply, and in each `expect` an unknown key (with a did-you-mean), an outcome or
    reason the decision contract does not have, and, when `criteria` ({policy id: the ids
    of its criteria, every version's}) names the file's policy, a criterion id in `unmet`,
    `missing`, `met` or `criteria` that the policy does not define."""
    display = display_path(path)
    located = parse(read_text(path, display), display)
    issues = without_placeholders(
        [i for e in _validator().iter_errors(located.data) for i in explain_schema_error(located, e)],
        placeholder_issues(located),
    )
    data = located.data
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise SpecError(issues or [located.issue((), "expected a mapping with policy and cases")])
    bases: dict = data["bases"] if isinstance(data.get("bases"), dict) else {}
    policy = data.get("policy")
    known = criteria.get(policy) if criteria is not None and isinstance(policy, str) else None
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["cases"]):
        path_ = ("cases", i)
        if not isinstance(raw, dict):
            continue  # the schema said so
        line = located.position(path_)[0]
        if isinstance(raw.get("expect"), dict):
            issues += _expect_issues(located, (*path_, "expect"), raw["expect"], known)
        name = raw.get("name")
        if isinstance(name, str):
            if name in seen:
                issues.append(
                    located.issue((*path_, "name"), f"duplicate case name '{name}' (first on line {seen[name]})")
                )
                continue
            seen[name] = line
        try:
            request = _request(raw, bases)
        except KeyError as exc:
            issues.append(located.issue((*path_, "base"), str(exc.args[0])))
            continue
        except (ValueError, TypeError, AttributeError) as exc:
            if isinstance(exc, ValueError):
                issues.append(located.issue(path_, str(exc)))
            continue  # a TypeError or AttributeError: a shape the schema already reported
        if isinstance(name, str) and isinstance(raw.get("proves"), str) and isinstance(raw.get("expect"), dict):
            cases.append(Case(name, raw["proves"], request, raw["expect"], display, line))
    if issues:
        raise SpecError(issues)
    waivers = tuple(Waiver(w["criterion"], w["status"], w["reason"]) for w in data.get("waivers", ()))
    return CaseFile(display, data["policy"], tuple(cases), waivers)


@functools.cache
def _decision_schema() -> dict:
    return json.loads(resources.files("rxrego.schemas").joinpath("decision.schema.json").read_text())


def _expect_issues(located, where: tuple, expect: dict, known: Collection[str] | None) -> list:
    """The static mistakes of one `expect` (see load_case_file), each at its own line."""
    props = _decision_schema()["properties"]
    out = []
    for key in expect:
        if key not in props:
            hint = difflib.get_close_matches(str(key), list(props), n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else f"; expected one of: {', '.join(props)}"
            out.append(located.issue((*where, key), f"unknown decision key '{key}'{tip}", key=True))
    for key in ("outcome", "reason"):
        allowed = props[key]["enum"]
        value = expect.get(key)
        if key in expect and value not in allowed and not (isinstance(value, str) and PLACEHOLDER.search(value)):
            hint = difflib.get_close_matches(str(value), allowed, n=1)
            tip = f"did you mean '{hint[0]}'? " if hint else ""
            out.append(
                located.issue(
                    (*where, key), f"{value!r} is not a decision {key}: {tip}expected one of {', '.join(allowed)}"
                )
            )
    if known is None:
        return out
    ids = sorted(known)

    def undefined(at: tuple, cid: object) -> None:
        if isinstance(cid, str) and cid not in known and cid not in DECISION_IDS:
            hint = difflib.get_close_matches(cid, ids, n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else ""
            out.append(located.issue(at, f"the policy defines no criterion '{cid}'{tip}"))

    for key in ("unmet", "missing", "met"):
        if isinstance(expect.get(key), list):
            for j, item in enumerate(expect[key]):
                if isinstance(item, dict):
                    undefined((*where, key, j, "id"), item.get("id"))
                else:
                    undefined((*where, key, j), item)
    if isinstance(expect.get("criteria"), dict):
        for cid in expect["criteria"]:
            undefined((*where, "criteria", cid), cid)
    return out


def _request(raw: dict, bases: dict) -> object:
    has_request = "request" in raw
    if has_request == ("base" in raw):
        raise ValueError("a case needs exactly one of 'request' (the whole request) or 'base'")
    if has_request:
        if "set" in raw or "unset" in raw:
            raise ValueError("'set' and 'unset' go with 'base', not with 'request'")
        return raw["request"]
    if raw["base"] not in bases:
        raise KeyError(f"undefined base '{raw['base']}'; defined: {', '.join(sorted(bases)) or 'none'}")
    request = copy.deepcopy(bases[raw["base"]])
    for dotted in raw.get("unset", []):
        _unset(request, dotted.split("."))
    for dotted, value in raw.get("set", {}).items():
        _set(request, dotted.split("."), copy.deepcopy(value))
    return request


def _set(doc: dict, path: list[str], value: object) -> None:
    for key in path[:-1]:
        nxt = doc.get(key)
        if not isinstance(nxt, dict):
            nxt = doc[key] = {}
        doc = nxt
    doc[path[-1]] = value


def _unset(doc: dict, path: list[str]) -> None:
    for key in path[:-1]:
        nxt = doc.get(key)
        if not isinstance(nxt, dict):
            raise ValueError(f"cannot unset {'.'.join(path)}: {key} is not in the base")
        doc = nxt
    if path[-1] not in doc:
        raise ValueError(f"cannot unset {'.'.join(path)}: not in the base")
    del doc[path[-1]]


# --- matching ----------------------------------------------------------------------------


def mismatches(expected: object, actual: object, path: str = "") -> list[str]:
    """Where `actual` departs from `expected`: objects by the keys given (recursively), lists
    element by element (a string expected against an object actual compares its `id`),
    values exactly (true is not 1)."""
    here = path or "decision"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{here}: expected an object, got {_j(actual)}"]
        out = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{sub}: expected {_j(value)}, but the decision has no '{key}'")
            else:
                out.extend(mismatches(value, actual[key], sub))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{here}: expected a list, got {_j(actual)}"]
        if (
            expected
            and all(isinstance(e, str) for e in expected)
            and all(isinstance(a, dict) and "id" in a for a in actual)
        ):
            actual = [a["id"] for a in actual]  # a list of ids stands for the criteria
        if len(expected) != len(actual):
            return [f"{here}: expected {_j(expected)}\n{' ' * len(here)}       got {_j(actual)}"]
        return [
            m for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for m in mismatches(e, a, f"{here}[{i}]")
        ]
    if isinstance(expected, bool) != isinstance(actual, bool) or expected != actual:
        return [f"{here}: expected {_j(expected)}, got {_j(actual)}"]
    return []


def _j(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def case_placeholders(paths) -> list:
    """The TODO placeholders left in the case files under `paths` (rxrego.spec.loader's
    placeholder issues, each naming file, line and field): what `bundle` and `run` refuse, as
    `check` refuses a spec that holds one. A file that does not parse is left to
    `rxrego conformance` to report."""
    issues = []
    for path in find_case_files(paths):
        display = display_path(path)
        try:
            located = parse(read_text(path, display), display)
        except SpecError:
            continue
        issues += placeholder_issues(located)
    return issues
