"""The two ways a spec is composed (libyaml when it can, pure Python otherwise) must give the
same values and the same positions, or error messages would point at different lines."""

from __future__ import annotations

import pytest
import yaml
from conftest import CASES, EXAMPLES, SPECS

from rxrego.spec import yamlsource

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
    ["a: &x 1\nb: *x\n", "a: " + "[" * 80 + "]" * 80 + "\n", "a: \x07\n", "a: [\n", "---\na: 1\n---\nb: 2\n"],
    ids=["alias", "deep", "control-character", "syntax-error", "two-documents"],
)
def test_what_the_fast_path_declines_goes_to_the_python_path(text):
    assert yamlsource._fast_node(text) is None
