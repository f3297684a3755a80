"""Python hygiene: ruff's lint and format checks over the Python code and mypy over the
generator pass, with the configuration in pyproject.toml ([tool.ruff], [tool.mypy]) and
the versions pinned in its `test` extra."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DIRS = ("generator", "tests", "bench")


def _tool(name: str) -> str:
    """The tool installed beside this interpreter (the venv's), not one found on PATH."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in the venv ({path}): run `make setup`")
    return str(path)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _report(proc: subprocess.CompletedProcess) -> str:
    return f"`{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(proc.args))}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"


def test_ruff_check_passes():
    proc = _run(_tool("ruff"), "check", "--no-cache", *PYTHON_DIRS)
    assert proc.returncode == 0, _report(proc)


def test_ruff_format_check_passes():
    proc = _run(_tool("ruff"), "format", "--check", "--no-cache", *PYTHON_DIRS)
    assert proc.returncode == 0, _report(proc) + f"\n(`ruff format {' '.join(PYTHON_DIRS)}` rewrites them)"


def test_mypy_passes_over_the_generator():
    # The files, python_version and strictness come from [tool.mypy] in pyproject.toml.
    proc = _run(_tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental")
    assert proc.returncode == 0, _report(proc)
    # ...and it checked every module of the package, not a subset the configuration named.
    checked = re.search(r"in (\d+) source files?", proc.stdout)
    assert checked, _report(proc)
    assert int(checked.group(1)) == len(list((ROOT / "generator" / "rxrego").rglob("*.py"))), _report(proc)
