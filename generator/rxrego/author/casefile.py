"""Adding a golden case to a policy's case file without disturbing what is there.

The case goes in as YAML text after the last case (the file's comments, order and layout stay
as they are), is written in one step (a temporary file renamed over the old one), and the
file is read back with the conformance loader: unless it loads and the new case's request is
exactly the request given, the old file is put back and the error is reported.
Format: `conformance/<payer>/<policy>.cases.yaml`, schema
`generator/rxrego/schemas/conformance-cases.schema.json`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from ..conformance.cases import CASE_SUFFIX, find_case_files, load_case_file
from ..spec import model as m
from ..spec.errors import SpecError
from ..spec.yamlsource import parse, read_text
from .common import InputError

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def expectation(decision: dict) -> dict:
    """The `expect` of a case that pins a decision down: outcome and reason, and the ids of
    the unmet criteria (denied), of the missing ones (pended), or the approval (approved)."""
    expect: dict = {"outcome": decision.get("outcome"), "reason": decision.get("reason")}
    policy = decision.get("policy")
    if isinstance(policy, dict) and policy.get("effective_date"):
        expect["policy"] = {"id": policy.get("id"), "effective_date": policy.get("effective_date")}
    if decision.get("outcome") == "approved" and isinstance(decision.get("approval"), dict):
        expect["approval"] = decision["approval"]
    for key in ("unmet", "missing"):
        if key in decision and isinstance(decision[key], list):
            expect[key] = [e.get("id") if isinstance(e, dict) else e for e in decision[key]]
    if decision.get("errors"):
        expect["errors"] = decision["errors"]
    return expect


# --- YAML text in the style of the case files ------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_ .+/()-]*$")
_RESERVED = re.compile(r"^(y|yes|n|no|true|false|on|off|null|~)$", re.IGNORECASE)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def scalar(value: object) -> str:
    """A YAML scalar that reads back as `value`: plain where that is unambiguous, else JSON
    (JSON strings and numbers are YAML). Dates stay plain: the loaders keep them as text."""
    if isinstance(value, str):
        if _DATE.match(value) or (_PLAIN.match(value) and not _RESERVED.match(value) and not value.endswith(" ")):
            return value
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def flow(value: object) -> str:
    """A value on one line: {a: 1, b: [x, y]}."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(value: dict, indent: int, width: int = 100) -> list[str]:
    """A mapping as block YAML lines at `indent`; a value that fits on its line goes in flow."""
    lines = []
    pad = " " * indent
    for key, v in value.items():
        head = f"{pad}{scalar(str(key))}:"
        one = f"{head} {flow(v)}"
        if len(one) <= width or not isinstance(v, dict | list) or not v:
            lines.append(one)
        elif isinstance(v, dict):
            lines.append(head)
            lines.extend(block(v, indent + 2, width))
        else:
            lines.append(head)
            for item in v:
                lines.append(f"{pad}  - {flow(item)}")
    return lines


def case_text(name: str, proves: str, request: dict, expect: dict, indent: int) -> str:
    pad = " " * indent
    lines = [f"{pad}- name: {name}", f"{pad}  proves: {json.dumps(proves, ensure_ascii=False)}", f"{pad}  request:"]
    lines += block(request, indent + 4)
    lines.append(f"{pad}  expect:")
    lines += block(expect, indent + 4)
    return "\n".join(lines) + "\n"


# --- where the case goes --------------------------------------------------------------------------


def case_file_for(cases_dir: Path, spec: m.PolicySpec, specs_dir: Path) -> Path:
    """The policy's case file: the one under `cases_dir` whose `policy:` is the spec's id, else
    the path beside the spec's place (policy_source/fep/x.yaml -> conformance/fep/x.cases.yaml)."""
    for path in find_case_files([cases_dir]) if cases_dir.exists() else ():
        try:
            data = parse(read_text(path, str(path)), str(path)).data
        except SpecError:
            continue
        if isinstance(data, dict) and data.get("policy") == spec.id:
            return path
    source = Path(spec.source)
    try:
        rel = source.resolve().relative_to(Path(specs_dir).resolve())
    except ValueError:
        rel = Path(source.name)
    return cases_dir / rel.parent / (rel.name.rsplit(".", 1)[0] + CASE_SUFFIX)


def _insertion(text: str) -> tuple[int, int]:
    """(line index to insert before, indentation of a case item) for an existing case file."""
    located = parse(text, "case file")
    data = located.data
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list) or not data["cases"]:
        raise InputError("the case file has no list of cases to add to")
    lines = text.splitlines()
    first_line, first_col = located.position(("cases", 0))
    dash = lines[first_line - 1].rfind("-", 0, first_col - 1)
    cases_line = located.position(("cases",), key=True)[0]
    if dash < 0 or first_line == cases_line:
        raise InputError("the cases are written in flow style ([...]); add this one by hand")
    later = [located.keys[(k,)][0] for k in data if (k,) in located.keys and located.keys[(k,)][0] > cases_line]
    end = min(later) - 1 if later else len(lines)  # lines[end] is the next top-level key
    if later:
        while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1  # leave the next section's comments with it
    else:
        while end > 0 and not lines[end - 1].strip():
            end -= 1
    return end, dash


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_case(
    cases_dir: Path, spec: m.PolicySpec, specs_dir: Path, *, name: str, proves: str, request: dict, expect: dict
) -> Path:
    """Append one case (`request:` the whole request) to the spec's case file, creating the file
    when the policy has none; returns its path. InputError for a bad or taken name, an empty
    `proves`, or a file the case cannot be added to (left as it was)."""
    if not NAME.match(name):
        raise InputError(f"case name {name!r}: use lower-case letters, digits and '-', e.g. adult-ph-negative-approved")
    if not proves or "\n" in proves:
        raise InputError("say in one line what the case proves")
    path = case_file_for(Path(cases_dir), spec, Path(specs_dir))
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old is None:
        new = (
            f"# Golden decisions for {spec.id}: each case says what the policy document decides for\n"
            f"# one request; `expect` is a subset of the decision. Run: rxrego conformance --policy {spec.id}\n"
            f"policy: {spec.id}\n\ncases:\n" + case_text(name, proves, request, expect, 2)
        )
    else:
        try:
            suite = load_case_file(path)
        except SpecError as exc:
            raise InputError(f"{path} has errors; fix them first:\n" + "\n".join(map(str, exc.issues))) from None
        if suite.policy != spec.id:
            raise InputError(f"{path} is for policy {suite.policy}, not {spec.id}")
        if name in {c.name for c in suite.cases}:
            raise InputError(f"{path} already has a case named {name!r}; choose another name")
        lines = old.splitlines()
        at, indent = _insertion(old)
        item = case_text(name, proves, request, expect, indent).rstrip("\n").split("\n")
        new = "\n".join([*lines[:at], *item, *lines[at:]]) + "\n"
    _write_atomically(path, new)
    try:
        suite = load_case_file(path)
        added = next(c for c in suite.cases if c.name == name)
        if added.request != request or added.expect != expect:
            raise ValueError("the saved case does not read back as given")
    except (SpecError, StopIteration, ValueError) as exc:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            _write_atomically(path, old)
        detail = "\n".join(map(str, exc.issues)) if isinstance(exc, SpecError) else str(exc)
        raise InputError(f"the case could not be added to {path} (the file is unchanged): {detail}") from None
    return path
