#!/usr/bin/env python3
"""A bearer-token service for the test registries (distribution's token
spec), on loopback over TLS, shared by scripts/registry-test-env.sh and the
token-expiry tests (tests/source/test_auth_token.c).

  token_server.py --port P --cert CERT --key KEY --token-cert TCERT
      --token-key TKEY --log LOG [--user USER:PASS] [--control FILE]
      [--expires-in N] [--lifetime N] [--reject-after N] [--issuer NAME]

Tokens are JWTs signed RS256 with TKEY (openssl does the signing) and carry
TCERT in their x5c header, which the registry checks against its
rootcertbundle.

  --expires-in N    the "expires_in" the response announces (default 300;
                    a negative value leaves the field out)
  --lifetime N      the JWT's "exp" is now + N seconds (default: expires-in);
                    the registry accepts a token until exp plus its leeway
  --reject-after N  tokens after the first N are signed with a throwaway key
                    (same x5c header), so the registry rejects every one of
                    them as invalid_token; -1 (default) never. Tokens are
                    counted from the last time LOG was emptied.
  --control FILE    a JSON object {"expires_in", "lifetime", "reject_after"},
                    read again on every request when the file exists; its
                    keys override the options. Writing it changes the mode
                    between pulls without a restart.

Anonymous callers get pull on every repository except private/*; USER gets
what it asks for; wrong credentials get 401. Each request is logged as one
JSON line {"n", "path", "auth", "ok", "scope", "service", "expires_in",
"lifetime", "rejected", "t"}: whether an Authorization header came, never its
value, so tests can check where credentials went.
"""
import argparse
import base64
import http.server
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--token-cert", required=True)
ap.add_argument("--token-key", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--control")
ap.add_argument("--user", default="")
ap.add_argument("--expires-in", type=int, default=300)
ap.add_argument("--lifetime", type=int)
ap.add_argument("--reject-after", type=int, default=-1)
ap.add_argument("--issuer", default="cellscan-test-issuer")
A = ap.parse_args()
USER, _, PASS = A.user.partition(":")
LOCK = threading.Lock()
ISSUED = [0]

# a key the registry does not trust, for tokens it must reject (made the
# first time one is needed)
BAD_KEY = os.path.join(os.path.dirname(os.path.abspath(A.log)), "auth-token-bad.key")


def bad_key():
    with LOCK:
        if not os.path.exists(BAD_KEY):
            subprocess.run(["openssl", "genrsa", "-out", BAD_KEY, "2048"], check=True,
                           capture_output=True)
    return BAD_KEY


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


X5C = base64.b64encode(subprocess.run(
    ["openssl", "x509", "-in", A.token_cert, "-outform", "DER"],
    check=True, capture_output=True).stdout).decode()


def sign(claims, key):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
    data = (b64url(json.dumps(header).encode()) + "." +
            b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data,
                         check=True, capture_output=True).stdout
    return data.decode() + "." + b64url(sig)


def mode():
    m = {"expires_in": A.expires_in, "lifetime": A.lifetime, "reject_after": A.reject_after}
    if A.control and os.path.exists(A.control):
        with open(A.control) as f:
            m.update(json.load(f))
    if m.get("lifetime") is None:
        m["lifetime"] = m["expires_in"] if m["expires_in"] >= 0 else 60
    return m


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
        user, ok = None, True
        if authz:
            try:
                scheme, val = authz.split(" ", 1)
                u_, p_ = base64.b64decode(val).decode().split(":", 1)
                ok = scheme.lower() == "basic" and USER != "" and u_ == USER and p_ == PASS
                user = u_ if ok else None
            except Exception:
                ok = False
        m = mode()
        scopes = q.get("scope", [])
        with LOCK:
            # a test empties the log when it sets a mode: count from there
            if os.path.getsize(A.log) == 0:
                ISSUED[0] = 0
            n = ISSUED[0] if u.path == "/token" and ok else -1
            if n >= 0:
                ISSUED[0] += 1
            rejected = n >= 0 and 0 <= m["reject_after"] <= n
            with open(A.log, "a") as f:
                f.write(json.dumps({"n": n, "path": u.path, "auth": bool(authz), "ok": ok,
                                    "scope": scopes, "service": q.get("service", [""])[0],
                                    "expires_in": m["expires_in"],
                                    "lifetime": m["lifetime"], "rejected": rejected,
                                    "t": time.time()}) + "\n")
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
        claims = {"iss": A.issuer, "sub": user or "", "aud": q.get("service", [""])[0],
                  "exp": now + m["lifetime"], "nbf": now - 600, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        body = {"token": sign(claims, bad_key() if rejected else A.token_key),
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
        if m["expires_in"] >= 0:
            body["expires_in"] = m["expires_in"]
        self.reply(200, body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", A.port), H)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(A.cert, A.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
