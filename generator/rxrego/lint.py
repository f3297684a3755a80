"""The three checks generated Rego must pass: opa fmt, opa check --strict, Regal."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import opa, toolchain


@dataclass(frozen=True)
class LintResult:
    name: str
    ok: bool
    output: str


def run_all(rego_dir: Path) -> list[LintResult]:
    """`opa fmt --list`, `opa check --strict` and `regal lint` (with the packaged Regal
    configuration) over `rego_dir`, in that order; one LintResult each, ok or with what the
    tool printed. ToolError when OPA or Regal is missing or at the wrong version."""
    results = []
    fmt = opa.run(["fmt", "--list", str(rego_dir)])
    unformatted = fmt.stdout.strip()
    results.append(
        LintResult("opa fmt (no file would change)", fmt.returncode == 0 and not unformatted,
                   (f"not formatted:\n{unformatted}\n" if unformatted else "") + fmt.stderr)
    )
    check = opa.run(["check", "--strict", str(rego_dir)])
    results.append(LintResult("opa check --strict", check.returncode == 0, check.stdout + check.stderr))
    # rxrego's own Regal configuration, from the package: never a .regal/ folder that happens
    # to lie around, so a checkout and an installed rxrego give the same lint result.
    args = [str(toolchain.regal().path), "lint", "--no-color", "--config-file", str(toolchain.regal_config())]
    regal = subprocess.run([*args, str(rego_dir)], capture_output=True, text=True, timeout=600)
    results.append(LintResult("regal lint", regal.returncode == 0, regal.stdout + regal.stderr))
    return results
