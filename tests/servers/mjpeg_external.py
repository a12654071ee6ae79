#!/usr/bin/python3
r"""An MJPEG-over-HTTP camera for camsnap's tests made of FFmpeg alone: the
picture comes from FFmpeg's lavfi, the JPEGs from its mjpeg encoder, the
multipart body from its mpjpeg muxer and the HTTP response from its own HTTP
server (-listen 1). It is an implementation independent of http_snapshot.py's.

usage: mjpeg_external.py [--port N] [--size WxH] [--fps N] [--q N]
                         [--direct [--typed]] [--verbose]
prints "READY <port>" when 127.0.0.1:<port> accepts; SIGTERM stops it and
every ffmpeg it started (exit 0). Only ever binds and connects 127.0.0.1.

FFmpeg's HTTP server serves one client per process and then exits, so:
  default    this script listens on the port; for each connection it reads the
             request, starts one ffmpeg listening on a free 127.0.0.1 port,
             hands it the request bytes unchanged and relays both ways
             verbatim until either side closes (then ffmpeg is ended). Any
             number of clients, each stream starting at frame 0. The path
             picks the variant:
               /WxH.mjpg          FFmpeg's defaults (see below)
               /typed/WxH.mjpg    ffmpeg -content_type
                                  'multipart/x-mixed-replace;boundary=ffmpeg'
               any other path     as /WxH.mjpg with --size (FFmpeg itself
                                  ignores the path)
  --direct   ffmpeg itself listens on the port (no relay; --size, --typed
             for the content type), one client at a time: ffmpeg closes its
             listening socket once it has accepted a client, so while a
             client is served another connection is REFUSED; after the client
             leaves, ffmpeg notices at its next write (within a frame), exits,
             and the next ffmpeg listens about 0.1-0.3 s later (refused in
             between too). READY is printed once the first ffmpeg listens
             (seen in /proc/net/tcp, no probe connection).

Picture (the colour bars of http_snapshot.py's /snap/WxH, accepted by
tests/integration/lib/camsnap_check.check_bars): a (40,40,40) grey frame, the
8 bars white, yellow, cyan, green, magenta, red, blue, black over the top two
thirds (bar i from x = i*W/8), drawn with drawbox on yuv420p and encoded as
full-range yuvj420p 4:2:0 JPEG by ffmpeg's mjpeg encoder at -q:v Q (default
3; the flat picture makes parts of about 2 KB at 640x360). The
frame number n (from 0 on each connection, ffmpeg's own counter) is drawn in
the bottom third with the same code as http_snapshot.py's MJPEG parts: a white
cell in column k = 0..6 (x from k*W/8 + W/32 to k*W/8 + 3W/32, y from 7H/9 to
8H/9) when bit k of n is 1, column 7's cell always white. Bits above 6 are
not shown (wraps at 128). JPEG COM segment: "Lavc59.37.100" (the libavcodec
version, Debian 12's FFmpeg 5.1), no frame number in it.

What FFmpeg 5.1 (Debian 12) sends, captured with a raw socket and with
`curl -s -D - --max-time 2 http://127.0.0.1:PORT/640x360.mjpg | xxd`:
  HTTP/1.1 200 OK\r\n
  Content-Type: application/octet-stream\r\n       (/typed/: multipart/x-mixed-replace;boundary=ffmpeg)
  Transfer-Encoding: chunked\r\n
  \r\n
No Server, Date, Connection, Cache-Control or Content-Length header: the
response is always chunked (-chunked_post 0 does not change that), and the
mpjpeg muxer's MIME type is not used unless -content_type says so. The body
(de-chunked) is
  --ffmpeg\r\n
  Content-type: image/jpeg\r\n                     (lower-case "type")
  Content-length: N\r\n                            (lower-case "length")
  \r\n
  <N bytes JPEG, FF D8 ... FF D9>\r\n
  --ffmpeg\r\n
  Content-type: image/jpeg\r\n ...
i.e. the muxer writes the first "--ffmpeg\r\n" alone and then, per frame, the
part headers, the JPEG, "\r\n" and the NEXT boundary line in one go: a part
ends with the boundary that opens the following one. On the wire the first
chunk is "a\r\n--ffmpeg\r\n\r\n" (10 bytes, the boundary line alone); each
later chunk is one frame: headers + JPEG + "\r\n--ffmpeg\r\n" (its size line
often reaches the client in a TCP segment of its own).
Timing: the response headers and the first chunk leave as soon as the request
is read; frames follow at --fps (default 10) paced by ffmpeg's -re, the first
0-110 ms after the request (in relay mode add ffmpeg's start, 0.1-0.5 s,
before the response headers). When the client leaves, ffmpeg's next write
fails and it exits (code 1, "Broken pipe").
Requests: the path, the headers and the HTTP version are not looked at (an
HTTP/1.0 request gets the same HTTP/1.1 chunked answer); anything but GET
(HEAD, POST, garbage) gets "HTTP/1.1 400 Bad Request", Content-Type:
text/plain, Content-Length: 17, body "400 Bad Request\r\n", then the close
(and that ffmpeg exits). There is no authentication.
"""
import argparse
import collections
import ctypes
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

LOCAL = "127.0.0.1"  # the only address this script binds or connects to
BARS = ["0xFFFFFF", "0xFFFF00", "0x00FFFF", "0x00FF00",
        "0xFF00FF", "0xFF0000", "0x0000FF", "0x000000"]
TYPED = "multipart/x-mixed-replace;boundary=ffmpeg"
# what ffmpeg says when its client left (it may serve one between two polls)
SERVED = ("Broken pipe", "Connection reset", "End of file", "400 Bad Request")
STOP = threading.Event()
CHILDREN = set()
CHILDREN_LOCK = threading.Lock()
ARGS = None


def log(msg):
    print("mjpeg_external: %s" % msg, file=sys.stderr, flush=True)


def graph(w, h, fps):
    """lavfi graph: grey frame, 8 bars, 7 frame-number bit cells + marker."""
    f = ["color=c=0x282828:s=%dx%d:r=%s,format=yuv420p" % (w, h, fps)]
    for i, c in enumerate(BARS):
        f.append("drawbox=x=%d:y=0:w=%d:h=%d:c=%s:t=fill"
                 % (i * w // 8, (i + 1) * w // 8 - i * w // 8, h * 2 // 3, c))
    for k in range(8):
        x0, x1 = k * w // 8 + w // 32, k * w // 8 + w * 3 // 32
        box = "drawbox=x=%d:y=%d:w=%d:h=%d:c=0xFFFFFF:t=fill" % (
            x0, h * 7 // 9, x1 - x0, h * 8 // 9 - h * 7 // 9)
        f.append(box if k == 7 else box + ":enable='bitand(n\\,%d)'" % (1 << k))
    return ",".join(f)


def ffmpeg_cmd(port, w, h, typed):
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel",
           "warning" if ARGS.verbose else "error",
           "-re", "-f", "lavfi", "-i", graph(w, h, ARGS.fps),
           "-an", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", str(ARGS.q),
           "-f", "mpjpeg"]
    if typed:
        cmd += ["-content_type", TYPED]
    return cmd + ["-listen", "1", "http://%s:%d/x.mjpg" % (LOCAL, port)]


def die_with_parent():
    """In the child before exec: SIGTERM when the thread that started it dies
    (each is stopped before that thread ends), so that no ffmpeg outlives
    this script, even a SIGKILLed one."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """One ffmpeg; its stderr is kept (last lines) and shown with --verbose
    or when it fails before serving."""

    def __init__(self, cmd):
        self.tail = collections.deque(maxlen=20)
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        with CHILDREN_LOCK:
            CHILDREN.add(self)
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()

    def _drain(self):
        for line in self.p.stderr:
            line = line.decode(errors="replace").rstrip()
            self.tail.append(line)
            if ARGS.verbose:
                log("ffmpeg[%d]: %s" % (self.p.pid, line))

    def stop(self, grace=2.0):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
        self.p.wait()
        with CHILDREN_LOCK:
            CHILDREN.discard(self)


def free_port():
    s = socket.socket()
    s.bind((LOCAL, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def up(port):
    """True when 127.0.0.1:port listens or has a connection (read from
    /proc/net/tcp, so that no probe connection is spent on a one-client
    server)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        return any(ln.split()[1] == want and ln.split()[3] in ("0A", "01")
                   for ln in f.readlines()[1:])


# ---- relay mode -------------------------------------------------------------

def read_request(c):
    c.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 16384:
        chunk = c.recv(4096)
        if not chunk:
            return None
        data += chunk
    c.settimeout(None)
    return data


def start_upstream(w, h, typed):
    """Starts an ffmpeg on a free port and connects to it: (child, socket)."""
    for _ in range(3):
        port = free_port()
        child = Child(ffmpeg_cmd(port, w, h, typed))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not STOP.is_set():
            if child.p.poll() is not None:
                break
            try:
                return child, socket.create_connection((LOCAL, port), timeout=5)
            except ConnectionRefusedError:
                time.sleep(0.02)
        log("ffmpeg on port %d did not listen (rc %s): %s"
            % (port, child.p.poll(), " | ".join(child.tail)))
        child.stop()
        if STOP.is_set():
            break
    return None, None


def relay(c):
    child = u = None
    try:
        req = read_request(c)
        if not req:
            return
        path = req.split(b" ", 2)[1].decode("latin-1") if req.count(b" ") >= 2 else "/"
        m = re.match(r"^/(typed/)?(\d+)x(\d+)\.mjpg(\?.*)?$", path)
        w, h = (int(m.group(2)), int(m.group(3))) if m else ARGS.size
        child, u = start_upstream(w, h, bool(m and m.group(1)))
        if not u:
            return
        u.settimeout(None)
        u.sendall(req)
        socks = [c, u]
        while socks and not STOP.is_set():
            r, _, _ = select.select(socks, [], [], 0.5)
            for s in r:
                other = u if s is c else c
                data = s.recv(65536)
                if not data:
                    if s is u:  # ffmpeg ended the stream: end the client's
                        return
                    other.shutdown(socket.SHUT_WR)  # client half-closed
                    socks.remove(s)
                    continue
                other.sendall(data)
    except OSError:
        pass  # either side went away
    finally:
        for s in (c, u):
            if s:
                try:
                    s.close()
                except OSError:
                    pass
        if child:
            try:
                child.p.wait(2)  # it exits on its own after a failed write
            except subprocess.TimeoutExpired:
                pass
            child.stop()


def serve_relay(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((LOCAL, port))
    ls.listen(64)
    ls.settimeout(0.2)
    print("READY %d" % ls.getsockname()[1], flush=True)
    while not STOP.is_set():
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        threading.Thread(target=relay, args=(c,), daemon=True).start()
    ls.close()


# ---- direct mode ------------------------------------------------------------

def serve_direct(port):
    port = port or free_port()
    ready = False
    failures = 0
    while not STOP.is_set():
        child = Child(ffmpeg_cmd(port, ARGS.size[0], ARGS.size[1], ARGS.typed))
        deadline = time.monotonic() + 15
        seen = False
        while not STOP.is_set() and child.p.poll() is None and time.monotonic() < deadline:
            if up(port):
                seen = True
                break
            time.sleep(0.02)
        if STOP.is_set():
            child.stop()
            break
        if child.p.poll() is not None:
            child.drainer.join(2)  # its last words, to tell served from failed
        served = any(e in ln for ln in child.tail for e in SERVED)
        if seen or served:
            failures = 0
            if not ready:
                print("READY %d" % port, flush=True)
                ready = True
            while not STOP.is_set() and child.p.poll() is None:
                time.sleep(0.05)
        else:
            failures += 1
            log("ffmpeg did not listen on %d (rc %s): %s"
                % (port, child.p.poll(), " | ".join(child.tail)))
            if failures >= 5:
                child.stop()
                return 1
            time.sleep(0.2)
        child.stop(0.5)
    return 0


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--fps", default="10")
    ap.add_argument("--q", type=int, default=3, help="ffmpeg -q:v (2 best .. 31)")
    ap.add_argument("--direct", action="store_true")
    ap.add_argument("--typed", action="store_true", help="with --direct: " + TYPED)
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    m = re.match(r"^(\d+)x(\d+)$", ARGS.size)
    if not m:
        ap.error("--size WxH")
    ARGS.size = (int(m.group(1)), int(m.group(2)))
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    signal.signal(signal.SIGINT, lambda *_: STOP.set())
    try:
        rc = serve_direct(ARGS.port) if ARGS.direct else serve_relay(ARGS.port)
    finally:
        STOP.set()
        with CHILDREN_LOCK:
            children = list(CHILDREN)
        for ch in children:
            ch.stop()
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
