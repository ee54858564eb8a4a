#!/usr/bin/env bash
# Starts the test registries on 127.0.0.1 (Debian's docker-registry, CNCF distribution 2.8)
# and the token server, unless they are already running; writes $TB/servers.env with
# their addresses. Three registries:
#   tls    TLS (test CA) + htpasswd basic auth; storage $TB/registry-data
#   plain  plain HTTP, anonymous (for --insecure); storage $TB/registry-data-plain
#   token  TLS + bearer tokens from token-server.py; serves the same storage as `tls`
# Pid files: $TB/<name>.pid (scripts/testenv/down stops them). Logs: $TB/<name>.log.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib-testbed.sh"

PKI="$TB/pki"
TOKEN_SERVICE="crowsnest-test-registry"
TOKEN_ISSUER="crowsnest-test-token-issuer"
STATE="$TB/servers.env"

running() { [ -f "$TB/$1.pid" ] && kill -0 "$(cat "$TB/$1.pid")" 2>/dev/null; }

# Reuse the running set when every server is alive and answers.
if [ -f "$STATE" ] && running registry-tls && running registry-plain && running registry-token && running token-server; then
  # shellcheck disable=SC1090
  source "$STATE"
  if curl -s -o /dev/null --max-time 3 --cacert "$PKI/ca.pem" "https://$REGISTRY_TLS/v2/" &&
    curl -s -o /dev/null --max-time 3 "http://$REGISTRY_PLAIN/v2/" &&
    curl -s -o /dev/null --max-time 3 --cacert "$PKI/ca.pem" "https://$REGISTRY_TOKEN/v2/"; then
    log "test registries already running ($REGISTRY_TLS, $REGISTRY_PLAIN, $REGISTRY_TOKEN)"
    exit 0
  fi
fi
bash "$TESTENV/down"

# start NAME CMD...: runs CMD detached (own session, no inherited terminal, pipes or
# up's lock on fd 9, which a long-lived server would otherwise hold forever).
start() {
  local name="$1"
  shift
  setsid "$@" </dev/null >"$TB/$name.log" 2>&1 9>&- &
  echo $! >"$TB/$name.pid"
}

registry_config() {
  local port="$1" storage="$2" auth="$3" tls="$4"
  cat <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
$tls
$auth
EOF
}

mkdir -p "$TB/registry-data" "$TB/registry-data-plain"
tls_port=$(free_port)
plain_port=$(free_port)
token_registry_port=$(free_port)
token_port=$(free_port)
tls_block="  tls:
    certificate: $PKI/server.pem
    key: $PKI/server.key"

registry_config "$tls_port" "$TB/registry-data" "auth:
  htpasswd:
    realm: crowsnest-test
    path: $PKI/htpasswd" "$tls_block" >"$TB/registry-tls.yml"
registry_config "$plain_port" "$TB/registry-data-plain" "" "" >"$TB/registry-plain.yml"
registry_config "$token_registry_port" "$TB/registry-data" "auth:
  token:
    realm: https://127.0.0.1:$token_port/token
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $PKI/token.pem" "$tls_block" >"$TB/registry-token.yml"

start registry-tls docker-registry serve "$TB/registry-tls.yml"
start registry-plain docker-registry serve "$TB/registry-plain.yml"
start registry-token docker-registry serve "$TB/registry-token.yml"
start token-server python3 "$TESTENV/token-server.py" --port "$token_port" \
  --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" \
  --sign-cert "$PKI/token.pem" --sign-key "$PKI/token.key" \
  --issuer "$TOKEN_ISSUER" --service "$TOKEN_SERVICE" \
  --user "$(cat "$PKI/user")" --password-file "$PKI/password"

wait_http "https://127.0.0.1:$tls_port/v2/" 30 --cacert "$PKI/ca.pem"
wait_http "http://127.0.0.1:$plain_port/v2/" 30
wait_http "https://127.0.0.1:$token_registry_port/v2/" 30 --cacert "$PKI/ca.pem"
wait_http "https://127.0.0.1:$token_port/token?service=$TOKEN_SERVICE" 30 --cacert "$PKI/ca.pem"

cat >"$STATE" <<EOF
REGISTRY_TLS=127.0.0.1:$tls_port
REGISTRY_PLAIN=127.0.0.1:$plain_port
REGISTRY_TOKEN=127.0.0.1:$token_registry_port
TOKEN_REALM=https://127.0.0.1:$token_port/token
TOKEN_SERVICE=$TOKEN_SERVICE
EOF
log "test registries: tls+basic 127.0.0.1:$tls_port, plain 127.0.0.1:$plain_port, tls+token 127.0.0.1:$token_registry_port"
