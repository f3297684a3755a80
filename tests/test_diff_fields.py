"""`rxrego diff` compares every part of the spec model that can change a decision: indications
(headings, criteria, durations), plan years, what other indications get, products (names,
NDCs, strengths), the plan; and a field the readable comparisons do not word still shows up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from click.testing import CliRunner

from conftest import SPECS
from rxrego.author import diff as diff_mod
from rxrego.author.common import load_spec_file
from rxrego.cli import main
from rxrego.spec import model as m
from rxrego.spec.dump import dump_data

REPATHA = Path(__file__).parent / "fixtures" / "trial" / "acme-repatha.yaml"
BESPONSA = SPECS / "fep" / "5.21.100-besponsa.yaml"


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _changed_repatha(tmp_path: Path) -> Path:
    data = dump_data(load_spec_file(REPATHA))
    hefh = data["requirements"]["initial"]["indications"]["hefh"]
    hefh["duration"] = {"months": 3}
    hefh["heading"] = "HeFH"
    hefh["all_of"].append("statin_trial")
    data["requirements"]["initial"]["indications"]["primary_hyperlipidemia"]["duration"]["plan_year"]["starts"] = (
        "01-01"
    )
    data["coverage"]["other_indications"]["outcome"] = "not_covered"
    data["drug"]["products"]["pushtronex"]["ndc"] = ["72511-770-02"]
    data["drug"]["products"]["pushtronex"]["strengths"] = ["420 mg/3.6 mL"]
    return _write(tmp_path / "new.yaml", data)


def test_diff_names_indication_plan_year_other_indication_and_product_changes(tmp_path):
    result = CliRunner().invoke(main, ["diff", str(REPATHA), str(_changed_repatha(tmp_path)), "--no-cases"])
    out = result.output
    assert result.exit_code == 1, out
    assert "mean the same" not in out
    for expected in (
        "indications.hefh.duration: approval duration 6 months -> 3 months",
        "indications.hefh.heading: Heterozygous familial hypercholesterolemia -> HeFH",
        "indications.hefh.all_of: added statin_trial",
        "indications.primary_hyperlipidemia.duration: approval duration to the end of the plan year starting "
        "07-01 -> to the end of the plan year starting 01-01",
        "other_indications.outcome: investigational -> not_covered",
        "products.pushtronex.ndc: added 72511-770-02",
        "products.pushtronex.ndc: removed 72511-770-01",
        "products.pushtronex.strengths: added 420 mg/3.6 mL",
    ):
        assert expected in out, expected


def _other(ids: list[str], value: str) -> str | None:
    return next((x for x in ids if x != value), None)


def _leaf_mutations(spec: m.PolicySpec, value: object, path: tuple = ()):
    """(path, mutated value) for every leaf of a model object: each compared dataclass field,
    through nested dataclasses and tuples, changed to a different value. A reference to a
    criterion or value set is changed to another one (the model stays whole); a list of
    names loses its last member."""
    refs = [[c.id for c in spec.criteria], [v.id for v in spec.value_sets]]
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            if f.compare:
                yield from _leaf_mutations(spec, getattr(value, f.name), (*path, f.name))
    elif isinstance(value, tuple):
        if value and all(isinstance(x, str) for x in value):
            yield path, value[:-1]
        for i, item in enumerate(value):
            if dataclasses.is_dataclass(item) or isinstance(item, tuple):
                yield from _leaf_mutations(spec, item, (*path, i))
    elif isinstance(value, bool):
        yield path, not value
    elif isinstance(value, int | float):
        yield path, value + 1
    elif isinstance(value, str):
        ids = next((r for r in refs if value in r), None)
        if ids is None:
            yield path, value + "-changed"
        elif path[-1] != "id" and (other := _other(ids, value)) is not None:
            yield path, other  # a definition's own id: renaming it is an add and a remove


def _replace(obj: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(obj, tuple):
        return (*obj[:head], _replace(obj[head], rest, new), *obj[head + 1 :])
    return dataclasses.replace(obj, **{head: _replace(getattr(obj, head), rest, new)})


def test_every_field_of_the_model_is_compared():
    """Change each leaf of the model, one at a time: the diff is never empty. Derived from the
    model's own fields, so a field added later cannot be forgotten by the comparison."""
    checked = 0
    for spec in (load_spec_file(REPATHA), load_spec_file(BESPONSA)):
        for path, new in _leaf_mutations(spec, spec):
            if path[0] in ("earlier_versions", "package_suffix", "version_note") or path == ("id",):
                continue  # identity of the version itself (earlier versions: test_versions.py)
            changed = _replace(spec, path, new)
            assert isinstance(changed, m.PolicySpec)
            if dump_data(changed) == dump_data(spec):
                continue  # a change the spec cannot express (e.g. a default written out)
            changes = diff_mod.spec_changes(spec, changed)
            assert changes, f"{spec.id}: {'.'.join(map(str, path))} changed but the diff is empty"
            checked += 1
    assert checked > 150  # both specs: products, indications, durations, criteria, coverage
