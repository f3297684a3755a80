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
from . import toolchain
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


def load_or_exit(paths: tuple[str, ...] | list[str]):
    """Every spec under `paths`, or every issue printed and exit 2."""
    files = find_specs(paths)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    if not files:
        fail(f"no spec files (*.yaml, *.yml) under {', '.join(paths)}")
    try:
        return load_specs(paths)
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        n_files = len({i.file for i in exc.issues})
        fail(f"{len(exc.issues)} error(s) in {n_files} spec file(s); nothing was generated")


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
      rxrego lint           opa fmt, opa check --strict and Regal over rego/
      rxrego conformance    golden cases in conformance/ on the real OPA binary
      rxrego run            all of the above, with a summary (what `make run` does)

    Run `rxrego COMMAND --help` for each command's options.
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
    specs = load_or_exit(paths or (DEFAULT_SPECS,))
    for spec in specs:
        n = len(spec.criteria)
        sets = ", ".join(f"{r.name} {r.duration_months} mo" for r in spec.requirements)
        click.echo(f"ok  {spec.source}  {spec.id}  {n} criteria  ({sets})")
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
    label = specs_dir.rstrip("/") + "/"
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
    """Run `opa fmt -l`, `opa check --strict` and `regal lint` over the generated Rego."""
    from . import lint as lint_mod

    results = lint_mod.run_all(Path(rego_dir))
    for r in results:
        mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {r.name}")
        if not r.ok:
            click.echo(r.output.rstrip())
    if not all(r.ok for r in results):
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
