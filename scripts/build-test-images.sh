#!/usr/bin/env bash
# Build the small local images the e2e tests use, with no registry:
#   multistack-test/busybox:1  busybox-static + its applet symlinks (sh, httpd, nc, wget, ...)
#   multistack-test/haproxy:1  the host's /usr/sbin/haproxy + the libraries ldd lists + busybox
# Each rootfs is a folder made here and fed to `docker import`. An image that
# already exists is kept unless --force is given. Needs: docker, busybox-static, haproxy.
set -euo pipefail

BUSYBOX_IMAGE=multistack-test/busybox:1
HAPROXY_IMAGE=multistack-test/haproxy:1
IMPORT_CHANGES=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')

log() { echo "build-test-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  *) die "usage: $0 [--force]" ;;
esac

BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] || die "busybox not found (apt-get install busybox-static)"
# A dynamic busybox would need its libraries in the image too.
! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is not static (apt-get install busybox-static)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A minimal rootfs at $1: standard folders, /etc files, busybox and every applet link.
make_busybox_rootfs() {
  local root=$1 applet
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,run,var/run} \
    "$root"/tmp "$root"/var/tmp
  chmod 1777 "$root"/tmp "$root"/var/tmp
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  cp "$BUSYBOX" "$root/bin/busybox"
  # --list-full gives each applet's path (bin/sh, usr/bin/wget, ...).
  "$BUSYBOX" --list-full | while read -r applet; do
    [[ $applet == bin/busybox ]] || ln -sf /bin/busybox "$root/$applet"
  done
}

# docker import the folder $1 as image $2 (a tar stream, owned by root); the
# image it replaces (--force) is removed, best effort.
import_rootfs() {
  local old
  old=$(docker image inspect -f '{{.Id}}' "$2" 2>/dev/null || true)
  tar --numeric-owner --owner=0 --group=0 -C "$1" -c . \
    | docker import "${IMPORT_CHANGES[@]}" - "$2" >/dev/null
  [[ -z $old || $old == $(docker image inspect -f '{{.Id}}' "$2") ]] \
    || docker image rm "$old" >/dev/null 2>&1 || true
}

need_build() {
  ((force)) && return 0
  if docker image inspect "$1" >/dev/null 2>&1; then
    log "$1 exists, kept (--force rebuilds)"
    return 1
  fi
}

if need_build "$BUSYBOX_IMAGE"; then
  log "building $BUSYBOX_IMAGE"
  make_busybox_rootfs "$work/busybox"
  import_rootfs "$work/busybox" "$BUSYBOX_IMAGE"
fi

if need_build "$HAPROXY_IMAGE"; then
  HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
  [[ -x $HAPROXY ]] || die "haproxy not found (apt-get install haproxy)"
  log "building $HAPROXY_IMAGE"
  root=$work/haproxy
  make_busybox_rootfs "$root"
  mkdir -p "$root/usr/sbin" "$root/var/lib/haproxy" "$root/cfg"
  cp "$HAPROXY" "$root/usr/sbin/haproxy"
  # Every absolute path ldd prints: "libx.so => /lib/.../libx.so (0x..)" and the
  # loader "/lib64/ld-linux-x86-64.so.2 (0x..)". Copied at the same path, links resolved.
  ldd "$HAPROXY" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  import_rootfs "$root" "$HAPROXY_IMAGE"
  # Fail here, not in a test, if a library is missing.
  docker run --rm "$HAPROXY_IMAGE" haproxy -v >/dev/null \
    || die "$HAPROXY_IMAGE does not run haproxy"
fi
