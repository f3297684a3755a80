"""Exit statuses, and the one place where an error becomes a message and a status.

Every rxrego command exits with one of three statuses:

    status  name                     meaning
    0       OK (APPROVED)            done: specs valid, Rego current, cases green, file written,
                                     a decision shown; for `decide` and `questionnaire-decide`,
                                     the request is approved
    1       FAILED (NOT_APPROVED)    the command ran and its answer is "no": a check failed
                                     (stale Rego, failing cases, lint findings), `diff` found
                                     differences, OPA died while serving; for `decide` and
                                     `questionnaire-decide`, a decision that is not an approval
    2       INPUT (NO_DECISION)      nothing could be done with what was given: bad input (named
                                     by file, line and field), a missing or wrong-version tool,
                                     OPA unable to start or decide, a sidecar unreachable

Commands end early with `fail(message, code)`. The library's errors (a spec with mistakes, a
missing tool, a bundle that cannot be built, ...) are turned into messages once, by the
`rxrego` group (`reported`), so a command need not catch them: each one's message already
says what went wrong. Anything else escaping a command is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from enum import IntEnum
from typing import NoReturn

import click

from .. import opa, toolchain
from ..author.common import InputError
from ..bundle import BundleError
from ..client.errors import RxRegoError
from ..deploy import DeployError
from ..generate import GenerateError
from ..project import ProjectError
from ..sidecar import SidecarError
from ..spec.errors import SpecError
from ..spec.loader import JobsError


class ExitCode(IntEnum):
    """The exit statuses of every rxrego command (see the table above)."""

    OK = 0
    FAILED = 1
    INPUT = 2
    # The same numbers, as the decision commands (decide, questionnaire-decide) read them.
    APPROVED = 0
    NOT_APPROVED = 1
    NO_DECISION = 2


class CommandError(click.ClickException):
    """End the command: `details` (e.g. one line per spec error) plain, then `message` in red,
    on stderr; exit with `code`. Click shows it and exits (`ClickException`)."""

    def __init__(self, message: str, code: ExitCode = ExitCode.INPUT, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        # click declares exit_code a ClassVar but reads it from the instance: one exception
        # class carries every code.
        self.exit_code = int(code)  # type: ignore[misc]
        self.details = tuple(details)

    def show(self, file=None) -> None:
        for line in self.details:
            click.echo(line, err=True, color=self.show_color)
        click.secho(self.format_message(), fg="red", err=True, color=self.show_color)


def fail(message: str, code: ExitCode = ExitCode.INPUT, details: Sequence[str] = ()) -> NoReturn:
    """End the command with `message` and `code` (default 2, an input mistake)."""
    raise CommandError(message, code, details)


def spec_error(exc: SpecError, what: str = "spec file(s)", consequence: str | None = None) -> CommandError:
    """Every issue of a SpecError (file:line:column: field: message), then how many there are
    in how many files (`what` they are) and, if given, what that means for the command."""
    n_files = len({issue.file for issue in exc.issues})
    message = f"{len(exc.issues)} error(s) in {n_files} {what}"
    return CommandError(f"{message}; {consequence}" if consequence else message, details=[str(i) for i in exc.issues])


# The library's errors that mean "not with this input or this machine", each with how its
# message is introduced. Their own messages name the file, field or tool.
USER_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (InputError, ""),
    (toolchain.ToolError, ""),
    (ProjectError, ""),
    (JobsError, ""),
    (GenerateError, ""),
    (BundleError, ""),
    (SidecarError, ""),
    (DeployError, ""),
    (opa.OpaError, "OPA could not decide: "),
    (RxRegoError, "no decision: "),
)

# Every error a command reports as a message (exit 2) rather than a traceback.
REPORTED: tuple[type[Exception], ...] = (SpecError, *(kind for kind, _ in USER_ERRORS))


def as_command_error(exc: Exception) -> CommandError:
    """The CommandError (exit 2) a library error becomes: a SpecError lists its issues, one
    of USER_ERRORS gets its prefix. Raises TypeError for any other exception (a bug)."""
    if isinstance(exc, SpecError):
        return spec_error(exc)
    for kind, prefix in USER_ERRORS:
        if isinstance(exc, kind):
            return CommandError(prefix + str(exc))
    raise TypeError(f"not a user-facing error: {exc!r}")


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Turn the library's user-facing errors raised inside into CommandError (exit 2)."""
    try:
        yield
    except REPORTED as exc:
        raise as_command_error(exc) from exc


class Group(click.Group):
    """A click group whose commands' library errors become messages and exit 2 (`reported`)."""

    def invoke(self, ctx: click.Context):
        with reported():
            return super().invoke(ctx)
