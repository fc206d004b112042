#!/usr/bin/env bash
# Set up a checkout on a fresh Debian machine (as root): a virtualenv with multistack
# and its test tools, then the engines (Docker, Compose v2 plugin, PM2, test images).
# Idempotent: a second run only checks. Usage: scripts/bootstrap.sh [--no-engines]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MULTISTACK_VENV:-$REPO/.venv}
PYTHON=${PYTHON:-python3}
log() { echo "bootstrap: $*" >&2; }

if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 needs python3-venv for `-m venv`.
    log "installing python3-venv"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
if ! "$VENV/bin/python" -c "import multistack, pytest, hypothesis, jsonschema, compose, importlinter, rich, textual, psycopg, redis, paho.mqtt" 2>/dev/null; then
  log "installing multistack, its test tools and the demo's client libraries into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$REPO[test,demo]"
fi
if [[ ${1:-} != --no-engines ]]; then
  MULTISTACK_VENV=$VENV "$REPO/scripts/setup-engines.sh"
fi
