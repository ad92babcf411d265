# SPDX-License-Identifier: Apache-2.0
"""AuthProxySessionRefresh: an active user's session refreshed through the real
Auth.js upstream's /session, its new cookie passed to the browser."""
import concurrent.futures
import email.utils
import json
import time

import pytest

import faulty
from harness import UPSTREAM_SECRET, Upstream, free_port, header_all, mint
from session_helpers import ALICE, COOKIE, SECURE_COOKIE, parse_env, sign_out, token_request

# the refresh's one line where the upstream fails it: the /session fetch's
# (too large an answer, no answer, a 5xx)
REFRESH_FAILED = ("AUTHPROXY016", "AUTHPROXY017", "AUTHPROXY018")


def expect_refresh_failed(h):
    for tag in REFRESH_FAILED:
        h.expect_log(tag, "/session")


def conf(upstream_origin, refresh, extra=""):
    return """
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxySessionRefresh %s
        %s
    """ % (upstream_origin, UPSTREAM_SECRET, refresh, extra)


def token(age=0, max_age=3600, cookie=COOKIE, payload=ALICE):
    """A token of Alice issued `age` seconds ago."""
    clock = {"now": int(time.time()) - age} if age else {}
    return mint(token_request(payload, cookie=cookie, maxAge=max_age, **clock))[0]


def authjs_decode(value):
    return json.loads(mint({"op": "decode", "token": value, "secret": UPSTREAM_SECRET,
                            "salt": COOKIE})[0])


def visit(h, value, cookie=COOKIE):
    """The env page with the session cookie (a value, or the whole Cookie header):
    (its env, its session Set-Cookies)."""
    sent = value if "=" in value else "%s=%s" % (cookie, value)
    status, headers, body = h.request("GET", "/cgi-bin/env.cgi", headers={"Cookie": sent})
    assert status == 200, body
    return parse_env(body), [c for c in header_all(headers, "Set-Cookie") if c.startswith(cookie)]


def value_of(set_cookie):
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def expires_of(set_cookie):
    for attr in set_cookie.split(";")[1:]:
        name, _, value = attr.strip().partition("=")
        if name.lower() == "expires":
            return email.utils.parsedate_to_datetime(value).timestamp()
    return None


def iso_seconds(text):
    return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone


def test_an_old_token_is_refreshed_and_the_refreshed_cookie_is_a_session(httpd_factory, upstream):
    h = httpd_factory(conf(upstream.origin, 60))
    old = token(age=120)
    calls = upstream.session_calls()

    env, cookies = visit(h, old)
    assert upstream.session_calls() == calls + 1
    assert len(cookies) == 1 and "HttpOnly" in cookies[0]
    refreshed = value_of(cookies[0])
    assert refreshed != old
    claims = authjs_decode(refreshed)
    assert claims["email"] == "alice@example.com"
    assert abs(claims["iat"] - time.time()) < 30
    # the cookie lives as long as the upstream's refreshed session, which this page sees
    assert abs(expires_of(cookies[0]) - claims["exp"]) <= 1
    assert abs(iso_seconds(env["AUTHJS_EXPIRES"]) - claims["exp"]) <= 1
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env["AUTHJS_SESSION_SOURCE"] == "upstream"

    # the refreshed cookie is young; the old one was refreshed a moment ago
    for value in (refreshed, old):
        env, cookies = visit(h, value)
        assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies
    assert upstream.session_calls() == calls + 1


def test_a_chunked_token_is_refreshed_in_chunks(httpd_factory, upstream):
    h = httpd_factory(conf(upstream.origin, 60, "LimitRequestFieldSize 32768"))
    big = dict(ALICE, blob="b" * 6000)
    old = token(age=120, payload=big)
    half = len(old) // 2
    env, cookies = visit(h, "%s.0=%s; %s.1=%s" % (COOKIE, old[:half], COOKIE, old[half:]))
    chunks = sorted((c.split(";", 1)[0] for c in cookies),
                    key=lambda c: int(c.split("=", 1)[0].rsplit(".", 1)[1]))
    assert len(chunks) > 1
    assert [c.split("=", 1)[0] for c in chunks] == \
        ["%s.%d" % (COOKIE, i) for i in range(len(chunks))]
    refreshed = "".join(c.split("=", 1)[1] for c in chunks)
    assert authjs_decode(refreshed)["blob"] == big["blob"]
    assert env["AUTHJS_CLAIM_BLOB"] == big["blob"]
    env, cookies = visit(h, "; ".join(chunks))
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies


def test_an_https_origin_refreshes_the_secure_cookie(httpd_factory, upstream):
    secure = SECURE_COOKIE
    h = httpd_factory(conf(upstream.origin, 60, "AuthProxyPublicOrigin https://app.test"))
    env, cookies = visit(h, token(age=120, cookie=secure), cookie=secure)
    assert len(cookies) == 1 and "Secure" in cookies[0]
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    refreshed = value_of(cookies[0])
    assert json.loads(mint({"op": "decode", "token": refreshed, "secret": UPSTREAM_SECRET,
                            "salt": secure})[0])["email"] == "alice@example.com"


def test_a_young_token_is_not_refreshed(httpd_factory, upstream):
    h = httpd_factory(conf(upstream.origin, 60))
    calls = upstream.session_calls()
    env, cookies = visit(h, token(age=30))
    assert env["AUTHJS_SESSION_SOURCE"] == "local" and not cookies
    assert upstream.session_calls() == calls


def test_off_by_default_never_asks_the_upstream(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySecret %s\n"
                      % (upstream.origin, UPSTREAM_SECRET))
    calls = upstream.session_calls()
    env, cookies = visit(h, token(age=86400, max_age=90000))
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies
    assert upstream.session_calls() == calls


def test_upstream_down_keeps_the_session_and_sends_no_cookie(httpd_factory):
    h = httpd_factory(conf("http://127.0.0.1:%d" % free_port(), 60, "AuthProxyTimeout 2"))
    expect_refresh_failed(h)
    started = time.monotonic()
    env, cookies = visit(h, token(age=120))
    assert time.monotonic() - started < 5
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies
    errors = h.error_lines()
    assert len(errors) == 1 and errors == h.tagged("AUTHPROXY017", "/session"), errors


def test_a_silent_upstream_holds_the_page_no_longer_than_the_timeout(httpd_factory,
                                                                    silent_upstream):
    h = httpd_factory(conf(silent_upstream.origin, 60, "AuthProxyTimeout 1"))
    expect_refresh_failed(h)
    started = time.monotonic()
    env, cookies = visit(h, token(age=120))
    assert time.monotonic() - started < 4
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies


@pytest.fixture(scope="module")
def faulty_httpd(module_httpd_factory):
    """httpd refreshing through a faulty upstream: (httpd, upstream)."""
    upstream = faulty.FaultyUpstream("valid")
    try:
        yield module_httpd_factory(conf(upstream.origin, 60, "AuthProxyTimeout 1")), upstream
    finally:
        upstream.stop()


@pytest.mark.parametrize("mode", faulty.MODES)
def test_a_broken_upstream_never_costs_the_session(faulty_httpd, mode):
    """Whatever the upstream does to the refresh, the page comes within
    AuthProxyTimeout plus a margin, with the session it had and no cookie."""
    h, upstream = faulty_httpd
    upstream.switch(mode)
    expect_refresh_failed(h)
    started = time.monotonic()
    env, cookies = visit(h, token(age=120))
    assert time.monotonic() - started < 1 + 3
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies, env
    # the refresh asked this mode (nothing the httpd kept of another stopped it)
    assert upstream.connections


def test_a_cookie_signed_out_here_is_never_refreshed(httpd_factory, upstream):
    h = httpd_factory(conf(upstream.origin, 60))
    old = token(age=120)
    sign_out(h, old)
    calls = upstream.session_calls()
    env, cookies = visit(h, old)
    assert not cookies
    assert upstream.session_calls() == calls


@pytest.fixture(scope="module")
def slow_upstream():
    """Each /session answer takes half a second: refreshes overlap."""
    up = Upstream("core", "/api/auth", ["--session-delay", "500"]).start()
    yield up
    up.stop()


def test_concurrent_requests_with_one_old_cookie_refresh_it_once(httpd_factory, slow_upstream):
    h = httpd_factory(conf(slow_upstream.origin, 60, "StartServers 1\nServerLimit 1\n"
                           "ThreadsPerChild 16\nMaxRequestWorkers 16"))
    old = token(age=120)
    calls = slow_upstream.session_calls()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(visit, h, old) for _ in range(8)]
        concurrent.futures.wait(futures)
    failed = [f.exception() for f in futures if f.exception()]
    assert not failed, (failed, h.error_log())
    results = [f.result() for f in futures]
    assert all(env["AUTHJS_USER_EMAIL"] == "alice@example.com" for env, _ in results)
    assert sum(len(cookies) for _, cookies in results) == 1
    assert slow_upstream.session_calls() == calls + 1


@pytest.fixture(scope="module")
def sliding_db_upstream():
    """Database sessions whose expiry each /session call extends by 30 days."""
    up = Upstream("core", "/api/auth", ["--strategy", "database", "--slide"]).start()
    yield up
    up.stop()


def test_a_database_session_is_extended(httpd_factory, sliding_db_upstream):
    up = sliding_db_upstream
    # long enough that the visit after the refresh comes within the period
    period = 3
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionStrategy database
        AuthProxySessionRefresh %d
    """ % (up.origin, period))
    made = up.get_json("/__db/session", "POST", {"email": "bob@example.org", "expiresIn": 600})
    env, cookies = visit(h, made["sessionToken"])
    assert env["AUTHJS_USER_EMAIL"] == "bob@example.org" and not cookies
    time.sleep(period + 0.5)
    env, cookies = visit(h, made["sessionToken"])
    assert len(cookies) == 1 and value_of(cookies[0]) == made["sessionToken"]
    month = 30 * 86400
    assert abs(expires_of(cookies[0]) - (time.time() + month)) < 60
    assert abs(iso_seconds(env["AUTHJS_EXPIRES"]) - (time.time() + month)) < 60
    # refreshed a moment ago, and the cache holds the refreshed answer
    calls = up.session_calls()
    env, cookies = visit(h, made["sessionToken"])
    assert not cookies and up.session_calls() == calls
    assert abs(iso_seconds(env["AUTHJS_EXPIRES"]) - (time.time() + month)) < 60


@pytest.mark.parametrize("setting, message", [
    ("AuthProxySessionRefresh soon",
     "AuthProxySessionRefresh: 'soon' is neither Off nor a whole number of seconds"),
    ("AuthProxySessionRefresh 0",
     "AuthProxySessionRefresh: '0' is neither Off nor a whole number of seconds"),
    ("AuthProxySessionRefresh 60\nAuthProxySessionCache none",
     "AuthProxySessionRefresh needs a session cache"),
])
def test_bad_settings_fail_configtest(httpd_factory, upstream, setting, message):
    h = httpd_factory("AuthProxyUpstream %s\n%s\n" % (upstream.origin, setting), start=False)
    rc, out = h.configtest()
    assert rc != 0 and message in out, out
