#!/usr/bin/python3
"""Starts the demo: the Auth.js upstream and Apache httpd with mod_authproxy on
a loopback port, serving a CGI page that shows the session. Ctrl-C stops both."""
import os
import shutil
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import UPSTREAM_SECRET, Httpd, Upstream  # noqa: E402

PORT = int(os.environ.get("DEMO_PORT", "8080"))


def main():
    upstream = Upstream("core", "/api/auth").start()
    httpd = Httpd("""
        # The Auth.js server every app shares; its routes are forwarded from /api/auth.
        AuthProxyUpstream %s
        # Its AUTH_SECRET: sessions are decrypted here, without asking it.
        AuthProxySecret %s
        DirectoryIndex index.cgi
        <Directory "@DIR@/htdocs">
            Options +ExecCGI
            AddHandler cgi-script .cgi
        </Directory>
        # Signed-in users only: others are sent to sign in and brought back.
        <Location /private>
            AuthType authjs
            Require valid-user
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET), port=PORT, loglevel="info authproxy:debug")
    os.mkdir(os.path.join(httpd.dir, "htdocs", "private"))
    for where in ("", "private"):
        shutil.copy(os.path.join(ROOT, "demo", "index.cgi"),
                    os.path.join(httpd.dir, "htdocs", where))
    try:
        httpd.start()
        print("mod_authproxy demo: http://127.0.0.1:%d/  (upstream Auth.js at %s)"
              % (PORT, upstream.origin))
        print("sign in as alice@example.com / alice-pw; config and logs in %s" % httpd.dir)
        print("Ctrl-C stops it.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while httpd.proc.poll() is None and upstream.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.stop()
        upstream.stop()
        shutil.rmtree(httpd.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
