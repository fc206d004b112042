"""The gateway's haproxy.cfg: forwards parsed and checked, text deterministic, and HAProxy's own `-c` accepts it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from multistack.errors import StackError
from multistack.plan.gateway import Forward, backend_host, check_argv, check_forwards, haproxy_config, parse_forward
from multistack.model.stack import load_stack
from tests.conftest import skip_unless_installed

ROOT = Path(__file__).resolve().parents[2]


def config(forwards: list[Forward]) -> str:
    return haproxy_config(forwards, member="retriever", system="suite", project_name="shipsec-suite-retriever",
                          network="meshnet", project_network="shipsec-suite-retriever_appnet")


SUITE = [Forward(80, "rest", 80), Forward(1883, "mq", 1883), Forward(9001, "mq", 9001)]


def test_parse_forward():
    assert parse_forward("80:rest:8080", "here") == Forward(80, "rest", 8080)
    assert Forward(80, "rest", 8080).describe() == "80 -> rest:8080"
    for bad in ("80:rest", "80::80", "x:rest:80", "80:rest:0", "80:rest:70000", "a:b:c:d"):
        with pytest.raises(StackError, match=r"^here: "):
            parse_forward(bad, "here")


def test_a_gateway_port_is_forwarded_once():
    with pytest.raises(StackError, match="gateway port 80 is forwarded twice"):
        check_forwards([Forward(80, "rest", 80), Forward(80, "mq", 1883)], "here")


def test_config_text():
    text = config(SUITE)
    assert "mode tcp" in text
    assert "nameserver docker 127.0.0.11:53" in text
    assert "default-server init-addr last,libc,none resolvers docker" in text
    for port, service, target in ((80, "rest", 80), (1883, "mq", 1883), (9001, "mq", 9001)):
        assert f"frontend port_{port}\n    bind :{port}\n    default_backend port_{port}\n" in text
        assert f"backend port_{port}\n    server {service} {service}.shipsec-suite-retriever_appnet:{target}\n" in text
    assert "answers as `retriever` on the shared network meshnet" in text
    assert backend_host("mq", "p_appnet") == "mq.p_appnet"


def test_config_is_deterministic_and_ordered_by_port():
    assert config(list(reversed(SUITE))) == config(SUITE)
    text = config(SUITE)
    assert text.index("port_80\n") < text.index("port_1883\n") < text.index("port_9001\n")
    assert text.endswith("\n") and not text.endswith("\n\n")


def haproxy_or_skip() -> str:
    binary = shutil.which("haproxy")
    if not binary:
        skip_unless_installed("haproxy is not installed (apt-get install haproxy)")
    return binary


def haproxy_check(binary: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(check_argv(str(path), binary), capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("forwards", [SUITE, [Forward(8024, "node", 8024)]])
def test_haproxy_accepts_the_config(tmp_path, forwards):
    binary = haproxy_or_skip()
    path = tmp_path / "haproxy.cfg"
    path.write_text(config(forwards))
    done = haproxy_check(binary, path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration file is valid" in done.stdout + done.stderr
    # The backends do not resolve on this host, which init-addr none allows: a warning, not an error.
    assert "[ALERT]" not in done.stdout + done.stderr


def test_haproxy_accepts_every_member_of_the_example_systems(tmp_path):
    from multistack.act import systems

    binary = haproxy_or_skip()
    stack = load_stack(ROOT / "stack.yaml")
    for system in stack.systems.values():
        plan = systems.plan_system(stack, system)
        for mp in plan.members:
            path = tmp_path / f"{mp.project_name}.cfg"
            path.write_text(systems.render_gateway(plan, mp))
            done = haproxy_check(binary, path)
            assert done.returncode == 0, f"{mp.project_name}:\n{done.stdout}{done.stderr}"


def test_haproxy_rejects_a_broken_config(tmp_path):
    """The check is real: a config it refuses fails it."""
    binary = haproxy_or_skip()
    path = tmp_path / "haproxy.cfg"
    path.write_text(config(SUITE).replace("mode tcp", "mode nonsense"))
    assert haproxy_check(binary, path).returncode != 0
