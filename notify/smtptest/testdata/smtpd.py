"""A real SMTP server for claimdrift's email tests (Debian python3-aiosmtpd).

Usage: smtpd.py PORT MAILDIR [--tls CERT KEY] [--auth USER PASSWORD]

Writes each accepted message to MAILDIR/<n>.json (envelope, data, whether
the session was encrypted and authenticated). Recipients starting with
"reject" get 550, "tempfail" 451. Prints READY once listening.
"""
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:]
    tls_context, user, password = None, None, None
    while args:
        if args[0] == "--tls":
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(args[1], args[2])
            args = args[3:]
        elif args[0] == "--auth":
            user, password = args[1].encode(), args[2].encode()
            args = args[3:]
        else:
            raise SystemExit("unknown argument " + args[0])
    counter = {"n": 0}

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("reject"):
                return "550 5.1.1 no such user"
            if address.startswith("tempfail"):
                return "451 4.3.0 try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            counter["n"] += 1
            doc = {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
                "tls": session.ssl is not None,
                "authenticated": bool(getattr(session, "authenticated", False)),
            }
            path = os.path.join(maildir, "%04d.json" % counter["n"])
            with open(path + ".tmp", "w") as f:
                json.dump(doc, f)
            os.rename(path + ".tmp", path)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = user is not None and auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok, handled=False)

    params = {}
    if tls_context is not None:
        params["tls_context"] = tls_context
    if user is not None:
        params["authenticator"] = authenticator
        params["auth_require_tls"] = False
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **params)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()  # run until the test closes stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
