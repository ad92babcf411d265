# SPDX-License-Identifier: Apache-2.0
"""Kept-alive connections: the module remembers what a connection's cookie
resolved to, and must never let that memory answer for another cookie, an
expired token, a signed-out session or a request that is still being logged."""
import shutil
import subprocess
import time

import pytest

from harness import UPSTREAM_SECRET, make_ca_and_cert, public_tempdir
from session_helpers import (COOKIE, SECURE_COOKIE, Connection, session_cookie, sign_out,
                             token_for, tokens_for)

LOG_EMAIL = 'LogFormat "%r %{AUTHJS_USER_EMAIL}n %{AUTHJS_SESSION_SOURCE}n" emails\n' \
            'CustomLog "@DIR@/logs/emails.log" emails\n'


@pytest.fixture(scope="module")
def local_app(module_httpd_factory, upstream):
    return module_httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        MaxKeepAliveRequests 0
    """ % (upstream.origin, UPSTREAM_SECRET) + LOG_EMAIL)


def test_each_request_gets_its_own_cookies_session(local_app):
    emails = ["user%d@example.com" % i for i in range(7)]
    tokens = dict(zip(emails, tokens_for(*emails)))
    c = Connection(local_app)
    # more distinct cookies than the connection remembers, in turns and again
    order = emails[:2] * 3 + emails + list(reversed(emails)) + emails[:1] * 5
    for email in order:
        assert c.email(tokens[email]) == email
        assert c.email() is None
    tampered = tokens[emails[0]][:-2] + ("AA" if not tokens[emails[0]].endswith("AA") else "BB")
    assert c.email(tampered) is None
    assert c.email(tokens[emails[0]]) == emails[0]
    assert c.requests == 2 * len(order) + 2
    c.close()


def test_remembered_token_still_expires(local_app):
    # past its exp by 13 s: within the 15 s clock-skew leeway that decoding
    # allows for 2 to 3 s more
    short = token_for("brief@example.com", maxAge=-13)
    c = Connection(local_app)
    assert c.email(short) == "brief@example.com"
    assert c.env(short)["AUTHJS_SESSION_SOURCE"] == "local"
    deadline = time.monotonic() + 12
    while c.email(short) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert c.email(short) is None
    c.close()


def test_same_cookie_in_two_virtual_hosts_on_one_connection(httpd_factory, upstream):
    other_secret = "another-secret-for-the-second-host-0123456789"
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName first.test
            AuthProxyUpstream %s
            AuthProxySecret %s
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName second.test
            AuthProxyUpstream %s
            AuthProxySecret %s
        </VirtualHost>
    """ % (upstream.origin, UPSTREAM_SECRET, upstream.origin, UPSTREAM_SECRET, upstream.origin,
           other_secret))
    token = token_for("alice@example.com")
    c = Connection(h)
    for host, want in [("first.test", "alice@example.com"), ("second.test", None),
                       ("first.test", "alice@example.com"), ("second.test", None)]:
        assert c.env(token, host).get("AUTHJS_USER_EMAIL") == want, host
    c.close()


def test_pipelined_requests_are_logged_with_their_own_sessions(local_app):
    emails = ["pipe%d@example.com" % i for i in range(8)]
    tokens = tokens_for(*emails)
    wire = b"".join(b"GET /index.html?%d HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s=%s\r\n\r\n"
                    % (i, COOKIE.encode(), t.encode()) for i, t in enumerate(tokens))
    wire += b"GET /index.html?last HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = local_app.raw(wire)
    assert answer.count(b"HTTP/1.1 200 OK") == len(tokens) + 1
    lines = local_app.wait_for_log("emails", lambda text: "?last" in text).splitlines()
    for i, email in enumerate(emails):
        assert "GET /index.html?%d HTTP/1.1 %s local" % (i, email) in lines, lines
    assert "GET /index.html?last HTTP/1.1 - -" in lines


def test_cached_session_signed_out_on_the_same_connection(httpd_factory, upstream_db):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionStrategy database
        AuthProxySessionCacheTTL 600
    """ % upstream_db.origin)
    token = upstream_db.db_session("alice@example.com")["sessionToken"]
    c = Connection(h)
    assert c.env(token)["AUTHJS_SESSION_SOURCE"] == "upstream"
    for _ in range(5):
        env = c.env(token)
        assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
        assert env["AUTHJS_SESSION_SOURCE"] == "cache"
    sign_out(h, token)
    assert c.email(token) is None
    c.close()


def test_cached_sessions_of_many_cookies_on_one_connection(httpd_factory, upstream_db):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionStrategy database
    """ % upstream_db.origin)
    users = ["alice@example.com", "bob@example.org"] * 3
    tokens = [upstream_db.db_session(e)["sessionToken"] for e in users]
    c = Connection(h)
    for _ in range(3):
        for email, token in zip(users, tokens):
            env = c.env(token)
            assert env["AUTHJS_USER_EMAIL"] == email
            assert env["AUTHJS_SESSION"] and email in env["AUTHJS_SESSION"]
    c.close()


def test_remembered_cache_entry_still_ends_with_the_ttl(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionCacheTTL 1
    """ % upstream.origin)
    token = token_for("alice@example.com")
    c = Connection(h)
    before = upstream.session_calls()
    sources = set()
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        env = c.env(token)
        assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
        sources.add(env["AUTHJS_SESSION_SOURCE"])
        time.sleep(0.05)
    # the entry lives 1 s; the connection looks at the cache again within 1 s
    assert upstream.session_calls() - before >= 2
    assert sources == {"upstream", "cache"}
    c.close()


def test_http2_streams_of_one_connection_keep_their_own_sessions(httpd_factory, upstream):
    """HTTP/2 over TLS, as browsers speak it: the streams of one connection
    run side by side, each on a secondary connection of its own."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    work = public_tempdir("authproxy-h2-")
    try:
        ca, cert, key = make_ca_and_cert(work)
        h = httpd_factory("""
            LoadModule ssl_module @MODULES@/mod_ssl.so
            LoadModule http2_module @MODULES@/mod_http2.so
            SSLEngine on
            SSLCertificateFile %s
            SSLCertificateKeyFile %s
            Protocols h2 http/1.1
            AuthProxyUpstream %s
            AuthProxySecret %s
        """ % (cert, key, upstream.origin, UPSTREAM_SECRET))
        emails = ["h2-%d@example.com" % i for i in range(6)]
        # an https origin: Auth.js names its cookie __Secure-
        tokens = tokens_for(*emails, cookie=SECURE_COOKIE)
        order = [i % len(emails) for i in range(18)]
        cmd = ["curl", "-sS", "--parallel", "--parallel-max", "6"]
        for n, i in enumerate(order):
            if n:
                cmd.append("--next")
            cmd += ["--http2", "--cacert", ca, "--resolve", "localhost:%d:127.0.0.1" % h.port,
                    "-H", "Cookie: " + session_cookie(tokens[i], SECURE_COOKIE),
                    "-o", "%s/%d.env" % (work, n),
                    "-w", "%{http_code} %{http_version} %{num_connects}\\n",
                    "https://localhost:%d/cgi-bin/env.cgi" % h.port]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
        answers = []
        for n in range(len(order)):
            with open("%s/%d.env" % (work, n)) as f:
                answers.append(f.read())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    statuses = out.split()
    assert statuses[0::3] == ["200"] * len(order) and statuses[1::3] == ["2"] * len(order)
    # a few connections, many streams on each
    assert sum(int(c) for c in statuses[2::3]) < len(order)
    for n, answer in enumerate(answers):
        assert "AUTHJS_USER_EMAIL=%s\n" % emails[order[n]] in answer, answer
        assert "HTTP2=on\n" in answer
