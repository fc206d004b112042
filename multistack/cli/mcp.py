"""``multistack mcp``: the stack's read commands and lifecycle as MCP tools, over stdio.

A coding agent asks the same questions a user asks the command line, so each tool
runs the command line: ``multistack dev 1 status --json`` in the stack's folder, as
a child process. The answer is therefore exactly the ``--json`` output (its schema
in ``multistack/schema/output/``, docs/json.md), the locks and ``--dry`` rules are the
CLI's, and nothing a command prints can reach the protocol's stdout. A command's
error comes back as a tool error whose text is its one line (``error: ... (fix: ...)``).
A document the CLI prints before its verdict (``status`` of a down instance, exit 6;
``doctor`` with an error finding, exit 5; ``status --all`` with one engine not answering,
exit 3) is an answer, not an error: the JSON, then the verdict's line.

The ``mcp`` SDK is imported here only, and only by ``multistack mcp`` (``pip install
'multistack[mcp]'``). See docs/mcp.md.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    import mcp_types

SCHEMAS = Path(__file__).resolve().parent.parent / "schema" / "output"
READ_TIMEOUT = 300.0
CHANGE_TIMEOUT = 3600.0  # start waits for health (start.wait_timeout), then PM2
MAX_LOG_CHARS = 200_000  # a tool answer an agent can still read

INSTANCE = {"type": "integer", "minimum": 0, "description": "instance number (default: the workspace's default)"}
LIFECYCLE_OUTPUT = {
    "type": "object",
    "properties": {"action": {"type": "string"}, "instance": {"type": ["integer", "null"]},
                   "output": {"type": "string", "description": "what the command printed"}},
    "required": ["action", "instance", "output"],
}


@dataclass(frozen=True)
class Tool:
    """One MCP tool: its arguments, the CLI words it runs, and the schema of its answer."""

    name: str
    description: str
    arguments: dict[str, Any]  # JSON Schema properties
    words: Callable[[dict[str, Any]], list[str]]
    schema: str | None = None  # multistack/schema/output/<schema>.json; None: the text in "output"
    required: tuple[str, ...] = ()
    changes: bool = False  # a lifecycle action: longer timeout

    def input_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": self.arguments, "required": list(self.required),
                "additionalProperties": False}


def _instance(args: dict[str, Any]) -> list[str]:
    return [str(args["instance"])] if args.get("instance") is not None else []


def _dev(action: str, *flags: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda args: ["dev", *_instance(args), action, *flags]


def _logs(args: dict[str, Any]) -> list[str]:
    return ["dev", *_instance(args), "logs", "--tail", str(args.get("tail", 100))]


def _start(args: dict[str, Any]) -> list[str]:
    timeout = args.get("wait_timeout")
    return ["dev", *_instance(args), "start", *(["--wait-timeout", str(timeout)] if timeout else [])]


def _stop(args: dict[str, Any]) -> list[str]:
    return ["dev", "stop", "--all"] if args.get("all") else ["dev", *_instance(args), "stop"]


def _clean(args: dict[str, Any]) -> list[str]:
    from multistack.errors import StackError

    if args.get("confirm") is not True:
        what = "every instance" if args.get("all") else f"instance {args.get('instance', '(default)')}"
        raise StackError(f"clean removes {what}: containers, volumes (its data), PM2 apps and folder",
                         "call clean again with confirm: true")
    return ["dev", "clean", "--all", "--yes"] if args.get("all") else ["dev", *_instance(args), "clean", "--yes"]


def _doctor(args: dict[str, Any]) -> list[str]:
    return ["doctor", *_instance(args), "--json"]


ALL = {"type": "boolean", "description": "every instance that exists"}
TOOLS = (
    Tool("list", "Every instance of the stack that exists, with its state (`inv dev status --all --json`).",
         {}, lambda args: ["dev", "status", "--all", "--json"], "dev.status"),
    Tool("status", "The state of one instance: compose services, PM2 apps, what is missing "
         "(`inv dev N status --json`). "
         "A down instance is an answer (status: down), not an error.",
         {"instance": INSTANCE}, _dev("status", "--json"), "dev.status"),
    Tool("info", "What an instance is: compose project, namespace, folder, ports, PM2 apps, derived names "
         "(`inv dev N info --json`; no engine asked).", {"instance": INSTANCE}, _dev("info", "--json"), "dev.info"),
    Tool("ports", "The host port of every service of an instance (`inv dev N ports --json`; no engine asked).",
         {"instance": INSTANCE}, _dev("ports", "--json"), "dev.ports"),
    Tool("logs", "The last lines of an instance's compose services and PM2 apps (`inv dev N logs --tail T`).",
         {"instance": INSTANCE, "tail": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100,
                                          "description": "lines per service and app"}}, _logs),
    Tool("doctor", "What would break running several instances: the doctor's findings (`inv doctor [N] --json`). "
         "Findings of severity error are an answer (ok: false), not an error.",
         {"instance": INSTANCE}, _doctor, "doctor"),
    Tool("start", "Start an instance (generate its files, compose up, PM2 apps) and wait until it is healthy "
         "(`inv dev N start`).", {"instance": INSTANCE, "wait_timeout": {
             "type": "integer", "minimum": 1, "description": "seconds to wait for health, then fail and roll back"}},
         _start, changes=True),
    Tool("stop", "Stop an instance's containers and PM2 apps, keeping its data (`inv dev N stop`, or --all).",
         {"instance": INSTANCE, "all": ALL}, _stop, changes=True),
    Tool("restart", "Stop, then start an instance (`inv dev N restart`).", {"instance": INSTANCE},
         _dev("restart"), changes=True),
    Tool("clean", "Remove an instance: its containers, volumes (its data), PM2 apps and folder (`inv dev N clean`). "
         "Needs confirm: true.", {"instance": INSTANCE, "all": ALL, "confirm": {
             "type": "boolean", "description": "must be true: clean deletes the instance's data"}},
         _clean, required=("confirm",), changes=True),
)


# --------------------------------------------------------------------------
# Answers: run the command line, keep its JSON or its one error line.


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


class ToolFailed(Exception):
    """A tool's one-line error (the CLI's ``error: ... (fix: ...)``)."""


def command(words: Sequence[str]) -> list[str]:
    """The CLI, as a child of this interpreter (the same multistack, whatever PATH says); it runs in
    the stack's folder and finds stack.yaml there, as `inv` does."""
    return [sys.executable, "-c", "import sys; from multistack.cli.program import main; main(sys.argv[1:])", *words]


def error_line(outcome: Outcome) -> str:
    """The CLI's ``error:`` line, else its last line, else the exit code."""
    lines = [line.strip() for line in outcome.stderr.splitlines() if line.strip()]
    marked = [line for line in lines if line.startswith("error:")]
    if marked:
        return marked[-1]
    return lines[-1] if lines else f"error: exited with code {outcome.code}"


@dataclass(frozen=True)
class Answer:
    """A tool's result: ``structured`` for the client, ``texts`` to read (the CLI's JSON text as it
    printed it, then the verdict's line of a status or doctor that found a problem)."""

    structured: dict[str, Any]
    texts: list[str]


def answer(tool: Tool, args: dict[str, Any], outcome: Outcome) -> Answer:
    """What a finished command answers; :class:`ToolFailed` (its one line) for an error."""
    if tool.schema is not None:
        try:  # the CLI prints its document whole or not at all: a document is the answer, whatever the code
            data = json.loads(outcome.stdout)
        except ValueError:
            raise ToolFailed(error_line(outcome)) from None
        return Answer({"result": data}, [outcome.stdout.strip(), *([error_line(outcome)] if outcome.code else [])])
    if outcome.code != 0:
        raise ToolFailed(error_line(outcome))
    from multistack.plan.masking import mask_text

    text = mask_text(outcome.stdout)
    if len(text) > MAX_LOG_CHARS:
        text = "...\n" + text[-MAX_LOG_CHARS:]
    return Answer({"action": tool.name, "instance": args.get("instance"), "output": text}, [text])


def check_arguments(tool: Tool, args: dict[str, Any]) -> None:
    """Refuse what the input schema refuses (unknown names, wrong types) in one line."""
    from multistack.errors import StackError

    for name, value in args.items():
        spec = tool.arguments.get(name)
        if spec is None:
            raise StackError(f"{tool.name} takes no argument {name!r}",
                             f"arguments: {', '.join(tool.arguments) or 'none'}")
        kind = spec["type"]
        ok = isinstance(value, bool) if kind == "boolean" else isinstance(value, int) and not isinstance(value, bool)
        if not ok or (kind == "integer" and not spec.get("minimum", 0) <= value <= spec.get("maximum", value)):
            raise StackError(f"{tool.name}: {name} must be {_expected(spec)}, got {value!r}",
                             f"give {name} as {_expected(spec)}")
    missing = [name for name in tool.required if name not in args]
    if missing:
        raise StackError(f"{tool.name} needs {', '.join(missing)}", f"give {missing[0]}")


def _expected(spec: dict[str, Any]) -> str:
    if spec["type"] == "boolean":
        return "true or false"
    low, high = spec.get("minimum", 0), spec.get("maximum")
    return f"a whole number from {low}" + (f" to {high}" if high is not None else "")


def output_schema(tool: Tool) -> dict[str, Any]:
    """The tool's answer as MCP wants it: an object, its ``result`` the CLI's JSON (schema file inlined)."""
    if tool.schema is None:
        return LIFECYCLE_OUTPUT
    schema = load_schema(tool.schema)
    inner = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}
    wrapped: dict[str, Any] = {"type": "object", "properties": {"result": inner}, "required": ["result"]}
    if "$defs" in schema:
        wrapped["$defs"] = schema["$defs"]
    return wrapped


def load_schema(name: str) -> dict[str, Any]:
    """``multistack/schema/output/<name>.json`` (shipped as package data)."""
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# The server.


def run_tool(root: Path, tool: Tool, args: dict[str, Any]) -> Answer:
    """Check the arguments, run the command line in ``root``, read its answer (blocking: call in a thread)."""
    import subprocess

    check_arguments(tool, args)
    words = tool.words(args)
    try:
        done = subprocess.run(command(words), cwd=root, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=CHANGE_TIMEOUT if tool.changes else READ_TIMEOUT,
                              env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired as exc:
        raise ToolFailed(f"error: `{' '.join(['multistack', *words])}` did not finish in {exc.timeout:.0f} s") from None
    return answer(tool, args, Outcome(done.returncode, done.stdout, done.stderr))


def build_server(root: Path) -> Any:
    """The low-level SDK server: tools listed from :data:`TOOLS`, each call run by :func:`run_tool`."""
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server

    from multistack import __version__
    from multistack.errors import StackError

    by_name = {tool.name: tool for tool in TOOLS}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, description=t.description, input_schema=t.input_schema(),
                       output_schema=output_schema(t)) for t in TOOLS])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = by_name.get(params.name)
        if tool is None:
            return _failure(f"error: no tool {params.name!r} (fix: use one of {', '.join(by_name)})")
        try:
            found = await anyio.to_thread.run_sync(run_tool, root, tool, dict(params.arguments or {}))
        except StackError as exc:
            return _failure(_one_line(exc))
        except ToolFailed as exc:
            return _failure(str(exc))
        return types.CallToolResult(content=[types.TextContent(text=text) for text in found.texts],
                                    structured_content=found.structured)

    return Server("multistack", version=__version__,
                  instructions=f"Instances of the multistack stack in {root}: read them (list, status, info, ports, "
                               "logs, doctor) and drive them (start, stop, restart, clean).",
                  on_list_tools=list_tools, on_call_tool=call_tool)


def _one_line(error: Exception) -> str:
    """The line the command line prints for ``error`` (cli/exits.py: the one place that words it)."""
    from multistack.cli.exits import exit_for

    mapped = exit_for(error)
    assert mapped is not None and mapped.message
    return mapped.message


def _failure(line: str) -> mcp_types.CallToolResult:
    import mcp_types as types

    return types.CallToolResult(content=[types.TextContent(text=line)], is_error=True)


def stack_root(words: Sequence[str]) -> Path:
    """``multistack mcp [--root DIR]``: the folder of the stack (its stack.yaml is read once, to fail early)."""
    from multistack.errors import StackError
    from multistack.model.stack import load_stack

    words = list(words)
    root: Path | None = None
    if words[:1] == ["--root"] and len(words) == 2:
        root = Path(words[1]).expanduser()
    elif len(words) == 1 and words[0].startswith("--root="):
        root = Path(words[0].split("=", 1)[1]).expanduser()
    elif words:
        raise StackError(f"unknown arguments: {' '.join(words)}", "use `multistack mcp [--root DIR]`")
    if root is not None:
        if not root.is_dir():
            raise StackError(f"--root {root}: not a folder", "give the folder of the stack's stack.yaml")
        os.chdir(root)
    stack = load_stack()
    return stack.root


def serve(words: Sequence[str]) -> None:
    """Run the server on stdin/stdout until the client closes it; a bad start is one line and its code."""
    from multistack.errors import StackError

    try:
        root = stack_root(words)
        server = _import_sdk(lambda: build_server(root))
    except StackError as exc:
        from multistack.cli.exits import exit_for

        mapped = exit_for(exc)
        assert mapped is not None
        print(mapped.message, file=sys.stderr)
        sys.exit(mapped.code)  # before serving: no client is listening yet, the shell is

    import anyio
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def _import_sdk(build: Callable[[], Any]) -> Any:
    """The SDK is an extra: its absence is a one-line error with the install command."""
    from multistack.errors import EngineError

    try:
        return build()
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "mcp_types", "anyio", "pydantic"):
            raise
        raise EngineError("the MCP SDK (the Python package mcp) is not installed",
                          "pip install 'multistack[mcp]' (or pip install 'mcp>=2.3,<3')") from None
