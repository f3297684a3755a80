"""Safe YAML reading that remembers where every value came from.

Specs are parsed with PyYAML's SafeLoader into a node tree and converted here, so that each
value's JSON path maps to the line and column it was written at. Duplicate keys, aliases
(the "billion laughs" expansion), non-UTF-8 bytes and oversized files are refused with an
issue that names the file and position.

PyYAML reads YAML 1.1, where plain scalars that look like text or like an ordinary number
silently become something else: `012` is octal 10, `1:05` is base-60 65, `0x1F` is 31,
`1_000` is 1000, `.inf` / `.nan` are not finite, `yes` / `no` / `on` / `off` are booleans,
and a bare `=` is a "value" key. YAML 1.2 (and JSON) read none of these so. Each is an error
here, at its line and column, saying how to write it (`yamlsource.oddity`): quote it if it
is text, or write the number (or true / false) plainly. Plain `true` / `false` (any case),
`null` and `~`, decimal integers and decimals mean the same in both versions and are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import SpecError, SpecIssue

MAX_SPEC_BYTES = 1024 * 1024
MAX_DEPTH = 64

Position = tuple[int, int]


@dataclass
class Located:
    """A parsed document and the (line, column) of every value and mapping key in it."""

    file: str
    data: object
    values: dict[tuple, Position] = field(default_factory=dict)
    keys: dict[tuple, Position] = field(default_factory=dict)

    def position(self, path: tuple, *, key: bool = False) -> Position:
        """Where `path` was written; falls back to the nearest enclosing value."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        path = tuple(path)
        while path:
            if key and path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def issue(self, path: tuple, message: str, *, key: bool = False) -> SpecIssue:
        from .errors import format_path

        line, col = self.position(tuple(path), key=key)
        return SpecIssue(self.file, line, col, format_path(path), message)


def read_text(path: Path, display: str) -> str:
    """The file as text, or a SpecError naming the byte offset of the first bad byte."""
    return decode(read_bytes(path, display), display)


def read_bytes(path: Path, display: str) -> bytes:
    """The file's bytes, or a SpecError when it cannot be read or is over MAX_SPEC_BYTES."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([SpecIssue(display, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            [SpecIssue(display, 1, 1, "", f"file is {len(raw)} bytes; a spec may be at most {MAX_SPEC_BYTES} bytes")]
        )
    return raw


def decode(raw: bytes, display: str) -> str:
    """A file's bytes as UTF-8 text, or a SpecError naming the byte offset of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            [SpecIssue(display, line, col, "", f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte offset {exc.start}")]
        ) from None


class _AliasNode(yaml.Node):
    """Stands in for a use of an alias (*name), where it was written; never expanded."""

    id = "alias"

    def __init__(self, anchor: str, start_mark, end_mark):
        super().__init__("", anchor, start_mark, end_mark)  # an alias has no tag of its own


class _Loader(yaml.SafeLoader):
    """SafeLoader; aliases and duplicate keys are rejected by `_convert`."""

    _depth = 0

    def compose_node(self, parent, index):
        # PyYAML would hand back the anchored node itself, which carries the anchor's position
        # (and, for a scalar, nothing that tells it apart from a plain value).
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            if event.anchor in self.anchors:
                self.get_event()
                return _AliasNode(event.anchor, event.start_mark, event.end_mark)
        # The composer recurses once per level: `[[[[...` would exhaust Python's stack.
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _text_position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# libyaml refuses nesting past 1,000 levels from 0.2.5 on (yaml_set_max_nest_level), so its
# composer, which recurses in C once per level, cannot be driven deep enough to exhaust the
# stack; with an older libyaml the events are counted first.
_LIBYAML_BOUNDS_DEPTH = getattr(yaml, "__with_libyaml__", False) and yaml._yaml.get_version() >= (0, 2, 5)


class _NotFast(Exception):
    """A document the C-composed tree cannot stand for: the pure-Python path reads it."""


def _fast_node(text: str) -> yaml.Node | None:
    """The node tree composed by libyaml (C), when the document is one the pure-Python path
    would accept as it is: no aliases, no nesting past MAX_DEPTH, no characters the Python
    reader refuses. Anything else (or no libyaml) returns None, and the Python path, whose
    positions and messages the error tests pin down, reads it instead. This only makes the
    common case fast: composing a large spec in Python costs ~100 ms, in C a tenth of that.

    An alias needs a `*`: a text without one is composed directly, and its depth is checked
    while it is converted (`_convert` raises _NotFast past MAX_DEPTH). A text with one, or
    an older libyaml, has its events read first, to find aliases and depth before composing."""
    if not getattr(yaml, "__with_libyaml__", False) or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        if _LIBYAML_BOUNDS_DEPTH and "*" not in text:
            return yaml.compose(text, Loader=yaml.CSafeLoader)
        depth = 0
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.AliasEvent):
                return None
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth >= MAX_DEPTH:
                    return None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None


def parse(text: str, display: str) -> Located:
    """Parse one YAML document into plain Python values with positions."""
    node = _fast_node(text)
    if node is not None:
        try:
            return _located(node, _Loader(""), display, fast=True)
        except _NotFast:
            pass
    loader = None
    try:
        # The reader checks for unprintable characters (NUL, control codes) already here.
        loader = _Loader(text)
        node = loader.get_single_node()
    except yaml.reader.ReaderError as exc:
        line, col = _text_position(text, exc.position)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SpecError(
            [SpecIssue(display, line, col, "", f"invalid YAML: character U+{char:04X} is not allowed ({exc.reason})")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        from .yamlerrors import plain_words

        line, col, msg = plain_words(exc, text)
        raise SpecError([SpecIssue(display, line, col, "", msg)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(display, 1, 1, "", f"invalid YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return _located(node, loader, display)


def _located(node: yaml.Node | None, loader: yaml.SafeLoader, display: str, *, fast: bool = False) -> Located:
    """Plain values with positions from a composed node tree; `loader` builds the scalars.
    `fast`: the tree is libyaml's, composed without the depth check (_NotFast past it)."""
    located = Located(display, None)
    if node is None:
        raise SpecError([SpecIssue(display, 1, 1, "", "the file is empty; expected a policy spec mapping")])
    issues: list[SpecIssue] = []
    located.data = _convert(loader, node, (), located, issues, 0, fast)
    if issues:
        raise SpecError(issues)
    return located


def _pos(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


_SURROGATE = re.compile("[\ud800-\udfff]")
_ALIAS_MESSAGE = "YAML aliases (*{}) are not allowed in specs: write the value out"


_STR = "tag:yaml.org,2002:str"


def _convert(loader, node, path, located, issues, depth, fast=False):
    located.values[path] = _pos(node)
    if isinstance(node, _AliasNode):
        issues.append(located.issue(path, _ALIAS_MESSAGE.format(node.value)))
        return None
    if depth > MAX_DEPTH:
        issues.append(located.issue(path, f"nested more than {MAX_DEPTH} levels deep"))
        return None
    if fast and depth >= MAX_DEPTH - 1 and isinstance(node, yaml.CollectionNode):
        raise _NotFast  # the Python composer refuses this depth, in its own words
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, _AliasNode):
                issues.append(
                    SpecIssue(located.file, *_pos(key_node), _fmt(path), _ALIAS_MESSAGE.format(key_node.value))
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                issues.append(SpecIssue(located.file, *_pos(key_node), _fmt(path), "mapping keys must be plain text"))
                continue
            key = key_node.value
            if key == "<<":
                issues.append(
                    SpecIssue(
                        located.file, *_pos(key_node), _fmt(path), "YAML merge keys (<<) are not allowed in specs"
                    )
                )
                continue
            child = (*path, key)
            if key in out:
                line, col = _pos(key_node)
                first = located.keys.get(child, (0, 0))[0]
                issues.append(
                    SpecIssue(
                        located.file, line, col, _fmt(child), f"duplicate key '{key}' (first given on line {first})"
                    )
                )
                continue
            located.keys[child] = _pos(key_node)
            out[key] = _convert(loader, value_node, child, located, issues, depth + 1, fast)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*path, i), located, issues, depth + 1, fast) for i, item in enumerate(node.value)
        ]
    if node.tag == "tag:yaml.org,2002:timestamp":
        # Dates stay text (YYYY-MM-DD) so the model and the JSON Schema see what was written.
        return node.value
    problem = oddity(node, loader)
    if problem is not None:
        issues.append(located.issue(path, problem))
        return None
    try:
        # Text (most scalars) is the node's value, as PyYAML's construct_yaml_str returns it.
        value = node.value if node.tag == _STR else loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        issues.append(located.issue(path, f"invalid value {node.value!r}: {exc.problem}"))
    except Exception as exc:  # e.g. `!!float abc` raises ValueError inside PyYAML
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        issues.append(located.issue(path, f"invalid value {node.value!r} for tag {tag}: {exc}"))
        return None
    else:
        if isinstance(value, str) and (surrogate := _SURROGATE.search(value)):
            # A "\ud800" escape yields a lone surrogate: not Unicode, so it could never be
            # written as UTF-8 Rego.
            bad = surrogate.group()
            issues.append(located.issue(path, f"not valid Unicode: unpaired surrogate \\u{ord(bad):04x}"))
            return None
        return value
    return None


_TAG = "tag:yaml.org,2002:"
_BOOLEANS_1_2 = {"true", "false"}
# Plain scalars YAML 1.2's core schema reads as numbers that YAML 1.1 (PyYAML) keeps as text.
_NUMBER_1_2 = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")


def oddity(node: yaml.ScalarNode, loader: yaml.SafeLoader) -> str | None:
    """Why a plain scalar must not be read as YAML 1.1 reads it (None: it reads the same in
    YAML 1.2 and JSON). The message quotes what was written, says what YAML 1.1 makes of it
    and how to write it instead."""
    if node.style:  # quoted or block scalars are text, as written (plain: None, or "" from libyaml)
        return None
    text = node.value
    tag = node.tag[len(_TAG) :] if node.tag.startswith(_TAG) else node.tag
    quote = f'quote it ("{text}") if it is text'
    if tag == "bool" and text.lower() not in _BOOLEANS_1_2:
        return f"{text} is read by YAML 1.1 as the boolean {str(text.lower() in ('yes', 'on')).lower()}: write true or false, or {quote}"
    if tag == "value":
        return f"a bare {text} is a YAML 1.1 'value' key, not text: {quote}"
    if tag == "str":
        implicit = loader.resolve(yaml.ScalarNode, text, (True, False)) == node.tag
        if implicit and _NUMBER_1_2.fullmatch(text):
            return f"{text} is text in YAML 1.1 but a number in YAML 1.2 (and to an editor's YAML language server): {quote}, or write the number plainly (e.g. 1000 or 1000.0, not 1e3)"
        return None
    if tag not in ("int", "float"):
        return None
    digits = text.lstrip("+-")
    if _SEXAGESIMAL.fullmatch(text):
        return f"{text} is read by YAML 1.1 as a base-60 number ({_value(node, loader)}): {quote}, or write the number plainly"
    if tag == "int" and digits[:2].lower() in ("0x", "0b"):
        kind = "hexadecimal" if digits[1] in "xX" else "binary"
        value = _value(node, loader)
        return f"{text} is read by YAML 1.1 as a {kind} number ({value}): write it in decimal ({value}), or {quote}"
    if tag == "int" and len(digits) > 1 and digits[0] == "0" and digits.replace("_", "").isdigit():
        value = _value(node, loader)
        plain = text[: len(text) - len(digits)].replace("+", "") + (digits.lstrip("0_") or "0")
        octal = f" (or {value} if octal was meant)" if value != plain else ""
        return f"{text} has a leading zero, which YAML 1.1 reads as the octal number {value}: write {plain}{octal}, or {quote}"
    if "_" in text:
        return f"{text} is read by YAML 1.1 as {_value(node, loader)} (underscores are dropped): write the number without them, or {quote}"
    if tag == "float" and digits.lower() in (".inf", ".nan"):
        return (
            f"{text} is not a finite number (YAML 1.1 reads it as {_value(node, loader)}): write a number, or {quote}"
        )
    return None


def _value(node: yaml.ScalarNode, loader: yaml.SafeLoader) -> str:
    """What YAML 1.1 makes of a scalar, for a message ("?" when it cannot be built)."""
    try:
        return repr(loader.construct_object(node, deep=True))
    except Exception:
        return "?"
    finally:
        loader.constructed_objects.pop(node, None)
        loader.recursive_objects.pop(node, None)


def _fmt(path):
    from .errors import format_path

    return format_path(path)
