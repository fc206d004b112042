# shellcheck shell=bash
# Shared by setup-engines.sh, second-engine.sh and stop-engines.sh (sourced, not run):
# waiting for a dockerd to answer, and stopping one. The caller defines log() and die().

# wait_dockerd PID LOG SECONDS CHECK...: until CHECK succeeds; die with the log's tail if
# dockerd exits or is not ready in time.
wait_dockerd() {
  local pid=$1 logfile=$2 seconds=$3 i
  shift 3
  for ((i = 0; i < seconds; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "dockerd exited"; }
    sleep 1
  done
  "$@" || { tail -n 20 "$logfile" >&2; die "dockerd not ready after ${seconds}s"; }
}

# stop_dockerd PID SECONDS: SIGTERM, wait, then SIGKILL if it is still there.
stop_dockerd() {
  local pid=$1 seconds=$2 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) still running after ${seconds}s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
