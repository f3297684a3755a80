"""Running golden cases on the real OPA binary: every case in one `opa eval` process."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
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
    requests = {"requests": [c.request for c in cases]}
    out = _eval_trimmed(suites, specs, Path(rego_dir), requests, rego_coverage)
    if out is None:
        out = opa.eval_batch(rego_dir, BATCH_QUERY, requests, coverage=rego_coverage)
    decisions = out["value"]
    if len(decisions) != len(cases):
        raise opa.OpaError(f"OPA returned {len(decisions)} decisions for {len(cases)} cases")
    report.opa_coverage = out.get("coverage", {})
    for case, decision in progress(list(zip(cases, decisions, strict=True))):
        report.results.append(CaseResult(case, decision, tuple(mismatches(case.expect, decision))))
    report.coverage = criteria_coverage(suites, specs, report.results)
    report.seconds = time.perf_counter() - started
    return report


# The batch query that also says which policy version the router sent each request to
# (data.rxrego._in_force, router.rego; [] when it sent it to none).
# Each as [[decision] or [] when undefined, [routed version] or []].
ROUTED_QUERY = (
    "[[d, p] | some r in input.requests; "
    "[d, p] := [[x | x := data.rxrego.decision], [x | x := data.rxrego._in_force]] with input as r]"
)
# How the router reads a policy version: only the one it routed the request to.
_POLICY_READ = re.compile(r"data\.rxrego\.policies\b(\[_in_force\])?")


def _eval_trimmed(
    suites: Sequence[CaseFile], specs: Sequence[m.PolicySpec], rego_dir: Path, requests: dict, coverage: bool
) -> dict | None:
    """The batch decided over the data form's tree (`rxrego bundle --form data`) with only the
    catalog entries of the policies the suites cover (every version of each), instead of the
    whole catalog: OPA parses every entry it is given, which at 5,000 policies costs more than
    deciding the golden cases (BENCHMARKS.md, "The data form at 5,000 policies"). What is
    proved does not change: the router runs with all its tables, and a request decides by
    the one version it is routed to (and that version's alias target, a version of the same
    policy); each case's routed version is returned with its decision and, were any outside
    the entries given, None is returned and the caller decides the batch on the whole tree.
    The router's data file, JSON under YAML comments, is given to OPA as JSON (the same data;
    YAML costs OPA several times longer to read). None, too, when `rego_dir` is not a data
    form tree, its files are not in the layout rxrego.catalog writes, or the router reads a
    policy version some other way, or `coverage` is asked for (it names the files OPA read)."""
    from .. import catalog
    from .. import generate as gen

    if coverage:
        return None  # OPA's line coverage names the files of the tree it was given
    data_file = rego_dir / catalog.DATA_PATH
    router = rego_dir / gen.ROUTER_PATH
    if not data_file.is_file() or not router.is_file():
        return None
    reads = _POLICY_READ.findall(router.read_text(encoding="utf-8"))
    if not reads or any(r != "[_in_force]" for r in reads):
        return None
    lines = catalog.entry_lines(data_file.read_text(encoding="utf-8"))
    if lines is None:
        return None
    covered = {s.policy for s in suites}
    wanted = {v.module_package for s in specs if s.id in covered for v in s.versions}
    chosen = {k: lines[k] for k in wanted if k in lines}
    for line in list(chosen.values()):
        target = json.loads(line[line.index(":") + 1 :]).get("alias_of")
        if isinstance(target, str) and target in lines:
            chosen[target] = lines[target]
    with tempfile.TemporaryDirectory(prefix="rxrego-conformance-") as tmp:
        tree = Path(tmp)
        for path in sorted(rego_dir.rglob("*")):
            if not path.is_file():
                continue
            rel = path.relative_to(rego_dir)
            target = tree / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel.as_posix() == catalog.DATA_PATH:
                target.write_text(catalog.entries_text(chosen), encoding="utf-8")
            elif rel.as_posix() == gen.ROUTING_PATH:
                text = path.read_text(encoding="utf-8")
                body = "".join(x for x in text.splitlines(keepends=True) if not x.startswith("#"))
                try:
                    json.loads(body)
                except ValueError:
                    target.write_text(text, encoding="utf-8")
                else:
                    target.with_suffix(".json").write_text(body, encoding="utf-8")
            else:
                shutil.copyfile(path, target)
        out = opa.eval_batch(tree, ROUTED_QUERY, requests, coverage=coverage)
    pairs = out["value"]
    if (
        not isinstance(pairs, list)
        or len(pairs) != len(requests["requests"])
        or any(not isinstance(p, list) or len(p) != 2 for p in pairs)
    ):
        raise opa.OpaError("opa eval returned no [decision, routed version] pair for each request")
    if any(name not in chosen for _, routed in pairs for name in routed) or any(len(d) != 1 for d, _ in pairs):
        return None  # routed outside the entries given (or undecided): decide over the whole tree
    out["value"] = [d[0] for d, _ in pairs]
    return out


def criteria_coverage(
    suites: Sequence[CaseFile], specs: Sequence[m.PolicySpec], results: Sequence[CaseResult]
) -> list[CriterionCoverage]:
    """For each criterion of each policy the suites cover: the statuses the decisions of the
    policy's current version showed (earlier versions reuse criterion ids, so their
    decisions are not counted here; the cases and the differential test cover them)."""
    by_id = {s.id: s for s in specs}
    # The current version of each policy a decision names, hashed once and only for those (a
    # catalog's other thousands of specs are not hashed for a suite that never routes there).
    current: dict[object, str | None] = {}

    def current_version(policy_id: object) -> str | None:
        if policy_id not in current:
            spec = by_id.get(policy_id) if isinstance(policy_id, str) else None
            current[policy_id] = content_version(spec) if spec is not None else None
        return current[policy_id]

    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in results:
        d = r.decision
        if isinstance(d, dict) and isinstance(d.get("policy"), dict) and isinstance(d.get("criteria"), dict):
            version = d["policy"].get("version")
            if version is None or version != current_version(d["policy"].get("id")):
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
