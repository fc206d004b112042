"""A MockContext for unit tests of tasks: answers ``c.run`` from a regex table,
records the commands, and raises on failure like the real ``Context.run``
(invoke's MockContext returns a failed Result instead)."""
from __future__ import annotations

from typing import Any

from invoke import MockContext, Result
from invoke.exceptions import UnexpectedExit


class RecordingContext(MockContext):
    def run(self, command: str, *args: Any, **kwargs: Any) -> Result:
        result = super().run(command, *args, **kwargs)
        if result.exited != 0 and not kwargs.get("warn"):
            raise UnexpectedExit(result)
        return result

    @property
    def commands(self) -> list[str]:
        return [call.args[0] for call in self.run.call_args_list]
