"""Shared plumbing for the reliability cases: configs, running the binary,
killing it, the RESULT line. Run with /usr/bin/python3."""
import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CAMSNAP_SRC", os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
BIN = os.environ.get("CAMSNAP_BIN", os.path.join(SRC, "build", "camsnap"))
FULL = os.environ.get("RELIABILITY_FULL") == "1"
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "servers"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "lib"))


def seed_from_env():
    seed = int(os.environ.get("CAMSNAP_SEED", str(int(time.time() * 1000) % 1000000007)))
    print("seed %d (replay with CAMSNAP_SEED=%d)" % (seed, seed), flush=True)
    return seed, random.Random(seed)


def workdir(name):
    return tempfile.mkdtemp(prefix="camsnap-%s-" % name, dir=os.environ.get("TMPDIR", "/tmp"))


def write_config(path, state_dir, cameras, upload, general=""):
    body = ("[general]\nstate_dir = %s\nwindow = always\nlog_files = no\n%s\n[upload]\n%s\n"
            % (state_dir, general, upload))
    for name, url in cameras:
        body += "[camera %s]\nurl = %s\n" % (name, url)
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o600)


def dir_upload(path, extra=""):
    return ("backend = dir\npath = %s\nbackoff_base = 1s\nbackoff_cap = 2s\n%s"
            % (path, extra))


def run(cfg, args, timeout=300, env=None, check=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([BIN, "-c", cfg] + args, capture_output=True, text=True,
                       timeout=timeout, env=e)
    if check is not None and p.returncode not in (check if isinstance(check, tuple)
                                                  else (check,)):
        raise AssertionError("%s exited %d\n%s%s" % (args, p.returncode, p.stdout[-2000:],
                                                    p.stderr[-3000:]))
    return p


def start(cfg, args, env=None, log=None):
    """Starts camsnap; its stderr (the log) goes to the file `log`, or nowhere."""
    e = dict(os.environ)
    e.update(env or {})
    with open(log or os.devnull, "w") as f:
        return subprocess.Popen([BIN, "-c", cfg] + args, stdout=subprocess.DEVNULL,
                                stderr=f, env=e)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# Lines a process logs once a still is durable and recorded, and (at
# log_level = debug) once it is delivered.
DELIVERED = re.compile(r" delivered (camera_\S+)")


def work_seen(text):
    """(stills saved, stills delivered) that a process's log shows: what it
    had made durable before it ended or was killed. Whole lines only."""
    saved = delivered = 0
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            continue
        saved += "still saved: camera_" in line
        delivered += bool(DELIVERED.search(line))
    return saved, delivered


def kill_phase(who, text, busy=False):
    """Where a kill of `who` landed, from its log up to the kill (and
    `busy`: a write of its own the case saw in progress, such as its temp
    file): after a write of interest, or before any."""
    saved, delivered = work_seen(text)
    if saved or delivered:
        return "%s: mid-work (after a still %s)" % (who, "saved" if saved else "delivered")
    if busy:
        return "%s: mid-work (its temp or staging file being written)" % who
    return "%s: before any still was saved or delivered" % who


def report_kills(phases, min_share, label):
    """Prints how the kills landed; returns a problem (or None) when fewer
    than min_share of them landed mid-work."""
    dist = collections.Counter(phases)
    mid = sum(n for ph, n in dist.items() if "mid-work" in ph)
    print("%s: %d kills, %d mid-work" % (label, len(phases), mid), flush=True)
    for ph, n in sorted(dist.items()):
        print("  %3d  %s" % (n, ph), flush=True)
    if phases and mid < min_share * len(phases):
        return ("%s: only %d of %d kills landed after a write of interest (at least %.0f%% "
                "must)" % (label, mid, len(phases), 100 * min_share))
    return None


def result(**kw):
    print("RESULT " + json.dumps(kw, sort_keys=True), flush=True)


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)
