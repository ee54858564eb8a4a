#!/usr/bin/env python3
"""A small bearer-token server for distribution's `auth: token` mode (test bed only).

GET /token?service=S&scope=repository:NAME:pull[,push]&scope=registry:catalog:* with
HTTP Basic credentials answers {"token", "access_token", "expires_in", "issued_at"}: a
JWT signed RS256 with the test token key, its certificate in the `x5c` header (the
registry checks it against its rootcertbundle). Valid credentials get every action they
ask for; anonymous requests get a token with no access (so the registry answers 401
insufficient_scope, like a private repository); wrong credentials get 401 here.
Standard library only; the signature is made by `openssl dgst -sha256 -sign`.
"""

import argparse
import base64
import hmac
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN_LIFETIME_SECONDS = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_to_der_b64(pem_path: str) -> str:
    lines = open(pem_path, encoding="ascii").read().splitlines()
    body = [line for line in lines if line and not line.startswith("-----")]
    return "".join(body)


def parse_scope(scope: str):
    """`type:name:actions`; the name may itself hold ':' (a registry host with a port)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class Issuer:
    def __init__(self, args):
        self.args = args
        self.x5c = [pem_to_der_b64(args.sign_cert)]
        self.user = args.user
        self.password = open(args.password_file, encoding="utf-8").read().strip()

    def sign(self, payload: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(payload, separators=(",", ":")).encode())
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.args.sign_key],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
            timeout=10,
        ).stdout
        return signing_input + "." + b64url(signature)

    def authenticate(self, header: str | None):
        """Returns (ok, subject): ok False only for credentials that are wrong."""
        if not header:
            return True, ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False, ""
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, ""
        good = hmac.compare_digest(user, self.user) and hmac.compare_digest(password, self.password)
        return good, user if good else ""


def handler_for(issuer: Issuer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("token-server: " + (fmt % args) + "\n")

        def reply(self, status: int, body: dict, extra_headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra_headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path != "/token":
                self.reply(404, {"error": "not found"})
                return
            query = parse_qs(url.query)
            service = query.get("service", [""])[0]
            if service != issuer.args.service:
                self.reply(400, {"error": f"unknown service {service!r}"})
                return
            ok, subject = issuer.authenticate(self.headers.get("Authorization"))
            if not ok:
                self.reply(401, {"error": "invalid credentials"},
                           [("WWW-Authenticate", 'Basic realm="crowsnest-test-token"')])
                return
            access = []
            if subject:
                for raw in query.get("scope", []):
                    for one in raw.split(" "):
                        parsed = parse_scope(one)
                        if parsed:
                            access.append(parsed)
            now = int(time.time())
            token = issuer.sign({
                "iss": issuer.args.issuer,
                "sub": subject,
                "aud": service,
                "exp": now + TOKEN_LIFETIME_SECONDS,
                "nbf": now - 10,
                "iat": now,
                "jti": secrets.token_hex(16),
                "access": access,
            })
            issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            self.reply(200, {"token": token, "access_token": token,
                             "expires_in": TOKEN_LIFETIME_SECONDS, "issued_at": issued})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert", required=True)
    parser.add_argument("--tls-key", required=True)
    parser.add_argument("--sign-cert", required=True)
    parser.add_argument("--sign-key", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(Issuer(args)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sys.stderr.write(f"token-server: listening on https://127.0.0.1:{args.port}/token (pid {os.getpid()})\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
