#!/usr/bin/env bash
# Builds the test images from real packages with real tools (debootstrap, apt/dpkg, pip,
# npm, Maven Central downloads, go, cargo auditable), packs them with umoci into OCI
# layouts under $CROWSNEST_FIXTURES/oci, and writes each image's ground truth (what the
# package managers themselves report) under $CROWSNEST_FIXTURES/truth/<image>.
# Each image is rebuilt only when its recipe version string changes. See docs/testbed.md.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib-testbed.sh"

MIRROR="http://deb.debian.org/debian"
SITE_PACKAGES="/usr/local/lib/python3.11/site-packages"
FIXTURE_SRC="$TESTENV/fixtures"

# Recipe version strings: bump one by hand when its recipe changes. Images built on top
# of another image include its version, and the app image includes a hash of the
# fixture sources, so an edit there rebuilds what depends on it.
fixture_sources_hash() {
  (cd "$FIXTURE_SRC" && find . -type f ! -name '*.md' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}
V_BOOKWORM="debian-bookworm-1"
V_BULLSEYE="debian-bullseye-1"
V_APP="app-bookworm-2+$V_BOOKWORM+src-$(fixture_sources_hash)"
V_WHITEOUT="whiteout-2+$V_APP"
V_MULTIARCH="multiarch-3"
V_VARIANTS="variants-3+$V_BOOKWORM"

# Removes what debootstrap copies from the build host or leaves behind, so the image
# holds only what packages installed: device nodes, host resolver/hostname, apt caches.
tidy_rootfs() {
  local r="$1"
  find "$r/dev" -mindepth 1 -delete
  rm -f "$r/etc/resolv.conf" "$r/etc/hostname"
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb "$r/tmp/"*
}

# repack LAYOUT:TAG BUNDLE CREATED_BY: turns what changed in BUNDLE since the last
# unpack/repack into one new layer (umoci computes the diff, whiteouts included).
repack() {
  umoci repack --refresh-bundle --image "$1" --history.created_by "$3" "$2"
}

set_config() {
  local image="$1"
  shift
  umoci config --image "$image" --os linux --architecture amd64 \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# verify_layers LAYOUT TAG: every layer of the image (each platform of an index) must be
# a complete tar stream, so a packing tool's bug cannot pass as a test fixture.
verify_layers() {
  local layout="$1" tag="$2" manifest layer media
  local top
  top=$(layout_digest "$layout" "$tag")
  for manifest in $(jq -r 'if .manifests then .manifests[].digest else empty end' "$layout/blobs/sha256/${top#sha256:}") "$top"; do
    jq -e '.layers' "$layout/blobs/sha256/${manifest#sha256:}" >/dev/null || continue
    while IFS=$'\t' read -r layer media; do
      local blob="$layout/blobs/sha256/${layer#sha256:}"
      case "$media" in
      *gzip) gzip -dc "$blob" | tar -tf - >/dev/null ;;
      *zstd) zstd -qdc "$blob" | tar -tf - >/dev/null ;;
      *) tar -tf "$blob" >/dev/null ;;
      esac || {
        echo "$layout:$tag: layer $layer is not a complete tar stream" >&2
        return 1
      }
    done < <(jq -r '.layers[] | [.digest, .mediaType] | @tsv' "$layout/blobs/sha256/${manifest#sha256:}")
  done
}

# write_truth NAME LAYOUT TAG: unpacks the finished image (whiteouts applied by umoci)
# and asks the real tools what is installed in it.
write_truth() {
  local name="$1" layout="$2" tag="$3"
  local out="$FX/truth/$name" bundle="$WORK/truth-$name"
  safe_rm "$bundle" "$out.new"
  mkdir -p "$out.new"
  umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
  verify_layers "$layout" "$tag"
  local r="$bundle/rootfs"
  if [ -f "$r/var/lib/dpkg/status" ]; then
    # Installed packages only: a package purged by a later layer must not appear.
    dpkg-query --admindir="$r/var/lib/dpkg" -W \
      -f '${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t${source:Version}\n' |
      awk -F'\t' '$1 == "installed"' | cut -f2- | LC_ALL=C sort >"$out.new/dpkg.tsv"
  fi
  if [ -d "$r$SITE_PACKAGES" ]; then
    /usr/bin/python3 -m pip list --disable-pip-version-check --path "$r$SITE_PACKAGES" --format json |
      jq 'sort_by(.name | ascii_downcase)' >"$out.new/pip.json"
  fi
  if [ -d "$r/app/node_modules" ]; then
    # npm ls exits 1 when the tree has problems; the JSON still says what is there.
    (cd "$r/app" && { npm ls --all --json 2>/dev/null || true; }) >"$out.new/npm.json"
    # One line per installed copy (npm ls repeats deduped packages under each dependent).
    (cd "$r/app" && npm query '*' 2>/dev/null) |
      jq -r '.[] | select(.location != "") | [.name, .version, "/app/" + .location] | @tsv' | LC_ALL=C sort >"$out.new/npm.tsv"
  fi
  if [ -d "$r/app/lib" ]; then
    maven_truth "$r" >"$out.new/maven.tsv"
  fi
  if [ -f "$r/app/bin/goapp" ]; then
    (cd "$r" && go version -m app/bin/goapp) >"$out.new/go.txt"
  fi
  if [ -f "$r/app/bin/rustapp" ]; then
    rust-audit-info "$r/app/bin/rustapp" | jq . >"$out.new/cargo.json"
  fi
  find "$r" -xdev \( -type f -o -type l \) -printf '/%P\n' | LC_ALL=C sort >"$out.new/files.txt"
  cp "$TESTENV/truth-README" "$out.new/README"
  safe_rm "$bundle" "$out"
  mv "$out.new" "$out"
}

# Lists groupId:artifactId<TAB>version<TAB>path for every jar of maven-jars.tsv that is
# present, byte for byte, in the unpacked rootfs R (nested jars read with unzip).
maven_truth() {
  local r="$1" set path group artifact version sha1 actual
  while IFS=$'\t' read -r set path group artifact version sha1; do
    case "$set" in '#'* | '') continue ;; esac
    if [[ "$path" == *'!/'* ]]; then
      local outer="${path%%!/*}" inner="${path#*!/}"
      [ -f "$r$outer" ] || continue
      actual=$(unzip -p "$r$outer" "$inner" 2>/dev/null | sha1sum | cut -c1-40)
      [ "$actual" = "$sha1" ] || continue
    else
      [ -f "$r$path" ] || continue
      if [ "$sha1" != "-" ]; then
        actual=$(sha1sum <"$r$path" | cut -c1-40)
        [ "$actual" = "$sha1" ] || continue
      fi
    fi
    printf '%s:%s\t%s\t%s\n' "$group" "$artifact" "$version" "$path"
  done <"$FIXTURE_SRC/maven-jars.tsv"
}

# --- debian-bookworm / debian-bullseye: debootstrap --variant=minbase, one layer -------
build_debian() {
  local name="$1" suite="$2" tag="$3"
  local layout="$FX/oci/$name" bundle="$WORK/$name"
  safe_rm "$layout" "$bundle"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
  bounded 1200 nice -n 10 debootstrap --variant=minbase --arch=amd64 "$suite" "$bundle/rootfs" "$MIRROR" \
    >"$WORK/$name-debootstrap.log" 2>&1 || {
    tail -20 "$WORK/$name-debootstrap.log" >&2
    return 1
  }
  tidy_rootfs "$bundle/rootfs"
  repack "$layout:$tag" "$bundle" "debootstrap --variant=minbase $suite $MIRROR"
  set_config "$layout:$tag" --config.cmd /bin/bash --no-history
  umoci gc --layout "$layout"
  safe_rm "$bundle"
  write_truth "$name" "$layout" "$tag"
}

# --- app-bookworm: bookworm + one layer per package manager ------------------------
build_app() {
  local name=app-bookworm tag=1.0
  local layout="$FX/oci/$name" bundle="$WORK/$name" src="$WORK/$name-src"
  safe_rm "$layout" "$bundle" "$src"
  cp -a "$FX/oci/debian-bookworm" "$layout"
  umoci unpack --image "$layout:12" "$bundle" >/dev/null
  local r="$bundle/rootfs"

  # Layer: a Debian package (and its dependencies) installed by apt/dpkg.
  in_chroot "$r" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null && apt-get clean'
  tidy_rootfs "$r"
  repack "$layout:$tag" "$bundle" "apt-get install python3-yaml"
  umoci rm --image "$layout:12"

  # Layer: old wheels from PyPI installed by pip (the image's python is 3.11).
  bounded 600 /usr/bin/python3 -m pip install --disable-pip-version-check --root-user-action=ignore --no-cache-dir --quiet \
    --target "$r$SITE_PACKAGES" --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version 3.11 --implementation cp --abi cp311 -r "$FIXTURE_SRC/requirements.txt"
  repack "$layout:$tag" "$bundle" "pip install --target $SITE_PACKAGES -r requirements.txt"

  # Layer: npm packages (express with its tree, lodash, minimist) installed by npm ci.
  mkdir -p "$r/app"
  cp "$FIXTURE_SRC/node-app/package.json" "$FIXTURE_SRC/node-app/package-lock.json" "$r/app/"
  (cd "$r/app" && bounded 600 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    --cache "$CROWSNEST_CACHE/npm-cache")
  repack "$layout:$tag" "$bundle" "npm ci (express 4.16.0, lodash 4.17.15, minimist 1.2.0)"

  # Layer: jars from Maven Central, plus a Spring-Boot-style fat jar holding more jars.
  mkdir -p "$r/app/lib" "$src/fat/BOOT-INF/lib" "$src/fat/BOOT-INF/classes" \
    "$src/fat/META-INF/maven/com.example.crowsnest/fat-app"
  local set path group artifact version sha1 file
  while IFS=$'\t' read -r set path group artifact version sha1; do
    [ "$set" = app ] || continue
    file="$DL/maven/$group/$artifact-$version.jar"
    fetch_verified "https://repo1.maven.org/maven2/${group//.//}/$artifact/$version/$artifact-$version.jar" "$sha1" "$file"
    if [[ "$path" == *'!/'* ]]; then
      cp "$file" "$src/fat/${path#*!/}"
    else
      cp "$file" "$r$path"
    fi
  done <"$FIXTURE_SRC/maven-jars.tsv"
  printf 'Manifest-Version: 1.0\nMain-Class: org.springframework.boot.loader.JarLauncher\nStart-Class: com.example.crowsnest.App\nSpring-Boot-Classes: BOOT-INF/classes/\nSpring-Boot-Lib: BOOT-INF/lib/\n' \
    >"$src/fat/META-INF/MANIFEST.MF"
  printf 'groupId=com.example.crowsnest\nartifactId=fat-app\nversion=1.0.0\n' \
    >"$src/fat/META-INF/maven/com.example.crowsnest/fat-app/pom.properties"
  echo 'greeting=crowsnest fixture' >"$src/fat/BOOT-INF/classes/application.properties"
  # Nested jars are stored, not deflated, as Spring Boot requires.
  (cd "$src/fat" && zip -q -X -0 -r "$r/app/lib/fat-app.jar" META-INF BOOT-INF)
  repack "$layout:$tag" "$bundle" "jars from Maven Central into /app/lib"

  # Layer: a static Go binary built against old modules.
  mkdir -p "$r/app/bin" "$src/go"
  cp -r "$FIXTURE_SRC/go-app/." "$src/go/"
  (cd "$src/go" && CGO_ENABLED=0 GOFLAGS=-mod=readonly GOMODCACHE="$CROWSNEST_CACHE/go-fixture-mod" \
    bounded 900 nice -n 10 go build -trimpath -buildvcs=false -o "$r/app/bin/goapp" .)
  repack "$layout:$tag" "$bundle" "go build (golang.org/x/text v0.3.5, gorilla/websocket v1.4.0)"

  # Layer: a Rust binary built with cargo auditable against old crates.
  mkdir -p "$src/rust"
  cp -r "$FIXTURE_SRC/rust-app/." "$src/rust/"
  (cd "$src/rust" && CARGO_TARGET_DIR="$src/rust/target" bounded 900 nice -n 10 \
    cargo auditable build --release --locked --quiet)
  cp "$src/rust/target/release/crowsnest-rust-fixture" "$r/app/bin/rustapp"
  repack "$layout:$tag" "$bundle" "cargo auditable build (smallvec 1.6.0, time 0.1.43)"

  set_config "$layout:$tag" --config.cmd /app/bin/goapp --config.workingdir /app --no-history
  umoci gc --layout "$layout"
  safe_rm "$bundle" "$src"
  write_truth "$name" "$layout" "$tag"
}

# --- whiteout: app-bookworm + a layer deleting installed things ---------------------
build_whiteout() {
  local name=whiteout tag=1.0
  local layout="$FX/oci/$name" bundle="$WORK/$name" src="$WORK/$name-src"
  safe_rm "$layout" "$bundle" "$src"
  cp -a "$FX/oci/app-bookworm" "$layout"
  umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
  local r="$bundle/rootfs"
  # dpkg --purge rewrites /var/lib/dpkg/status and deletes the package's files: the new
  # layer holds the new status file and a .wh. entry for each deleted path.
  in_chroot "$r" dpkg --purge python3-yaml >/dev/null
  rm -rf "$r$SITE_PACKAGES/jinja2" "$r$SITE_PACKAGES/Jinja2-2.10.dist-info"
  repack "$layout:$tag" "$bundle" "dpkg --purge python3-yaml; rm -rf jinja2 Jinja2-2.10.dist-info"
  # An opaque directory: /app/lib replaced by a directory holding only newer log4j jars.
  # The layer is written with GNU tar and appended with `umoci raw add-layer`, because
  # umoci 0.4.7's `insert --opaque` writes a tar stream cut short of its last blocks.
  mkdir -p "$src/layer/app/lib"
  : >"$src/layer/app/lib/.wh..wh..opq"
  local set path group artifact version sha1 file
  while IFS=$'\t' read -r set path group artifact version sha1; do
    [ "$set" = upgrade ] || continue
    file="$DL/maven/$group/$artifact-$version.jar"
    fetch_verified "https://repo1.maven.org/maven2/${group//.//}/$artifact/$version/$artifact-$version.jar" "$sha1" "$file"
    cp "$file" "$src/layer/app/lib/"
  done <"$FIXTURE_SRC/maven-jars.tsv"
  tar --sort=name --numeric-owner --owner=0 --group=0 -C "$src/layer" -cf "$src/layer.tar" app
  umoci raw add-layer --image "$layout:$tag" --history.created_by "replace /app/lib (opaque directory)" "$src/layer.tar"
  umoci gc --layout "$layout"
  safe_rm "$bundle" "$src"
  write_truth "$name" "$layout" "$tag"
}

# --- multiarch: an OCI index over linux/amd64 and linux/arm64 ------------------------
# Each platform is a small rootfs of busybox-static + base-files .debs for that
# architecture, extracted with dpkg-deb -x (no dpkg database: nothing is "installed").
download_debs() {
  local arch="$1" dest="$2"
  local apt_dir="$WORK/apt-$arch"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$dest"
  echo "deb [arch=$arch] $MIRROR bookworm main" >"$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  bounded 600 apt-get "${opts[@]}" update -qq
  (cd "$dest" && bounded 600 apt-get "${opts[@]}" download -qq "busybox-static:$arch" "base-files:$arch")
}

build_multiarch() {
  local name=multiarch tag=1.0
  local layout="$FX/oci/$name"
  safe_rm "$layout" "${WORK:?}/$name"
  umoci init --layout "$layout"
  local arch entries=()
  for arch in amd64 arm64; do
    local debs="$WORK/$name/debs-$arch" bundle="$WORK/$name/bundle-$arch"
    download_debs "$arch" "$debs"
    umoci new --image "$layout:$arch"
    umoci unpack --image "$layout:$arch" "$bundle" >/dev/null
    local deb
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$bundle/rootfs"; done
    ln -s busybox "$bundle/rootfs/bin/sh"
    repack "$layout:$arch" "$bundle" "dpkg-deb -x busybox-static base-files ($arch)"
    umoci config --image "$layout:$arch" --os linux --architecture "$arch" \
      --config.cmd /bin/busybox --config.cmd sh --no-history
    local digest size
    digest=$(layout_digest "$layout" "$arch")
    size=$(stat -c %s "$layout/blobs/sha256/${digest#sha256:}")
    if [ "$arch" = arm64 ]; then
      entries+=("$(jq -nc --arg d "$digest" --argjson s "$size" \
        '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s, platform: {architecture: "arm64", os: "linux", variant: "v8"}}')")
    else
      entries+=("$(jq -nc --arg d "$digest" --argjson s "$size" \
        '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s, platform: {architecture: "amd64", os: "linux"}}')")
    fi
  done
  umoci gc --layout "$layout"
  verify_layers "$layout" amd64
  verify_layers "$layout" arm64
  # umoci has no index command: the index is written with jq (its schema is small and
  # skopeo validates it when pushing) and named by the layout's index.json.
  local index="$WORK/$name/index-blob.json" digest size
  printf '%s\n' "${entries[@]}" | jq -sc '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' >"$index"
  digest="sha256:$(sha256sum "$index" | cut -c1-64)"
  size=$(stat -c %s "$index")
  cp "$index" "$layout/blobs/sha256/${digest#sha256:}"
  jq --arg d "$digest" --argjson s "$size" --arg tag "$tag" \
    '.manifests = [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": $tag}}]' \
    "$layout/index.json" >"$layout/index.json.new"
  mv "$layout/index.json.new" "$layout/index.json"
  safe_rm "${WORK:?}/$name" "$WORK/apt-amd64" "$WORK/apt-arm64"
  local out="$FX/truth/$name"
  rm -rf "$out" && mkdir -p "$out"
  jq -r '.manifests[] | [.platform.os + "/" + .platform.architecture + (if .platform.variant then "/" + .platform.variant else "" end), .digest] | @tsv' \
    "$layout/blobs/sha256/${digest#sha256:}" >"$out/platforms.tsv"
  cp "$TESTENV/truth-README" "$out/README"
  # The same two platforms as a Docker manifest list of Docker v2 schema 2 manifests
  # (skopeo dir: format, like debian-bookworm-docker).
  safe_rm "$FX/dir/multiarch-docker" "$FX/truth/multiarch-docker"
  mkdir -p "$FX/dir"
  bounded 600 skopeo copy -q --all --format v2s2 "oci:$layout:$tag" "dir:$FX/dir/multiarch-docker"
  cp -a "$out" "$FX/truth/multiarch-docker"
  jq -r '.manifests[] | [.platform.os + "/" + .platform.architecture + (if .platform.variant then "/" + .platform.variant else "" end), .digest] | @tsv' \
    "$FX/dir/multiarch-docker/manifest.json" >"$FX/truth/multiarch-docker/platforms.tsv"
}

# --- variants of debian-bookworm: zstd layers, docker-archive, oci-archive ----------
build_variants() {
  local src="oci:$FX/oci/debian-bookworm:12"
  safe_rm "$FX/oci/debian-bookworm-zstd"
  bounded 600 nice -n 10 skopeo copy -q --dest-compress-format zstd --dest-compress \
    "$src" "oci:$FX/oci/debian-bookworm-zstd:12"
  local image
  for image in debian-bookworm app-bookworm; do
    local tag=12
    [ "$image" = app-bookworm ] && tag=1.0
    rm -f "$FX/archives/$image.docker.tar" "$FX/archives/$image.oci.tar"
    bounded 600 skopeo copy -q "oci:$FX/oci/$image:$tag" "docker-archive:$FX/archives/$image.docker.tar:crowsnest/$image:$tag"
    bounded 600 skopeo copy -q "oci:$FX/oci/$image:$tag" "oci-archive:$FX/archives/$image.oci.tar:$tag"
  done
  verify_layers "$FX/oci/debian-bookworm-zstd" 12
  # Uncompressed layer (media type ...layer.v1.tar), by way of a decompressed dir: copy.
  safe_rm "$FX/oci/debian-bookworm-uncompressed" "$WORK/uncompressed-dir"
  bounded 600 skopeo copy -q --dest-decompress "$src" "dir:$WORK/uncompressed-dir"
  bounded 600 skopeo copy -q --dest-oci-accept-uncompressed-layers "dir:$WORK/uncompressed-dir" \
    "oci:$FX/oci/debian-bookworm-uncompressed:12"
  safe_rm "$WORK/uncompressed-dir"
  verify_layers "$FX/oci/debian-bookworm-uncompressed" 12
  # Docker v2 schema 2 manifest (docker media types) instead of OCI. Kept in skopeo's
  # dir: format, because skopeo does not read Docker manifests back from an OCI layout.
  safe_rm "$FX/dir/debian-bookworm-docker"
  mkdir -p "$FX/dir"
  bounded 600 skopeo copy -q --format v2s2 "$src" "dir:$FX/dir/debian-bookworm-docker"
  local variant
  for variant in zstd uncompressed docker; do
    safe_rm "$FX/truth/debian-bookworm-$variant"
    cp -a "$FX/truth/debian-bookworm" "$FX/truth/debian-bookworm-$variant"
  done
}

# The builds that do not depend on debian-bookworm run beside it (debootstrap and the
# downloads wait on the network and on dpkg more than on the CPU); their output goes to
# $WORK/<name>.log and is shown when they fail.
report_background() {
  local name="$1" pid="$2"
  if ! wait "$pid"; then
    echo "building $name failed; its log:" >&2
    tail -30 "$WORK/$name.log" >&2
    return 1
  fi
}
build_cached debian-bullseye "$V_BULLSEYE" build_debian debian-bullseye bullseye 11 >"$WORK/debian-bullseye.log" 2>&1 &
bullseye_pid=$!
build_cached multiarch "$V_MULTIARCH" build_multiarch >"$WORK/multiarch.log" 2>&1 &
multiarch_pid=$!
build_cached debian-bookworm "$V_BOOKWORM" build_debian debian-bookworm bookworm 12
build_cached app-bookworm "$V_APP" build_app
build_cached whiteout "$V_WHITEOUT" build_whiteout
build_cached variants "$V_VARIANTS+$V_APP" build_variants
report_background debian-bullseye "$bullseye_pid"
report_background multiarch "$multiarch_pid"
