"""The rxrego command line."""

from .pipeline import EXIT_FAILED, EXIT_INPUT, fail, main, with_tool_errors

__all__ = ["EXIT_FAILED", "EXIT_INPUT", "fail", "main", "with_tool_errors"]
