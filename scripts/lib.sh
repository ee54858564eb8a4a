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

# hold_lock FILE [SECONDS]: takes an exclusive lock on FILE for the rest of the calling
# shell (a new descriptor each call, released when the shell exits), waiting at most
# SECONDS (default an hour). Every builder that writes into the shared cache takes one, so
# concurrent test runs and tests that build on demand wait for each other instead of
# writing the same files.
hold_lock() {
  local file="$1" seconds="${2:-3600}" fd
  mkdir -p "$(dirname "$file")"
  exec {fd}>"$file"
  flock -w "$seconds" "$fd" || {
    echo "waited ${seconds}s for the lock $file held by another build; giving up" >&2
    return 1
  }
}

# publish_dir STAGE OUT: replaces OUT with the fully built STAGE in one rename (the old
# OUT is moved aside first and removed after), so a reader never sees a half-built OUT.
# Callers write their stamp after this, last.
publish_dir() {
  local stage="$1" out="$2" old
  mkdir -p "$(dirname "$out")"
  if [ -e "$out" ]; then
    old="$(mktemp -d "$out.old.XXXXXX")"
    mv "$out" "$old/"
  fi
  mv "$stage" "$out"
  if [ -n "${old:-}" ]; then rm -rf "$old"; fi
}

# Installs a cargo tool at a pinned version into the cache (one install at a time: two
# concurrent `cargo install --root` into one root overwrite each other's files).
cargo_tool() {
  local name="$1" version="$2" bin="${3:-$1}"
  if ! "$CROWSNEST_CACHE/bin/$bin" --version 2>/dev/null | grep -q "$version"; then
    (
      hold_lock "$CROWSNEST_CACHE/locks/cargo-install.lock"
      if ! "$CROWSNEST_CACHE/bin/$bin" --version 2>/dev/null | grep -q "$version"; then
        log "installing $name $version"
        cargo install --locked --quiet --root "$CROWSNEST_CACHE" "$name@$version"
      fi
    )
  fi
}

# Installs a cargo tool at a pinned version into the cache. Unlike cargo_tool it
# does not ask the tool for its version (cargo-auditable and rust-audit-info have no
# --version): cargo install's own record in .crates2.json says what is installed.
cargo_tool_pinned() {
  local name="$1" version="$2"
  pinned_tool_installed() {
    grep -q "\"$name $version (" "$CROWSNEST_CACHE/.crates2.json" 2>/dev/null &&
      [ -x "$CROWSNEST_CACHE/bin/$name" ]
  }
  pinned_tool_installed && return 0
  (
    hold_lock "$CROWSNEST_CACHE/locks/cargo-install.lock"
    pinned_tool_installed && exit 0
    log "installing $name $version"
    timeout --kill-after=10 1800 nice -n 10 cargo install --locked --quiet --root "$CROWSNEST_CACHE" "$name@$version"
  )
}
