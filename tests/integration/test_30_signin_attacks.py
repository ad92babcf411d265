# SPDX-License-Identifier: Apache-2.0
"""Attacks on AuthProxySignInLimit, as a brute-forcer, an inbox-flooder and a
griefer would make them: bodies the upstream reads otherwise than the module
(Express inflating a gzip body or decoding UTF-16, @auth/core reading a form
where the module read JSON, JSON that JSON.parse reads and jansson does not),
spellings of one e-mail address that Auth.js makes one (a ',' in the domain,
white space beyond ASCII), refusals in forms the module did not read
(next-auth 4's 401 {"url"}, a sign-in page with a query of its own), route
spellings, parallel guesses and settings a confused operator writes."""
import concurrent.futures
import gzip
import json
import urllib.parse
import zlib

from harness import UPSTREAM_SECRET, Browser, header, vhost
from test_01_config import configtest
from test_26_signin_limit import (CONF, email_sign_in, emails_sent, fail, refused, routes,
                                  server, sign_in)
from session_helpers import COOKIE

FORM = "application/x-www-form-urlencoded"


def csrf(httpd, client):
    """A browser holding a fresh CSRF cookie, and its token."""
    browser = Browser(httpd)
    _, _, body = browser.get("/api/auth/csrf", headers={"X-Client": client})
    return browser, json.loads(body)["csrfToken"]


def post(httpd, client, body, content_type, extra=None, path="/api/auth/callback/credentials"):
    """A sign-in with this body (a function of the CSRF token) from `client`:
    (status, headers, browser)."""
    browser, token = csrf(httpd, client)
    status, headers, _ = browser.request("POST", path, body(token), {
        "Content-Type": content_type, "X-Client": client, **(extra or {})})
    return status, headers, browser


def form(email, password):
    return lambda token: urllib.parse.urlencode(
        {"csrfToken": token, "email": email, "password": password}).encode()


def json_body(email, password, raw_extra=""):
    return lambda token: ('{"csrfToken": "%s", "email": "%s", "password": "%s"%s}'
                          % (token, email, password, raw_extra)).encode()


def lock_out(httpd, email="alice@example.com"):
    """The identifier over `2 60 by user` from two addresses; a plain sign-in gets 429."""
    fail(httpd, 1, "192.0.2.101", email=email)
    fail(httpd, 1, "192.0.2.102", email=email)
    assert sign_in(httpd, email, "alice-pw", "192.0.2.103")[0] == 429


def not_forwarded(httpd, status, browser, before, expected):
    assert status == expected, status
    assert COOKIE not in browser.cookies
    # its /csrf went, the sign-in did not
    assert routes(httpd) == before + 1


def test_bodies_express_decodes_are_refused(httpd_factory, upstream_express, memcached):
    """Express inflates gzip and deflate bodies and decodes UTF-16 JSON: the
    module read none of them, and counted the guess by its (fresh) address."""
    h = server(httpd_factory, upstream_express, memcached, limit="2 60 by user")
    lock_out(h)
    right = form("alice@example.com", "alice-pw")
    for i, (body, ctype, extra) in enumerate((
            (lambda t: gzip.compress(right(t)), FORM, {"Content-Encoding": "gzip"}),
            (lambda t: zlib.compress(right(t)), FORM, {"Content-Encoding": "Deflate"}),
            (lambda t: json_body("alice@example.com", "alice-pw")(t).decode().encode("utf-16"),
             "application/json; charset=utf-16", {}),
            (lambda t: json_body("alice@example.com", "alice-pw")(t).decode().encode("utf-16le"),
             'application/json; charset="UTF-16LE"', {}))):
        before = routes(h)
        status, _, browser = post(h, "192.0.2.%d" % (110 + i), body, ctype, extra)
        not_forwarded(h, status, browser, before, 415)
    # the control: a plain body from a fresh address is the identifier's
    before = routes(h)
    status, _, browser = post(h, "192.0.2.119", right, FORM + "; charset=utf-8")
    not_forwarded(h, status, browser, before, 429)


def test_bodies_core_reads_otherwise_are_refused(httpd_factory, upstream, memcached):
    """@auth/core tests for "application/json" in lower case, the module in any
    case; JSON.parse reads a lone surrogate, jansson does not."""
    h = server(httpd_factory, upstream, memcached, limit="2 60 by user")
    lock_out(h)
    for i, (body, ctype, expected) in enumerate((
            (form("alice@example.com", "alice-pw"), FORM + "; x=APPLICATION/JSON", 415),
            (json_body("alice@example.com", "alice-pw", ', "x": "\\ud800"'), "application/json",
             400),
            (json_body("alice@example.com", "alice-pw", ', "x": ' + "[" * 3000 + "]" * 3000),
             "application/json", 400))):
        before = routes(h)
        status, _, browser = post(h, "192.0.2.%d" % (120 + i), body, ctype)
        not_forwarded(h, status, browser, before, expected)


def test_spellings_of_one_inbox_are_one(httpd_factory, upstream_db, memcached):
    """Auth.js's e-mail provider sends "victim@example.com,anything" and
    "\\u3000victim@example.com" to victim@example.com, and mail providers
    deliver victim+anything@ and v.ictim@ there: counted as it."""
    h = server(httpd_factory, upstream_db, memcached, limit="2 60 by user")
    for address in ("192.0.2.131", "192.0.2.132"):
        status, _, _ = email_sign_in(h, "victim@example.com", address)
        assert status == 302
    sent = emails_sent(upstream_db)
    for i, spelling in enumerate(("victim@example.com,x%d" % n for n in range(2)), 133):
        status, _, _ = email_sign_in(h, spelling, "192.0.2.%d" % i)
        assert status == 429, spelling
    for i, spelling in enumerate(("\u3000victim@example.com", "victim@EXAMPLE.com\u00a0\ufeff",
                                  "\u2028victim@example.com, x",
                                  "\uff56ictim\uff20example.com\uff0cx",
                                  "victim+%d@example.com" % 1, "v.ictim+2@example.com.",
                                  "vic.tim@example.com", "\U0001d42fictim@example.com",
                                  "\u24cbictim\ufe6bexample.com"), 140):
        status, _, _ = email_sign_in(h, spelling, "192.0.2.%d" % i)
        assert status == 429, spelling
    assert emails_sent(upstream_db) == sent


ECHO = """
    LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
    LoadModule remoteip_module @MODULES@/mod_remoteip.so
    RemoteIPHeader X-Client
    RemoteIPInternalProxy 127.0.0.1
    AuthProxyUpstream %s
    AuthProxyTargetPath /api/auth/__echo
    AuthProxySessionCache memcache:127.0.0.1:%d
    AuthProxySignInLimit 2 60
"""


def test_refusals_in_other_forms_are_counted(httpd_factory, upstream, memcached):
    """The upstream's echo route plays next-auth 4, whose refusal of a sign-in
    that asked for JSON (json=true) is {"url": ...error=CredentialsSignin}
    with 401, and Auth.js with pages.signIn "/login?from=app", whose refusal
    is /login?from=app?error=CredentialsSignin."""
    h = httpd_factory(ECHO % (upstream.origin, memcached.port))
    for client, query, expected in (
            ("192.0.2.91", "status=401&error=CredentialsSignin", 401),
            ("192.0.2.92", "location=" + urllib.parse.quote(
                "/login?from=app?error=CredentialsSignin", safe=""), 200)):
        path = "/api/auth/callback/credentials?" + query
        for _ in range(2):
            status, _, _ = h.request("POST", path, b"json=true",
                                     {"Content-Type": FORM, "X-Client": client})
            assert status == expected, (query, status)
        status, _, _ = h.request("POST", path, b"json=true",
                                 {"Content-Type": FORM, "X-Client": client})
        assert status == 429, (query, status)


def test_a_compressed_json_answer_counts(httpd_factory, upstream, memcached):
    """An upstream that gzips its {"url"} though asked for no encoding: the
    module cannot read it, and counts it as a failure unless it signs in."""
    h = httpd_factory(ECHO % (upstream.origin, memcached.port))
    path = "/api/auth/callback/credentials?gzip=1&error=CredentialsSignin"
    for _ in range(2):
        status, headers, _ = h.request("POST", path, b"x", {
            "Content-Type": FORM, "X-Client": "192.0.2.220", "Accept-Encoding": "gzip"})
        assert status == 200 and header(headers, "Content-Encoding") == "gzip", status
    status, _, _ = h.request("POST", path, b"x", {"Content-Type": FORM, "X-Client": "192.0.2.220"})
    assert status == 429


def test_route_spellings_are_one_route(httpd_factory, upstream, memcached):
    """Escapes of unreserved characters and dot segments, which httpd
    resolves before the module looks and WHATWG's URL after it, are the
    sign-in; an encoded slash is not a route Auth.js takes (it answers no
    sign-in); a GET or HEAD signs nobody in."""
    h = server(httpd_factory, upstream, memcached, limit="1 60")
    fail(h, 1, "192.0.2.150")
    for path in ("/api/auth/%63allback/credentials", "/api/auth/callback/%63redentials",
                 "/api/auth/callback/x/%2e%2e/credentials", "/api/auth/./callback/credentials",
                 "/api/auth/callback/credentials?x=/", "/api/auth/callback/credentials;x"):
        status, _, _ = h.request("POST", path, b"email=a", {
            "X-Client": "192.0.2.150", "Content-Type": FORM})
        assert status == 429, path
    for method, path in (("POST", "/api/auth/callback%2Fcredentials"),
                         ("GET", "/api/auth/callback/credentials"),
                         ("HEAD", "/api/auth/callback/credentials")):
        browser, token = csrf(h, "192.0.2.150")
        status, _, _ = browser.request(method, path, form("alice@example.com", "alice-pw")(token)
                                       if method == "POST" else None,
                                       {"X-Client": "192.0.2.150", "Content-Type": FORM})
        assert status != 429 and COOKIE not in browser.cookies, (method, path, status)


def test_parallel_guesses_end_in_a_ban(httpd_factory, upstream, memcached):
    """socache has no atomic increment: guesses in flight together may pass
    the limit (README), but never keep the count below it."""
    h = server(httpd_factory, upstream, memcached, limit="3 60")
    before = routes(h)

    def guess(_):
        return sign_in(h, "alice@example.com", "wrong", "192.0.2.160")[0]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    forwarded = routes(h) - before - 12     # less the /csrf of each
    assert statuses.count(429) + forwarded == 12, statuses
    print("12 parallel guesses, limit 3: %d forwarded" % forwarded)
    status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.160")
    assert status == 429


def test_settings_a_confused_operator_writes(upstream):
    base = "AuthProxyUpstream %s\nAuthProxySecret %s\n" % (upstream.origin, UPSTREAM_SECRET)
    for conf, message in (
            ("AuthProxySignInLimit 5 60 by ip ban", "'ban' wants a value"),
            ("AuthProxySignInLimit -5 60", "'-5' is not a number of failed"),
            ("AuthProxySignInLimit 5 60 ban 0", "'0' is not a whole number of seconds"),
            ("AuthProxySignInLimit 5 60 ban 86401", "'86401' is not a whole number of seconds"),
            ("AuthProxySignInLimit 5 1e3", "'1e3' is not a whole number of seconds"),
            ("AuthProxySignInLimit Off 60", "'Off' is not a number of failed"),
            ("AuthProxySignInLimit 5 60 by", "'by' wants a value"),
            ("AuthProxySignInLimit 5 60 by user ban 60 BY ip", "'BY' is given twice"),
            ("AuthProxySignInLimit 5 60 ban 60 ban 600", "'ban' is given twice")):
        rc, out = configtest(base + conf + "\n")
        assert rc != 0 and message in out, (conf, out)
    # a VirtualHost that turns the main server's limit off needs no cache there
    rc, out = configtest(base + "AuthProxySignInLimit 5 60 by both\n"
                         "<VirtualHost *:@PORT@>\nAuthProxySessionCache none\n"
                         "AuthProxySignInLimit Off\n</VirtualHost>\n")
    assert rc == 0, out


def test_a_ban_holds_in_every_form_of_the_sign_in(httpd_factory, upstream, memcached):
    """A banned client's 429 says nothing of the user, is not cached, and
    holds for the JSON form and a JSON body too."""
    h = server(httpd_factory, upstream, memcached, limit="1 60 ban 30 by both")
    fail(h, 1, "192.0.2.170")
    status, headers, body, _ = sign_in(h, "bob@example.org", "bob-pw", "192.0.2.170",
                                       json_form=True)
    assert status == 429 and b"bob" not in body and b"alice" not in body
    assert 29 <= int(header(headers, "Retry-After")) <= 30
    status, _, _ = post(h, "192.0.2.170", json_body("bob@example.org", "bob-pw"),
                        "application/json")[:3]
    assert status == 429
    # the identifier is banned from anywhere
    status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.171")
    assert status == 429
    assert refused(*sign_in(h, "bob@example.org", "x", "192.0.2.172")[:3])


def test_a_refusal_too_long_to_read_counts(httpd_factory, upstream, memcached):
    """A JSON answer over the 8 KiB the module reads (Auth.js's refusal
    names the origin, which a wildcard ServerAlias lets the client make
    8 KiB long) counts as a failure unless it signs in: the echo route's
    answer holds the request's body."""
    h = httpd_factory(ECHO % (upstream.origin, memcached.port))
    path = "/api/auth/callback/credentials?error=CredentialsSignin"
    for _ in range(2):
        status, _, body = h.request("POST", path, b"x" * 7000,
                                    {"Content-Type": FORM, "X-Client": "192.0.2.180"})
        assert status == 200 and len(body) > 8192, status
    status, _, _ = h.request("POST", path, b"x", {"Content-Type": FORM, "X-Client": "192.0.2.180"})
    assert status == 429


def test_a_sign_in_reached_by_an_internal_redirect_is_counted(httpd_factory, upstream,
                                                              memcached):
    """An operator's pretty URL, rewritten in a per-directory context (an
    internal redirect), reaches the same Auth.js sign-in: counted as it."""
    conf = (CONF % {"upstream": upstream.origin, "secret": UPSTREAM_SECRET, "limit": "2 60",
                    "cache": "memcache:127.0.0.1:%d" % memcached.port}
            + "LoadModule rewrite_module @MODULES@/mod_rewrite.so\n"
              "<Location /login>\nRewriteEngine On\n"
              "RewriteRule ^ /api/auth/callback/credentials [L]\n</Location>\n")
    h = httpd_factory(conf)
    for _ in range(2):
        status, headers, _ = post(h, "192.0.2.190", form("alice@example.com", "wrong"), FORM,
                                  path="/login")
        assert status == 302 and "error=CredentialsSignin" in header(headers, "Location")
    for path in ("/login", "/api/auth/callback/credentials"):
        status, _, browser = post(h, "192.0.2.190", form("alice@example.com", "alice-pw"), FORM,
                                  path=path)
        assert status == 429 and COOKIE not in browser.cookies, path


def test_a_virtual_host_that_turns_it_off_limits_nothing_there(httpd_factory, upstream,
                                                                 memcached):
    """A VirtualHost with AuthProxySignInLimit Off in front of the same
    Auth.js: not limited there (the operator's choice), while the main
    server's limit holds on its other names."""
    conf = (CONF % {"upstream": upstream.origin, "secret": UPSTREAM_SECRET, "limit": "1 60",
                    "cache": "memcache:127.0.0.1:%d" % memcached.port}
            + vhost("limited.test", "") + vhost("open.test", "AuthProxySignInLimit Off\n"))
    h = httpd_factory(conf)
    limited, open_ = "limited.test:%d" % h.port, "open.test:%d" % h.port
    for _ in range(2):
        status, headers, body, _ = sign_in(h, "alice@example.com", "wrong", "192.0.2.200",
                                           host=open_)
        assert refused(status, headers, body)
    assert sign_in(h, "alice@example.com", "wrong", "192.0.2.200", host=limited)[0] == 302
    assert sign_in(h, "alice@example.com", "alice-pw", "192.0.2.200", host=limited)[0] == 429


def test_a_body_sent_after_100_continue_is_read_and_forwarded(httpd_factory, upstream,
                                                              memcached):
    """Expect: 100-continue: the module's read of the body answers 100, and
    the upstream gets the body whole."""
    h = server(httpd_factory, upstream, memcached, limit="2 60 by user")
    browser, token = csrf(h, "192.0.2.210")
    body = form("alice@example.com", "wrong")(token)
    answer = h.raw(b"POST /api/auth/callback/credentials HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n"
                   b"Cookie: " + browser.cookie_header().encode() + b"\r\n"
                   b"Expect: 100-continue\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                   % len(body) + body)
    assert answer.startswith(b"HTTP/1.1 100 Continue"), answer[:100]
    assert b"error=CredentialsSignin" in answer, answer[:600]
