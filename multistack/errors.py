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


class StackError(Exception):
    """A mistake the user can fix: a message naming the problem, and the fix."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The single line printed on stderr."""
        text = f"error: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


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
