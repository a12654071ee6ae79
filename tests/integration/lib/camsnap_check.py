"""Shared helpers for camsnap's integration tests (run with /usr/bin/python3).

They start nothing outside 127.0.0.1 and write only under the temporary
directories they create.
"""
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

from PIL import Image

BIN = os.environ.get("CAMSNAP_BIN", "build/camsnap")
SRC = os.environ.get("CAMSNAP_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# The reference site: 2 x 2592x1944, 3 x 1920x1080, 3 x 640x360.
REFERENCE_MIX = [("27", 2592, 1944), ("28", 2592, 1944), ("36", 1920, 1080),
                 ("37", 1920, 1080), ("38", 1920, 1080), ("41", 640, 360),
                 ("42", 640, 360), ("43", 640, 360)]

# 100% colour bars drawn by synthetic:// in the top two thirds (RGB).
BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def make_state(prefix="camsnap-it-"):
    base = os.environ.get("TMPDIR", "/tmp")
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def write_config(path, state_dir, cameras, extra_general="", upload="backend = none\n"):
    """cameras: list of (name, url) or (name, url, resolution)."""
    lines = ["[general]", "state_dir = %s" % state_dir, "interval = 5s",
             "window = always", "log_level = info", extra_general, "", "[upload]", upload, ""]
    for cam in cameras:
        lines.append("[camera %s]" % cam[0])
        lines.append("url = %s" % cam[1])
        if len(cam) > 2 and cam[2]:
            lines.append("resolution = %s" % cam[2])
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    os.chmod(path, 0o600)


def synthetic_config(path, state_dir, mix=REFERENCE_MIX, **kw):
    write_config(path, state_dir, [(n, "synthetic://%dx%d" % (w, h), "%dx%d" % (w, h))
                                   for n, w, h in mix], **kw)


def run(args, config, timeout=120, check=None, env=None):
    cmd = [BIN, "-c", config] + list(args)
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    if check is not None and p.returncode != check:
        fail("%s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s"
             % (" ".join(cmd), p.returncode, check, p.stdout, p.stderr))
    return p


def rows(state_dir):
    db = sqlite3.connect(os.path.join(state_dir, "capture_tracking.db"))
    db.row_factory = sqlite3.Row
    out = [dict(r) for r in db.execute("SELECT * FROM upload_tracking ORDER BY id")]
    db.close()
    return out


def integrity_ok(state_dir):
    db = sqlite3.connect(os.path.join(state_dir, "capture_tracking.db"))
    res = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return res == "ok"


def spool_files(state_dir):
    """Returns (stills, temps): relative paths under backup_queue."""
    root = os.path.join(state_dir, "backup_queue")
    stills, temps = [], []
    if not os.path.isdir(root):
        return stills, temps
    for d in sorted(os.listdir(root)):
        for f in sorted(os.listdir(os.path.join(root, d))):
            rel = d + "/" + f
            (temps if f.startswith(".tmp-") else stills).append(rel)
    return stills, temps


def decode_fully(path):
    """Decodes every byte of a JPEG; raises on truncated or corrupt data."""
    with open(path, "rb") as f:
        data = f.read()
    img = Image.open(io.BytesIO(data))
    img.load()  # truncated entropy data raises OSError
    if not data.endswith(b"\xff\xd9"):
        raise OSError("no EOI marker")
    return img


def check_bars(img, tolerance=28):
    """True when the synthetic pattern's colour bars are where they belong
    (a grey, smeared or garbled still fails)."""
    rgb = img.convert("RGB")
    w, h = rgb.size
    y = h // 3
    for i, want in enumerate(BARS):
        x = int((i + 0.5) * w / 8)
        patch = [rgb.getpixel((x + dx, y + dy)) for dx in (-2, 0, 2) for dy in (-2, 0, 2)]
        got = tuple(sum(p[c] for p in patch) // len(patch) for c in range(3))
        if any(abs(got[c] - want[c]) > tolerance for c in range(3)):
            return False, "bar %d at x=%d: got %s want %s" % (i, x, got, want)
    return True, ""


def stats_json(config):
    p = run(["stats", "--json"], config, check=0)
    return json.loads(p.stdout)


# The picture of tests/servers/rtsp_server.py and vlc_rtsp.py (GStreamer's
# videotestsrc pattern=smpte), region by region, as full-range RGB:
#   top two thirds       seven 100% bars
#   2/3 .. 3/4 of height seven reverse bars (blue, black, magenta, black,
#                        cyan, black, white)
#   bottom quarter       -I, white, +Q, black, a dark PLUGE block, then
#                        moving noise (not checked)
SMPTE_BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
              (255, 0, 255), (255, 0, 0), (0, 0, 255)]
SMPTE_STRIP = [(0, 0, 255), (0, 0, 0), (255, 0, 255), (0, 0, 0), (0, 255, 255),
               (0, 0, 0), (255, 255, 255)]
SMPTE_BOTTOM = [((0, 1 / 6), (0, 58, 141)), ((1 / 6, 1 / 3), (255, 255, 255)),
                ((1 / 3, 1 / 2), (111, 0, 219)), ((1 / 2, 2 / 3), (0, 0, 0)),
                ((2 / 3, 3 / 4), (19, 19, 19))]


def smpte_regions(w, h):
    """(name, box, expected RGB) of every checked region of a WxH picture;
    each box is the middle of its region, away from edges the codec blurs."""
    out = []
    for i, want in enumerate(SMPTE_BARS):
        out.append(("bar %d" % i, (int((i + 0.25) * w / 7), int(0.10 * h),
                                   int((i + 0.75) * w / 7), int(0.55 * h)), want))
    for i, want in enumerate(SMPTE_STRIP):
        out.append(("strip %d" % i, (int((i + 0.25) * w / 7), int(0.68 * h),
                                     int((i + 0.75) * w / 7), int(0.73 * h)), want))
    for i, ((x0, x1), want) in enumerate(SMPTE_BOTTOM):
        dx = (x1 - x0) * w
        out.append(("bottom %d" % i, (int(x0 * w + dx * 0.25), int(0.80 * h),
                                      int(x0 * w + dx * 0.75), int(0.95 * h)), want))
    return out


def check_smpte(img, tolerance=24, rgb_defined_only=False):
    """True when every region of the SMPTE picture has its colour: the whole
    picture was decoded from a clean keyframe (a grey, smeared, half-decoded
    or half-refreshed still fails somewhere). Returns (ok, why, worst).
    rgb_defined_only leaves out -I and +Q, which videotestsrc draws as fixed
    Y'CbCr values (their RGB depends on the matrix)."""
    from PIL import ImageStat
    rgb = img.convert("RGB")
    w, h = rgb.size
    worst = 0
    for name, box, want in smpte_regions(w, h):
        if rgb_defined_only and name in ("bottom 0", "bottom 2"):
            continue
        got = ImageStat.Stat(rgb.crop(box)).mean
        err = max(abs(got[c] - want[c]) for c in range(3))
        worst = max(worst, err)
        if err > tolerance:
            return False, "%s %s: got %s want %s" % (
                name, box, tuple(int(round(v)) for v in got), want), worst
    return True, "", worst
