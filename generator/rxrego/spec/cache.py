"""A content-keyed cache of what loading a spec file produces, and of its data form.

Loading a spec (YAML, the JSON Schema, the meaning checks: rxrego.spec.loader) costs some
15-30 ms, and turning it into bundle data (rxrego.catalog.policy_data) about as much again;
for a catalog of thousands of policies that is most of `rxrego generate` and `rxrego bundle
--form data` (BENCHMARKS.md, G3), although between two runs almost every spec is unchanged.
With the cache on, a spec file whose bytes, path and generator are those of an earlier run
is read back instead of loaded again; so, through `remembered`, are the ICD-10-CM expansions
and UCUM tables rendering its Rego asks for, so that generating from unchanged specs loads
neither the code set nor the unit registry.

- **Off unless asked for**: set RXREGO_CACHE_DIR to a folder (created when missing). The
  folder holds Python pickles, which run code when read: point it only at a folder no one
  else can write to (as any pickle cache).
- **Keyed by content, never by time**: an entry's key is the SHA-256 of the spec file's bytes,
  the path it is reported under (errors and the router's tables name it), and `fingerprint()`:
  every file of the installed rxrego package (its Python, schemas, templates and Rego) and the
  versions of the libraries whose answers a spec's loading depends on (the ICD-10-CM code set,
  UCUM, YAML, JSON Schema) and of Python. A change to any of them is another key, so a stale
  entry is never read; nothing is invalidated in place, and old entries are simply not read
  again (delete the folder to reclaim the space).
- **Only successes are kept**: a file with a mistake is loaded (and its errors worded) afresh
  on every run, so errors read exactly as without the cache.
- **A damaged entry is a miss**: an entry that cannot be read back is loaded again and
  rewritten; writing is atomic (a temporary file, then a rename) and a cache that cannot be
  written is skipped silently (the run is only slower).

tests/test_spec_cache.py checks that a run with the cache, cold and warm, writes the same
bytes as a run without it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

ENV = "RXREGO_CACHE_DIR"
# Distributions whose answers loading or rendering a spec depends on (the ICD-10-CM code
# set, the UCUM grammar and pint's unit registry, YAML's reading, the schema validators,
# the templates' engine).
DEPENDENCIES = ("pyyaml", "jsonschema", "fastjsonschema", "simple-icd-10-cm", "ucumvert", "pint", "jinja2")
_FORMAT = b"rxrego-spec-cache 1"
T = TypeVar("T")


def directory() -> Path | None:
    """The cache folder ($RXREGO_CACHE_DIR), or None when the cache is off (unset or empty)."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


@functools.cache
def fingerprint() -> bytes:
    """The SHA-256 of the generator: the path and bytes of every file of the rxrego package
    (not its bytecode caches), the versions of DEPENDENCIES and of Python. Computed once per
    process (~120 files, a few milliseconds)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(_FORMAT)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    for dist in DEPENDENCIES:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{dist}={version}\0".encode())
    h.update(sys.version.encode())
    return h.digest()


def key(*parts: bytes | str) -> str:
    """A cache key: the hex SHA-256 of fingerprint() and `parts` (each length-prefixed, so
    no two different lists of parts give one key)."""
    h = hashlib.sha256(fingerprint())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _path(folder: Path, kind: str, k: str) -> Path:
    return folder / kind / k[:2] / f"{k}.pickle"


def get(kind: str, k: str) -> object | None:
    """The entry `kind`/`k`, or None when the cache is off, has no such entry, or the entry
    cannot be read back (a damaged entry is a miss)."""
    folder = directory()
    if folder is None:
        return None
    try:
        data = _path(folder, kind, k).read_bytes()
    except OSError:
        return None
    try:
        return pickle.loads(data)
    except Exception:  # a truncated or foreign file: load afresh
        return None


def put(kind: str, k: str, value: object) -> None:
    """Store `value` as the entry `kind`/`k` (atomically; nothing when the cache is off or
    cannot be written)."""
    folder = directory()
    if folder is None:
        return
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # not storable: stay uncached
        return
    target = _path(folder, kind, k)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return


def remembered(kind: str, question: str, answer: Callable[[], T]) -> T:
    """`answer()`, or what it returned for the same `question` in an earlier run: for the
    terminology answers generating Rego asks for (an ICD-10-CM expansion, a UCUM table of
    accepted units), which are pure functions of `question` and of the libraries in
    DEPENDENCIES (part of every key), but whose first call loads the ICD-10-CM code set or
    pint's unit registry (seconds). With the cache off it is `answer()`. An exception is
    raised as is and nothing is stored, as for a spec with a mistake."""
    if directory() is None:
        return answer()
    k = key(kind, question)
    hit = get(kind, k)
    if hit is not None:
        return hit  # type: ignore[return-value]
    value = answer()
    put(kind, k, value)
    return value
