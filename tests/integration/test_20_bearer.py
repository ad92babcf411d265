# SPDX-License-Identifier: Apache-2.0
"""AuthProxyBearer: `Authorization: Bearer <token>` read as Auth.js's own
getToken() reads it (tests/upstream/mint.mjs asks it), resolved as the session
cookie of the origin; the 401 an API client gets; AuthProxyStripBearer."""
import concurrent.futures
import json
import time

import pytest

from harness import UPSTREAM_SECRET, Upstream, header, header_all, mint
from session_helpers import (ALICE, COOKIE, SECURE_COOKIE, authjs_vars, parse_env,
                             session_cookie, tampered, token_request, tokens, tokens_for)
from test_06_cache import SINGLE_PROCESS

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}

# /cgi-bin/env.cgi: Bearer tokens count, the backend sees Authorization;
# /off/: they do not; /api/: AuthType authjs, the header stripped once used;
# /api401/: always 401; /open/: AuthProxyUnauthAction pass, stripped once used
SITE = """
    LimitRequestFieldSize 32768
    AuthProxyUpstream %(upstream)s
    %(settings)s
    <Directory "@DIR@/cgi-bin">
        CGIPassAuth On
    </Directory>
    <Location /cgi-bin/>
        AuthProxyBearer On
    </Location>
    ScriptAlias /off/ "@DIR@/cgi-bin/"
    ScriptAlias /api/ "@DIR@/cgi-bin/"
    <Location /api/>
        AuthType authjs
        Require valid-user
        AuthProxyBearer On
        AuthProxyStripBearer On
    </Location>
    ScriptAlias /api401/ "@DIR@/cgi-bin/"
    <Location /api401/>
        AuthType authjs
        Require valid-user
        AuthProxyUnauthAction 401
        AuthProxyBearer On
    </Location>
    ScriptAlias /open/ "@DIR@/cgi-bin/"
    <Location /open/>
        AuthType authjs
        Require valid-user
        AuthProxyUnauthAction pass
        AuthProxyBearer On
        AuthProxyStripBearer On
    </Location>
    <Location /metrics>
        SetHandler authproxy-metrics
        AuthProxySession Off
    </Location>
"""


def site(httpd_factory, upstream, settings="AuthProxySecret " + UPSTREAM_SECRET, **kwargs):
    return httpd_factory(SITE % {"upstream": upstream.origin, "settings": settings}, **kwargs)


@pytest.fixture
def local(httpd_factory, upstream):
    """Tokens decoded here, with the upstream's secret."""
    return site(httpd_factory, upstream, loglevel="warn authproxy:trace1")


@pytest.fixture
def db(httpd_factory, upstream_db):
    """Database sessions, asked of the upstream's /session."""
    return site(httpd_factory, upstream_db, "AuthProxySessionStrategy database")


def bearer(token):
    return {"Authorization": "Bearer " + token}


def get(h, path="/cgi-bin/env.cgi", headers=None, pairs=None):
    """(status, response headers, the env it saw or None). `pairs`: header
    lines as (name, value), sent as given (one name twice)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "127.0.0.1:%d" % h.port)
        for name, value in list((headers or {}).items()) + list(pairs or []):
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        env = parse_env(body) if resp.status == 200 and path.endswith(".cgi") else None
        return resp.status, resp.getheaders(), env
    finally:
        conn.close()


def env_of(h, path="/cgi-bin/env.cgi", headers=None, pairs=None):
    status, _, env = get(h, path, headers, pairs)
    assert status == 200, status
    return env


def email(h, **kwargs):
    return env_of(h, **kwargs).get("AUTHJS_USER_EMAIL")


def every_char_escaped(token):
    return "".join("%%%02X" % ord(c) for c in token)


def test_a_minted_token_is_the_session_published_as_the_cookies(local, upstream):
    token, = tokens(ALICE)
    before = upstream.session_calls()
    by_cookie = authjs_vars(env_of(local, headers={"Cookie": session_cookie(token)}))
    env = env_of(local, headers=bearer(token))
    by_bearer = authjs_vars(env)
    assert by_bearer["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert by_bearer.pop("AUTHJS_SESSION_SOURCE") == "bearer"
    assert by_cookie.pop("AUTHJS_SESSION_SOURCE") == "local"
    assert by_bearer == by_cookie
    assert upstream.session_calls() == before, "local decoding asked the upstream"
    # the backend sees the header where nothing strips it
    assert env["HTTP_AUTHORIZATION"] == "Bearer " + token


@pytest.mark.parametrize("encode", [every_char_escaped, lambda t: t.replace(".", "%2e")])
def test_a_url_encoded_token(local, encode):
    token, = tokens(ALICE)
    assert email(local, headers=bearer(encode(token))) == "alice@example.com"


def test_expired_forged_foreign_and_other_cookie_names_are_refused(local):
    good, expired, foreign, secure = mint(
        token_request(ALICE), token_request(ALICE, maxAge=-60),
        token_request(ALICE, secret="not-the-upstream-secret-000000000000"),
        token_request(ALICE, cookie=SECURE_COOKIE))
    assert email(local, headers=bearer(good)) == "alice@example.com"
    for bad in (expired, tampered(good), foreign, secure, good[:-5], "x" * 20000):
        env = env_of(local, headers=bearer(bad))
        assert not authjs_vars(env), bad[:40]
        # a token the module refused stays the backend's (an API key of its own?)
        assert env["HTTP_AUTHORIZATION"] == "Bearer " + bad
    for line in local.error_log().splitlines():
        for t in (good, expired, foreign, secure):
            assert t[:40] not in line and t[-40:] not in line, "token in the log: " + line


def test_an_https_origin_takes_the_secure_name_only(httpd_factory, upstream):
    h = site(httpd_factory, upstream, "AuthProxySecret %s\nAuthProxyPublicOrigin https://app.test"
             % UPSTREAM_SECRET)
    plain, secure = mint(token_request(ALICE), token_request(ALICE, cookie=SECURE_COOKIE))
    assert email(h, headers=bearer(secure)) == "alice@example.com"
    assert email(h, headers=bearer(plain)) is None


def test_the_cookie_wins(local):
    alice, bob = tokens_for("alice@example.com", "bob@example.org")
    assert email(local, headers=dict(bearer(bob), Cookie=session_cookie(alice))) \
        == "alice@example.com"
    env = env_of(local, headers=dict(bearer(bob), Cookie=session_cookie(alice)))
    assert env["AUTHJS_SESSION_SOURCE"] == "local"
    # a broken cookie is a cookie all the same: anonymous, the header unread
    assert email(local, headers=dict(bearer(bob), Cookie=session_cookie(tampered(alice)))) \
        is None
    # an empty one holds no token, nor does the other family's
    assert email(local, headers=dict(bearer(bob), Cookie=COOKIE + "=")) == "bob@example.org"
    assert email(local, headers=dict(bearer(bob), Cookie=session_cookie(alice, SECURE_COOKIE))) \
        == "bob@example.org"


def test_off_by_default_and_where_it_is_off(local, httpd_factory, upstream):
    token, = tokens(ALICE)
    assert email(local, path="/off/env.cgi", headers=bearer(token)) is None
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySecret %s\n"
                      % (upstream.origin, UPSTREAM_SECRET))
    status, _, body = h.request("GET", "/cgi-bin/env.cgi", headers=bearer(token))
    assert status == 200 and not authjs_vars(parse_env(body))


def gettoken(*cases):
    """What Auth.js's getToken() finds in each case's header lines (name,
    value) on an http origin: the e-mail of its session, or None."""
    answers = mint(*({"op": "gettoken", "secret": UPSTREAM_SECRET, "secureCookie": False,
                      "headers": [list(p) for p in pairs]} for pairs in cases))
    return [(json.loads(a) or {}).get("email") for a in answers]


def test_hostile_headers_as_gettoken_reads_them(local):
    """Each Authorization (and Cookie) as the module reads it and as getToken()
    does: the same session or none, never a crash, never the token logged."""
    good, expired, secure = mint(token_request(ALICE), token_request(ALICE, maxAge=-60),
                                 token_request(ALICE, cookie=SECURE_COOKIE))
    auth = lambda value: [("Authorization", value)]
    cases = [
        auth("Bearer " + good),
        auth("Bearer " + every_char_escaped(good)),
        auth("Bearer " + good + " and more"),
        auth("Bearer " + good + " "),
        auth(" Bearer " + good),
        auth("Bearer  " + good),
        auth("Bearer   "),
        auth("Bearer"),
        auth("bearer " + good),
        auth("BEARER " + good),
        auth("Bearer\t" + good),
        auth("Bearer," + good),
        auth("Basic YWxpY2U6YWxpY2UtcHc="),
        auth("Bearer " + good + "%"),
        auth("Bearer " + good + "%4"),
        auth("Bearer %zz" + good),
        auth("Bearer " + good + "%00"),
        auth("Bearer %00"),
        auth("Bearer " + good + "%0d%0aX-Evil:%201"),
        auth("Bearer " + good + "%3B%20" + COOKIE + "%3D" + good),
        auth("Bearer %C3%A9" + good),
        auth("Bearer %ED%A0%80"),
        auth("Bearer " + good + ","),
        auth("Bearer " + tampered(good)),
        auth("Bearer " + expired),
        auth("Bearer " + secure),
        # a second Authorization header: joined with ", " by both
        auth("Bearer " + good) + auth("Bearer " + good),
        auth("Basic x") + auth("Bearer " + good),
        [("Cookie", COOKIE + "=")] + auth("Bearer " + good),
        [("Cookie", session_cookie(tampered(good)))] + auth("Bearer " + good),
        [("Cookie", session_cookie(good, SECURE_COOKIE))] + auth("Bearer " + good),
    ]
    for pairs, want in zip(cases, gettoken(*cases)):
        got = email(local, pairs=pairs)
        assert got == want, (pairs, got, want)
    assert local.proc.poll() is None
    for line in local.error_log().splitlines():
        assert good[:40] not in line and good[-40:] not in line, "token in the log: " + line


def test_a_huge_token_is_bounded_work(local):
    token, = tokens(ALICE)
    # past LimitRequestFieldSize: httpd answers 400 before any module reads it
    status, _, _ = get(local, headers=bearer("A" * (1024 * 1024)))
    assert status == 400
    # inside it, the decoder refuses more than 16 KiB at once
    start = time.monotonic()
    assert email(local, headers=bearer("A" * 30000)) is None
    assert email(local, headers=bearer("%41" * 10000)) is None
    assert time.monotonic() - start < 5
    assert email(local, headers=bearer(token)) == "alice@example.com"


def challenges(headers):
    return header_all(headers, "WWW-Authenticate")


REALM = 'realm="127.0.0.1"'


def test_a_refused_token_gets_401_invalid_token_never_the_sign_in(local):
    token, = tokens(ALICE)
    for headers in (BROWSER, JSON, {}):
        for bad in (tampered(token), "%zz", "a%00b"):
            status, hdrs, _ = get(local, "/api/env.cgi", dict(headers, **bearer(bad)))
            assert status == 401 and header(hdrs, "Location") is None, (headers, bad)
            assert challenges(hdrs) == ['authjs ' + REALM,
                                        'Bearer %s, error="invalid_token"' % REALM]
    assert local.tagged("AUTHPROXY064")
    status, hdrs, _ = get(local, "/api401/env.cgi", dict(BROWSER, **bearer(tampered(token))))
    assert status == 401 and 'error="invalid_token"' in challenges(hdrs)[-1]
    # pass lets the page decide, anonymous
    env = env_of(local, "/open/env.cgi", dict(BROWSER, **bearer(tampered(token))))
    assert not authjs_vars(env) and env["HTTP_AUTHORIZATION"]


def test_no_credential_keeps_the_answer_and_adds_the_challenge(local):
    status, hdrs, _ = get(local, "/api/env.cgi", BROWSER)
    assert status == 302 and header(hdrs, "Location").startswith("/api/auth/signin?")
    assert challenges(hdrs) == ["Bearer " + REALM]
    status, hdrs, _ = get(local, "/api/env.cgi", JSON)
    assert status == 401
    assert challenges(hdrs) == ["authjs " + REALM, "Bearer " + REALM]
    # another scheme is no Bearer token: no credential
    status, hdrs, _ = get(local, "/api/env.cgi", dict(JSON, Authorization="Basic eDp5"))
    assert status == 401 and challenges(hdrs)[-1] == "Bearer " + REALM
    status, hdrs, _ = get(local, "/api401/env.cgi", BROWSER)
    assert status == 401 and challenges(hdrs) == ["authjs " + REALM, "Bearer " + REALM]


def test_strip_bearer_once_the_session_came_from_it(local):
    token, = tokens(ALICE)
    env = env_of(local, "/api/env.cgi", bearer(token))
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env["REMOTE_USER"] == "alice@example.com"
    assert env["AUTHJS_SESSION_SOURCE"] == "bearer"
    assert "HTTP_AUTHORIZATION" not in env
    # a cookie's session leaves the header be
    env = env_of(local, "/api/env.cgi", {"Cookie": session_cookie(token),
                                         "Authorization": "Bearer other"})
    assert env["AUTHJS_SESSION_SOURCE"] == "local" and env["HTTP_AUTHORIZATION"] == "Bearer other"


def test_a_bearer_session_is_private_and_anonymous_answers_vary(local):
    token, = tokens(ALICE)
    status, hdrs, _ = get(local, "/cgi-bin/env.cgi", bearer(token))
    assert status == 200 and "private" in header(hdrs, "Cache-Control")
    status, hdrs, _ = get(local, "/cgi-bin/env.cgi")
    vary = ", ".join(header_all(hdrs, "Vary"))
    assert "Cookie" in vary and "Authorization" in vary
    status, hdrs, _ = get(local, "/off/env.cgi")
    assert "Authorization" not in ", ".join(header_all(hdrs, "Vary"))


def test_the_routes_forward_authorization_untouched(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location />
            AuthProxyBearer On
            AuthProxyStripBearer On
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    token, = tokens(ALICE)
    for value in ("Bearer " + token, "Bearer %zz", "bearer x"):
        status, _, body = h.request("GET", "/api/auth/__echo", headers={"Authorization": value})
        assert status == 200
        assert json.loads(body)["headers"]["authorization"] == value
    # and the pages around them still take it
    status, _, body = h.request("GET", "/cgi-bin/env.cgi", headers=bearer(token))
    assert authjs_vars(parse_env(body))["AUTHJS_USER_EMAIL"] == "alice@example.com"


def test_database_strategy_asks_the_upstream_as_the_cookie_and_keeps_it(db, upstream_db):
    made = upstream_db.db_session("bob@example.org")
    before = upstream_db.session_calls()
    env = env_of(db, headers=bearer(made["sessionToken"]))
    assert env["AUTHJS_USER_EMAIL"] == "bob@example.org"
    assert env["AUTHJS_SESSION_SOURCE"] == "bearer"
    assert env["AUTHJS_EXPIRES"] == made["expires"]
    assert upstream_db.session_calls() == before + 1
    sent = upstream_db.get_json("/__stats")["last_session_headers"]
    assert sent["cookie"] == session_cookie(made["sessionToken"])
    assert "authorization" not in sent
    # kept: the header again, and the same token as a cookie, ask nobody
    assert email(db, headers=bearer(made["sessionToken"])) == "bob@example.org"
    env = env_of(db, headers={"Cookie": session_cookie(made["sessionToken"])})
    assert env["AUTHJS_USER_EMAIL"] == "bob@example.org" and env["AUTHJS_SESSION_SOURCE"] == "cache"
    assert upstream_db.session_calls() == before + 1
    # unknown, or past Node's header limit at the upstream: anonymous, 401 under AuthType
    for bad in ("no-such-session", "x" * 20000):
        assert email(db, headers=bearer(bad)) is None
        status, hdrs, _ = get(db, "/api/env.cgi", dict(JSON, **bearer(bad)))
        assert status == 401 and 'error="invalid_token"' in challenges(hdrs)[-1]
    # nothing a token holds can add a cookie to the fetch
    assert email(db, headers=bearer("x%3B%20" + COOKIE + "%3D" + made["sessionToken"])) is None


def test_concurrent_tokens_make_a_single_upstream_call(httpd_factory):
    slow = Upstream("core", "/api/auth", ["--session-delay", "700"]).start()
    try:
        h = httpd_factory(SINGLE_PROCESS + SITE % {"upstream": slow.origin, "settings": ""})
        token, = tokens(ALICE)
        before = slow.session_calls()
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            envs = list(pool.map(lambda _: env_of(h, headers=bearer(token)), range(20)))
        assert all(e["AUTHJS_USER_EMAIL"] == "alice@example.com" for e in envs)
        assert {e["AUTHJS_SESSION_SOURCE"] for e in envs} == {"bearer"}
        assert slow.session_calls() == before + 1
    finally:
        slow.stop()


def test_a_bearer_session_is_never_refreshed(httpd_factory, upstream):
    h = site(httpd_factory, upstream, "AuthProxySecret %s\nAuthProxySessionRefresh 60"
             % UPSTREAM_SECRET)
    old, = mint(token_request(ALICE, maxAge=3600, now=int(time.time()) - 120))
    before = upstream.session_calls()
    status, hdrs, env = get(h, headers=bearer(old))
    assert env["AUTHJS_SESSION_SOURCE"] == "bearer"
    assert not header_all(hdrs, "Set-Cookie")
    assert upstream.session_calls() == before
    # the same token as a cookie is
    status, hdrs, env = get(h, headers={"Cookie": session_cookie(old)})
    assert env["AUTHJS_SESSION_SOURCE"] == "upstream"
    assert [c for c in header_all(hdrs, "Set-Cookie") if c.startswith(COOKIE)]


def scrape(h):
    status, _, body = h.request("GET", "/metrics")
    assert status == 200
    return body.decode()


def count(text, family, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    for line in text.splitlines():
        if line.startswith(family + "{") and line.split("} ")[0].endswith(want):
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError("no %s{%s} in\n%s" % (family, want, text))


def test_metrics_count_bearer_sessions_and_refusals(local):
    good, expired = mint(token_request(ALICE), token_request(ALICE, maxAge=-60))
    for headers in [bearer(good)] * 3 + [bearer(expired)] * 2 + [bearer("%zz")] \
            + [{"Cookie": session_cookie(good)}]:
        env_of(local, headers=headers)
    text = scrape(local)
    assert count(text, "authproxy_sessions_total", source="bearer") == 3
    assert count(text, "authproxy_sessions_total", source="local") == 1
    assert count(text, "authproxy_bearer_refused_total", reason="expired") == 2
    assert count(text, "authproxy_bearer_refused_total", reason="invalid_token") == 1
    assert count(text, "authproxy_anonymous_total", reason="expired") == 2
    assert count(text, "authproxy_anonymous_total", reason="invalid_token") == 1
