"""The README is the front door: its example requests must give exactly the decisions it
shows, and the commands it names must exist."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from conftest import ROOT
from rxrego.cli import main

README = (ROOT / "README.md").read_text()
EXAMPLE = re.compile(r"<!-- example: (\w+) (request|decision) -->\s*```json\n(.*?)```", re.S)


def examples() -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for name, kind, body in EXAMPLE.findall(README):
        found.setdefault(name, {})[kind] = json.loads(body)
    return found


def test_readme_has_one_example_per_outcome():
    ex = examples()
    assert set(ex) == {"approved", "denied", "pended"}
    for name, pair in ex.items():
        assert set(pair) == {"request", "decision"}, name
        assert pair["decision"]["outcome"] == name


@pytest.mark.parametrize("name", ["approved", "denied", "pended"])
def test_readme_example_decides_as_documented(name, decide_batch):
    pair = examples()[name]
    [decision] = decide_batch([pair["request"]])
    assert decision == pair["decision"]


def test_readme_names_the_two_commands_and_every_cli_command():
    assert "make run" in README and "make test" in README
    for command in main.commands:
        assert f"rxrego {command}" in README, command


def test_every_command_has_help():
    runner = CliRunner()
    for command in main.commands:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and len(result.output) > 200, command
