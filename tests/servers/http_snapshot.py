#!/usr/bin/python3
r"""HTTP snapshot camera for camsnap's tests: serves JPEG stills on 127.0.0.1.

usage: http_snapshot.py [--port N]      prints "READY <port>" when listening

Paths (W x H any size, e.g. /snap/640x360):
  /snap/WxH            a JPEG with 100% colour bars (as synthetic:// draws)
  /basic/WxH           the same behind HTTP Basic auth   (camuser / campass)
  /digest/WxH          the same behind HTTP Digest auth  (camuser / campass, MD5, qop=auth)
  /nodht/WxH           a Motion-JPEG style frame without Huffman tables (DHT)
  /truncated/WxH       the first half of a JPEG
  /badscan/WxH         a JPEG whose header is whole and which ends with EOI,
                       but whose entropy-coded data stops halfway (a camera's
                       encoder or a proxy cut it): parses, does not decode
  /stall/WxH           headers and half the body, then silence for an hour
  /notjpeg             an HTML page with status 200
  /big/N               N bytes of a valid-looking JPEG header then padding
  /hang                accepts, reads the request, never answers
  /status/NNN          answers with that status code
  /slowbody/WxH        sends headers, then the body one byte per second
  /control/down        makes every later request fail with 503 until /control/up
  /control/mjpeg       JSON list of the last 200 MJPEG streams (see below)

MJPEG streams (an endless multipart/x-mixed-replace body, as cheap IP cameras
send; the client takes the first complete part and hangs up):
  /mjpeg/WxH[?opt=val&...]
Every part is a JPEG of the same colour bars as /snap/WxH (same layout, same
quality 90) plus a part number drawn in the bottom third, below the bars:
  column k = 0..6 (x from k*W/8) holds a white cell W/16 wide centred in the
  column (x from k*W/8 + W/32 to k*W/8 + 3W/32, y from 7H/9 to 8H/9) when bit
  k of the part number is 1 (grey background otherwise); column 7 always holds
  a white cell (marker). The part number counts from 0 on each connection and
  wraps at 128 (part 0 shows no bit cell). Each part's JPEG also carries a COM
  segment "camsnap-test mjpeg part N". Consecutive parts thus differ, so a
  still stitched from two parts fails to decode or shows the wrong cells.
Default wire format (each value below can be changed by an option):
  HTTP/1.0 200 OK\r\n
  Server: camsnap-test-mjpeg\r\n
  Connection: close\r\n
  Cache-Control: no-cache\r\n
  Pragma: no-cache\r\n
  Content-Type: multipart/x-mixed-replace; boundary=myboundary\r\n
  \r\n
then, about 10 times a second, forever, each part as one write:
  --myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: N\r\n\r\n<N bytes JPEG>\r\n
No Content-Length on the response: the body ends only when a side closes.
Options (combine freely, e.g. /mjpeg/640x360?len=0&te=chunked&auth=digest;
an unknown option or value answers 400):
  len=0          parts carry no Content-Length (end of part = next "\r\n--myboundary")
  bnd=dash       header says boundary=--myboundary, the body still uses
                 "--myboundary" lines (common non-RFC quirk)
  bnd=quoted     header says boundary="myboundary"
  ctype=octet    response Content-Type: application/octet-stream (body unchanged)
  ctype=none     no Content-Type header on the response (body unchanged)
  start=torn     the server "joined late": the body starts with the last 60%
                 of a JPEG (part 127's) + "\r\n", then part 0 with its boundary
  auth=basic     HTTP Basic first (camuser / campass; 401 as /basic/ does)
  auth=digest    HTTP Digest first (camuser / campass, MD5, qop=auth; as /digest/)
  stall=headers  sends the response headers, then nothing ever (no part)
  stall=half     sends the headers, part 0's boundary and part headers and half
                 of its JPEG, then nothing ever
  fps=N          N parts a second (default 10); fps=0: no delay at all, as fast
                 as the socket takes them (a fast camera: a client that buffers
                 the stream instead of stopping after part 0 never finishes)
  frames=N       end the stream after N parts with "--myboundary--\r\n" and close
  ver=1.1        status line HTTP/1.1 200 OK (still close-delimited, Connection: close)
  te=chunked     HTTP/1.1 200 OK with Transfer-Encoding: chunked: each part is
                 written as separate chunks (boundary + part headers; the JPEG in
                 pieces of at most 4096 bytes; the trailing \r\n), a stream that
                 ends (frames=N) ends with the 0-size chunk
A stalled stream waits until the client closes, then its thread exits; a client
may close at any moment (errors are recorded, not raised). /control/mjpeg lists
each stream as {"id", "path", "parts" (complete parts written), "bytes" (body
bytes written, without response headers and chunk framing), "open", "end"}
where end is "client closed" (seen between parts), "client closed (<error>)"
(a write failed), "frames done" or "stalled, client closed".
Only ever binds 127.0.0.1.
"""
import argparse
import collections
import hashlib
import io
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from PIL import Image, ImageDraw

USER, PASSWORD, REALM = "camuser", "campass", "camsnap-test"
BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
STATE = {"down": False, "served": 0, "streams": 0}
_cache = {}
BOUNDARY = "myboundary"
MJPEG_PERIOD = 128  # part numbers wrap here (7 bit cells)
MJPEG_OPTS = {"len": ("1", "0"), "bnd": ("plain", "dash", "quoted"),
              "ctype": ("multipart", "octet", "none"), "start": ("clean", "torn"),
              "auth": ("none", "basic", "digest"), "stall": ("none", "headers", "half"),
              "ver": ("1.0", "1.1"), "te": ("close", "chunked")}
STREAMS = collections.deque(maxlen=200)
_streams_lock = threading.Lock()
_part_cache = {}
_part_lock = threading.Lock()


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


def part_jpeg(w, h, n):
    """Part n of an MJPEG stream: bars_jpeg's picture plus n's bit cells."""
    n %= MJPEG_PERIOD
    key = (w, h, n)
    with _part_lock:
        if key not in _part_cache:
            img = Image.new("RGB", (w, h), (40, 40, 40))
            d = ImageDraw.Draw(img)
            for i, c in enumerate(BARS):
                d.rectangle([i * w // 8, 0, (i + 1) * w // 8 - 1, h * 2 // 3 - 1], fill=c)
            for k in range(8):
                if k == 7 or n >> k & 1:
                    d.rectangle([k * w // 8 + w // 32, h * 7 // 9,
                                 k * w // 8 + w * 3 // 32 - 1, h * 8 // 9 - 1],
                                fill=(255, 255, 255))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90,
                     comment=("camsnap-test mjpeg part %d" % n).encode())
            _part_cache[key] = buf.getvalue()
        return _part_cache[key]


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

    # ---- MJPEG streams -----------------------------------------------------

    def client_gone(self, timeout):
        """Waits up to timeout s; True when the client closed its side
        (anything it sends meanwhile is read and dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.connection], [], [], left)
            if r:
                try:
                    if not self.connection.recv(4096):
                        return True
                except OSError:
                    return True

    def mjpeg(self, w, h):  # noqa: C901 - one branch per option
        opts = {k: v[-1] for k, v in parse_qs(self.path.partition("?")[2],
                                               keep_blank_values=True).items()}
        try:
            for k, v in opts.items():
                if k in ("fps", "frames"):
                    if float(v) < 0:
                        raise ValueError(k)
                elif v not in MJPEG_OPTS[k]:
                    raise ValueError(k)
            fps = float(opts.get("fps", "10"))
            frames = int(opts.get("frames", "0"))
        except (KeyError, ValueError) as e:
            return self.send(400, ("bad mjpeg option %s\n" % e).encode(), "text/plain")
        o = {k: opts.get(k, vals[0]) for k, vals in MJPEG_OPTS.items()}
        if o["auth"] == "basic" and not self.check_basic():
            return None  # the 401 keeps the connection open, as /basic/ does
        if o["auth"] == "digest" and not self.check_digest():
            return None
        self.close_connection = True
        chunked = o["te"] == "chunked"
        head = ["HTTP/1.1 200 OK" if chunked or o["ver"] == "1.1" else "HTTP/1.0 200 OK",
                "Server: camsnap-test-mjpeg",
                "Transfer-Encoding: chunked" if chunked else "Connection: close",
                "Cache-Control: no-cache", "Pragma: no-cache"]
        hb = {"plain": BOUNDARY, "dash": "--" + BOUNDARY, "quoted": '"%s"' % BOUNDARY}[o["bnd"]]
        if o["ctype"] == "multipart":
            head.append("Content-Type: multipart/x-mixed-replace; boundary=" + hb)
        elif o["ctype"] == "octet":
            head.append("Content-Type: application/octet-stream")
        with _streams_lock:
            STATE["streams"] += 1
            rec = {"id": STATE["streams"], "path": self.path, "parts": 0, "bytes": 0,
                   "open": True, "end": ""}
            STREAMS.append(rec)

        def out(*pieces):  # one write each (a chunk each when chunked)
            for p in pieces:
                if not p:
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p) if chunked else p)
                rec["bytes"] += len(p)

        def stall():
            while not self.client_gone(3600):
                pass
            rec["end"] = "stalled, client closed"

        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
            if o["stall"] == "headers":
                return stall()
            if o["start"] == "torn":
                tail = part_jpeg(w, h, MJPEG_PERIOD - 1)
                out(tail[len(tail) * 2 // 5:] + b"\r\n")
            n = 0
            while True:
                jpeg = part_jpeg(w, h, n)
                phead = ("--%s\r\nContent-Type: image/jpeg\r\n" % BOUNDARY
                         + ("" if o["len"] == "0" else "Content-Length: %d\r\n" % len(jpeg))
                         + "\r\n").encode()
                if o["stall"] == "half":
                    out(phead + jpeg[:len(jpeg) // 2])
                    return stall()
                if chunked:
                    out(phead, *[jpeg[i:i + 4096] for i in range(0, len(jpeg), 4096)])
                    out(b"\r\n")
                else:
                    out(phead + jpeg + b"\r\n")
                rec["parts"] += 1
                n += 1
                if frames and n >= frames:
                    out(("--%s--\r\n" % BOUNDARY).encode())
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                    rec["end"] = "frames done"
                    return None
                if fps > 0 and self.client_gone(1.0 / fps):
                    rec["end"] = "client closed"
                    return None
        except OSError as e:  # BrokenPipe, ConnectionReset, ...
            rec["end"] = "client closed (%s)" % e.__class__.__name__
        finally:
            rec["open"] = False
        return None

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
        if p == "/control/mjpeg":
            with _streams_lock:
                body = json.dumps(list(STREAMS), indent=1).encode()
            return self.send(200, body, "application/json")
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
        if p.startswith("/badscan/"):
            data = bars_jpeg(w, h)
            return self.send(200, data[:len(data) // 2] + b"\xff\xd9")
        if p.startswith("/stall/"):
            data = bars_jpeg(w, h)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            time.sleep(3600)
            return None
        if p == "/notjpeg":
            return self.send(200, b"<html><body>login</body></html>", "text/html")
        if p.startswith("/big/"):
            n = int(p.split("/")[2])
            body = bars_jpeg(64, 64)[:-2]
            return self.send(200, body + b"\0" * max(0, n - len(body)))
        if p == "/hang":
            time.sleep(3600)
            return None
        if p.startswith("/mjpeg/"):
            return self.mjpeg(w, h)
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

    def handle_error(self, request, client_address):
        # a client that leaves at any moment (reset, broken pipe, timeout) is
        # normal for a camera; anything else is still printed
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


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
