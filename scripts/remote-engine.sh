#!/usr/bin/env bash
# A remote-like Docker engine on this machine, for the remote-engine tests (issue 18),
# as root:
#   scripts/remote-engine.sh start NAME SSH_PORT   # dockerd + sshd in their own mount namespace
#   scripts/remote-engine.sh stop NAME             # both stopped, bridge removed; data kept
#   scripts/remote-engine.sh env NAME              # prints DIR, SOCK, KEY, SSH_PORT, SSH_URL lines
#
# What makes it remote-like: dockerd and sshd run in a mount namespace of their own
# (unshare --mount, private propagation) in which /tmp, /work, /home and /root (and every
# folder in MULTISTACK_REMOTE_HIDE) are empty tmpfs folders. A bind mount of a file of the
# client's checkout, or of a pytest tmp_path, therefore resolves on the "remote" side to
# nothing, and Docker creates an empty directory in its place: exactly what a real remote
# host does (docker/compose#8484, #9075). The engine is reached only through SSH:
# `docker -H ssh://root@127.0.0.1:SSH_PORT` with the key below (sshd: key authentication
# only, root, on 127.0.0.1, its own host keys and config; DOCKER_HOST for the session set by
# sshd's SetEnv, so `docker system dial-stdio` reaches this engine).
#
# Everything it owns lives in /var/lib/multistack-remote/NAME (data root, keys, configs,
# logs; outside every hidden folder) and /run/multistack-remote/NAME (socket, exec root,
# pid files), plus a bridge (ms-rem-<NAME>) and its address pool. Published ports bind in
# this machine's network namespace, so 127.0.0.1:PORT reaches the remote's containers.
# Env: MULTISTACK_REMOTE_HIDE (extra folders to hide), MULTISTACK_REMOTE_NET (bridge
# address, default 10.97.0.1/24), MULTISTACK_REMOTE_POOL (default 10.96.0.0/16),
# MULTISTACK_REMOTE_IMAGES (images copied from the first engine, default the test images).
set -euo pipefail

WAIT=60
STOP_WAIT=40
log() { echo "remote-engine: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib-dockerd.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-dockerd.sh"
usage() { die "usage: $0 start NAME SSH_PORT | stop NAME | env NAME"; }

(($# >= 2)) || usage
action=$1
NAME=$2
[[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,15}$ ]] || die "NAME must be 1-16 of a-z 0-9 -"
DIR=/var/lib/multistack-remote/$NAME
RUN=/run/multistack-remote/$NAME
SOCK=$RUN/docker.sock
KEY=$DIR/client_key
BRIDGE=ms-rem-${NAME:0:8}
BRIDGE_NET=${MULTISTACK_REMOTE_NET:-10.97.0.1/24}
POOL=${MULTISTACK_REMOTE_POOL:-10.96.0.0/16}
IMAGES=${MULTISTACK_REMOTE_IMAGES:-multistack-test/busybox:1 multistack-test/haproxy:1}
HIDE="/tmp /work /home /root ${MULTISTACK_REMOTE_HIDE:-}"

# This machine's FORWARD policy is the first engine's (DROP, with br_netfilter on): with
# --iptables=false the remote's containers could not reach each other across its bridges
# (a system's gateways). One ACCEPT rule for the remote's pool, tagged, removed by stop:
# what the remote host's own dockerd would have set up there.
FW_TAG="multistack-remote-$NAME"
fw_chain() { iptables -S DOCKER-USER >/dev/null 2>&1 && echo DOCKER-USER || echo FORWARD; }
fw_open() {
  command -v iptables >/dev/null || return 0
  local chain
  chain=$(fw_chain)
  iptables -C "$chain" -s "$POOL" -d "$POOL" -m comment --comment "$FW_TAG" -j ACCEPT 2>/dev/null ||
    iptables -I "$chain" 1 -s "$POOL" -d "$POOL" -m comment --comment "$FW_TAG" -j ACCEPT
}
fw_close() {
  command -v iptables >/dev/null || return 0
  local chain
  for chain in DOCKER-USER FORWARD; do
    while iptables -D "$chain" -s "$POOL" -d "$POOL" -m comment --comment "$FW_TAG" -j ACCEPT 2>/dev/null; do :; done
  done
}

engine_ok() { timeout 10 docker -H "unix://$SOCK" info >/dev/null 2>&1; }
ssh_port() { cat "$DIR/ssh_port" 2>/dev/null || true; }
ssh_ok() {
  timeout 15 ssh -i "$KEY" -p "$(ssh_port)" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$DIR/known_hosts" root@127.0.0.1 docker info >/dev/null 2>&1
}

keys() {
  mkdir -p "$DIR" "$RUN"
  chmod 700 "$DIR"
  [[ -f $DIR/host_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/host_ed25519"
  [[ -f $KEY ]] || ssh-keygen -q -t ed25519 -N '' -f "$KEY" -C "multistack remote-engine $NAME"
  cp "$KEY.pub" "$DIR/authorized_keys"
  chmod 600 "$DIR/authorized_keys"
}

sshd_config() {
  local port=$1
  cat >"$DIR/sshd_config" <<EOF
# Written by scripts/remote-engine.sh: the "remote" host's sshd (key auth, root, loopback).
ListenAddress 127.0.0.1
Port $port
HostKey $DIR/host_ed25519
PidFile $RUN/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# Debian's default is 10: the MaxSessions failure of docker/compose#11677 is what the
# remote-engine tests must not hit, so it is kept at sshd's default on purpose.
MaxSessions 10
SetEnv DOCKER_HOST=unix://$SOCK
LogLevel VERBOSE
EOF
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$DIR/host_ed25519.pub")" >"$DIR/known_hosts"
}

# Runs inside the new mount namespace: hide the client's folders, then start both daemons.
inside() {
  for folder in $HIDE; do
    [[ -d $folder ]] && mount -t tmpfs -o size=16m,mode=1777 tmpfs "$folder"
  done
  mkdir -p /root && chmod 700 /root
  mkdir -p /run/sshd
  [[ -f $DIR/daemon.json ]] || echo '{}' >"$DIR/daemon.json"
  setsid dockerd --config-file "$DIR/daemon.json" -H "unix://$SOCK" \
    --data-root "$DIR/data" --exec-root "$RUN/exec" --pidfile "$RUN/docker.pid" \
    --bridge "$BRIDGE" --iptables=false --ip-masq=false \
    --default-address-pool "base=$POOL,size=24" </dev/null >>"$DIR/dockerd.log" 2>&1 &
  /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
}

start() {
  local port=${1:?SSH_PORT}
  [[ $(id -u) == 0 ]] || die "run as root"
  [[ -x /usr/sbin/sshd ]] || die "sshd missing (apt-get install -y openssh-server)"
  ((${#SOCK} < 100)) || die "$SOCK is too long for a unix socket path"
  keys
  echo "$port" >"$DIR/ssh_port"
  if engine_ok && ssh_ok; then
    log "already running: ssh://root@127.0.0.1:$port"
  else
    sshd_config "$port"
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
      ip link add "$BRIDGE" type bridge
      ip addr add "$BRIDGE_NET" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    export -f inside
    export DIR RUN SOCK BRIDGE POOL HIDE
    setsid unshare --mount --propagation private bash -c inside </dev/null >>"$DIR/unshare.log" 2>&1
    for ((i = 0; i < WAIT; i++)); do
      [[ -f $RUN/docker.pid ]] && break
      sleep 1
    done
    wait_dockerd "$(cat "$RUN/docker.pid")" "$DIR/dockerd.log" "$WAIT" engine_ok
    for ((i = 0; i < 20; i++)); do ssh_ok && break; sleep 0.5; done
    ssh_ok || { tail -n 20 "$DIR/sshd.log" >&2; die "sshd on 127.0.0.1:$port does not answer"; }
  fi
  fw_open
  for image in $IMAGES; do
    if ! docker -H "unix://$SOCK" image inspect "$image" >/dev/null 2>&1; then
      docker image inspect "$image" >/dev/null 2>&1 || die "$image is not on the first engine (scripts/build-test-images.sh)"
      docker save "$image" | docker -H "unix://$SOCK" load >/dev/null
    fi
  done
  echo "remote engine ready: ssh://root@127.0.0.1:$port (key $KEY), docker" \
    "$(docker -H "unix://$SOCK" version -f '{{.Server.Version}}')"
}

stop() {
  local pid
  pid=$(cat "$RUN/sshd.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
  pid=$(cat "$RUN/docker.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]]; then
    stop_dockerd "$pid" "$STOP_WAIT"
  fi
  rm -f "$RUN/docker.pid" "$RUN/sshd.pid" "$SOCK"
  # The exec root goes with the daemon (unless it is still running: then it is kept).
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || rm -rf "$RUN"
  fw_close
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link set "$BRIDGE" down 2>/dev/null || true
    ip link delete "$BRIDGE" type bridge 2>/dev/null || true
  fi
  echo "remote engine stopped: $NAME (data kept in $DIR/data)"
}

env_lines() {
  echo "DIR=$DIR"
  echo "SOCK=$SOCK"
  echo "KEY=$KEY"
  echo "KNOWN_HOSTS=$DIR/known_hosts"
  echo "SSH_PORT=$(ssh_port)"
  echo "SSH_URL=ssh://root@127.0.0.1:$(ssh_port)"
}

case $action in
  start) start "${3:-}" ;;
  stop) stop ;;
  env) env_lines ;;
  *) usage ;;
esac
