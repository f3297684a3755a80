"""`python -m rxrego.cli`: the same as the `rxrego` command."""

from . import main

main()
