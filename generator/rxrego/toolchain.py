"""Finding the pinned OPA and Regal binaries (toolchain.env) and checking their versions.

Lookup order for each tool: the environment variable (RXREGO_OPA / RXREGO_REGAL), then the
project's tools folder (RXREGO_TOOLS, default .tools beside toolchain.env), then PATH. A
binary at the wrong version is reported, never used silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ENV_VARS = {"opa": "RXREGO_OPA", "regal": "RXREGO_REGAL"}
INSTALL_HINT = "run `make run` (or scripts/install-tools) to build the pinned version into .tools/bin"


class ToolError(RuntimeError):
    """A tool is missing or at the wrong version; the message says what to do."""


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str  # without a leading "v"
    source: str  # which lookup found it


def project_root() -> Path | None:
    """The checkout holding toolchain.env: found from the working directory or this package."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for d in (start, *start.parents):
            if (d / "toolchain.env").is_file() and (d / "pyproject.toml").is_file():
                return d
    return None


def pins() -> dict[str, str]:
    """KEY=value pairs of toolchain.env (empty if no checkout is found)."""
    root = project_root()
    if root is None:
        return {}
    out = {}
    for line in (root / "toolchain.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def pinned_version(name: str) -> str | None:
    v = pins().get(f"{name.upper()}_VERSION")
    return v.lstrip("v") if v else None


def tools_dir() -> Path | None:
    if os.environ.get("RXREGO_TOOLS"):
        return Path(os.environ["RXREGO_TOOLS"])
    root = project_root()
    return root / ".tools" if root else None


def reported_version(path: Path) -> str | None:
    try:
        out = subprocess.run([str(path), "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"^Version:\s*v?(\S+)", out, re.MULTILINE)
    return m.group(1) if m else None


def candidates(name: str) -> list[tuple[str, Path]]:
    """Where `name` may be, in lookup order, with how each was found."""
    out = []
    env = os.environ.get(ENV_VARS[name])
    if env:
        out.append((f"${ENV_VARS[name]}", Path(env)))
    tdir = tools_dir()
    if tdir is not None:
        out.append(("tools folder", tdir / "bin" / name))
    on_path = shutil.which(name)
    if on_path:
        out.append(("PATH", Path(on_path)))
    return out


def find(name: str) -> Tool:
    """The first binary for `name` at the pinned version; ToolError saying what is wrong otherwise."""
    want = pinned_version(name)
    problems = []
    for source, path in candidates(name):
        if not path.is_file() or not os.access(path, os.X_OK):
            if source.startswith("$"):
                problems.append(f"{source} is {path}, which is not an executable file")
            continue
        have = reported_version(path)
        if want is None or have == want:
            return Tool(name, path, have or "unknown", source)
        problems.append(f"{path} ({source}) is version {have or 'unknown'}, not the pinned {want}")
    detail = "; ".join(problems) if problems else f"{name} was not found"
    raise ToolError(f"{name} {('v' + want) if want else ''}: {detail}. To fix: {INSTALL_HINT}.")


_cache: dict[str, Tool] = {}


def opa() -> Tool:
    """The pinned OPA (looked up once per process)."""
    if "opa" not in _cache:
        _cache["opa"] = find("opa")
    return _cache["opa"]


def regal() -> Tool:
    if "regal" not in _cache:
        _cache["regal"] = find("regal")
    return _cache["regal"]
