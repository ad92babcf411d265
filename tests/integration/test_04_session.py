# SPDX-License-Identifier: Apache-2.0
"""The session, resolved by the module, as CGI, PHP and proxied backends see it."""
import json
import os
import re
import time

import pytest

from harness import UPSTREAM_SECRET, free_port, mint
from session_helpers import (ALICE, COOKIE, authjs_vars, env_of, env_with, parse_env,
                             signed_in, tampered, token_request, tokens)


@pytest.fixture(scope="module")
def local_app(module_httpd_factory, upstream):
    return module_httpd_factory("""
        LimitRequestFieldSize 32768
        AuthProxyUpstream %s
        AuthProxySecret %s
    """ % (upstream.origin, UPSTREAM_SECRET))


@pytest.fixture(scope="module")
def remote_app(module_httpd_factory, upstream):
    return module_httpd_factory("LimitRequestFieldSize 32768\nAuthProxyUpstream %s\n" % upstream.origin)


def check_alice(env, source):
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env["AUTHJS_USER_NAME"] == "Alice Example"
    assert env["AUTHJS_USER_ID"] == "u-alice"
    assert env["AUTHJS_SESSION_SOURCE"] == source
    assert env["AUTHJS_EXPIRES"].endswith("Z") and "T" in env["AUTHJS_EXPIRES"]
    session = json.loads(env["AUTHJS_SESSION"])
    assert session["user"]["email"] == "alice@example.com"
    assert session["expires"]


def test_cgi_sees_the_session_decoded_locally(local_app, upstream):
    browser = signed_in(local_app)
    before = upstream.session_calls()
    env = env_of(local_app, browser.cookie_header())
    check_alice(env, "local")
    assert env["AUTHJS_CLAIM_JTI"]
    assert int(env["AUTHJS_CLAIM_IAT"]) > 0
    assert upstream.session_calls() == before, "local decoding asked the upstream"
    assert "AUTHJS_TOKEN" not in env


def test_cgi_sees_the_session_from_the_upstream_without_secret(remote_app, upstream):
    browser = signed_in(remote_app)
    before = upstream.session_calls()
    env = env_of(remote_app, browser.cookie_header())
    check_alice(env, "upstream")
    assert upstream.session_calls() == before + 1


def test_database_strategy_asks_the_upstream(httpd_factory, upstream_db):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionStrategy database
        AuthProxySecret %s
    """ % (upstream_db.origin, UPSTREAM_SECRET))
    made = upstream_db.db_session("bob@example.org")
    env = env_with(h, made["sessionToken"])
    assert env["AUTHJS_USER_EMAIL"] == "bob@example.org"
    assert env["AUTHJS_USER_ID"] == "u-bob"
    assert env["AUTHJS_SESSION_SOURCE"] == "upstream"
    assert env["AUTHJS_EXPIRES"] == made["expires"]
    assert not authjs_vars(env_with(h, "unknown-session"))


@pytest.mark.parametrize("app", ["local_app", "remote_app"])
def test_anonymous_requests_get_no_variables(request, app):
    h = request.getfixturevalue(app)
    assert not authjs_vars(env_of(h))
    assert not authjs_vars(env_of(h, "other=1"))
    assert not authjs_vars(env_with(h, ""))


@pytest.mark.parametrize("app", ["local_app", "remote_app"])
def test_bad_cookies_are_anonymous(request, app):
    h = request.getfixturevalue(app)
    good, expired, foreign = mint(
        token_request(ALICE), token_request(ALICE, maxAge=-60),
        token_request(ALICE, secret="not-the-upstream-secret-000000000000"))
    assert authjs_vars(env_with(h, good))["AUTHJS_USER_EMAIL"] == "alice@example.com"
    for bad in (tampered(good), expired, foreign, good[:-5], good + "x", "x" * 20000,
                "a.b.c.d.e", good.replace(".", "..", 1)):
        assert not authjs_vars(env_with(h, bad)), bad[:40]
    assert h.proc.poll() is None
    for line in h.error_log().splitlines():
        assert good[:40] not in line and good[-40:] not in line, "token in the log: " + line


def test_session_off_in_a_location_publishes_nothing_and_asks_nobody(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        <Location /cgi-bin/env.cgi>
            AuthProxySession Off
        </Location>
    """ % upstream.origin)
    browser = signed_in(h)
    h.write("cgi-bin/on.cgi", open(os.path.join(h.dir, "cgi-bin", "env.cgi")).read(), 0o755)
    before = upstream.session_calls()
    assert not authjs_vars(env_of(h, browser.cookie_header()))
    assert upstream.session_calls() == before
    assert env_of(h, browser.cookie_header(), "/cgi-bin/on.cgi")["AUTHJS_USER_EMAIL"]
    assert upstream.session_calls() == before + 1


def test_chunked_cookies(httpd_factory, upstream):
    h = httpd_factory("""
        LimitRequestFieldSize 32768
        AuthProxyUpstream %s
        AuthProxySecret %s
    """ % (upstream.origin, UPSTREAM_SECRET))
    payload = {"email": "big@example.com", "sub": "u-big", "blob": "z" * 9000}
    big, = tokens(payload)
    third = len(big) // 3
    chunks = [big[:third], big[third:2 * third], big[2 * third:]]
    cookie = "; ".join("%s.%d=%s" % (COOKIE, i, c) for i, c in reversed(list(enumerate(chunks))))
    env = env_of(h, cookie)
    assert env["AUTHJS_USER_EMAIL"] == "big@example.com"
    assert env["AUTHJS_CLAIM_BLOB"] == "z" * 9000
    assert not authjs_vars(env_of(h, "%s.0=%s; %s.2=%s" % (COOKIE, chunks[0], COOKIE, chunks[2])))


def test_secret_rotation_and_secret_file(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret new-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa file:@DIR@/old.secret
    """ % upstream.origin, start=False)
    h.write("old.secret", UPSTREAM_SECRET + "\n", 0o600)
    h.start()
    old, new = mint(
        token_request({"email": "o@x"}),
        token_request({"email": "n@x"}, secret="new-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
    assert env_with(h, old)["AUTHJS_USER_EMAIL"] == "o@x"
    assert env_with(h, new)["AUTHJS_USER_EMAIL"] == "n@x"
    assert UPSTREAM_SECRET not in h.error_log()


def test_pass_token_and_strip_cookie(httpd_factory, upstream):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /cgi-bin/>
            AuthProxyPassToken On
            AuthProxyStripCookie On
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    browser = signed_in(h)
    env = env_of(h, browser.cookie_header() + "; theme=dark")
    assert env["AUTHJS_TOKEN"] == browser.cookies[COOKIE]
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert COOKIE not in env.get("HTTP_COOKIE", "")
    assert "theme=dark" in env["HTTP_COOKIE"]


def test_upstream_down_serves_the_page_anonymously(httpd_factory):
    port = free_port()
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:%d\nAuthProxyTimeout 2\n" % port)
    h.expect_log("AUTHPROXY017", r"http://127\.0\.0\.1:%d/api/auth/session" % port)
    env = env_with(h, "some-token")
    assert not authjs_vars(env)
    errors = h.error_lines()
    assert len(errors) == 1 and "some-token" not in errors[0]
    assert errors == h.tagged("AUTHPROXY017", "http://127.0.0.1:%d/api/auth/session" % port,
                              "Failed to connect")


def test_silent_upstream_is_bounded_by_the_timeout(httpd_factory, silent_upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxyTimeout 1\n" % silent_upstream.origin)
    h.expect_log("AUTHPROXY017", r"%s/api/auth/session .*Operation timed out"
                 % re.escape(silent_upstream.origin))
    started = time.monotonic()
    assert not authjs_vars(env_with(h, "some-token"))
    assert time.monotonic() - started < 10


def test_php_fpm_sees_the_session(httpd_factory, upstream, php_fpm):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <FilesMatch "\\.php$">
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
    """ % (upstream.origin, UPSTREAM_SECRET, php_fpm.port))
    h.write("htdocs/whoami.php",
            "<?php echo 'email=', $_SERVER['AUTHJS_USER_EMAIL'] ?? '(none)', \"\\n\";\n"
            "echo 'source=', $_SERVER['AUTHJS_SESSION_SOURCE'] ?? '(none)', \"\\n\";\n")
    status, _, body = h.request("GET", "/whoami.php")
    assert status == 200 and b"email=(none)" in body, body
    browser = signed_in(h)
    status, _, body = browser.get("/whoami.php")
    assert status == 200
    assert b"email=alice@example.com" in body and b"source=local" in body, body


@pytest.fixture(scope="module")
def backend_app(module_httpd_factory, upstream):
    """A proxied backend (the upstream's echo route) behind PassHeaders."""
    return module_httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /backend/>
            AuthProxyPassHeaders On
            ProxyPass %s/api/auth/__echo/
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET, upstream.origin))


SPOOFS = {"X-Authjs-User-Email": "mallory@evil.example", "x-authjs-claim-role": "admin",
          "X_Authjs_User_Id": "root", "XAuthjs-Session": "{}"}


def test_proxied_backend_gets_session_headers(backend_app):
    browser = signed_in(backend_app)
    status, _, body = browser.get("/backend/page", headers=SPOOFS)
    assert status == 200
    seen = json.loads(body)["headers"]
    assert seen["x-authjs-user-email"] == "alice@example.com"
    assert seen["x-authjs-user-id"] == "u-alice"
    assert seen["x-authjs-session-source"] == "local"
    assert "x-authjs-claim-role" not in seen
    assert "x_authjs_user_id" not in seen and "xauthjs-session" not in seen
    assert json.loads(seen["x-authjs-session"])["user"]["email"] == "alice@example.com"
    assert backend_app.tagged("AUTHPROXY024", "X-Authjs-User-Email")


def test_proxied_backend_never_gets_spoofed_headers_anonymously(backend_app):
    status, _, body = backend_app.request("GET", "/backend/page", headers=SPOOFS)
    assert status == 200
    seen = json.loads(body)["headers"]
    assert not [k for k in seen if k.replace("-", "").replace("_", "").startswith("xauthjs")]


def test_route_requests_publish_nothing(local_app):
    browser = signed_in(local_app)
    status, _, body = browser.get("/api/auth/__echo")
    seen = json.loads(body)["headers"]
    assert not [k for k in seen if k.startswith("x-authjs")]


@pytest.fixture(scope="module")
def probe_module():
    """Another module, built with apxs, that calls the optional function."""
    import shutil
    import subprocess
    from harness import ROOT, public_tempdir
    tmp = public_tempdir("authproxy-probe-")
    src = os.path.join(os.path.dirname(__file__), "modules", "mod_authproxy_probe.c")
    shutil.copy(src, tmp)
    subprocess.run(["apxs", "-c", "-I" + ROOT, "mod_authproxy_probe.c"], cwd=tmp, check=True,
                   capture_output=True, timeout=120)
    yield os.path.join(tmp, ".libs", "mod_authproxy_probe.so")
    shutil.rmtree(tmp, ignore_errors=True)


def test_other_modules_get_the_session_through_the_optional_function(httpd_factory, upstream,
                                                                     probe_module):
    h = httpd_factory("""
        LoadModule authproxy_probe_module %s
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /probe>
            SetHandler authproxy-probe
        </Location>
        <Location /probe-off>
            SetHandler authproxy-probe
            AuthProxySession Off
        </Location>
    """ % (probe_module, upstream.origin, UPSTREAM_SECRET))
    status, _, body = h.request("GET", "/probe")
    assert (status, body) == (200, b"anonymous\n")
    browser = signed_in(h)
    status, _, body = browser.get("/probe")
    got = parse_env(body)
    assert got["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert got["AUTHJS_SESSION_SOURCE"] == "local"
    # the function answers wherever it is asked; AuthProxySession Off only stops publishing
    status, _, body = browser.get("/probe-off")
    assert b"AUTHJS_USER_EMAIL=alice@example.com" in body
