# Shared paths and helpers for the test-bed scripts (sourced after scripts/lib.sh).
# shellcheck shell=bash

TB="$CROWSNEST_CACHE/testbed"
FX="${CROWSNEST_FIXTURES:-$CROWSNEST_CACHE/fixtures}"
# Scratch space for image builds; every build removes its own subdirectory.
WORK="$CROWSNEST_CACHE/fixtures-work"
# Downloads verified by checksum, kept so a rebuild does not fetch them again.
DL="$CROWSNEST_CACHE/downloads"
TESTENV="$ROOT/scripts/testenv"
export TB FX WORK DL TESTENV
mkdir -p "$TB" "$FX/oci" "$FX/archives" "$FX/truth" "$FX/stamps" "$WORK" "$DL"

# Runs a command with a deadline so no step of the test bed can hang CI.
bounded() {
  local seconds="$1"
  shift
  timeout --kill-after=10 "$seconds" "$@"
}

# build_cached NAME VERSION CMD...: runs CMD unless fixture NAME was last built from the
# same recipe VERSION (a recipe version string, bumped by hand when a recipe changes).
# Records the cold build time in $FX/timings.tsv.
build_cached() {
  local name="$1" version="$2"
  shift 2
  if [ "$(cat "$FX/stamps/$name" 2>/dev/null)" = "$version" ]; then
    return 0
  fi
  log "building fixture $name ($version)"
  rm -f "$FX/stamps/$name"
  local start=$SECONDS
  "$@"
  echo "$version" >"$FX/stamps/$name"
  printf '%s\t%s\t%s\t%s\n' "$name" "$version" "$((SECONDS - start))" "$(date -u +%FT%TZ)" >>"$FX/timings.tsv"
}

# Runs CMD inside ROOTFS with /proc and /dev mounted (maintainer scripts need them), and
# always unmounts them again, even when CMD fails.
in_chroot() {
  local rootfs="$1"
  shift
  mount -t proc proc "$rootfs/proc"
  mount --bind /dev "$rootfs/dev"
  local rc=0
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  DEBIAN_FRONTEND=noninteractive LC_ALL=C bounded 900 chroot "$rootfs" "$@" || rc=$?
  rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf"
  umount "$rootfs/dev"
  umount "$rootfs/proc"
  return "$rc"
}

# Digest of the manifest (or index) that tag TAG names in the OCI layout LAYOUT.
layout_digest() {
  jq -er --arg tag "$2" \
    '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' \
    "$1/index.json"
}

# fetch_verified URL SHA256|SHA1 DEST: downloads once into the cache and checks the hash.
fetch_verified() {
  local url="$1" sum="$2" dest="$3"
  local tool=sha256sum
  [ "${#sum}" = 40 ] && tool=sha1sum
  if [ -f "$dest" ] && echo "$sum  $dest" | $tool -c --status; then
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  # A part file of its own, so concurrent fetches of the same file never share one.
  local part
  part="$(mktemp "$dest.part.XXXXXX")"
  if ! bounded 300 curl -fsSL --retry 3 -o "$part" "$url"; then
    rm -f "$part"
    return 1
  fi
  if ! echo "$sum  $part" | $tool -c --status; then
    echo "checksum mismatch for $url (expected $sum)" >&2
    rm -f "$part"
    return 1
  fi
  mv "$part" "$dest"
}

# wait_http URL SECONDS CURL-ARGS...: waits until URL answers with any HTTP status.
wait_http() {
  local url="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  while [ $SECONDS -lt $deadline ]; do
    if curl -s -o /dev/null --max-time 2 "$@" "$url"; then
      return 0
    fi
    sleep 0.2
  done
  echo "timed out after ${seconds}s waiting for $url" >&2
  return 1
}

# A free TCP port on 127.0.0.1 (the kernel picks it; the server binds it right after).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Removes build directories. A build killed inside in_chroot leaves /proc and /dev bound
# under its rootfs: those are unmounted first, and rm never crosses into another
# filesystem, so cleaning up can never delete the host's device nodes.
safe_rm() {
  local dir mnt
  for dir in "$@"; do
    [ -e "$dir" ] || continue
    dir=$(realpath "$dir")
    awk -v prefix="$dir/" 'index($2, prefix) == 1 {print $2}' /proc/mounts | sort -r | while read -r mnt; do
      umount -l "$mnt" || true
    done
    rm -rf --one-file-system "$dir"
  done
}
