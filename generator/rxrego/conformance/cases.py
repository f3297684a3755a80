"""Golden case files: loading, expanding `base` + `set`/`unset`, and subset matching."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema

from ..spec.errors import SpecError
from ..spec.loader import display_path, explain_schema_error, placeholder_issues
from ..spec.yamlsource import parse, read_text

CASE_SUFFIX = ".cases.yaml"


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


def load_case_file(path: Path) -> CaseFile:
    display = display_path(path)
    located = parse(read_text(path, display), display)
    issues = [i for e in _validator().iter_errors(located.data) for i in explain_schema_error(located, e)]
    issues += placeholder_issues(located)
    if issues:
        raise SpecError(issues)
    data = located.data
    if not isinstance(data, dict):  # the schema above requires a mapping; this says so to mypy too
        raise SpecError([located.issue((), "expected a mapping with policy and cases")])
    bases = data.get("bases", {})
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["cases"]):
        path_ = ("cases", i)
        line = located.position(path_)[0]
        if raw["name"] in seen:
            issues.append(
                located.issue(
                    (*path_, "name"), f"duplicate case name '{raw['name']}' (first on line {seen[raw['name']]})"
                )
            )
            continue
        seen[raw["name"]] = line
        try:
            request = _request(raw, bases)
        except KeyError as exc:
            issues.append(located.issue((*path_, "base"), str(exc.args[0])))
            continue
        except ValueError as exc:
            issues.append(located.issue(path_, str(exc)))
            continue
        cases.append(Case(raw["name"], raw["proves"], request, raw["expect"], display, line))
    if issues:
        raise SpecError(issues)
    waivers = tuple(Waiver(w["criterion"], w["status"], w["reason"]) for w in data.get("waivers", ()))
    return CaseFile(display, data["policy"], tuple(cases), waivers)


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
