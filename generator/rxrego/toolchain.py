"""The pinned OPA and Regal: their pins, finding them, checking their versions, installing them.

The pins (versions, and the SHA-256 of each official release binary) live in `toolchain.env`
inside this package, so a checkout and an installed rxrego read the same ones.

Lookup order for each tool: the environment variable (RXREGO_OPA / RXREGO_REGAL), then the
tools folder (RXREGO_TOOLS, or the repository's `tools` setting in rxrego.toml, default
`.tools`), then PATH. A binary at the wrong version is reported, never used silently.

`install` puts the pinned tools into the tools folder: built from their Go modules where Go
is on PATH, otherwise the official release binary, refused unless its SHA-256 matches the
pin for the platform (an empty pin stops with a message saying what to do).
"""

from __future__ import annotations

import hashlib
import os
import platform as _platform
import re
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

ENV_VARS = {"opa": "RXREGO_OPA", "regal": "RXREGO_REGAL"}
INSTALL_HINT = "run `rxrego install-tools` (or `make setup` in rxrego's checkout) to install the pinned version into the tools folder"
PINS_FILE = "toolchain.env"

# What each tool is built from (Go module, and the linker flag that stamps the version into
# the binary) or downloaded as (the official release assets on GitHub).
GO_MODULES = {
    "opa": ("github.com/open-policy-agent/opa", "-X github.com/open-policy-agent/opa/v1/version.Version={bare}"),
    "regal": (
        "github.com/open-policy-agent/regal",
        "-X github.com/open-policy-agent/regal/pkg/version.Version={version}",
    ),
}
RELEASES = {
    "opa": "https://github.com/open-policy-agent/opa/releases/download/{version}/",
    "regal": "https://github.com/open-policy-agent/regal/releases/download/{version}/",
}
# RXREGO_RELEASE_MIRROR replaces the GitHub release prefix with {mirror}/{tool}/{version}/
# (an internal artifact store); the SHA-256 pins are checked all the same.
MIRROR_VAR = "RXREGO_RELEASE_MIRROR"


class ToolError(RuntimeError):
    """A tool is missing, at the wrong version, or could not be installed; the message says
    what to do."""


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str  # without a leading "v"
    source: str  # which lookup found it


def pins() -> dict[str, str]:
    """KEY=value pairs of the packaged toolchain.env (OPA_VERSION, REGAL_VERSION,
    OPA_SHA256_linux_amd64, ...)."""
    text = resources.files("rxrego").joinpath(PINS_FILE).read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def pinned_version(name: str) -> str:
    """The version `name` ("opa" or "regal") is pinned to, without the leading "v"."""
    return pins()[f"{name.upper()}_VERSION"].lstrip("v")


def project_root() -> Path | None:
    """The root of the policy repository around the working directory (see rxrego.project)."""
    from . import project

    return project.find_root()


def tools_dir() -> Path | None:
    """$RXREGO_TOOLS, else the repository's tools folder; None outside a repository."""
    if os.environ.get("RXREGO_TOOLS"):
        return Path(os.environ["RXREGO_TOOLS"])
    from . import project

    found = project.find()
    return found.path("tools") if found else None


def reported_version(path: Path) -> str | None:
    """The version a binary prints for `NAME version` (its `Version:` line), without "v"."""
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
        if have == want:
            return Tool(name, path, have, source)
        problems.append(f"{path} ({source}) is version {have or 'unknown'}, not the pinned {want}")
    detail = "; ".join(problems) if problems else f"{name} was not found"
    raise ToolError(f"{name} v{want}: {detail}. To fix: {INSTALL_HINT}.")


_cache: dict[str, Tool] = {}


def opa() -> Tool:
    """The pinned OPA (looked up once per process)."""
    if "opa" not in _cache:
        _cache["opa"] = find("opa")
    return _cache["opa"]


def regal() -> Tool:
    """The pinned Regal (looked up once per process)."""
    if "regal" not in _cache:
        _cache["regal"] = find("regal")
    return _cache["regal"]


def regal_config() -> Path:
    """The Regal configuration for generated Rego, shipped in this package (regal/config.yaml)."""
    path = Path(str(resources.files("rxrego").joinpath("regal/config.yaml")))
    if not path.is_file():  # pragma: no cover - a broken installation
        raise ToolError(f"rxrego's Regal configuration is missing from the installation ({path}); reinstall rxrego")
    return path


# --- installing -----------------------------------------------------------------------------


def platform_key() -> str:
    """`os_arch` as the pins name it: linux_amd64, linux_arm64, darwin_amd64, darwin_arm64."""
    system = _platform.system().lower()
    machine = _platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if arch is None or system not in ("linux", "darwin"):
        raise ToolError(
            f"no pinned release binary for {system}/{machine}: install Go (https://go.dev/dl/) and run `rxrego install-tools` again to build from source"
        )
    return f"{system}_{arch}"


def release_url(name: str, version: str, plat: str) -> str:
    """The official release asset of `name` at `version` ("v1.2.3") for `plat` ("linux_amd64")."""
    if name == "opa":
        asset = f"opa_{plat}" + ("_static" if plat.startswith("linux") else "")
    else:
        os_name, arch = plat.split("_")
        asset = f"regal_{os_name.capitalize()}_{'x86_64' if arch == 'amd64' else arch}"
    mirror = os.environ.get(MIRROR_VAR, "").rstrip("/")
    prefix = f"{mirror}/{name}/{version}/" if mirror else RELEASES[name].format(version=version)
    return prefix + asset


def _build_with_go(name: str, version: str, tools: Path, dest: Path, say: Callable[[str], None]) -> None:
    module, ldflag = GO_MODULES[name]
    say(f"building {name} {version} from its Go module (the first build takes a few minutes)")
    # A throwaway module, so that `go install` does not ask the proxy for the module's version
    # list (which some proxies refuse) and the version is stamped into the binary.
    mod = tools / "src" / name
    mod.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(dest)}
    steps = []
    if not (mod / "go.mod").is_file():
        steps.append(["go", "mod", "init", f"rxrego.tools/{name}"])
    steps += [
        ["go", "get", f"{module}@{version}"],
        ["go", "install", "-trimpath", "-ldflags", ldflag.format(version=version, bare=version.lstrip("v")), module],
    ]
    for step in steps:
        result = subprocess.run(step, cwd=mod, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ToolError(f"{name}: `{' '.join(step)}` failed:\n{(result.stderr or result.stdout).strip()}")


def _download(name: str, version: str, plat: str, dest: Path, say: Callable[[str], None]) -> None:
    url = release_url(name, version, plat)
    want = pins().get(f"{name.upper()}_SHA256_{plat}", "")
    if not want:
        raise ToolError(
            f"{name}: no SHA-256 is pinned for {plat} in rxrego's toolchain.env, so the release binary "
            f"{url} will not be trusted. Install Go 1.26 or newer (https://go.dev/dl/) and run "
            "`rxrego install-tools` again to build it from source, or use an rxrego release that pins it "
            "(docs/toolchain.md says how a pin is added)."
        )
    say(f"downloading {url}")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, open(dest, "wb") as out:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except OSError as exc:
        raise ToolError(f"{name}: download failed: {url}: {exc}") from exc
    if digest.hexdigest() != want.lower():
        raise ToolError(
            f"{name}: checksum mismatch for {url}: expected {want}, got {digest.hexdigest()}; the binary was not installed"
        )
    dest.chmod(0o755)


def install(
    tools: Path,
    names: tuple[str, ...] = ("opa", "regal"),
    *,
    say: Callable[[str], None] = print,
    use_go: bool | None = None,
) -> list[Tool]:
    """Install the pinned `names` into `tools`/bin and return them.

    A tool already there at the pinned version is reused (nothing is built). Each binary is
    built (Go on PATH, or `use_go=True`) or downloaded into a scratch folder inside `tools`
    and moved into place only once it runs and reports the pinned version, so a failed build
    or download leaves nothing behind. ToolError says what failed and what to do.
    """
    bin_dir = tools / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    if use_go is None:
        use_go = shutil.which("go") is not None
    plat = None if use_go else platform_key()
    installed = []
    for name in names:
        version = "v" + pinned_version(name)
        target = bin_dir / name
        have = reported_version(target) if target.is_file() else None
        if have == version[1:]:
            say(f"{name} {version} already installed in {bin_dir}")
            installed.append(Tool(name, target, have, "tools folder"))
            continue
        if have is not None:
            say(f"{target} reports version {have}, not {version[1:]}: replacing it")
        with tempfile.TemporaryDirectory(prefix=f"tmp.{name}.", dir=tools) as tmp:
            scratch = Path(tmp)
            if plat is None:  # use_go
                _build_with_go(name, version, tools, scratch, say)
            else:
                _download(name, version, plat, scratch / name, say)
            got = reported_version(scratch / name)
            if got != version[1:]:
                raise ToolError(
                    f"{name}: the new binary reports version '{got or 'nothing'}', not {version[1:]}; it was not installed"
                )
            os.replace(scratch / name, target)
        say(f"{name} {version} installed in {bin_dir}")
        _cache.pop(name, None)
        installed.append(Tool(name, target, version[1:], "tools folder"))
    return installed
