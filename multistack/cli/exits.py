"""The one place errors become what the user sees: one line on stderr and a documented exit code.

Every task body is wrapped by :func:`user_errors` (apply it under :func:`task`):
a :class:`StackError` becomes ``error: ... (fix: ...)`` with its own code, and a
failed engine command becomes one line naming it with exit 1 (its own output was
already shown). Anything else is a bug and keeps its traceback. The codes are
documented in docs/exit-codes.md. ``multistack.cli.program`` builds the program;
the task modules import this module, not that one (no import cycle).
"""
from __future__ import annotations

import atexit
import errno
import functools
import os
import shlex
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import invoke
from invoke import Exit, Task
from invoke.exceptions import ThreadException, UnexpectedExit

from multistack.errors import EXIT_BROKEN_PIPE, EXIT_CONFLICT, EXIT_FAILED, StackError
from multistack.plan.masking import mask_text

F = TypeVar("F", bound=Callable[..., Any])


class HelpKeepingTask(Task):
    """A task whose per-option help survives being parsed more than once.

    invoke's ``Task.get_arguments`` pops each option's help as it builds a
    parser context. multistack builds the contexts once before invoke does
    (``argv.install``), and tests run several programs in one process, so
    without this ``inv --help dev`` would show bare options.
    """

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Any]:
        kept = dict(self.help)
        try:
            return super().get_arguments(ignore_unknown_help)
        finally:
            self.help = kept


def task(*args: Any, **kwargs: Any) -> Any:
    """``invoke.task`` making :class:`HelpKeepingTask` tasks; use it for every multistack task."""
    kwargs.setdefault("klass", HelpKeepingTask)
    return invoke.task(*args, **kwargs)


def exit_for(exc: BaseException) -> Exit | None:
    """The one mapping from an error to what the user sees and the exit code (docs/exit-codes.md).

    A :class:`StackError` is its own line and code; a failed engine command is one line naming
    it and exit 1 (``EXIT_FAILED``), never the engine's own code (17 would mean nothing
    documented). Anything else is a bug: None, and it keeps its traceback.
    """
    if isinstance(exc, StackError):
        return Exit(mask_text(exc.line()), code=exc.exit_code)
    if isinstance(exc, UnexpectedExit):
        result = exc.result
        command = result.command if isinstance(result.command, str) else shlex.join(result.command)
        return Exit(mask_text(f"error: command failed with exit code {result.exited}: {command}"),
                    code=EXIT_FAILED)
    return None


def user_errors(func: F) -> F:
    """Wrap a task body so that its errors go through :func:`exit_for`, and its output
    through :func:`guarded_stdout` (a closed pipe or a full stdout: :func:`output_exit`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with guarded_stdout():
                result = func(*args, **kwargs)
                sys.stdout.flush()  # a full stdout says so here, not at interpreter shutdown
            return result
        except (StackError, UnexpectedExit) as exc:
            mapped = exit_for(exc)
            assert mapped is not None
            _flush_or_silence()  # the verdict wins; a closed stdout then says nothing more
            raise mapped from None
        except OutputFailed as exc:
            raise output_exit(exc.error) from None
        except BrokenPipeError as exc:  # stderr, or a stream taken before the guard
            raise output_exit(exc) from None
        except ThreadException as exc:  # invoke's output thread could not write our stdout
            failed = [w.value for w in exc.exceptions if isinstance(w.value, OutputFailed)]
            if not failed:
                raise
            raise output_exit(failed[0].error) from None

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------
# stdout closed or full (docs/exit-codes.md)


class OutputFailed(Exception):
    """stdout could not be written: the reader went away (a closed pipe) or the device is full."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _GuardedStream:
    """sys.stdout, whose write errors become :class:`OutputFailed` (told apart from file errors)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise OutputFailed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputFailed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """sys.stdout as a :class:`_GuardedStream` while a task body runs (nested: once)."""
    original = sys.stdout
    if original is None or isinstance(original, _GuardedStream):
        yield
        return
    guard = _GuardedStream(original)
    sys.stdout = guard  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.stdout is guard:
            sys.stdout = original


def output_exit(error: OSError) -> Exit:
    """A closed pipe: exit 141 quietly (as a shell tool killed by SIGPIPE); a full or failing
    stdout: one line on stderr, exit 4. stdout then points at /dev/null, so the interpreter's
    last flush cannot fail again (the Python docs' advice for SIGPIPE)."""
    silence_stdout()
    if isinstance(error, BrokenPipeError) or error.errno in (errno.EPIPE, errno.ECONNRESET):
        return Exit(code=EXIT_BROKEN_PIPE)
    reason = error.strerror or str(error)
    return Exit(f"error: cannot write the output: {reason} (fix: send the output where there is room, "
                "e.g. a file on a disk with free space)", code=EXIT_CONFLICT)


def _flush_or_silence() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, OutputFailed):
        silence_stdout()


def silence_stdout() -> None:
    """Point the process's stdout at /dev/null (only a real file descriptor; a test's capture has none)."""
    stream = sys.__stdout__
    try:
        fd = stream.fileno() if stream is not None else -1
    except (OSError, ValueError):
        return
    if fd < 0:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def flush_at_exit() -> None:
    """For output invoke itself writes (``inv --list | head -1``): flush before the interpreter
    does, and exit as :func:`output_exit` says instead of "Exception ignored ... BrokenPipeError"."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, OutputFailed) as exc:
        error = exc.error if isinstance(exc, OutputFailed) else exc
        mapped = output_exit(error)
        if mapped.message:
            print(mapped.message, file=sys.stderr)
        sys.stderr.flush()
        os._exit(mapped.code)


def _printing(tb: Any) -> bool:
    """Whether an OSError came from invoke's Program printing (it writes no file): stdout failed.
    Any other OSError keeps its traceback (a bug to report)."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.endswith(os.path.join("invoke", "program.py"))


def install_exit_flush() -> None:
    """Register :func:`flush_at_exit` once (``namespace()`` and ``main()`` call it)."""
    if not getattr(install_exit_flush, "done", False):
        atexit.register(flush_at_exit)
        previous = sys.excepthook

        def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
            if issubclass(kind, BrokenPipeError):  # invoke printing --list or --help to a closed pipe
                silence_stdout()
                os._exit(EXIT_BROKEN_PIPE)
            if isinstance(value, OSError) and _printing(tb):  # the same to a full device
                print(output_exit(value).message, file=sys.stderr)
                sys.stderr.flush()
                os._exit(EXIT_CONFLICT)
            previous(kind, value, tb)

        sys.excepthook = hook
        install_exit_flush.done = True  # type: ignore[attr-defined]
