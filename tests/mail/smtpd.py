#!/usr/bin/python3
"""A real SMTP server for Parley's mail tests (aiosmtpd, Debian's python3-aiosmtpd).

    /usr/bin/python3 tests/mail/smtpd.py --port PORT --dir DIR [--cert PEM --key PEM]
        [--user NAME --password PW] [--refuse ADDRESS ...]

It listens on 127.0.0.1:PORT, offers STARTTLS with the given certificate (and then requires it,
and AUTH when a user is given), and writes each accepted message to DIR as N.eml, with N.json
holding the envelope (mail_from, rcpt_tos), whether the session was encrypted and
authenticated, and the message as Python's email package reads it: every header (decoded),
the content type, and the decoded text/plain and text/html parts. A RCPT TO one of the --refuse addresses is answered 550 (a permanent refusal).
It prints "ready" once it listens, and runs until killed.
"""

import argparse
import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, directory, refuse):
        self.dir = directory
        self.refuse = {a.lower() for a in refuse}
        self.n = len([f for f in os.listdir(directory) if f.endswith(".eml")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.dir, str(self.n))
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "at": time.time(),
        }
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        meta["headers"] = [[k, str(v)] for k, v in msg.items()]
        meta["content_type"] = msg.get_content_type()
        for kind in ("plain", "html"):
            part = msg.get_body(preferencelist=(kind,))
            meta[kind] = part.get_content() if part is not None else None
        # The message first, then its envelope: a test that sees N.json can read N.eml.
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted for delivery as %d" % self.n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--refuse", action="append", default=[])
    a = p.parse_args()

    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == a.user
            and auth_data.password.decode() == a.password
        )
        return AuthResult(success=ok)

    kwargs = dict(hostname="127.0.0.1", port=a.port, server_hostname="localhost")
    if tls is not None:
        kwargs.update(tls_context=tls, require_starttls=True)
    if a.user:
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=tls is not None)
    controller = Controller(Store(a.dir, a.refuse), **kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
