"""The checks Rego must pass: opa fmt, opa check --strict and Regal over the generated Rego,
Regal and `opa test --coverage` over the Rego the package ships (the shared library and its
tests, generator/rxrego/rego/)."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import opa, toolchain

# The shared library's line coverage by its tests must reach this (percent).
LIB_COVERAGE_GOAL = 95.0
LIB_FILE = "rxrego/lib/lib.rego"  # under package_rego()
# Every module of the shared library (generate.LIB_PATH and generate.LIB_PARTS); each must
# reach the goal.
LIB_FILES = (LIB_FILE, "rxrego/lib/coverage.rego", "rxrego/lib/labs.rego", "rxrego/lib/clinical.rego")


@dataclass(frozen=True)
class LintResult:
    name: str
    ok: bool
    output: str


def package_rego() -> Path:
    """The folder of Rego shipped as package data: the shared library (rxrego/lib/lib.rego,
    which the generator copies into rego/) and every *_test.rego beside what it tests."""
    return Path(str(importlib.resources.files("rxrego").joinpath("rego")))


@dataclass(frozen=True)
class RegoTests:
    """What `opa test` found: test counts, the failures (as `package.name`), and line coverage
    in percent per file (paths relative to the folder tested) and over all files."""

    passed: int
    failed: tuple[str, ...]
    coverage: dict[str, float] = field(default_factory=dict)
    total_coverage: float = 0.0
    output: str = ""

    @property
    def lib_coverage(self) -> float:
        return min(self.coverage.get(f, 0.0) for f in LIB_FILES)

    @property
    def ok(self) -> bool:
        return not self.failed and self.passed > 0 and self.lib_coverage >= LIB_COVERAGE_GOAL

    def summary(self) -> str:
        return (
            f"opa test: {self.passed} passed, {len(self.failed)} failed; "
            f"lib line coverage {self.lib_coverage:.1f}% (goal >= {LIB_COVERAGE_GOAL:.0f}%)"
        )


def run_rego_tests(folder: Path | None = None) -> RegoTests:
    """Every *_test.rego under `folder` (default: the package's Rego) with `opa test`, then its
    line coverage with `opa test --coverage`. Raises opa.OpaError when OPA cannot run them
    (a parse or compile error), never for a failing test."""
    folder = folder or package_rego()
    result = opa.run(["test", "--format", "json", "."], cwd=folder)
    try:
        tests = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise opa.OpaError(
            f"opa test could not run the tests in {folder}:\n{result.stderr.strip() or result.stdout.strip()}"
        ) from None
    failed = tuple(f"{t['package']}.{t['name']}" for t in tests if t.get("fail") or t.get("error"))
    passed = sum(1 for t in tests if not (t.get("fail") or t.get("error") or t.get("skip")))
    if failed:
        verbose = opa.run(["test", "--explain", "fails", "."], cwd=folder)
        return RegoTests(passed, failed, output=verbose.stdout + verbose.stderr)
    result = opa.run(["test", "--coverage", "--format", "json", "."], cwd=folder)
    if result.returncode != 0:
        raise opa.OpaError(f"opa test --coverage failed in {folder}:\n{result.stderr.strip() or result.stdout.strip()}")
    report = json.loads(result.stdout)
    coverage = {Path(name).as_posix(): float(f.get("coverage", 0.0)) for name, f in report.get("files", {}).items()}
    not_covered = {
        Path(name).as_posix(): [(r["start"]["row"], r["end"]["row"]) for r in f.get("not_covered", [])]
        for name, f in report.get("files", {}).items()
        if f.get("not_covered")
    }
    output = "".join(f"lines not covered in {name}: {rows}\n" for name, rows in not_covered.items())
    return RegoTests(passed, (), coverage, float(report.get("coverage", 0.0)), output)


def run_all(rego_dir: Path, *, built: bool = False) -> list[LintResult]:
    """`opa fmt --list`, `opa check --strict` and `regal lint` (with the packaged Regal
    configuration) over `rego_dir` (Regal over the package's Rego too), then `opa test
    --coverage` of the package's Rego (run_rego_tests), in that order; one LintResult each,
    ok or with what the tool printed. ToolError when OPA or Regal is missing or at the wrong
    version.

    `built=True` says `rego_dir` holds exactly what rxrego.generate.build returned in this
    process, which already ran `opa fmt` and `opa check --strict` over every byte of it: those
    two are then reported as done by generate instead of being run again (at 1,000 policies
    each costs many seconds of compiling). Regal and the Rego tests always run."""
    results = []
    if built:
        results.append(LintResult("opa fmt (done by generate)", True, ""))
        results.append(LintResult("opa check --strict (done by generate)", True, ""))
    else:
        fmt = opa.run(["fmt", "--list", str(rego_dir)], timeout=opa.timeout_for(rego_dir))
        unformatted = fmt.stdout.strip()
        results.append(
            LintResult(
                "opa fmt (no file would change)",
                fmt.returncode == 0 and not unformatted,
                (f"not formatted:\n{unformatted}\n" if unformatted else "") + fmt.stderr,
            )
        )
        check = opa.run(["check", "--strict", str(rego_dir)], timeout=opa.timeout_for(rego_dir))
        results.append(LintResult("opa check --strict", check.returncode == 0, check.stdout + check.stderr))
    # rxrego's own Regal configuration, from the package: never a .regal/ folder that happens
    # to lie around, so a checkout and an installed rxrego give the same lint result.
    args = [str(toolchain.regal().path), "lint", "--no-color", "--config-file", str(toolchain.regal_config())]
    shipped = package_rego()
    regal = subprocess.run(
        [*args, str(rego_dir), str(shipped)], capture_output=True, text=True, timeout=opa.timeout_for(rego_dir)
    )
    results.append(
        LintResult(
            "regal lint (and the package's Rego and its tests)", regal.returncode == 0, regal.stdout + regal.stderr
        )
    )
    tests = run_rego_tests(shipped)
    output = tests.output
    if tests.lib_coverage < LIB_COVERAGE_GOAL and not tests.failed:
        output = f"the shared library's line coverage is below {LIB_COVERAGE_GOAL:.0f}%\n" + output
    results.append(LintResult(tests.summary(), tests.ok, output))
    return results
