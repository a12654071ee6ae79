#!/usr/bin/python3
"""HTTP snapshot camera for camsnap's tests: serves JPEG stills on 127.0.0.1.

usage: http_snapshot.py [--port N]      prints "READY <port>" when listening

Paths (W x H any size, e.g. /snap/640x360):
  /snap/WxH            a JPEG with 100% colour bars (as synthetic:// draws)
  /basic/WxH           the same behind HTTP Basic auth   (camuser / campass)
  /digest/WxH          the same behind HTTP Digest auth  (camuser / campass, MD5, qop=auth)
  /nodht/WxH           a Motion-JPEG style frame without Huffman tables (DHT)
  /truncated/WxH       the first half of a JPEG
  /notjpeg             an HTML page with status 200
  /big/N               N bytes of a valid-looking JPEG header then padding
  /hang                accepts, reads the request, never answers
  /status/NNN          answers with that status code
  /slowbody/WxH        sends headers, then the body one byte per second
  /control/down        makes every later request fail with 503 until /control/up
Only ever binds 127.0.0.1.
"""
import argparse
import hashlib
import io
import os
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

USER, PASSWORD, REALM = "camuser", "campass", "camsnap-test"
BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
STATE = {"down": False, "served": 0}
_cache = {}


def bars_jpeg(w, h):
    key = (w, h)
    if key not in _cache:
        img = Image.new("RGB", (w, h), (40, 40, 40))
        d = ImageDraw.Draw(img)
        for i, c in enumerate(BARS):
            d.rectangle([i * w // 8, 0, (i + 1) * w // 8 - 1, h * 2 // 3 - 1], fill=c)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        _cache[key] = buf.getvalue()
    return _cache[key]


def strip_dht(data):
    out, i = bytearray(data[:2]), 2
    while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
        seg = 2 + (data[i + 2] << 8 | data[i + 3])
        if data[i + 1] != 0xC4:
            out += data[i:i + seg]
        i += seg
    return bytes(out + data[i:])


def size_of(path):
    m = re.search(r"/(\d+)x(\d+)$", path)
    return (int(m.group(1)), int(m.group(2))) if m else (640, 360)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    nonces = set()

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, code, body, ctype="image/jpeg", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def check_basic(self):
        import base64
        want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        if self.headers.get("Authorization") == want:
            return True
        self.send(401, b"auth required", "text/plain",
                  [("WWW-Authenticate", 'Basic realm="%s"' % REALM)])
        return False

    def check_digest(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Digest "):
            f = dict(re.findall(r'(\w+)="?([^",]*)"?', auth[7:]))
            ha1 = hashlib.md5(("%s:%s:%s" % (USER, REALM, PASSWORD)).encode()).hexdigest()
            ha2 = hashlib.md5(("%s:%s" % (self.command, f.get("uri", ""))).encode()).hexdigest()
            want = hashlib.md5(":".join([ha1, f.get("nonce", ""), f.get("nc", ""),
                                         f.get("cnonce", ""), f.get("qop", ""), ha2])
                               .encode()).hexdigest()
            if f.get("username") == USER and f.get("nonce") in self.nonces and \
                    f.get("response") == want:
                return True
        nonce = os.urandom(12).hex()
        Handler.nonces.add(nonce)
        self.send(401, b"auth required", "text/plain",
                  [("WWW-Authenticate",
                    'Digest realm="%s", qop="auth", nonce="%s", algorithm=MD5' % (REALM, nonce))])
        return False

    def do_GET(self):  # noqa: C901 - one branch per test path
        p = self.path.split("?")[0]
        if p == "/control/down":
            STATE["down"] = True
            return self.send(200, b"down", "text/plain")
        if p == "/control/up":
            STATE["down"] = False
            return self.send(200, b"up", "text/plain")
        if p == "/control/served":
            return self.send(200, str(STATE["served"]).encode(), "text/plain")
        if STATE["down"]:
            return self.send(503, b"camera rebooting", "text/plain")
        STATE["served"] += 1
        w, h = size_of(p)
        if p.startswith("/snap/"):
            return self.send(200, bars_jpeg(w, h))
        if p.startswith("/basic/"):
            return self.check_basic() and self.send(200, bars_jpeg(w, h))
        if p.startswith("/digest/"):
            return self.check_digest() and self.send(200, bars_jpeg(w, h))
        if p.startswith("/nodht/"):
            return self.send(200, strip_dht(bars_jpeg(w, h)))
        if p.startswith("/truncated/"):
            data = bars_jpeg(w, h)
            return self.send(200, data[:len(data) // 2])
        if p == "/notjpeg":
            return self.send(200, b"<html><body>login</body></html>", "text/html")
        if p.startswith("/big/"):
            n = int(p.split("/")[2])
            body = bars_jpeg(64, 64)[:-2]
            return self.send(200, body + b"\0" * max(0, n - len(body)))
        if p == "/hang":
            time.sleep(3600)
            return None
        if p.startswith("/status/"):
            return self.send(int(p.split("/")[2]), b"status", "text/plain")
        if p.startswith("/slowbody/"):
            data = bars_jpeg(w, h)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for b in data:
                self.wfile.write(bytes([b]))
                self.wfile.flush()
                time.sleep(1)
            return None
        return self.send(404, b"no such path", "text/plain")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # a 12-camera round connects at once
    address_family = socket.AF_INET


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
