#!/usr/bin/env bash
# Stop the dockerd that scripts/setup-engines.sh started (its pidfile), best
# effort: never fails. A Docker engine started any other way is left alone.
set -euo pipefail

DOCKERD_PIDFILE=/var/run/multistack-dockerd.pid # written by setup-engines.sh
STOP_WAIT=40                                    # dockerd stops containers first (up to 15 s)

log() { echo "stop-engines: $*" >&2; }

pid=$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)
if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
  log "no dockerd started by setup-engines.sh is running"
  rm -f "$DOCKERD_PIDFILE"
  exit 0
fi
if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != dockerd ]]; then
  log "pid $pid is not dockerd; stale pidfile removed"
  rm -f "$DOCKERD_PIDFILE"
  exit 0
fi

log "stopping dockerd (pid $pid)"
kill -TERM "$pid" 2>/dev/null || true
for ((i = 0; i < STOP_WAIT; i++)); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
  log "dockerd still running after ${STOP_WAIT}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$DOCKERD_PIDFILE"
