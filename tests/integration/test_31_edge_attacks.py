# SPDX-License-Identifier: Apache-2.0
"""The attacker's pass on issue 23's edges (readiness, traces, CORS
preflights, weak secrets, the module's own handlers): what broke (and is
fixed) and what was tried and held, pinned."""
import json
import os
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from harness import UPSTREAM_SECRET, header
from session_helpers import alice_token, parse_env, session_cookie, token_for
from test_01_config import configtest
from test_15_metrics import parse
from test_27_health import HEALTH, ONE_CHILD, conf as health_conf
from test_28_edge import (APP, INCOMING, TRACE_ID, TRACEPARENT, app, logged, preflight_headers,
                          trace_conf, traced_upstream, upstream_traces)  # noqa: F401 (fixture)

REWRITE = "LoadModule rewrite_module @MODULES@/mod_rewrite.so\n"
# a CGI at a public place whose answer is a local Location: mod_cgid makes
# it an internal redirect, as a GET whatever the method was
MOVED_CGI = """#!/bin/sh
printf 'Location: /app/moved?location=/leaked\\n\\n'
"""


# ---- CORS preflights -----------------------------------------------------------

def app_with(httpd_factory, upstream, extra):
    """test_28's application (the upstream's echo route under AuthType authjs
    at /app/), with server-wide `extra`."""
    return httpd_factory(APP % (upstream.origin, upstream.origin, "Require valid-user") + extra)


@pytest.mark.parametrize("how", ["errordocument", "cgi-location"])
def test_a_preflights_internal_redirect_is_no_preflight(httpd_factory, upstream, how):
    """Held: an OPTIONS made a GET by an internal redirect (an ErrorDocument,
    a CGI's local Location) does not run the protected application without
    a session (httpd makes the original request a GET too): it is judged as
    any GET."""
    h = app_with(httpd_factory, upstream, """
        Redirect gone /gone
        ErrorDocument 410 /app/gone?location=/leaked
    """)
    h.write("cgi-bin/moved.cgi", MOVED_CGI, mode=0o755)
    path = "/gone" if how == "errordocument" else "/cgi-bin/moved.cgi"
    status, headers, _ = h.request("OPTIONS", path, headers=preflight_headers())
    assert header(headers, "Location") != "/leaked", (status, headers)
    # the application itself still answers a preflight
    status, headers, _ = h.request("OPTIONS", "/app/x?location=/from-app",
                                   headers=preflight_headers())
    assert status == 200 and header(headers, "Location") == "/from-app"


@pytest.mark.parametrize("extra", [
    {"X-HTTP-Method-Override": "DELETE"},
    {"X-HTTP-Method": "DELETE"},
    {"X-Method-Override": "DELETE"},
    {"Authorization": "Bearer forged"},
    {"Access-Control-Request-Method": ""},
    {"Access-Control-Request-Method": "PUT, DELETE"},
], ids=["x-http-method-override", "x-http-method", "x-method-override", "authorization",
        "empty-method", "two-methods"])
def test_what_no_browser_sends_on_a_preflight_is_no_preflight(httpd_factory, upstream, extra):
    """A method override header (an application that takes it whatever the
    method would run the OPTIONS as a DELETE without a session), a token a
    backend may take for one the module verified, or no method asked for."""
    h = app(httpd_factory, upstream)
    status, _, _ = h.request("OPTIONS", "/app/items", headers=preflight_headers(**extra))
    assert status == 401


def test_a_preflight_has_no_body(httpd_factory, upstream):
    h = app(httpd_factory, upstream)
    status, _, _ = h.request("OPTIONS", "/app/items", body=b'{"delete": 1}',
                             headers=preflight_headers())
    assert status == 401
    answer = h.raw(("OPTIONS /app/items HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                    "Origin: https://spa.example\r\nAccess-Control-Request-Method: PUT\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    "2\r\n{}\r\n0\r\n\r\n" % h.port).encode())
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    # an empty body is no body
    status, _, _ = h.request("OPTIONS", "/app/items", body=b"", headers=preflight_headers())
    assert status == 200


def test_a_cgis_page_is_dropped_from_a_preflights_answer(httpd_factory, upstream):
    """Held: a script that prints its page whatever the method (the CGI's
    environment here) shows nothing; HEAD is no preflight."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        <Location /cgi-bin/>
            AuthType authjs
            Require valid-user
        </Location>
    """ % upstream.origin)
    status, headers, body = h.request("OPTIONS", "/cgi-bin/env.cgi",
                                      headers=preflight_headers())
    assert status == 200 and body == b""
    status, _, _ = h.request("HEAD", "/cgi-bin/env.cgi", headers=preflight_headers())
    assert status == 401


def test_php_fpms_page_is_dropped_from_a_preflights_answer(httpd_factory, upstream, php_fpm):
    """Held: PHP writes its page whatever the method; through proxy_fcgi the
    preflight gets the script's status and headers, no page."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        <FilesMatch "\\.php$">
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
        <Location /api/>
            AuthType authjs
            Require valid-user
        </Location>
    """ % (upstream.origin, php_fpm.port))
    os.mkdir(os.path.join(h.dir, "htdocs", "api"))
    h.write("htdocs/api/items.php", "<?php header('X-Method: ' . $_SERVER['REQUEST_METHOD']);\n"
            "header('Access-Control-Allow-Origin: https://spa.example');\n"
            "echo str_repeat('secret page ', 1000);\n")
    status, headers, body = h.request("OPTIONS", "/api/items.php", headers=preflight_headers())
    assert status == 200 and body == b"", body[:100]
    assert header(headers, "X-Method") == "OPTIONS"
    assert header(headers, "Access-Control-Allow-Origin") == "https://spa.example"
    status, _, _ = h.request("GET", "/api/items.php")
    assert status == 401


# what a backend got of the client's identity headers, shown in its answer's
# headers (a preflight's body is dropped)
SEEN_CGI = """#!/bin/sh
printf 'X-Got-Email: %s\\nX-Got-User: %s\\nContent-Type: text/plain\\n\\n' \\
    "${HTTP_X_AUTHJS_USER_EMAIL:-none}" "${REMOTE_USER:-none}"
"""


def test_a_preflight_carries_no_identity_of_the_clients(httpd_factory, upstream):
    """Held: X-Authjs-* a client sends never reach the application on a
    preflight, nor does a cookie make a user."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxyPassHeaders On
        <Location /cgi-bin/>
            AuthType authjs
            Require authjs-claim email alice@example.com
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    h.write("cgi-bin/seen.cgi", SEEN_CGI, mode=0o755)
    status, headers, body = h.request("OPTIONS", "/cgi-bin/seen.cgi", headers=preflight_headers(**{
        "X-Authjs-User-Email": "alice@example.com",
        "Cookie": session_cookie(token_for("alice@example.com"))}))
    assert status == 200 and body == b""
    assert header(headers, "X-Got-Email") == "none"
    assert header(headers, "X-Got-User") == "none"


# ---- traces --------------------------------------------------------------------

@pytest.mark.parametrize("how", ["errordocument", "htaccess-rewrite"])
def test_the_trace_reaches_an_internal_redirects_target(httpd_factory, traced_upstream, how):
    """AUTHPROXY_TRACEPARENT was set on the request's first pass only: an
    ErrorDocument's or a front controller's (.htaccess RewriteRule) script
    got REDIRECT_AUTHPROXY_TRACEPARENT, and the access log, which reads the
    last pass, nothing."""
    h = httpd_factory(REWRITE + trace_conf(traced_upstream, "propagate", """
        AuthProxySessionCache none
        Redirect gone /gone
        ErrorDocument 410 /cgi-bin/env.cgi
        <Directory "@DIR@/htdocs">
            AllowOverride FileInfo
        </Directory>
    """))
    h.write("htdocs/.htaccess", "RewriteEngine On\nRewriteRule ^front$ /cgi-bin/env.cgi [L]\n")
    before = len(upstream_traces(traced_upstream))
    _, _, body = h.request("GET", "/gone" if how == "errordocument" else "/front", headers={
        "Cookie": session_cookie(alice_token()), "traceparent": INCOMING})
    env = parse_env(body)
    assert env.get("AUTHJS_USER_EMAIL") == "alice@example.com", body
    sent, = upstream_traces(traced_upstream)[before:]
    assert TRACEPARENT.match(sent).group(1) == TRACE_ID
    assert env.get("AUTHPROXY_TRACEPARENT") == sent
    assert logged(h, 1) == [sent]


def test_the_clients_tracestate_is_not_sent(httpd_factory, traced_upstream):
    """Held: only the module's own traceparent goes, never the client's
    tracestate (nor a CR/LF or a second value smuggled in the header)."""
    h = httpd_factory(trace_conf(traced_upstream, "propagate", "AuthProxySessionCache none"))
    status, _, body = h.request("GET", "/cgi-bin/env.cgi", headers={
        "Cookie": session_cookie(alice_token()), "traceparent": INCOMING,
        "tracestate": "evil=1,congo=t61rcWkgMzE"})
    assert status == 200, body
    seen = traced_upstream.get_json("/__stats")["last_session_headers"]
    assert "tracestate" not in seen
    assert TRACEPARENT.match(seen["traceparent"]).group(1) == TRACE_ID


# ---- the module's handlers -------------------------------------------------------

def test_metrics_guarded_by_a_claim_still_work(httpd_factory, upstream):
    """Held: every authproxy-* handler resolves no session of its own, but
    AuthType authjs still resolves the one Require judges."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /metrics>
            SetHandler authproxy-metrics
            AuthType authjs
            Require authjs-claim email alice@example.com
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    status, _, body = h.request("GET", "/metrics", headers={
        "Cookie": session_cookie(token_for("alice@example.com"))})
    assert status == 200 and parse(body.decode()), body
    status, _, _ = h.request("GET", "/metrics", headers={
        "Cookie": session_cookie(token_for("bob@example.com"))})
    assert status == 403
    status, _, _ = h.request("GET", "/metrics")
    assert status == 401


def test_health_head_and_htaccess(httpd_factory, upstream):
    """Held: HEAD has the status and no body; a .htaccess may set the
    handler (FileInfo) and gets the same probe of its server."""
    h = httpd_factory(health_conf(upstream, extra="""
        <Directory "@DIR@/htdocs">
            AllowOverride FileInfo
        </Directory>
    """))
    os.mkdir(os.path.join(h.dir, "htdocs", "probe"))
    h.write("htdocs/probe/.htaccess", "SetHandler authproxy-health\n")
    status, headers, body = h.request("HEAD", "/health")
    assert status == 200 and body == b""
    assert header(headers, "Cache-Control") == "no-store"
    status, _, body = h.request("GET", "/probe/anything")
    assert status == 200 and json.loads(body)["upstream"] == "ok"


def test_health_answers_name_no_address(httpd_factory):
    """Held: an upstream that refuses is down for a reason that names
    neither its address nor its port."""
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:9\n" + HEALTH)
    h.expect_log("AUTHPROXY092", "upstream")
    status, _, body = h.request("GET", "/health")
    assert status == 503
    assert b"127.0.0.1" not in body and b":9" not in body, body


def test_a_hung_cache_holds_one_request_per_child(httpd_factory, upstream):
    """A memcached that takes connections and never answers (a listener that
    accepts none): apr_memcache reads without a timeout, so the request
    whose probe went to it waits as long as the cache does; every other one
    answers 503 within AuthProxyTimeout, and at once after that; once the
    cache drops the connection the probe ends."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    h = httpd_factory(health_conf(upstream, cache=SimpleNamespace(port=silent.getsockname()[1]),
                                  extra="AuthProxyTimeout 2\n" + ONE_CHILD))
    h.expect_log("AUTHPROXY092", "cache")
    h.expect_log("AUTHPROXY044")
    h.expect_other_log("[socache_memcache:crit]", "AH00790")
    held = []

    def prober():
        try:
            held.append(h.request("GET", "/health", timeout=6)[0])
        except OSError:
            held.append(None)

    first = threading.Thread(target=prober)
    first.start()
    time.sleep(0.5)
    start = time.monotonic()
    status, _, body = h.request("GET", "/health")
    assert status == 503 and time.monotonic() - start < 2 + 1, body
    assert "no result yet" in json.loads(body)["reasons"]["cache"]
    start = time.monotonic()
    assert h.request("GET", "/health")[0] == 503 and time.monotonic() - start < 1
    first.join(10)
    assert held == [None], held
    # the cache goes: the probe under way ends, and the next ones say why
    silent.close()
    deadline = time.monotonic() + 10
    while True:
        status, _, body = h.request("GET", "/health")
        reason = json.loads(body)["reasons"].get("cache", "")
        if "no result yet" not in reason or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 503 and "no result yet" not in reason, body


# ---- weak secrets --------------------------------------------------------------

WEAK = "AUTHPROXY069"


@pytest.mark.parametrize("text, weak", [
    ("a" * 31 + "\r\n", True),
    ("a" * 32 + "\r\n", False),
    ("a" * 31 + " \n\n", True),
])
def test_a_files_line_end_is_not_counted(tmp_path, text, weak):
    path = tmp_path / "secret"
    path.write_bytes(text.encode())
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\n"
                         "AuthProxySecret %s file:%s\n" % (UPSTREAM_SECRET, path))
    assert rc == 0, out
    assert (WEAK in out) == weak, out
    assert "a" * 31 not in out


MISSHAPEN = "AUTHPROXY074"


@pytest.mark.parametrize("text, why", [
    ("AUTH_URL=https://app.example\nAUTH_SECRET=%s\n" % UPSTREAM_SECRET, "spans several lines"),
    ("AUTH_SECRET=%s\n" % UPSTREAM_SECRET, "is a NAME=value assignment"),
    ('"%s"\n' % UPSTREAM_SECRET, "is in quotes"),
])
def test_an_env_file_as_the_secret_is_warned_of(tmp_path, text, why):
    """A confused operator names the app's .env: the file's whole text was
    the secret, silently; no token would decode."""
    path = tmp_path / ".env"
    path.write_text(text)
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\nAuthProxySecret file:%s\n"
                         % path)
    assert rc == 0, out
    line, = [l for l in out.splitlines() if MISSHAPEN in l]
    assert "the secret in file:%s %s" % (path, why) in line
    assert UPSTREAM_SECRET not in out and WEAK not in out
    # the value alone is no warning
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\nAuthProxySecret %s\n"
                         % UPSTREAM_SECRET)
    assert rc == 0 and MISSHAPEN not in out, out
