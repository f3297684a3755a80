"""The pinned toolchain: one place pins it, the lookup checks versions, doctor reports."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from rxrego import toolchain
from rxrego.cli import main

PINS = ROOT / "generator" / "rxrego" / "toolchain.env"


def pins() -> dict[str, str]:
    out = {}
    for line in PINS.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def test_versions_are_pinned_in_one_file_inside_the_package():
    p = pins()
    assert p["OPA_VERSION"].startswith("v1.") and p["REGAL_VERSION"].startswith("v0.")
    assert toolchain.pins() == p  # what the installed package reads is that file
    for path in (
        "Makefile",
        "generator/rxrego/toolchain.py",
        "docs/ci/github-actions.yml",
        "generator/rxrego/templates/init/rxrego.yml",
        ".ci/run",
    ):
        text = (ROOT / path).read_text()
        assert p["OPA_VERSION"] not in text and p["REGAL_VERSION"] not in text, f"{path} repeats a pin"
    assert not (ROOT / "toolchain.env").exists() and not (ROOT / ".regal").exists()


def test_doctor_reports_the_pinned_versions(opa_path, regal_path):
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    assert f"opa      {pins()['OPA_VERSION'][1:]}" in result.output
    assert f"regal    {pins()['REGAL_VERSION'][1:]}" in result.output
    assert "python" in result.output


def fake_tool(tmp_path: Path, version: str) -> Path:
    """A stand-in that only answers `version`: the lookup's version check is under test."""
    path = tmp_path / "opa"
    path.write_text(f"#!/bin/sh\necho 'Version: {version}'\n")
    path.chmod(0o755)
    return path


def test_a_wrong_opa_version_is_reported_not_used(tmp_path, monkeypatch, opa_path):
    monkeypatch.setenv("RXREGO_TOOLS", str(tmp_path / "none"))
    monkeypatch.setenv("RXREGO_OPA", str(fake_tool(tmp_path, "0.60.0")))
    monkeypatch.setenv("PATH", str(tmp_path))
    toolchain._cache.clear()
    try:
        result = CliRunner().invoke(main, ["doctor"])
        assert result.exit_code == 2
        assert "version 0.60.0, not the pinned" in result.output
        assert "rxrego install-tools" in result.output
    finally:
        toolchain._cache.clear()


def test_explicit_env_var_wins(tmp_path, monkeypatch, opa_path):
    monkeypatch.setenv("RXREGO_OPA", str(opa_path))
    monkeypatch.setenv("RXREGO_TOOLS", str(tmp_path / "none"))
    tool = toolchain.find("opa")
    assert tool.source == "$RXREGO_OPA" and tool.path == opa_path


def test_missing_opa_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("RXREGO_OPA", raising=False)
    monkeypatch.setenv("RXREGO_TOOLS", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", str(tmp_path))
    try:
        toolchain.find("opa")
    except toolchain.ToolError as exc:
        assert "not found" in str(exc) and "rxrego install-tools" in str(exc)
    else:
        raise AssertionError("a missing OPA must raise ToolError")


def test_install_tools_reuses_what_is_built(opa_path, regal_path):
    """The second set-up builds nothing: both tools are found at their pins."""
    before = {p: p.stat().st_mtime_ns for p in (opa_path, regal_path)}
    result = CliRunner().invoke(main, ["install-tools", "--tools", str(opa_path.parent.parent)])
    assert result.exit_code == 0, result.output
    assert result.output.count("already installed") == 2
    assert {p: p.stat().st_mtime_ns for p in (opa_path, regal_path)} == before


def no_go_env(tmp_path: Path) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if any(Path(d, "go").exists() for d in ("/usr/bin", "/bin")):
        env["PATH"] = str(tmp_path)  # keep go out of reach
    return env


def test_install_tools_without_go_or_pin_stops_with_instructions(tmp_path):
    """No Go on PATH and no pinned checksum: the download path refuses, says what to install,
    and leaves no half-installed binary."""
    tools = tmp_path / "tools"
    env = {**no_go_env(tmp_path), "RXREGO_TOOLS": str(tools)}
    rxrego = Path(sys.executable).parent / "rxrego"
    result = subprocess.run(
        [str(rxrego), "install-tools"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "no SHA-256 is pinned" in result.stderr and "Install Go" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tools / "bin" / "opa").exists()
    assert not list(tools.glob("tmp.*"))


class _Release(http.server.BaseHTTPRequestHandler):
    """A release server on loopback: serves `self.server.files` by path, 404 otherwise."""

    def do_GET(self):
        body = self.server.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


def test_a_release_binary_is_installed_only_when_its_checksum_matches_the_pin(tmp_path, monkeypatch):
    """The no-Go path, over real HTTP from a loopback mirror: a binary whose SHA-256 is the
    pin is installed; one byte off and it is refused with both checksums named."""
    plat = toolchain.platform_key()
    version = "v" + toolchain.pinned_version("opa")
    binary = f"#!/bin/sh\necho 'Version: {version[1:]}'\n".encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Release)
    asset = toolchain.release_url("opa", version, plat).rsplit("/", 1)[1]
    server.files = {f"/opa/{version}/{asset}": binary}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(toolchain.MIRROR_VAR, f"http://127.0.0.1:{server.server_address[1]}")
    real = toolchain.pins()
    try:
        monkeypatch.setattr(
            toolchain, "pins", lambda: {**real, f"OPA_SHA256_{plat}": hashlib.sha256(binary).hexdigest()}
        )
        said = []
        (tool,) = toolchain.install(tmp_path / "ok", ("opa",), say=said.append, use_go=False)
        assert tool.path.read_bytes() == binary and tool.version == version[1:]
        assert any(asset in line for line in said)
        monkeypatch.setattr(
            toolchain, "pins", lambda: {**real, f"OPA_SHA256_{plat}": hashlib.sha256(binary + b" ").hexdigest()}
        )
        with pytest.raises(toolchain.ToolError, match="checksum mismatch"):
            toolchain.install(tmp_path / "bad", ("opa",), say=said.append, use_go=False)
        assert not (tmp_path / "bad" / "bin" / "opa").exists() and not list((tmp_path / "bad").glob("tmp.*"))
    finally:
        server.shutdown()
        server.server_close()


def test_release_assets_are_the_official_names():
    assert toolchain.release_url("opa", "v1.22.4", "linux_amd64").endswith(
        "/open-policy-agent/opa/releases/download/v1.22.4/opa_linux_amd64_static"
    )
    assert toolchain.release_url("opa", "v1.22.4", "darwin_arm64").endswith("/v1.22.4/opa_darwin_arm64")
    assert toolchain.release_url("regal", "v0.42.0", "linux_amd64").endswith(
        "/regal/releases/download/v0.42.0/regal_Linux_x86_64"
    )


def test_ci_runs_exactly_make_test():
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines == ["exec make test"]
