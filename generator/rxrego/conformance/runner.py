"""Running golden cases on the real OPA binary: every case in one `opa eval` process."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import opa
from ..spec import model as m
from ..spec.dump import content_version
from ..spec.errors import SpecError, SpecIssue
from .cases import Case, CaseFile, find_case_files, load_case_file, mismatches

STATUSES = ("met", "unmet", "unknown")
BATCH_QUERY = opa.DECIDE_EACH


@dataclass(frozen=True)
class CaseResult:
    case: Case
    decision: object
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CriterionCoverage:
    policy: str
    criterion: str
    seen: frozenset[str]
    waived: dict[str, str]  # status -> reason

    @property
    def lacking(self) -> tuple[str, ...]:
        return tuple(s for s in STATUSES if s not in self.seen and s not in self.waived)


@dataclass
class Report:
    results: list[CaseResult] = field(default_factory=list)
    coverage: list[CriterionCoverage] = field(default_factory=list)
    opa_coverage: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def coverage_gaps(self) -> list[CriterionCoverage]:
        return [c for c in self.coverage if c.lacking]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.coverage_gaps


def load_suites(
    paths: Iterable[str | Path], specs: Sequence[m.PolicySpec], policy: str | None = None
) -> list[CaseFile]:
    """Every case file under `paths` (for one policy when `policy` is given); SpecError with
    every problem, including case files for a policy no spec defines."""
    ids = {s.id for s in specs}
    criteria = {s.id: {c.id for v in s.versions for c in v.criteria} for s in specs}
    suites, issues = [], []
    for path in find_case_files(paths):
        try:
            suite = load_case_file(path, criteria)
        except SpecError as exc:
            issues.extend(exc.issues)
            continue
        if suite.policy not in ids:
            issues.append(
                SpecIssue(
                    suite.path, 1, 1, "policy", f"no spec has the id '{suite.policy}' (known: {', '.join(sorted(ids))})"
                )
            )
        suites.append(suite)
    if issues:
        raise SpecError(issues)
    if policy is not None:
        suites = [s for s in suites if s.policy == policy]
    return suites


def run(
    suites: Sequence[CaseFile],
    specs: Sequence[m.PolicySpec],
    rego_dir: Path,
    *,
    rego_coverage: bool = False,
    progress: Callable[[Iterable], Iterable] = lambda xs: xs,
) -> Report:
    """Every case in one `opa eval`. `rego_coverage` adds OPA's line coverage of the
    generated modules to the report; it makes the evaluation about three times slower, and
    the criteria coverage that gates the run does not need it (it reads the decisions)."""
    started = time.perf_counter()
    cases = [c for s in suites for c in s.cases]
    report = Report()
    if not cases:
        return report
    out = opa.eval_batch(rego_dir, BATCH_QUERY, {"requests": [c.request for c in cases]}, coverage=rego_coverage)
    decisions = out["value"]
    if len(decisions) != len(cases):
        raise opa.OpaError(f"OPA returned {len(decisions)} decisions for {len(cases)} cases")
    report.opa_coverage = out.get("coverage", {})
    for case, decision in progress(list(zip(cases, decisions, strict=True))):
        report.results.append(CaseResult(case, decision, tuple(mismatches(case.expect, decision))))
    report.coverage = criteria_coverage(suites, specs, report.results)
    report.seconds = time.perf_counter() - started
    return report


def criteria_coverage(
    suites: Sequence[CaseFile], specs: Sequence[m.PolicySpec], results: Sequence[CaseResult]
) -> list[CriterionCoverage]:
    """For each criterion of each policy the suites cover: the statuses the decisions of the
    policy's current version showed (earlier versions reuse criterion ids, so their
    decisions are not counted here; the cases and the differential test cover them)."""
    by_id = {s.id: s for s in specs}
    current = {content_version(s) for s in specs}
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in results:
        d = r.decision
        if isinstance(d, dict) and isinstance(d.get("policy"), dict) and isinstance(d.get("criteria"), dict):
            if d["policy"].get("version") not in current:
                continue
            for cid, status in d["criteria"].items():
                seen[(d["policy"].get("id"), cid)].add(status)
    rows = []
    for policy_id in sorted({s.policy for s in suites}):
        spec = by_id[policy_id]
        waived: dict[str, dict[str, str]] = defaultdict(dict)
        for w in spec.coverage_waivers:
            waived[w.criterion][w.status] = w.reason
        for suite in suites:
            if suite.policy == policy_id:
                for waiver in suite.waivers:
                    waived[waiver.criterion][waiver.status] = waiver.reason
        for c in spec.criteria:
            rows.append(CriterionCoverage(policy_id, c.id, frozenset(seen[(policy_id, c.id)]), dict(waived[c.id])))
    return rows
