"""The content-keyed cache of loaded specs and their data form (rxrego.spec.cache): a run
with it, cold or warm, gives what a run without it gives; a warm run reads specs back
instead of loading them; a changed file, a spec with mistakes or a damaged entry is loaded
afresh; errors read as without the cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, SPECS
from rxrego import catalog
from rxrego.spec import cache, loader
from rxrego.spec.errors import SpecError
from rxrego.spec.loader import load_specs


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(folder))
    return folder


def _entries(folder: Path, kind: str) -> list[Path]:
    return sorted((folder / kind).rglob("*.pickle")) if (folder / kind).is_dir() else []


def test_cold_and_warm_runs_give_what_a_run_without_the_cache_gives(monkeypatch, cache_dir: Path):
    monkeypatch.delenv(cache.ENV)
    plain_specs = load_specs([SPECS, EXAMPLES])
    plain = catalog.catalog_json(plain_specs)
    assert not cache_dir.exists()
    monkeypatch.setenv(cache.ENV, str(cache_dir))
    cold_specs = load_specs([SPECS, EXAMPLES])
    assert len(_entries(cache_dir, "spec")) == len(plain_specs)
    assert catalog.catalog_json(cold_specs) == plain
    assert len(_entries(cache_dir, "catalog")) == len(plain_specs)

    # Warm: nothing is loaded or turned into data again.
    def refused(*_a, **_k):
        raise AssertionError("loaded again although the cache holds it")

    monkeypatch.setattr(loader, "from_data", refused)
    monkeypatch.setattr(catalog, "policy_data", refused)
    warm_specs = load_specs([SPECS, EXAMPLES])
    assert warm_specs == plain_specs
    assert [s.source for s in warm_specs] == [s.source for s in plain_specs]
    assert catalog.catalog_json(warm_specs) == plain


def test_a_changed_file_is_loaded_afresh(tmp_path: Path, monkeypatch, cache_dir: Path):
    src = next(p for p in sorted(SPECS.rglob("*.yaml")))
    spec_file = tmp_path / "specs" / src.name
    spec_file.parent.mkdir()
    shutil.copy(src, spec_file)
    loads = []
    real = loader.from_data
    monkeypatch.setattr(loader, "from_data", lambda located: loads.append(1) or real(located))
    first = loader.load_spec(spec_file)
    assert loader.load_spec(spec_file) == first and len(loads) == 1
    spec_file.write_text(spec_file.read_text(encoding="utf-8") + "\n# revised\n", encoding="utf-8")
    second = loader.load_spec(spec_file)
    assert len(loads) == 2
    assert second == first and second.source_digest != first.source_digest
    assert len(_entries(cache_dir, "spec")) == 2


def test_a_spec_with_mistakes_reads_the_same_and_is_not_kept(tmp_path: Path, monkeypatch, cache_dir: Path):
    src = next(p for p in sorted(SPECS.rglob("*.yaml")))
    spec_file = tmp_path / src.name
    spec_file.write_text(src.read_text(encoding="utf-8").replace("effective_date:", "effective_dat:", 1))
    with pytest.raises(SpecError) as with_cache:
        loader.load_spec(spec_file)
    assert _entries(cache_dir, "spec") == []
    monkeypatch.delenv(cache.ENV)
    with pytest.raises(SpecError) as without:
        loader.load_spec(spec_file)
    assert str(with_cache.value) == str(without.value)
    assert "effective_dat" in str(without.value)


def test_a_damaged_entry_is_a_miss(tmp_path: Path, cache_dir: Path):
    src = next(p for p in sorted(SPECS.rglob("*.yaml")))
    first = loader.load_spec(src)
    [entry] = _entries(cache_dir, "spec")
    entry.write_bytes(entry.read_bytes()[:40])
    again = loader.load_spec(src)
    assert again == first
    assert len(entry.read_bytes()) > 40  # rewritten


def test_the_key_depends_on_every_part():
    assert cache.key("spec", "a", b"x") != cache.key("spec", "a", b"y")
    assert cache.key("spec", "a", b"x") != cache.key("spec", "b", b"x")
    assert cache.key("spec", "ab", b"") != cache.key("spec", "a", b"b")
    assert len(cache.fingerprint()) == 32


def test_off_unless_a_folder_is_named(monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    assert cache.directory() is None
    monkeypatch.setenv(cache.ENV, "  ")
    assert cache.directory() is None
    cache.put("spec", "0" * 64, {"a": 1})  # a no-op, not an error
    assert cache.get("spec", "0" * 64) is None


def test_terminology_answers_are_read_back_without_the_libraries(monkeypatch, cache_dir: Path):
    """An ICD-10-CM expansion and a UCUM table computed once are read back from the folder:
    with the computations made to fail, a warm run gives the same answers; a mistake is
    raised as without the cache and is not kept; with the cache off they are computed."""
    from rxrego.spec import kinds
    from rxrego.terminology import icd10cm, ucum

    codes = kinds.covered_codes(("C81-C96",), ("C91.0",))
    table = ucum.accepted_units("mg/dL", 386.65)
    assert "C91.00" not in codes and "C81.00" in codes and table["mmol/L"] == pytest.approx(38.665)
    with pytest.raises(icd10cm.CodeError):
        kinds.covered_codes(("C99.99",))
    assert len(_entries(cache_dir, "icd10cm-expand")) == len(_entries(cache_dir, "ucum-accepted")) == 1

    def unreachable(*args, **kwargs):
        raise AssertionError("computed again, not read back")

    monkeypatch.setattr(icd10cm, "expand", unreachable)
    monkeypatch.setattr(ucum, "_accepted_units", unreachable)
    kinds.covered_codes.cache_clear()  # its answers are kept in the process too
    assert kinds.covered_codes(("C81-C96",), ("C91.0",)) == codes
    assert ucum.accepted_units("mg/dL", 386.65) == table
    monkeypatch.delenv(cache.ENV)
    kinds.covered_codes.cache_clear()
    with pytest.raises(AssertionError, match="computed again"):
        kinds.covered_codes(("C81-C96",), ("C91.0",))
