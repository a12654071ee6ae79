"""The reliability oracle: run after every case.

  O1 no loss        every still recorded as delivered has exactly one remote
                    object, byte-identical (the SHA-256 recorded at capture;
                    a row of the old system, which kept none, against its
                    local file, or its recorded size once the file is gone),
                    and exactly one remote row
  O2 no duplicates  remote rows == distinct image_ids == local successes;
                    no remote object without a local still
  O3 local          PRAGMA integrity_check ok; no partial image under a final
                    name; no temp file; spool and database agree one to one,
                    except quarantined stills, each with its reason; every row
                    camsnap wrote has its SHA-256 (only a quarantined file
                    that could not be read, or a row of the old system, has
                    none) and every still on disk still has those bytes
  O4 drained        nothing left pending/failed (when the fault has ended)
  O5 accounted      every round/camera without a still is in capture_failures
                    with a reason; attempts == stills + failures when known
  O6 reported       every still a process said it saved (its own output: a
                    record independent of the database, which a still lost
                    together with its row leaves behind) has its row, is not
                    missing or quarantined, and is delivered when drained

Remotes: DirRemote (the `dir` backend) and StandinRemote (the Supabase
stand-in's PostgreSQL + object directory). Run with /usr/bin/python3.
"""
import hashlib
import io
import json
import os
import re
import sqlite3

from PIL import Image


class OracleError(AssertionError):
    pass


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class DirRemote:
    """Objects under ROOT/BUCKET/[RESTAURANT_ID/]..., rows as
    ROOT/rows/<image_id>.json. camsnap leads object paths with the
    restaurant_id when one is configured; objects() names them as
    upload_tracking.object_name does (without it)."""

    def __init__(self, root, bucket="ASE", restaurant_id=None):
        self.root, self.bucket, self.restaurant_id = root, bucket, restaurant_id

    def objects(self):
        out, base = {}, os.path.join(self.root, self.bucket)
        if self.restaurant_id:
            base = os.path.join(base, self.restaurant_id)
        for d, _, files in os.walk(base):
            for f in files:
                p = os.path.join(d, f)
                out[os.path.relpath(p, base)] = sha256_file(p)
        return out

    def sizes(self):
        base = os.path.join(self.root, self.bucket)
        if self.restaurant_id:
            base = os.path.join(base, self.restaurant_id)
        return {os.path.relpath(os.path.join(d, f), base): os.path.getsize(os.path.join(d, f))
                for d, _, files in os.walk(base) for f in files}

    def rows(self):
        rd, out = os.path.join(self.root, "rows"), []
        if os.path.isdir(rd):
            for f in os.listdir(rd):
                if f.endswith(".json"):
                    with open(os.path.join(rd, f)) as fh:
                        out.append(json.load(fh))
        return out


class StandinRemote:
    """The Supabase stand-in: rows in PostgreSQL, objects in a directory."""

    def __init__(self, dsn, objects_dir, bucket="ASE", table="ASE_Snapshot",
                 restaurant_id=None):
        self.dsn, self.dir, self.bucket, self.table = dsn, objects_dir, bucket, table
        self.restaurant_id = restaurant_id

    def objects(self):
        return DirRemote(self.dir, self.bucket, self.restaurant_id).objects()

    def sizes(self):
        return DirRemote(self.dir, self.bucket, self.restaurant_id).sizes()

    def rows(self):
        import psycopg2
        import psycopg2.extras
        with psycopg2.connect(self.dsn) as c, c.cursor(
                cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute('SELECT image_id::text AS image_id, image_url, camera_name, '
                        'capture_timestamp, resolution, file_size_kb FROM "%s"' % self.table)
            return [dict(r) for r in cur.fetchall()]


# What a process prints when a still is durable and recorded: the log line
# (written after the row's commit) and a line of capture --once's table.
SAVED_LOG = re.compile(r"still saved: (camera_\S+)")
SAVED_TABLE = re.compile(r"^\S+\s+ok\s+.*\d+ ms\s+(camera_\S+)$")


def saved_in(text):
    """The stills a process's output says it saved. Only whole lines count:
    a process killed mid-line may have written half a name."""
    out = set()
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            continue
        m = SAVED_LOG.search(line) or SAVED_TABLE.match(line.rstrip("\n"))
        if m:
            out.add(m.group(1))
    return out


def local_state(state_dir):
    db = sqlite3.connect(os.path.join(state_dir, "capture_tracking.db"))
    db.row_factory = sqlite3.Row
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    rows = [dict(r) for r in db.execute("SELECT * FROM upload_tracking")]
    fails = [dict(r) for r in db.execute("SELECT * FROM capture_failures")]
    db.close()
    return integrity, rows, fails


def spool(state_dir):
    root = os.path.join(state_dir, "backup_queue")
    stills, temps = {}, []
    if os.path.isdir(root):
        for d in os.listdir(root):
            for f in os.listdir(os.path.join(root, d)):
                rel = d + "/" + f
                (temps.append(rel) if f.startswith(".tmp-")
                 else stills.__setitem__(rel, os.path.join(root, rel)))
    return stills, temps


def decodes(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        Image.open(io.BytesIO(data)).load()
        return data.rstrip(b"\0").endswith(b"\xff\xd9")
    except Exception:  # noqa: BLE001 - any decoder error means "does not decode"
        return False


def legacy(row):
    """A row of the old system (adopted by the schema migration): it has no
    created_ms, and no SHA-256 was ever recorded for it."""
    return row.get("created_ms") is None


def check(state_dir, remote=None, drained=True, attempts=None, decode=True,
          removed_ok=(), reported=None):
    """Runs O1-O6; returns a dict of figures; raises OracleError listing
    every violation. `removed_ok`: filenames cleanup may have removed.
    `reported`: the stills processes said they saved (O6; see saved_in)."""
    v = []
    integrity, rows, fails = local_state(state_dir)
    stills, temps = spool(state_dir)
    by_name = {r["filename"]: r for r in rows}
    status = {}
    for r in rows:
        status[r["upload_status"]] = status.get(r["upload_status"], 0) + 1
    # O3
    if integrity != "ok":
        v.append("O3: integrity_check: %s" % integrity)
    if temps:
        v.append("O3: temp files survive: %s" % temps[:5])
    for rel, path in stills.items():
        r = by_name.get(rel)
        if r is None:
            v.append("O3: file without a row: %s" % rel)
        elif r["upload_status"] == "quarantined":
            if not r["error_message"]:
                v.append("O3: quarantined without a reason: %s" % rel)
        elif decode and not decodes(path):
            v.append("O3: partial or corrupt image under a final name: %s" % rel)
        elif r["sha256"] and sha256_file(path) != r["sha256"]:
            v.append("O3: still %s no longer holds the bytes recorded at capture" % rel)
    for r in rows:
        if not r["sha256"] and r["upload_status"] != "quarantined" and not legacy(r):
            v.append("O3: row %s (%s) has no SHA-256: its content cannot be checked"
                     % (r["filename"], r["upload_status"]))
    for rel, r in by_name.items():
        if rel not in stills and r["upload_status"] in ("pending", "failed", "quarantined") \
                and rel not in removed_ok:
            v.append("O3: row %s (%s) without its file" % (rel, r["upload_status"]))
    # O4
    waiting = [r["filename"] for r in rows if r["upload_status"] in ("pending", "failed")]
    if drained and waiting:
        v.append("O4: %d still(s) not delivered, e.g. %s" % (len(waiting), waiting[:3]))
    # O5
    if any(not f["reason"] for f in fails):
        v.append("O5: capture failure without a reason")
    if attempts is not None and len(rows) + len(fails) != attempts:
        v.append("O5: %d attempts but %d stills + %d failures" % (attempts, len(rows),
                                                                 len(fails)))
    # O6
    if reported is not None:
        check_reported(by_name, set(reported), drained, removed_ok, v)
    figures = {"stills": len(rows), "status": status, "capture_failures": len(fails),
               "quarantined": [(r["filename"], r["error_message"]) for r in rows
                               if r["upload_status"] == "quarantined"]}
    if reported is not None:
        figures["reported"] = len(set(reported))
    if remote is not None:
        figures.update(check_remote(rows, remote, v, bool(waiting),
                                    os.path.join(state_dir, "backup_queue")))
    if v:
        raise OracleError("\n".join(v))
    return figures


def remote_name(row):
    """A still's remote object name (under the restaurant_id): object_name,
    chosen before its first attempt; a still never attempted has none yet."""
    return row.get("object_name") or row["filename"]


def check_reported(by_name, reported, drained, removed_ok, v):
    """O6: what processes said they saved, against the database."""
    gone = sorted(f for f in reported if f not in by_name)
    if gone:
        v.append("O6: %d still(s) reported saved have no row (lost with their record), "
                 "e.g. %s" % (len(gone), gone[:3]))
    for f in sorted(reported & set(by_name)):
        st = by_name[f]["upload_status"]
        if st == "quarantined" or (st == "missing" and f not in removed_ok):
            v.append("O6: still %s was reported saved but is %s (%s)"
                     % (f, st, by_name[f]["error_message"]))
        elif drained and st != "success":
            v.append("O6: still %s was reported saved but is %s, not delivered" % (f, st))


def same_content(row, sha, size, spool_root):
    """Does a remote object (its SHA-256 and size) hold this row's still?"""
    if row["sha256"]:
        return sha == row["sha256"]
    # A row of the old system: no SHA-256 recorded. Its file while it is
    # there; then the size it recorded (file_size_kb, to 0.1 KB: a margin).
    path = os.path.join(spool_root, row["filename"])
    if os.path.exists(path):
        return sha == sha256_file(path)
    if row.get("file_size") is not None:
        return size == row["file_size"]
    return row["file_size_kb"] is not None and abs(size - row["file_size_kb"] * 1024) <= 103


def check_remote(rows, remote, v, unfinished, spool_root):
    objs = remote.objects()
    sizes = remote.sizes() if hasattr(remote, "sizes") else {}
    rrows = remote.rows()
    ids = [str(r["image_id"]) for r in rrows]
    success = [r for r in rows if r["upload_status"] == "success"]
    # O1
    for r in success:
        sha = objs.get(remote_name(r))
        if sha is None:
            v.append("O1: delivered still has no remote object: %s" % r["filename"])
        elif not same_content(r, sha, sizes.get(remote_name(r)), spool_root):
            v.append("O1: remote object differs from the still: %s" % r["filename"])
        if ids.count(str(r["image_id"])) != 1:
            v.append("O1: delivered still has %d remote rows: %s" % (ids.count(
                str(r["image_id"])), r["filename"]))
    # O2
    dup = len(ids) - len(set(ids))
    if dup:
        v.append("O2: %d duplicate remote rows" % dup)
    local_ids = {str(r["image_id"]) for r in rows if r["image_id"]}
    extra = set(ids) - local_ids
    if extra:
        v.append("O2: %d remote rows of no local still" % len(extra))
    names = {remote_name(r) for r in rows}
    stray = [o for o in objs if o not in names]
    if stray:
        v.append("O2: remote objects of no local still: %s" % stray[:3])
    if len(set(ids)) != len(success) and not unfinished:
        # rows of stills not yet marked success locally are legal only while
        # delivery is unfinished (a lost answer, a crash between the steps)
        v.append("O2: %d remote rows vs %d local successes" % (len(set(ids)), len(success)))
    return {"remote_objects": len(objs), "remote_rows": len(ids), "duplicates": dup,
            "lost": sum(1 for r in success if remote_name(r) not in objs)}
