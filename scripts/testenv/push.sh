#!/usr/bin/env bash
# Pushes every test image from its OCI layout to the TLS+auth and the plain registry with
# skopeo (digests preserved), skipping tags that already point at the right digest, and
# writes $CROWSNEST_FIXTURES/images.tsv: repo<TAB>tag<TAB>manifest digest<TAB>layout dir.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib-testbed.sh"
# shellcheck disable=SC1091
source "$TB/servers.env"

PKI="$TB/pki"
CREDS="$(cat "$PKI/user"):$(cat "$PKI/password")"
ACCEPT="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json"

# image name <TAB> tag <TAB> source format (oci: an OCI layout in $FX/oci/<name>; dir:
# skopeo's dir format in $FX/dir/<name>, for the Docker-manifest images). The
# repository is crowsnest/<name>.
IMAGES="debian-bookworm	12	oci
debian-bullseye	11	oci
app-bookworm	1.0	oci
whiteout	1.0	oci
multiarch	1.0	oci
debian-bookworm-zstd	12	oci
debian-bookworm-uncompressed	12	oci
debian-bookworm-docker	12	dir
multiarch-docker	1.0	dir"

# The digest a registry's tag points at, or nothing.
remote_digest() {
  curl -s --max-time 10 -I -H "Accept: $ACCEPT" "$@" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {print $2}'
}

tsv="$FX/images.tsv.new"
: >"$tsv"
while IFS=$'\t' read -r name tag format; do
  repo="crowsnest/$name"
  if [ "$format" = oci ]; then
    location="$FX/oci/$name"
    source_ref="oci:$location:$tag"
    digest=$(layout_digest "$location" "$tag")
  else
    location="dir:$FX/dir/$name"
    source_ref="$location"
    digest="sha256:$(sha256sum <"$FX/dir/$name/manifest.json" | cut -c1-64)"
  fi
  if [ "$(remote_digest --cacert "$PKI/ca.pem" -u "$CREDS" "https://$REGISTRY_TLS/v2/$repo/manifests/$tag")" != "$digest" ]; then
    log "pushing $repo:$tag to $REGISTRY_TLS"
    bounded 600 skopeo copy -q --all --preserve-digests --retry-times 2 \
      --dest-cert-dir "$PKI/client-certs" --dest-creds "$CREDS" \
      "$source_ref" "docker://$REGISTRY_TLS/$repo:$tag"
  fi
  if [ "$(remote_digest "http://$REGISTRY_PLAIN/v2/$repo/manifests/$tag")" != "$digest" ]; then
    log "pushing $repo:$tag to $REGISTRY_PLAIN"
    bounded 600 skopeo copy -q --all --preserve-digests --retry-times 2 --dest-tls-verify=false \
      "$source_ref" "docker://$REGISTRY_PLAIN/$repo:$tag"
  fi
  # Both registries must now serve exactly the manifest that was built.
  got_tls=$(remote_digest --cacert "$PKI/ca.pem" -u "$CREDS" "https://$REGISTRY_TLS/v2/$repo/manifests/$tag")
  got_plain=$(remote_digest "http://$REGISTRY_PLAIN/v2/$repo/manifests/$tag")
  if [ "$got_tls" != "$digest" ] || [ "$got_plain" != "$digest" ]; then
    echo "push of $repo:$tag did not preserve $digest (tls: '$got_tls', plain: '$got_plain')" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\n' "$repo" "$tag" "$digest" "$location" >>"$tsv"
done <<<"$IMAGES"
mv "$tsv" "$FX/images.tsv"
