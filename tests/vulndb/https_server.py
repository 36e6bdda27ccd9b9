#!/usr/bin/env python3
"""A loopback HTTPS file server for test_update.c (never anything else).

usage: https_server.py ROOT CERT KEY PORTFILE LOGFILE

Serves GET ROOT/<path> on 127.0.0.1 (port chosen by the kernel, written to
PORTFILE) with a strong ETag (sha256 of the content) and Last-Modified; an
If-None-Match naming the current ETag gets 304. When ROOT/<path>.cut exists,
the response announces the full Content-Length, sends half the body and
closes the connection (an interrupted download). Every request is appended
to LOGFILE as "METHOD PATH STATUS". Exits by itself after 300 seconds.
"""
import email.utils
import hashlib
import http.server
import os
import ssl
import sys
import threading

ROOT, CERT, KEY, PORTFILE, LOGFILE = sys.argv[1:6]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        with open(LOGFILE, "a", encoding="utf-8") as f:
            f.write(f"{self.command} {self.path} {status}\n")

    def do_GET(self):
        rel = os.path.normpath(self.path.split("?", 1)[0]).lstrip("/")
        rel = rel.replace("%20", " ")
        path = os.path.join(ROOT, rel)
        if rel.startswith("..") or not os.path.isfile(path):
            self.record(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            body = f.read()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        lm = email.utils.formatdate(os.path.getmtime(path), usegmt=True)
        if self.headers.get("If-None-Match") == etag:
            self.record(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        cut = os.path.exists(path + ".cut")
        self.record("200-cut" if cut else 200)
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", lm)
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Timer(300, srv.shutdown).start()
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, PORTFILE)
    srv.serve_forever()
    os._exit(0)


if __name__ == "__main__":
    main()
