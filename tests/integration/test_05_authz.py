# SPDX-License-Identifier: Apache-2.0
"""Access control: AuthType authjs, Require authjs-session / authjs-claim, and what
anonymous visitors get."""
import urllib.parse

import pytest

from harness import UPSTREAM_SECRET, free_port, header
from session_helpers import (COOKIE, authjs_vars, parse_env, session_cookie, signed_in,
                             tampered, tokens)

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def app_conf(upstream_origin, extra="", secret=True):
    return """
        LimitRequestFieldSize 32768
        AuthProxyUpstream %s
        %s
        <Location /dashboard>
            AuthType authjs
            Require valid-user
        </Location>
        ScriptAlias /dashboard "@DIR@/cgi-bin/env.cgi"
        <Location /admin>
            AuthType authjs
            <RequireAll>
                Require authjs-claim email ~ @example\\.com$
                Require ip 127.0.0.1 10.0.0.0/8
            </RequireAll>
        </Location>
        ScriptAlias /admin "@DIR@/cgi-bin/env.cgi"
        <Location /members>
            AuthType authjs
            Require authjs-session
        </Location>
        ScriptAlias /members "@DIR@/cgi-bin/env.cgi"
        <Location /ops>
            AuthType authjs
            <RequireAny>
                Require authjs-claim role ops
                Require ip 10.9.9.9
            </RequireAny>
        </Location>
        ScriptAlias /ops "@DIR@/cgi-bin/env.cgi"
        <Location /nested>
            AuthType authjs
            Require authjs-claim org.team "blue team"
        </Location>
        ScriptAlias /nested "@DIR@/cgi-bin/env.cgi"
        <Location /open>
            AuthType authjs
            AuthProxyUnauthAction pass
            Require valid-user
        </Location>
        ScriptAlias /open "@DIR@/cgi-bin/env.cgi"
        <Location /api/data>
            AuthType authjs
            AuthProxyUnauthAction 401
            Require valid-user
        </Location>
        ScriptAlias /api/data "@DIR@/cgi-bin/env.cgi"
        %s
    """ % (upstream_origin, "AuthProxySecret %s" % UPSTREAM_SECRET if secret else "", extra)


@pytest.fixture(scope="module")
def app(module_httpd_factory, upstream):
    return module_httpd_factory(app_conf(upstream.origin))


def test_anonymous_browser_is_sent_to_sign_in(app):
    status, hdrs, _ = app.request("GET", "/dashboard/report?year=2026&q=a%20b", headers=BROWSER)
    assert status == 302
    location = header(hdrs, "Location")
    path, _, query = location.partition("?")
    assert path == "/api/auth/signin"
    assert urllib.parse.parse_qs(query) == {"callbackUrl": ["/dashboard/report?year=2026&q=a%20b"]}
    # HEAD navigations too
    status, hdrs, _ = app.request("HEAD", "/dashboard", headers=BROWSER)
    assert status == 302


def test_the_sign_in_page_it_points_at_is_reachable(app):
    status, hdrs, _ = app.request("GET", "/dashboard", headers=BROWSER)
    status, _, body = app.request("GET", header(hdrs, "Location"), headers=BROWSER)
    assert status == 200 and b"<form" in body


@pytest.mark.parametrize("headers", [
    {"Accept": "application/json"},
    {"Accept": "*/*"},
    {},
    dict(BROWSER, **{"X-Requested-With": "XMLHttpRequest"}),
    dict(BROWSER, **{"Sec-Fetch-Mode": "cors"}),
])
def test_scripts_get_401(app, headers):
    status, hdrs, _ = app.request("GET", "/dashboard", headers=headers)
    assert status == 401
    assert header(hdrs, "WWW-Authenticate").startswith("authjs")
    assert header(hdrs, "Location") is None


def test_other_methods_get_401(app):
    status, _, _ = app.request("POST", "/dashboard", body=b"x=1", headers=dict(
        BROWSER, **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert status == 401


def test_sec_fetch_navigate_is_a_browser(app):
    status, _, _ = app.request("GET", "/dashboard", headers=dict(BROWSER, **{
        "Sec-Fetch-Mode": "navigate"}))
    assert status == 302


def test_callback_url_is_only_the_request_itself(app):
    status, hdrs, _ = app.request(
        "GET", "//evil.example/dashboard?callbackUrl=https://evil.example",
        headers=BROWSER)
    if status == 302:
        query = urllib.parse.parse_qs(header(hdrs, "Location").partition("?")[2])
        target = query["callbackUrl"][0]
        assert target.startswith("/") and not target.startswith("//")
    status, hdrs, _ = app.request("GET", "/dashboard?callbackUrl=https://evil.example",
                                  headers=BROWSER)
    query = urllib.parse.parse_qs(header(hdrs, "Location").partition("?")[2])
    assert query["callbackUrl"] == ["/dashboard?callbackUrl=https://evil.example"]


def test_signed_in_user_gets_in_with_remote_user(app):
    browser = signed_in(app)
    status, _, body = browser.get("/dashboard", headers=BROWSER)
    assert status == 200
    e = parse_env(body)
    assert e["REMOTE_USER"] == "alice@example.com"
    assert e["AUTH_TYPE"] == "authjs"
    assert e["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert browser.get("/members")[0] == 200


def test_access_log_shows_the_user(app):
    browser = signed_in(app)
    # a query of its own: the other tests on this httpd visit /dashboard too
    browser.get("/dashboard?log")
    # httpd writes the line after the answer has gone out
    lines = app.wait_for_log("access", lambda text: "GET /dashboard?log" in text)
    lines = [l for l in lines.splitlines() if "GET /dashboard?log" in l]
    assert lines and " alice@example.com " in lines[-1]


def test_claim_regex_allows_one_user_and_refuses_another(app):
    alice, bob = signed_in(app), signed_in(app, "bob@example.org", "bob-pw")
    status, _, body = alice.get("/admin", headers=BROWSER)
    assert status == 200 and parse_env(body)["REMOTE_USER"] == "alice@example.com"
    status, hdrs, _ = bob.get("/admin", headers=BROWSER)
    assert status == 403
    assert header(hdrs, "WWW-Authenticate") is None
    assert header(hdrs, "Location") is None


def test_require_any_with_ip(httpd_factory, upstream):
    h = httpd_factory(app_conf(upstream.origin))
    ops, dev = tokens({"email": "o@example.com", "sub": "o", "role": ["dev", "ops"]},
                      {"email": "d@example.com", "sub": "d", "role": "dev"})
    assert h.request("GET", "/ops", headers={"Cookie": session_cookie(ops)})[0] == 200
    assert h.request("GET", "/ops", headers={"Cookie": session_cookie(dev)})[0] == 403
    # the ip branch of RequireAny grants 10.9.9.9 only; from 127.0.0.1 anonymous is asked to sign in
    assert h.request("GET", "/ops", headers=BROWSER)[0] == 302
    h2 = httpd_factory(app_conf(upstream.origin).replace("Require ip 10.9.9.9",
                                                         "Require ip 127.0.0.1"))
    assert h2.request("GET", "/ops", headers=BROWSER)[0] == 200


def test_nested_claim(app):
    blue, red = tokens({"email": "b@example.com", "org": {"team": "blue team"}},
                       {"email": "r@example.com", "org": {"team": "red team"}})
    assert app.request("GET", "/nested", headers={"Cookie": session_cookie(blue)})[0] == 200
    assert app.request("GET", "/nested", headers={"Cookie": session_cookie(red)})[0] == 403


def test_claims_from_an_upstream_session(httpd_factory, upstream):
    """Without a secret the claims come from /session: the same Require lines work."""
    h = httpd_factory(app_conf(upstream.origin, secret=False))
    alice, bob = signed_in(h), signed_in(h, "bob@example.org", "bob-pw")
    status, _, body = alice.get("/admin")
    assert status == 200 and parse_env(body)["AUTHJS_SESSION_SOURCE"] == "upstream"
    assert bob.get("/admin")[0] == 403


def test_pass_serves_anonymously(app):
    status, _, body = app.request("GET", "/open", headers=BROWSER)
    assert status == 200
    e = parse_env(body)
    assert not authjs_vars(e)
    assert e.get("REMOTE_USER", "") == ""
    browser = signed_in(app)
    status, _, body = browser.get("/open")
    assert parse_env(body)["REMOTE_USER"] == "alice@example.com"


def test_unauth_action_401_even_for_browsers(app):
    status, hdrs, _ = app.request("GET", "/api/data", headers=BROWSER)
    assert status == 401 and header(hdrs, "Location") is None


def test_tampered_cookie_is_anonymous(app):
    browser = signed_in(app)
    browser.cookies[COOKIE] = tampered(browser.cookies[COOKIE])
    status, hdrs, _ = browser.get("/dashboard", headers=BROWSER)
    assert status == 302 and header(hdrs, "Location").startswith("/api/auth/signin?")
    assert browser.get("/dashboard", headers={"Accept": "application/json"})[0] == 401


def test_remote_user_claim(httpd_factory, upstream):
    h = httpd_factory(app_conf(upstream.origin, """
        <Location /by-name>
            AuthType authjs
            AuthProxyRemoteUserClaim name
            Require valid-user
        </Location>
        ScriptAlias /by-name "@DIR@/cgi-bin/env.cgi"
        <Location /by-id>
            AuthType authjs
            AuthProxyRemoteUserClaim sub
            Require valid-user
        </Location>
        ScriptAlias /by-id "@DIR@/cgi-bin/env.cgi"
    """))
    browser = signed_in(h)
    assert parse_env(browser.get("/by-name")[2])["REMOTE_USER"] == "Alice Example"
    assert parse_env(browser.get("/by-id")[2])["REMOTE_USER"] == "u-alice"
    no_email, = tokens({"sub": "only-an-id"})
    status, _, body = h.request("GET", "/dashboard",
                                headers={"Cookie": session_cookie(no_email)})
    assert status == 200 and parse_env(body)["REMOTE_USER"] == "only-an-id"


def test_auth_routes_are_never_guarded(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location />
            AuthType authjs
            Require authjs-session
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    status, hdrs, _ = h.request("GET", "/index.html", headers=BROWSER)
    assert status == 302
    status, _, body = h.request("GET", header(hdrs, "Location"), headers=BROWSER)
    assert status == 200 and b"<form" in body
    assert h.request("GET", "/api/auth/providers")[0] == 200
    browser = signed_in(h)
    assert browser.get("/index.html")[0] == 200


def test_upstream_down_local_decoding_still_lets_users_in(httpd_factory, upstream):
    dead = free_port()
    # sign in while the upstream is up, through a server that points at it
    live = httpd_factory(app_conf(upstream.origin))
    browser = signed_in(live)
    down = httpd_factory(app_conf("http://127.0.0.1:%d" % dead))
    browser.httpd = down
    assert browser.get("/dashboard")[0] == 200
    assert down.request("GET", "/dashboard", headers=BROWSER)[0] == 302
    assert down.request("GET", "/dashboard", headers={"Accept": "application/json"})[0] == 401
    # without a secret an unreachable upstream means anonymous
    down_remote = httpd_factory(app_conf("http://127.0.0.1:%d" % dead, secret=False))
    down_remote.expect_log("AUTHPROXY017", r"http://127\.0\.0\.1:%d/api/auth/session" % dead)
    browser.httpd = down_remote
    assert browser.get("/dashboard", headers=BROWSER)[0] == 302


@pytest.mark.parametrize("conf, message", [
    ("Require authjs-claim", "Require authjs-claim: give a claim and a value"),
    ("Require authjs-claim email", "Require authjs-claim: give a claim and a value"),
    ("Require authjs-claim email ~", "the regular expression is missing"),
    ("Require authjs-claim email ~ (unclosed", "'(unclosed' is not a valid regular expression"),
    ("Require authjs-claim name Alice Example", "unexpected 'Example'"),
    ("AuthProxyUnauthAction maybe", "AuthProxyUnauthAction: 'maybe' is not redirect, 401 or pass"),
])
def test_bad_authz_config_is_refused(httpd_factory, conf, message):
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:9\n<Location /x>\nAuthType authjs\n"
                      + conf + "\n</Location>\n", start=False)
    rc, out = h.configtest()
    assert rc != 0 and message in out, out
