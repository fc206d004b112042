"""A mesh simulation node (example): listens on its port and greets its peers.

Its configuration (node.json) is written by multistack from the system's topology:
{"node_id": 2, "callsign": "LON-B", "listen_port": 8024, "peers": ["dun-a:8023", "nyc-c:8025"], ...}
Every greeting it receives is counted in /var/lib/meshsim/state.json (the node's own volume).
`meshnode.py --check node.json` exits 0 when the node answers on its port (the healthcheck).
"""
import json
import socket
import sys
import threading
import time
from pathlib import Path

STATE = Path("/var/lib/meshsim/state.json")


def load(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def serve(conf: dict) -> None:
    counts = json.loads(STATE.read_text()) if STATE.is_file() else {}
    server = socket.create_server(("0.0.0.0", conf["listen_port"]), reuse_port=True)
    while True:
        conn, _ = server.accept()
        with conn:
            line = conn.recv(256).decode(errors="replace").strip()
            if line.startswith("HELLO "):
                sender = line[6:]
                counts[sender] = counts.get(sender, 0) + 1
                STATE.parent.mkdir(parents=True, exist_ok=True)
                STATE.write_text(json.dumps(counts, sort_keys=True))
            conn.sendall(f"{conf['callsign']} node {conf['node_id']}\n".encode())


def greet(conf: dict) -> None:
    while True:
        for peer in conf["peers"]:
            host, _, port = peer.rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=3) as conn:
                    conn.sendall(f"HELLO {conf['callsign']}\n".encode())
                    print(f"{conf['callsign']} -> {peer}: {conn.recv(256).decode().strip()}", flush=True)
            except OSError as exc:
                print(f"{conf['callsign']} -> {peer}: unreachable ({exc})", flush=True)
        time.sleep(10)


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        conf = load(sys.argv[2])
        with socket.create_connection(("127.0.0.1", conf["listen_port"]), timeout=2) as conn:
            conn.sendall(b"PING\n")
        sys.exit(0)
    conf = load(sys.argv[1])
    print(f"{conf['callsign']} (node {conf['node_id']}) on :{conf['listen_port']}, peers {conf['peers'] or 'none'}",
          flush=True)
    threading.Thread(target=greet, args=(conf,), daemon=True).start()
    serve(conf)
