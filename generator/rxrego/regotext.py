"""Rendering Python values as Rego source text. Every spec string reaches Rego through `string`."""

from __future__ import annotations

import json
import math
import textwrap
import unicodedata

# Words that cannot follow a dot in a Rego reference.
KEYWORDS = frozenset(
    [
        "as",
        "contains",
        "default",
        "else",
        "every",
        "false",
        "if",
        "import",
        "in",
        "not",
        "null",
        "package",
        "some",
        "true",
        "with",
    ]
)


class Expr(str):
    """Rego source text that also keeps what it was built from, so the same expression can be
    written as bundle data (rxrego.catalog: the data form). `tree` is one of
    {"value": data} (a literal; `data` the Python value, sets included), {"fact": path},
    {"value_set": id}, {"ref": name} (a rule of the policy module: "service_date",
    "date_of_service", "products"), {"status": id}, {"statuses": [ids]},
    {"array": [Expr]} or {"call": function, "args": [Expr]}.

    It is a `str` for everything else: templates and `call` read it as the text alone."""

    tree: dict[str, object]

    def __new__(cls, text: str, tree: dict[str, object]) -> Expr:
        self = super().__new__(cls, text)
        self.tree = tree
        return self


def string(value: str) -> str:
    """A Rego string literal whose value is exactly `value`.

    Rego string literals use JSON's escapes, so JSON encoding is exact: quotes, backslashes,
    newlines and control characters are escaped; other characters are kept as written.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return Expr(json.dumps(value, ensure_ascii=False), {"value": value})


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def value(v: object) -> str:
    """A Rego literal for plain data: str, bool, None, int, float, list/tuple (array),
    set/frozenset (set, sorted), dict (object, sorted keys); an `Expr` holding `v`."""
    return Expr(_value(v), {"value": v})


def _value(v: object) -> str:
    if isinstance(v, str):
        return _string(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v} has no Rego literal")
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, set | frozenset):
        if not v:
            return "set()"
        return "{" + ", ".join(_value(x) for x in sorted(v)) + "}"
    if isinstance(v, dict):
        return (
            "{"
            + ", ".join(
                f"{string(k) if not isinstance(k, str) else _string(k)}: {_value(x)}" for k, x in sorted(v.items())
            )
            + "}"
        )
    raise TypeError(f"no Rego literal for {type(v).__name__}")


def block(v: object, depth: int = 0, width: int = 100) -> str:
    """Like `value`, but an object, array or set too long for one line gets one entry a line
    (the layout opa fmt keeps), so a reviewer reads and diffs one criterion at a time."""
    return Expr(_block(v, depth, width), {"value": v})


def _block(v: object, depth: int, width: int) -> str:
    flat = _value(v)
    if len(flat) + depth * 4 <= width or not isinstance(v, dict | list | tuple | set | frozenset) or not v:
        return flat
    pad = "\t" * (depth + 1)
    if isinstance(v, dict):
        items = [f"{string(k)}: {_block(x, depth + 1, width)}" for k, x in sorted(v.items())]
        opener, closer = "{", "}"
    elif isinstance(v, set | frozenset):
        items = [_block(x, depth + 1, width) for x in sorted(v)]
        opener, closer = "{", "}"
    else:
        items = [_block(x, depth + 1, width) for x in v]
        opener, closer = "[", "]"
    return opener + "\n" + "".join(f"{pad}{item},\n" for item in items) + "\t" * depth + closer


def call(function: str, *args: str) -> str:
    """`lib.f(a, b)`, or one argument a line when that is too long to read on one line; an
    `Expr` whose tree is {"call": function, "args": args}."""
    flat = f"lib.{function}({', '.join(args)})"
    tree: dict[str, object] = {"call": function, "args": list(args)}
    if len(flat) <= 80 and "\n" not in flat:
        return Expr(flat, tree)
    return Expr(f"lib.{function}(\n" + "".join(f"\t{a},\n" for a in args) + ")", tree)


def array(items: list[str]) -> str:
    """`[a, b]`: an array of expressions on one line (an `Expr` whose tree is {"array": items})."""
    return Expr("[" + ", ".join(items) + "]", {"array": list(items)})


def ref(text: str, tree: dict[str, object]) -> str:
    """Rego text naming something the policy module defines (a fact, a value set, a status
    or one of its rules), with the tree the data form reads it by (`Expr`)."""
    return Expr(text, tree)


def ref_key(name: str) -> str:
    """`.name`, or `["name"]` where name is not usable after a dot."""
    if name.isidentifier() and name.isascii() and name not in KEYWORDS:
        return "." + name
    return "[" + string(name) + "]"


# Characters that must not appear raw in a comment or a METADATA YAML line: controls (NUL
# is illegal anywhere in Rego source), line and paragraph separators, format characters,
# surrogates, private-use and unassigned code points.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape_invisible(text: str) -> str:
    return "".join(
        c
        if c == "\t" or unicodedata.category(c) not in _INVISIBLE
        else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in text
    )


def comment(text: str) -> str:
    """Text on one comment line: white space folded to single spaces, invisible characters
    written as escapes."""
    return _escape_invisible(" ".join(text.split()))


def comment_block(text: str, prefix: str = "#   ", width: int = 96) -> str:
    """Text as wrapped comment lines, each starting with `prefix`."""
    lines = textwrap.wrap(comment(text), width - len(prefix), break_on_hyphens=False) or [""]
    return "\n".join((prefix + line).rstrip() for line in lines)


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (for METADATA annotations) whose value is `text`."""
    return _escape_invisible(json.dumps(" ".join(text.split()), ensure_ascii=False))
