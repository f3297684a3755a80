"""A large catalog is loaded by worker processes (rxrego.spec.loader.load_jobs): the specs, the
positions error messages use and every issue must be what one process loading each file in
turn gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from click.testing import CliRunner

from bench import corpus
from conftest import ROOT, SPECS
from rxrego.cli import main
from rxrego.spec import loader

# Run in a process of its own: a test process runs other threads (pytest-xdist), and a
# process with threads never forks workers (load_jobs).
COMPARE = textwrap.dedent(
    """
    import json, sys
    from rxrego.spec import loader
    files = loader.find_specs(sys.argv[1:])
    jobs = loader.load_jobs(len(files))
    serial, parallel = loader._load_each(files, 1), loader._load_each(files, jobs)

    def outcome(x):
        if isinstance(x, loader.SpecError):
            return ("error", [str(i) for i in x.issues])
        spec, located = x  # the model (a frozen dataclass: compared by value) and positions
        return ("spec", spec, located.file, located.values, located.keys)

    try:
        loader.load_specs(sys.argv[1:])
        whole = []
    except loader.SpecError as exc:
        whole = [str(i) for i in exc.issues]
    print(json.dumps({
        "files": len(files),
        "jobs": jobs,
        "same": [outcome(a) for a in serial] == [outcome(b) for b in parallel],
        "errors": sum(isinstance(a, loader.SpecError) for a in serial),
        "whole": whole,
    }))
    """
)


def test_workers_load_a_catalog_as_one_process_does(tmp_path):
    specs = tmp_path / "specs"
    corpus.write_corpus(specs, loader.PARALLEL_FROM, 20260401)
    # Two broken files among them: their issues must come back from the workers intact.
    (specs / "zz-broken.yaml").write_text("id: [\n", encoding="utf-8")
    (specs / "zz-wrong.yaml").write_text("id: x\ntitle: 5\n", encoding="utf-8")
    env = {**os.environ, loader.JOBS_ENV: "2"}
    out = subprocess.run(
        [sys.executable, "-c", COMPARE, str(specs), str(SPECS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["jobs"] == 2
    assert result["files"] >= loader.PARALLEL_FROM
    assert result["errors"] == 2
    assert result["same"]
    # load_specs reports both files' issues, located.
    assert any(
        line.startswith(str(specs / "zz-broken.yaml")) or "zz-broken.yaml:1:" in line for line in result["whole"]
    )
    assert any("zz-wrong.yaml" in line and "title" in line for line in result["whole"])


def test_how_many_processes_load(monkeypatch):
    monkeypatch.delenv(loader.JOBS_ENV, raising=False)
    assert loader.load_jobs(loader.PARALLEL_FROM - 1) == 1
    monkeypatch.setenv(loader.JOBS_ENV, "1")
    assert loader.load_jobs(10_000) == 1
    monkeypatch.setenv(loader.JOBS_ENV, "8")
    if threading.active_count() == 1:
        assert loader.load_jobs(loader.PARALLEL_FROM) == 2  # one worker per PARALLEL_FROM // 2 files
        assert loader.load_jobs(10_000) == 8
    else:
        assert loader.load_jobs(10_000) == 1  # never forks a process running other threads
    for bad in ("0", "-2", "two", "1.5", "²", "٣"):
        monkeypatch.setenv(loader.JOBS_ENV, bad)
        with pytest.raises(loader.JobsError, match="RXREGO_JOBS"):
            loader.load_jobs(100)


def test_a_bad_jobs_setting_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv(loader.JOBS_ENV, "many")
    result = CliRunner().invoke(main, ["check", str(SPECS / "fep")])
    assert result.exit_code == 2
    assert "RXREGO_JOBS='many'" in result.output and "positive whole number" in result.output
    assert "Traceback" not in result.output
