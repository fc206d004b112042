"""The one door to the shell, and the one place ``inv --dry`` is decided.

act/ and cli/ never ask whether this is a dry run: they call these, and each
one knows what "pretend" means for it (invoke's runner decides ``dry`` where it
runs; copier decides ``pretend`` where it writes)::

    run(c, argv)                  # a command that acts. --dry: invoke prints the line, runs
                                  # nothing and hands back an empty successful Result.
                                  # A failure raises UnexpectedExit (cli/program.py: exit 1).
    run(c, argv, background=True) # the same beside other commands: in_stream=False, so no
                                  # thread reads the terminal (implied by out_stream/err_stream,
                                  # i.e. fan_out's prefixed writers, and off the main thread).
    probe(c, argv)                # a quiet query (hide, warn, in_stream=False; check .ok).
                                  # --dry: shown (invoke echoes it), not run, empty success.
    query(c, argv)                # the same, but --dry neither runs nor shows it and answers
                                  # nothing_yet(): empty stdout, ok ("nothing there yet" to
                                  # any parser: no containers, no networks, no apps).
    start(c, argv, **kw)          # a command that acts, not waited for (logs --follow beside pm2);
                                  # returns a Background whose .stop() ends it (--dry: printed,
                                  # nothing started, .stop() does nothing).
    for_real(c, action, dry=...)  # a step that is not a command: call action() for real; under
                                  # --dry print `dry` (a str) or return dry() (a callable: what
                                  # to say or answer instead, e.g. `dry=dict` for "no state yet").
                                  # Writing files, removing a folder, checks that need the
                                  # engine's answers, waiting for ports all go through it.
    guard(c, make_lock)           # `with guard(c, lambda: instance_lock(...)):` the lock for
                                  # real, nothing under --dry (nothing to protect).
    wait_until(c, check, timeout) # poll check() until it is true; --dry: True at once.
    workers(c, n)                 # how many threads a fan-out may use: 1 under --dry, so the
                                  # printed commands come in a stable order.
    assume_yes(c, yes)            # whether a destructive step may skip its prompt: --yes, or
                                  # --dry (nothing is destroyed).
    pretending(c)                 # only for io/ itself (tool discovery skips its probes);
                                  # act/ and cli/ do not call it.

Argument lists are built elsewhere as data (plan/compose.py, plan/pm2.py) and
joined here with ``shlex.join``, so what ``--dry`` prints is what would run, but
for its secrets: an echoed command (``--dry``, ``--echo``) goes through the masker
the program configures as ``multistack.mask`` (cli/collections.py sets
plan.masking.mask_text; io cannot import plan), printed through invoke's own
``echo_format``, while the command that runs keeps the real values.
"""
from __future__ import annotations

import shlex
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable, Sequence, TypeVar

from invoke import Context, Result

T = TypeVar("T")


def pretending(c: Context) -> bool:
    """Whether this is ``inv --dry``: for io/ only (act/ and cli/ use the functions below)."""
    return bool(c.config.run.dry)


def run(c: Context, argv: Sequence[str], *, background: bool = False, **kwargs: Any) -> Result:
    """Run a command that acts (``--dry``: printed by invoke, not run, an empty success).

    A command that may run beside others gets no stdin (``in_stream=False``): said with
    ``background=True``, and implied by explicit output streams (``fan_out``'s prefixed
    writers) and by any thread but the main one. Otherwise each of invoke's runners would
    read the terminal and switch it to character mode and back, concurrently.
    """
    if background or "out_stream" in kwargs or "err_stream" in kwargs or not _main_thread():
        kwargs.setdefault("in_stream", False)
    command = shlex.join(argv)
    return c.run(command, **_masked_echo(c, command, kwargs))


def _masked_echo(c: Context, command: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` whose ``echo_format`` prints ``command`` with its secrets masked.

    invoke echoes ``echo_format.format(command=...)``; the masked line is put in the format
    itself (braces doubled), so the echo shows ``****`` while the real command runs.
    """
    mask = _masker(c)
    masked = mask(command) if mask else command
    if masked == command:
        return kwargs
    fmt = kwargs.get("echo_format") or c.config.run.get("echo_format") or "{command}"
    kwargs = dict(kwargs)
    kwargs["echo_format"] = fmt.replace("{command}", "\0").replace("{", "{{").replace("}", "}}").replace(
        "\0", masked.replace("{", "{{").replace("}", "}}"))
    return kwargs


def _masker(c: Context) -> Callable[[str], str] | None:
    """The masking function the program configured (``multistack.mask``), if any."""
    section = c.config.get("multistack") or {}
    mask = section.get("mask") if hasattr(section, "get") else None
    return mask if callable(mask) else None


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def nothing_yet(argv: Sequence[str] = ()) -> Result:
    """What a query answers under ``--dry``: an empty, successful result."""
    return Result(stdout="", stderr="", command=shlex.join(argv), exited=0)


def probe(c: Context, argv: Sequence[str], **kwargs: Any) -> Result:
    """A quiet query whose failure is data, not an error (check ``.ok``).

    Under ``--dry`` invoke shows it and runs nothing (an empty success), as doctor wants.
    """
    command = shlex.join(argv)
    return c.run(command, **_masked_echo(c, command, {"hide": True, "warn": True, "in_stream": False, **kwargs}))


def query(c: Context, argv: Sequence[str], **kwargs: Any) -> Result:
    """A quiet query that ``--dry`` skips silently, answering ``nothing_yet`` (what a plan
    needs to know about the engine is then "nothing there yet")."""
    if pretending(c):
        return nothing_yet(argv)
    return probe(c, argv, **kwargs)


class Background:
    """A command started by :func:`start`; ``stop()`` ends it (nothing to end under ``--dry``)."""

    def __init__(self, promise: Any = None) -> None:
        self.promise = promise

    def stop(self) -> None:
        if self.promise is not None:
            self.promise.runner.kill()


def start(c: Context, argv: Sequence[str], **kwargs: Any) -> Background:
    """Start a command without waiting for it (no stdin: it runs beside another)."""
    result = run(c, argv, background=True, asynchronous=True, **kwargs)
    return Background(None if pretending(c) else result)


def for_real(c: Context, action: Callable[[], T], dry: str | Callable[[], T] | None = None) -> T | None:
    """``action()``; under ``--dry`` print ``dry`` (a line) or return ``dry()`` instead (None: skip)."""
    if not pretending(c):
        return action()
    if callable(dry):
        return dry()
    if dry is not None:
        mask = _masker(c)
        print(mask(dry) if mask else dry)
    return None


def guard(c: Context, make: Callable[[], AbstractContextManager[Any]]) -> AbstractContextManager[Any]:
    """The lock ``make()`` builds, or nothing under ``--dry`` (which changes nothing)."""
    return nullcontext() if pretending(c) else make()


def wait_until(c: Context, check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass; ``--dry``: True at once."""
    if pretending(c):
        return True
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def workers(c: Context, wanted: int) -> int:
    """Threads a fan-out may use: one under ``--dry`` so its printed lines keep their order."""
    return 1 if pretending(c) else max(1, wanted)


def assume_yes(c: Context, yes: bool) -> bool:
    """Whether a destructive step may skip its prompt: ``--yes``, or ``--dry`` (nothing is lost)."""
    return yes or pretending(c)

