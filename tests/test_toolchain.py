"""The pinned toolchain: one place pins it, the lookup checks versions, doctor reports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from click.testing import CliRunner
from conftest import ROOT

from rxrego import toolchain
from rxrego.cli import main


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "toolchain.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def test_versions_are_pinned_in_one_file():
    p = pins()
    assert p["OPA_VERSION"].startswith("v1.") and p["REGAL_VERSION"].startswith("v0.")
    for path in ("Makefile", "scripts/install-tools", "generator/rxrego/toolchain.py"):
        text = (ROOT / path).read_text()
        assert p["OPA_VERSION"] not in text and p["REGAL_VERSION"] not in text, f"{path} repeats a pin"


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
        assert "make run" in result.output
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
        assert "not found" in str(exc) and "make run" in str(exc)
    else:
        raise AssertionError("a missing OPA must raise ToolError")


def test_install_tools_reuses_what_is_built(opa_path, regal_path):
    """The second set-up builds nothing: both tools are found at their pins."""
    before = {p: p.stat().st_mtime_ns for p in (opa_path, regal_path)}
    env = {**os.environ, "RXREGO_TOOLS": str(opa_path.parent.parent)}
    result = subprocess.run([str(ROOT / "scripts" / "install-tools")], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("already installed") == 2
    assert {p: p.stat().st_mtime_ns for p in (opa_path, regal_path)} == before


def test_install_tools_without_go_or_pin_stops_with_instructions(tmp_path):
    """No Go on PATH and no pinned checksum: the download path refuses, says what to install,
    and leaves no half-installed binary."""
    tools = tmp_path / "tools"
    env = {"PATH": "/usr/bin:/bin", "RXREGO_TOOLS": str(tools), "HOME": str(tmp_path)}
    if any(Path(d, "go").exists() for d in ("/usr/bin", "/bin")):
        env["PATH"] = str(tmp_path)  # keep go out of reach
    result = subprocess.run(["bash", str(ROOT / "scripts" / "install-tools")], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert "Install Go" in result.stderr
    assert not (tools / "bin" / "opa").exists()
    assert not list(tools.glob("tmp.*"))


def test_ci_runs_exactly_make_test():
    lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines == ["exec make test"]
