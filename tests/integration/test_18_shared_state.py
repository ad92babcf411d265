# SPDX-License-Identifier: Apache-2.0
"""Trust, third round: what is shared between visitors. A response that
carries or depends on one visitor's session never reaches another through
httpd's cache; sign-out state is written only for real sessions, by the
upstream's word, whatever spelling reached it; anonymous traffic writes
nothing to the shared cache; unreadable state refreshes nothing; the routes stand
outside every Require; a subrequest never refreshes."""
import concurrent.futures
import json
import os
import pwd
import socket

import pytest

from harness import UPSTREAM_SECRET, Browser, header, header_all, mint
from session_helpers import COOKIE, parse_env, session_cookie, signed_in, token_request

# the refresh's age: tokens older than this are refreshed
PERIOD = 60
OLD = 120


def old_token(email="alice@example.com", age=OLD):
    import time
    return mint(token_request({"email": email, "sub": "id-" + email}, maxAge=3600,
                              now=int(time.time()) - age))[0]


def session_set_cookies(headers):
    return [c for c in header_all(headers, "Set-Cookie") if c.startswith(COOKIE)]


def cache_control(headers):
    """The Cache-Control directives of an answer, lower case, in order."""
    values = ",".join(header_all(headers, "Cache-Control"))
    return [d.strip().lower() for d in values.split(",") if d.strip()]


def memcached_items(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"stats\r\n")
        answer = b""
        while not answer.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    stats = dict(line.split()[1:3] for line in answer.decode().splitlines()
                 if line.startswith("STAT "))
    return int(stats["curr_items"])


# ---- 1. nothing personal is stored by httpd's cache ------------------------------------

CACHED = """
    LoadModule cache_module @MODULES@/mod_cache.so
    LoadModule cache_disk_module @MODULES@/mod_cache_disk.so
    LoadModule expires_module @MODULES@/mod_expires.so
    CacheQuickHandler %s
    CacheHeader on
    CacheRoot @DIR@/cache
    CacheEnable disk /
    ExpiresActive On
    ExpiresDefault "access plus 1 hour"
    AuthProxyUpstream %s
    AuthProxySecret %s
    AuthProxySessionRefresh %d
    <Location /cgi-bin/guarded.cgi>
        AuthType authjs
        Require valid-user
        AuthProxyUnauthAction %s
    </Location>
"""

WHO_CGI = """#!/bin/sh
body="user=$AUTHJS_USER_EMAIL"
printf 'Content-Type: text/plain\\nContent-Length: %d\\n@EXTRA@\\n%s\\n' "$((${#body} + 1))" "$body"
"""


def cached_httpd(httpd_factory, upstream, quick, unauth="pass"):
    h = httpd_factory(CACHED % (quick, upstream.origin, UPSTREAM_SECRET, PERIOD, unauth),
                      start=False)
    os.mkdir(os.path.join(h.dir, "cache"))
    if os.geteuid() == 0:
        www = pwd.getpwnam("www-data")
        os.chown(os.path.join(h.dir, "cache"), www.pw_uid, www.pw_gid)
    h.write("htdocs/app.css", "body { color: black }\n")
    for name in ("who.cgi", "guarded.cgi"):
        h.write("cgi-bin/" + name, WHO_CGI.replace("@EXTRA@", ""), mode=0o755)
    for name, extra in (("public", "public, max-age=600, s-maxage=900"), ("nostore", "no-store")):
        h.write("cgi-bin/%s.cgi" % name,
                WHO_CGI.replace("@EXTRA@", "Cache-Control: %s\\n" % extra), mode=0o755)
    return h.start()


def get(h, path, token=None):
    headers = {"Cookie": session_cookie(token)} if token else {}
    return h.request("GET", path, headers=headers)


def from_cache(headers):
    return (header(headers, "X-Cache") or "").startswith("HIT")


@pytest.mark.parametrize("quick", ["On", "Off"])
def test_a_refreshed_cookie_is_never_stored_nor_shared(httpd_factory, upstream, quick):
    h = cached_httpd(httpd_factory, upstream, quick)
    status, headers, _ = get(h, "/app.css", old_token())
    assert status == 200 and len(session_set_cookies(headers)) == 1
    directives = cache_control(headers)
    assert "private" in directives and "public" not in directives
    # the next visitors never get Alice's cookie: the first gets the file from
    # disk, the second the cached copy of that anonymous answer
    status, headers, _ = get(h, "/app.css")
    assert status == 200 and not session_set_cookies(headers) and not from_cache(headers)
    status, headers, _ = get(h, "/app.css")
    assert status == 200 and not session_set_cookies(headers) and from_cache(headers), headers


@pytest.mark.parametrize("quick", ["On", "Off"])
@pytest.mark.parametrize("path", ["/cgi-bin/who.cgi", "/cgi-bin/guarded.cgi"])
def test_a_page_with_a_session_is_never_served_to_another(httpd_factory, upstream, quick, path):
    """Published to (who.cgi) or guarded by AuthType authjs (guarded.cgi, where
    anonymous visitors pass): Alice's page is Alice's only."""
    h = cached_httpd(httpd_factory, upstream, quick)
    young = mint(token_request({"email": "alice@example.com", "sub": "a"}),
                 token_request({"email": "bob@example.com", "sub": "b"}))
    status, headers, body = get(h, path, young[0])
    assert status == 200 and body == b"user=alice@example.com\n"
    assert "private" in cache_control(headers)
    for token, seen in ((None, b"user=\n"), (young[1], b"user=bob@example.com\n")):
        status, headers, body = get(h, path, token)
        assert status == 200 and body == seen and not from_cache(headers), (token, headers)
    # an anonymous answer outside AuthType authjs is no one's: cached for
    # anonymous visitors, and it says it varies with the cookie
    if path == "/cgi-bin/who.cgi":
        status, headers, body = get(h, path)
        assert body == b"user=\n" and from_cache(headers), headers
        assert "Cookie" in header(headers, "Vary")


@pytest.mark.parametrize("quick", ["On", "Off"])
def test_a_sign_in_redirect_is_never_cached(httpd_factory, upstream, quick):
    h = cached_httpd(httpd_factory, upstream, quick, unauth="redirect")
    for _ in range(2):
        status, headers, _ = h.request("GET", "/cgi-bin/guarded.cgi",
                                       headers={"Accept": "text/html"})
        assert status == 302 and not from_cache(headers)
        assert "private" in cache_control(headers)
    young = mint(token_request({"email": "alice@example.com", "sub": "a"}))[0]
    status, _, body = get(h, "/cgi-bin/guarded.cgi", young)
    assert status == 200 and body == b"user=alice@example.com\n"


def test_cache_control_keeps_what_is_stricter(httpd_factory, upstream):
    h = cached_httpd(httpd_factory, upstream, "Off")
    young = mint(token_request({"email": "alice@example.com", "sub": "a"}))[0]
    # (mod_expires adds its max-age to the app's)
    _, headers, _ = get(h, "/cgi-bin/public.cgi", young)
    directives = cache_control(headers)
    assert "max-age=600" in directives and "private" in directives
    assert "public" not in directives and "s-maxage=900" not in directives
    _, headers, _ = get(h, "/cgi-bin/nostore.cgi", young)
    directives = cache_control(headers)
    assert "no-store" in directives and "private" not in directives
    # anonymous: the app's own word
    _, headers, _ = get(h, "/cgi-bin/public.cgi")
    directives = cache_control(headers)
    assert "public" in directives and "s-maxage=900" in directives
    assert "private" not in directives


def test_route_answers_are_never_cached(httpd_factory, upstream):
    h = cached_httpd(httpd_factory, upstream, "On")
    tokens = set()
    for _ in range(3):
        status, headers, body = h.request("GET", "/api/auth/csrf")
        assert status == 200 and not from_cache(headers)
        assert "private" in cache_control(headers)
        tokens.add(json.loads(body)["csrfToken"])
    assert len(tokens) == 3


# ---- 3. sign-out: the upstream's word, real sessions only ------------------------------

def refreshing(httpd_factory, upstream, cache, secret=True):
    return httpd_factory("""
        LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
        AuthProxyUpstream %s
        %s
        AuthProxySessionRefresh %d
        AuthProxySessionCache memcache:127.0.0.1:%d
    """ % (upstream.origin, "AuthProxySecret " + UPSTREAM_SECRET if secret else "", PERIOD,
           cache.port))


def sign_out_at(h, token, path):
    browser = Browser(h)
    browser.cookies[COOKIE] = token
    status, _, body = browser.get("/api/auth/csrf")
    status, headers, _ = browser.post_form(path, {"csrfToken": json.loads(body)["csrfToken"]})
    assert status in (302, 303), status
    return headers


def visit(h, token):
    status, headers, body = get(h, "/cgi-bin/env.cgi", token)
    assert status == 200
    return parse_env(body), session_set_cookies(headers)


@pytest.mark.parametrize("path", ["/api/auth/signout", "/api/auth/signout/",
                                  "/api/auth//signout"])
def test_a_sign_out_by_any_spelling_stops_refresh(httpd_factory, upstream, memcached, path):
    h = refreshing(httpd_factory, upstream, memcached)
    token = old_token()
    headers = sign_out_at(h, token, path)
    assert any(c.startswith(COOKIE + "=;") for c in header_all(headers, "Set-Cookie")), headers
    calls = upstream.session_calls()
    env, cookies = visit(h, token)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies
    assert upstream.session_calls() == calls


def test_anonymous_traffic_writes_nothing_to_the_shared_cache(httpd_factory, upstream,
                                                              memcached):
    """Sign-outs and pages with cookies that are no session, by local decoding
    and by the fetch: the shared cache gains no entry, so it cannot be flushed
    of real ones; a real sign-out's record stays."""
    local = refreshing(httpd_factory, upstream, memcached)
    fetch = refreshing(httpd_factory, upstream, memcached, secret=False)
    alice = old_token()
    sign_out_at(local, alice, "/api/auth/signout")
    before = memcached_items(memcached.port)
    assert before == 1

    def forge(h):
        for i in range(100):
            forged = "forged-%d" % i
            sign_out_at(h, forged, "/api/auth/signout")
            assert "AUTHJS_USER_EMAIL" not in visit(h, forged)[0]

    # the two servers side by side
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(forge, (local, fetch)))
    assert memcached_items(memcached.port) == before
    env, cookies = visit(local, alice)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies


def test_a_route_that_does_not_clear_the_cookie_signs_nothing_out(httpd_factory, upstream,
                                                                  memcached):
    h = refreshing(httpd_factory, upstream, memcached)
    token = old_token()
    # a sign-out without its CSRF token: Auth.js refuses, the cookie stays
    status, headers, _ = h.request("POST", "/api/auth/signout", b"",
                                   {"Cookie": session_cookie(token),
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert not any(c.startswith(COOKIE + "=;") for c in header_all(headers, "Set-Cookie"))
    assert memcached_items(memcached.port) == 0
    env, cookies = visit(h, token)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and len(cookies) == 1


# ---- 4. unknown state refreshes nothing ---------------------------------------------------

def test_an_unreadable_cache_refreshes_nothing(httpd_factory, upstream, memcached):
    h = refreshing(httpd_factory, upstream, memcached)
    # a memcached that is gone answers lookups "not found": the clock that
    # cannot be stored is what stops the refresh
    for tag in ("AUTHPROXY044", "AUTHPROXY043"):   # a store, a lookup
        h.expect_log(tag, r"memcache:127\.0\.0\.1:%d" % memcached.port)
    h.expect_other_log("[socache_memcache:crit]")
    memcached.stop()
    token = old_token()
    calls = upstream.session_calls()
    for _ in range(10):
        env, cookies = visit(h, token)
        assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies
    assert upstream.session_calls() == calls


# ---- 6. the routes stand outside every Require; a subrequest never refreshes --------------

def test_require_not_never_closes_the_routes(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location />
            AuthType authjs
            AuthProxyUnauthAction 401
            <RequireAll>
                Require authjs-session
                Require not authjs-claim email mallory@example.com
                Require not ip 10.0.0.0/8
            </RequireAll>
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    assert h.request("GET", "/api/auth/providers")[0] == 200
    browser = signed_in(h)
    assert browser.get("/cgi-bin/env.cgi")[0] == 200
    mallory = mint(token_request({"email": "mallory@example.com", "sub": "m"}))[0]
    assert get(h, "/cgi-bin/env.cgi", mallory)[0] == 403
    assert h.request("GET", "/cgi-bin/env.cgi")[0] == 401


def test_a_subrequest_never_refreshes(httpd_factory, upstream, memcached):
    h = httpd_factory("""
        LoadModule include_module @MODULES@/mod_include.so
        LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxySessionRefresh %d
        AuthProxySessionCache memcache:127.0.0.1:%d
        <Location /page.shtml>
            AuthProxySession Off
            Options +Includes
            SetOutputFilter INCLUDES
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET, PERIOD, memcached.port), start=False)
    h.write("htdocs/page.shtml", '<!--#include virtual="/cgi-bin/env.cgi" -->\n')
    h.start()
    token = old_token()
    calls = upstream.session_calls()
    status, headers, body = get(h, "/page.shtml", token)
    assert status == 200 and b"AUTHJS_USER_EMAIL=alice@example.com" in body
    assert not session_set_cookies(headers) and upstream.session_calls() == calls
    # the next page of its own refreshes at once: nothing was claimed meanwhile
    env, cookies = visit(h, token)
    assert len(cookies) == 1 and upstream.session_calls() == calls + 1


# ---- what the attacker's pass found --------------------------------------------------

def cached_with(httpd_factory, upstream, quick, extra, files=()):
    """cached_httpd()'s server with `extra` configuration and more files."""
    h = httpd_factory(CACHED % (quick, upstream.origin, UPSTREAM_SECRET, PERIOD, "pass")
                      + extra, start=False)
    os.mkdir(os.path.join(h.dir, "cache"))
    if os.geteuid() == 0:
        www = pwd.getpwnam("www-data")
        os.chown(os.path.join(h.dir, "cache"), www.pw_uid, www.pw_gid)
    h.write("cgi-bin/who.cgi", WHO_CGI.replace("@EXTRA@", ""), mode=0o755)
    for name, text, mode in files:
        os.makedirs(os.path.dirname(os.path.join(h.dir, name)), mode=0o755, exist_ok=True)
        h.write(name, text, mode=mode)
    return h.start()


INDEX = """
    CacheReadSize 1048576
    <Directory @DIR@/htdocs/sub>
        Options +ExecCGI
        AddHandler cgi-script .cgi
        DirectoryIndex index.cgi
        %s
    </Directory>
"""


@pytest.mark.parametrize("quick", ["On", "Off"])
@pytest.mark.parametrize("guard", ["",
                                   "AuthType authjs\nRequire valid-user\nAuthProxyUnauthAction pass"])
def test_a_directory_index_keeps_its_page_personal(httpd_factory, upstream, quick, guard):
    """mod_dir's fast redirect takes no_cache from its subrequest, whose
    session was resolved by the main request."""
    h = cached_with(httpd_factory, upstream, quick, INDEX % guard,
                    [("htdocs/sub/index.cgi", WHO_CGI.replace("@EXTRA@", ""), 0o755),
                     ("htdocs/docs/index.html", "<h1>docs</h1>\n", 0o644)])
    young = mint(token_request({"email": "alice@example.com", "sub": "a"}))[0]
    assert get(h, "/sub/", young)[2] == b"user=alice@example.com\n"
    status, headers, _ = get(h, "/docs/", old_token())
    assert len(session_set_cookies(headers)) == 1
    for _ in range(2):
        assert get(h, "/sub/")[2] == b"user=\n"
        assert not session_set_cookies(get(h, "/docs/")[1])


SSI = """
    LoadModule include_module @MODULES@/mod_include.so
    <Location /page.shtml>
        AuthProxySession Off
        Options +Includes
        SetOutputFilter INCLUDES
    </Location>
"""


def test_a_page_whose_include_resolves_the_session_is_private(httpd_factory, upstream):
    """The text before the include leaves with the headers, before the
    subrequest finds the session: a request with the session cookie, its
    session not looked for yet, is taken for personal from the start."""
    h = cached_with(httpd_factory, upstream, "On", SSI,
                    [("htdocs/page.shtml", 'Hello\n<!--#include virtual="/cgi-bin/who.cgi" -->\n',
                      0o644)])
    young = mint(token_request({"email": "alice@example.com", "sub": "a"}))[0]
    status, headers, body = get(h, "/page.shtml", young)
    assert b"alice@example.com" in body and "private" in cache_control(headers)
    for _ in range(2):
        assert b"alice" not in get(h, "/page.shtml")[2]


@pytest.mark.parametrize("quick", ["On", "Off"])
def test_an_answer_under_authtype_authjs_is_never_stored_without_a_user(httpd_factory, upstream,
                                                                         quick):
    """A Require met without a user (an address) skips authentication."""
    h = cached_with(httpd_factory, upstream, quick, """
        <Location /cgi-bin/who.cgi>
            AuthType authjs
            AuthProxySession Off
            <RequireAny>
                Require ip 127.0.0.1
                Require valid-user
            </RequireAny>
        </Location>
    """)
    for _ in range(2):
        status, headers, _ = get(h, "/cgi-bin/who.cgi")
        assert status == 200 and not from_cache(headers) and "private" in cache_control(headers)


@pytest.mark.parametrize("status_doc", ["400", "413"])
def test_a_route_error_document_is_checked_again(httpd_factory, upstream, status_doc):
    """A route's ErrorDocument is an internal redirect: the route's grant
    must not carry over to the page it names."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        LimitRequestBody 10
        ProxyPass /app %s/__stats
        ErrorDocument %s /app
        <Location />
            AuthType authjs
            AuthProxyUnauthAction 401
            Require authjs-session
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET, upstream.origin, status_doc))
    assert h.request("GET", "/app")[0] == 401
    for raw in (b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                b"Content-Length: 100\r\n\r\n" + b"x" * 100):
        answer = h.raw(b"POST /api/auth/signin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Connection: close\r\n" + raw)
        assert b"session_calls" not in answer, answer[:300]


def test_a_sign_out_mark_outlives_a_fresh_30_day_token_in_memcached(httpd_factory, upstream,
                                                                    memcached):
    """memcached takes a lifetime over 30 days for a date: the mark until
    exp plus the leeway of a fresh token would be gone as it is stored."""
    import time
    h = httpd_factory("""
        LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxySessionRefresh 2
        AuthProxySessionCache memcache:127.0.0.1:%d
    """ % (upstream.origin, UPSTREAM_SECRET, memcached.port))
    # due for refresh, and its exp plus the leeway more than 30 days away
    fresh = mint(token_request({"email": "alice@example.com", "sub": "a"}, maxAge=2592000,
                               now=int(time.time()) - 5))[0]
    sign_out_at(h, fresh, "/api/auth/signout")
    env, cookies = visit(h, fresh)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com" and not cookies


def test_a_sign_out_holds_under_every_name_of_the_server(httpd_factory, upstream, memcached):
    h = httpd_factory("""
        LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
        <VirtualHost 127.0.0.1:@PORT@>
        ServerName app.test
        ServerAlias alias.test
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxySessionRefresh %d
        AuthProxySessionCache memcache:127.0.0.1:%d
        ScriptAlias /cgi-bin/ "@DIR@/cgi-bin/"
        </VirtualHost>
    """ % (upstream.origin, UPSTREAM_SECRET, PERIOD, memcached.port))
    token = old_token()
    browser = Browser(h, host="app.test:%d" % h.port)
    browser.cookies[COOKIE] = token
    assert browser.sign_out("/api/auth")[0] in (302, 303)
    for host in ("app.test", "alias.test"):
        status, headers, body = h.request("GET", "/cgi-bin/env.cgi", host="%s:%d" % (host, h.port),
                                          headers={"Cookie": session_cookie(token)})
        assert parse_env(body)["AUTHJS_USER_EMAIL"] == "alice@example.com"
        assert not session_set_cookies(headers), host


# ---- what the attacker's pass on the child's store and the refresh step found ----------

@pytest.mark.parametrize("via", ["ErrorDocument", "rewrite"])
def test_an_internal_redirect_to_a_published_page_refreshes(httpd_factory, upstream,
                                                            memcached, via):
    """A first pass where the session is Off is no reason to skip the refresh
    of the page an internal redirect (an ErrorDocument, a per-directory
    RewriteRule) publishes the session to."""
    h = httpd_factory("""
        LoadModule rewrite_module @MODULES@/mod_rewrite.so
        LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxySessionRefresh %d
        AuthProxySessionCache memcache:127.0.0.1:%d
        ErrorDocument 404 /cgi-bin/env.cgi
        <Directory "@DIR@/htdocs">
            AuthProxySession Off
            RewriteEngine On
            RewriteRule ^go$ /cgi-bin/env.cgi [PT,L]
        </Directory>
    """ % (upstream.origin, UPSTREAM_SECRET, PERIOD, memcached.port))
    token = old_token()
    calls = upstream.session_calls()
    status, headers, body = get(h, "/missing" if via == "ErrorDocument" else "/go", token)
    env = parse_env(body)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert len(session_set_cookies(headers)) == 1, headers
    assert upstream.session_calls() == calls + 1
