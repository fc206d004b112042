"""The suite's middleware (example): reads its system configuration and reports its peers.

SYSTEM_CONF is the member's overlay written by multistack (KEY=VALUE lines). Without it,
or with the standalone form that `inv system.down suite` leaves, the member runs alone.
"""
import os
import socket
import time

CONF = os.environ.get("SYSTEM_CONF", "/etc/suite/system.conf")


def read_conf(path: str) -> dict:
    values = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, _, value = line.partition("=")
                    values[key] = value
    except FileNotFoundError:
        pass
    return values


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


while True:
    conf = read_conf(CONF)
    role = conf.get("SYSTEM_ROLE", "standalone")
    peers = [(conf.get(f"{who}_IP"), conf.get(f"{who}_EBUS")) for who in ("MASTER", "RETRIEVER")]
    report = ", ".join(f"{ip} (ebus {ebus}): {'up' if reachable(ip, 1883) else 'down'}"
                       for ip, ebus in peers if ip) or "no peers"
    print(f"mw: role {role}, ebus {conf.get('SELF_EBUS', '?')}; {report}", flush=True)
    time.sleep(30)
