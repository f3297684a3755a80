"""Reading and checking PA requests (and other JSON the commands take) before they are decided.

One reader for every way a request comes in: the client library (`RxRegoClient.decide`,
`decide_many`), `rxrego decide`, `rxrego explain` and `rxrego questionnaire-decide`. It
refuses, naming the field path, a document that JSON allows but that a decision must never
rest on:

- **duplicate keys** in one object (`{"request_type": "initial", "request_type": "renewal"}`):
  RFC 8259 section 4 leaves their meaning to the reader and most readers keep the last, so
  two readers of the same bytes could decide different requests;
- **numbers outside the accepted range**: `NaN`, `Infinity`, `-Infinity` (not JSON at all,
  though Python's `json` reads them), a magnitude above `MAX_ABS_NUMBER` (`1e10000000`,
  which Python reads as infinity, which OPA v1.20.2 panicked comparing and v1.22.4 refuses), a
  non-zero magnitude below `MIN_ABS_NUMBER` (`1e-10000000`, read as 0), and integers of more
  than `MAX_NUMBER_DIGITS` digits; the bounds hold far beyond any real quantity, days supply
  or lab value and inside the range where a binary double is exact for integers
  (RFC 8259 section 6);
- **nesting deeper than `MAX_DEPTH`** arrays and objects: a request is 4 levels deep, a FHIR
  QuestionnaireResponse about 8; `[[[[...]]]]` 1,000 levels deep would exhaust a recursive
  parser's stack. The text is scanned for depth iteratively *before* it is parsed;
- more than `MAX_REQUEST_BYTES` bytes of text, and text that is not UTF-8;
- **a lone UTF-16 surrogate** in a string or key (`"\\ud800"` without its pair): JSON's
  escapes allow it, but it is not a Unicode character (RFC 8259 section 8.2), cannot be
  encoded as UTF-8 and so could never be sent to OPA.

A UTF-8 byte order mark at the start of the text is ignored (RFC 8259 section 8.1 lets a
parser ignore it; editors on Windows write it).

Every refusal is a `RequestError` whose `field` is the path in the request's own notation
(`quantity.days_supply`, `diagnoses[0].code`, `notes[0][0]...`) and whose message says what
was found and what is accepted.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

MAX_DEPTH = 32
MAX_ABS_NUMBER = 1e15
MIN_ABS_NUMBER = 1e-15
MAX_NUMBER_DIGITS = 16
MAX_REQUEST_BYTES = 4 * 1024 * 1024

RANGE_TEXT = "finite, and 0 or of magnitude 1e-15 to 1e15"
BOM = "\ufeff"
# A parsed string holds a surrogate code point only when it was not part of a pair.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# What may put one there: a \uD800-\uDFFF escape (paired or not) or a raw one in a str.
_SURROGATE_IN_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class RequestError(ValueError):
    """A request (or other JSON input) that is refused before any decision.

    `field` is the path of the offending value (`""` for the document as a whole); `line` and
    `column` (1-based) are set when the problem was found in text.
    """

    def __init__(self, message: str, *, field: str = "", line: int | None = None, column: int | None = None) -> None:
        self.field = field
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line} column {column}: " if line is not None else ""
        super().__init__(f"{where}{field + ': ' if field else ''}{message}")

    def describe(self, source: str) -> str:
        """The error for people, after the name of what was read:
        `request.json:1:42: notes[0][0]...: nested more than 32 levels deep ...`."""
        where = f"{source}:{self.line}:{self.column}" if self.line is not None else source
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


def format_path(path: tuple | list) -> str:
    """('diagnoses', 0, 'code') -> 'diagnoses[0].code': names joined by dots, list indexes in
    brackets, as the decision's `errors` name fields."""
    out = ""
    for i, part in enumerate(path):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part))
    return out


# --- the parse hooks: they never raise, they leave marks for `check` to report with a path ---------


class _BadNumber:
    """A number literal refused by the parse hooks; `check` reports it with its path."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Hooks:
    """json.loads hooks that note problems instead of raising (a hook does not know where in
    the document it is); when one is noted, `check` walks the document to name the path."""

    def __init__(self) -> None:
        self.duplicates: dict[int, tuple[str, int]] = {}  # id(object) -> (key, times given)
        self.bad_numbers = False

    def pairs(self, pairs: list[tuple[str, object]]) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: dict[str, int] = {}
            for key, _ in pairs:
                seen[key] = seen.get(key, 0) + 1
            key = next(k for k, n in seen.items() if n > 1)
            self.duplicates[id(out)] = (key, seen[key])
        return out

    def parse_int(self, text: str) -> object:
        if len(text.lstrip("-")) > MAX_NUMBER_DIGITS or abs(value := int(text)) > MAX_ABS_NUMBER:
            self.bad_numbers = True
            return _BadNumber(text)
        return value

    def parse_float(self, text: str) -> object:
        value = float(text) if len(text) <= 64 else math.inf
        # A non-zero literal too small for a double is read as 0: refused as well.
        if not _in_range(value) or (value == 0 and re.search(r"[1-9]", re.split(r"[eE]", text)[0])):
            self.bad_numbers = True
            return _BadNumber(text)
        return value

    def parse_constant(self, text: str) -> object:
        self.bad_numbers = True
        return _BadNumber(text)


def _in_range(value: float) -> bool:
    return math.isfinite(value) and (value == 0 or MIN_ABS_NUMBER <= abs(value) <= MAX_ABS_NUMBER)


# --- depth, before parsing --------------------------------------------------------------------------

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_text_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """RequestError (with line and column) when arrays and objects in `text` nest deeper than
    `max_depth`. Iterative and cheap: strings are cut out and the brackets left are counted
    (no parser runs); malformed text is left for the parser to report."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets or max(itertools.accumulate(map(_DELTA.__getitem__, brackets))) <= max_depth:
        return
    # Too deep: find where, the slow way (only for refused text), keeping the key or index
    # the way down has reached at each level.
    frames: list[list] = []  # [bracket, key or index]
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            if len(frames) >= max_depth:
                line, col = _position(text, match.start())
                path = tuple(f[1] for f in frames if f[1] is not None)
                raise RequestError(
                    f"nested more than {max_depth} levels deep (arrays and objects); a request needs a few levels",
                    field=_where(path),
                    line=line,
                    column=col,
                )
            frames.append([token, 0 if token == "[" else None])
        elif token in ("]", "}"):
            if frames:
                frames.pop()
        elif token == ",":
            if frames and frames[-1][0] == "[":
                frames[-1][1] += 1
        elif token.endswith(":") and frames and frames[-1][0] == "{":
            try:
                frames[-1][1] = json.loads(token[:-1].rstrip())
            except ValueError:
                frames[-1][1] = "?"


_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(?:\s*:)?|[\[\]{},]')


# --- the reader ---------------------------------------------------------------------------------------


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> object:
    """A JSON document from text, refused with RequestError when it has duplicate keys,
    numbers out of range, nesting deeper than `max_depth`, more than MAX_REQUEST_BYTES, or is
    not JSON (with line and column), or holds a lone surrogate (naming the field). A leading
    byte order mark is ignored (RFC 8259 section 8.1)."""
    if isinstance(text, bytes | bytearray):
        if len(text) > MAX_REQUEST_BYTES:
            raise RequestError(f"{len(text)} bytes; a request may be at most {MAX_REQUEST_BYTES} bytes")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestError(f"not UTF-8: byte 0x{text[exc.start]:02x} at byte offset {exc.start}") from None
    if len(text) > MAX_REQUEST_BYTES:
        raise RequestError(f"{len(text)} characters; a request may be at most {MAX_REQUEST_BYTES} bytes")
    text = text.removeprefix(BOM)
    check_text_depth(text, max_depth)
    hooks = _Hooks()
    try:
        doc = json.loads(
            text,
            object_pairs_hook=hooks.pairs,
            parse_int=hooks.parse_int,
            parse_float=hooks.parse_float,
            parse_constant=hooks.parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise RequestError(f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except RecursionError:  # the depth scan above makes this unreachable; never a traceback
        raise RequestError(f"nested more than {max_depth} levels deep") from None
    if hooks.duplicates or hooks.bad_numbers or _SURROGATE_IN_TEXT.search(text):
        check(doc, max_depth=max_depth, _duplicates=hooks.duplicates)
    return doc


def read_file(path: str | Path, *, max_depth: int = MAX_DEPTH) -> object:
    """`loads` of a file (or standard input for "-"); RequestError for a file that cannot be
    read. Show errors with `RequestError.describe(the file's name)`."""
    name = str(path)
    try:
        if name == "-":
            raw = sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
        else:
            p = Path(path)
            if p.is_dir():
                raise RequestError("is a folder, not a JSON file")
            with p.open("rb") as f:
                raw = f.read(MAX_REQUEST_BYTES + 1)
    except FileNotFoundError:
        raise RequestError("no such file") from None
    except OSError as exc:
        raise RequestError(f"cannot be read: {exc.strerror or exc}") from None
    return loads(raw, max_depth=max_depth)


def check(doc: object, *, max_depth: int = MAX_DEPTH, prefix: tuple = (), _duplicates: dict | None = None) -> None:
    """RequestError naming a field that is refused: a number out of range (or NaN/Infinity),
    a key that is not a string, a value that is not JSON, nesting deeper than `max_depth`
    (or, for a document `loads` parsed, a duplicate key). Checks Python values given to the
    client and parsed text alike; iterative, so no nesting can exhaust the stack. `prefix`
    is put before every path (e.g. ("requests", 3) for one request of a batch)."""
    problem = _find(doc, max_depth, _duplicates or {})
    if problem is not None:
        path, message = problem
        raise RequestError(message, field=_where((*prefix, *path)))


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, str):
        found = _LONE_SURROGATE.search(value)
        return None if found is None else _surrogate_text(found)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime.date):
        # A calendar date (what a YAML loader gives for 2026-06-15) is sent as that ISO
        # date; a date with a time of day is not a date the contract reads.
        if isinstance(value, datetime.datetime):
            return "a date with a time of day is not a date: give the date as YYYY-MM-DD"
        return None
    if isinstance(value, _BadNumber):
        shown = value.text if len(value.text) <= 40 else value.text[:37] + "..."
        return f"the number {shown} is outside the accepted range ({RANGE_TEXT})"
    if isinstance(value, int):
        return (
            None
            if abs(value) <= MAX_ABS_NUMBER
            else f"the number {_short_int(value)} is outside the accepted range ({RANGE_TEXT})"
        )
    if isinstance(value, float):
        return None if _in_range(value) else f"the number {value!r} is outside the accepted range ({RANGE_TEXT})"
    return f"{type(value).__name__} is not a JSON value"


def _find(doc: object, max_depth: int, duplicates: dict[int, tuple[str, int]]) -> tuple[tuple, str] | None:
    """(path, message) of the first refused value, depth-first; None when all is well.
    Paths are built only for containers, so a wide document costs one pass over its values."""
    if not isinstance(doc, dict | list | tuple):
        message = _scalar_problem(doc)
        return ((), message) if message else None
    stack: list[tuple[tuple, dict | list | tuple]] = [((), doc)]
    while stack:
        path, container = stack.pop()
        if len(path) >= max_depth:
            return path, f"nested more than {max_depth} levels deep (arrays and objects)"
        items: Iterable[tuple[object, object]]
        if isinstance(container, dict):
            if id(container) in duplicates:
                repeated, n = duplicates[id(container)]
                return (*path, repeated), f"the key is given {n} times in one object; each field may be given once"
            items = container.items()
        else:
            items = enumerate(container)
        nested: list[tuple[tuple, dict | list | tuple]] = []
        for key, value in items:
            if isinstance(container, dict):
                if not isinstance(key, str):
                    return path, f"object keys must be strings, found {type(key).__name__} {key!r}"
                if (found := _LONE_SURROGATE.search(key)) is not None:  # the key, escaped, in the message
                    return path, f"the key {key!r}: {_surrogate_text(found)}"
            if isinstance(value, dict | list | tuple):
                nested.append(((*path, key), value))
            elif (message := _scalar_problem(value)) is not None:
                return (*path, key), message
        stack.extend(reversed(nested))
    return None


def _surrogate_text(found: re.Match) -> str:
    return (
        f"not valid Unicode: unpaired surrogate \\u{ord(found.group()):04x} at character {found.start()} "
        "(RFC 8259 section 8.2); give the character itself or its complete surrogate pair"
    )


def _where(path: tuple) -> str:
    """The path, its middle elided when it is long (a refused 1,000-level nesting)."""
    if len(path) <= 12:
        return format_path(path)
    return format_path(path[:8]) + "..." + format_path(path[-2:])


def _short_int(value: int) -> str:
    digits = len(str(abs(value))) if abs(value) < 10**4000 else "over 4000"
    return f"with {digits} digits" if abs(value) >= 10**20 else str(value)
