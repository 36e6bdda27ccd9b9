#!/usr/bin/env python3
"""A bearer-token service for the test registry (distribution's token spec),
on loopback over TLS. Usage:

  token_server.py PORT CERT KEY TOKEN_CERT TOKEN_KEY HTPASSWD_USER:PASS LOG

Tokens are JWTs signed RS256 with TOKEN_KEY (openssl does the signing) and
carry TOKEN_CERT in their x5c header, which the registry checks against its
rootcertbundle. Anonymous callers get pull access to every repository except
private/*; the one configured user gets what it asks for; wrong credentials
get 401. Each request is logged as a JSON line (whether an Authorization
header came, never its value) so tests can check where credentials went.
"""
import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

PORT, CERT, KEY, TCERT, TKEY, CRED, LOG = sys.argv[1:8]
USER, PASS = CRED.split(":", 1)
ISSUER = "cellscan-test-issuer"
LOCK = threading.Lock()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_b64(pem_path):
    out = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(out).decode()


X5C = der_b64(TCERT)


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", TKEY], input=signing_input,
                         check=True, capture_output=True).stdout
    return signing_input.decode() + "." + b64url(sig)


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        authz = self.headers.get("Authorization")
        user = None
        ok = True
        if authz:
            try:
                scheme, val = authz.split(" ", 1)
                u_, p_ = base64.b64decode(val).decode().split(":", 1)
                ok = scheme.lower() == "basic" and u_ == USER and p_ == PASS
                user = u_ if ok else None
            except Exception:
                ok = False
        scopes = q.get("scope", [])
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({"path": u.path, "auth": bool(authz), "ok": ok,
                                "scope": scopes, "service": q.get("service", [""])[0]}) + "\n")
        if u.path != "/token":
            return self.reply(404, {"error": "not found"})
        if not ok:
            return self.reply(401, {"details": "bad credentials"},
                              {"WWW-Authenticate": 'Basic realm="token"'})
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
            if user is None and name.startswith("private/"):
                actions = []
            access.append({"type": "repository", "name": name, "actions": actions})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user or "", "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        self.reply(200, {"token": sign(claims), "expires_in": 300,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
