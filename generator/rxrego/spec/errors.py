"""Errors that speak to the policy author: file, line, column, field path, expected, found."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SpecIssue:
    """One mistake in one spec file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class SpecError(Exception):
    """A spec (or several) could not be loaded; carries every issue found, not only the first."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))

    def __reduce__(self):
        # Pickled with its issues (a worker process hands it back), not with the message text.
        return (SpecError, (self.issues,))


def format_path(path: tuple | list) -> str:
    """A field path as an author writes it: criteria.age.age.min_years, requirements.initial.all_of[2]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def describe(value: object) -> str:
    """How a found value is shown in a message: its YAML type and a short rendering."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"a mapping with keys {', '.join(sorted(map(str, value)))}" if value else "an empty mapping"
    return type(value).__name__
