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
