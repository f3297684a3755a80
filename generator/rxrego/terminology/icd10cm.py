"""ICD-10-CM diagnosis codes: well-formedness, membership, descriptions, range expansion.

The code set is the one shipped by the `simple-icd-10-cm` library (the CMS/NCHS ICD-10-CM
release it names in its data files; April 2026 at the pinned version), loaded lazily the
first time a function here needs it, because loading it costs a few seconds.

Codes are accepted with or without the dot (`C91.00`, `c9100`) and returned in the dotted,
upper-case form the tabular list uses (`C91.00`).

Sources: ICD-10-CM Official Guidelines for Coding and Reporting (code structure: a letter,
two characters, then up to four more after the dot); the ICD-10-CM tabular list.
"""

from __future__ import annotations

import functools
import re
import warnings
from types import ModuleType

# A letter (U is reserved for special purposes but used: U07.1, U09.9), a digit, a digit or
# letter, then optionally a dot and one to four letters or digits. This is the shape of
# every ICD-10-CM code; membership in the code set is checked separately.
_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


class CodeError(ValueError):
    """A code or range that is not ICD-10-CM. `args[0]` is a message for a policy author."""


@functools.cache
def _library() -> ModuleType:
    # The library reads its data with importlib.resources calls that Python 3.11 deprecates;
    # that is its business, not the policy author's, so the warnings stay inside.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def load() -> None:
    """Read the code set now (seconds, once a process) rather than at the first check: a
    process about to fork workers that check codes pays it once, for all of them."""
    _library()


def canonical(code: str) -> str:
    """`code` upper-cased with the dot where the tabular list puts it (after the third
    character), surrounding spaces removed: `" c9100 "` -> `"C91.00"`. Shape only: the
    result may still be absent from the code set."""
    text = code.strip().upper().replace(".", "")
    return text if len(text) <= 3 else text[:3] + "." + text[3:]


def well_formed(code: str) -> bool:
    """True when `code` has the shape of an ICD-10-CM code (after `canonical`): `C91.00`,
    `C9100` and `C91` are well formed; `C91.0Z`'s shape is, but `C91.02XYZ`, `C91.0-` and
    `C.9.1.0.2` are not."""
    if not isinstance(code, str) or code.count(".") > 1:
        return False
    stripped = code.strip().upper()
    if "." in stripped and stripped.index(".") != 3:
        return False
    return bool(_SHAPE.match(canonical(code)))


def exists(code: str) -> bool:
    """True when `code` is a category, subcategory or code of the ICD-10-CM code set (not a
    chapter or block): `C91.00` and `C91` exist, `C91.0Z` does not."""
    if not well_formed(code):
        return False
    c = canonical(code)
    return _library().is_valid_item(c) and _is_code(c)


def _is_code(item: str) -> bool:
    # A chapter or block is not a code, but a few blocks share their name with the one
    # category they hold (C50 is both), so ask for the category levels directly.
    lib = _library()
    return lib.is_category_or_subcategory(item) or lib.is_extended_subcategory(item)


def description(code: str) -> str:
    """The tabular list's description of `code`. Raises CodeError when it does not exist."""
    if not exists(code):
        raise CodeError(f"{code!r} is not an ICD-10-CM code")
    return _library().get_description(canonical(code))


def descendants(code: str) -> tuple[str, ...]:
    """`code` and every code below it in the hierarchy, in tabular order.
    Raises CodeError when `code` does not exist."""
    if not exists(code):
        raise CodeError(f"{code!r} is not an ICD-10-CM code")
    c = canonical(code)
    return (c, *_library().get_descendants(c))


def expand(include: tuple[str, ...] | list[str], exclude: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """Every code covered by `include` but not by `exclude`, each entry a code (covering its
    descendants, e.g. `C49`) or a range `FIRST-LAST` of codes at the same level in tabular
    order (`C81-C96`, `D69.3-D69.6`), sorted and without duplicates.

    "C49 except C49.A" is `expand(["C49"], ["C49.A"])`. An exception also removes the codes
    above it (`C49` itself is no longer covered: a request coded only `C49` might be the
    excepted disease). Raises CodeError naming the first entry that is not ICD-10-CM, a range
    whose ends are not at one level or are reversed, or an exception that removes nothing (a
    typo there would silently widen the coverage).
    """
    covered: set[str] = set()
    for entry in include:
        covered.update(_entry_codes(entry))
    lib = _library()
    for entry in exclude:
        removed = set(_entry_codes(entry))
        if not removed & covered:
            raise CodeError(f"the exception {entry!r} is not inside the codes it is an exception to")
        above = {a for code in removed for a in lib.get_ancestors(code) if a != code and _is_code(a)}
        covered -= removed | above
    order = _tabular_order()
    return tuple(sorted(covered, key=order.__getitem__))


def cover(include: tuple[str, ...] | list[str], exclude: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The fewest codes whose whole subtrees are exactly `expand(include, exclude)`, in
    tabular order: `cover(["C49"], ["C49.A"])` is `C49.0` ... `C49.9` (ten codes), and
    `cover(["C91.0"])` is `("C91.0",)`. A request code then matches when it is one of these
    or lies below one, which is what the generated Rego tests. Raises as `expand` does."""
    covered = expand(include, exclude)
    members = set(covered)
    lib = _library()
    return tuple(
        code
        for code in covered
        if all(d in members for d in lib.get_descendants(code))
        and not any(a in members for a in lib.get_ancestors(code) if a != code and _is_code(a))
    )


def is_range(entry: str) -> bool:
    """True when a spec's ICD-10-CM entry is a range `FIRST-LAST` (not a single code)."""
    return "-" in entry.strip("-")


def _entry_codes(entry: str) -> tuple[str, ...]:
    if not is_range(entry):
        return descendants(entry)
    return tuple(code for head in range_heads(entry) for code in descendants(head))


def range_heads(entry: str) -> tuple[str, ...]:
    """The codes a range `FIRST-LAST` names at its ends' level, in tabular order
    (`I20-I25`: I20, I21, ..., I25); each covers the codes below it. Raises CodeError for an
    end that is not ICD-10-CM, ends at different levels, or a range that runs backwards."""
    first, _, last = entry.partition("-")
    if not (exists(first) and exists(last)):
        bad = first if not exists(first) else last
        raise CodeError(f"{entry!r}: {bad.strip()!r} is not an ICD-10-CM code")
    a, b = canonical(first), canonical(last)
    if len(a) != len(b):
        raise CodeError(f"{entry!r}: a range's two ends must be at the same level ({a} and {b} are not)")
    order = _tabular_order()
    if order[a] > order[b]:
        raise CodeError(f"{entry!r}: the range runs backwards ({a} comes after {b})")
    lib = _library()
    siblings = [c for c in lib.get_all_codes(with_dots=True) if len(c) == len(a) and _is_code(c)]
    return tuple(c for c in siblings if order[a] <= order[c] <= order[b])


@functools.cache
def _tabular_order() -> dict[str, int]:
    return {code: i for i, code in enumerate(_library().get_all_codes(with_dots=True))}
