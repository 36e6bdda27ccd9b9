#!/usr/bin/env python3
"""A loopback receiver for cellscan serve's alerts (tests only).

usage: alert_receiver.py PORTFILE OUTFILE KEYFILE

Binds 127.0.0.1 on a free port (written to PORTFILE), and appends one JSON
line per POST to OUTFILE: {"body": <the alert>, "signature_ok": bool,
"alert_id": "..."}; the signature is checked against the HMAC-SHA256 of the
raw body with the key in KEYFILE (first line).
"""
import hashlib
import hmac
import http.server
import json
import sys

portfile, outfile, keyfile = sys.argv[1:4]
with open(keyfile, "rb") as f:
    key = f.read().splitlines()[0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > (1 << 20):
            self.send_response(413)
            self.end_headers()
            return
        body = self.rfile.read(n)
        want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        got = self.headers.get("X-Cellscan-Signature", "")
        rec = {
            "body": json.loads(body.decode("utf-8")),
            "signature_ok": hmac.compare_digest(want, got),
            "alert_id": self.headers.get("X-Cellscan-Alert-Id", ""),
        }
        with open(outfile, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
