"""Trying a request from the command line (`rxrego explain`, `rxrego decide`): the request
from a JSON or YAML file or a golden case by name, decided with Rego that matches the specs,
once or again on every save (`--watch`).

- **Requests** are read as JSON (`.json`) or YAML (`.yaml` / `.yml`); from standard input (or
  another name) a text starting with `{` is JSON, anything else YAML. YAML goes through the
  specs' safe reader (duplicate keys, aliases and merge keys refused; dates stay text, as
  a request needs them). Mistakes are InputError naming file, line and column.
- **`--case NAME`** takes the request of a golden case (`base` + `set` / `unset` expanded as
  `rxrego conformance` does) from the case files under a folder; `FILE::NAME` picks one when
  two files have a case of that name.
- **Never stale**: `RegoSource` gives the Rego folder to decide with: the given rego/ when
  it is what the specs generate, else a generation into a temporary folder (`stale=generate`,
  the default, with a note saying so) or an error (`stale=fail`).
- **Watching**: `watch` polls the modification times of the files involved (the request or
  case file and every spec) and calls back on each change; no extra dependency.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import requests_io
from ..conformance.cases import Case, find_case_files, load_case_file
from ..spec.errors import SpecError
from ..spec.loader import find_specs
from ..spec.yamlsource import parse
from .common import InputError
from .fresh import FreshRego, fresh_rego

STALE_CHOICES = ("generate", "fail")


class StaleRego(InputError):
    """rego/ is not what the specs generate, and the caller asked to stop rather than
    generate (`--stale fail`)."""


# --- the request ---------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a request file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def parse_request(text: str, name: str) -> object:
    """A request from JSON or YAML text (by `name`'s suffix, else by its first character),
    read by rxrego.requests_io: a key given twice, a number outside the accepted range,
    nesting deeper than requests_io.MAX_DEPTH or a lone surrogate is an InputError naming
    the field. A leading UTF-8 byte order mark is ignored."""
    text = text.removeprefix(requests_io.BOM)  # a byte order mark, as editors on Windows write
    suffix = Path(name).suffix.lower()
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith(("{", "[")))
    try:
        if as_json:
            return requests_io.loads(text)
        try:
            data = parse(text, name).data  # duplicate keys and YAML 1.1 oddities refused here
        except SpecError as exc:
            raise InputError("\n".join(str(i) for i in exc.issues)) from None
        requests_io.check(data)
        return data
    except requests_io.RequestError as exc:
        raise InputError(exc.describe(name)) from None


def load_request(path: str) -> object:
    """The request in a JSON or YAML file (or - for standard input)."""
    return parse_request(_read(path), "<stdin>" if path == "-" else path)


def find_case(cases_dir: str | Path, name: str) -> Case:
    """The golden case called `name` (or `FILE::NAME`) under `cases_dir`."""
    folder = Path(cases_dir)
    if not folder.exists():
        raise InputError(f"no such folder: {cases_dir} (give the golden cases' folder with --cases)")
    file_part, sep, case_name = name.rpartition("::")
    if not sep:
        file_part, case_name = "", name
    found: list[Case] = []
    for path in find_case_files([folder]):
        if file_part and path.name != Path(file_part).name:
            continue
        try:
            suite = load_case_file(path)
        except SpecError as exc:
            if any(case_name in str(i) for i in exc.issues) or file_part:
                raise InputError("\n".join(map(str, exc.issues))) from None
            continue
        found += [c for c in suite.cases if c.name == case_name]
    if not found:
        raise InputError(f"no golden case named {name!r} under {cases_dir}")
    if len(found) > 1:
        raise InputError(
            f"{len(found)} case files have a case named {case_name!r}: say which, e.g. "
            + ", ".join(c.id for c in found)
        )
    return found[0]


WRAPPER_NOTE = (
    'the file wraps the request as {"input": {...}}, the body OPA\'s data API takes '
    "(POST /v1/data/rxrego/decision; `rxrego serve` prints such a curl): deciding the request "
    "inside it. a request file may be the request itself (pa-request.schema.json: request_type, drug, ...)"
)


def opa_input(body: object) -> dict | None:
    """The request inside an OPA data-API body `{"input": {...}}` (what POST /v1/data/...
    takes and `rxrego serve` prints as a curl sample), or None when `body` is not one: a
    mapping whose only key is "input", holding a mapping. A request never has a top-level
    "input" field (pa-request.schema.json), so the two cannot be confused."""
    if isinstance(body, dict) and list(body) == ["input"] and isinstance(body["input"], dict):
        return body["input"]
    return None


@dataclass(frozen=True)
class RequestSource:
    """Where the request comes from: a file, or a golden case by name."""

    path: str | None = None
    case: str | None = None
    cases_dir: str = "conformance"

    def __post_init__(self) -> None:
        if (self.path is None) == (self.case is None):
            raise InputError("give a request file (JSON or YAML) or --case NAME, not both and not neither")

    def load(self) -> tuple[object, str]:
        """(request, a label for it). A file holding an OPA data-API body {"input": request}
        gives the request inside, its label ending with WRAPPER_NOTE (see `wrapped`)."""
        if self.case is not None:
            case = find_case(self.cases_dir, self.case)
            return case.request, f"golden case {case.id} ({case.file}:{case.line})"
        assert self.path is not None, "__post_init__: a path when no case"
        label = self.path if self.path != "-" else "standard input"
        request = load_request(self.path)
        inner = opa_input(request)
        if inner is not None:
            return inner, f"{label}: {WRAPPER_NOTE}"
        return request, label

    @staticmethod
    def wrapped(label: str) -> str | None:
        """The note to print when load() found the request inside an OPA data-API body."""
        return WRAPPER_NOTE if label.endswith(WRAPPER_NOTE) else None

    def files(self) -> list[Path]:
        """The files whose change changes the request."""
        if self.case is not None:
            return find_case_files([self.cases_dir]) if Path(self.cases_dir).exists() else []
        assert self.path is not None, "__post_init__: a path when no case"
        return [] if self.path == "-" else [Path(self.path)]


# --- the Rego -----------------------------------------------------------------------------------


class RegoSource:
    """Rego to decide with that matches the specs under `specs_dir`, regenerated only when a
    spec changed since the last call. `notes` says what was done (to print on stderr)."""

    def __init__(self, specs_dir: str | Path, rego_dir: str | Path, stale: str = "generate"):
        if stale not in STALE_CHOICES:
            raise ValueError(stale)
        self.specs_dir, self.rego_dir, self.stale = Path(specs_dir), Path(rego_dir), stale
        self._fresh: FreshRego | None = None
        self._seen: tuple | None = None
        self.notes: list[str] = []

    def files(self) -> list[Path]:
        return find_specs([self.specs_dir]) if self.specs_dir.exists() else []

    def current(self) -> FreshRego:
        """The Rego to use; InputError when rego/ is stale and `stale` is "fail", or when the
        specs have errors."""
        self.notes = []
        if not self.rego_dir.is_dir():
            raise InputError(
                f"no such folder: {self.rego_dir} (generate the Rego with `rxrego generate`, or pass --rego)"
            )
        if not self.specs_dir.exists():
            self.notes.append(
                f"no specs at {self.specs_dir}/, so whether {self.rego_dir}/ is current cannot be checked (give --specs)"
            )
            return FreshRego(self.rego_dir, [])
        seen = _fingerprint([*self.files(), *sorted(p for p in self.rego_dir.rglob("*.rego"))])
        if self._fresh is not None and seen == self._seen:
            return self._fresh
        self.close()
        fresh = fresh_rego(self.specs_dir, self.rego_dir)
        if fresh.generated:
            listed = ", ".join(fresh.stale[:3]) + (f" and {len(fresh.stale) - 3} more" if len(fresh.stale) > 3 else "")
            if self.stale == "fail":
                fresh.close()
                raise StaleRego(
                    f"{self.rego_dir}/ is stale: {len(fresh.stale)} file(s) differ from what {self.specs_dir}/ generates "
                    f"({listed}); run `rxrego generate`, or leave out --stale fail to decide with fresh Rego"
                )
            self.notes.append(
                f"{self.rego_dir}/ is stale ({listed} differ from what {self.specs_dir}/ generates): decided with Rego "
                "generated from the specs into a temporary folder; `rxrego generate` updates rego/"
            )
        self._fresh, self._seen = fresh, seen
        return fresh

    def close(self) -> None:
        if self._fresh is not None:
            self._fresh.close()
            self._fresh = None


# --- watching ------------------------------------------------------------------------------------


def _fingerprint(paths: Iterable[Path]) -> tuple:
    out: list[tuple[str, int | None, int | None]] = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def watch(
    files: Callable[[], list[Path]],
    run: Callable[[], None],
    *,
    report: Callable[[str], None] = lambda line: None,
    interval: float = 0.5,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Call `run()` now and again whenever one of `files()` (asked anew each time, so new
    files count) changes, until `stop()` is true or KeyboardInterrupt; after each run,
    `report` gets a line saying how many files are watched. `run` shows its own errors."""
    seen = None
    while not stop():
        now = _fingerprint(files())
        if now != seen:
            seen = now
            run()
            report(f"-- watching {len(now)} file(s) for changes; Ctrl-C stops")
        time.sleep(interval)
