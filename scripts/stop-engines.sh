#!/usr/bin/env bash
# Stop the dockerd that scripts/setup-engines.sh started (its pidfile), best
# effort: never fails. A Docker engine started any other way is left alone.
set -euo pipefail

DOCKERD_PIDFILE=/var/run/multistack-dockerd.pid # written by setup-engines.sh
STOP_WAIT=40                                    # dockerd stops containers first (up to 15 s)

log() { echo "stop-engines: $*" >&2; }
# shellcheck source=lib-dockerd.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-dockerd.sh"

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
stop_dockerd "$pid" "$STOP_WAIT"
rm -f "$DOCKERD_PIDFILE"
