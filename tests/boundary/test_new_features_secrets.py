"""Secrets in what the four newer features print (docs/secrets.md).

What multistack prints itself is masked: a password in a routed service's URL, shown by
``dev N info``/``ports`` beside the hostname, by ``dev.watch --once``/``--json``, and by the
``--dry`` echo of a start that syncs the router; a credential in the command of
``system.exec`` as ``--dry`` echoes it. Each case is also run with masking off, where the
secret must show (so no case passes because nothing was printed).

What the containers print is theirs: ``system.logs`` passes their lines through as they
are, as text and in ``--json`` alike (docs/secrets.md: "Output of the engines and apps
themselves ... is passed through as it is"). That is checked with a fake engine whose
``logs`` prints a password.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.boundary.test_new_features_faults import inv, make_stack
from tests.boundary.test_new_features_input import SOURCE, STACK, edit
from tests.boundary.test_secrets import GITHUB, without_masking
from tests.catalogue import run_cli

SECRET = "svc-url-pw-9"
URL_STACK = edit("url: 'http://localhost:{{ port }}/'", f"url: 'http://admin:{SECRET}@localhost:{{{{ port }}}}/'")
TOKEN_STACK = edit("url: 'http://localhost:{{ port }}/'", f"url: 'http://{GITHUB}@localhost:{{{{ port }}}}/'")
HOST = "web.1.mste2e.localhost:44080"

CASES = [
    ("info", ["dev", "1", "info"], URL_STACK, SECRET, ("admin:", HOST)),
    ("ports", ["dev", "1", "ports"], URL_STACK, SECRET, ("localhost:8100", HOST)),
    ("ports-token", ["dev", "1", "ports"], TOKEN_STACK, GITHUB, ("@localhost:8100", HOST)),
    ("dry-start-router", ["--dry", "dev", "1", "start"], URL_STACK, SECRET, ("would write", "admin:")),
    ("dry-exec-command", ["--dry", "system.exec", "trio", "NODE-A", "--", "psql", f"postgres://u:{SECRET}@db/x"],
     STACK, SECRET, ("exec -T rest psql postgres://u:", "@db/x")),
    ("dry-exec-token",
     ["--dry", "system.exec", "trio", "NODE-A", "--", "git", "clone", f"https://{GITHUB}@github.com/o/r"],
     STACK, GITHUB, ("git clone https://", "@github.com/o/r")),
]


@pytest.fixture
def stack_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    for name in ("compose.yml", "peers.txt.j2", "tasks.py"):
        (root / name).write_bytes((SOURCE / name).read_bytes())
    monkeypatch.chdir(root)
    for name in ("MULTISTACK_FILE", "MULTISTACK_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MULTISTACK_ROUTER_HOME", str(tmp_path / "router"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-engines"))  # nothing here may reach an engine
    return root


@pytest.mark.parametrize(("name", "argv", "stack", "secret", "shown"), CASES, ids=[c[0] for c in CASES])
def test_no_secret_in_what_the_new_commands_print(name, argv, stack, secret, shown, stack_root: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (stack_root / "stack.yaml").write_text(stack, encoding="utf-8")
    _code, out, err = run_cli(argv, capsys)
    printed = out + err
    assert "Traceback" not in printed, printed
    assert secret not in printed, printed
    for context in shown:
        assert context in printed, (context, printed)


@pytest.mark.parametrize(("name", "argv", "stack", "secret", "shown"), CASES, ids=[c[0] for c in CASES])
def test_the_case_shows_its_secret_without_masking(name, argv, stack, secret, shown, stack_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (stack_root / "stack.yaml").write_text(stack, encoding="utf-8")
    without_masking(monkeypatch)
    _code, out, err = run_cli(argv, capsys)
    assert secret in out + err, out + err


WATCH = [("once", URL_STACK, SECRET), ("json", URL_STACK, SECRET), ("json", TOKEN_STACK, GITHUB),
         ("once", TOKEN_STACK, GITHUB)]


@pytest.mark.parametrize(("form", "stack", "secret"), WATCH)
def test_dev_watch_masks_the_urls(form: str, stack: str, secret: str, tmp_path: Path) -> None:
    """``dev.watch --once``/``--json`` against an engine (a fake one), the URL's password masked."""
    make_stack(tmp_path)
    (tmp_path / "stack" / "stack.yaml").write_text(stack, encoding="utf-8")
    assert inv(tmp_path, ["dev", "1", "start"])[0] == 0  # a row for instance 1
    code, out, err = inv(tmp_path, ["dev.watch", f"--{form}"])
    assert code == 0 and "Traceback" not in err, err
    assert secret not in out + err
    assert "web.1.mste2e.localhost:44080" in out  # the text shows the hostname, JSON the URL too
    if form == "json":
        assert "localhost:8100" in out and "****" in out


LOG_LINE = f"DB_URL=postgres://app:{SECRET}@db:5432/app token {GITHUB}"


def test_system_logs_pass_the_containers_lines_through(tmp_path: Path) -> None:
    """Text and --json alike: the container's own line, unmasked and unchanged (docs/secrets.md)."""
    make_stack(tmp_path)
    inv(tmp_path, ["--version"])  # makes the fake engine's folder
    docker = tmp_path / "fakebin" / "docker"
    docker.write_text(docker.read_text().replace('echo "rest-1  | line $i"', f'echo "rest-1  | {LOG_LINE}"')
                      .replace("-lt 4000", "-lt 2"))
    code, out, err = inv(tmp_path, ["system.logs", "trio", "NODE-A", "--tail", "2"])
    assert code == 0, err
    assert out.splitlines() == [f"rest-1  | {LOG_LINE}"] * 2
    code, out, err = inv(tmp_path, ["system.logs", "trio", "NODE-A", "--json"])
    assert code == 0, err
    (member,) = json.loads(out)["members"]
    assert [line["text"] for line in member["lines"]] == [LOG_LINE] * 2
    assert member["lines"][0]["service"] == "rest"
