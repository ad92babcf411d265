# SPDX-License-Identifier: Apache-2.0
"""The browser stays on the app's origin through the whole sign-in."""
import json
import re

import pytest

from harness import Browser, header, header_all, on_origin, vhost

APP_HOST = "app.test"


def app_vhost(directives):
    """The app's VirtualHost: the upstream is told its name, app.test."""
    return vhost(APP_HOST, directives)


def app_origin(h):
    return "http://%s:%d" % (APP_HOST, h.port)


def check_sign_in_stays_on_app(h, prefix):
    origin = app_origin(h)
    browser = Browser(h, host="%s:%d" % (APP_HOST, h.port))

    status, _, body = browser.get(prefix + "/providers")
    assert status == 200
    creds = json.loads(body)["credentials"]
    assert creds["signinUrl"] == origin + prefix + "/signin/credentials"
    assert creds["callbackUrl"] == origin + prefix + "/callback/credentials"

    status, _, body = browser.get(prefix + "/signin")
    assert status == 200
    actions = re.findall(rb'action="([^"]+)"', body)
    assert actions, body[:500]
    for action in actions:
        assert action.decode().startswith(origin + prefix + "/"), action

    status, hdrs, _ = browser.sign_in(prefix, "bob@example.org", "bob-pw")
    assert status in (302, 303)
    assert on_origin(header(hdrs, "Location"), origin)
    status, _, body = browser.get(prefix + "/session")
    assert json.loads(body)["user"]["email"] == "bob@example.org"

    status, hdrs, _ = browser.get(prefix + "/signout")
    assert status == 200
    status, hdrs, _ = browser.post_form(prefix + "/signin/credentials",
                                        {"csrfToken": "forged"})
    if header(hdrs, "Location"):
        assert on_origin(header(hdrs, "Location"), origin)


def test_core_upstream_learns_the_origin_from_x_forwarded_host(httpd_factory, upstream):
    h = httpd_factory(app_vhost("AuthProxyUpstream %s\n" % upstream.origin))
    check_sign_in_stays_on_app(h, "/api/auth")


def test_express_upstream_needs_preserve_host(httpd_factory, upstream_express):
    h = httpd_factory(app_vhost("AuthProxyUpstream %s\nAuthProxyPreserveHost On\n"
                                % upstream_express.origin))
    check_sign_in_stays_on_app(h, "/api/auth")
    status, _, body = h.request("GET", "/api/auth/__echo", host="%s:%d" % (APP_HOST, h.port))
    assert json.loads(body)["headers"]["host"] == "%s:%d" % (APP_HOST, h.port)


def test_express_upstream_without_preserve_host_names_itself(httpd_factory, upstream_express):
    """Why the README asks for AuthProxyPreserveHost On with @auth/express."""
    h = httpd_factory(app_vhost("AuthProxyUpstream %s\n" % upstream_express.origin))
    status, _, body = h.request("GET", "/api/auth/providers", host="%s:%d" % (APP_HOST, h.port))
    assert json.loads(body)["credentials"]["signinUrl"].startswith(upstream_express.origin)


PROXY_PRESERVE_HOST = {
    "vhost": "ProxyPreserveHost On\n",
    "location": "<Location />\n    ProxyPreserveHost On\n</Location>\n",
}


@pytest.mark.parametrize("scope", sorted(PROXY_PRESERVE_HOST))
@pytest.mark.parametrize("kind", ["express", "core"])
def test_proxy_preserve_host_never_passes_the_clients_host(httpd_factory, request, kind, scope):
    """mod_proxy's ProxyPreserveHost On, common where the VirtualHost also
    proxies the app, would pass the client's Host on: @auth/express builds its
    pages, callback URLs and e-mail links from it."""
    up = request.getfixturevalue("upstream_express" if kind == "express" else "upstream")
    for preserve in ("Off", "On"):
        h = httpd_factory(app_vhost(PROXY_PRESERVE_HOST[scope] + "AuthProxyUpstream %s\n"
                                    "AuthProxyPreserveHost %s\n" % (up.origin, preserve)))
        own = "%s:%d" % (APP_HOST, h.port)
        # @auth/express names the origin it hears as Host: its own, without AuthProxyPreserveHost
        named = up.origin if kind == "express" and preserve == "Off" else app_origin(h)

        status, _, body = h.request("GET", "/api/auth/providers", host="evil.example")
        assert status == 200
        creds = json.loads(body)["credentials"]
        assert creds["signinUrl"] == named + "/api/auth/signin/credentials"
        assert creds["callbackUrl"] == named + "/api/auth/callback/credentials"
        status, _, body = h.request("GET", "/api/auth/signin", host="evil.example")
        assert status == 200 and b"evil.example" not in body
        actions = re.findall(rb'action="([^"]+)"', body)
        assert actions and all(a.decode().startswith(named + "/api/auth/") for a in actions)

        status, _, body = h.request("GET", "/api/auth/__echo", host="evil.example")
        seen = json.loads(body)["headers"]
        assert seen["host"] == (own if preserve == "On" else "127.0.0.1:%d" % up.port)
        assert seen["x-forwarded-host"] == own


def test_target_prefix_differs_from_local_prefix(httpd_factory, upstream_auth_prefix):
    h = httpd_factory(app_vhost("""
        AuthProxyUpstream %s
        AuthProxyLocalPath /api/auth
        AuthProxyTargetPath /auth
    """ % upstream_auth_prefix.origin))
    origin = app_origin(h)
    host = "%s:%d" % (APP_HOST, h.port)
    up = upstream_auth_prefix.origin

    def location_for(target):
        status, hdrs, _ = h.request("GET", "/api/auth/__echo?status=302&location=" + target,
                                    host=host)
        assert status == 302
        return header(hdrs, "Location")

    # the upstream's own origin and the public origin, with the target prefix
    assert location_for(up + "/auth/signin?error=x") == origin + "/api/auth/signin?error=x"
    assert location_for(up + "/auth") == origin + "/api/auth"
    assert location_for(origin + "/auth/error") == origin + "/api/auth/error"
    assert location_for("/auth/signin") == "/api/auth/signin"
    # anything else is left alone
    assert location_for(up + "/authorize") == up + "/authorize"
    assert location_for("https://idp.example/auth/realms/x") == "https://idp.example/auth/realms/x"
    assert location_for(origin + "/dashboard") == origin + "/dashboard"

    status, hdrs, _ = h.request("GET", "/api/auth/__echo?cookies=1", host=host)
    cookies = header_all(hdrs, "Set-Cookie")
    assert "b=2; Path=/api/auth; HttpOnly" in cookies
    assert "a=1; Path=/" in cookies

    # a whole sign-in through the renamed prefix
    browser = Browser(h, host=host)
    status, hdrs, _ = browser.sign_in("/api/auth", "alice@example.com", "alice-pw")
    assert status in (302, 303)
    assert on_origin(header(hdrs, "Location"), origin)
    status, _, body = browser.get("/api/auth/session")
    assert json.loads(body)["user"]["email"] == "alice@example.com"
