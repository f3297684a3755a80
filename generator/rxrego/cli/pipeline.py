"""The pipeline, one command a stage: check, generate, lint, conformance, run; and doctor.

Input mistakes end in a message naming the file, line and field and exit 2; a check that
fails exits 1 (see rxrego.cli.errors). A traceback here is a bug.
"""

from __future__ import annotations

import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import click

from .. import generate as gen
from .. import lint as lint_mod
from .. import opa, project, toolchain
from ..conformance import report as rep
from ..conformance import runner
from ..conformance.cases import case_placeholders
from ..spec.errors import SpecError
from ..spec.loader import find_specs, load_specs, noc_warnings
from .errors import REPORTED, CommandError, ExitCode, as_command_error, fail, spec_error

# The standard folder names. Inside a policy repository (a folder holding rxrego.toml, found
# from the working directory upwards) every option defaulting to one of them defaults to the
# repository's setting instead (see rxrego.cli.main and rxrego.project.command_defaults).
DEFAULT_SPECS = project.DEFAULT_PATHS["specs"]
DEFAULT_OUT = project.DEFAULT_PATHS["rego"]
DEFAULT_CASES = project.DEFAULT_PATHS["cases"]


def package_version() -> str:
    """The installed rxrego's version, or "unknown" when run from a source tree."""
    try:
        return metadata.version("rxrego")
    except metadata.PackageNotFoundError:
        return "unknown"


def default_path(setting: str) -> str:
    """The repository's folder for a [paths] setting ("specs", "cases", "rego", "junit") as
    typed from the working directory; the standard name outside a repository."""
    found = project.find()
    return found.shown(setting) if found else project.DEFAULT_PATHS[setting]


def _outside_hint() -> str:
    """A hint for a missing default folder: name rxrego init when there is no repository."""
    return (
        ""
        if project.find_root()
        else f" (and no {project.CONFIG_NAME} here or above: run `rxrego init` to start a policy repository)"
    )


def load_or_exit(paths: tuple[str, ...] | list[str], consequence: str = "nothing was generated"):
    """Every spec under `paths`, or every issue printed, what it means for the command
    (`consequence`), and exit 2."""
    files = find_specs(paths)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}{_outside_hint()}")
    if not files:
        fail(f"no spec files (*.yaml, *.yml) under {', '.join(paths)}")
    try:
        return load_specs(files)
    except SpecError as exc:
        raise spec_error(exc, consequence=consequence) from None


def _set_summary(r) -> str:
    """'initial 3 mo', or for a set with indications 'initial: cml 7 mo, ph_all 12 mo'."""

    def months(d) -> str:
        if d is None:
            return "no end"
        if d.weeks is not None:
            return f"{d.weeks} wk"
        return f"{d.months} mo" if d.months is not None else f"plan year from {d.plan_year_start}"

    if not r.indications:
        return f"{r.name} {r.duration_months} mo"
    return f"{r.name}: " + ", ".join(f"{i.id} {months(r.duration_of(i))}" for i in r.indications)


@click.command()
def doctor() -> None:
    """Show the Python, repository, OPA and Regal rxrego would use, and how to fix what is missing.

    OPA and Regal are looked up in $RXREGO_OPA / $RXREGO_REGAL, then the tools folder
    ($RXREGO_TOOLS, or the repository's, .tools/bin by default), then PATH, and must report
    the versions pinned in the installed rxrego (its toolchain.env).
    """
    ok = True
    click.echo(f"rxrego   {package_version()}  {Path(toolchain.__file__).resolve().parent}")
    click.echo(f"python   {platform.python_version()}  {sys.executable}")
    try:
        found = project.find()
    except project.ProjectError as exc:
        found, ok = None, False
        click.secho(f"project  BROKEN  {exc}", fg="red")
    else:
        if found is None:
            click.echo(f"project  none: no {project.CONFIG_NAME} here or above (run `rxrego init` to start one)")
        else:
            click.echo(f"project  {found.root}  (payer: {found.payer})")
    tools = toolchain.tools_dir() if ok else None
    click.echo(f"tools    {tools / 'bin' if tools else 'none (no repository and no $RXREGO_TOOLS)'}")
    click.echo(f"regal    config {toolchain.regal_config()}")
    for name in ("opa", "regal"):
        want = toolchain.pinned_version(name)
        try:
            tool = toolchain.find(name)
            click.echo(f"{name:<8} {tool.version}  {tool.path}  (from {tool.source}; pinned v{want})")
        except toolchain.ToolError as exc:
            ok = False
            click.secho(f"{name:<8} MISSING  {exc}", fg="red")
    if not ok:
        sys.exit(ExitCode.INPUT)
    click.secho("all tools present at their pinned versions", fg="green")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--wording",
    is_flag=True,
    help="Also flag criteria whose wording names a number or count the encoding does not have (exit 1).",
)
def check(paths: tuple[str, ...], wording: bool) -> None:
    """Validate policy specs (default: policy_source/) and report every error.

    Each error names the file, line and column, the field path, what was expected and what
    was found; every error of every file is reported in one run. Exits 0 only when every
    spec is valid (2 otherwise).

    With --wording, each criterion's text is also read against its encoding: a count
    ("2 of the following", "at least ONE") or a number ("18 years", "within 30 days") that
    the wording names and the encoding does not have (at_least: 1, min_years: 1) is listed
    with its line, and the exit status is 1.
    """
    specs = load_or_exit(paths or (default_path("specs"),), "fix them and run rxrego check again")
    for spec in specs:
        n = len(spec.criteria)
        sets = ", ".join(_set_summary(r) for r in spec.requirements)
        dates = ", ".join(v.effective_date for v in spec.versions)
        click.echo(f"ok  {spec.source}  {spec.id}  {n} criteria  ({sets})  versions effective {dates}")
    click.secho(f"{len(specs)} spec(s) valid", fg="green")
    for warning in (w for spec in specs for w in noc_warnings(spec)):
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if wording:
        from ..author.wording import wording_issues

        found = [issue for spec in specs for issue in wording_issues(spec)]
        for issue in found:
            click.echo(str(issue))
        if found:
            fail(
                f"{len(found)} criterion wording(s) name a number or count the encoding does not have", ExitCode.FAILED
            )
        click.secho("wording: every number and count a criterion names is in its encoding", fg="green")


@click.command()
@click.option(
    "--specs", "specs_dir", default=DEFAULT_SPECS, show_default=True, type=click.Path(), help="Folder of policy specs."
)
@click.option(
    "--out", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False), help="Folder to write Rego to."
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 and name each stale, missing or extra file if the output differs from what the specs produce.",
)
def generate(specs_dir: str, out: str, check_only: bool) -> None:
    """Generate Rego v1 from the specs: one module per policy, the shared library and the router.

    Everything is rendered, formatted with `opa fmt` and checked with `opa check --strict` in
    a scratch folder before the output folder is replaced in one step, so a failure leaves
    it as it was. The same specs always give the same bytes.
    """
    specs = load_or_exit((specs_dir,))
    label = gen.project_label(specs_dir) + "/"
    files = gen.build(specs, label)
    out_path = Path(out)
    drift = gen.compare(files, out_path)
    if check_only:
        if drift.clean:
            click.secho(f"{out}/ is current: {len(files)} file(s) match the {len(specs)} spec(s)", fg="green")
            return
        for path in drift.stale:
            click.echo(f"stale    {out}/{path}")
        for path in drift.missing:
            click.echo(f"missing  {out}/{path}")
        for path in drift.extra:
            click.echo(f"extra    {out}/{path}")
        fail(f"{out}/ differs from what {label} produces: run `rxrego generate`", ExitCode.FAILED)
    if drift.clean:
        click.echo(f"{out}/ already current ({len(files)} file(s))")
        return
    gen.write(files, out_path)
    changed = len(drift.stale) + len(drift.missing) + len(drift.extra)
    click.secho(f"wrote {out}/: {len(files)} file(s), {changed} changed", fg="green")


@click.command()
@click.option(
    "--out",
    "rego_dir",
    default=DEFAULT_OUT,
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder of Rego to lint.",
)
def lint(rego_dir: str) -> None:
    """Run `opa fmt -l`, `opa check --strict` and `regal lint` over the generated Rego, and
    `opa test --coverage` over the shared library (its line coverage must reach 95%)."""
    results = lint_mod.run_all(Path(rego_dir))
    for r in results:
        mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {r.name}")
        if not r.ok:
            click.echo(r.output.rstrip())
    if not all(r.ok for r in results):
        sys.exit(ExitCode.FAILED)


def _conformance(cases_paths, specs_dir, rego_dir, policy, junit, quiet, rego_coverage=False, specs=None):
    """Run the golden cases; print failures, coverage and the summary. Returns the report.
    `specs`: the specs of `specs_dir` when the caller has loaded them already."""
    if specs is None:
        specs = load_or_exit((specs_dir,))
    try:
        suites = runner.load_suites(cases_paths, specs, policy)
    except SpecError as exc:
        raise spec_error(exc, "case file(s)") from None
    if policy is not None and not suites:
        fail(f"no case file is for policy '{policy}' (known: {', '.join(sorted(s.id for s in specs))})")
    n = sum(len(s.cases) for s in suites)
    click.echo(f"running {n} case(s) from {len(suites)} file(s) in one OPA process ...", err=True)

    def progress(items):
        if len(items) < 200 or not sys.stderr.isatty():
            return items
        return click.progressbar(items, label="comparing", file=sys.stderr)

    try:
        report = runner.run(
            suites, specs, Path(rego_dir), rego_coverage=rego_coverage, progress=lambda xs: _iterate(progress(xs))
        )
    except (opa.OpaError, OSError) as exc:
        fail(f"conformance could not run: {exc}")
    for result in report.failed:
        click.secho(rep.failure_text(result), fg="red")
    if not quiet:
        click.echo(rep.coverage_table(report))
        click.echo(rep.opa_coverage_lines(report))
    if junit:
        rep.write_junit(report, Path(junit))
        click.echo(f"JUnit report: {junit}")
    if report.coverage_gaps:
        click.secho(
            f"criteria coverage incomplete: {len(report.coverage_gaps)} criterion/criteria lack a status", fg="red"
        )
    click.secho(rep.summary(report), fg="green" if report.ok else "red")
    return report


def _iterate(items):
    if hasattr(items, "__enter__"):
        with items as bar:
            yield from bar
    else:
        yield from items


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--policy", help="Run only the cases of this policy id (e.g. fep-5.21.100).")
@click.option("--junit", type=click.Path(dir_okay=False), help="Also write a JUnit XML report here, for CI systems.")
@click.option(
    "--specs", "specs_dir", default=DEFAULT_SPECS, show_default=True, type=click.Path(), help="Folder of policy specs."
)
@click.option(
    "--rego", "rego_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(), help="Folder of generated Rego."
)
@click.option("-q", "--quiet", is_flag=True, help="Print failures and the summary only.")
@click.option(
    "--rego-coverage",
    is_flag=True,
    help="Also report OPA's line coverage of the generated modules (opa eval --coverage; about 3x slower).",
)
def conformance(paths, policy, junit, specs_dir, rego_dir, quiet, rego_coverage) -> None:
    """Run the golden cases (default: conformance/) on the real OPA binary.

    \b
    All cases go through ONE `opa eval`, each decided as data.rxrego.decision
    (the sidecar's POST /v1/data/rxrego/decisions caps a batch; this run does not). A case
    passes when every key its `expect` gives matches the decision (objects by the keys given, lists and values
    exactly). The run also fails when a criterion was never seen met, unmet and unknown,
    unless the spec or case file waives that status with a reason. Exit 0 only when green.
    """
    if not _conformance(paths or (default_path("cases"),), specs_dir, rego_dir, policy, junit, quiet, rego_coverage).ok:
        sys.exit(ExitCode.FAILED)


@click.command()
@click.option(
    "--junit",
    type=click.Path(dir_okay=False),
    default=project.DEFAULT_PATHS["junit"],
    show_default=True,
    help="Where the conformance JUnit report goes.",
)
def run(junit: str) -> None:
    """The main job end to end: check specs, generate Rego, lint it, run conformance.

    Works on the policy repository around the working directory (its rxrego.toml names the
    folders). Stops at the first failing stage and ends with a one-screen summary. A spec
    or golden-case file that still holds a TODO placeholder stops it at check.
    """
    repo = project.require()
    specs_dir, rego_dir, cases_dir = repo.shown("specs"), repo.shown("rego"), repo.shown("cases")
    stages: list[tuple[str, str]] = []
    t0 = time.perf_counter()

    def summary(ok: bool) -> None:
        done = {name for name, _ in stages}
        click.echo("")
        click.secho("rxrego run: summary", bold=True)
        for name, text in stages:
            click.echo(f"  {name:<12} {text}")
        for name in ("check", "generate", "lint", "conformance"):
            if name not in done:
                click.echo(f"  {name:<12} not run")
        click.echo(f"  {'time':<12} {time.perf_counter() - t0:.1f} s")
        click.secho("  result       " + ("green" if ok else "FAILED"), fg="green" if ok else "red")

    def stopped(stage: str, exc: Exception) -> NoReturn:
        # The stage's own error first (every issue, named by file, line and field), then
        # the summary, so a red run still ends with the one-screen view.
        err = exc if isinstance(exc, CommandError) else as_command_error(exc)
        err.show()
        stages.append((stage, "FAILED: " + err.format_message()))
        summary(False)
        sys.exit(err.exit_code)

    try:
        specs = load_or_exit((specs_dir,))
        todo = case_placeholders([cases_dir]) if Path(cases_dir).is_dir() else []
        if todo:  # an unfinished case file stops the run before anything is generated
            raise spec_error(
                SpecError(todo), "golden-case file(s)", consequence="replace each TODO from the policy document"
            )
    except CommandError as exc:
        stopped("check", exc)
    stages.append(("check", f"{len(specs)} spec(s) valid"))
    try:
        files = gen.build(specs, gen.project_label(specs_dir) + "/")
        drift = gen.compare(files, Path(rego_dir))
        if not drift.clean:
            gen.write(files, Path(rego_dir))
    except REPORTED as exc:
        stopped("generate", exc)
    stages.append(
        (
            "generate",
            f"{len(files)} file(s) (Rego and routing data) in {rego_dir}/"
            + (" (updated)" if not drift.clean else " (current)"),
        )
    )
    # rego/ now holds exactly what build() formatted and checked: Regal and the tests are left.
    results = lint_mod.run_all(Path(rego_dir), built=True)
    for r in results:
        if not r.ok:
            click.echo(r.output)
    stages.append(("lint", ", ".join(("ok " if r.ok else "FAIL ") + r.name for r in results)))
    green = all(r.ok for r in results)
    report = _conformance((cases_dir,), specs_dir, rego_dir, None, junit, quiet=False, rego_coverage=True, specs=specs)
    ok = report.ok and green
    covered = sum(1 for row in report.coverage if not row.lacking)
    stages.append(
        (
            "conformance",
            f"{rep.summary(report)}; {covered}/{len(report.coverage)} criteria seen met, unmet and unknown; JUnit in {junit}",
        )
    )
    summary(ok)
    if not ok:
        sys.exit(ExitCode.FAILED)


COMMANDS = (check, generate, lint, conformance, run, doctor)
