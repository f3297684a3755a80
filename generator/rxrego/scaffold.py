"""`rxrego init`: a new policy repository for a payer.

A payer keeps its policies in a repository of its own and installs rxrego as a tool; it does
not fork rxrego. `create` lays out that repository:

    rxrego.toml                     the payer and the folders (see rxrego.project)
    policy_source/README.md         where the specs go
    conformance/README.md           where the golden cases go
    rego/                           empty until `rxrego generate` fills it
    requirements.txt                rxrego[tools]==<this version>: the pinned rxrego (and so OPA)
    .github/workflows/rxrego.yml    CI: check, generate --check, lint, conformance with JUnit
    .pre-commit-config.yaml         the same checks before each commit
    .gitignore                      .tools/, build/, .venv/, token.txt
    README.md                       how to work in the repository

Files that already exist are kept as they are (so `rxrego init` can be run in an existing
repository); a folder that already holds rxrego.toml is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

from .project import CONFIG_NAME, ProjectError

WORKFLOW_PATH = ".github/workflows/rxrego.yml"
PRE_COMMIT_PATH = ".pre-commit-config.yaml"

# path in the new repository -> template under templates/init (".j2": rendered with Jinja2).
FILES = {
    CONFIG_NAME: "rxrego.toml.j2",
    "README.md": "README.md.j2",
    "requirements.txt": "requirements.txt.j2",
    WORKFLOW_PATH: "rxrego.yml",
    PRE_COMMIT_PATH: "pre-commit-config.yaml",
    ".gitignore": "gitignore",
    "policy_source/README.md": "policy_source-README.md",
    "conformance/README.md": "conformance-README.md",
}
FOLDERS = ("policy_source", "conformance", "rego")


@dataclass
class Created:
    """What `create` did: files written and files kept because they existed (paths relative
    to the repository's root)."""

    root: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def version() -> str:
    """The installed rxrego's version: what requirements.txt pins."""
    try:
        return metadata.version("rxrego")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        raise ProjectError(
            "rxrego is not installed (no package metadata), so the version to pin is unknown; install it with pip first"
        ) from None


def template(name: str) -> str:
    """The text of templates/init/`name` as shipped in the package."""
    return resources.files("rxrego").joinpath("templates", "init", name).read_text(encoding="utf-8")


def render(payer: str, rxrego_version: str | None = None) -> dict[str, str]:
    """{path: text} of every file of a new repository for `payer` pinned to `rxrego_version`
    (default: the installed one)."""
    import jinja2

    payer = payer.strip()
    if not payer or any(c in payer for c in "\n\r"):
        raise ProjectError("the payer's name must be one non-empty line")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["toml_string"] = _toml_string
    values = {"payer": payer, "version": rxrego_version or version()}
    out = {}
    for path, name in FILES.items():
        text = template(name)
        out[path] = env.from_string(text).render(values) if name.endswith(".j2") else text
    return out


def _toml_string(value: str) -> str:
    """`value` as a TOML basic string. JSON's string escapes are a subset of TOML's; the
    round trip through tomllib proves it for this value."""
    import json
    import tomllib

    text = json.dumps(value, ensure_ascii=False)
    if tomllib.loads(f"v = {text}")["v"] != value:  # pragma: no cover - a control character TOML escapes differently
        text = json.dumps(value, ensure_ascii=True)
    return text


def create(root: Path, payer: str, rxrego_version: str | None = None) -> Created:
    """Lay out a policy repository in `root` (created if missing). ProjectError when `root`
    already holds rxrego.toml or is not a folder; existing files are kept, never overwritten."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root} exists and is not a folder")
    if (root / CONFIG_NAME).exists():
        raise ProjectError(f"{root / CONFIG_NAME} already exists: {root} is an rxrego repository already")
    files = render(payer, rxrego_version)
    result = Created(root.resolve())
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        if path.exists():
            result.kept.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.written.append(rel)
    return result
