# SPDX-License-Identifier: Apache-2.0
"""Restarts and the other MPMs: what a running site goes through."""
import signal

import pytest

from harness import UPSTREAM_SECRET
from session_helpers import alice_token, session_cookie, signed_in


@pytest.mark.parametrize("signum", [signal.SIGUSR1, signal.SIGHUP], ids=["graceful", "restart"])
def test_restarts_keep_routes_session_and_cache(httpd_factory, upstream, signum):
    h = httpd_factory("""
        LogLevel notice authproxy:debug
        AuthProxyUpstream %s
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName local.test
            AuthProxyUpstream %s
            AuthProxySecret %s
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName cached.test
            AuthProxyUpstream %s
        </VirtualHost>
    """ % (upstream.origin, upstream.origin, UPSTREAM_SECRET, upstream.origin),
        loglevel="notice authproxy:debug")
    t = alice_token()
    for _ in range(2):
        assert h.request("GET", "/api/auth/providers", host="local.test")[0] == 200
        status, _, body = h.request("GET", "/cgi-bin/env.cgi", host="local.test",
                                    headers={"Cookie": session_cookie(t)})
        assert b"AUTHJS_SESSION_SOURCE=local" in body
        before = upstream.session_calls()
        for _ in range(3):
            status, _, body = h.request("GET", "/cgi-bin/env.cgi", host="cached.test",
                                        headers={"Cookie": session_cookie(t)})
            assert b"AUTHJS_USER_EMAIL=alice@example.com" in body
        assert upstream.session_calls() <= before + 1
        h.signal(signum)
    assert "[authproxy:error]" not in h.error_log()


@pytest.mark.parametrize("mpm", ["prefork", "worker"])
def test_other_mpms(httpd_factory, upstream, mpm):
    h = httpd_factory("""
        AuthProxyUpstream %s
        <Location /cgi-bin/env.cgi>
            AuthType authjs
            Require valid-user
        </Location>
    """ % upstream.origin, mpm=mpm)
    browser = signed_in(h, "bob@example.org", "bob-pw")
    status, _, body = browser.get("/cgi-bin/env.cgi")
    assert status == 200 and b"REMOTE_USER=bob@example.org" in body
    status, _, body = browser.get("/cgi-bin/env.cgi")
    assert b"AUTHJS_SESSION_SOURCE=cache" in body
    assert h.request("GET", "/cgi-bin/env.cgi", headers={"Accept": "text/html"})[0] == 302
