#!/usr/bin/python3
"""Webhook receiver for camsnap's tests, on 127.0.0.1 only.

usage: webhook_receiver.py --out FILE [--port N] [--fail-first N]

Answers every POST with 200 "ok" after appending {"path", "content_type",
"body"} as one JSON line to FILE, as a chat service's incoming webhook
does; the first N POSTs (--fail-first) are answered 503 with Retry-After: 1
and not recorded (a service that is briefly down). Bodies over 1 MB are
refused 413. Prints "READY <port>" (flushed) once listening; SIGTERM stops it.
"""
import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    a = ap.parse_args()
    lock = threading.Lock()
    state = {"fail": a.fail_first}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, code, text, extra=()):
            body = text.encode()
            self.send_response(code)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > 1 << 20:
                self.answer(413, "too large")
                return
            body = self.rfile.read(n)
            with lock:
                if state["fail"] > 0:
                    state["fail"] -= 1
                    self.answer(503, "temporarily unavailable", [("Retry-After", "1")])
                    return
                with open(a.out, "a") as f:
                    f.write(json.dumps({"path": self.path,
                                        "content_type": self.headers.get("Content-Type"),
                                        "body": body.decode("utf-8", "replace")}) + "\n")
            self.answer(200, "ok")

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("READY %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
