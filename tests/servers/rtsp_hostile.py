#!/usr/bin/python3
"""RTSP peers that misbehave the way real cameras and proxies do, for
camsnap's tests. Plain sockets, no media: each mode answers the RTSP
requests it must and then does its one wrong thing.

usage: rtsp_hostile.py --port N --mode MODE     prints "READY <port>"

Modes:
  close-after-describe  answers OPTIONS and DESCRIBE (a valid H.264 SDP),
                        then closes the connection when SETUP comes (what a
                        camera at its client limit, or a broken proxy, does)
  garbage-after-describe the same, but answers SETUP with bytes that are not
                        RTSP
  describe-no-sdp       answers DESCRIBE 200 with an empty body
  redirect-away         answers DESCRIBE with 302 to --to URL (another origin)
  redirect-loop         answers DESCRIBE with 302 to the URL it was asked for
  not-rtsp              answers every request as an HTTP server would
  collect               a server at the far end of a redirect: answers 401
                        with a Basic challenge and appends every Authorization
                        header it receives to --record FILE (what a client
                        would have leaked), one line each; connections and
                        bytes received are counted there too

Binds 127.0.0.1 only; serves any number of connections, one thread each,
until SIGTERM.
"""
import argparse
import signal
import socket
import sys
import threading

SDP = ("v=0\r\n"
       "o=- 1 1 IN IP4 127.0.0.1\r\n"
       "s=hostile\r\n"
       "c=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\n"
       "m=video 0 RTP/AVP 96\r\n"
       "a=rtpmap:96 H264/90000\r\n"
       "a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;"
       "sprop-parameter-sets=Z0LAHtkAoBbsBEAAAAMAQAAADyPFi2WA,aMuMsg==\r\n"
       "a=control:stream=0\r\n")


def read_request(conn, buf):
    while b"\r\n\r\n" not in buf:
        data = conn.recv(4096)
        if not data:
            return None, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def reply(conn, cseq, extra="", body=""):
    msg = "RTSP/1.0 200 OK\r\nCSeq: %s\r\nServer: hostile-test\r\n%s" % (cseq, extra)
    if body:
        msg += "Content-Length: %d\r\n" % len(body.encode())
    conn.sendall((msg + "\r\n" + body).encode())


def record(path, text):
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def serve(conn, mode, url_base, args):
    buf = b""
    record(args.record, "connection")
    try:
        while True:
            head, buf = read_request(conn, buf)
            if head is None:
                return
            lines = head.split("\r\n")
            method, url = (lines[0].split(" ") + ["", ""])[:2]
            cseq = next((ln.split(":", 1)[1].strip() for ln in lines
                         if ln.lower().startswith("cseq:")), "0")
            if mode == "collect":
                record(args.record, "request %s" % method)
                for ln in lines:
                    if ln.lower().startswith("authorization:"):
                        record(args.record, ln)
                conn.sendall(("RTSP/1.0 401 Unauthorized\r\nCSeq: %s\r\nWWW-Authenticate: "
                              "Basic realm=\"collector\"\r\n\r\n" % cseq).encode())
                continue
            if mode == "not-rtsp":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n"
                             b"Content-Length: 0\r\n\r\n")
                continue
            if method == "DESCRIBE" and mode in ("redirect-away", "redirect-loop"):
                to = args.to if mode == "redirect-away" else url
                conn.sendall(("RTSP/1.0 302 Moved Temporarily\r\nCSeq: %s\r\nLocation: %s\r\n\r\n"
                              % (cseq, to)).encode())
                continue
            if method == "OPTIONS":
                reply(conn, cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")
            elif method == "DESCRIBE":
                body = "" if mode == "describe-no-sdp" else SDP
                reply(conn, cseq, "Content-Type: application/sdp\r\nContent-Base: %s/\r\n"
                      % url, body)
            elif method == "SETUP" and mode == "garbage-after-describe":
                conn.sendall(b"\x00\x01garbage that is not RTSP\r\n\r\n")
            else:
                return  # SETUP (or anything else): close without a word
    except OSError:
        pass
    finally:
        conn.close()


def main(argv):
    p = argparse.ArgumentParser(description="misbehaving RTSP peer (127.0.0.1 only)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", required=True,
                   choices=("close-after-describe", "garbage-after-describe", "describe-no-sdp",
                            "redirect-away", "redirect-loop", "not-rtsp", "collect"))
    p.add_argument("--to", help="redirect-away: where to")
    p.add_argument("--record", help="collect: file to append what came to")
    args = p.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", args.port))
    except OSError as e:
        print("rtsp_hostile: cannot listen: %s" % e, file=sys.stderr)
        return 2
    sock.listen(64)
    port = sock.getsockname()[1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY %d" % port, flush=True)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn, args.mode, "rtsp://127.0.0.1:%d" % port,
                                             args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
