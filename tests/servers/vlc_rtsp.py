#!/usr/bin/python3
"""RTSP test camera served by VLC (a second, independent RTSP server).

Usage:
    vlc_rtsp.py --workdir DIR [--port 0] [--size 640x360] [--fps 10]
                [--gop-seconds 2] [--mux rtp|ts] [--clip-seconds 30]

Makes a short H.264 clip of the SMPTE colour bars that rtsp_server.py draws
(same picture, so the same bar checker applies: videotestsrc pattern=smpte,
I420, BT.601 limited range, x264enc ultrafast, no B frames, one IDR every
gop-seconds, SPS/PPS in each IDR access unit, MPEG-TS file) in DIR, then
serves it in a loop with VLC's own RTSP server:

    --mux rtp  (default)  #rtp{sdp=rtsp://127.0.0.1:PORT/x}
               plain RTP H.264 (RFC 6184, packetization-mode=1, SPS/PPS
               in the SDP as sprop-parameter-sets)
    --mux ts              #rtp{mux=ts,sdp=rtsp://127.0.0.1:PORT/x}
               MPEG-TS over RTP (a=rtpmap:33 MP2T/90000)

The stream URL is rtsp://127.0.0.1:PORT/x.  VLC's RTSP server sends RTP
over UDP only: a SETUP asking for RTP/AVP/TCP (interleaved) gets
"RTSP/1.0 461 Unsupported transport".  It is a player serving a file, not
a camera with a warm encoder: every client gets the one running stream from
wherever the loop is, so a client joins mid-GOP (the first one too) and
waits up to gop-seconds for an IDR.  Where the clip wraps round, the
timestamps jump back.

Binds 127.0.0.1 only (--rtsp-host=127.0.0.1; its RTP sockets are connected
to the client's 127.0.0.1 ports).  --port 0 picks a free port.  Once VLC
answers DESCRIBE it prints exactly one line "READY <port>" on stdout
(flushed), logs to stderr (VLC's own log goes to DIR/vlc.log), and serves
until SIGTERM or SIGINT, then stops VLC (SIGTERM, SIGKILL after 5 s) and
exits 0 (also when stopped before it is ready).  Exit status 2: bad
arguments, clip or VLC start failure; 1: VLC died while serving.

VLC refuses to run as root, so when this script runs as root VLC runs as
user nobody (group nogroup); DIR (created 0755 if missing) and its parents
must then be readable by nobody, which is checked.  A clip already in DIR
for the same size/fps/gop/length is reused.

Needs the Debian packages vlc-bin and vlc-plugin-base (no X, no audio:
VLC runs with -I dummy, no D-Bus, a dummy audio output), plus
gstreamer1.0-tools, gstreamer1.0-plugins-base/-good/-bad/-ugly (x264enc,
mpegtsmux) for the clip.  Must run under /usr/bin/python3.
"""

import argparse
import os
import pwd
import re
import grp
import signal
import socket
import subprocess
import sys
import time

LOCAL = "127.0.0.1"
VLC = "/usr/bin/vlc"
GST_LAUNCH = "/usr/bin/gst-launch-1.0"
STOP = {"sig": None}


def log(msg):
    print("vlc_rtsp: " + msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description="camsnap RTSP test camera served by VLC "
                                "(127.0.0.1 only)")
    p.add_argument("--workdir", required=True, help="where the clip and VLC's log go")
    p.add_argument("--port", type=int, default=0, help="RTSP TCP port, 0 = pick a free one")
    p.add_argument("--size", default="640x360", help="WxH of the picture")
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--gop-seconds", type=float, default=2.0, help="keyframe interval")
    p.add_argument("--mux", choices=("rtp", "ts"), default="rtp",
                   help="rtp: RTP H.264; ts: MPEG-TS over RTP")
    p.add_argument("--clip-seconds", type=int, default=30, help="length of the looped clip")
    args = p.parse_args(argv)
    m = re.match(r"^([0-9]{2,4})x([0-9]{2,4})$", args.size)
    if not m:
        p.error("--size WxH")
    args.w, args.h = int(m.group(1)), int(m.group(2))
    if not (16 <= args.w <= 8192 and 16 <= args.h <= 8192) or args.w % 2 or args.h % 2:
        p.error("--size: even sizes, 16..8192 each")
    if not 0 <= args.port <= 65535 or not 1 <= args.fps <= 60 or \
            not 0 < args.gop_seconds <= 60 or not 1 <= args.clip_seconds <= 3600:
        p.error("--port 0..65535, --fps 1..60, --gop-seconds (0, 60], --clip-seconds 1..3600")
    return args


def vlc_identity():
    """(uid, gid) VLC runs as: nobody/nogroup when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid


def as_vlc_user(ident):
    if ident is None:
        return {}
    return {"user": ident[0], "group": ident[1], "extra_groups": []}


def make_clip(args, ident):
    keyint = max(1, int(round(args.fps * args.gop_seconds)))
    name = "bars-%dx%d-%dfps-key%d-%ds.ts" % (args.w, args.h, args.fps, keyint,
                                              args.clip_seconds)
    path = os.path.join(args.workdir, name)
    if os.path.exists(path) and os.path.getsize(path) > 0:
        log("reusing %s" % path)
        return path
    tmp = path + ".part"
    pipeline = [
        GST_LAUNCH, "-q",
        "videotestsrc", "pattern=smpte", "num-buffers=%d" % (args.fps * args.clip_seconds), "!",
        "video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1,colorimetry=bt601"
        % (args.w, args.h, args.fps), "!",
        "x264enc", "tune=zerolatency", "speed-preset=ultrafast", "bframes=0", "pass=qual",
        "quantizer=23", "key-int-max=%d" % keyint, "!",
        "video/x-h264,stream-format=byte-stream,alignment=au", "!",
        "mpegtsmux", "!", "filesink", "location=%s" % tmp]
    t0 = time.monotonic()
    r = subprocess.run(pipeline, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 or not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
        log("cannot make the clip: gst-launch exit %d: %s" % (r.returncode, r.stderr.strip()))
        return None
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    log("made %s (%d bytes) in %.1f s" % (path, os.path.getsize(path), time.monotonic() - t0))
    return path


def readable_by_vlc(path, ident):
    if ident is None:
        return os.access(path, os.R_OK)
    r = subprocess.run(["/usr/bin/test", "-r", path], stdin=subprocess.DEVNULL,
                       **as_vlc_user(ident))
    return r.returncode == 0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def describe_ok(port):
    """True once VLC answers DESCRIBE rtsp://127.0.0.1:PORT/x with 200 and an SDP."""
    try:
        with socket.create_connection((LOCAL, port), timeout=2) as s:
            s.sendall(("DESCRIBE rtsp://%s:%d/x RTSP/1.0\r\nCSeq: 1\r\n"
                       "Accept: application/sdp\r\n\r\n" % (LOCAL, port)).encode())
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"RTSP/1.0 200")
    except OSError:
        return False


def vlc_command(args, clip, port):
    url = "rtsp://%s:%d/x" % (LOCAL, port)
    chain = "#rtp{mux=ts,sdp=%s}" % url if args.mux == "ts" else "#rtp{sdp=%s}" % url
    return [VLC, "-I", "dummy", "--no-dbus", "--no-media-library", "--no-one-instance",
            "--no-interact", "--no-stats", "--no-lua", "--aout=adummy", "--no-audio",
            "--no-sout-audio", "--no-sout-spu", "--rtsp-host=%s" % LOCAL,
            "--loop", "--sout-keep", "--sout", chain, clip]


def stop_vlc(proc):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log("VLC ignored SIGTERM for 5 s: SIGKILL")
        proc.kill()
        proc.wait()


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def main(argv):
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: STOP.__setitem__("sig", s))
    if not os.path.exists(VLC):
        log("%s is missing (Debian packages vlc-bin vlc-plugin-base)" % VLC)
        return 2
    ident = vlc_identity()
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    clip = make_clip(args, ident)
    if clip is None:
        return 2
    if STOP["sig"]:
        log("stopping")
        return 0
    if not readable_by_vlc(clip, ident):
        log("%s is not readable by %s: use a work dir that user can read (and whose "
            "parents it can enter)" % (clip, "nobody" if ident else "this user"))
        return 2
    home = os.path.join(args.workdir, "vlc-home")  # VLC wants a writable $HOME
    os.makedirs(home, mode=0o700, exist_ok=True)
    if ident:
        os.chown(home, ident[0], ident[1])
    port = args.port or free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"}
    logpath = os.path.join(args.workdir, "vlc.log")
    cmd = vlc_command(args, clip, port)
    log("starting %s" % " ".join(cmd))
    with open(logpath, "w") as vlclog:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=vlclog, stderr=vlclog,
                                cwd=home, env=env, start_new_session=True,
                                **as_vlc_user(ident))
    deadline = time.monotonic() + 30
    while not describe_ok(port):
        if STOP["sig"]:
            log("stopping")
            stop_vlc(proc)
            return 0
        if proc.poll() is not None or time.monotonic() > deadline:
            why = "exited %s" % proc.returncode if proc.poll() is not None else \
                "no RTSP answer within 30 s"
            stop_vlc(proc)
            log("VLC did not come up (%s); tail of %s:\n%s" % (why, logpath, tail(logpath)))
            return 2
        time.sleep(0.1)
    print("READY %d" % port, flush=True)
    log("serving %s over rtsp://%s:%d/x (VLC pid %d)" % (args.mux, LOCAL, port, proc.pid))
    while STOP["sig"] is None and proc.poll() is None:
        time.sleep(0.1)
    if STOP["sig"] is None:
        log("VLC exited %s while serving; tail of %s:\n%s" % (proc.returncode, logpath,
                                                              tail(logpath)))
        return 1
    log("stopping")
    stop_vlc(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
