#!/usr/bin/env bash
# Smoke test of the running test bed, run by `up` after pushing: each registry serves
# the pushed manifests only with the right authentication, over the right transport.
# Exits non-zero with a message naming the first expectation that failed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib-testbed.sh"
# shellcheck disable=SC1091
source "$TB/servers.env"

PKI="$TB/pki"
CREDS="$(cat "$PKI/user"):$(cat "$PKI/password")"
ACCEPT="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json"

# expect WHAT WANTED-STATUS CURL-ARGS...
expect() {
  local what="$1" wanted="$2"
  shift 2
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true)
  if [ "$got" != "$wanted" ]; then
    echo "test bed check failed: $what: HTTP $got, expected $wanted" >&2
    exit 1
  fi
}

read -r repo tag digest _ <"$FX/images.tsv"
path="/v2/$repo/manifests/$tag"

expect "tls registry without credentials" 401 --cacert "$PKI/ca.pem" "https://$REGISTRY_TLS$path"
expect "tls registry with a wrong password" 401 --cacert "$PKI/ca.pem" -u "crowsnest:wrong" "https://$REGISTRY_TLS$path"
expect "tls registry with credentials" 200 --cacert "$PKI/ca.pem" -u "$CREDS" -H "Accept: $ACCEPT" "https://$REGISTRY_TLS$path"
expect "tls registry without the test CA" 000 -u "$CREDS" "https://$REGISTRY_TLS/v2/"
expect "tls registry manifest by digest" 200 --cacert "$PKI/ca.pem" -u "$CREDS" -H "Accept: $ACCEPT" -I "https://$REGISTRY_TLS/v2/$repo/manifests/$digest"
expect "plain registry, anonymous" 200 -H "Accept: $ACCEPT" "http://$REGISTRY_PLAIN$path"
expect "token registry without a token" 401 --cacert "$PKI/ca.pem" "https://$REGISTRY_TOKEN$path"

scope="repository:$repo:pull"
anonymous_token=$(curl -s --max-time 10 --cacert "$PKI/ca.pem" "$TOKEN_REALM?service=$TOKEN_SERVICE&scope=$scope" | jq -r .token)
expect "token registry with an anonymous token" 401 --cacert "$PKI/ca.pem" \
  -H "Authorization: Bearer $anonymous_token" "https://$REGISTRY_TOKEN$path"
expect "token server with a wrong password" 401 --cacert "$PKI/ca.pem" -u "crowsnest:wrong" \
  "$TOKEN_REALM?service=$TOKEN_SERVICE&scope=$scope"
token=$(curl -s --max-time 10 --cacert "$PKI/ca.pem" -u "$CREDS" "$TOKEN_REALM?service=$TOKEN_SERVICE&scope=$scope" | jq -r .token)
expect "token registry with a granted token" 200 --cacert "$PKI/ca.pem" \
  -H "Authorization: Bearer $token" -H "Accept: $ACCEPT" "https://$REGISTRY_TOKEN$path"
