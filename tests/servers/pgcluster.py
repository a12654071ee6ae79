#!/usr/bin/python3
"""Throw-away PostgreSQL 15 cluster for camsnap's tests (run with /usr/bin/python3).

Python:
    sys.path.insert(0, "<repo>/tests/servers")
    import pgcluster
    info = pgcluster.start(base_dir)      # base_dir may be None: a new temp dir
    ...  info["dsn"], info["port"], info["host"] == "127.0.0.1"
    pgcluster.stop(info)                  # stops the server, removes every file
    # or
    with pgcluster.cluster(base_dir) as info:
        ...

CLI:
    pgcluster.py start [BASE_DIR]      prints the info dict as one JSON line, leaves it running
    pgcluster.py stop INFO_JSON_FILE|DATADIR
    pgcluster.py run [--base DIR] -- CMD ARGS...
                                       runs CMD with PG_DSN/PG_PORT/PG_HOST set, then stops

The server listens on 127.0.0.1 only (a free port) plus a unix socket in the
cluster's own directory; fsync is off.  PostgreSQL refuses to run as root,
so initdb and pg_ctl run as the "postgres" user through runuser when we are
root.  The database "camsnap" holds the schema below (ensure_schema): the
Supabase roles anon / authenticated / service_role (BYPASSRLS), the table
"ASE_Snapshot" with row-level security on and an INSERT-only policy for anon
(Supabase's "GRANT ALL" + RLS style), the role camsnap_anon_denied (same
grants, no policy: "RLS on, no policy"), the role camsnap_anon_select (same
grants, INSERT and SELECT policies: a key that may also read), and the
stand-in's storage metadata tables storage_objects and storage_buckets.
"""
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
DB_NAME = "camsnap"
SUPERUSER = "postgres"
# Roles the stand-in switches to (SET LOCAL ROLE), like PostgREST does.
ROLES = ("anon", "authenticated", "service_role", "camsnap_anon_denied", "camsnap_anon_select")

SCHEMA_ROLES_SQL = """
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'camsnap_anon_denied',
                           'camsnap_anon_select'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role, camsnap_anon_denied,
    camsnap_anon_select;
CREATE TABLE IF NOT EXISTS public.storage_buckets (
    id                 text PRIMARY KEY,
    public             boolean NOT NULL DEFAULT false,
    file_size_limit    bigint,
    allowed_mime_types text[],
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.storage_objects (
    bucket_id     text NOT NULL,
    name          text NOT NULL,
    id            uuid NOT NULL,
    size          bigint NOT NULL,
    content_type  text,
    sha256        text NOT NULL,
    md5           text,
    cache_control text,
    user_metadata text,
    owner_role    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket_id, name)
);
"""

# {t} is the quoted table name, {p} the quoted name of its INSERT policy.
SNAPSHOT_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS public.{t} (
    image_id          uuid PRIMARY KEY,
    image_url         text NOT NULL,
    camera_name       text NOT NULL,
    restaurant_id     text NULL,
    capture_timestamp timestamptz NOT NULL,
    resolution        text NOT NULL,
    file_size_kb      numeric NOT NULL
);
ALTER TABLE public.{t} ENABLE ROW LEVEL SECURITY;
GRANT ALL ON TABLE public.{t} TO anon, authenticated, service_role, camsnap_anon_denied,
    camsnap_anon_select;
"""


def _qident(name):
    return '"' + name.replace('"', '""') + '"'


def ensure_schema(conn, tables=("ASE_Snapshot",)):
    """Create (idempotently) roles, storage tables and the snapshot table(s).

    conn: an open psycopg2 connection as a superuser (committed here).
    """
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(727274)")
        cur.execute(SCHEMA_ROLES_SQL)
        for table in tables:
            cur.execute(SNAPSHOT_TABLE_SQL.format(t=_qident(table)))
            cur.execute("SELECT 1 FROM pg_policies WHERE schemaname = 'public' "
                        "AND tablename = %s AND policyname = 'anon_insert'", (table,))
            if cur.fetchone() is None:
                cur.execute("CREATE POLICY anon_insert ON public.%s FOR INSERT TO anon, "
                            "camsnap_anon_select WITH CHECK (true)" % _qident(table))
                cur.execute("CREATE POLICY anon_select ON public.%s FOR SELECT TO "
                            "camsnap_anon_select USING (true)" % _qident(table))
    conn.commit()


def _as_postgres():
    return os.geteuid() == 0


def _pg_cmd(args):
    cmd = [os.path.join(PG_BIN, args[0])] + list(args[1:])
    if _as_postgres():
        cmd = ["runuser", "-u", SUPERUSER, "--"] + cmd
    return cmd


def _run(args, timeout=60):
    p = subprocess.run(_pg_cmd(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (args[0], p.returncode,
                                                    p.stdout.decode(errors="replace")[-2000:]))
    return p.stdout.decode(errors="replace")


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _give_to_postgres(path):
    if not _as_postgres():
        return
    pw = pwd.getpwnam(SUPERUSER)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def _check_traversable(path):
    """The postgres user must be able to reach path: add o+x on base_dir if missing."""
    if not _as_postgres():
        return
    st = os.stat(path)
    if not st.st_mode & 0o001:
        os.chmod(path, st.st_mode | 0o001)
    parent = os.path.dirname(os.path.abspath(path))
    while parent and parent != "/":
        if not os.stat(parent).st_mode & 0o001:
            raise RuntimeError("pgcluster: the postgres user cannot traverse %s; "
                               "use a base_dir under /tmp" % parent)
        parent = os.path.dirname(parent)


def _write_conf(datadir, port, sockdir):
    with open(os.path.join(datadir, "postgresql.conf"), "a") as f:
        f.write("\n# camsnap test cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                "port = %d\n"
                "unix_socket_directories = '%s'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 100\n"
                "shared_buffers = 32MB\n"
                "timezone = 'UTC'\n"
                "log_timezone = 'UTC'\n"
                "logging_collector = off\n"
                "log_min_messages = warning\n"
                "dynamic_shared_memory_type = posix\n" % (port, sockdir))


def start(base_dir=None, dbname=DB_NAME, tables=("ASE_Snapshot",)):
    """Initialise and start a cluster, create the database and the schema.

    Returns dict(port, host='127.0.0.1', dsn, datadir, sockdir, root, logfile, dbname).
    Everything lives under a new directory inside base_dir (or a new temp dir);
    stop(info) removes it.  Raises RuntimeError (after cleaning up) on failure.
    """
    import psycopg2

    if base_dir is None:
        base_dir = tempfile.gettempdir()
    os.makedirs(base_dir, exist_ok=True)
    _check_traversable(base_dir)
    root = tempfile.mkdtemp(prefix="pg-", dir=base_dir)
    os.chmod(root, 0o755)
    datadir = os.path.join(root, "data")
    sockdir = os.path.join(root, "sock")
    if len(sockdir) > 90:        # unix socket paths are limited to ~107 bytes
        sockdir = tempfile.mkdtemp(prefix="pgs-", dir="/tmp")
    else:
        os.mkdir(sockdir)
    logfile = os.path.join(root, "postgres.log")
    info = dict(host="127.0.0.1", port=None, dsn=None, datadir=datadir, sockdir=sockdir,
                root=root, logfile=logfile, dbname=dbname, pid=None)
    try:
        _give_to_postgres(root)
        _give_to_postgres(sockdir)
        _run(["initdb", "-D", datadir, "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
              "--locale=C", "--no-sync", "--no-instructions"])
        for attempt in range(5):
            port = _free_port()
            _write_conf(datadir, port, sockdir)
            try:
                _run(["pg_ctl", "-D", datadir, "-l", logfile, "-w", "-t", "30", "start"])
                break
            except RuntimeError:
                if attempt == 4 or "could not bind" not in _tail(logfile):
                    raise
        info["port"] = port
        info["pid"] = _postmaster_pid(datadir)
        info["dsn"] = "host=127.0.0.1 port=%d dbname=%s user=%s" % (port, dbname, SUPERUSER)
        conn = psycopg2.connect(host="127.0.0.1", port=port, dbname="postgres", user=SUPERUSER)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE %s" % _qident(dbname))
        conn.close()
        conn = psycopg2.connect(info["dsn"])
        try:
            ensure_schema(conn, tables)
        finally:
            conn.close()
    except BaseException as e:
        log = _tail(logfile)
        stop(info)
        if isinstance(e, Exception):
            raise RuntimeError("pgcluster.start failed: %s\n%s" % (e, log)) from e
        raise
    return info


def _tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def _postmaster_pid(datadir):
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop(info):
    """Stop the cluster started by start() and remove its files. Idempotent."""
    datadir = info.get("datadir")
    if datadir and os.path.exists(os.path.join(datadir, "postmaster.pid")):
        pid = _postmaster_pid(datadir) or info.get("pid")
        try:
            _run(["pg_ctl", "-D", datadir, "-m", "fast", "-w", "-t", "20", "stop"], timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        # pg_ctl failed or timed out: end the postmaster we started, by its pid.
        if pid and _alive(pid) and pid == _postmaster_pid(datadir):
            for sig, wait in ((signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if not _alive(pid):
                    break
    root = info.get("root")
    if root and os.path.isdir(root):
        shutil.rmtree(root, ignore_errors=True)
    sockdir = info.get("sockdir")
    if sockdir and os.path.isdir(sockdir):
        shutil.rmtree(sockdir, ignore_errors=True)


@contextlib.contextmanager
def cluster(base_dir=None, **kw):
    """with cluster(base_dir) as info: ... -- always stopped and removed afterwards."""
    info = start(base_dir, **kw)
    try:
        yield info
    finally:
        stop(info)


def _main(argv):
    if len(argv) >= 1 and argv[0] == "start":
        info = start(argv[1] if len(argv) > 1 else None)
        print(json.dumps(info), flush=True)
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        arg = argv[1]
        if os.path.isfile(arg):
            with open(arg) as f:
                info = json.load(f)
        else:
            datadir = os.path.abspath(arg)
            info = dict(datadir=datadir, root=os.path.dirname(datadir),
                        sockdir=os.path.join(os.path.dirname(datadir), "sock"))
        stop(info)
        return 0
    if len(argv) >= 2 and argv[0] == "run":
        base = None
        rest = argv[1:]
        if rest[0] == "--base":
            base, rest = rest[1], rest[2:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        if not rest:
            print("pgcluster.py run: missing command", file=sys.stderr)
            return 2
        with cluster(base) as info:
            env = dict(os.environ, PG_DSN=info["dsn"], PG_PORT=str(info["port"]),
                       PG_HOST=info["host"])
            return subprocess.call(rest, env=env)
    print(__doc__.split("CLI:")[1].split("The server")[0], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
