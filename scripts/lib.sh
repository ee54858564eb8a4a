# Shared settings for the scripts: caches live outside the clone so repeat runs are fast.
# shellcheck shell=bash
export CROWSNEST_CACHE="${CROWSNEST_CACHE:-$HOME/.cache/crowsnest}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CROWSNEST_CACHE/target}"
export PATH="$HOME/.cargo/bin:$CROWSNEST_CACHE/bin:/usr/local/go/bin:$PATH"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# ../shared sits beside the clone (CI and developers alike).
export CROWSNEST_SHARED="${CROWSNEST_SHARED:-$ROOT/../shared}"
mkdir -p "$CROWSNEST_CACHE/bin"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs Debian packages (pinned by the release's archive) once; apt-get update only
# when something is missing.
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Installs a cargo tool at a pinned version into the cache.
cargo_tool() {
  local name="$1" version="$2" bin="${3:-$1}"
  if ! "$CROWSNEST_CACHE/bin/$bin" --version 2>/dev/null | grep -q "$version"; then
    log "installing $name $version"
    cargo install --locked --quiet --root "$CROWSNEST_CACHE" "$name@$version"
  fi
}
