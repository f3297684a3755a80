"""`rxrego check` speaks to authors: YAML syntax errors in plain words with the line and a
caret, hints to quote text, and every error of every file in one run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SPECS
from rxrego.cli import main
from rxrego.conformance.cases import load_case_file
from rxrego.spec.errors import SpecError
from rxrego.spec.yamlsource import parse

BESPONSA = SPECS / "fep" / "5.21.100-besponsa.yaml"

PLAIN = {
    # name: (text, line, column, words the message must have)
    "a key indented less than its mapping": (
        "drug:\n  brand: X\n hcpcs: [J9229]\n",
        3,
        2,
        "the indentation is inconsistent: line 3 starts at column 2",
    ),
    "a key indented deeper than the one above": (
        "criteria:\n  adult:\n    text: Age 18+\n      age: {min_years: 18}\n",
        4,
        10,
        "the indentation is inconsistent: this line is indented deeper than the key above it",
    ),
    "a colon inside an unquoted value": (
        "cases:\n  - name: x\n    proves: an adult: is approved\n",
        3,
        21,
        "a ': ' inside the unquoted value of 'proves' would start another key; put the value in quotes: "
        'proves: "an adult: is approved"',
    ),
    "a list item out of line": ("all_of:\n  - a\n - b\n", 3, 2, "a list item ('- ') here is not lined up"),
    "text after a bracketed value": ("text: [Ph+] patients\n", 1, 13, "put the whole text in quotes"),
    "a quote never closed": (
        'title: "Besponsa\nnumber: 1\n',
        1,
        8,
        "the quote opened on line 1, column 8 is never closed",
    ),
    "a brace never closed": ("age: {min_years: 18\ntext: x\n", 2, 5, "the '{' opened on line 1 is not closed"),
    "a line without a colon": ("id: x\ntitle\nnumber: 1\n", 2, 1, "this line is neither 'key: value' nor a list item"),
    "a tab": ("drug:\n\tbrand: X\n", 2, 1, "a tab character: YAML indents with spaces only"),
    "a value starting with @": ("title: @home\n", 1, 8, "a value cannot start with '@' unless it is quoted"),
}


@pytest.mark.parametrize("text,line,column,words", list(PLAIN.values()), ids=list(PLAIN))
def test_yaml_syntax_errors_in_plain_words_with_the_line_and_a_caret(text, line, column, words):
    with pytest.raises(SpecError) as caught:
        parse(text, "x.yaml")
    (issue,) = caught.value.issues
    assert (issue.line, issue.column) == (line, column), str(issue)
    assert words in issue.message, issue.message
    assert "<block" not in issue.message and "expected <" not in issue.message  # no parser jargon
    first, shown, caret = str(issue).split("\n")
    assert first.startswith(f"x.yaml:{line}:{column}: invalid YAML: ")
    source = text.splitlines()[line - 1].expandtabs(1)
    assert shown == f"    {line:>4} | {source}"
    assert caret.index("^") - caret.index("|") - 2 == column - 1  # under the column named


def test_a_comma_in_an_unquoted_flow_value_gets_a_hint_to_quote(tmp_path: Path):
    path = tmp_path / "x.cases.yaml"
    path.write_text(
        "policy: fep-5.21.100\ncases:\n  - {name: a-case, proves: an adult, approved, request: {}, expect: {outcome: approved}}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as caught:
        load_case_file(path)
    (issue,) = caught.value.issues
    assert issue.line == 3 and issue.path == "cases[0].approved"
    assert "unknown field 'approved'" in issue.message
    assert "put that text in quotes (inside { } a comma ends a value)" in issue.message


def test_check_reports_every_error_of_every_file_in_one_run(tmp_path: Path):
    text = BESPONSA.read_text(encoding="utf-8")
    one = text.replace("    text: Age 1 year of age or older\n", "", 1).replace(
        "{value_set: tyrosine_kinase_inhibitors,", "{value_set: tkis,", 1
    )
    two = text.replace("id: fep-5.21.100", "id: fep-5.21.101", 1).replace("hcpcs: [J9229]", "hcpcs: [J9230]", 1)
    two = two.replace("brand: Besponsa", "brand: Other", 1).replace(
        "generic: inotuzumab ozogamicin", "generic: other", 1
    )
    two = two.replace("effective_date: 2026-04-01", "effective_date: 2026-04-31", 1).replace(
        "drug:\n  brand", "drug:\n brand", 1
    )
    three = "schema_version: 1\nid: x\ntitle: a: b\n"
    for name, body in (("one.yaml", one), ("two.yaml", two), ("three.yaml", three)):
        (tmp_path / name).write_text(body, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 2
    out = result.output
    assert "one.yaml:" in out and "missing required field 'text'" in out and "undefined value set 'tkis'" in out
    assert "two.yaml:" in out and "invalid YAML: the indentation is inconsistent" in out
    assert "three.yaml:3:9: invalid YAML: a ': ' inside the unquoted value of 'title'" in out
    assert "4 error(s) in 3 spec file(s)" in out
