"""``mode:`` and ``provision:`` of stack.yaml: how instances share infra, and what each needs in it (pure).

:mod:`multistack.act.shared` runs the steps; here they are only read and
checked, once, when stack.yaml is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from multistack.errors import StackError
from multistack.model.names import NAME_RE, SERVICE_RE
from multistack.model.reader import Node

MODES = ("isolated", "shared")
DEFAULT_MODE = "isolated"
#: ``run_in`` of a step run on this machine rather than in a compose service.
HOST = "host"

#: A shell string (run by ``sh -c``) or an argv.
Command = Union[str, tuple[str, ...]]


@dataclass(frozen=True)
class Step:
    name: str
    create: Command
    exists: Command | None = None
    teardown: Command | None = None
    run_in: str = HOST  # or a compose service of the shared project


def parse_mode(raw: Any, file: str) -> str:
    """``mode:`` (None when absent), default isolated."""
    value = DEFAULT_MODE if raw is None else raw
    if value not in MODES:
        raise StackError(f"{file}: mode: must be one of {', '.join(MODES)}, got {value!r}",
                         "isolated runs one infra per instance; shared runs it once")
    return value


def parse_steps(raw: Any, file: str, compose_files: tuple[str, ...]) -> tuple[Step, ...]:
    """Validate ``provision:`` (a mapping of step name to step, run in the order written)."""
    if raw is None:
        return ()
    top = Node(raw, "provision", file)
    steps = []
    for name, value in top.items():
        if not NAME_RE.fullmatch(name):
            top.fail("step names are lowercase letters, digits, - and _", name)
        if not isinstance(value, dict):
            top.fail("must be a mapping with at least `create`", name)
        node = Node(value, top.where(name), top.file)  # the raw value: a YAML key 1 is not "1"
        create = _command(node, "create")
        if create is None:
            node.fail("missing required key 'create'", hint="the command that creates the thing, idempotently")
        exists = _command(node, "exists")
        teardown = _command(node, "teardown")
        run_in = node.string("run_in", HOST)
        assert create is not None and run_in is not None
        if run_in != HOST:
            if not SERVICE_RE.fullmatch(run_in):
                node.fail(f"{run_in!r} is neither `host` nor a compose service name", "run_in")
            if not compose_files:
                node.fail(f"runs in compose service {run_in!r} but the stack lists no compose files", "run_in",
                          "use `run_in: host`, or list the shared infra's compose files under compose.files")
        node.done()
        steps.append(Step(name, create, exists, teardown, run_in))
    return tuple(steps)


def _command(node: Node, key: str) -> Command | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return tuple(str(v) for v in value)
    node.fail("must be a shell command string or a non-empty list of arguments", key)
    return None
