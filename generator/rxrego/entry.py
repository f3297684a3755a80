"""The `rxrego` console script.

The command line needs the generator's packages (Jinja2, PyYAML, click), which only the
`rxrego[tools]` install brings; the base install `rxrego` / `rxrego[client]` is the client
library alone. Without them the script says what to install instead of a traceback.
"""

from __future__ import annotations

import sys

# Top-level modules the command line imports that the client-only install lacks.
TOOLS_MODULES = frozenset({"click", "jinja2", "yaml", "markupsafe"})


def main() -> None:
    """Run the rxrego command line, or exit 2 naming the missing extra."""
    try:
        from rxrego.cli import main as cli
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in TOOLS_MODULES:
            raise
        sys.stderr.write(
            f"rxrego: the command line needs the generator's packages ({exc.name} is missing); "
            "this is the client-only install. Install them with: pip install 'rxrego[tools]'\n"
        )
        sys.exit(2)
    cli()
