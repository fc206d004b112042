"""Run one job per instance in parallel, each line of output prefixed with its instance.

Engine calls dominate the cost of ``--all``: ``compose down`` of ten projects
side by side takes about as long as the slowest one, not the sum.
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TextIO

from multistack.plan.masking import mask_text

_print_lock = threading.Lock()


class PrefixWriter:
    """A file-like for ``c.run(out_stream=...)`` that writes whole lines with a prefix.

    invoke calls ``flush()`` after every chunk it reads (up to 1000 bytes, cut
    anywhere), so ``flush`` must not end a line: only complete lines are
    written, and :meth:`close` writes what is left once the job is done.
    """

    def __init__(self, prefix: str, target: TextIO) -> None:
        self.prefix = prefix
        self.target = target
        self.buffer = ""

    def write(self, data: str) -> int:
        text = self.buffer + data
        held = ""
        if text.endswith("\r"):  # maybe the first half of a \r\n cut between two chunks
            text, held = text[:-1], "\r"
        *lines, rest = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.buffer = rest + held
        if lines:
            with _print_lock:
                self.target.write("".join(f"{self.prefix}{line}\n" for line in lines))
                self.target.flush()
        return len(data)

    def flush(self) -> None:
        with _print_lock:
            self.target.flush()

    def close(self) -> None:
        """Write the last, unterminated line (if any)."""
        rest = self.buffer.rstrip("\r")
        self.buffer = ""
        if rest:
            with _print_lock:
                self.target.write(f"{self.prefix}{rest}\n")
                self.target.flush()

    def isatty(self) -> bool:
        return False


@dataclass(frozen=True)
class Outcome:
    instance: int | str  # an instance number, or a system member's name
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Job = Callable[[Any, TextIO, TextIO], None]


def describe_error(exc: BaseException) -> str:
    """One line for a job that failed: a user error's own line, else what failed."""
    from invoke.exceptions import UnexpectedExit

    from multistack.errors import StackError

    if isinstance(exc, StackError):
        return exc.line()
    if isinstance(exc, UnexpectedExit):
        return f"error: command failed with exit code {exc.result.exited}"
    return f"error: {type(exc).__name__}: {exc}"


def fan_out(instances: Sequence[int | str], job: Job,
            describe_error: Callable[[BaseException], str] = describe_error,
            max_workers: int = 8) -> list[Outcome]:
    """Run ``job(n, out, err)`` for every instance; errors become outcomes, not exceptions."""

    def one(n: int | str) -> Outcome:
        out = PrefixWriter(f"[{n}] ", sys.stdout)
        err = PrefixWriter(f"[{n}] ", sys.stderr)
        try:
            job(n, out, err)
            return Outcome(n)
        except Exception as exc:  # noqa: BLE001 - reported per instance, summarised by the caller
            message = mask_text(describe_error(exc))
            err.write(message + "\n")
            return Outcome(n, message)
        finally:
            out.close()
            err.close()

    if len(instances) <= 1:
        return [one(n) for n in instances]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(instances))) as pool:
        return list(pool.map(one, instances))


def summary(action: str, outcomes: Sequence[Outcome]) -> str:
    """``stop --all: 2 ok, 1 failed (instances 3)``."""
    failed = [o.instance for o in outcomes if not o.ok]
    text = f"{action} --all: {len(outcomes) - len(failed)} ok, {len(failed)} failed"
    return text + (f" (instances {', '.join(map(str, failed))})" if failed else "")


def failures(outcomes: Sequence[Outcome]) -> dict[str, str]:
    """Job name -> its error line, for the jobs that failed."""
    return {str(o.instance): o.error for o in outcomes if o.error is not None}


def finish(action: str, outcomes: Sequence[Outcome]) -> None:
    """Print the summary; some failed: exit 1 (``CommandFailed``) after the others were done."""
    from multistack.errors import CommandFailed

    print(summary(action, outcomes))
    if failures(outcomes):
        raise CommandFailed(f"{action} --all failed for some instances", "see the lines prefixed with their numbers")
