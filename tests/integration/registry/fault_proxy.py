#!/usr/bin/env python3
"""A fault-injecting reverse proxy in front of the real test registry, on
loopback only. Usage:

  fault_proxy.py UPSTREAM_HOST:PORT CA CERT KEY PORTFILE

Listeners (ports written to PORTFILE as JSON):
  tls     https, forwards to the upstream registry (verified with CA)
  plain   plain http, forwards the same way (for --insecure-registry)
  other   https on "another host": serves the targets of injected redirects
  silent  a TCP socket that is never accepted (for connect/TLS timeouts)

Control, on the tls listener:
  POST /__ctl/rules  [{"match": REGEX, "method": "GET", "action": ..., "times": N}, ...]
  POST /__ctl/reset  clears rules and log
  GET  /__ctl/log    every request seen: listener, method, path, whether an
                     Authorization header came (never its value), Range, status

Actions: {"action": "status", "code": 500, "headers": {...}}, {"action": "cut",
"after": BYTES} (send the headers and BYTES of the body, then drop the
connection), {"action": "corrupt"} (flip one body byte), {"action":
"bigmanifest", "size": BYTES, "chunked": bool}, {"action": "redirect"} (307 to
the other listener, which serves the upstream body).
"""
import http.client
import http.server
import json
import os
import re
import socket
import ssl
import sys
import threading

UP, CA, CERT, KEY, PORTFILE = sys.argv[1:6]
UP_HOST, UP_PORT = UP.rsplit(":", 1)
LOCK = threading.Lock()
RULES = []
LOG = []
STASH = {}
PORTS = {}
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}

up_ctx = ssl.create_default_context(cafile=CA)


def take_rule(method, path):
    with LOCK:
        for r in RULES:
            if r.get("times", 1) == 0:
                continue
            if r.get("method") and r["method"] != method:
                continue
            if not re.search(r["match"], path):
                continue
            if r.get("times", 1) > 0:
                r["times"] = r.get("times", 1) - 1
            return dict(r)
    return None


def upstream(method, path, headers):
    c = http.client.HTTPSConnection(UP_HOST, int(UP_PORT), context=up_ctx, timeout=60)
    fwd = {k: v for k, v in headers.items() if k.lower() not in HOP and k.lower() != "host"}
    fwd["Host"] = UP
    c.request(method, path, headers=fwd)
    return c, c.getresponse()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    listener = "?"

    def log_message(self, *a):
        pass

    def record(self, status):
        with LOCK:
            LOG.append({"listener": self.listener, "method": self.command, "path": self.path,
                        "auth": "Authorization" in self.headers,
                        "range": self.headers.get("Range", ""), "status": status})

    def simple(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def ctl(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path == "/__ctl/rules":
            with LOCK:
                RULES[:] = json.loads(body)
            return self.simple(200, b"{}")
        if self.path == "/__ctl/reset":
            with LOCK:
                RULES[:] = []
                LOG[:] = []
            return self.simple(200, b"{}")
        if self.path == "/__ctl/log":
            with LOCK:
                data = json.dumps(LOG).encode()
            return self.simple(200, data, {"Content-Type": "application/json"})
        return self.simple(404)

    def do_POST(self):
        if self.path.startswith("/__ctl/") and self.listener == "tls":
            return self.ctl()
        self.record(405)
        self.simple(405)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path.startswith("/__ctl/") and self.listener == "tls":
            return self.ctl()
        if self.listener == "other":
            m = re.match(r"^/r/([0-9a-f]+)$", self.path)
            data = STASH.get(m.group(1)) if m else None
            self.record(200 if data is not None else 404)
            if data is None:
                return self.simple(404)
            return self.simple(200, data, {"Content-Type": "application/octet-stream"})
        rule = take_rule(self.command, self.path)
        act = rule["action"] if rule else None
        if act == "status":
            self.record(rule["code"])
            body = json.dumps({"errors": [{"code": "INJECTED", "message": "fault"}]}).encode()
            return self.simple(rule["code"], body, rule.get("headers"))
        if act == "bigmanifest":
            self.record(200)
            size = rule.get("size", 5 << 20)
            body = b'{"schemaVersion":2,"pad":"' + b"a" * size + b'"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Connection", "close")
            if rule.get("chunked"):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), 65536):
                    part = body[i:i + 65536]
                    try:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    except OSError:
                        break
                else:
                    self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass
            self.close_connection = True
            return
        try:
            conn, resp = upstream(self.command, self.path, self.headers)
        except OSError as e:
            self.record(502)
            return self.simple(502, str(e).encode())
        try:
            if act == "redirect" and resp.status == 200:
                data = resp.read()
                key = os.urandom(8).hex()
                STASH[key] = data
                self.record(307)
                loc = "https://localhost:%d/r/%s" % (PORTS["other"], key)
                return self.simple(307, b"", {"Location": loc})
            self.record(resp.status)
            self.send_response(resp.status)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                if k.lower() in HOP or k.lower() == "content-length":
                    continue
                self.send_header(k, v)
            body = None
            if length is None:
                body = resp.read()
                length = str(len(body))
            self.send_header("Content-Length", length)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if self.command == "HEAD":
                return
            sent = 0
            cut = rule.get("after") if act == "cut" else None
            flip = act == "corrupt"
            while True:
                chunk = body if body is not None else resp.read(65536)
                body = b"" if body is not None else None
                if not chunk:
                    break
                if flip:
                    b = bytearray(chunk)
                    b[len(b) // 2] ^= 0xFF
                    chunk = bytes(b)
                    flip = False
                if cut is not None and sent + len(chunk) >= cut:
                    self.wfile.write(chunk[:cut - sent])
                    self.wfile.flush()
                    # drop the connection mid-body
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            self.close_connection = True
        finally:
            conn.close()


def serve(name, tls):
    cls = type("H_" + name, (H,), {"listener": name})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), cls)
    srv.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    PORTS[name] = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()


serve("tls", True)
serve("plain", False)
serve("other", True)
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(64)
PORTS["silent"] = silent.getsockname()[1]
with open(PORTFILE + ".tmp", "w") as f:
    json.dump(PORTS, f)
os.rename(PORTFILE + ".tmp", PORTFILE)
threading.Event().wait()
