#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Starts the demo: the Auth.js upstream and Apache httpd with mod_authproxy on
a loopback port, serving a CGI page that shows the session. Ctrl-C stops both.
The banner comes only once the Auth.js routes answer through httpd; otherwise
it says why and where the logs are, and exits non-zero."""
import http.client
import os
import shutil
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import UPSTREAM_SECRET, Httpd, Upstream  # noqa: E402

PORT = int(os.environ.get("DEMO_PORT", "8080"))


def providers_through_httpd():
    """(status, body) of /api/auth/providers as a browser would get it."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
    try:
        conn.request("GET", "/api/auth/providers")
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)
    finally:
        conn.close()


def main():
    logs = tempfile.mkdtemp(prefix="authproxy-demo-")
    upstream_log = os.path.join(logs, "upstream.log")
    upstream = Upstream("core", "/api/auth", log_path=upstream_log).start()
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
    keep = False
    try:
        httpd.start()
        status, body = providers_through_httpd()
        if status != 200:
            keep = True
            print("demo: /api/auth/providers through httpd answered %s, not 200:\n%s\n"
                  "demo: the upstream's log: %s\ndemo: httpd's error log: %s"
                  % (status or "nothing", body[:2000], upstream_log,
                     os.path.join(httpd.dir, "logs", "error.log")), file=sys.stderr)
            return 1
        print("mod_authproxy demo: http://127.0.0.1:%d/  (upstream Auth.js at %s)"
              % (PORT, upstream.origin))
        print("sign in as alice@example.com / alice-pw; config and logs in %s and %s"
              % (httpd.dir, logs))
        print("Ctrl-C stops it.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while httpd.proc.poll() is None and upstream.proc.poll() is None:
            time.sleep(0.5)
        keep = True
        print("demo: %s stopped on its own; logs kept in %s and %s"
              % ("httpd" if httpd.proc.poll() is not None else "the upstream", httpd.dir, logs),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        httpd.stop()
        upstream.stop()
        if not keep:
            shutil.rmtree(httpd.dir, ignore_errors=True)
            shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
