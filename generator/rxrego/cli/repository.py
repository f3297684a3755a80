"""Setting up: `rxrego init` (a payer's policy repository) and `rxrego install-tools`.

Thin commands over rxrego.scaffold and rxrego.toolchain; their errors (ProjectError,
ToolError) become messages and exit 2 through rxrego.cli.errors.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import project, scaffold, toolchain
from .errors import fail


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--payer", help="The payer whose policies the repository holds (default: the folder's name).")
def init(directory: str, payer: str | None) -> None:
    """Start a payer's policy repository in DIRECTORY (default: here).

    \b
    Writes rxrego.toml (the payer and folders), policy_source/, conformance/, rego/,
    requirements.txt (this rxrego, pinned), a GitHub Actions workflow running
    check / generate --check / lint / conformance with a JUnit report,
    .pre-commit-config.yaml, .gitignore and a README. Existing files are kept.
    """
    root = Path(directory)
    name = payer or root.resolve().name
    created = scaffold.create(root, name)
    for rel in created.written:
        click.echo(f"wrote  {rel}")
    for rel in created.kept:
        click.echo(f"kept   {rel} (it exists already)")
    click.secho(f"{created.root} is an rxrego policy repository for {name}", fg="green")
    click.echo(
        "next:\n"
        f"  cd {directory}\n"
        "  rxrego install-tools     # the pinned OPA and Regal\n"
        "  rxrego new ID --title BRAND --hcpcs CODE   # a first policy; then rxrego run"
    )


@click.command("install-tools")
@click.option(
    "--tools",
    "tools_dir",
    type=click.Path(file_okay=False),
    help="Tools folder (default: $RXREGO_TOOLS, else the repository's, .tools).",
)
def install_tools(tools_dir: str | None) -> None:
    """Install the pinned OPA and Regal into the tools folder's bin/.

    \b
    With Go on PATH both are built from their Go modules at the pinned versions; without
    it the official release binaries are downloaded and refused unless their SHA-256 matches
    the pin. A tool already there at its pinned version is kept, so a second run does nothing.
    """
    folder = Path(tools_dir) if tools_dir else toolchain.tools_dir()
    if folder is None:
        fail(
            f"no tools folder: no {project.CONFIG_NAME} here or above and no $RXREGO_TOOLS; run `rxrego init`, or pass --tools DIR"
        )
    try:
        tools = toolchain.install(folder, say=lambda text: click.echo(f"install-tools: {text}", err=True))
    except toolchain.ToolError as exc:
        fail(f"install-tools: {exc}")
    for tool in tools:
        click.echo(f"{tool.name:<6} {tool.version}  {tool.path}")


COMMANDS = (init, install_tools)
