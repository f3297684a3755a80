"""Showing a conformance run: failing cases with their diffs, coverage tables, JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .runner import STATUSES, Report


def failure_text(result) -> str:
    c = result.case
    lines = [f"FAIL {c.file}:{c.line} {c.name}", f"     proves: {c.proves}"]
    lines += [f"     {p}".replace("\n", "\n     ") for p in result.problems]
    return "\n".join(lines)


def coverage_table(report: Report) -> str:
    """Per policy and criterion: which of met / unmet / unknown the suite showed."""
    if not report.coverage:
        return ""
    width = max(len(c.criterion) for c in report.coverage)
    out = []
    policy = None
    for row in report.coverage:
        if row.policy != policy:
            policy = row.policy
            out.append(f"criteria coverage: {policy}")
            out.append(f"  {'criterion':<{width}}  " + "  ".join(f"{s:<7}" for s in STATUSES))
        cells = []
        for s in STATUSES:
            cells.append("seen   " if s in row.seen else ("waived " if s in row.waived else "MISSING"))
        out.append(f"  {row.criterion:<{width}}  " + "  ".join(cells))
    gaps = report.coverage_gaps
    if gaps:
        out.append(f"  {len(gaps)} criterion/criteria lack a status; add cases or a waiver with a reason")
    return "\n".join(out)


def opa_coverage_lines(report: Report) -> str:
    cov = report.opa_coverage or {}
    files = cov.get("files", {})
    if not files:
        return ""
    out = [f"opa coverage of the generated modules: {cov.get('coverage', 0):.1f}% of lines evaluated"]
    for path in sorted(files):
        out.append(f"  {files[path].get('coverage', 0):5.1f}%  {path}")
    return "\n".join(out)


def summary(report: Report) -> str:
    passed = len(report.results) - len(report.failed)
    return f"{passed} passed, {len(report.failed)} failed"


def junit_tree(report: Report) -> ET.Element:
    """The JUnit XML document of a run: one <testsuite> per case file with one <testcase> per
    golden case, and one "criteria coverage" <testsuite> per policy with one <testcase> per
    criterion, failing when the criterion is a coverage gap (a status never seen nor waived).

    Counts are the sums over every suite, so the root says `failures="3"` when three
    criteria lack a status even if every case passed: the run failed, and a dashboard must
    show it. The shape is the JUnit XML format CI servers read (Ant's formatter, the Jenkins
    JUnit plugin, GitLab, GitHub's JUnit-report actions): testsuites > testsuite (name,
    tests, failures, errors, skipped, time) > testcase (name, classname) > failure / system-out.
    Where a case is defined (file:line) and what it proves go into its system-out, since
    the format has no attribute for either.
    """
    suites: list[tuple[ET.Element, int, int]] = []

    def suite(name: str, seconds: float | None = None) -> ET.Element:
        el = ET.Element("testsuite", name=name)
        if seconds is not None:
            el.set("time", f"{seconds:.3f}")
        return el

    by_file: dict[str, list] = {}
    for r in report.results:
        by_file.setdefault(r.case.file, []).append(r)
    for file, results in by_file.items():
        el = suite(file)
        for r in results:
            case = ET.SubElement(el, "testcase", name=r.case.name, classname=file)
            if not r.passed:
                failure = ET.SubElement(
                    case, "failure", message="; ".join(p.splitlines()[0] for p in r.problems), type="decision mismatch"
                )
                failure.text = (
                    "\n".join(r.problems)
                    + "\n\nactual decision:\n"
                    + json.dumps(r.decision, indent=2, ensure_ascii=False)
                )
            ET.SubElement(case, "system-out").text = f"{file}:{r.case.line}\nproves: {r.case.proves}"
        suites.append((el, len(results), sum(1 for r in results if not r.passed)))
    by_policy: dict[str, list] = {}
    for row in report.coverage:
        by_policy.setdefault(row.policy, []).append(row)
    for policy, rows in by_policy.items():
        el = suite(f"criteria coverage: {policy}")
        for row in rows:
            case = ET.SubElement(
                el,
                "testcase",
                name=f"{row.criterion} seen met, unmet and unknown",
                classname=f"{policy} criteria coverage",
            )
            if row.lacking:
                ET.SubElement(
                    case, "failure", message=f"never seen {', '.join(row.lacking)}", type="coverage gap"
                ).text = (
                    f"criterion {row.criterion} of {policy} was never seen {', '.join(row.lacking)}: "
                    "add golden cases that show it, or waive the status with a reason"
                )
            waived = ", ".join(f"{status} ({reason})" for status, reason in sorted(row.waived.items()))
            if waived:
                ET.SubElement(case, "system-out").text = f"waived: {waived}"
        suites.append((el, len(rows), sum(1 for r in rows if r.lacking)))
    tests = sum(n for _, n, _ in suites)
    failures = sum(f for _, _, f in suites)
    root = ET.Element(
        "testsuites",
        name="rxrego conformance",
        tests=str(tests),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{report.seconds:.3f}",
    )
    for el, n, f in suites:
        el.set("tests", str(n))
        el.set("failures", str(f))
        el.set("errors", "0")
        el.set("skipped", "0")
        # The format wants a suite's attributes before its cases; ElementTree keeps them in order set.
        root.append(el)
    return root


def write_junit(report: Report, path: Path) -> None:
    """Write `junit_tree(report)` to `path` (UTF-8, with an XML declaration), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(junit_tree(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
