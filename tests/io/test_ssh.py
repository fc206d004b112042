"""SSH engines (io/ssh.py): the command lines, the one-line errors read from ssh's real stderr,
where the sockets live, a context's endpoint read from docker's store, and the order in which a
tunnel is opened (a RecordingContext answers; no ssh runs here)."""
from __future__ import annotations

import hashlib
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from invoke import Config, Result

from multistack.errors import EngineError
from multistack.io import ssh
from tests.recording import RecordingContext

TARGET = ssh.parse_target("ssh://root@127.0.0.1:2290", "/keys/k", "/keys/known")

# What OpenSSH 9.2 really prints (captured against scripts/remote-engine.sh's sshd).
UNKNOWN = "Host key verification failed.\n"
CHANGED = ("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
           "Host key for [127.0.0.1]:2290 has changed and you have requested strict checking.\n"
           "Host key verification failed.\n")
DENIED = "root@127.0.0.1: Permission denied (publickey).\n"
REFUSED = "ssh: connect to host 127.0.0.1 port 2291: Connection refused\n"
UNRESOLVED = "ssh: Could not resolve hostname nosuchhost.invalid: Name or service not known\n"
SESSIONS = "mux_client_request_session: session request failed: Session open refused by peer\n"
TOO_LONG = 'unix_listener: path "/very/long.ctl.XXXX" too long for Unix domain socket\n'


def test_a_target_from_its_url():
    t = ssh.parse_target("ssh://dev@ci.lan:2222", "~/k")
    assert (t.user, t.host, t.port, t.known_hosts) == ("dev", "ci.lan", 2222, None)
    assert t.key == str(Path.home() / "k")
    assert t.destination() == ["-p", "2222", "-l", "dev", "--", "ci.lan"]
    assert ssh.parse_target("ssh://box").destination() == ["--", "box"]


@pytest.mark.parametrize("url", ["tcp://box:2376", "ssh://", "ssh://[::1"])
def test_not_an_ssh_url(url):
    with pytest.raises(EngineError, match="is not an SSH URL"):
        ssh.parse_target(url)


def test_the_ident_depends_on_url_key_and_known_hosts():
    other_key = ssh.parse_target(TARGET.url, "/keys/other", "/keys/known")
    assert TARGET.ident != other_key.ident and len(TARGET.ident) == 16
    assert TARGET.ident == ssh.parse_target(TARGET.url, "/keys/k", "/keys/known").ident


def test_the_master_runs_in_the_background_without_prompting():
    argv = ssh.master_argv(TARGET, Path("/r/x.ctl"))
    text = " ".join(argv)
    for option in ("BatchMode=yes", "ControlMaster=yes", "ControlPath=/r/x.ctl", "ControlPersist=30m",
                   "UserKnownHostsFile=/keys/known", "StreamLocalBindUnlink=yes", "IdentitiesOnly=yes"):
        assert option in text
    assert argv[argv.index("-i") + 1] == "/keys/k"
    assert argv[-7:] == ["-fN", "-p", "2290", "-l", "root", "--", "127.0.0.1"]


def test_the_forward_goes_through_the_master():
    argv = ssh.forward_argv(TARGET, Path("/r/x.ctl"), Path("/r/x.sock"), "/run/docker.sock")
    assert argv[argv.index("-O") + 1] == "forward"
    assert argv[argv.index("-L") + 1] == "/r/x.sock:/run/docker.sock"
    assert ssh.check_argv(TARGET, Path("/r/x.ctl"))[:5] == ["ssh", "-o", "ControlPath=/r/x.ctl", "-O", "check"]


@pytest.mark.parametrize("answer, path", [
    ("unix:///run/multistack-remote/x/docker.sock\n", "/run/multistack-remote/x/docker.sock"),
    ("", "/var/run/docker.sock"),
    ("tcp://127.0.0.1:2375\n", "/var/run/docker.sock"),
    ("unix://\n", "/var/run/docker.sock"),
])
def test_the_remote_socket(answer, path):
    assert ssh.remote_socket(answer) == path


@pytest.mark.parametrize("stderr, meaning, fix", [
    (UNKNOWN, "its host key is unknown", "ssh-keyscan -p 2290 127.0.0.1 >> /keys/known"),
    (CHANGED, "its host key changed since it was recorded", "ssh-keygen -R 127.0.0.1 -f /keys/known"),
    (DENIED, "authentication refused", "ssh_key:"),
    (REFUSED, "connection refused", "start sshd there"),
    (UNRESOLVED, "unknown host name", "check the host"),
    (SESSIONS, "MaxSessions", "raise MaxSessions"),
    (TOO_LONG, "the socket folder's path is too long", "XDG_RUNTIME_DIR"),
])
def test_each_ssh_failure_is_one_line_with_its_fix(stderr, meaning, fix):
    error = ssh.ssh_problem(stderr, TARGET, "remote")
    line = error.line()
    assert "\n" not in line
    assert line.startswith("error: engine remote unreachable over SSH (ssh://root@127.0.0.1:2290): ")
    assert meaning in line and fix in line.split("(fix: ", 1)[1]
    assert error.exit_code == 3


def test_an_unknown_failure_keeps_ssh_s_last_line():
    line = ssh.ssh_problem("something odd\nkex failed: weird\n", TARGET, "remote").line()
    assert "kex failed: weird" in line and "(fix: check `ssh -p 2290 -l root -- 127.0.0.1 docker info`" in line


def test_the_socket_folder_is_short(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert ssh.runtime_path() == Path("/run/user/1000/multistack-ssh")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/" + "x" * 80)
    assert ssh.runtime_path().name.startswith("multistack-ssh-")  # too long for a socket path: /tmp
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "s")
    folder = ssh.runtime_dir()
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700


def test_a_folder_others_can_read_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "multistack-ssh")
    (tmp_path / "multistack-ssh").mkdir(mode=0o755)
    (tmp_path / "multistack-ssh").chmod(0o755)
    with pytest.raises(EngineError, match="is not a private folder of this user"):
        ssh.runtime_dir()


def test_a_context_endpoint_is_read_from_docker_s_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"far").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "far", "Endpoints": {"docker": {"Host": "ssh://me@far"}}}))
    assert ssh.context_host("far") == "ssh://me@far"
    assert ssh.context_host("none") is None
    (meta / "meta.json").write_text("{broken")
    assert ssh.context_host("far") is None


def _context(answers: dict[str, Result], dry: bool = False) -> RecordingContext:
    table: dict[Any, Any] = {re.compile(k): v for k, v in answers.items()}
    table[re.compile(".*")] = Result("")
    return RecordingContext(config=Config(overrides={"run": {"dry": dry}}), run=table, repeat=True)


def test_a_tunnel_is_opened_master_then_socket_then_forward(monkeypatch, tmp_path):
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "s")
    c = _context({r".*docker context inspect": Result("unix:///run/r/docker.sock\n")})
    local = ssh.open_tunnel(c, TARGET, "remote")
    assert local == str(tmp_path / "s" / f"{TARGET.ident}.sock")
    assert [cmd.split(" -O ")[-1].split()[0] if " -O " in cmd else ("master" if "-fN" in cmd else "ask")
            for cmd in c.commands] == ["master", "ask", "forward"]
    assert f"-L {local}:/run/r/docker.sock" in c.commands[2]


def test_a_running_master_is_reused_with_one_check(monkeypatch, tmp_path):
    folder = tmp_path / "s"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(ssh, "runtime_path", lambda: folder)
    control, local = ssh.paths(TARGET, folder)
    control.write_text("")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(local))
    try:
        c = _context({})
        assert ssh.open_tunnel(c, TARGET, "remote") == str(local)
        assert len(c.commands) == 1 and " -O check " in c.commands[0]
    finally:
        server.close()


def test_a_refused_master_is_the_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "s")
    c = _context({r"ssh .*-fN": Result(stderr=DENIED, exited=255)})
    with pytest.raises(EngineError, match="authentication refused"):
        ssh.open_tunnel(c, TARGET, "remote")
    assert len(c.commands) == 1  # nothing forwarded after a failed connection


def test_dry_shows_the_ssh_commands_and_creates_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(ssh, "runtime_path", lambda: tmp_path / "s")
    c = _context({}, dry=True)
    ssh.open_tunnel(c, TARGET, "remote")
    assert not (tmp_path / "s").exists()
    assert any("-fN" in cmd for cmd in c.commands) and any(" -O forward " in cmd for cmd in c.commands)
