# SPDX-License-Identifier: Apache-2.0
"""Issue 22, sections 1 and 2: which claims are published (AuthProxyPublishClaims),
claims under the header names backends expect (AuthProxyClaimHeader,
AuthProxyHeaderEncoding) and REMOTE_USER from part of a claim
(AuthProxyRemoteUserClaim CLAIM REGEX SUBSTITUTION)."""
import base64
import json

import pytest

from harness import UPSTREAM_SECRET
from session_helpers import (authjs_vars, env_of, env_with, parse_env, session_cookie,
                             signed_in, tokens)

ZOE = {"sub": "u-zoe", "email": "zoe@example.com", "name": "Zoë, Jr.",
       "roles": ["admin", "a,b", "100%"], "org": {"id": 7, "name": "Ünïcode"},
       "accessToken": "ya29.provider-access", "refreshToken": "1//provider-refresh",
       "id_token": "eyJ.provider.id", "role": "editor", "internal_note": "x",
       "account": {"provider": "github", "access_token": "gho_nested-provider"}}


def backend(path, directives, upstream):
    return """
        <Location %s>
            %s
            ProxyPass %s/api/auth/__echo/
        </Location>""" % (path, directives, upstream.origin)


@pytest.fixture(scope="module")
def app(module_httpd_factory, upstream):
    return module_httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxyClaimHeader X-Server-User email
        %s
        %s
        %s
        %s
        <Location /cgi-bin/env.cgi/allow>
            AuthProxyPublishClaims +accessToken +refresh*
        </Location>
        <Location /cgi-bin/env.cgi/only>
            AuthProxyPublishClaims -* +role +email
        </Location>
        <Location /cgi-bin/env.cgi/short>
            AuthType authjs
            Require valid-user
            AuthProxyUnauthAction 401
            AuthProxyRemoteUserClaim email "^([^@]+)@example\\.com$" "$1"
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET,
           backend("/raw/", """AuthProxyPassHeaders On
            AuthProxyClaimHeader X-WEBAUTH-USER email
            AuthProxyClaimHeader Remote-User sub
            AuthProxyClaimHeader X-Forwarded-Email email
            AuthProxyClaimHeader X-Name name
            AuthProxyClaimHeader X-Roles roles
            AuthProxyClaimHeader X-Org org
            AuthProxyClaimHeader X-Org-Id org.id
            AuthProxyClaimHeader X-Evil evil""", upstream),
           backend("/raw/inner/", "AuthProxyClaimHeader X-Inner sub", upstream),
           backend("/b64/", """AuthProxyClaimHeader X-Name name
            AuthProxyClaimHeader X-Roles roles
            AuthProxyClaimHeader X-Evil evil
            AuthProxyHeaderEncoding base64url""", upstream),
           backend("/allow/", """AuthProxyPassHeaders On
            AuthProxyPublishClaims +accessToken +refreshToken""", upstream)))


def spoofs(name):
    """The client's copies of `name` in every spelling a backend could fold into it."""
    dashed = name.replace("_", "-")
    return {dashed: "spoof-1", dashed.lower(): "spoof-2", dashed.upper().replace("-", "_"): "spoof-3",
            dashed.lower().replace("-", "_"): "spoof-4"}


SPOOFED = {}
for _name in ("X-WEBAUTH-USER", "Remote-User", "X-Forwarded-Email", "X-Name", "X-Roles",
              "X-Inner"):
    SPOOFED.update(spoofs(_name))


@pytest.fixture(scope="module")
def zoe(app):
    token, evil = tokens(ZOE, {"sub": "u-evil", "email": "evil@example.com",
                               "evil": "a\r\nX-WEBAUTH-USER: admin"})
    return token, evil


def echo(app, path, token=None, headers=None):
    hdrs = dict(headers or {})
    if token:
        hdrs["Cookie"] = session_cookie(token)
    status, _, body = app.request("GET", path, headers=hdrs)
    assert status == 200, body
    return json.loads(body)["headers"]


def header_names(seen, name):
    """The names in the echo's headers that a stack could take for `name`."""
    want = name.lower().replace("_", "-")
    return [k for k in seen if k.replace("_", "-") == want]


def test_spoofed_claim_headers_never_arrive_anonymously(app):
    seen = echo(app, "/raw/inner/page", headers=SPOOFED)
    for name in ("X-WEBAUTH-USER", "Remote-User", "X-Forwarded-Email", "X-Name", "X-Roles",
                 "X-Inner"):
        assert header_names(seen, name) == [], (name, seen)
    assert app.tagged("AUTHPROXY066", "X_WEBAUTH_USER")


def test_spoofed_claim_headers_never_arrive_signed_in(app, zoe):
    token, _ = zoe
    seen = echo(app, "/raw/inner/page", token, headers=SPOOFED)
    assert seen["x-webauth-user"] == "zoe@example.com"
    assert seen["remote-user"] == "u-zoe"
    assert seen["x-forwarded-email"] == "zoe@example.com"
    assert seen["x-inner"] == "u-zoe"
    for name in ("X-WEBAUTH-USER", "Remote-User", "X-Forwarded-Email", "X-Inner"):
        assert header_names(seen, name) == [name.lower()], (name, seen)
    assert "spoof" not in json.dumps(seen)


def test_renamed_claims_arrive_exactly_raw(app, zoe):
    token, _ = zoe
    seen = echo(app, "/raw/page", token)
    # node reads header bytes as Latin-1: the UTF-8 bytes came through as they are
    assert seen["x-name"].encode("latin-1").decode("utf-8") == "Zoë, Jr."
    # array elements: '%' and ',' percent-encoded, joined with ','
    assert seen["x-roles"] == "admin,a%2Cb,100%25"
    assert [p.replace("%2C", ",").replace("%25", "%") for p in seen["x-roles"].split(",")] \
        == ZOE["roles"]
    assert json.loads(seen["x-org"].encode("latin-1").decode("utf-8")) == ZOE["org"]
    assert seen["x-org-id"] == "7"
    assert "x-evil" not in seen


def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")


def test_renamed_claims_arrive_exactly_base64url(app, zoe):
    token, evil = zoe
    seen = echo(app, "/b64/page", token)
    assert "=" not in seen["x-name"] and b64(seen["x-name"]) == "Zoë, Jr."
    assert [b64(p) for p in seen["x-roles"].split(",")] == ZOE["roles"]
    seen = echo(app, "/b64/page", evil)
    assert b64(seen["x-evil"]) == "a\r\nX-WEBAUTH-USER: admin"


def test_control_characters_never_reach_a_header(app, zoe):
    _, evil = zoe
    seen = echo(app, "/raw/page", evil, headers={"X-WEBAUTH-USER": "admin"})
    assert seen["x-webauth-user"] == "evil@example.com"
    assert "x-evil" not in seen and "admin" not in json.dumps(seen)
    assert app.tagged("AUTHPROXY067", "X-Evil")


def test_credentials_withheld_by_default(app, zoe):
    token, _ = zoe
    env = authjs_vars(env_with(app, token))
    assert env["AUTHJS_USER_EMAIL"] == "zoe@example.com"
    assert env["AUTHJS_CLAIM_ROLE"] == "editor"
    for name in ("AUTHJS_CLAIM_ACCESSTOKEN", "AUTHJS_CLAIM_REFRESHTOKEN", "AUTHJS_CLAIM_ID_TOKEN"):
        assert name not in env
    text = json.dumps(env)
    assert "provider-access" not in text and "provider-refresh" not in text
    assert "provider.id" not in text
    # nested in another claim too
    assert json.loads(env["AUTHJS_CLAIM_ACCOUNT"]) == {"provider": "github"}
    seen = echo(app, "/raw/page", token)
    for secret in ("provider-access", "provider-refresh", "provider.id", "gho_nested"):
        assert secret not in json.dumps(seen)
    assert json.loads(seen["x-authjs-session"])["user"]["email"] == "zoe@example.com"


def test_credentials_published_where_allowed(app, zoe):
    token, _ = zoe
    env = authjs_vars(env_with(app, token, path="/cgi-bin/env.cgi/allow"))
    assert env["AUTHJS_CLAIM_ACCESSTOKEN"] == "ya29.provider-access"
    assert env["AUTHJS_CLAIM_REFRESHTOKEN"] == "1//provider-refresh"
    assert "AUTHJS_CLAIM_ID_TOKEN" not in env
    seen = echo(app, "/allow/page", token)
    assert seen["x-authjs-claim-accesstoken"] == "ya29.provider-access"
    assert seen["x-authjs-claim-refreshtoken"] == "1//provider-refresh"
    assert "x-authjs-claim-id-token" not in seen


def test_allow_list(app, zoe):
    token, _ = zoe
    env = authjs_vars(env_with(app, token, path="/cgi-bin/env.cgi/only"))
    assert set(env) == {"AUTHJS_USER_EMAIL", "AUTHJS_CLAIM_ROLE", "AUTHJS_EXPIRES",
                        "AUTHJS_SESSION", "AUTHJS_SESSION_SOURCE"}, env
    assert json.loads(env["AUTHJS_SESSION"])["user"] == {"email": "zoe@example.com"}


def test_remote_user_from_part_of_a_claim(app, zoe):
    token, _ = zoe
    assert env_with(app, token, path="/cgi-bin/env.cgi/short")["REMOTE_USER"] == "zoe"
    other, = tokens({"sub": "u-o", "email": "o@other.example"})
    status, _, _ = app.request("GET", "/cgi-bin/env.cgi/short",
                               headers={"Cookie": session_cookie(other)})
    assert status == 403
    assert app.tagged("AUTHPROXY068", "email")
    status, _, _ = app.request("GET", "/cgi-bin/env.cgi/short")
    assert status == 401
    assert "REMOTE_USER" not in env_of(app)


def test_claim_headers_never_reach_the_routes_from_the_client(app, zoe):
    token, _ = zoe
    for cookie in (None, session_cookie(token)):
        headers = dict(spoofs("X-Server-User"))
        if cookie:
            headers["Cookie"] = cookie
        status, _, body = app.request("GET", "/api/auth/__echo/x", headers=headers)
        assert status == 200
        seen = json.loads(body)["headers"]
        assert header_names(seen, "X-Server-User") == [], seen
    # and a backend below gets the server's header with the directory's own
    seen = echo(app, "/raw/page", token)
    assert seen["x-server-user"] == "zoe@example.com"


@pytest.fixture(scope="module")
def remote_app(module_httpd_factory, upstream):
    """No secret: the session is the upstream's /session answer."""
    return module_httpd_factory("""
        AuthProxyUpstream %s
        <Location /cgi-bin/env.cgi/noemail>
            AuthProxyPublishClaims -email
        </Location>
    """ % upstream.origin)


def test_filter_applies_to_a_session_answer(remote_app):
    browser = signed_in(remote_app)
    status, _, body = browser.get("/cgi-bin/env.cgi/noemail")
    assert status == 200
    env = authjs_vars(parse_env(body))
    assert env["AUTHJS_SESSION_SOURCE"] in ("upstream", "cache")
    assert "AUTHJS_USER_EMAIL" not in env and env["AUTHJS_USER_NAME"]
    session = json.loads(env["AUTHJS_SESSION"])
    assert "email" not in session["user"] and session["user"]["name"] and session["expires"]
    status, _, body = browser.get("/cgi-bin/env.cgi")
    env = authjs_vars(parse_env(body))
    assert json.loads(env["AUTHJS_SESSION"])["user"]["email"] == "alice@example.com"
