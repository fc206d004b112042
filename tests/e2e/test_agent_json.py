"""A running instance's `--json` documents match their schemas, and the MCP server drives it.

tests/cli validates the documents of instances that never ran (empty `services` and `apps`);
here instance 1 of the e2e stack really runs (two busybox httpd containers, two PM2 apps), so
every field of a container and of an app is checked against `dev.status.json`. Then
`multistack mcp` (the SDK's stdio client) reads its status and stops it, and the engine and
PM2 are asked from outside that it stopped. Host ports 47000-47999 (instance 1: 47100-47103).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import skip_unless_installed

SCHEMAS = Path(__file__).resolve().parents[2] / "multistack" / "schema" / "output"
PORTS = {"18000": "47000", "18001": "47001", "18002": "47002", "18003": "47003"}


def schema_errors(data: Any, name: str) -> list[str]:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(schema).iter_errors(data)]


@pytest.fixture
def running(e2e):  # type: ignore[no-untyped-def]
    """The e2e stack on this test's ports (stack.yaml, compose.yml, the apps' env files), instance 1 started."""
    for name in ("stack.yaml", "compose.yml", "api.env", "admin.env"):
        path = e2e.root / name
        text = path.read_text()
        for old, new in PORTS.items():
            text = text.replace(old, new)
        path.write_text(text)
    assert not any(old in (e2e.root / "stack.yaml").read_text() for old in PORTS)
    e2e.inv("dev", "1", "start", timeout=300, check=True)
    return e2e


def test_a_running_instance_matches_the_status_schema_and_mcp_stops_it(running):
    status = running.inv("dev", "1", "status", "--json")
    assert status.rc == 0, status
    states = json.loads(status.stdout)
    assert states[0]["status"] == "healthy"
    assert {s["service"] for s in states[0]["services"]} == {"web", "store"}
    assert len(states[0]["apps"]) == 2 and all(a["pid"] > 0 for a in states[0]["apps"])
    assert schema_errors(states, "dev.status") == []
    everything = running.inv("dev", "status", "--all", "--json")
    assert schema_errors(json.loads(everything.stdout), "dev.status") == []

    answers = mcp_session(running, [("status", {"instance": 1}), ("stop", {"instance": 1})])
    (read, stop) = answers
    assert not read.is_error
    assert read.structured_content["result"][0]["status"] == "healthy"
    assert schema_errors(read.structured_content["result"], "dev.status") == []
    assert not stop.is_error, stop.content
    # from outside: no container of instance 1 runs, its PM2 apps are stopped
    assert [c for c in running.containers(1) if c["state"] == "running"] == []
    assert all(state != "online" for state in running.apps().values())
    assert running.fetch(47100) is None


def mcp_session(stack, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:  # type: ignore[no-untyped-def]
    try:
        import anyio
        from mcp.client.session import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client
    except ImportError:
        skip_unless_installed("the MCP SDK is not installed: pip install -e '.[test]'")
    script = Path(sys.executable).parent / "multistack"

    async def main() -> list[Any]:
        params = StdioServerParameters(command=str(script), args=["mcp"], cwd=str(stack.root), env=stack.env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                return [await client.call_tool(name, args, read_timeout_seconds=300) for name, args in calls]

    return anyio.run(main)
