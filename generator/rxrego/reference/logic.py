"""The four statuses and the combinators over them (docs/semantics.md, "Combinators")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

Status = Literal["met", "unmet", "unknown", "invalid"]

MET: Final = "met"
UNMET: Final = "unmet"
UNKNOWN: Final = "unknown"
INVALID: Final = "invalid"  # internal only: shown to callers as unmet

# The statuses that fail a requirement (a path of these makes a criterion "unmet").
FAILING: Final = frozenset({UNMET, INVALID})


def shown(status: Status) -> str:
    """The status as a decision shows it: invalid is never met, so it reads as unmet."""
    return UNMET if status == INVALID else status


def all_of(children: Iterable[Status]) -> Status:
    found = set(children)
    for status in (UNMET, INVALID, UNKNOWN):
        if status in found:
            return status
    return MET


def at_least(n: int, children: Iterable[Status]) -> Status:
    statuses = list(children)
    met = statuses.count(MET)
    if met >= n:
        return MET
    # Unknown before invalid: the missing facts could still meet it, whatever else is wrong.
    if met + statuses.count(UNKNOWN) >= n:
        return UNKNOWN
    if INVALID in statuses:
        return INVALID
    return UNMET


def any_of(children: Iterable[Status]) -> Status:
    return at_least(1, children)


def conditional(condition: Status, then: Status) -> Status:
    """`when`/`then`, given C = all of `when` and T = all of `then`."""
    if condition == MET:
        return then
    if condition == UNMET:
        return MET  # the requirement does not apply
    if condition == INVALID:
        return INVALID  # a malformed fact never switches a requirement off
    return MET if then == MET else UNKNOWN  # met either way when T is met


def negation(status: Status) -> Status:
    """`not:`: met and unmet swap; unknown stays unknown and invalid stays invalid."""
    if status == MET:
        return UNMET
    if status == UNMET:
        return MET
    return status
