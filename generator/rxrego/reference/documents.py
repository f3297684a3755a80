"""Documentation required (docs/semantics.md, "Documentation required"): whether the
request's `documents` support a criterion, written apart from the Rego library."""

from __future__ import annotations

from rxrego.spec import model as m

from .facts import ABSENT, read
from .logic import INVALID, MET, UNKNOWN, Status

_TYPES = frozenset(m.DOCUMENT_TYPES)


def _well_formed(entry: object) -> bool:
    """An object with a non-empty string `id`, a `type` of the closed list, and `supports`
    absent, null or a list of strings."""
    if not isinstance(entry, dict):
        return False
    if not isinstance(entry.get("id"), str) or entry["id"] == "":
        return False
    kind = entry.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        return False
    supports = entry.get("supports")
    return supports is None or (isinstance(supports, list) and all(isinstance(x, str) for x in supports))


def documentation(request: dict, criterion: str, types: tuple[str, ...]) -> Status:
    """met: a well-formed document of one of `types` supports `criterion` (it lists no
    `supports`, or its list names the criterion); invalid: `documents` is not a list, or
    nothing supports it and some entry is malformed; otherwise unknown."""
    documents = read(request, ("documents",))
    if documents is ABSENT:
        return UNKNOWN
    if not isinstance(documents, list):
        return INVALID
    wanted = set(types)
    for entry in documents:
        if _well_formed(entry) and entry["type"] in wanted:
            supports = entry.get("supports")
            if supports is None or criterion in supports:
                return MET
    if not all(_well_formed(entry) for entry in documents):
        return INVALID
    return UNKNOWN
