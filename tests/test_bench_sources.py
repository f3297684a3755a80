"""The benchmark run's guard against a checkout edited under it (bench.Context.check_sources):
a long run imports the generator's Python once and reads the Rego, templates, specs and cases
from disk as it goes, so an edit during it builds from two versions at once."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

if str(ROOT) not in sys.path:  # `bench` is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

from bench import Context, Settings, SourcesChanged, changed_sources, source_fingerprint

WATCHED = (("generator/rxrego", "**/*"), ("bench", "*.py"))


def _checkout(root):
    for rel, text in {
        "generator/rxrego/catalog.py": "x = 1\n",
        "generator/rxrego/rego/rxrego/catalog_policies.rego": "package rxrego\n",
        "bench/g3_scale.py": "y = 2\n",
        "bench/results.json": "{}\n",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_fingerprint_names_each_file_added_removed_or_changed(tmp_path):
    _checkout(tmp_path)
    before = source_fingerprint(tmp_path, WATCHED)
    # What a run writes itself (results, compiled caches) is not watched.
    assert set(before) == {
        "generator/rxrego/catalog.py",
        "generator/rxrego/rego/rxrego/catalog_policies.rego",
        "bench/g3_scale.py",
    }
    assert changed_sources(before, source_fingerprint(tmp_path, WATCHED)) == []
    (tmp_path / "bench" / "results.json").write_text('{"partial": true}\n')
    (tmp_path / "generator" / "rxrego" / "__pycache__").mkdir()
    (tmp_path / "generator" / "rxrego" / "__pycache__" / "catalog.cpython-311.pyc").write_bytes(b"\0")
    assert changed_sources(before, source_fingerprint(tmp_path, WATCHED)) == []
    (tmp_path / "generator/rxrego/rego/rxrego/catalog_policies.rego").write_text("package rxrego\n\nx := 1\n")
    (tmp_path / "bench" / "g3_scale.py").unlink()
    (tmp_path / "generator/rxrego/new.py").write_text("")
    assert changed_sources(before, source_fingerprint(tmp_path, WATCHED)) == [
        "bench/g3_scale.py",
        "generator/rxrego/new.py",
        "generator/rxrego/rego/rxrego/catalog_policies.rego",
    ]


def test_a_run_stops_when_its_checkout_changes(tmp_path):
    _checkout(tmp_path)
    ctx = Context(Settings(), root=tmp_path)
    try:
        ctx.check_sources("G3, before n=10")  # unchanged: no error
        (tmp_path / "generator/rxrego/rego/rxrego/catalog_policies.rego").write_text("package rxrego\n\nx := 1\n")
        with pytest.raises(SourcesChanged) as err:
            ctx.check_sources("G3, before n=5000")
        message = str(err.value)
        assert "G3, before n=5000" in message
        assert "generator/rxrego/rego/rxrego/catalog_policies.rego" in message
        assert "generator/rxrego/catalog.py" not in message
    finally:
        ctx.close()
