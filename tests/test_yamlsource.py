"""The two ways a spec is composed (libyaml when it can, pure Python otherwise) must give the
same values and the same positions, or error messages would point at different lines."""

from __future__ import annotations

import pytest
import yaml

from conftest import CASES, EXAMPLES, SPECS
from rxrego.spec import yamlsource
from rxrego.spec.errors import SpecError

FILES = sorted([*SPECS.rglob("*.yaml"), *EXAMPLES.glob("*.yaml"), *CASES.rglob("*.yaml")])


def slow(text: str, name: str) -> yamlsource.Located:
    """The pure-Python path, forced."""
    original = yamlsource._fast_node
    yamlsource._fast_node = lambda _text: None
    try:
        return yamlsource.parse(text, name)
    finally:
        yamlsource._fast_node = original


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fast_and_python_paths_agree(path):
    text = path.read_text()
    assert yamlsource._fast_node(text) is not None or not yaml.__with_libyaml__
    fast, python = yamlsource.parse(text, path.name), slow(text, path.name)
    assert fast.data == python.data
    assert fast.values == python.values
    assert fast.keys == python.keys


@pytest.mark.parametrize(
    "text",
    ["a: &x 1\nb: *x\n", "a: \x07\n", "a: [\n", "---\na: 1\n---\nb: 2\n", "a: '*'\nb: " + "[" * 80 + "]" * 80 + "\n"],
    ids=["alias", "control-character", "syntax-error", "two-documents", "deep-with-a-star"],
)
def test_what_the_fast_path_declines_goes_to_the_python_path(text):
    assert yamlsource._fast_node(text) is None


@pytest.mark.parametrize("levels", [62, 63, 64, 80, 999])
@pytest.mark.parametrize("shape", ["flow", "block"])
def test_a_deep_document_composed_in_c_is_read_as_the_python_path_reads_it(levels, shape):
    """libyaml composes a text without `*` directly; its depth is checked while converting,
    and past MAX_DEPTH the Python path reads it, so the refusal and its position are that
    path's."""
    if shape == "flow":
        text = "a: " + "[" * levels + "]" * levels + "\n"
    else:
        text = "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, levels)) + " " * levels + "x: 1\n"
    if levels <= 80:  # libyaml itself refuses nesting near 1,000 levels
        assert yamlsource._fast_node(text) is not None or not yaml.__with_libyaml__
    try:
        fast = ("data", yamlsource.parse(text, "deep.yaml").data)
    except SpecError as exc:
        fast = ("error", [str(i) for i in exc.issues])
    try:
        python = ("data", slow(text, "deep.yaml").data)
    except SpecError as exc:
        python = ("error", [str(i) for i in exc.issues])
    assert fast == python
    if levels <= 62:
        assert fast[0] == "data"
    if levels >= 80:
        assert fast[0] == "error"
        assert "nested more than 64 levels deep" in fast[1][0]


# --- YAML 1.1 oddities: each an error at its line and column, the same on both paths ----------

ODDITIES = {
    # written: (what the message must say, ...)
    "012": ("leading zero", "octal number 10", "write 12", '"012"'),
    "-012": ("leading zero", "octal number -10", "write -12"),
    "00": ("leading zero", "write 0"),
    "1:05": ("base-60", "65"),
    "1:05.5": ("base-60", "65.5"),
    "0x1F": ("hexadecimal", "31"),
    "0b101": ("binary", "5"),
    "1_000": ("underscores", "1000"),
    "1_000.5": ("underscores", "1000.5"),
    ".inf": ("not a finite number",),
    "-.Inf": ("not a finite number",),
    ".nan": ("not a finite number",),
    "yes": ("boolean true", "write true or false", '"yes"'),
    "No": ("boolean false",),
    "ON": ("boolean true",),
    "off": ("boolean false",),
    "=": ("'value' key", '"="'),
    "1e3": ("a number in YAML 1.2",),
    "0o12": ("a number in YAML 1.2",),
    "08": ("a number in YAML 1.2",),
    "!!int 012": ("leading zero",),
}
# Plain scalars that YAML 1.1 and 1.2 read alike: kept as they are.
ALIKE = {
    "0": 0,
    "12": 12,
    "+12": 12,
    "-0": 0,
    "1.5": 1.5,
    "012.5": 12.5,
    "1.": 1.0,
    "1.0e+3": 1000.0,
    "true": True,
    "False": False,
    "TRUE": True,
    "~": None,
    "null": None,
    "y": "y",
    "n": "n",
    '"012"': "012",
    "'yes'": "yes",
    "!!str 012": "012",
    "C91.0": "C91.0",
    "5.21.100": "5.21.100",
    "2026-04-01": "2026-04-01",
}


def _both(text: str):
    """(fast, python) results: the data, or the issues as text."""
    out = []
    for path in (yamlsource.parse, slow):
        try:
            out.append(path(text, "spec.yaml").data)
        except yamlsource.SpecError as exc:
            out.append([str(i) for i in exc.issues])
    return out


@pytest.mark.parametrize("written", sorted(ODDITIES), ids=str)
def test_a_yaml_1_1_oddity_is_an_error_at_its_position_on_both_paths(written):
    text = f"criteria:\n  adult:\n    age: {{min_years: {written}}}\n"
    fast, python = _both(text)
    assert fast == python
    assert isinstance(fast, list) and len(fast) == 1, fast
    message = fast[0]
    column = text.splitlines()[2].index(written) + 1
    assert message.startswith(f"spec.yaml:3:{column}: criteria.adult.age.min_years: "), message
    for words in ODDITIES[written]:
        assert words in message, (words, message)


@pytest.mark.parametrize("written", sorted(ALIKE), ids=str)
def test_scalars_yaml_1_1_and_1_2_read_alike_are_kept(written):
    fast, python = _both(f"a: {written}\n")
    assert fast == python == {"a": ALIKE[written]}
    assert type(fast["a"]) is type(ALIKE[written])


def test_an_oddity_in_a_real_spec_is_reported_by_the_loader(tmp_path):
    """min_years: 017 would be 15 (octal) under YAML 1.1: the loader refuses it, naming the
    line and field, instead of generating a 15-year threshold."""
    from rxrego.spec.errors import SpecError
    from rxrego.spec.loader import load_spec

    source = (SPECS / "fep" / "5.21.100-besponsa.yaml").read_text()
    assert "age: {min_years: 18}" in source
    spec = tmp_path / "spec.yaml"
    spec.write_text(source.replace("age: {min_years: 18}", "age: {min_years: 017}", 1))
    line = next(i for i, x in enumerate(spec.read_text().splitlines(), 1) if "min_years: 017" in x)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    found = [i for i in err.value.issues if "leading zero" in i.message]
    assert len(found) == 1, err.value.issues
    assert found[0].line == line and found[0].path.endswith("age.min_years")
    assert "octal number 15" in found[0].message and "write 17" in found[0].message
