"""`multistack mcp`: started as a process in a copy of the example stack, driven by the MCP SDK's own
client (stdio_client + ClientSession), its answers validated against the output schemas.

`status` asks the real Docker engine (one `docker ps`; nothing is started): an instance that was
never started is a valid answer (status down), with the CLI's verdict line beside it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import pytest
from jsonschema import Draft202012Validator

from tests.cli.example_stack import PROGRAM, REPO, child_env, copy_example_stack, run_cli
from tests.conftest import skip_unless_installed

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

TOOLS = {"list", "status", "info", "ports", "logs", "doctor", "start", "stop", "restart", "clean"}


def multistack_command() -> list[str]:
    """The console script of this venv (what a client's config names), else the same code through python."""
    script = Path(sys.executable).parent / "multistack"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", PROGRAM]


def schema(name: str) -> dict[str, Any]:
    return json.loads((REPO / "multistack" / "schema" / "output" / f"{name}.json").read_text(encoding="utf-8"))


def assert_valid(data: Any, name: str) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(schema(name)).iter_errors(data)]
    assert errors == []


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_stack(tmp_path_factory.mktemp("mcp") / "stack", project="mcpcheck")
    done = run_cli(root, "dev", "2", "init")  # instance 2 exists: clean has something to (not) remove
    assert done.returncode == 0, done.stderr
    return root


def session(root: Path, steps: Callable[[ClientSession], Awaitable[Any]], *args: str, cwd: Path | None = None) -> Any:
    """Start `multistack mcp ARGS` in ``cwd`` (default: the stack), connect, initialise, run ``steps``."""
    try:
        import anyio
        from mcp.client.session import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client
    except ImportError:
        skip_unless_installed("the MCP SDK is not installed: pip install -e '.[test]'")
    command, *rest = multistack_command()

    async def main() -> Any:
        params = StdioServerParameters(command=command, args=[*rest, "mcp", *args], cwd=str(cwd or root),
                                       env=child_env(root))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                return await steps(client)

    return anyio.run(main)


def engine_reachable() -> bool:
    try:
        return subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_the_tools_are_listed_with_their_schemas(stack):
    async def steps(client: ClientSession) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in session(stack, steps)}
    assert set(tools) == TOOLS
    assert tools["clean"].input_schema["required"] == ["confirm"]
    assert tools["logs"].input_schema["properties"]["tail"]["maximum"] == 10000
    # a read tool's answer is {"result": <the --json document>}, its schema the schema file's
    status = tools["status"].output_schema
    assert status is not None and status["properties"]["result"]["type"] == "array"
    for tool in tools.values():
        Draft202012Validator.check_schema(tool.output_schema)


def test_ports_and_info_answer_the_cli_json(stack):
    async def steps(client: ClientSession) -> Any:
        return await client.call_tool("ports", {"instance": 1}), await client.call_tool("info", {"instance": 3})

    ports, info = session(stack, steps)
    assert not ports.is_error and not info.is_error
    assert_valid(ports.structured_content["result"], "dev.ports")
    assert_valid(info.structured_content["result"], "dev.info")
    printed = run_cli(stack, "dev", "1", "ports", "--json").stdout
    assert ports.content[0].text == printed.strip()  # the very text `--json` prints
    assert ports.structured_content["result"] == json.loads(printed)
    assert info.structured_content["result"]["instance"] == 3


def test_status_of_an_instance_never_started_is_an_answer(stack):
    if not engine_reachable():
        skip_unless_installed("the Docker engine is not reachable")

    async def steps(client: ClientSession) -> Any:
        return await client.call_tool("status", {"instance": 1}), await client.call_tool("list", {})

    status, listed = session(stack, steps)
    assert not status.is_error
    result = status.structured_content["result"]
    assert_valid(result, "dev.status")
    assert [(s["instance"], s["status"]) for s in result] == [(1, "down")]
    assert status.content[1].text.startswith("error: instance 1 is down (fix: ")  # the CLI's verdict (exit 6)
    assert_valid(listed.structured_content["result"], "dev.status")
    assert [s["instance"] for s in listed.structured_content["result"]] == [2]  # the one initialised


def test_stop_of_an_instance_that_is_not_running_is_done(stack):
    """A lifecycle tool runs the action (`inv dev 2 stop`: compose down of a project with no container;
    no PM2 daemon for this PM2_HOME, so none is asked or started) and answers what it printed."""
    if not engine_reachable():
        skip_unless_installed("the Docker engine is not reachable")

    async def steps(client: ClientSession) -> Any:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        return tools["stop"], await client.call_tool("stop", {"instance": 2})

    tool, result = session(stack, steps)
    assert not result.is_error, result.content
    assert result.structured_content == {"action": "stop", "instance": 2, "output": result.content[0].text}
    Draft202012Validator(tool.output_schema).validate(result.structured_content)


def test_a_failing_command_is_a_tool_error_with_its_one_line(stack):
    async def steps(client: ClientSession) -> Any:
        return await client.call_tool("info", {"instance": 99})

    result = session(stack, steps)
    cli = run_cli(stack, "dev", "99", "info", "--json")
    assert result.is_error
    assert [c.text for c in result.content] == [cli.stderr.strip()]
    assert result.content[0].text == ("error: instance 99 is out of range 0-9 "
                                      "(fix: use 0-9, or widen `instances:` in stack.yaml)")


def test_clean_without_confirm_removes_nothing(stack):
    async def steps(client: ClientSession) -> Any:
        return (await client.call_tool("clean", {"instance": 2, "confirm": False}),
                await client.call_tool("clean", {"instance": 2}),
                await client.call_tool("ports", {"instance": "1"}))

    unconfirmed, missing, wrong = session(stack, steps)
    assert unconfirmed.is_error and "\n" not in unconfirmed.content[0].text
    assert unconfirmed.content[0].text.endswith("(fix: call clean again with confirm: true)")
    assert missing.is_error
    assert (stack / ".instances" / "instance-2" / "instance.json").is_file()
    assert wrong.is_error and wrong.content[0].text.startswith("error: ports: instance must be a whole number")


def test_root_names_the_stack_from_elsewhere(stack, tmp_path):
    async def steps(client: ClientSession) -> Any:
        return await client.call_tool("ports", {"instance": 0})

    result = session(stack, steps, "--root", str(stack), cwd=tmp_path)
    assert not result.is_error
    assert_valid(result.structured_content["result"], "dev.ports")


def test_no_stack_is_one_line_before_serving(tmp_path, stack):
    done = subprocess.run([*multistack_command(), "mcp"], cwd=tmp_path, env=child_env(stack), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert done.stdout == ""


def test_without_the_sdk_it_says_how_to_install_it(stack):
    """The SDK is an extra: its absence is one line with the install command, exit 3 (a missing tool)."""
    hide_sdk = ("import builtins, sys\n"
                "real = builtins.__import__\n"
                "def no_sdk(name, *args, **kwargs):\n"
                "    if name.split('.')[0] in ('mcp', 'mcp_types'):\n"
                "        raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
                "    return real(name, *args, **kwargs)\n"
                "builtins.__import__ = no_sdk\n"
                "from multistack.cli.program import main\n"
                "main(['mcp'])\n")
    done = subprocess.run([sys.executable, "-c", hide_sdk], cwd=stack, env=child_env(stack), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 3
    assert done.stderr == ("error: the MCP SDK (the Python package mcp) is not installed "
                           "(fix: pip install 'multistack[mcp]' "
                           "(or pip install 'mcp>=2.3,<3'))\n")
