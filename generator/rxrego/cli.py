"""The rxrego command line: one subcommand per capability.

Input mistakes end in a message naming the file, line and field and a non-zero exit; a
traceback here is a bug.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

import click

from . import generate as gen
from . import opa, toolchain
from .spec.errors import SpecError
from .spec.loader import find_specs, load_specs

DEFAULT_SPECS = "policy_source"
DEFAULT_OUT = "rego"

# Exit statuses: 0 ok, 1 the check failed (stale Rego, failing cases, lint), 2 bad input or
# a missing tool.
EXIT_FAILED = 1
EXIT_INPUT = 2


def _version() -> str:
    try:
        return metadata.version("rxrego")
    except metadata.PackageNotFoundError:
        return "unknown"


def fail(message: str, code: int = EXIT_INPUT) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(code)


def load_or_exit(paths: tuple[str, ...] | list[str], consequence: str = "nothing was generated"):
    """Every spec under `paths`, or every issue printed, what it means for the command
    (`consequence`), and exit 2."""
    files = find_specs(paths)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    if not files:
        fail(f"no spec files (*.yaml, *.yml) under {', '.join(paths)}")
    try:
        return load_specs(files)
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        n_files = len({i.file for i in exc.issues})
        fail(f"{len(exc.issues)} error(s) in {n_files} spec file(s); {consequence}")


def with_tool_errors(fn):
    """Turn a missing or wrong-version tool into a clear message and exit 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except toolchain.ToolError as exc:
            fail(str(exc))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_version(), "--version", prog_name="rxrego")
def main() -> None:
    """rxrego: drug prior-authorization policies as code, compiled to Open Policy Agent.

    \b
    The pipeline, one command a stage:
      rxrego check          validate the specs in policy_source/
      rxrego generate       write Rego v1 to rego/ (--check: is rego/ current?)
      rxrego lint           opa fmt, opa check --strict and Regal over rego/; opa test of lib
      rxrego conformance    golden cases in conformance/ on the real OPA binary
      rxrego run            all of the above, with a summary (what `make run` does)

    \b
    Serving decisions:
      rxrego bundle         the OPA bundle of rego/ (reproducible, optionally signed)
      rxrego serve          the real `opa run --server` on 127.0.0.1 with the bundle
      rxrego decide         one decision, locally or from a sidecar
      rxrego deploy-config  OPA configuration for sidecars fed by a bundle server

    \b
    The policy author's desk:
      rxrego render         the spec as a readable document (md or html)
      rxrego explain        a decision and its criteria tree, with the facts read
      rxrego diff           what changed between two spec versions, and which cases
      rxrego questionnaire  a FHIR R4 Questionnaire of the facts the policy needs
      rxrego new            a new spec skeleton and golden-case file

    Run `rxrego COMMAND --help` for each command's options; `rxrego doctor` checks the tools.
    """


@main.command()
def doctor() -> None:
    """Show the Python, OPA and Regal this project would use, and how to fix what is missing.

    OPA and Regal are looked up in $RXREGO_OPA / $RXREGO_REGAL, then the project's tools
    folder (.tools/bin), then PATH, and must report the versions pinned in toolchain.env.
    """
    ok = True
    click.echo(f"rxrego   {_version()}")
    click.echo(f"python   {platform.python_version()}  {sys.executable}")
    root = toolchain.project_root()
    click.echo(f"project  {root if root else 'not found (no toolchain.env above the working directory)'}")
    for name in ("opa", "regal"):
        want = toolchain.pinned_version(name)
        try:
            tool = toolchain.find(name)
            click.echo(f"{name:<8} {tool.version}  {tool.path}  (from {tool.source}; pinned v{want})")
        except toolchain.ToolError as exc:
            ok = False
            click.secho(f"{name:<8} MISSING  {exc}", fg="red")
    if not ok:
        sys.exit(EXIT_INPUT)
    click.secho("all tools present at their pinned versions", fg="green")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
def check(paths: tuple[str, ...]) -> None:
    """Validate policy specs (default: policy_source/) and report every error.

    Each error names the file, line and column, the field path, what was expected and what
    was found. Exits 0 only when every spec is valid.
    """
    specs = load_or_exit(paths or (DEFAULT_SPECS,), "fix them and run rxrego check again")
    for spec in specs:
        n = len(spec.criteria)
        sets = ", ".join(f"{r.name} {r.duration_months} mo" for r in spec.requirements)
        dates = ", ".join(v.effective_date for v in spec.versions)
        click.echo(f"ok  {spec.source}  {spec.id}  {n} criteria  ({sets})  versions effective {dates}")
    click.secho(f"{len(specs)} spec(s) valid", fg="green")


@main.command()
@click.option("--specs", "specs_dir", default=DEFAULT_SPECS, show_default=True, type=click.Path(), help="Folder of policy specs.")
@click.option("--out", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False), help="Folder to write Rego to.")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 and name each stale, missing or extra file if the output differs from what the specs produce.")
@with_tool_errors
def generate(specs_dir: str, out: str, check_only: bool) -> None:
    """Generate Rego v1 from the specs: one module per policy, the shared library and the router.

    Everything is rendered, formatted with `opa fmt` and checked with `opa check --strict` in
    a scratch folder before the output folder is replaced in one step, so a failure leaves
    it as it was. The same specs always give the same bytes.
    """
    specs = load_or_exit((specs_dir,))
    label = gen.project_label(specs_dir) + "/"
    try:
        files = gen.build(specs, label)
    except gen.GenerateError as exc:
        fail(str(exc))
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
        fail(f"{out}/ differs from what {label} produces: run `rxrego generate`", EXIT_FAILED)
    if drift.clean:
        click.echo(f"{out}/ already current ({len(files)} file(s))")
        return
    gen.write(files, out_path)
    changed = len(drift.stale) + len(drift.missing) + len(drift.extra)
    click.secho(f"wrote {out}/: {len(files)} file(s), {changed} changed", fg="green")


@main.command()
@click.option("--out", "rego_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(exists=True, file_okay=False), help="Folder of Rego to lint.")
@with_tool_errors
def lint(rego_dir: str) -> None:
    """Run `opa fmt -l`, `opa check --strict` and `regal lint` over the generated Rego, and
    `opa test --coverage` over the shared library (its line coverage must reach 95%)."""
    from . import lint as lint_mod

    results = lint_mod.run_all(Path(rego_dir))
    for r in results:
        mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {r.name}")
        if not r.ok:
            click.echo(r.output.rstrip())
    if not all(r.ok for r in results):
        sys.exit(EXIT_FAILED)


DEFAULT_CASES = "conformance"


def _conformance(cases_paths, specs_dir, rego_dir, policy, junit, quiet, rego_coverage=False):
    """Run the golden cases; print failures, coverage and the summary. Returns the report."""
    from .conformance import report as rep
    from .conformance import runner

    specs = load_or_exit((specs_dir,))
    try:
        suites = runner.load_suites(cases_paths, specs, policy)
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        fail(f"{len(exc.issues)} error(s) in the case files")
    if policy is not None and not suites:
        fail(f"no case file is for policy '{policy}' (known: {', '.join(sorted(s.id for s in specs))})")
    n = sum(len(s.cases) for s in suites)
    click.echo(f"running {n} case(s) from {len(suites)} file(s) in one OPA process ...", err=True)

    def progress(items):
        if len(items) < 200 or not sys.stderr.isatty():
            return items
        return click.progressbar(items, label="comparing", file=sys.stderr)

    try:
        report = runner.run(suites, specs, Path(rego_dir), rego_coverage=rego_coverage, progress=lambda xs: _iterate(progress(xs)))
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
        click.secho(f"criteria coverage incomplete: {len(report.coverage_gaps)} criterion/criteria lack a status", fg="red")
    click.secho(rep.summary(report), fg="green" if report.ok else "red")
    return report


def _iterate(items):
    if hasattr(items, "__enter__"):
        with items as bar:
            yield from bar
    else:
        yield from items


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--policy", help="Run only the cases of this policy id (e.g. fep-5.21.100).")
@click.option("--junit", type=click.Path(dir_okay=False), help="Also write a JUnit XML report here, for CI systems.")
@click.option("--specs", "specs_dir", default=DEFAULT_SPECS, show_default=True, type=click.Path(), help="Folder of policy specs.")
@click.option("--rego", "rego_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(), help="Folder of generated Rego.")
@click.option("-q", "--quiet", is_flag=True, help="Print failures and the summary only.")
@click.option("--rego-coverage", is_flag=True, help="Also report OPA's line coverage of the generated modules (opa eval --coverage; about 3x slower).")
@with_tool_errors
def conformance(paths, policy, junit, specs_dir, rego_dir, quiet, rego_coverage) -> None:
    """Run the golden cases (default: conformance/) on the real OPA binary.

    \b
    All cases go through ONE `opa eval` of data.rxrego.decisions. A case passes when every
    key its `expect` gives matches the decision (objects by the keys given, lists and values
    exactly). The run also fails when a criterion was never seen met, unmet and unknown,
    unless the spec or case file waives that status with a reason. Exit 0 only when green.
    """
    if not _conformance(paths or (DEFAULT_CASES,), specs_dir, rego_dir, policy, junit, quiet, rego_coverage).ok:
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--junit", type=click.Path(dir_okay=False), default="build/conformance.xml", show_default=True, help="Where the conformance JUnit report goes.")
@with_tool_errors
def run(junit: str) -> None:
    """The main job end to end: check specs, generate Rego, lint it, run conformance.

    Stops at the first failing stage and ends with a one-screen summary.
    """
    import time

    stages: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    specs = load_or_exit((DEFAULT_SPECS,))
    stages.append(("check", f"{len(specs)} spec(s) valid"))
    files = gen.build(specs, DEFAULT_SPECS + "/")
    drift = gen.compare(files, Path(DEFAULT_OUT))
    if not drift.clean:
        gen.write(files, Path(DEFAULT_OUT))
    stages.append(("generate", f"{len(files)} Rego file(s) in {DEFAULT_OUT}/" + (" (updated)" if not drift.clean else " (current)")))
    from . import lint as lint_mod

    results = lint_mod.run_all(Path(DEFAULT_OUT))
    for r in results:
        if not r.ok:
            click.echo(r.output)
    stages.append(("lint", ", ".join(("ok " if r.ok else "FAIL ") + r.name for r in results)))
    green = all(r.ok for r in results)
    from .conformance import report as rep

    report = _conformance((DEFAULT_CASES,), DEFAULT_SPECS, DEFAULT_OUT, None, junit, quiet=False, rego_coverage=True)
    ok = report.ok and green
    covered = sum(1 for row in report.coverage if not row.lacking)
    stages.append((
        "conformance",
        f"{rep.summary(report)}; {covered}/{len(report.coverage)} criteria seen met, unmet and unknown; JUnit in {junit}",
    ))
    click.echo("")
    click.secho("rxrego run: summary", bold=True)
    for name, text in stages:
        click.echo(f"  {name:<12} {text}")
    click.echo(f"  {'time':<12} {time.perf_counter() - t0:.1f} s")
    click.secho("  result       " + ("green" if ok else "FAILED"), fg="green" if ok else "red")
    if not ok:
        sys.exit(EXIT_FAILED)


# Commands that live beside what they drive: the bundle, the OPA sidecar, the thin client,
# and the sidecar's deployment configuration.
from .bundle import bundle_command  # noqa: E402
from .client.cli import decide_command  # noqa: E402
from .deploy import deploy_config_command  # noqa: E402
from .sidecar import serve_command  # noqa: E402

for _command in (bundle_command, serve_command, decide_command, deploy_config_command):
    main.add_command(_command)

# The policy author's desk (render, explain, diff, questionnaire, questionnaire-decide, new).
from .author import commands as author_commands  # noqa: E402

author_commands.register(main)

if __name__ == "__main__":  # pragma: no cover
    main()
