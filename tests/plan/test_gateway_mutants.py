"""A system's gateway forwards: every refusal's exact line (seen through `inv system.graph`, which plans).

Mutation testing left the forward checks' bounds (1-65535 both ends) and their hints unchecked.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from tests.audit.fake import FakeEngine, engine, run_program  # noqa: F401  (engine: a fixture)
from tests.plan.test_topology_mutants import COMPOSE, STACK

WHERE = "error: stack.yaml: systems.trio.gateway.forward"
HINT = '(fix: write each forward as gateway port, service and its port, e.g. "80:rest:80")'


@pytest.mark.parametrize("forward, line", [
    ('["0:rest:80"]', f"{WHERE}[0] (member HUB-1): '0:rest:80': '0' is not a port 1-65535 {HINT}"),
    ('["65536:rest:80"]', f"{WHERE}[0] (member HUB-1): '65536:rest:80': '65536' is not a port 1-65535 {HINT}"),
    ('["80:rest:0"]', f"{WHERE}[0] (member HUB-1): '80:rest:0': '0' is not a port 1-65535 {HINT}"),
    ('["x:rest:80"]', f"{WHERE}[0] (member HUB-1): 'x:rest:80': 'x' is not a port 1-65535 {HINT}"),
    ('["80:rest"]', f"{WHERE}[0] (member HUB-1): '80:rest' is not PORT:SERVICE:PORT {HINT}"),
    ('["80:rest:80", "80:mq:1883"]', f"{WHERE} (member HUB-1): gateway port 80 is forwarded twice "
                                     "(80 -> rest:80 and 80 -> mq:1883) (fix: give each forward its own gateway port)"),
    ('["80:nope:80"]', f"{WHERE}[0]: no service 'nope' in compose.yml (fix: use one of: mq, rest)"),
    ("[80]", f"{WHERE}: must be a list of strings"),
])
def test_bad_forwards(make_stack: Callable[..., Path], engine: FakeEngine, forward: str, line: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    make_stack(STACK.replace('forward: ["80:rest:80", "1883:mq:1883"]', f"forward: {forward}"), {"compose.yml": COMPOSE})
    code, out, err = run_program(["system.graph", "trio"], capsys)
    assert (code, err.strip()) == (2, line)


def test_the_ends_of_the_port_range_are_ports(make_stack: Callable[..., Path], engine: FakeEngine,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    make_stack(STACK.replace('forward: ["80:rest:80", "1883:mq:1883"]', 'forward: ["1:rest:65535", "65535:mq:1"]'),
               {"compose.yml": COMPOSE})
    code, out, err = run_program(["system.graph", "trio"], capsys)
    assert code == 0, err
    assert "  m_leaf -.->|1| s_leaf_rest\n  m_leaf -.->|65535| s_leaf_mq\n" in out
