"""Statuses of the criteria of one requirement set, and the policy-order walk."""

from __future__ import annotations

from collections.abc import Callable

from rxrego.spec import model as m

from .documents import documentation
from .leaves import Context, evaluate_leaf
from .logic import Status, all_of, any_of, at_least, conditional, negation

Node = m.AllOf | m.AnyOf | m.AtLeast | m.Conditional | m.Negation


def combine(node: Node, status_of: Callable[[str], Status]) -> Status:
    """The status of a combinator (a criterion's or a requirement set's root)."""
    match node:
        case m.AllOf(children=ids):
            return all_of(map(status_of, ids))
        case m.AnyOf(children=ids):
            return any_of(map(status_of, ids))
        case m.AtLeast(n=n, children=ids):
            return at_least(n, map(status_of, ids))
        case m.Conditional(when=when, then=then):
            return conditional(all_of(map(status_of, when)), all_of(map(status_of, then)))
        case m.Negation(child=child):
            return negation(status_of(child))
    raise TypeError(f"not a combinator: {node!r}")


class Evaluation:
    """Memoised statuses of criteria for one request (criteria are shared between parents)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.by_id = {c.id: c for c in ctx.spec.criteria}
        self._cache: dict[str, Status] = {}

    def status(self, cid: str) -> Status:
        if cid not in self._cache:
            c = self.by_id[cid]
            test = c.test
            if isinstance(test, m.Kind):
                found = evaluate_leaf(test, self.ctx)
                if c.documentation:
                    found = all_of([found, documentation(self.ctx.request, cid, c.documentation)])
                self._cache[cid] = found
            else:
                self._cache[cid] = combine(test, self.status)
        return self._cache[cid]

    def root_status(self, rs: m.RequirementSet) -> Status:
        return combine(rs.root, self.status)


def policy_order(spec: m.PolicySpec, rs: m.RequirementSet) -> list[str]:
    """Every criterion reachable from the root: pre-order, children as written, `when`
    before `then` (Criterion.children), each at its first appearance."""
    return order_from(spec, rs.root.children)


def order_from(spec: m.PolicySpec, roots: tuple[str, ...]) -> list[str]:
    """policy_order for a root given as its children (an indication's root)."""
    by_id = {c.id: c for c in spec.criteria}
    order: dict[str, None] = {}  # an ordered set

    def visit(cid: str) -> None:
        if cid not in order:
            order[cid] = None
            for child in by_id[cid].children:
                visit(child)

    for cid in roots:
        visit(cid)
    return list(order)
