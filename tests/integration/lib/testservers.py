"""Starting and stopping the test peers of tests/servers for integration
tests (run with /usr/bin/python3). Every peer binds 127.0.0.1 only and
prints "READY <port>" when it listens; every process started here is
stopped by stop_all(), SIGCONT first (a test may have frozen it)."""
import os
import select
import signal
import subprocess
import time

import camsnap_check as cc

PY = "/usr/bin/python3"
SERVERS = os.path.join(cc.SRC, "tests", "servers")

PROCS = []


def read_ready(proc, what, timeout=60):
    """Waits for the READY line; returns the port."""
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            line = proc.stdout.readline()
            if line.startswith("READY "):
                return int(line.split()[1])
            if line == "":
                break
        if proc.poll() is not None:
            break
    cc.fail("%s did not become ready (last line %r, exit %s)" % (what, line, proc.poll()))


def start(workdir, script, args, tag, timeout=60):
    """Starts tests/servers/SCRIPT with args; returns (proc, port)."""
    errf = open(os.path.join(workdir, "%s-%d.err" % (tag, len(PROCS))), "w")
    p = subprocess.Popen([PY, os.path.join(SERVERS, script)] + list(args),
                         stdout=subprocess.PIPE, stderr=errf, text=True)
    errf.close()
    PROCS.append(p)
    return p, read_ready(p, script, timeout)


def rtsp(workdir, *extra, tag="rtsp"):
    return start(workdir, "rtsp_server.py", ["--port", "0"] + list(extra), tag)


def stop(p):
    if p.poll() is not None:
        return
    try:
        os.kill(p.pid, signal.SIGCONT)
        p.terminate()
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
    except ProcessLookupError:
        pass


def stop_all():
    for p in reversed(PROCS):
        stop(p)
