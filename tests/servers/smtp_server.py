#!/usr/bin/python3
"""SMTP server for camsnap's tests (aiosmtpd), on 127.0.0.1 only.

usage: smtp_server.py --cert PEM --key PEM --user NAME --password-file FILE --out FILE
                      [--port N] [--implicit-tls | --plain]

Speaks as a mail submission server does: STARTTLS with the given certificate
(required before MAIL and before AUTH), AUTH PLAIN and LOGIN for one user
whose password is read from FILE (a wrong login is refused 535), 250 for
every message. With --implicit-tls the connection is TLS from the first
byte (smtps) instead; with --plain it offers no TLS at all (a relay that
would take mail in clear). Every message taken is appended to --out as one JSON
line: {"mail_from", "rcpt_tos", "data_b64": the message as received (dot
stuffing undone by the server, line ends as sent), "tls": the session was
encrypted, "auth_user": the login that was accepted}. Logins refused are
appended as {"auth_refused": login}.

Prints "READY <port>" (flushed) once listening; SIGTERM/SIGINT stop it.
"""
import argparse
import base64
import json
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Recorder:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()

    def write(self, obj):
        with self.lock, open(self.out, "a") as f:
            f.write(json.dumps(obj) + "\n")

    async def handle_DATA(self, server, session, envelope):
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) \
            else None
        self.write({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                    "data_b64": base64.b64encode(envelope.original_content).decode(),
                    "tls": session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None,
                    "auth_user": user})
        return "250 OK message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--plain", action="store_true")
    a = ap.parse_args()
    with open(a.password_file) as f:
        password = f.readline().rstrip("\n").encode()
    rec = Recorder(a.out)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == a.user.encode()
              and auth_data.password == password)
        if not ok and isinstance(auth_data, LoginPassword):
            rec.write({"auth_refused": auth_data.login.decode(errors="replace")})
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    port = a.port or free_port()
    kw = dict(hostname="127.0.0.1", port=port, authenticator=authenticator,
              auth_required=True, auth_require_tls=True)
    if a.plain:
        kw["auth_require_tls"] = False
    elif a.implicit_tls:
        # The whole session is TLS; aiosmtpd only knows of STARTTLS's.
        kw.update(ssl_context=ctx, auth_require_tls=False)
    else:
        kw.update(tls_context=ctx, require_starttls=True)
    ctl = Controller(rec, **kw)
    ctl.start()
    print("READY %d" % port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    ctl.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
