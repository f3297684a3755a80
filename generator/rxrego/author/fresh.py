"""Rego that matches the specs: the committed rego/ when it is current, else a fresh
generation into a temporary folder, so that `explain`, `decide` and the studio never decide
with Rego older than the spec an author just edited.

"Current" means exactly what `rxrego generate --check` means: the files the specs generate
(rendered, `opa fmt`-formatted, `opa check --strict`-checked) are byte-for-byte the files
under rego/. Deciding this costs one generation (about a second for the project's specs);
a stale rego/ is never written to here: that stays `rxrego generate`'s job.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import generate as gen
from ..spec import model as m
from ..spec.errors import SpecError
from ..spec.loader import find_specs, load_specs
from .common import InputError


@dataclass
class FreshRego:
    """Where current Rego is. `path` is rego/ itself when it is current (`stale` empty), or
    a temporary folder holding a fresh generation (`stale` names the files of rego/ that
    differ, are missing or are extra). Call `close()` (or use `with`) to remove the
    temporary folder."""

    path: Path
    specs: list[m.PolicySpec]
    stale: list[str] = field(default_factory=list)
    _tmp: str | None = None

    @property
    def generated(self) -> bool:
        """True when `path` is a temporary generation, not the given rego/ folder."""
        return self._tmp is not None

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> FreshRego:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_spec_folder(specs_dir: str | Path) -> list[m.PolicySpec]:
    """Every spec under `specs_dir`; InputError listing every issue (file:line:column) when
    one does not load, or when there is no spec at all."""
    folder = Path(specs_dir)
    if not folder.exists():
        raise InputError(f"no such folder: {specs_dir} (give the folder of policy specs with --specs)")
    files = find_specs([folder])
    if not files:
        raise InputError(f"no spec files (*.yaml, *.yml) under {specs_dir}")
    try:
        return load_specs(files)
    except SpecError as exc:
        lines = [str(i) for i in exc.issues]
        raise InputError(
            "\n".join(lines)
            + f"\n{len(lines)} error(s) in the specs under {specs_dir}: fix them first (`rxrego check`)"
        ) from None


def fresh_rego(specs_dir: str | Path, rego_dir: str | Path) -> FreshRego:
    """Current Rego for the specs under `specs_dir`: `rego_dir` when it is what the specs
    generate, else a generation into a new temporary folder. Raises InputError for specs
    with errors, GenerateError (a generator bug) and ToolError (no OPA) as `generate` does."""
    specs = load_spec_folder(specs_dir)
    files = gen.build(specs, gen.project_label(specs_dir) + "/")
    drift = gen.compare(files, Path(rego_dir))
    if drift.clean:
        return FreshRego(Path(rego_dir), specs)
    tmp = tempfile.mkdtemp(prefix="rxrego-fresh-")
    out = Path(tmp) / "rego"
    gen.write(files, out)
    return FreshRego(out, specs, [*drift.stale, *drift.missing, *drift.extra], tmp)
