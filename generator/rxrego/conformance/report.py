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


def write_junit(report: Report, path: Path) -> None:
    suites = ET.Element("testsuites", name="rxrego conformance", tests=str(len(report.results)),
                        failures=str(len(report.failed)), time=f"{report.seconds:.3f}")
    by_file: dict[str, list] = {}
    for r in report.results:
        by_file.setdefault(r.case.file, []).append(r)
    for file, results in by_file.items():
        failures = sum(1 for r in results if not r.passed)
        suite = ET.SubElement(suites, "testsuite", name=file, tests=str(len(results)), failures=str(failures))
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=file, name=r.case.name, file=file, line=str(r.case.line))
            ET.SubElement(case, "system-out").text = r.case.proves
            if not r.passed:
                failure = ET.SubElement(case, "failure", message="; ".join(p.splitlines()[0] for p in r.problems))
                failure.text = "\n".join(r.problems) + "\n\nactual decision:\n" + json.dumps(r.decision, indent=2, ensure_ascii=False)
    gaps = report.coverage_gaps
    if report.coverage:
        suite = ET.SubElement(suites, "testsuite", name="criteria coverage", tests=str(len(report.coverage)), failures=str(len(gaps)))
        for row in report.coverage:
            case = ET.SubElement(suite, "testcase", classname=row.policy, name=row.criterion)
            if row.lacking:
                ET.SubElement(case, "failure", message=f"never seen {', '.join(row.lacking)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
