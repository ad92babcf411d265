# SPDX-License-Identifier: Apache-2.0
"""Trust, tried as an attacker would: no session crosses a tenant, no client
chooses the origin the upstream sees, the headers this module owns cannot be
spelled around, an upstream answer proves no more than it says, and the
cookie read is the one Auth.js itself would read."""
import concurrent.futures
import datetime
import http.server
import json
import threading

import pytest

from harness import UPSTREAM_SECRET, Browser, Upstream, header, on_origin, serving, vhost
from session_helpers import (COOKIE, SECURE_COOKIE, authjs_vars, env_of, env_with,
                             session_cookie, signed_in, token_for)

SECRET_B = "tenant-b-secret-0123456789abcdefghijkl"
SHARED_ORIGIN = "AuthProxyPublicOrigin http://shop.test\n"


def email_on(h, host, token):
    return env_with(h, token, host="%s:%d" % (host, h.port)).get("AUTHJS_USER_EMAIL")


# ---- 1. cached answers never cross VirtualHosts ------------------------------------

TENANTS = ["--tenant", "b=/tenant-b/auth:" + SECRET_B]


@pytest.fixture(scope="module")
def tenants():
    """One origin, two Auth.js deployments: /api/auth (the usual secret) and
    /tenant-b/auth (SECRET_B); X-Tenant: b sends /api/auth to the second."""
    yield from serving(Upstream("core", "/api/auth", TENANTS).start())


@pytest.fixture(scope="module")
def slow_tenants():
    """tenants whose /session answers take 300 ms each: concurrent misses
    overlap (the sequential tests would only wait them out)."""
    yield from serving(Upstream("core", "/api/auth", TENANTS + ["--session-delay", "300"]).start())


def two_tenants(httpd_factory, upstream, a, b, extra=""):
    return httpd_factory(extra + vhost("a.test", "AuthProxyUpstream %s\n%s%s"
                                       % (upstream.origin, SHARED_ORIGIN, a))
                         + vhost("b.test", "AuthProxyUpstream %s\n%s%s"
                                 % (upstream.origin, SHARED_ORIGIN, b)))


def check_tenants_apart(h):
    """Each tenant sees only its own users, whichever asks first, from the
    upstream and from the cache alike."""
    alice, bob = token_for("alice@a.test"), token_for("bob@b.test", secret=SECRET_B)
    for _ in range(2):
        assert email_on(h, "a.test", alice) == "alice@a.test"
        assert email_on(h, "b.test", alice) is None
    for _ in range(2):
        assert email_on(h, "b.test", bob) == "bob@b.test"
        assert email_on(h, "a.test", bob) is None
    # one's "no session" never hides the other's session
    carol, dave = token_for("carol@a.test"), token_for("dave@b.test", secret=SECRET_B)
    assert email_on(h, "b.test", carol) is None
    assert email_on(h, "a.test", carol) == "carol@a.test"
    assert email_on(h, "a.test", dave) is None
    assert email_on(h, "b.test", dave) == "dave@b.test"


def test_two_auth_js_under_two_prefixes_of_one_origin(httpd_factory, tenants):
    h = two_tenants(httpd_factory, tenants, "", "AuthProxyTargetPath /tenant-b/auth\n")
    check_tenants_apart(h)


def test_two_virtual_hosts_that_differ_only_in_a_header(httpd_factory, tenants):
    h = two_tenants(httpd_factory, tenants, "AuthProxyHeader X-Tenant a\n",
                    "AuthProxyHeader X-Tenant b\n")
    check_tenants_apart(h)


def test_concurrent_misses_of_two_tenants_wait_for_their_own_fetch(httpd_factory,
                                                                  slow_tenants):
    """One process, one cookie, two tenants at once: the single flight of one
    never lands as the other's answer (each /session takes 300 ms)."""
    h = two_tenants(httpd_factory, slow_tenants, "", "AuthProxyTargetPath /tenant-b/auth\n", extra="""
        StartServers 1
        ServerLimit 1
        ThreadsPerChild 16
        MaxRequestWorkers 16
    """)
    for n in range(3):
        alice = token_for("alice%d@a.test" % n)
        hosts = ["a.test", "b.test"] * 3
        with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
            emails = list(pool.map(lambda host: email_on(h, host, alice), hosts))
        assert emails == ["alice%d@a.test" % n, None] * 3


def test_sign_out_still_evicts_its_own_entry(httpd_factory, tenants):
    h = two_tenants(httpd_factory, tenants, "", "AuthProxyTargetPath /tenant-b/auth\n")
    browser = signed_in(h, host="a.test:%d" % h.port)
    token = browser.cookies[COOKIE]
    before = tenants.session_calls()
    assert email_on(h, "a.test", token) == "alice@example.com"
    assert email_on(h, "a.test", token) == "alice@example.com"
    assert tenants.session_calls() == before + 1
    status, _, _ = browser.sign_out("/api/auth")
    assert status in (302, 303)
    after = tenants.session_calls()
    email_on(h, "a.test", token)
    assert tenants.session_calls() == after + 1


# ---- 2. the client never chooses the origin the upstream sees ---------------------

APP = vhost("app.test", "", "www.app.test *.wild.test")


@pytest.fixture(scope="module")
def app(module_httpd_factory, upstream):
    return module_httpd_factory(APP.replace("</VirtualHost>", "AuthProxyUpstream %s\n"
                                     "</VirtualHost>" % upstream.origin))


def forwarded(h, host, path="/api/auth/__echo", **kw):
    status, _, body = h.request("GET", path, host=host, **kw)
    assert status == 200, body
    seen = json.loads(body)["headers"]
    return seen.get("x-forwarded-proto"), seen.get("x-forwarded-host")


def test_a_name_of_this_server_is_kept_any_other_gets_the_server_name(app):
    port = app.port
    own = "app.test:%d" % port
    assert forwarded(app, own) == ("http", own)
    assert forwarded(app, "APP.test:%d" % port) == ("http", own)
    assert forwarded(app, "www.app.test:%d" % port) == ("http", "www.app.test:%d" % port)
    assert forwarded(app, "x.wild.test:%d" % port) == ("http", "x.wild.test:%d" % port)
    # the default VirtualHost answers every unknown name: never on that name
    for evil in ("evil.example", "evil.example:%d" % port, "app.test.evil.example",
                 "wild.test:%d" % port):
        assert forwarded(app, evil) == ("http", own), evil
    # a name of the server on a port it does not serve
    assert forwarded(app, "app.test:6666") == ("http", own)
    # a wildcard takes any character; a URL built on this one would name evil.example
    status, _, body = app.request("GET", "/api/auth/__echo",
                                  host="x@evil.example#.wild.test:%d" % port)
    if status == 200:
        assert json.loads(body)["headers"]["x-forwarded-host"] == own


def test_other_headers_that_claim_an_origin_never_reach_the_upstream(app):
    claims = {"Forwarded": "host=evil.example;proto=https", "X-Forwarded-Port": "443",
              "x_forwarded_scheme": "https", "X-Forwarded-Ssl": "on", "X-Url-Scheme": "https",
              "Front-End-Https": "on", "X-Original-Host": "evil.example", "X-Host": "evil"}
    status, _, body = app.request("GET", "/api/auth/__echo", headers=claims,
                                  host="app.test:%d" % app.port)
    seen = json.loads(body)["headers"]
    assert not {folded(n) for n in seen} & {folded(n) for n in claims}, seen


def test_claims_of_a_path_or_a_server_never_reach_the_upstream(app):
    """X-Forwarded-Server arrives as mod_proxy sets it, the server's own name,
    never merged onto the client's; the mount point and the request's own URL
    as other stacks read them are never the client's, however spelled."""
    claims = {"x_forwarded_server": "evil.example", "X-Forwarded-Server": "evil.example",
              "X-FORWARDED-PREFIX": "/evil", "x-forwarded-path": "/evil",
              "X-Forwarded-Uri": "/admin", "X-Original-URL": "/admin", "x_rewrite_url": "/admin",
              "X-ORIGINAL-URI": "/admin", "X-Script-Name": "/evil", "Script_Name": "/evil",
              "FORWARDED": "host=evil.example", "X-Forwarded-Protocol": "ssl",
              "X_Scheme": "https", "X-Proxied-Https": "on"}
    status, _, body = app.request("GET", "/api/auth/__echo", headers=claims,
                                  host="app.test:%d" % app.port)
    seen = json.loads(body)["headers"]
    got = [(n, v) for n, v in seen.items() if folded(n) in {folded(c) for c in claims}]
    assert got == [("x-forwarded-server", "app.test")], seen


def test_sign_in_pages_and_redirects_never_name_a_foreign_host(app, upstream):
    own = "http://app.test:%d" % app.port
    status, _, body = app.request("GET", "/api/auth/providers", host="evil.example")
    assert status == 200
    assert json.loads(body)["credentials"]["signinUrl"] == own + "/api/auth/signin/credentials"
    status, hdrs, _ = app.request("GET", "/api/auth/__echo?status=302&location=%s/api/auth/x"
                                  % upstream.origin, host="evil.example")
    assert status == 302 and header(hdrs, "Location") == own + "/api/auth/x"


def test_absolute_form_targets_change_nothing(app):
    own = b"app.test:%d" % app.port
    for target in (b"http://evil.example/api/auth/__echo",
                   b"http://evil.example:%d/api/auth/__echo" % app.port):
        answer = app.raw(b"GET " + target + b" HTTP/1.1\r\nHost: app.test:%d\r\n"
                         b"Connection: close\r\n\r\n" % app.port)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert b'"x-forwarded-host":"' + own + b'"' in answer


def test_the_session_fetch_tells_the_same_origin(httpd_factory, upstream):
    h = httpd_factory(APP.replace("</VirtualHost>", "AuthProxyUpstream %s\n"
                                  "AuthProxySessionCache none\n</VirtualHost>" % upstream.origin))
    for host in ("evil.example", "www.app.test:%d" % h.port):
        h.request("GET", "/index.html", host=host, headers={"Cookie": COOKIE + "=x"})
        seen = upstream.get_json("/__stats")["last_session_headers"]
        want = host if host.startswith("www") else "app.test:%d" % h.port
        assert (seen["x-forwarded-proto"], seen["x-forwarded-host"]) == ("http", want)


@pytest.mark.parametrize("preserve", ["Off", "On"])
def test_the_session_fetch_hears_the_modules_headers_only(httpd_factory, upstream, preserve):
    """Whatever the client sends and ProxyPreserveHost says: Host is the
    upstream's own (or the public origin's), and of the client's headers only
    the session cookie goes."""
    h = httpd_factory(APP.replace("</VirtualHost>", """
        ProxyPreserveHost On
        AuthProxyUpstream %s
        AuthProxyPreserveHost %s
        AuthProxyHeader X-Api-Key from-config
        AuthProxySessionCache none
        </VirtualHost>""" % (upstream.origin, preserve)))
    own = "app.test:%d" % h.port
    h.request("GET", "/index.html", host="evil.example", headers={
        "Cookie": "other=1; %s=x" % COOKIE, "Accept": "text/html", "User-Agent": "client",
        "X-Forwarded-Server": "evil.example", "X-Original-URL": "/admin", "X-Custom": "client",
        "Forwarded": "host=evil.example", **SPELLINGS})
    assert upstream.get_json("/__stats")["last_session_headers"] == {
        "host": own if preserve == "On" else "127.0.0.1:%d" % upstream.port,
        "user-agent": "mod_authproxy", "accept": "application/json", "cookie": COOKIE + "=x",
        "x-forwarded-proto": "http", "x-forwarded-host": own, "x-api-key": "from-config"}


def test_the_session_fetch_takes_no_proxy_from_the_environment(httpd_factory, upstream,
                                                                answers):
    """mod_proxy's routes go straight to the upstream; so does the fetch, even
    where httpd was started with http_proxy set: that proxy would see every
    session cookie, and could answer for the upstream."""
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySessionCache none\n" % upstream.origin,
                      start=False)
    h.env.update(http_proxy=answers.origin, all_proxy=answers.origin)
    h.start()
    assert authjs_vars(env_with(h, "valid")) == {}
    assert upstream.get_json("/__stats")["last_session_headers"]["cookie"] == COOKIE + "=valid"


def test_use_canonical_name_on(httpd_factory, upstream):
    h = httpd_factory(vhost("app.test:@PORT@", "UseCanonicalName On\nAuthProxyUpstream %s\n"
                            "AuthProxyPreserveHost On\n" % upstream.origin, "www.app.test"))
    own = "app.test:%d" % h.port
    for host in ("www.app.test:%d" % h.port, "evil.example"):
        status, _, body = h.request("GET", "/api/auth/__echo", host=host)
        seen = json.loads(body)["headers"]
        assert (seen["x-forwarded-host"], seen["host"]) == (own, own)


def test_public_origin_pins_scheme_host_and_port(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxyPublicOrigin HTTPS://App.Example.com:8443/
        AuthProxyPreserveHost On
    """ % upstream.origin)
    pinned = "https://app.example.com:8443"
    for host in ("127.0.0.1:%d" % h.port, "evil.example"):
        status, _, body = h.request("GET", "/api/auth/__echo", host=host)
        seen = json.loads(body)["headers"]
        assert (seen["x-forwarded-proto"], seen["x-forwarded-host"], seen["host"]) == \
            ("https", "app.example.com:8443", "app.example.com:8443")
    status, _, body = h.request("GET", "/api/auth/providers", host="evil.example")
    assert json.loads(body)["credentials"]["signinUrl"] == pinned + "/api/auth/signin/credentials"
    status, hdrs, _ = h.request("GET", "/api/auth/__echo?status=302&location=%s/api/auth/e"
                                % upstream.origin)
    assert header(hdrs, "Location") == pinned + "/api/auth/e"


@pytest.mark.parametrize("value", ["https://app.example.com/app", "ftp://app.example.com",
                                   "app.example.com", "https://u:p@app.example.com",
                                   "https://app.example.com/?x=1", "https://:8443",
                                   "https://app.example.com:0"])
def test_public_origin_must_be_an_origin(httpd_factory, value):
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:9\nAuthProxyPublicOrigin %s\n"
                      % value, start=False)
    rc, out = h.configtest()
    assert rc != 0 and "AuthProxyPublicOrigin" in out, out


# ---- 3. headers the module owns cannot be spelled around ---------------------------

SPELLINGS = {"x_api_key": "evil-1", "X_API-KEY": "evil-2", "x-forwarded_host": "evil.example",
             "X_Forwarded_Proto": "gopher", "X-Authjs-User-Email": "mallory@evil.example",
             "x_authjs_claim_role": "admin", "XAuthjs": "1"}


def folded(name):
    return name.lower().replace("_", "-")


def test_owned_headers_replace_every_spelling_on_routes(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxyHeader X-Api-Key from-config\n"
                      % upstream.origin)
    status, _, body = h.request("GET", "/api/auth/__echo", headers=SPELLINGS)
    seen = json.loads(body)["headers"]
    by_fold = {}
    for name, value in seen.items():
        by_fold.setdefault(folded(name), []).append((name, value))
    assert by_fold["x-api-key"] == [("x-api-key", "from-config")]
    assert by_fold["x-forwarded-host"] == [("x-forwarded-host", "127.0.0.1:%d" % h.port)]
    assert by_fold["x-forwarded-proto"] == [("x-forwarded-proto", "http")]
    assert not [n for n in seen if folded(n).replace("-", "").startswith("xauthjs")]
    assert h.tagged("AUTHPROXY024", "X-Authjs-User-Email")


def test_the_fetch_sends_the_configured_header_only(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxyHeader X-Api-Key from-config\n"
                      "AuthProxySessionCache none\n" % upstream.origin)
    h.request("GET", "/index.html", headers={"Cookie": COOKIE + "=x", **SPELLINGS})
    seen = upstream.get_json("/__stats")["last_session_headers"]
    assert [(n, v) for n, v in seen.items() if folded(n) == "x-api-key"] == \
        [("x-api-key", "from-config")]
    assert not [n for n in seen if "authjs" in n or n.startswith("x_")]


@pytest.mark.parametrize("pass_headers", ["Off", "On"])
def test_no_client_authjs_header_reaches_a_backend(httpd_factory, upstream, pass_headers):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /backend/>
            AuthProxyPassHeaders %s
            ProxyPass %s/api/auth/__echo/
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET, pass_headers, upstream.origin))
    for cookie in (None, session_cookie(token_for("alice@example.com"))):
        hdrs = dict(SPELLINGS, **({"Cookie": cookie} if cookie else {}))
        status, _, body = h.request("GET", "/backend/x", headers=hdrs)
        seen = json.loads(body)["headers"]
        ours = {n: v for n, v in seen.items() if folded(n).replace("-", "").startswith("xauthjs")}
        if pass_headers == "On" and cookie:
            assert ours["x-authjs-user-email"] == "alice@example.com"
            assert all(n.startswith("x-authjs-") for n in ours)
            assert "x-authjs-claim-role" not in ours
        else:
            assert ours == {}
    assert h.tagged("AUTHPROXY024", "x_authjs_claim_role")


# ---- 4. upstream answers prove no more than they say ------------------------------

def iso(delta):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


ANSWERS = {
    "valid": lambda: {"user": {"email": "v@x.test", "name": None}, "expires": iso(3600)},
    "past": lambda: {"user": {"email": "p@x.test"}, "expires": iso(-5)},
    "unparsable": lambda: {"user": {"email": "u@x.test"}, "expires": "tomorrow"},
    "no-expires": lambda: {"user": {"email": "n@x.test"}},
    "number-expires": lambda: {"user": {"email": "n@x.test"}, "expires": 1e12},
    "user-string": lambda: {"user": "u@x.test", "expires": iso(3600)},
    "user-list": lambda: {"user": [{"email": "l@x.test"}], "expires": iso(3600)},
    "email-number": lambda: {"user": {"email": 7}, "expires": iso(3600)},
    "name-object": lambda: {"user": {"email": "o@x.test", "name": {"x": 1}},
                            "expires": iso(3600)},
    "id-list": lambda: {"user": {"email": "i@x.test", "id": ["root"]}, "expires": iso(3600)},
}


class AnswerServer:
    """An upstream whose /session answers what the cookie's value names."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                cookie = self.headers.get("Cookie", "")
                case = cookie.split("=", 1)[-1]
                body = json.dumps(ANSWERS[case]() if case in ANSWERS else None).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def answers():
    yield from serving(AnswerServer())


def test_only_a_well_formed_unexpired_answer_is_a_session(httpd_factory, answers):
    h = httpd_factory("AuthProxyUpstream %s\n" % answers.origin)
    for _ in range(2):  # the second time from the cache, where there is an entry
        for case in ANSWERS:
            ours = authjs_vars(env_with(h, case))
            if case == "valid":
                assert ours["AUTHJS_USER_EMAIL"] == "v@x.test"
                assert "AUTHJS_USER_NAME" not in ours
            else:
                assert ours == {}, case
    for why in ("answer's expires has passed", "answer has no valid expires",
                "answer holds no user object", "user.email is neither a string nor null",
                "user.name is neither", "user.id is neither"):
        assert h.tagged("AUTHPROXY019", why), why


# ---- 5. the cookie Auth.js itself would read --------------------------------------

def test_http_reads_the_plain_name_and_a_secure_one_hides_nothing(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySecret %s\n"
                      % (upstream.origin, UPSTREAM_SECRET))
    plain, secure = token_for("plain@x.test"), token_for("secure@x.test", cookie=SECURE_COOKIE)
    both = "%s=garbage.x.y; %s=%s" % (SECURE_COOKIE, COOKIE, plain)
    assert env_of(h, both).get("AUTHJS_USER_EMAIL") == "plain@x.test"
    assert env_with(h, secure, name=SECURE_COOKIE).get("AUTHJS_USER_EMAIL") is None


@pytest.mark.parametrize("secret", [True, False], ids=["local", "fetch"])
def test_https_origin_reads_the_secure_name_only(httpd_factory, upstream, secret):
    h = httpd_factory("""
        LimitRequestFieldSize 32768
        AuthProxyUpstream %s
        AuthProxyPublicOrigin https://app.test
        %s
    """ % (upstream.origin, "AuthProxySecret " + UPSTREAM_SECRET if secret else ""))
    plain, secure = token_for("plain@x.test"), token_for("secure@x.test", cookie=SECURE_COOKIE)
    assert env_of(h, "%s=junk; %s=%s" % (COOKIE, SECURE_COOKIE, secure)).get(
        "AUTHJS_USER_EMAIL") == "secure@x.test"
    assert env_of(h, "%s=junk; %s=%s" % (SECURE_COOKIE, COOKIE, plain)).get(
        "AUTHJS_USER_EMAIL") is None
    assert env_with(h, plain).get("AUTHJS_USER_EMAIL") is None
    # chunks of the __Secure- name
    big = token_for("big@x.test", cookie=SECURE_COOKIE, maxAge=3600)
    half = len(big) // 2
    chunked = "%s.1=%s; %s.0=%s" % (SECURE_COOKIE, big[half:], SECURE_COOKIE, big[:half])
    assert env_of(h, chunked).get("AUTHJS_USER_EMAIL") == "big@x.test"


def test_sign_in_through_an_https_public_origin(httpd_factory, upstream):
    """Auth.js, told https, sets __Secure- cookies; the module reads those."""
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxyPublicOrigin https://app.test\n"
                      % upstream.origin)
    browser = Browser(h)
    status, hdrs, _ = browser.sign_in("/api/auth", "alice@example.com", "alice-pw")
    assert status in (302, 303) and on_origin(header(hdrs, "Location"), "https://app.test")
    assert SECURE_COOKIE in browser.cookies and COOKIE not in browser.cookies
    status, _, body = browser.get("/cgi-bin/env.cgi")
    assert "AUTHJS_USER_EMAIL=alice@example.com" in body.decode()


def test_a_rewritten_path_never_names_another_host(httpd_factory, upstream_auth_prefix):
    """Under a root local prefix, the upstream's /auth//evil.example/x would
    become //evil.example/x: another host to a browser."""
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxyLocalPath /\nAuthProxyTargetPath /auth\n"
                      % upstream_auth_prefix.origin)
    for sent, want in (("/auth//evil.example/x", "/.//evil.example/x"),
                       ("/auth/%5Cevil.example/x", "/./\\evil.example/x")):
        status, hdrs, _ = h.request("GET", "/__echo?status=302&location=" + sent)
        assert status == 302 and header(hdrs, "Location") == want, header(hdrs, "Location")
