"""Option decorators more than one command module uses."""

from __future__ import annotations

import click


def folder_option(flag: str, dest: str, help: str, default: str | None = None):
    """A click option naming a folder (a file is refused), stored as `dest`; `default`,
    when given, is shown in --help. `help` says what the folder holds for this command."""
    return click.option(
        flag,
        dest,
        default=default,
        show_default=default is not None,
        type=click.Path(file_okay=False),
        help=help,
    )
