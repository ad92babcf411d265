# SPDX-License-Identifier: Apache-2.0
"""Small things at the edges (issue 23, sections 3 and 4): the W3C traceparent
of the module's calls to the upstream (AuthProxyTraceParent), CORS preflights
under AuthType authjs (AuthProxyPreflight), and the startup warning for a weak
AuthProxySecret."""
import re

import pytest

from harness import UPSTREAM_SECRET, Upstream, header, mint
from session_helpers import ALICE, COOKIE, alice_token, env_of, parse_env, session_cookie
from test_01_config import configtest
from test_14_refresh import conf as refresh_conf, token as aged_token

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
INCOMING = "00-%s-%s-01" % (TRACE_ID, PARENT_ID)
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$")
# the access log line of each request: its traceparent, as an operator logs it
TRACE_LOG = """
    LogFormat "%{AUTHPROXY_TRACEPARENT}e" trace
    CustomLog "@DIR@/logs/trace.log" trace
"""


@pytest.fixture(scope="module")
def traced_upstream():
    """An upstream of this module's own: its list of the traceparents that
    came with /session is this module's to read."""
    up = Upstream().start()
    yield up
    up.stop()


def logged(h, count):
    """trace.log's lines once the first `count` requests wrote theirs (a
    request's line comes after its answer)."""
    return h.wait_for_log("trace", lambda text: len(text.splitlines()) >= count).splitlines()


def upstream_traces(up):
    return up.get_json("/__stats")["session_traceparents"]


def trace_conf(up, mode, extra=""):
    """The upstream resolves every cookie (no secret), and no cache keeps its
    answers unless `extra` says so."""
    return """
        AuthProxyUpstream %s
        AuthProxyTraceParent %s
        %s
    """ % (up.origin, mode, extra) + TRACE_LOG


def env_traced(h, token, traceparent=None):
    headers = {"Cookie": session_cookie(token)}
    if traceparent is not None:
        headers["traceparent"] = traceparent
    status, _, body = h.request("GET", "/cgi-bin/env.cgi", headers=headers)
    assert status == 200, body
    return parse_env(body)


def one_call(up, h, token, traceparent=None):
    """What the request sent to the upstream's /session (None: no
    traceparent) and what the application saw as AUTHPROXY_TRACEPARENT."""
    before = len(upstream_traces(up))
    env = env_traced(h, token, traceparent)
    traces = upstream_traces(up)
    assert len(traces) == before + 1, "not one /session call"
    assert env.get("AUTHJS_USER_EMAIL") == "alice@example.com"
    return traces[-1], env.get("AUTHPROXY_TRACEPARENT")


@pytest.mark.parametrize("mode", ["propagate", "generate"])
def test_the_fetch_carries_the_requests_trace_in_a_span_of_its_own(httpd_factory,
                                                                  traced_upstream, mode):
    h = httpd_factory(trace_conf(traced_upstream, mode, "AuthProxySessionCache none"))
    sent, seen = one_call(traced_upstream, h, alice_token(), INCOMING)
    trace_id, span, flags = TRACEPARENT.match(sent).groups()
    assert trace_id == TRACE_ID and flags == "01"
    # a new span: the module is a participant, not a pipe
    assert span != PARENT_ID
    assert seen == sent
    assert logged(h, 1)[0] == sent
    # the sampled flag as it came, other flags dropped
    sent, _ = one_call(traced_upstream, h, alice_token(), "00-%s-%s-fe" % (TRACE_ID, PARENT_ID))
    assert sent.startswith("00-" + TRACE_ID) and sent.endswith("-00")


# what a client may send that is no version 00 traceparent, or one of two headers
INVALID = [
    "00-%s-%s-01" % (TRACE_ID.upper(), PARENT_ID),
    "00-%s-%s-01" % ("0" * 32, PARENT_ID),
    "00-%s-%s-01" % (TRACE_ID, "0" * 16),
    "ff-%s-%s-01" % (TRACE_ID, PARENT_ID),
    "00-%s-%s-01-extra" % (TRACE_ID, PARENT_ID),
    INCOMING + ", " + INCOMING,
    "00-%s-%s-01\tx" % (TRACE_ID, PARENT_ID),
    INCOMING + "0" * 8000,
    "",
]


@pytest.mark.parametrize("incoming", INVALID, ids=range(len(INVALID)))
def test_an_invalid_traceparent_is_not_taken(httpd_factory, traced_upstream, incoming):
    """propagate sends nothing, generate a trace of its own; neither sends any
    of the client's bytes."""
    token = alice_token()
    propagate = httpd_factory(trace_conf(traced_upstream, "propagate",
                                         "AuthProxySessionCache none"))
    assert one_call(traced_upstream, propagate, token, incoming) == (None, None)
    assert logged(propagate, 1) == ["-"]
    generate = httpd_factory(trace_conf(traced_upstream, "generate",
                                        "AuthProxySessionCache none"))
    sent, seen = one_call(traced_upstream, generate, token, incoming)
    assert seen == sent and TRACE_ID not in sent
    trace_id, _, flags = TRACEPARENT.match(sent).groups()
    assert trace_id != "0" * 32 and flags == "01"


def test_a_later_version_is_read_as_00(httpd_factory, traced_upstream):
    h = httpd_factory(trace_conf(traced_upstream, "propagate", "AuthProxySessionCache none"))
    sent, _ = one_call(traced_upstream, h, alice_token(),
                       "cc-%s-%s-01-what-comes-later" % (TRACE_ID, PARENT_ID))
    assert TRACEPARENT.match(sent).group(1) == TRACE_ID
    assert "later" not in sent


def test_generate_starts_a_trace_per_request(httpd_factory, traced_upstream):
    h = httpd_factory(trace_conf(traced_upstream, "generate", "AuthProxySessionCache none"))
    token = alice_token()
    first, _ = one_call(traced_upstream, h, token)
    second, _ = one_call(traced_upstream, h, token)
    assert TRACEPARENT.match(first) and TRACEPARENT.match(second)
    assert first.split("-")[1] != second.split("-")[1]
    assert logged(h, 2) == [first, second]


def test_off_sends_no_traceparent(httpd_factory, traced_upstream):
    """The default: the client's header stays the client's."""
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySessionCache none\n"
                      % traced_upstream.origin + TRACE_LOG)
    assert one_call(traced_upstream, h, alice_token(), INCOMING) == (None, None)


def test_the_cache_key_holds_no_trace(httpd_factory, traced_upstream):
    """Another trace is the same cookie: the cached answer, and no call (nor
    a traceparent in the log) for the request that made none."""
    h = httpd_factory(trace_conf(traced_upstream, "generate"))
    token = alice_token()
    sent, _ = one_call(traced_upstream, h, token, INCOMING)
    before = len(upstream_traces(traced_upstream))
    env = env_traced(h, token, "00-%s-%s-01" % ("1" * 32, PARENT_ID))
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert len(upstream_traces(traced_upstream)) == before
    assert "AUTHPROXY_TRACEPARENT" not in env
    assert logged(h, 2) == [sent, "-"]


def test_local_decoding_makes_no_call_and_no_trace(httpd_factory, traced_upstream):
    h = httpd_factory(trace_conf(traced_upstream, "generate",
                                 "AuthProxySecret " + UPSTREAM_SECRET))
    before = len(upstream_traces(traced_upstream))
    env = env_traced(h, alice_token(), INCOMING)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert "AUTHPROXY_TRACEPARENT" not in env
    assert len(upstream_traces(traced_upstream)) == before


def test_the_refresh_carries_the_trace(httpd_factory, traced_upstream):
    h = httpd_factory(refresh_conf(traced_upstream.origin, 60, "AuthProxyTraceParent propagate")
                      + TRACE_LOG)
    before = len(upstream_traces(traced_upstream))
    status, headers, body = h.request("GET", "/cgi-bin/env.cgi", headers={
        "Cookie": session_cookie(aged_token(age=120)), "traceparent": INCOMING})
    assert status == 200, body
    assert COOKIE in (header(headers, "Set-Cookie") or ""), "no refresh"
    traces = upstream_traces(traced_upstream)[before:]
    assert len(traces) == 1
    assert TRACEPARENT.match(traces[0]).group(1) == TRACE_ID
    assert logged(h, 1) == [traces[0]]


@pytest.mark.parametrize("line, message", [
    ("AuthProxyHeader TraceParent 00-%s-%s-01\nAuthProxyTraceParent propagate"
     % (TRACE_ID, PARENT_ID), "AUTHPROXY072: AuthProxyTraceParent and AuthProxyHeader "
     "traceparent (127.0.0.1:"),
    ("AuthProxyTraceParent on", "AuthProxyTraceParent: 'on' is not off, propagate or generate"),
    ("AuthProxyTraceParent", "AuthProxyTraceParent takes one argument"),
    ("<Location />\nAuthProxyTraceParent generate\n</Location>",
     "AuthProxyTraceParent not allowed in <Location> context"),
    ("AuthProxyPreflight skip", "AuthProxyPreflight: 'skip' is neither pass nor auth"),
])
def test_directive_refusals(line, message):
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\n" + line + "\n")
    assert rc != 0 and message in out, out


# ---- CORS preflights ---------------------------------------------------------

# The application: the upstream's echo route behind mod_proxy, answering any
# method; what the module published shows in response headers.
APP = """
    AuthProxyUpstream %s
    ProxyPass /app/ %s/api/auth/__echo/
    Header always set X-Seen-Email "%%{AUTHJS_USER_EMAIL}e"
    <Location /app/>
        AuthType authjs
        %s
    </Location>
"""


def preflight_headers(**extra):
    return {"Origin": "https://spa.example", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type", **extra}


def app(httpd_factory, upstream, require="Require valid-user", extra=""):
    return httpd_factory(APP % (upstream.origin, upstream.origin, require + "\n" + extra))


@pytest.mark.parametrize("require", [
    "Require valid-user",
    "Require authjs-session",
    "Require authjs-claim email ~ @example\\.com$",
    "<RequireAll>\nRequire authjs-session\nRequire ip 127.0.0.1\n</RequireAll>",
])
def test_a_preflight_reaches_the_application(httpd_factory, upstream, require):
    h = app(httpd_factory, upstream, require)
    status, headers, body = h.request("OPTIONS", "/app/items?status=204&location=/from-app",
                                      headers=preflight_headers())
    # the application's own answer: its status, its headers
    assert status == 204, body
    assert header(headers, "Location") == "/from-app"
    assert header(headers, "X-Seen-Email") == "(null)"


def test_a_preflight_answer_carries_no_body(httpd_factory, upstream):
    """The application may write its page whatever the method (a PHP script
    does): the preflight, anyone's to send, gets the status and headers only."""
    h = app(httpd_factory, upstream)
    status, headers, body = h.request("OPTIONS", "/app/items?location=/from-app",
                                      headers=preflight_headers())
    assert status == 200
    assert header(headers, "Location") == "/from-app"
    assert body == b""
    assert header(headers, "Content-Length") in (None, "0")
    # the connection is still good for the next request
    status, _, _ = h.request("OPTIONS", "/app/items?status=204", headers=preflight_headers())
    assert status == 204


def test_a_preflight_with_a_cookie_publishes_nothing(httpd_factory, upstream):
    """Not resolved at all: no /session call either (no secret here)."""
    h = app(httpd_factory, upstream, "Require valid-user", "AuthProxyPassHeaders On")
    token = alice_token()
    before = upstream.session_calls()
    status, headers, body = h.request("OPTIONS", "/app/items", headers=preflight_headers(
        Cookie=session_cookie(token)))
    assert status == 200, body
    assert header(headers, "X-Seen-Email") == "(null)"
    assert upstream.session_calls() == before
    # the same cookie on a GET is the session, as before
    status, headers, _ = h.request("GET", "/app/items",
                                   headers={"Cookie": session_cookie(token)})
    assert status == 200
    assert header(headers, "X-Seen-Email") == "alice@example.com"


@pytest.mark.parametrize("method, headers", [
    ("OPTIONS", {}),
    ("OPTIONS", {"Origin": "https://spa.example"}),
    ("OPTIONS", {"Access-Control-Request-Method": "PUT"}),
    ("PUT", preflight_headers()),
    ("GET", preflight_headers()),
], ids=["bare", "no-request-method", "no-origin", "put", "get"])
def test_anything_short_of_a_preflight_is_refused(httpd_factory, upstream, method, headers):
    h = app(httpd_factory, upstream)
    status, _, _ = h.request(method, "/app/items", body=b"{}" if method == "PUT" else None,
                             headers=headers)
    assert status == 401


def test_preflight_auth_keeps_the_old_answer(httpd_factory, upstream):
    h = app(httpd_factory, upstream, "Require valid-user", "AuthProxyPreflight auth")
    status, _, _ = h.request("OPTIONS", "/app/items", headers=preflight_headers())
    assert status == 401


def test_other_providers_still_judge_a_preflight(httpd_factory, upstream):
    h = app(httpd_factory, upstream,
            "<RequireAll>\nRequire authjs-session\nRequire ip 192.0.2.1\n</RequireAll>")
    status, _, _ = h.request("OPTIONS", "/app/items", headers=preflight_headers())
    assert status in (401, 403)


# ---- weak secrets --------------------------------------------------------------

WEAK = "AUTHPROXY069"


@pytest.mark.parametrize("secret, why", [
    ("short-but-not-empty", "is too short"),
    ("secret", "is a published example or placeholder"),
    ("super-secret-jwt-token-with-at-least-32-characters-long",
     "is a published example or placeholder"),
    ("\"openssl rand -base64 32\"", "is a published example or placeholder"),
])
def test_a_weak_secret_is_warned_of(secret, why):
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\nAuthProxySecret %s\n" % secret)
    assert rc == 0, out
    line, = [l for l in out.splitlines() if WEAK in l]
    assert "AuthProxySecret" in line and "the secret given " + why in line
    assert "httpd.conf:" in line
    # "secret" is a word of the message's own
    assert secret == "secret" or secret.strip('"') not in out


def test_a_weak_secret_in_a_file_is_warned_of(tmp_path):
    path = tmp_path / "secret"
    path.write_text("changeme\n")
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\nAuthProxySecret file:%s\n"
                         % path)
    assert rc == 0, out
    line, = [l for l in out.splitlines() if WEAK in l]
    assert "the secret in file:%s is a published" % path in line
    assert "changeme" not in out


def test_a_strong_secret_is_not(tmp_path):
    path = tmp_path / "secret"
    path.write_text(UPSTREAM_SECRET[::-1] + "\n")
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\n"
                         "AuthProxySecret %s file:%s\n" % (UPSTREAM_SECRET, path))
    assert rc == 0, out
    assert WEAK not in out
    # one weak secret of several is named by its place
    rc, out = configtest("AuthProxyUpstream http://127.0.0.1:9\n"
                         "AuthProxySecret %s too-short\n" % UPSTREAM_SECRET)
    assert rc == 0 and out.count(WEAK) == 1, out


# ---- the README's next-auth v4 upstream ------------------------------------------

V4_COOKIE = "next-auth.session-token"


def test_the_next_auth_v4_example_decodes_v4_tokens(httpd_factory, upstream, tmp_path):
    """The README's configuration: next-auth 4's own encode() made the token,
    its cookie name, the secret from a file."""
    secret = tmp_path / "nextauth.secret"
    secret.write_text(UPSTREAM_SECRET + "\n")
    secret.chmod(0o644)
    h = httpd_factory("""
        AuthProxyUpstream   %s
        AuthProxyCookieName %s
        AuthProxySecret     file:%s
    """ % (upstream.origin, V4_COOKIE, secret))
    v4, = mint({"flavor": "nextauth-v4", "secret": UPSTREAM_SECRET, "payload": ALICE})
    before = upstream.session_calls()
    env = env_of(h, session_cookie(v4, V4_COOKIE))
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env["AUTHJS_SESSION_SOURCE"] == "local"
    assert upstream.session_calls() == before
    # under Auth.js's name it is no session
    assert "AUTHJS_USER_EMAIL" not in env_of(h, session_cookie(v4, COOKIE))
