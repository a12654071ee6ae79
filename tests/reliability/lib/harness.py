"""Shared plumbing for the reliability cases: configs, running the binary,
killing it, the RESULT line. Run with /usr/bin/python3."""
import json
import os
import random
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


def start(cfg, args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen([BIN, "-c", cfg] + args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=e)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def result(**kw):
    print("RESULT " + json.dumps(kw, sort_keys=True), flush=True)


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)
