"""The one user-error type, and the exit codes it maps to.

A user mistake (bad stack.yaml, instance out of range, a port already taken)
raises :class:`StackError`; the CLI layer turns it into one line on stderr and
the exit code below. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

#: Exit codes, documented in the README. 1 is left to failed external commands.
EXIT_USAGE = 2  # bad input: stack.yaml, env files, templates, arguments
EXIT_ENGINE = 3  # Docker, Compose or PM2 missing or unreachable
EXIT_CONFLICT = 4  # a lock is held, a port is taken, a file was edited by hand
EXIT_FAILED = 1  # an engine command failed, or some instances of --all failed
EXIT_DOCTOR = 5  # `inv doctor` (or the checks `start` runs first) found a problem that breaks a start
EXIT_BROKEN_PIPE = 141  # stdout's reader went away (`inv dev 1 info | head -1`): quiet, as SIGPIPE (128+13)
EXIT_NOT_HEALTHY = 6  # `status`: an instance is degraded or down (something it declares is not up)


class StackError(Exception):
    """A mistake the user can fix: a message naming the problem, and the fix."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The single line printed on stderr.

        Characters that would break or hide it (a newline, ``\\r``, NUL, U+2028
        quoted from a user's file) are shown escaped: it stays one line.
        """
        text = f"error: {self.message}"
        return _one_line(f"{text} (fix: {self.hint})" if self.hint else text)


class EngineError(StackError):
    """A required engine (Docker, Compose v2, PM2) is missing or unreachable."""

    exit_code = EXIT_ENGINE


class ConflictError(StackError):
    """Something on the machine is in the way: a lock, a port, a hand-edited file."""

    exit_code = EXIT_CONFLICT


class CommandFailed(StackError):
    """An engine command ran and failed; its own output has already been shown."""

    exit_code = EXIT_FAILED


class DoctorError(StackError):
    """A doctor check found something that would break a start (docs/doctor.md)."""

    exit_code = EXIT_DOCTOR


class NotHealthy(StackError):
    """``status`` found a declared compose service or PM2 app not up (the report is printed first).

    A code of its own, not 1: the engines answered and nothing failed; a script can tell
    "start it" (6) from "the engine is broken" (3) or "a command failed" (1).
    """

    exit_code = EXIT_NOT_HEALTHY


def _one_line(text: str) -> str:
    """``text`` with every non-printable character (controls, line separators) as its escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
