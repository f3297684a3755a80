"""A policy repository: the folder holding `rxrego.toml`, and the settings that file gives.

Every rxrego command works on one repository. Its root is the nearest folder, from the
working directory upwards, that holds `rxrego.toml` (`rxrego init` writes one; rxrego's own
checkout has one too), so a command run in any sub-folder reads the same specs and writes
the same bytes. Paths in the file are relative to that folder.

    [payer]
    name = "Example Health Plan"      # who the policies belong to (shown by `rxrego doctor`)

    [paths]                            # all optional; these are the defaults
    specs = "policy_source"            # policy specs (rxrego check / generate)
    cases = "conformance"              # golden cases (rxrego conformance)
    rego = "rego"                      # generated Rego, committed (rxrego generate / lint)
    junit = "build/conformance.xml"    # the JUnit report of `rxrego run`
    tools = ".tools"                   # where `rxrego install-tools` puts OPA and Regal

The file is TOML 1.0 (read with the standard library's tomllib).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

CONFIG_NAME = "rxrego.toml"

# The settings of [paths], with their defaults: also the folder names the commands' options
# default to when no repository is found.
DEFAULT_PATHS = {
    "specs": "policy_source",
    "cases": "conformance",
    "rego": "rego",
    "junit": "build/conformance.xml",
    "tools": ".tools",
}


class ProjectError(RuntimeError):
    """rxrego.toml is missing, unreadable or wrong; the message names the file, line and field."""


@dataclass(frozen=True)
class Project:
    """One policy repository. `root` is absolute; the path settings are relative to it."""

    root: Path
    payer: str
    specs: str = DEFAULT_PATHS["specs"]
    cases: str = DEFAULT_PATHS["cases"]
    rego: str = DEFAULT_PATHS["rego"]
    junit: str = DEFAULT_PATHS["junit"]
    tools: str = DEFAULT_PATHS["tools"]

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    def path(self, setting: str) -> Path:
        """The absolute path of a [paths] setting ("specs", "cases", "rego", "junit", "tools")."""
        return self.root / getattr(self, setting)

    def shown(self, setting: str, cwd: Path | None = None) -> str:
        """A [paths] setting as a user types it from `cwd` (default: the working directory):
        relative when that is shorter, so messages read `rego/`, not an absolute path."""
        target = self.path(setting)
        here = (cwd or Path.cwd()).resolve()
        try:
            return os.path.relpath(target, here)
        except ValueError:  # another drive (Windows)
            return str(target)

    def label(self, path: str | Path) -> str:
        """`path` relative to the root, with forward slashes (what generated files name);
        the file's name alone when it lies outside the repository."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.name


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder from `start` (default: the working directory) upwards that holds
    rxrego.toml, or None."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_NAME).is_file():
            return d
    return None


def _line_of(text: str, table: str, key: str | None) -> int:
    """The 1-based line of `[table]` (or of `key = ...` inside it) in a TOML text; 1 if absent."""
    current = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line.strip("[] ")
            if key is None and current == table:
                return n
        elif key is not None and current == table and line.split("=", 1)[0].strip() == key:
            return n
    return 1


def load(root: Path) -> Project:
    """The Project whose config file is `root`/rxrego.toml; ProjectError naming the file,
    line and field for a syntax error, an unknown setting or a value of the wrong type."""
    config = root / CONFIG_NAME
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{config}: cannot read it: {exc}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{config}: not valid TOML: {exc}") from exc

    def bad(table: str, key: str | None, message: str) -> ProjectError:
        field = f"{table}.{key}" if key else table
        return ProjectError(f"{config}:{_line_of(text, table, key)}: {field}: {message}")

    for table in doc:
        if table not in ("payer", "paths"):
            raise bad(table, None, "unknown table; expected [payer] and optionally [paths]")
    payer = doc.get("payer")
    if not isinstance(payer, dict) or not isinstance(payer.get("name"), str) or not payer["name"].strip():
        raise bad(
            "payer",
            "name" if isinstance(payer, dict) else None,
            'expected a non-empty string: name = "Example Health Plan"',
        )
    for key in payer:
        if key != "name":
            raise bad("payer", key, "unknown setting; [payer] has only name")
    paths = doc.get("paths", {})
    if not isinstance(paths, dict):
        raise bad("paths", None, "expected a table of folder names")
    values = {}
    for key, value in paths.items():
        if key not in DEFAULT_PATHS:
            raise bad("paths", key, f"unknown setting; expected one of {', '.join(DEFAULT_PATHS)}")
        if not isinstance(value, str) or not value.strip() or Path(value).is_absolute():
            raise bad("paths", key, f"expected a path relative to {root}, found {value!r}")
        values[key] = value.strip().rstrip("/")
    return Project(root=root.resolve(), payer=payer["name"].strip(), **values)


def find(start: Path | None = None) -> Project | None:
    """The repository around `start` (default: the working directory), or None when no
    rxrego.toml is found; ProjectError when one is found but is wrong."""
    root = find_root(start)
    return load(root) if root is not None else None


def require(start: Path | None = None) -> Project:
    """Like find, but ProjectError saying how to create a repository when there is none."""
    project = find(start)
    if project is None:
        here = (start or Path.cwd()).resolve()
        raise ProjectError(
            f"no {CONFIG_NAME} in {here} or any folder above it: this is not an rxrego policy "
            "repository. Run `rxrego init` to create one, or change to the repository's folder."
        )
    return project


def setting_names() -> tuple[str, ...]:
    """The [paths] settings, in the order the file documents them."""
    return tuple(f.name for f in fields(Project) if f.name in DEFAULT_PATHS)


def command_defaults(commands: Mapping[str, object], project: Project, cwd: Path | None = None) -> dict:
    """A click `default_map` that points the options of `commands` ({name: click.Command},
    groups walked recursively) at the repository's folders: every parameter whose built-in
    default is one of the standard folder names (DEFAULT_PATHS: "policy_source", "rego",
    "conformance", ...) defaults to that setting of `project` instead, as seen from `cwd`.

    So `rxrego generate` run in a sub-folder reads `../policy_source` and writes `../rego`,
    and a repository that renames a folder in rxrego.toml renames it for every command.
    """
    by_default = {v: k for k, v in DEFAULT_PATHS.items()}
    out: dict = {}
    for name, command in commands.items():
        sub = getattr(command, "commands", None)
        if sub:
            nested = command_defaults(sub, project, cwd)
            if nested:
                out[name] = nested
            continue
        entries = {}
        for param in getattr(command, "params", []):
            default = param.default
            if isinstance(default, (tuple, list)) and len(default) == 1:
                default = default[0]
            if isinstance(default, str) and default.rstrip("/") in by_default:
                value = project.shown(by_default[default.rstrip("/")], cwd)
                entries[param.name] = (value,) if param.multiple or param.nargs == -1 else value
        if entries:
            out[name] = entries
    return out
