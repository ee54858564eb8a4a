#!/usr/bin/env bash
# Test PKI and credentials, made once and kept in $CROWSNEST_CACHE/testbed/pki:
#   ca.pem / ca.key             a CA made for the test bed only
#   server.pem / server.key     TLS for 127.0.0.1 and localhost (SAN), signed by the CA
#   token.pem / token.key       self-signed RSA key the token server signs JWTs with
#   htpasswd, password          the registry user (bcrypt) and its password
#   client-certs/ca.crt         the CA in the layout skopeo's --*-cert-dir expects
# Everything is remade when a certificate is missing or expires within a day.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib-testbed.sh"

PKI="$TB/pki"
USER_NAME="crowsnest"
mkdir -p "$PKI"
chmod 700 "$PKI"

valid() { [ -f "$1" ] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

if ! valid "$PKI/ca.pem" || ! valid "$PKI/server.pem" || ! valid "$PKI/token.pem"; then
  log "making the test-bed CA and certificates"
  tmp="$PKI/tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # ECDSA P-256 keys: small, fast, accepted by rustls and Go's crypto/tls alike.
  openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
  openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=Crowsnest test-bed CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tmp/ca.pem"
  openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.key"
  openssl req -new -key "$tmp/server.key" -subj "/CN=localhost" -out "$tmp/server.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tmp/server.ext"
  openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
  # The token signer: RS256 (openssl dgst -sign gives the JWS signature bytes directly).
  # No extended key usage, so distribution's chain check (Go x509) accepts it for tokens.
  openssl genrsa -out "$tmp/token.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$tmp/token.key" -sha256 -days 825 -subj "/CN=Crowsnest test token issuer" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
    -out "$tmp/token.pem"
  mv "$tmp"/{ca.key,ca.pem,server.key,server.pem,token.key,token.pem} "$PKI/"
  rm -rf "$tmp"
fi

if [ ! -s "$PKI/password" ] || [ ! -s "$PKI/htpasswd" ]; then
  openssl rand -hex 16 >"$PKI/password"
  htpasswd -Bbn "$USER_NAME" "$(cat "$PKI/password")" >"$PKI/htpasswd"
fi
echo "$USER_NAME" >"$PKI/user"
mkdir -p "$PKI/client-certs"
cp "$PKI/ca.pem" "$PKI/client-certs/ca.crt"
