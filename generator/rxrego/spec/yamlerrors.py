"""YAML syntax errors in plain words, with the offending line and a caret under the place.

PyYAML speaks its parser's language ("expected <block end>, but found '<block mapping
start>'"). `plain_words` turns each error an author is likely to make into what went wrong
and what to do: inconsistent indentation, a `: ` or a leading `{` / `[` / quote inside an
unquoted value (quote the text), a tab, a bracket or quote never closed, a line without a
colon. Anything it does not recognise keeps PyYAML's words. The one place that words YAML
syntax errors for specs, case files and requests.
"""

from __future__ import annotations

import re

import yaml


def _line(text: str, n: int) -> str:
    lines = text.splitlines()
    return lines[n - 1] if 0 < n <= len(lines) else ""


def excerpt(text: str, line: int, column: int) -> str:
    """The line (tabs shown as spaces) and a caret under `column` (1-based)."""
    src = _line(text, line)
    shown = src.expandtabs(1)
    return f"\n    {line:>4} | {shown}\n         | {' ' * max(column - 1, 0)}^"


def _key_before(src: str, column: int) -> str | None:
    """The key of `key: value` on a line, when the line has one before `column`."""
    m = re.match(r"^\s*(?:-\s+)?([^\s:#'\"{}\[\],][^:#]*?):\s", src[: max(column - 1, 0)] + " ")
    return m.group(1).strip() if m else None


def plain_words(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """(line, column, message) for a PyYAML error in `text`: where to point and what to say,
    the message ending with the excerpt of that line."""
    problem = exc.problem or str(exc)
    context = exc.context or ""
    pm, cm = exc.problem_mark, exc.context_mark
    line, col = (pm.line + 1, pm.column + 1) if pm else ((cm.line + 1, cm.column + 1) if cm else (1, 1))
    opened = (cm.line + 1, cm.column + 1) if cm else None
    src = _line(text, line)
    say = None

    if problem == "mapping values are not allowed here":
        key = _key_before(src, col)
        if key is not None:
            value = src[len(src) - len(src.lstrip()) :].split(":", 1)[1].strip()
            say = (
                f"a ': ' inside the unquoted value of '{key}' would start another key; "
                f"put the value in quotes: {key}: {_quoted(value)}"
            )
        else:
            say = (
                "the indentation is inconsistent: this line is indented deeper than the key above it, "
                "so it reads as the rest of that key's value; line it up with the keys of its mapping "
                "(or, if it is text, quote the text)"
            )
    elif problem.startswith("expected <block end>, but found"):
        found = problem.split("but found", 1)[1].strip()
        if found in ("'-'", "'<block sequence start>'"):
            say = (
                "the indentation is inconsistent: a list item ('- ') here is not lined up with the items "
                "or keys around it; indent the items of one list equally, under their key"
            )
        elif found == "'<scalar>'":
            say = (
                "text follows a value that was already complete (one in quotes or brackets); to write text "
                "that starts with a quote, '{' or '[', put the whole text in quotes"
            )
        elif over := _over_indented(text, line, col):
            first, indent, parent = over
            say = (
                f"the indentation is inconsistent: line {first} is indented {indent - (col - 1)} space(s) more than "
                f"line {line} below it, a key of the same mapping (under '{parent}'); the keys of one mapping must "
                "start in the same column (spaces, not tabs)"
            )
            line, col = first, indent + 1
        else:
            say = (
                f"the indentation is inconsistent: line {line} starts at column {col}, which lines up with no "
                "key above it; the keys of one mapping must start in the same column (spaces, not tabs)"
            )
    elif problem == "could not find expected ':'" and opened:
        line, col = opened
        src = _line(text, line)
        say = (
            "this line is neither 'key: value' nor a list item: a key needs ': ' after it "
            "(if the line continues text from the line above, quote that text or indent this line under it)"
        )
    elif "found character '\\t' that cannot start any token" in problem:
        say = "a tab character: YAML indents with spaces only"
    elif m := re.match(r"found character '(.)' that cannot start any token", problem):
        say = f"a value cannot start with '{m.group(1)}' unless it is quoted: put the value in quotes"
    elif context.startswith("while scanning a quoted scalar") and opened:
        say = f"the quote opened on line {opened[0]}, column {opened[1]} is never closed"
        line, col = opened
        src = _line(text, line)
    elif context.startswith("while parsing a flow node"):
        say = (
            "a '[' or '{' is not closed (if the text inside it has a '#', that started a comment: "
            "quote text containing '#')"
        )
    elif context.startswith(("while parsing a flow mapping", "while parsing a flow sequence")) and opened:
        bracket = "'{'" if "mapping" in context else "'['"
        say = (
            f"the {bracket} opened on line {opened[0]} is not closed where expected (or a comma is missing "
            "between its entries; note that '#' starts a comment, so quote text containing it)"
        )
    elif problem.startswith("found undefined alias") or problem.startswith("found duplicate anchor"):
        say = f"{problem} (aliases are not allowed in these files: write the value out)"

    message = f"invalid YAML: {say}" if say else f"invalid YAML: {context + ': ' if context else ''}{problem}"
    return line, col, message + excerpt(text, line, col)


def _over_indented(text: str, line: int, col: int) -> tuple[int, int, str] | None:
    """(first line, its indent, the parent key) when line `line`, a key at column `col` that
    lines up with no key above it, follows a block whose first key was indented deeper than
    it under a parent key indented less: that first key is the line out of place (`text:`
    indented two spaces too many makes the key after it the one PyYAML reports), and line
    `line` is one indentation step under that parent. None when the lines do not show that
    shape."""
    lines = text.splitlines()
    own = col - 1
    first = None
    for n in range(line - 1, 0, -1):
        src = lines[n - 1]
        stripped = src.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(src) - len(src.lstrip(" "))
        if indent > own:
            first = n
            continue
        if first is None or indent >= own or not stripped.rstrip().endswith(":"):
            return None
        deeper = lines[first - 1]
        # Which of the two is out of place: the one not one indentation step (the file's first
        # indent) under the parent key. `brand:` at 2 then `hcpcs:` at 1 under `drug:` is hcpcs.
        step = next((len(t) - len(t.lstrip(" ")) for t in lines if t.strip() and t.startswith(" ")), 2)
        if own - indent != step:
            return None
        return first, len(deeper) - len(deeper.lstrip(" ")), stripped
    return None


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
