#!/usr/bin/env python3
"""Benchmark of an SSH engine: Docker's own ``ssh://`` against multistack's one connection
with a forwarded socket (io/ssh.py); not a test.

    .venv/bin/python bench/ssh_engine.py [--services 14] [--repeat 5]

As root, with what tests/e2e/test_remote.py needs (sshd, the test image). It starts its own
remote-like engine (scripts/remote-engine.sh, name ``msbench``, SSH port 2298; sshd keeps
``MaxSessions 10``) and removes it afterwards, with everything it created. Docker's CLI runs
plain ``ssh`` and reads only the passwd home's ssh config, so the "before" side gets the
engine's key through a wrapper ``ssh`` first on PATH (in a temporary folder): the best
Docker's own ``ssh://`` can do.

Printed, for both sides: one ``docker ps`` (median of --repeat), and ``docker compose up -d``
of a project of --services busybox services (whether it succeeds, its wall time, the first
error line). For the forwarded socket also: opening it the first time, and the check that
finds it running (what every later command pays).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SCRIPT = REPO / "scripts" / "remote-engine.sh"
NAME, PORT = "msbench", 2298


def sh(argv: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = sh(argv, env)
    return time.perf_counter() - start, done


def compose_file(folder: Path, services: int) -> Path:
    body = "".join(f"  s{i:02d}:\n    image: multistack-test/busybox:1\n    pull_policy: never\n    init: true\n"
                   f"    command: [sleep, '3600']\n" for i in range(services))
    path = folder / "compose.yml"
    path.write_text("services:\n" + body)
    return path


def side(label: str, host: str, env: dict[str, str], compose: Path, repeat: int) -> None:
    ps = [timed(["docker", "--host", host, "ps", "-q"], env)[0] for _ in range(repeat)]
    took, up = timed(["docker", "--host", host, "compose", "-p", f"bench-{label.strip(':/')}", "-f", str(compose), "up", "-d"], env)
    error = next((line for line in up.stderr.splitlines() if "rror" in line or "refused" in line),
                 up.stderr.strip().splitlines()[-1] if up.returncode and up.stderr.strip() else "")
    print(f"{label:>9}: docker ps {statistics.median(ps) * 1000:6.0f} ms (median of {repeat}); "
          f"compose up of {compose.read_text().count('image:')} services: "
          f"{'ok' if up.returncode == 0 else 'FAILED'} in {took:5.1f} s {error[-220:]}")
    sh(["docker", "--host", host, "compose", "-p", f"bench-{label.strip(':/')}", "-f", str(compose), "down", "-t", "1"], env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=14)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from invoke import Context

    from multistack.io.ssh import close_tunnel, open_tunnel, parse_target

    started = sh([str(SCRIPT), "start", NAME, str(PORT)])
    if started.returncode:
        sys.exit(f"remote-engine.sh start failed: {started.stderr}")
    folder = Path(tempfile.mkdtemp(prefix="msb-", dir="/tmp"))
    try:
        lines = dict(line.split("=", 1) for line in sh([str(SCRIPT), "env", NAME]).stdout.split())
        key, known = lines["KEY"], lines["KNOWN_HOSTS"]
        compose = compose_file(folder, args.services)
        wrapper = folder / "bin" / "ssh"
        wrapper.parent.mkdir()
        wrapper.write_text(f"#!/bin/sh\nexec {shutil.which('ssh')} -i {key} -o UserKnownHostsFile={known} "
                           "-o BatchMode=yes \"$@\"\n")
        wrapper.chmod(0o755)
        plain = {**os.environ, "PATH": f"{wrapper.parent}:{os.environ['PATH']}"}
        side("ssh://", f"ssh://root@127.0.0.1:{PORT}", plain, compose, args.repeat)

        os.environ["XDG_RUNTIME_DIR"] = str(folder)
        target = parse_target(f"ssh://root@127.0.0.1:{PORT}", key, known)
        c = Context()
        start = time.perf_counter()
        sock = open_tunnel(c, target, "bench")
        first = time.perf_counter() - start
        checks = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            open_tunnel(c, target, "bench")
            checks.append(time.perf_counter() - start)
        print(f"   tunnel: opened in {first * 1000:.0f} ms; found running in "
              f"{statistics.median(checks) * 1000:.0f} ms (median of {args.repeat})")
        side("forwarded", f"unix://{sock}", dict(os.environ), compose, args.repeat)
        close_tunnel(c, target)
    finally:
        sh([str(SCRIPT), "stop", NAME])
        for path in (folder, Path(f"/var/lib/multistack-remote/{NAME}"), Path(f"/run/multistack-remote/{NAME}")):
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
