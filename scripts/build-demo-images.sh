#!/usr/bin/env bash
# Build the image of the demo stack (examples/demo) from Debian's packages, with no registry:
#   multistack-demo/services:1   Debian 12 with PostgreSQL 15, Redis and Mosquitto (+ their clients)
# One image for the three services (each compose service runs its own program from it):
# one rootfs to build, cache and import instead of three, and the layers are shared.
# mmdebstrap makes the rootfs from the Debian mirror apt already uses; the tarball is
# kept in $MULTISTACK_CACHE (default /var/cache/multistack), keyed by the package list,
# so a second build on this machine (a new clone, CI, --force) is only a `docker import`.
# An image that already exists is kept unless --force is given (then it is imported again
# from the cached tarball); --refresh also makes a new tarball (newer Debian packages).
# Idempotent; as root; installs mmdebstrap if missing. Usage: $0 [--force | --refresh]
set -euo pipefail

IMAGE=multistack-demo/services:1
SUITE=bookworm
PACKAGES=postgresql-15,redis-server,redis-tools,mosquitto,mosquitto-clients,ca-certificates
CACHE=${MULTISTACK_CACHE:-/var/cache/multistack}
# PostgreSQL's programs (initdb, postgres, pg_isready) live in its versioned folder.
IMPORT_CHANGES=(
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV LANG=C.UTF-8'
)

log() { echo "build-demo-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

force=0 refresh=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  --refresh) force=1 refresh=1 ;;
  *) die "usage: $0 [--force | --refresh]" ;;
esac

if ((!force)) && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE exists, kept (--force imports it again, --refresh rebuilds its rootfs)"
  exit 0
fi

key=$(printf '%s\n' "$SUITE" "$PACKAGES" "${IMPORT_CHANGES[@]}" | sha256sum | cut -c1-12)
tarball=$CACHE/demo-rootfs-$SUITE-$key.tar
mkdir -p "$CACHE"

if ((refresh)) || [[ ! -s $tarball ]]; then
  [[ $(id -u) == 0 ]] || die "run as root (mmdebstrap builds the rootfs in a chroot)"
  if ! command -v mmdebstrap >/dev/null; then
    log "apt-get install mmdebstrap"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  fi
  log "mmdebstrap $SUITE with $PACKAGES -> $tarball"
  # Written beside the cache entry, renamed when complete: an interrupted build leaves
  # no half tarball that a later run would import. Docs, man pages and locales are left out.
  partial=$tarball.partial.$$
  trap 'rm -f "$partial"' EXIT
  out=$(mktemp)
  # --format: the output name does not end in .tar, so mmdebstrap must be told.
  if ! mmdebstrap --variant=apt --format=tar --include="$PACKAGES" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      "$SUITE" "$partial" >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    die "mmdebstrap failed"
  fi
  rm -f "$out"
  mv "$partial" "$tarball"
  # Older cache entries (another package list) are not needed any more.
  find "$CACHE" -maxdepth 1 -name "demo-rootfs-*.tar" ! -name "$(basename "$tarball")" -delete
else
  log "rootfs from cache: $tarball"
fi

old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
log "docker import $IMAGE"
docker import "${IMPORT_CHANGES[@]}" "$tarball" "$IMAGE" >/dev/null
[[ -z $old || $old == $(docker image inspect -f '{{.Id}}' "$IMAGE") ]] \
  || docker image rm "$old" >/dev/null 2>&1 || true
# Fail here, not in a stack, if a program is missing.
docker run --rm --network none "$IMAGE" sh -c \
  'command -v postgres initdb pg_isready psql redis-server redis-cli mosquitto mosquitto_sub >/dev/null' \
  || die "$IMAGE lacks one of postgres, redis-server, mosquitto or their clients"
log "$IMAGE ready"
