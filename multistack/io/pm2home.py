"""Whether a PM2 daemon runs for this ``PM2_HOME``, asked without starting one.

Every ``pm2`` command spawns the daemon when none runs. Read commands ask here before
``pm2 jlist`` (no daemon means no apps, and ``status`` must not leave a daemon the user
did not have), and a start that fails and rolls back asks here whether the daemon was
the user's before it stops it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping


def pm2_home(env: Mapping[str, str] | None = None) -> Path:
    """The folder of the PM2 daemon commands talk to: ``$PM2_HOME``, else ``~/.pm2``."""
    env = os.environ if env is None else env
    return Path(env["PM2_HOME"]).expanduser() if env.get("PM2_HOME") else Path.home() / ".pm2"


def daemon_running(home: Path | None = None) -> bool:
    """Whether the daemon of ``home`` runs: its sockets exist and ``pm2.pid`` names a live process.

    A pid file left by a daemon that died (a crash, a reboot) is not a daemon.
    """
    home = home or pm2_home()
    if not ((home / "rpc.sock").exists() and (home / "pub.sock").exists()):
        return False
    try:
        pid = int((home / "pm2.pid").read_text(encoding="utf-8").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True
