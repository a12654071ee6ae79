#!/usr/bin/python3
"""Supabase Storage (v1.70.6) + PostgREST + Kong stand-in for camsnap's tests.

Answers the way /work/shared/SUPABASE.md records the real services (status
codes, JSON bodies, header requirements), backed by a real PostgreSQL (see
pgcluster.py) so that row-level security, constraint errors and counts are
the real thing.  Binds 127.0.0.1 only.

usage:
  supabase_standin.py --dsn DSN --objects DIR [--port 0] [--jwt-secret S]
        [--bucket ASE]... [--public-bucket NAME]... [--table ASE_Snapshot]
        [--role-policy service|anon_insert_only|anon_insert_select|none] [--control-token T]
        [--file-size-limit BYTES | BUCKET=BYTES]... [--allowed-mime LIST | BUCKET=LIST]...
        [--storage-key-auth] [--seed N] [--verbose]
  supabase_standin.py jwt --secret S --role anon|service_role|authenticated [--exp-in SECONDS]

Prints "READY <port>" (flushed) once listening; SIGTERM/SIGINT stop it (exit 0).

Roles (the JWT "role" claim; no Authorization on /rest/v1 means anon):
  service_role   bypasses RLS everywhere.
  anon           --role-policy service: treated like service_role.
                 --role-policy anon_insert_only (default): storage INSERT-only
                   policy (new objects yes, upsert/PUT never, reads hidden), and
                   SET ROLE anon in PostgreSQL, where "ASE_Snapshot" has RLS on
                   with an INSERT-only policy (RETURNING columns, ON CONFLICT ->
                   42501 -> HTTP 401).
                 --role-policy anon_insert_select: INSERT and SELECT policies (storage:
                   new objects yes and reads too; upsert and PUT still refused, as
                   SUPABASE.md 1.5 found without an UPDATE policy), and SET ROLE
                   camsnap_anon_select in PostgreSQL (INSERT and SELECT policies).
                 --role-policy none: RLS on and no policy at all (storage 403 RLS,
                   PostgREST 42501 -> 401).
  authenticated  no policies (42501 -> 403), storage like anon with policy none.

Routes:
  POST|PUT /storage/v1/object/{bucket}/{name}   upload (PUT and x-upsert: true = upsert)
  GET|HEAD /storage/v1/object/[authenticated/|public/]{bucket}/{name}
  GET|POST /storage/v1/object/info/[authenticated/|public/]{bucket}/{name}
  POST /storage/v1/bucket, GET /storage/v1/bucket
  POST /rest/v1/{table}   (Prefer: return=minimal|representation|headers-only,
                           resolution=ignore-duplicates|merge-duplicates, ?on_conflict=, ?columns=)
  GET|HEAD /rest/v1/{table}?select=*&col=eq.v&order=col.desc&limit=N&offset=N
  POST /__control, GET /__control, GET /__stats, GET /__log[?since=SEQ]  (127.0.0.1 only;
      header X-Control-Token when --control-token is given)

Control API (POST /__control with a JSON object, a JSON array of them, or {"faults":[...]}).
A fault object is appended to the list of active faults; for each storage/rest request
the first fault whose filters match is applied (and its count decremented):
  common keys:  "route": "storage"|"rest"|"all" (default all), "count": N (default: unlimited),
                "probability": 0..1 (default 1, seeded RNG --seed), "method": "POST",
                "match": "substring of the path", "commit": true|false (see below)
  {"mode":"status","status":503,"body":"...","content_type":"text/plain","retry_after":"2"}
        answer with that status (any, e.g. 408 429 500 502 503 504 544); without "body" a
        realistic default body is used.  {"mode":"status","wrapped":"503"} (or "429", any
        code) answers HTTP 400 with the storage envelope whose statusCode is that string.
        "content_length": false leaves out Content-Length (the connection is closed after
        the answer), e.g. {"mode":"status","status":200,"method":"HEAD","content_length":false}
        for a gateway that answers camsnap's size check (a HEAD) without the size.
        commit default false (true = process the request first, then answer the fault).
  {"mode":"auth","status":401|403}           auth failure: rest 401 PGRST301 / 403 42501; storage
                                             AccessDenied envelope with that real status
                                             ("wrapped": true: HTTP 400). commit default false
  {"mode":"hang","seconds":S}                read the request, never answer until the client
                                             closes (or S seconds, or shutdown). commit default false
  {"mode":"slow_body","bytes_per_sec":N,"headers":false}   process, then send the body at N B/s
                                             (headers too when "headers": true)
  {"mode":"lost_response","rst":false}       process and COMMIT, then close without answering
                                             ("rst": true closes with a TCP RST)
  {"mode":"truncated"}                       process, send headers with a Content-Length larger
                                             than the bytes sent, then close. commit default true
  {"mode":"malformed_json","status":200}     process, answer 200 (storage) / 201 (rest) with
                                             invalid JSON. commit default true
  {"mode":"empty_200"}                       process, answer 200 with an empty body. commit default true
  {"mode":"reset","log":false,"stats":false} clear all faults (and the log / counters)
  {"mode":"config","role_policy":"anon_insert_only"}  change the role policy at run time
                                             (any of --role-policy's choices)
Answer: 200 {"ok":true,"faults":[active faults...],"role_policy":...}; 400 {"ok":false,"error":...}.
GET /__stats: {"requests":{"storage":{"total":N,"by_status":{"200":N,"lost_response":N}},...},
  "storage_status_codes":{"409":N,...}, "duplicates":{"storage":N,"rest":N,"total":N},
  "faults_applied":{"hang":N,...}, "objects":N, "objects_by_bucket":{...}, "rows":N, "table":...}
GET /__log: [{"seq","time","method","path","route","status","code","fault","committed","role"}]
  ("status" is the HTTP status sent, or the fault name when nothing complete was sent;
   "code" is the storage envelope statusCode or the PostgREST/SQLSTATE code).

Notes:
  - PostgreSQL errors come from the real server: a 23505 for service_role carries
    details "Key (image_id)=(...) already exists."; for anon under RLS PostgreSQL
    hides the key, so details is null (as real PostgREST would answer).
  - Objects: bytes under --objects/BUCKET/NAME (see object_path()), metadata in the
    table storage_objects; both survive a restart of the stand-in.
"""
import argparse
import base64
import collections
import contextlib
import difflib
import email.parser
import email.policy
import hashlib
import hmac
import json
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
GLOBAL_FILE_SIZE_LIMIT = 50 * 1024 * 1024
JSON_CT = "application/json; charset=utf-8"
STORAGE_PREFIX = "/storage/v1"
REST_PREFIX = "/rest/v1/"
INTERNAL_TABLES = ("storage_objects", "storage_buckets")
ROLE_POLICIES = ("service", "anon_insert_only", "anon_insert_select", "none")


# --------------------------------------------------------------------------- JWT (HS256)

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_jwt(secret, role, exp=None, **claims):
    """An HS256 JWT like Supabase's keys. exp: absolute unix time (default now + 10 years)."""
    now = int(time.time())
    payload = {"iss": "supabase-standin", "role": role, "iat": now,
               "exp": int(exp) if exp is not None else now + 10 * 365 * 86400}
    payload.update(claims)
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing = (header + "." + body).encode()
    sig = hmac.new(secret.encode(), signing, hashlib.sha256).digest()
    return header + "." + body + "." + b64url(sig)


class JwtError(Exception):
    """kind: parts, header, alg, signature, claims, expired."""

    def __init__(self, kind, detail=""):
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


def verify_jwt(secret, token, now=None, check_exp=True):
    """Verify an HS256 JWT; returns the claims dict or raises JwtError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("parts", str(len(parts)))
    try:
        header = json.loads(b64url_decode(parts[0]))
        if not isinstance(header, dict):
            raise ValueError
    except ValueError:
        raise JwtError("header")
    if header.get("alg") != "HS256":
        raise JwtError("alg", str(header.get("alg")))
    try:
        sig = b64url_decode(parts[2])
    except ValueError:
        raise JwtError("signature")
    want = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(sig, want):
        raise JwtError("signature")
    try:
        claims = json.loads(b64url_decode(parts[1]))
        if not isinstance(claims, dict):
            raise ValueError
    except ValueError:
        raise JwtError("claims")
    exp = claims.get("exp")
    if check_exp and isinstance(exp, (int, float)) and exp <= (now or time.time()):
        raise JwtError("expired")
    return claims


STORAGE_JWT_MESSAGES = {  # what storage (jose) says
    "parts": "Invalid Compact JWS",
    "header": "JWS Protected Header is invalid",
    "alg": '"alg" (Algorithm) Header Parameter value not allowed',
    "signature": "signature verification failed",
    "claims": "JWT Claims Set must be a top-level JSON object",
    "expired": '"exp" claim timestamp check failed',
}


def postgrest_jwt_message(err):
    if err.kind == "parts":
        return ("JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got %s)"
                % err.detail)
    if err.kind == "expired":
        return "JWT expired"
    if err.kind == "alg":
        return "JWSError (JWSAlgorithmNotImplemented)"
    if err.kind in ("header", "claims"):
        return "JWSError (CompactDecodeError Invalid JSON)"
    return "JWSError JWSInvalidSignature"


# --------------------------------------------------------------------------- responses

class Resp:
    """An answer to send: status, headers, body, plus bookkeeping for stats and the log."""

    def __init__(self, status, body=b"", ctype=JSON_CT, headers=None, code=None,
                 committed=False, dup=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = list(headers or [])
        if ctype and (self.body or status not in (201, 204)):
            self.headers.insert(0, ("Content-Type", ctype))
        self.code = code            # storage envelope statusCode or PostgREST/PG code
        self.committed = committed  # the request changed state in the database
        self.dup = dup              # a duplicate was answered (409 / "409")


def jdump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def envelope(status_code, error, message, code, http=None):
    """The storage error envelope (SUPABASE.md 1.3): HTTP 400 unless 500 or given."""
    body = {"statusCode": str(status_code), "error": error, "message": message, "code": code}
    if http is None:
        http = 500 if str(status_code) == "500" else 400
    return Resp(http, jdump(body), code=str(status_code), dup=str(status_code) == "409")


def e_no_auth():
    return envelope(400, "Error", "headers must have required property 'authorization'",
                    "InvalidRequest")


def e_denied(message):
    return envelope(403, "Unauthorized", message, "AccessDenied")


def e_rls():
    return e_denied("new row violates row-level security policy")


def e_no_bucket():
    return envelope(404, "Bucket not found", "Bucket not found", "NoSuchBucket")


def e_no_key():
    return envelope(404, "not_found", "Object not found", "NoSuchKey")


def e_dup():
    return envelope(409, "Duplicate", "The resource already exists", "KeyAlreadyExists")


def e_too_large():
    return envelope(413, "Payload too large", "The object exceeded the maximum allowed size",
                    "EntityTooLarge")


def e_mime(mime):
    return envelope(415, "invalid_mime_type", "mime type %s is not supported" % mime,
                    "InvalidMimeType")


def e_invalid_key(key):
    return envelope(400, "InvalidKey", "Invalid key: %s" % key, "InvalidKey")


def e_route(method, path):
    body = {"message": "Route %s:%s not found" % (method, path), "error": "Not Found",
            "statusCode": 404}
    return Resp(404, jdump(body), code="404")


def pgrst(http, code, message, details=None, hint=None, headers=None):
    body = {"code": code, "details": details, "hint": hint, "message": message}
    return Resp(http, jdump(body), headers=headers, code=code, dup=(http == 409))


# PostgREST's pgErrorStatus (src/PostgREST/Error.hs), by SQLSTATE prefix.
def pg_http_status(sqlstate, authed):
    s = sqlstate or ""
    if s == "42501":
        return 403 if authed else 401
    exact = {"23503": 409, "23505": 409, "25006": 405, "42883": 404, "42P01": 404,
             "42P17": 500, "P0001": 400}
    if s in exact:
        return exact[s]
    prefix = {"08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500,
              "38": 500, "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500,
              "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500}
    return prefix.get(s[:2], 400)


# --------------------------------------------------------------------------- database

class Pool:
    """A small thread-safe pool of psycopg2 connections (non-autocommit)."""

    def __init__(self, dsn, max_idle=16):
        import psycopg2
        self.psycopg2 = psycopg2
        self.dsn = dsn
        self.max_idle = max_idle
        self.idle = []
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def conn(self):
        with self.lock:
            c = self.idle.pop() if self.idle else None
        if c is None or c.closed:
            c = self.psycopg2.connect(self.dsn, connect_timeout=5)
        try:
            yield c
        finally:
            if not c.closed:
                try:
                    c.rollback()
                except Exception:
                    c.close()
            keep = False
            if not c.closed:
                with self.lock:
                    if len(self.idle) < self.max_idle:
                        self.idle.append(c)
                        keep = True
            if not keep and not c.closed:
                c.close()

    def close(self):
        with self.lock:
            conns, self.idle = self.idle, []
        for c in conns:
            try:
                c.close()
            except Exception:
                pass


def qident(name):
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- object store

VALID_KEY = re.compile(r"^(\w|/|!|-|\.|\*|'|\(|\)| |&|\$|@|=|;|:|\+|,|\?)*$", re.ASCII)


def object_path(objects_dir, bucket, name):
    """Where the bytes of bucket/name live on disk.

    Normal names map verbatim (objects/ASE/camera_27/x.jpg); empty, "." and ".."
    segments and unusual characters are percent-encoded so every key has its own file.
    """
    segs = []
    for seg in name.split("/"):
        if seg == "":
            segs.append("%2F")
        elif seg in (".", ".."):
            segs.append(seg.replace(".", "%2E"))
        else:
            segs.append("".join(c if (c.isalnum() and c.isascii()) or c in "_-.~ ()!,;=+@$&'"
                                else "%%%02X" % ord(c) if ord(c) < 256 else c
                                for c in seg))
    return os.path.join(objects_dir, bucket, *segs)


class Bucket:
    def __init__(self, name, public=False, file_size_limit=None, allowed_mime=None):
        self.name = name
        self.public = public
        self.file_size_limit = file_size_limit
        self.allowed_mime = allowed_mime   # list or None (= any)

    def as_json(self):
        return {"id": self.name, "name": self.name, "public": self.public,
                "file_size_limit": self.file_size_limit,
                "allowed_mime_types": self.allowed_mime}


def mime_allowed(allowed, mime):
    """storage's validateMimeType: exact match or type/* wildcard."""
    if not allowed:
        return True
    rtype = mime.split("/")[0]
    for a in allowed:
        atype, _, aext = a.partition("/")
        if aext == "*" and atype == rtype:
            return True
        if a == mime:
            return True
    return False


# --------------------------------------------------------------------------- faults

FAULT_MODES = ("status", "hang", "slow_body", "lost_response", "truncated", "malformed_json",
               "empty_200", "auth")
COMMIT_DEFAULT = {"status": False, "auth": False, "hang": False, "slow_body": True,
                  "lost_response": True, "truncated": True, "malformed_json": True,
                  "empty_200": True}
COMMIT_FORCED = ("slow_body", "lost_response")


def validate_fault(spec):
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    mode = spec.get("mode")
    if mode not in FAULT_MODES:
        raise ValueError("unknown mode %r (one of %s, reset, config)" % (mode, ", ".join(FAULT_MODES)))
    f = dict(spec)
    f["route"] = f.get("route", "all")
    if f["route"] not in ("storage", "rest", "all"):
        raise ValueError("route must be storage, rest or all")
    if "count" in f and f["count"] is not None:
        if not isinstance(f["count"], int) or f["count"] < 1:
            raise ValueError("count must be a positive integer")
    p = f.get("probability", 1.0)
    if not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError("probability must be between 0 and 1")
    f["probability"] = float(p)
    if mode == "status":
        if "wrapped" in f:
            f["wrapped"] = str(f["wrapped"])
            f["status"] = 400
        st = f.get("status")
        if not isinstance(st, int) or not 100 <= st <= 999:
            raise ValueError("status mode needs an integer status")
    if not isinstance(f.get("content_length", True), bool):
        raise ValueError("content_length must be true or false")
    if mode == "auth":
        f["status"] = f.get("status", 401)
        if f["status"] not in (401, 403):
            raise ValueError("auth status must be 401 or 403")
    if mode == "slow_body":
        bps = f.get("bytes_per_sec", 10)
        if not isinstance(bps, (int, float)) or bps <= 0:
            raise ValueError("bytes_per_sec must be > 0")
    if mode in COMMIT_FORCED:
        f["commit"] = True
    else:
        f["commit"] = bool(f.get("commit", COMMIT_DEFAULT[mode]))
    f["applied"] = 0
    return f


class Faults:
    def __init__(self, seed):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.items = []

    def add(self, spec):
        f = validate_fault(spec)
        with self.lock:
            self.items.append(f)

    def reset(self):
        with self.lock:
            self.items = []

    def snapshot(self):
        with self.lock:
            return [dict(f) for f in self.items]

    def pick(self, route, method, path):
        with self.lock:
            for f in self.items:
                if f["route"] not in ("all", route):
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("match") and f["match"] not in path:
                    continue
                if f["probability"] < 1.0 and self.rng.random() >= f["probability"]:
                    continue
                f["applied"] += 1
                if f.get("count") is not None:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.items.remove(f)
                return dict(f)
        return None


# --------------------------------------------------------------------------- shared state

class State:
    def __init__(self, args):
        self.args = args
        self.secret = args.jwt_secret
        self.role_policy = args.role_policy
        self.table = args.table
        self.objects = os.path.abspath(args.objects)
        self.pool = Pool(args.dsn)
        self.faults = Faults(args.seed)
        self.lock = threading.Lock()
        self.log = collections.deque(maxlen=100000)
        self.seq = 0
        self.stats = {}
        self.status_codes = collections.Counter()
        self.dups = collections.Counter()
        self.faults_applied = collections.Counter()
        self.buckets = {}
        self.table_cache = {}
        self.stopping = threading.Event()
        self.verbose = args.verbose

    def record(self, method, path, route, status, code, fault, committed, role, dup):
        with self.lock:
            self.seq += 1
            self.log.append({"seq": self.seq, "time": round(time.time(), 3), "method": method,
                             "path": path, "route": route, "status": status, "code": code,
                             "fault": fault, "committed": committed, "role": role})
            r = self.stats.setdefault(route, {"total": 0, "by_status": collections.Counter()})
            r["total"] += 1
            r["by_status"][str(status)] += 1
            if route == "storage" and code:
                self.status_codes[str(code)] += 1
            if dup:
                self.dups[route] += 1
            if fault:
                self.faults_applied[fault] += 1
        if self.verbose:
            print("%s %s %s -> %s %s%s" % (route, method, path, status, code or "",
                                          " [%s]" % fault if fault else ""),
                  file=sys.stderr, flush=True)

    def clear_stats(self):
        with self.lock:
            self.stats = {}
            self.status_codes.clear()
            self.dups.clear()
            self.faults_applied.clear()

    def storage_access(self, role):
        """'all' (bypass RLS), 'insert' (INSERT-only policy), 'read' (INSERT and SELECT
        policies) or 'none' (no policy)."""
        if role == "service_role":
            return "all"
        if role == "anon":
            return {"service": "all", "anon_insert_only": "insert",
                    "anon_insert_select": "read", "none": "none"}[self.role_policy]
        return "none"

    def db_role(self, role):
        if role == "service_role":
            return "service_role"
        if role == "anon":
            return {"service": "service_role", "anon_insert_only": "anon",
                    "anon_insert_select": "camsnap_anon_select",
                    "none": "camsnap_anon_denied"}[self.role_policy]
        return role

    def table_columns(self, cur, table, refresh=False):
        """Columns of public.table (ordered) and its primary key, or None; cached."""
        if not refresh and table in self.table_cache:
            return self.table_cache[table]
        cur.execute("SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                    "AND c.relname = %s AND c.relkind IN ('r','v','p','f','m') AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY a.attnum", (table,))
        cols = [r[0] for r in cur.fetchall()]
        if not cols or table in INTERNAL_TABLES:
            return None
        cur.execute("SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a "
                    "ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) WHERE n.nspname = 'public' "
                    "AND c.relname = %s AND i.indisprimary ORDER BY a.attnum", (table,))
        pk = [r[0] for r in cur.fetchall()]
        self.table_cache[table] = (cols, pk)
        return self.table_cache[table]

    def exposed_tables(self, cur):
        cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r','v','p','f','m')")
        return [r[0] for r in cur.fetchall() if r[0] not in INTERNAL_TABLES]


# --------------------------------------------------------------------------- HTTP handler

class BadRequest(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "supabase-standin"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BadRequest("eof in chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BadRequest("bad chunk size")
                if size == 0:
                    while True:
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(chunks)
                data = self.rfile.read(size)
                if len(data) != size:
                    raise BadRequest("eof in chunk")
                chunks.append(data)
                self.rfile.readline(3)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            raise BadRequest("bad Content-Length")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BadRequest("eof in body")
        return data

    def dispatch(self):
        st = self.server.state
        method = self.command
        raw_path = self.path
        u = urlsplit(raw_path)
        path = u.path
        if path.startswith("/__"):
            route = "control"
        elif path.startswith(STORAGE_PREFIX + "/"):
            route = "storage"
        elif path.startswith(REST_PREFIX):
            route = "rest"
        else:
            route = "other"
        self.role = None
        try:
            body = self.read_body()
        except BadRequest as e:
            self.close_connection = True
            resp = Resp(400, jdump({"message": str(e)}))
            self.send_resp(resp)
            st.record(method, raw_path, route, 400, None, None, False, None, False)
            return
        if route == "control":
            resp = self.control(method, path, u.query, body)
            self.send_resp(resp)
            return
        fault = st.faults.pick(route, method, path) if route in ("storage", "rest") else None
        resp = None
        if fault is None or fault["commit"]:
            try:
                resp = self.process(route, method, u, body)
            except Exception as e:  # a bug or the database is gone: answer like a 500
                resp = self.internal_error(route, e)
        if fault:
            status = self.deliver_fault(fault, route, resp)
            committed = bool(resp and resp.committed)
            st.record(method, raw_path, route, status, resp.code if resp else None,
                      fault["mode"], committed, self.role, bool(resp and resp.dup))
            return
        self.send_resp(resp)
        st.record(method, raw_path, route, resp.status, resp.code, None, resp.committed,
                  self.role, resp.dup)

    def send_resp(self, resp, head_only=None, declared_len=None, send_body=None, no_length=False):
        """no_length: no Content-Length; the connection closes after the answer."""
        if head_only is None:
            head_only = self.command == "HEAD"
        if no_length:
            self.close_connection = True
        self.send_response(resp.status)
        for k, v in resp.headers:
            if not (no_length and k.lower() == "content-length"):
                self.send_header(k, v)
        length = len(resp.body) if declared_len is None else declared_len
        if not no_length and not any(k.lower() == "content-length" for k, v in resp.headers):
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head_only:
            body = resp.body if send_body is None else send_body
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def internal_error(self, route, exc):
        if self.server.state.verbose:
            import traceback
            traceback.print_exc()
        if route == "rest":
            return pgrst(503, "PGRST000", "Could not connect with the database. Retrying the "
                         "connection.", details=str(exc))
        return envelope(500, "Internal", "Internal server error", "InternalError")

    def abort_connection(self, rst=False):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- faults

    def fault_default(self, fault, route):
        mode = fault["mode"]
        hdrs = []
        if fault.get("retry_after") is not None:
            hdrs.append(("Retry-After", str(fault["retry_after"])))
        if mode == "auth":
            if route == "rest":
                if fault["status"] == 401:
                    return pgrst(401, "PGRST301", "JWSError JWSInvalidSignature", headers=hdrs + [
                        ("WWW-Authenticate", 'Bearer error="invalid_token", '
                         'error_description="JWSError JWSInvalidSignature"')])
                return pgrst(403, "42501", "permission denied for table %s" % self.server.state.table,
                             headers=hdrs)
            r = e_denied("signature verification failed")
            r.status = fault["status"] if not fault.get("wrapped") else 400
            r.headers += hdrs
            return r
        # status mode
        status = fault["status"]
        if "body" in fault:
            body = fault["body"]
            if not isinstance(body, str):
                body = json.dumps(body)
            ctype = fault.get("content_type") or (
                JSON_CT if body[:1] in ("{", "[") else "text/plain")
            return Resp(status, body, ctype=ctype, headers=hdrs, code=str(status))
        if fault.get("wrapped"):
            w = fault["wrapped"]
            if w == "503":
                r = envelope(503, "acquiring_lock_timeout", "acquiring lock timeout", "LockTimeout")
            elif w == "429":
                r = envelope(429, "SlowDown", "Too many connections issued to the database",
                             "SlowDown")
            elif w == "544":
                r = envelope(544, "DatabaseTimeout", "The connection to the database timed out",
                             "DatabaseTimeout", http=400)
            else:
                r = envelope(w, "Error", "Simulated error %s" % w, "InternalError", http=400)
            r.headers += hdrs
            return r
        if route == "storage":
            if status == 429:
                body = {"statusCode": "429", "error": "too_many_connections", "code": "SlowDown",
                        "message": "Too many connections issued to the database"}
                return Resp(429, jdump(body), headers=hdrs, code="429")
            if status == 544:
                r = envelope(544, "DatabaseTimeout", "The connection to the database timed out",
                             "DatabaseTimeout", http=544)
                r.headers += hdrs
                return r
            if status == 500:
                r = envelope(500, "Internal", "Internal server error", "InternalError")
                r.headers += hdrs
                return r
        if route == "rest" and status == 503:
            return pgrst(503, "PGRST001", "Could not connect due to too many connections.",
                         headers=hdrs)
        if status in (502, 503, 504, 408, 429) or status >= 500:
            reason = self.responses.get(status, ("Error",))[0]
            html = ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s"
                    "</h1></center>\r\n</body>\r\n</html>\r\n" % (status, reason, status, reason))
            return Resp(status, html, ctype="text/html", headers=hdrs, code=str(status))
        if route == "rest":
            return pgrst(status, "PGRST000", "Simulated error %d" % status, headers=hdrs)
        return envelope(status, "Error", "Simulated error %d" % status, "InternalError",
                        http=status)

    def deliver_fault(self, fault, route, resp):
        """Send (or not) the answer under a fault; returns what to log as the status."""
        mode = fault["mode"]
        st = self.server.state
        if mode in ("status", "auth"):
            r = self.fault_default(fault, route)
            self.send_resp(r, no_length=fault.get("content_length") is False)
            return r.status
        if mode == "lost_response":
            self.abort_connection(rst=bool(fault.get("rst")))
            return "lost_response"
        if mode == "hang":
            self.close_connection = True
            deadline = None
            if fault.get("seconds"):
                deadline = time.monotonic() + float(fault["seconds"])
            sock = self.connection
            while not st.stopping.is_set():
                if deadline and time.monotonic() >= deadline:
                    break
                try:
                    r, _, _ = select.select([sock], [], [], 0.1)
                    if r and not sock.recv(65536):
                        break   # the client gave up
                except OSError:
                    break
            self.abort_connection()
            return "hang"
        if mode == "truncated":
            body = resp.body
            declared = max(len(body), 16) + 16
            self.close_connection = True
            self.send_resp(resp, declared_len=declared, send_body=body[:len(body) // 2])
            self.abort_connection()
            return "truncated"
        if mode == "malformed_json":
            status = fault.get("status") or (200 if route == "storage" else 201)
            bad = b'{"Key":"' if route == "storage" else b'[{"image_id":'
            r = Resp(status, bad, headers=[])
            self.send_resp(r)
            return status
        if mode == "empty_200":
            r = Resp(200, b"", ctype=JSON_CT)
            self.send_resp(r)
            return 200
        if mode == "slow_body":
            return self.send_slow(resp, float(fault.get("bytes_per_sec", 10)),
                                  bool(fault.get("headers")))
        raise AssertionError(mode)

    def send_slow(self, resp, bps, headers_too):
        st = self.server.state
        lines = ["%s %d %s\r\n" % (self.protocol_version, resp.status,
                                   self.responses.get(resp.status, ("",))[0])]
        lines += ["%s: %s\r\n" % kv for kv in resp.headers]
        lines.append("Content-Length: %d\r\n" % len(resp.body))
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        body = b"" if self.command == "HEAD" else resp.body
        slow = head + body if headers_too else body
        try:
            if not headers_too:
                self.wfile.write(head)
            step = max(1, int(bps / 10))
            for i in range(0, len(slow), step):
                if st.stopping.is_set():
                    break
                self.wfile.write(slow[i:i + step])
                time.sleep(step / bps)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        return resp.status

    # ---- control

    def control(self, method, path, query, body):
        st = self.server.state
        if self.client_address[0] != "127.0.0.1":
            return Resp(403, jdump({"ok": False, "error": "control only from 127.0.0.1"}))
        tok = st.args.control_token
        if tok and not hmac.compare_digest(self.headers.get("X-Control-Token", ""), tok):
            return Resp(403, jdump({"ok": False, "error": "bad or missing X-Control-Token"}))
        if path == "/__stats" and method in ("GET", "HEAD"):
            return Resp(200, jdump(self.stats()))
        if path == "/__log" and method in ("GET", "HEAD"):
            since = int(dict(parse_qsl(query)).get("since", "0") or 0)
            with st.lock:
                entries = [e for e in st.log if e["seq"] > since]
            return Resp(200, jdump(entries))
        if path == "/__control" and method == "GET":
            return Resp(200, jdump({"ok": True, "faults": st.faults.snapshot(),
                                    "role_policy": st.role_policy}))
        if path != "/__control" or method != "POST":
            return Resp(404, jdump({"ok": False, "error": "unknown control route"}))
        try:
            req = json.loads(body or b"null")
            if isinstance(req, dict) and "faults" in req and "mode" not in req:
                req = req["faults"]
            items = req if isinstance(req, list) else [req]
            for item in items:
                if not isinstance(item, dict):
                    raise ValueError("expected a JSON object")
                mode = item.get("mode")
                if mode == "reset":
                    st.faults.reset()
                    if item.get("log"):
                        with st.lock:
                            st.log.clear()
                    if item.get("stats"):
                        st.clear_stats()
                elif mode == "config":
                    pol = item.get("role_policy", st.role_policy)
                    if pol not in ROLE_POLICIES:
                        raise ValueError("role_policy must be one of %s" % ", ".join(ROLE_POLICIES))
                    st.role_policy = pol
                else:
                    st.faults.add(item)
        except ValueError as e:
            return Resp(400, jdump({"ok": False, "error": str(e)}))
        return Resp(200, jdump({"ok": True, "faults": st.faults.snapshot(),
                                "role_policy": st.role_policy}))

    def stats(self):
        st = self.server.state
        out = {"objects": None, "objects_by_bucket": {}, "rows": None, "table": st.table}
        try:
            with st.pool.conn() as c, c.cursor() as cur:
                cur.execute("SELECT bucket_id, count(*) FROM storage_objects GROUP BY 1")
                out["objects_by_bucket"] = {b: n for b, n in cur.fetchall()}
                out["objects"] = sum(out["objects_by_bucket"].values())
                cur.execute("SELECT count(*) FROM public.%s" % qident(st.table))
                out["rows"] = cur.fetchone()[0]
        except Exception as e:
            out["db_error"] = str(e)
        with st.lock:
            out["requests"] = {r: {"total": v["total"], "by_status": dict(v["by_status"])}
                               for r, v in st.stats.items()}
            out["storage_status_codes"] = dict(st.status_codes)
            out["duplicates"] = {"storage": st.dups["storage"], "rest": st.dups["rest"],
                                 "total": st.dups["storage"] + st.dups["rest"]}
            out["faults_applied"] = dict(st.faults_applied)
            out["active_faults"] = len(st.faults.items)
            out["role_policy"] = st.role_policy
        return out

    # ---- routing

    def process(self, route, method, u, body):
        if route == "storage":
            return self.storage(method, u, body)
        if route == "rest":
            return self.rest(method, u, body)
        return Resp(404, jdump({"message": "no Route matched with those values"}))

    # ---- storage

    def storage_auth(self):
        """(claims, None) or (None, error Resp): the storage jwt plugin."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return None, e_no_auth()
        token = re.sub(r"^Bearer\s+", "", auth, flags=re.I)
        try:
            claims = verify_jwt(self.server.state.secret, token)
        except JwtError as e:
            return None, e_denied(STORAGE_JWT_MESSAGES[e.kind])
        self.role = claims.get("role") or "anon"
        return claims, None

    def storage(self, method, u, body):
        st = self.server.state
        if st.args.storage_key_auth and not (self.headers.get("apikey") or
                                             dict(parse_qsl(u.query)).get("apikey")):
            return Resp(401, jdump({"message": "No API key found in request"}), code="401")
        sub = u.path[len(STORAGE_PREFIX):]
        if sub.startswith("/object/"):
            rest = unquote(sub[len("/object/"):])
            first, _, tail = rest.partition("/")
            if method in ("POST", "PUT") and first not in ("info", "sign", "upload", "list",
                                                            "move", "copy"):
                return self.upload(first, tail, body, method == "PUT" or
                                   self.headers.get("x-upsert") == "true")
            if method in ("GET", "HEAD", "POST") and first == "info":
                b, _, n = tail.partition("/")
                if b in ("authenticated", "public"):
                    kind, (b, _, n) = b, n.partition("/")
                else:
                    kind = "authenticated"
                return self.download(kind, b, n, info=True)
            if method in ("GET", "HEAD"):
                if first in ("authenticated", "public"):
                    b, _, n = tail.partition("/")
                    return self.download(first, b, n)
                return self.download("authenticated", first, tail)
        if sub in ("/bucket", "/bucket/"):
            if method == "POST":
                return self.create_bucket(body)
            if method == "GET":
                claims, err = self.storage_auth()
                if err:
                    return err
                if st.storage_access(self.role) != "all":
                    return Resp(200, b"[]")
                return Resp(200, jdump([b.as_json() for b in st.buckets.values()]))
        return e_route(method, sub)

    def parse_upload(self, body):
        """(data, content_type, cache_control) from a raw or multipart body."""
        ctype = self.headers.get("Content-Type")
        cache = self.headers.get("cache-control") or "no-cache"
        if ctype and ctype.lower().startswith("multipart/form-data"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)
            data, ftype = b"", "text/plain;charset=UTF-8"
            for part in msg.iter_parts() if msg.is_multipart() else []:
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if name == "cacheControl":
                    cache = "max-age=" + payload.decode(errors="replace").strip()
                elif part.get_filename() is not None or name in ("", None, "file"):
                    data = payload
                    ftype = part.get_content_type() if part.get("Content-Type") else ftype
            return data, ftype, cache
        return body, ctype if ctype is not None else "application/octet-stream", cache

    def upload(self, bucket, name, body, upsert):
        st = self.server.state
        claims, err = self.storage_auth()
        if err:
            return err
        if not name or not VALID_KEY.match(name) or any(s in (".", "..") for s in name.split("/")):
            return e_invalid_key(bucket + "/" + name)
        b = st.buckets.get(bucket)
        if b is None:
            return e_no_bucket()
        access = st.storage_access(self.role)
        if access == "none" or (access in ("insert", "read") and upsert):
            return e_rls()
        data, ctype, cache = self.parse_upload(body)
        with st.pool.conn() as c, c.cursor() as cur:
            if not upsert:
                cur.execute("SELECT 1 FROM storage_objects WHERE bucket_id = %s AND name = %s",
                            (bucket, name))
                if cur.fetchone():
                    return e_dup()
            limit = GLOBAL_FILE_SIZE_LIMIT
            if b.file_size_limit is not None:
                limit = min(limit, b.file_size_limit)
            if len(data) > limit:
                return e_too_large()
            if not mime_allowed(b.allowed_mime, ctype):
                return e_mime(ctype)
            meta = self.headers.get("x-metadata")
            sha = hashlib.sha256(data).hexdigest()
            md5 = hashlib.md5(data).hexdigest()
            final = object_path(st.objects, bucket, name)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            tmpdir = os.path.join(st.objects, ".tmp")
            os.makedirs(tmpdir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=tmpdir)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                new_id = str(uuid.uuid4())
                cols = ("bucket_id, name, id, size, content_type, sha256, md5, cache_control, "
                        "user_metadata, owner_role")
                vals = (bucket, name, new_id, len(data), ctype, sha, md5, cache, meta, self.role)
                if upsert:
                    cur.execute("INSERT INTO storage_objects (%s) VALUES (%%s,%%s,%%s,%%s,%%s,%%s,"
                                "%%s,%%s,%%s,%%s) ON CONFLICT (bucket_id, name) DO UPDATE SET "
                                "size = EXCLUDED.size, content_type = EXCLUDED.content_type, "
                                "sha256 = EXCLUDED.sha256, md5 = EXCLUDED.md5, "
                                "cache_control = EXCLUDED.cache_control, "
                                "user_metadata = EXCLUDED.user_metadata, updated_at = now() "
                                "RETURNING id" % cols, vals)
                else:
                    cur.execute("INSERT INTO storage_objects (%s) VALUES (%%s,%%s,%%s,%%s,%%s,%%s,"
                                "%%s,%%s,%%s,%%s) ON CONFLICT (bucket_id, name) DO NOTHING "
                                "RETURNING id" % cols, vals)
                row = cur.fetchone()
                if row is None:        # lost a race with a concurrent upload of the same key
                    return e_dup()
                os.replace(tmp, final)  # under the row lock: the bytes match the committed row
                tmp = None
                c.commit()
            finally:
                if tmp:
                    os.unlink(tmp)
        key = bucket + "/" + name
        return Resp(200, jdump({"Key": key, "Id": str(row[0])}), committed=True)

    def download(self, kind, bucket, name, info=False):
        st = self.server.state
        if kind == "public":
            b = st.buckets.get(bucket)
            if b is None or not b.public:
                return e_no_bucket()
            access = "all"
        else:
            claims, err = self.storage_auth()
            if err:
                return err
            access = st.storage_access(self.role)
            if st.buckets.get(bucket) is None:
                return e_no_bucket()
        with st.pool.conn() as c, c.cursor() as cur:
            cur.execute("SELECT id, size, content_type, cache_control, md5, created_at, updated_at, "
                        "user_metadata FROM storage_objects WHERE bucket_id = %s AND name = %s",
                        (bucket, name))
            row = cur.fetchone()
        if row is None or access not in ("all", "read"):   # RLS hides what anon cannot SELECT
            return e_no_key()
        oid, size, ctype, cache, md5, created, updated, meta = row
        if info:
            body = {"id": str(oid), "name": name, "version": None, "bucket_id": bucket,
                    "size": size, "content_type": ctype, "cache_control": cache,
                    "etag": '"%s"' % md5, "metadata": json.loads(meta) if meta and
                    meta.startswith("{") else None,
                    "created_at": created.isoformat(), "last_modified": updated.isoformat()}
            return Resp(200, jdump(body))
        try:
            with open(object_path(st.objects, bucket, name), "rb") as f:
                data = f.read()
        except OSError:
            return e_no_key()
        hdrs = [("Cache-Control", cache or "no-cache"), ("ETag", '"%s"' % md5),
                ("Last-Modified", updated.strftime("%a, %d %b %Y %H:%M:%S GMT"))]
        return Resp(200, data, ctype=ctype or "application/octet-stream", headers=hdrs)

    def create_bucket(self, body):
        st = self.server.state
        claims, err = self.storage_auth()
        if err:
            return err
        if st.storage_access(self.role) != "all":
            return e_rls()
        try:
            req = json.loads(body)
            name = req.get("name") or req.get("id")
            if not isinstance(name, str) or not re.fullmatch(r"[\w!\-.*'() &$@=;:+,?]+", name,
                                                             re.ASCII):
                raise ValueError
        except (ValueError, AttributeError):
            return envelope(400, "Invalid Input", "Bucket name invalid", "InvalidBucketName")
        with st.lock:
            if name in st.buckets:
                return envelope(409, "Duplicate", "The resource already exists",
                                "BucketAlreadyExists")
            b = Bucket(name, bool(req.get("public")), req.get("file_size_limit"),
                       req.get("allowed_mime_types"))
            st.buckets[name] = b
        save_bucket(st, b)
        return Resp(200, jdump({"name": name}), committed=True)

    # ---- PostgREST (+ Kong key-auth)

    def rest_auth(self, query):
        """(claims, None) or (None, error Resp)."""
        st = self.server.state
        key = self.headers.get("apikey") or dict(parse_qsl(query)).get("apikey")
        if not key:
            return None, Resp(401, jdump({"message": "No API key found in request"}), code="401")
        try:
            verify_jwt(st.secret, key, check_exp=False)
        except JwtError:
            return None, Resp(401, jdump({"message": "Invalid authentication credentials"}),
                              code="401")
        auth = self.headers.get("Authorization", "")
        m = re.match(r"^Bearer\s+(.*)$", auth, re.I)
        if not m:
            self.role = "anon"
            return {"role": "anon"}, None
        try:
            claims = verify_jwt(st.secret, m.group(1).strip())
        except JwtError as e:
            msg = postgrest_jwt_message(e)
            return None, pgrst(401, "PGRST301", msg, headers=[(
                "WWW-Authenticate", 'Bearer error="invalid_token", error_description="%s"'
                % msg.replace('"', "'"))])
        self.role = claims.get("role") or "anon"
        return claims, None

    def rest(self, method, u, body):
        st = self.server.state
        table = unquote(u.path[len(REST_PREFIX):]).strip("/")
        claims, err = self.rest_auth(u.query)
        if err:
            return err
        if method not in ("POST", "GET", "HEAD"):
            return pgrst(405, "PGRST117", "Unsupported HTTP method: %s" % method)
        query = parse_qsl(u.query, keep_blank_values=True)
        with st.pool.conn() as c, c.cursor() as cur:
            meta = st.table_columns(cur, table)
            if meta is None:
                meta = st.table_columns(cur, table, refresh=True)
            if meta is None:
                names = ["public." + t for t in st.exposed_tables(cur)]
                close = difflib.get_close_matches("public." + table, names, 1, 0.5)
                return pgrst(404, "PGRST205", "Could not find the table 'public.%s' in the schema "
                             "cache" % table, hint=("Perhaps you meant the table '%s'" % close[0])
                             if close else None)
            cols, pk = meta
            try:
                cur.execute("SET LOCAL ROLE %s" % qident(st.db_role(self.role)))
                cur.execute("SELECT set_config('request.jwt.claims', %s, true)",
                            (json.dumps(claims),))
                if method == "POST":
                    resp = self.rest_insert(cur, table, cols, pk, query, body)
                else:
                    resp = self.rest_select(cur, table, cols, query)
                if resp.status < 300:
                    c.commit()
                return resp
            except st.pool.psycopg2.Error as e:
                c.rollback()
                if e.pgcode is None:
                    raise
                d = e.diag
                return pgrst(pg_http_status(e.pgcode, self.role != "anon"), e.pgcode,
                             d.message_primary, details=d.message_detail, hint=d.message_hint)

    def prefer(self):
        out = {}
        for h in self.headers.get_all("Prefer") or []:
            for item in h.split(","):
                k, _, v = item.strip().partition("=")
                if k:
                    out[k.strip().lower()] = v.strip()
        return out

    def rest_insert(self, cur, table, cols, pk, query, body):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ctype.lower() != "application/json":
            return pgrst(415, "PGRST107", "Content-Type not acceptable: %s" % ctype)
        prefer = self.prefer()
        bad = pgrst(400, "PGRST102", "Empty or invalid json")

        def no_const(x):
            raise ValueError(x)
        try:
            text = body.decode("utf-8")
            payload = json.loads(text, object_pairs_hook=collections.OrderedDict,
                                 parse_constant=no_const)
        except (UnicodeDecodeError, ValueError):
            return bad
        rows = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(r, dict) for r in rows):
            return bad
        q = dict(query)
        if "columns" in q:
            keys = [k.strip().strip('"') for k in q["columns"].split(",") if k.strip()]
        else:
            keys = list(rows[0].keys()) if rows else []
            if any(set(r.keys()) != set(keys) for r in rows):
                return pgrst(400, "PGRST102", "All object keys must match")
        for k in keys:
            if k not in cols:
                return pgrst(400, "PGRST204", "Could not find the '%s' column of '%s' in the "
                             "schema cache" % (k, table))
        ret = prefer.get("return", "minimal")
        resolution = prefer.get("resolution")
        applied = []
        if "return" in prefer:
            applied.append("return=" + ret)
        if resolution in ("ignore-duplicates", "merge-duplicates"):
            applied.append("resolution=" + resolution)
        t = "public." + qident(table)
        qk = [qident(k) for k in keys]
        if keys:
            sql = ("INSERT INTO %s(%s) SELECT %s FROM (SELECT %%s::json AS json_data) pgrst_payload, "
                   "LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = 'array' "
                   "THEN pgrst_payload.json_data ELSE json_build_array(pgrst_payload.json_data) "
                   "END AS val) pgrst_uniform_json, LATERAL (SELECT * FROM "
                   "json_populate_recordset(null::%s, pgrst_uniform_json.val)) pgrst_body "
                   % (t, ", ".join(qk), ", ".join("pgrst_body." + k for k in qk), t))
        else:
            sql = "INSERT INTO %s DEFAULT VALUES " % t
        if resolution in ("ignore-duplicates", "merge-duplicates"):
            target = [c.strip() for c in q["on_conflict"].split(",")] if "on_conflict" in q else pk
            sql += "ON CONFLICT(%s) " % ", ".join(qident(x) for x in target)
            if resolution == "ignore-duplicates" or not keys:
                sql += "DO NOTHING "
            else:
                sql += "DO UPDATE SET " + ", ".join("%s = EXCLUDED.%s" % (k, k) for k in qk) + " "
        if ret == "representation":
            sql += "RETURNING %s.*" % t
        elif ret == "headers-only" and pk:
            sql += "RETURNING " + ", ".join("%s.%s" % (t, qident(x)) for x in pk)
        else:
            sql += "RETURNING 1"
        wrapped = ("WITH pgrst_source AS (%s) SELECT pg_catalog.count(_postgrest_t) AS page_total, "
                   "coalesce(json_agg(_postgrest_t), '[]') AS body FROM "
                   "(SELECT * FROM pgrst_source) _postgrest_t" % sql)
        if not rows:
            total, out = 0, []
        elif keys:
            cur.execute(wrapped, (text,))
            total, out = cur.fetchone()
        else:
            total, out = 0, []
            for _ in rows:
                cur.execute(wrapped)
                n, o = cur.fetchone()
                total += n
                out += o
        hdrs = [("Content-Range", "*/*")]
        if applied:
            hdrs.append(("Preference-Applied", ", ".join(applied)))
        if ret == "representation":
            return Resp(201, jdump(out), headers=hdrs, committed=True)
        if ret == "headers-only" and out and pk:
            loc = "/%s?%s" % (table, "&".join("%s=eq.%s" % (k, out[0][k]) for k in pk))
            hdrs.append(("Location", loc))
        return Resp(201, b"", ctype=None, headers=hdrs, committed=True)

    def rest_select(self, cur, table, cols, query):
        sel, where, args, order, limit, offset = "*", [], [], "", "", ""
        ops = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        for k, v in query:
            if k == "select":
                if v.strip() not in ("", "*"):
                    names = [x.strip() for x in v.split(",")]
                    for n in names:
                        if n not in cols:
                            return pgrst(400, "42703", "column %s.%s does not exist" % (table, n))
                    sel = ", ".join(qident(n) for n in names)
            elif k == "order":
                parts = []
                for item in v.split(","):
                    col, _, dirn = item.partition(".")
                    if col not in cols:
                        return pgrst(400, "42703", "column %s.%s does not exist" % (table, col))
                    parts.append(qident(col) + (" DESC" if dirn.startswith("desc") else " ASC"))
                order = " ORDER BY " + ", ".join(parts)
            elif k == "limit":
                limit = " LIMIT %d" % int(v)
            elif k == "offset":
                offset = " OFFSET %d" % int(v)
            elif k in ("apikey", "columns"):
                continue
            else:
                if k not in cols:
                    return pgrst(400, "42703", "column %s.%s does not exist" % (table, k))
                op, _, val = v.partition(".")
                if op == "is" and val.lower() == "null":
                    where.append("%s IS NULL" % qident(k))
                elif op in ops:
                    where.append("%s::text %s %%s" % (qident(k), ops[op]) if op in ("eq", "neq")
                                 else "%s %s %%s" % (qident(k), ops[op]))
                    args.append(val)
                else:
                    return pgrst(400, "PGRST100", "failed to parse filter (%s)" % v)
        sql = "SELECT %s FROM public.%s%s%s%s%s" % (
            sel, qident(table), " WHERE " + " AND ".join(where) if where else "", order,
            limit, offset)
        cur.execute("SELECT pg_catalog.count(_t), coalesce(json_agg(_t), '[]') FROM (%s) _t" % sql,
                    args)
        n, out = cur.fetchone()
        rng = "0-%d/*" % (n - 1) if n else "*/0"
        return Resp(200, jdump(out), headers=[("Content-Range", rng)])


# --------------------------------------------------------------------------- server

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def save_bucket(st, b):
    with st.pool.conn() as c, c.cursor() as cur:
        cur.execute("INSERT INTO storage_buckets (id, public, file_size_limit, allowed_mime_types) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET public = EXCLUDED.public, "
                    "file_size_limit = EXCLUDED.file_size_limit, allowed_mime_types = "
                    "EXCLUDED.allowed_mime_types", (b.name, b.public, b.file_size_limit,
                                                    b.allowed_mime))
        c.commit()


def per_bucket(values, parse, default=None):
    """['X', 'B=Y'] -> (default, {B: Y}) with parse() applied."""
    per = {}
    for v in values or []:
        m = re.match(r"^([\w.\-]+)=(.*)$", v)
        if m and not m.group(1).isdigit() and "/" not in m.group(1):
            per[m.group(1)] = parse(m.group(2))
        else:
            default = parse(v)
    return default, per


def parse_mime_list(v):
    v = v.strip()
    if v in ("", "*", "*/*", "any"):
        return None
    return [x.strip() for x in v.split(",") if x.strip()]


def build_parser():
    p = argparse.ArgumentParser(description="Supabase Storage + PostgREST stand-in (127.0.0.1 only)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dsn", required=True, help="PostgreSQL DSN (a superuser, e.g. pgcluster's)")
    p.add_argument("--objects", required=True, help="object store directory")
    p.add_argument("--jwt-secret", default=DEFAULT_SECRET)
    p.add_argument("--bucket", action="append", help="bucket to create at start (repeatable; "
                   "default ASE)")
    p.add_argument("--public-bucket", action="append", default=[],
                   help="a public bucket (created if needed; repeatable)")
    p.add_argument("--table", default="ASE_Snapshot")
    p.add_argument("--role-policy", choices=ROLE_POLICIES,
                   default="anon_insert_only")
    p.add_argument("--control-token")
    p.add_argument("--file-size-limit", action="append",
                   help="BYTES (all buckets) or BUCKET=BYTES (repeatable); default 50 MiB")
    p.add_argument("--allowed-mime", action="append",
                   help="comma list (all buckets) or BUCKET=list; '*' = any; "
                        "default image/jpeg,image/webp")
    p.add_argument("--storage-key-auth", action="store_true",
                   help="also require an apikey header on /storage/v1 (some gateways do)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    return p


def jwt_main(argv):
    p = argparse.ArgumentParser(prog="supabase_standin.py jwt")
    p.add_argument("--secret", default=DEFAULT_SECRET)
    p.add_argument("--role", required=True)
    p.add_argument("--exp-in", type=int, default=None,
                   help="seconds until expiry (negative: already expired); default 10 years")
    a = p.parse_args(argv)
    exp = None if a.exp_in is None else int(time.time()) + a.exp_in
    print(make_jwt(a.secret, a.role, exp))
    return 0


def main(argv):
    if argv and argv[0] == "jwt":
        return jwt_main(argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    import pgcluster
    import psycopg2
    st = State(args)
    os.makedirs(st.objects, exist_ok=True)
    conn = psycopg2.connect(args.dsn, connect_timeout=10)
    try:
        pgcluster.ensure_schema(conn, [args.table])
    finally:
        conn.close()
    size_default, size_per = per_bucket(args.file_size_limit, int)
    mime_default, mime_per = per_bucket(args.allowed_mime, parse_mime_list,
                                        ["image/jpeg", "image/webp"])
    with st.pool.conn() as c, c.cursor() as cur:   # buckets made through the API earlier
        cur.execute("SELECT id, public, file_size_limit, allowed_mime_types FROM storage_buckets")
        for bid, public, limit, mimes in cur.fetchall():
            st.buckets[bid] = Bucket(bid, public, limit, mimes)
    names = list(args.bucket or ["ASE"]) + [b for b in args.public_bucket]
    for name in dict.fromkeys(names):
        st.buckets[name] = Bucket(name, name in args.public_bucket,
                                  size_per.get(name, size_default),
                                  mime_per[name] if name in mime_per else mime_default)
        save_bucket(st, st.buckets[name])
    try:
        httpd = Server(("127.0.0.1", args.port), Handler)
    except OSError as e:
        print("supabase_standin: cannot bind 127.0.0.1:%d: %s" % (args.port, e), file=sys.stderr)
        return 2
    httpd.state = st
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    print("READY %d" % httpd.server_address[1], flush=True)
    while not stop.wait(0.5):
        pass
    st.stopping.set()
    httpd.shutdown()
    httpd.server_close()
    st.pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
