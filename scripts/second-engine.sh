#!/usr/bin/env bash
# A second Docker engine beside the first, for the multi-engine tests
# (tests/e2e/test_engines.py), as root, on this machine only:
#   scripts/second-engine.sh start DIR   # dockerd on unix://DIR/docker.sock, context registered
#   scripts/second-engine.sh stop DIR    # dockerd, bridge and context removed; DIR/data kept
# Everything it owns lives in DIR (socket, data root, exec root, pidfile, log) plus a
# bridge and a docker context, both named below. Quiet on success: one line on stdout.
#
# Why these flags (checked beside the engine of scripts/setup-engines.sh, dockerd 20.10):
# - --bridge: its own default bridge (created here), never docker0;
# - --default-address-pool: the first engine hands out 172.17-31.x and 192.168.x to
#   compose networks, and a second engine does not know them: the same subnet on two
#   bridges breaks routing for both. This pool is the second engine's alone;
# - --iptables=false: 20.10 flushes and re-creates the DOCKER chains at start, which
#   would drop the first engine's rules. Published 127.0.0.1 ports still work (through
#   docker-proxy, which needs no iptables rule); containers get no NAT to the outside,
#   which the tests do not need;
# - --config-file: an empty one of its own, so /etc/docker/daemon.json of the first
#   engine (hosts, pidfile...) can never apply to this one.
# Env: MULTISTACK_ENGINE2_CONTEXT (default multistack-e2e-2), MULTISTACK_ENGINE2_BRIDGE
# (default ms-e2e-br0), MULTISTACK_ENGINE2_NET (default 10.99.0.1/24),
# MULTISTACK_ENGINE2_POOL (default 10.98.0.0/16), MULTISTACK_ENGINE2_IMAGES (images copied
# from the first engine, default multistack-test/busybox:1).
set -euo pipefail

CONTEXT=${MULTISTACK_ENGINE2_CONTEXT:-multistack-e2e-2}
BRIDGE=${MULTISTACK_ENGINE2_BRIDGE:-ms-e2e-br0}
BRIDGE_NET=${MULTISTACK_ENGINE2_NET:-10.99.0.1/24}
POOL=${MULTISTACK_ENGINE2_POOL:-10.98.0.0/16}
IMAGES=${MULTISTACK_ENGINE2_IMAGES:-multistack-test/busybox:1}
WAIT=60      # seconds for dockerd to answer
STOP_WAIT=40 # dockerd stops its containers first

log() { echo "second-engine: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib-dockerd.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-dockerd.sh"
usage() { die "usage: $0 start|stop DIR"; }

(($# == 2)) || usage
action=$1
DIR=$2
[[ $DIR == /* ]] || DIR=$PWD/$DIR
SOCK=$DIR/docker.sock
PIDFILE=$DIR/docker.pid
LOG=$DIR/dockerd.log
((${#SOCK} < 100)) || die "$SOCK is too long for a unix socket path: use a shorter DIR"
engine_ok() { timeout 10 docker -H "unix://$SOCK" info >/dev/null 2>&1; }

start() {
  [[ $(id -u) == 0 ]] || die "run as root"
  mkdir -p "$DIR/data" "$DIR/exec"
  if engine_ok; then
    log "already running on unix://$SOCK"
  else
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
      ip link add "$BRIDGE" type bridge
      ip addr add "$BRIDGE_NET" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    [[ -f $DIR/daemon.json ]] || echo '{}' >"$DIR/daemon.json"
    # setsid + every fd redirected: not killed with our terminal, and a caller reading
    # our output (a test's subprocess.run) does not wait for dockerd to exit.
    setsid dockerd --config-file "$DIR/daemon.json" -H "unix://$SOCK" \
      --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$PIDFILE" \
      --bridge "$BRIDGE" --iptables=false --ip-masq=false \
      --default-address-pool "base=$POOL,size=24" \
      </dev/null >>"$LOG" 2>&1 &
    wait_dockerd $! "$LOG" "$WAIT" engine_ok
  fi
  if docker context inspect "$CONTEXT" >/dev/null 2>&1; then
    docker context update "$CONTEXT" --docker "host=unix://$SOCK" >/dev/null
  else
    docker context create "$CONTEXT" --description "multistack e2e second engine" \
      --docker "host=unix://$SOCK" >/dev/null
  fi
  for image in $IMAGES; do
    if ! docker -H "unix://$SOCK" image inspect "$image" >/dev/null 2>&1; then
      docker image inspect "$image" >/dev/null 2>&1 || die "$image is not on the first engine (scripts/build-test-images.sh)"
      docker save "$image" | docker -H "unix://$SOCK" load >/dev/null
    fi
  done
  echo "second engine ready: context $CONTEXT, unix://$SOCK, bridge $BRIDGE," \
    "docker $(docker -H "unix://$SOCK" version -f '{{.Server.Version}}')"
}

stop() {
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]; then
    stop_dockerd "$pid" "$STOP_WAIT"
  fi
  rm -f "$PIDFILE"
  # The exec root holds netns bind mounts; unmount what a killed dockerd left behind.
  if [[ -d $DIR/exec ]]; then
    { grep -o " $DIR/exec[^ ]*" /proc/mounts || true; } | sort -r | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
  fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link set "$BRIDGE" down 2>/dev/null || true
    ip link delete "$BRIDGE" type bridge 2>/dev/null || true
  fi
  if docker context inspect "$CONTEXT" >/dev/null 2>&1; then
    [[ $(docker context show 2>/dev/null) != "$CONTEXT" ]] || docker context use default >/dev/null
    docker context rm -f "$CONTEXT" >/dev/null
  fi
  echo "second engine stopped: context $CONTEXT removed, bridge $BRIDGE removed"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
