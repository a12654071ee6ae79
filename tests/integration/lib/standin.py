"""A throw-away Supabase for camsnap's integration tests and benches
(run with /usr/bin/python3: psycopg2 is needed).

    import standin
    with standin.start(tmpdir) as sb:           # PostgreSQL cluster + stand-in, 127.0.0.1 only
        sb.url, sb.anon_key, sb.service_key
        sb.write_config(cfg, state_dir, [("a", "synthetic://64x48")], bucket="ASE")
        sb.control({"mode": "status", "status": 503, "count": 3})   # dict or list
        sb.stats(); sb.log(since=0)
        sb.rows()                               # rows of "ASE_Snapshot", list of dicts
        sb.objects("ASE")                       # [(name, size, sha256)] from storage_objects
        sb.file_sha256("ASE", name)             # sha256 of the bytes in the object directory
    standin.object_name(local_row)              # a still's remote name (under the restaurant_id)
    standin.verify_delivery(sb, local_rows, "ASE", restaurant_id, n)   # exactly once, or raises

Everything started here is stopped and removed when the block ends, also
on an exception (try/finally); stop() may also be called earlier.
"""
import contextlib
import datetime
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CAMSNAP_SRC", os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
SERVERS = os.path.join(SRC, "tests", "servers")
sys.path.insert(0, SERVERS)
import pgcluster  # noqa: E402
import supabase_standin  # noqa: E402

SECRET = "camsnap-it-secret-0123456789-0123456789-abcdef"

# The [upload] values the tests use unless told otherwise (short timeouts,
# a backoff measured in seconds).
UPLOAD_DEFAULTS = {
    "bucket": "ASE",
    "table": "ASE_Snapshot",
    "concurrency": "4",
    "connect_timeout": "2s",
    "timeout": "10s",
    "backoff_base": "1s",
    "backoff_cap": "4s",
    "retry_interval": "2s",
}


class Standin:
    def __init__(self, pg, base, role_policy, buckets, extra_args, seed):
        self.pg = pg
        self.base = base
        self.objects_dir = os.path.join(base, "objects")
        self.anon_key = supabase_standin.make_jwt(SECRET, "anon")
        self.service_key = supabase_standin.make_jwt(SECRET, "service_role")
        self.stderr_path = os.path.join(base, "standin.stderr")
        self.proc = None
        self.url = None
        self.port = None
        self._db = None
        cmd = [sys.executable, os.path.join(SERVERS, "supabase_standin.py"), "--port", "0",
               "--dsn", pg["dsn"], "--objects", self.objects_dir, "--jwt-secret", SECRET,
               "--role-policy", role_policy, "--seed", str(seed)]
        for b in buckets:
            cmd += ["--bucket", b]
        cmd += list(extra_args)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    break
                line += ch
            elif self.proc.poll() is not None:
                break
        m = re.match(rb"^READY (\d+)$", line.strip())
        if not m:
            err = self.stderr_tail()
            self.stop()
            raise RuntimeError("supabase stand-in did not start (%r)\n%s" % (line, err))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    # ---- process

    def stderr_tail(self, n=4000):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """Stops the stand-in (SIGTERM, then SIGKILL); idempotent."""
        if self._db is not None:
            try:
                self._db.close()
            except Exception:
                pass
            self._db = None
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        if p is not None and p.stdout:
            p.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()

    # ---- HTTP control

    def _http(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def control(self, spec):
        """POST /__control with a fault dict or a list of them; returns the answer."""
        ans = self._http("POST", "/__control", spec)
        if not ans.get("ok"):
            raise RuntimeError("stand-in refused %r: %r" % (spec, ans))
        return ans

    def reset(self, log=False, stats=False):
        return self.control({"mode": "reset", "log": log, "stats": stats})

    def stats(self):
        return self._http("GET", "/__stats")

    def faults(self):
        """The active faults, each with "applied": how often it was picked so far
        (also the ones still in progress, e.g. a request hanging now)."""
        return self._http("GET", "/__control")["faults"]

    def log(self, since=0):
        return self._http("GET", "/__log?since=%d" % since)

    def last_seq(self):
        entries = self.log()
        return entries[-1]["seq"] if entries else 0

    # ---- what PostgreSQL and the object directory hold

    def db(self):
        import psycopg2
        if self._db is None or self._db.closed:
            self._db = psycopg2.connect(self.pg["dsn"])
            self._db.autocommit = True
        return self._db

    def sql(self, query, args=()):
        with self.db().cursor() as cur:
            cur.execute(query, args)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def rows(self, table="ASE_Snapshot", where="", args=()):
        """Rows of the snapshot table (image_id as text, file_size_kb as float,
        capture_timestamp as an aware datetime)."""
        out = self.sql('SELECT image_id::text AS image_id, image_url, camera_name, '
                       'restaurant_id, capture_timestamp, resolution, '
                       'file_size_kb::float8 AS file_size_kb FROM public."%s" %s'
                       % (table.replace('"', '""'), ("WHERE " + where) if where else ""), args)
        return out

    def objects(self, bucket=None):
        """[(name, size, sha256)] of storage_objects (one bucket or all: then
        names are "bucket/name")."""
        if bucket is None:
            return [(r["bucket_id"] + "/" + r["name"], r["size"], r["sha256"]) for r in self.sql(
                "SELECT bucket_id, name, size, sha256 FROM storage_objects ORDER BY 1, 2")]
        return [(r["name"], r["size"], r["sha256"]) for r in self.sql(
            "SELECT name, size, sha256 FROM storage_objects WHERE bucket_id = %s ORDER BY name",
            (bucket,))]

    def object_file(self, bucket, name):
        return supabase_standin.object_path(self.objects_dir, bucket, name)

    def file_sha256(self, bucket, name):
        """sha256 of the object's bytes on disk, or None when there is no file."""
        try:
            with open(self.object_file(bucket, name), "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            return None

    def object_files(self, bucket):
        """Relative names of every file under objects/BUCKET."""
        root = os.path.join(self.objects_dir, bucket)
        out = []
        for d, _, files in os.walk(root):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), root))
        return sorted(out)

    # ---- camsnap's side

    def key_file(self, role="anon"):
        path = os.path.join(self.base, "%s.key" % role)
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write((self.anon_key if role == "anon" else self.service_key) + "\n")
        return path

    def write_config(self, path, state_dir, cameras, role="anon", general=None, **upload):
        """A camsnap INI (mode 0600) delivering to this stand-in.

        cameras: [(name, url)]; general: extra [general] keys; upload: [upload]
        keys overriding UPLOAD_DEFAULTS (e.g. bucket="NOPE", concurrency=8).
        """
        g = {"state_dir": state_dir, "interval": "1s", "window": "always", "log_files": "no",
             "log_level": "info"}
        g.update(general or {})
        u = {"backend": "supabase", "url": self.url, "key_file": self.key_file(role)}
        u.update(UPLOAD_DEFAULTS)
        u.update({k: str(v) for k, v in upload.items()})
        lines = ["[general]"] + ["%s = %s" % kv for kv in g.items()] + ["", "[upload]"]
        lines += ["%s = %s" % kv for kv in u.items()] + [""]
        for name, url in cameras:
            lines += ["[camera %s]" % name, "url = %s" % url, ""]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines))
        os.chmod(path, 0o600)
        return path


@contextlib.contextmanager
def start(base_dir=None, role_policy="anon_insert_only", buckets=("ASE",), extra_args=(),
          seed=1):
    """PostgreSQL + stand-in; yields a Standin. Nothing is left running afterwards."""
    base = tempfile.mkdtemp(prefix="standin-", dir=base_dir)
    os.chmod(base, 0o755)   # the postgres user must traverse it
    sb = None
    try:
        with pgcluster.cluster(base) as pg:
            try:
                sb = Standin(pg, base, role_policy, buckets, extra_args, seed)
                yield sb
            finally:
                if sb is not None:
                    sb.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- checks

def parse_iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sha_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def object_name(local_row):
    """The remote object name of a still (under the restaurant_id): its
    upload_tracking.object_name (the spool name with "_<8 hex of its SHA-256>"
    before the extension by default)."""
    return local_row.get("object_name") or local_row["filename"]


def verify_delivery(sb, local_rows, bucket, restaurant_id, expect, files=True):
    """Raises AssertionError unless every local success (rows of camsnap's
    upload_tracking) is in PostgreSQL and in the bucket exactly once:
      - `expect` local successes; as many rows with this restaurant_id, with
        unique image_ids and image_urls, each image_id the local one;
      - per row: camera_name "camera_<name>", resolution, capture_timestamp
        (as an instant), restaurant_id, file_size_kb (to 0.1) and image_url
        as captured;
      - the bucket (storage_objects and the object directory) holds exactly
        the delivered stills; per object size and sha256 (recorded and of
        the bytes on disk) equal the local still's (and the local file's,
        when files is true)."""
    succ = [r for r in local_rows if r["upload_status"] == "success"]
    if len(succ) != expect:
        raise AssertionError("%d local successes, expected %d (others: %s)" % (
            len(succ), expect, sorted(set((r["upload_status"], r["error_message"])
                                          for r in local_rows
                                          if r["upload_status"] != "success"))[:5]))
    remote = sb.rows(where="restaurant_id = %s", args=(restaurant_id,))
    ids = [r["image_id"] for r in remote]
    urls = [r["image_url"] for r in remote]
    if len(set(ids)) != len(ids) or len(set(urls)) != len(urls):
        raise AssertionError("duplicate rows: %d rows, %d image_ids, %d image_urls"
                             % (len(ids), len(set(ids)), len(set(urls))))
    if len(remote) != len(succ):
        raise AssertionError("%d remote rows for %d delivered stills" % (len(remote), len(succ)))
    by_id = {r["image_id"]: r for r in remote}
    objs = {n: (size, sha) for n, size, sha in sb.objects(bucket)}
    # camsnap puts the restaurant_id, when set, in front of the object path
    pre = restaurant_id + "/" if restaurant_id else ""
    names = set(pre + object_name(r) for r in succ)
    if set(objs) != names:
        raise AssertionError("bucket %s holds %d objects for %d stills; extra %s, missing %s"
                             % (bucket, len(objs), len(names), sorted(set(objs) - names)[:5],
                                sorted(names - set(objs))[:5]))
    on_disk = set(sb.object_files(bucket))
    if on_disk != names:
        raise AssertionError("object directory %s: extra %s, missing %s" % (
            bucket, sorted(on_disk - names)[:5], sorted(names - on_disk)[:5]))
    for r in succ:
        fn = r["filename"]
        row = by_id.get(r["image_id"])
        if row is None:
            raise AssertionError("no remote row with image_id %s (%s)" % (r["image_id"], fn))
        want = {
            "camera_name": "camera_" + r["camera_name"],
            "resolution": r["resolution"],
            "capture_timestamp": parse_iso(r["capture_timestamp"]),
            "restaurant_id": restaurant_id,
        }
        for k, v in want.items():
            if row[k] != v:
                raise AssertionError("%s: remote %s = %r, local %r" % (fn, k, row[k], v))
        if abs(row["file_size_kb"] - r["file_size"] / 1024.0) > 0.05 + 1e-9:
            raise AssertionError("%s: file_size_kb %r for %d bytes"
                                 % (fn, row["file_size_kb"], r["file_size"]))
        name = pre + object_name(r)
        if not row["image_url"].endswith("/%s/%s" % (bucket, name)):
            raise AssertionError("%s: image_url %s" % (fn, row["image_url"]))
        size, sha = objs[name]
        remote_sha = sb.file_sha256(bucket, name)
        if files and _sha_file(r["local_path"]) != r["sha256"]:
            raise AssertionError("%s changed on disk" % fn)
        if not (sha == remote_sha == r["sha256"]) or size != r["file_size"]:
            raise AssertionError("%s: bytes differ: local %s (%d B), storage_objects %s (%d B), "
                                 "object file %s" % (fn, r["sha256"], r["file_size"], sha, size,
                                                     remote_sha))
