# SPDX-License-Identifier: Apache-2.0
"""What the attacker's pass on the claims (AuthProxyPublishClaims,
AuthProxyClaimHeader, AuthProxyHeaderEncoding, AuthProxyRemoteUserClaim
REGEX SUBSTITUTION) found: fixed findings pinned, and the one kept by design
(a raw string holding ',') stated."""
import json

import pytest

from harness import UPSTREAM_SECRET
from session_helpers import authjs_vars, env_with, parse_env, session_cookie, tokens
from test_23_claims import backend

SECRET = "gho_SECRET-provider-token"

VICTIM = {"sub": "u-v", "email": "v@example.com", "name": "Victim",
          "accessToken": SECRET + "-camel",
          # a credential spelled with '-': AUTHJS_CLAIM_ACCESS_TOKEN all the same
          "access-token": SECRET + "-dash",
          "Internal_Note": "internal-upper", "internal-flag": "internal-dash",
          "account": {"provider": "github", "access_token": SECRET + "-nested",
                      "refresh-token": SECRET + "-nested-dash"},
          "accounts": [{"provider": "github", "id_token": SECRET + "-in-array"}],
          "groups": "admin,staff",
          "groups_list": ["admin", "staff"],
          "padded": " admin\t",
          "nl": "alice\n",
          "one": ["alice@example.com"]}


@pytest.fixture(scope="module")
def app(module_httpd_factory, upstream):
    return module_httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /cgi-bin/env.cgi/strict>
            AuthProxyPublishClaims -internal_* -internal-*
        </Location>
        <Location /cgi-bin/env.cgi/nl>
            AuthType authjs
            Require valid-user
            AuthProxyUnauthAction 401
            AuthProxyRemoteUserClaim nl "^([a-z]+)$" "$1"
        </Location>
        <Location /cgi-bin/env.cgi/one>
            AuthType authjs
            Require valid-user
            AuthProxyUnauthAction 401
            AuthProxyRemoteUserClaim one "^([^@]+)@example\\.com$" "$1"
        </Location>
        # a page the admin trusts with the provider's token, whose 404 goes
        # to a script that is given nothing (ErrorDocument: internal redirect)
        <Location /trusted/>
            AuthProxyPublishClaims +accessToken
            AuthProxyClaimHeader X-Email email
            ErrorDocument 404 /cgi-bin/env.cgi/nothing
        </Location>
        <Location /cgi-bin/env.cgi/nothing>
            AuthProxyPublishClaims -*
        </Location>
        <Location /trusted2/>
            AuthProxyClaimHeader X-Email email
            ErrorDocument 404 /other/page
        </Location>
        <Location /trusted3/>
            AuthProxyClaimHeader X-Email email
            ErrorDocument 404 /renamed/page
        </Location>
        %s
        %s
        %s
    """ % (upstream.origin, UPSTREAM_SECRET,
           backend("/hdr/", """AuthProxyPassHeaders On
            AuthProxyClaimHeader X-Account account
            AuthProxyClaimHeader X-Accounts accounts
            AuthProxyClaimHeader X-Groups groups
            AuthProxyClaimHeader X-Groups-List groups_list
            AuthProxyClaimHeader X-Padded padded""", upstream),
           backend("/other/", "", upstream),
           backend("/renamed/", "AuthProxyClaimHeader X-Email name", upstream)))


@pytest.fixture(scope="module")
def victim(app):
    token, = tokens(VICTIM)
    return token


def echo(app, path, token, headers=None):
    hdrs = dict(headers or {})
    hdrs["Cookie"] = session_cookie(token)
    status, _, body = app.request("GET", path, headers=hdrs)
    assert status == 200, body
    return json.loads(body)["headers"]


# ---- withheld credentials ----------------------------------------------------

def test_dashed_credential_is_withheld(app, victim):
    env = authjs_vars(env_with(app, victim))
    assert SECRET + "-dash" not in json.dumps(env), env.get("AUTHJS_CLAIM_ACCESS_TOKEN")


def test_dashed_nested_credential_is_withheld(app, victim):
    env = authjs_vars(env_with(app, victim))
    assert SECRET + "-nested-dash" not in env["AUTHJS_CLAIM_ACCOUNT"]


def test_nested_credentials_withheld_from_env_and_x_authjs(app, victim):
    env = authjs_vars(env_with(app, victim))
    assert SECRET + "-nested\"" not in env["AUTHJS_CLAIM_ACCOUNT"]
    assert SECRET + "-in-array" not in env["AUTHJS_CLAIM_ACCOUNTS"]
    seen = echo(app, "/hdr/page", victim)
    assert SECRET + "-in-array" not in seen["x-authjs-claim-accounts"]


def test_claim_header_of_an_object_withholds_nested_credentials(app, victim):
    seen = echo(app, "/hdr/page", victim)
    assert json.loads(seen["x-account"])["provider"] == "github"
    assert SECRET + "-nested\"" not in seen["x-account"], seen["x-account"]
    assert SECRET + "-in-array" not in seen["x-accounts"], seen["x-accounts"]


def test_withheld_pattern_ignores_case(app, victim):
    env = authjs_vars(env_with(app, victim, path="/cgi-bin/env.cgi/strict"))
    assert "AUTHJS_CLAIM_INTERNAL_NOTE" not in env, env
    assert "AUTHJS_CLAIM_INTERNAL_FLAG" not in env, env


def test_internal_redirect_does_not_carry_another_directorys_vars(app, victim):
    cookie = session_cookie(victim)
    status, _, body = app.request("GET", "/trusted/missing", headers={"Cookie": cookie})
    assert status == 404
    env = parse_env(body)
    assert env.get("REDIRECT_STATUS") == "404"
    # the target withholds everything: AUTHJS_* shows it took effect
    assert "AUTHJS_USER_EMAIL" not in env
    assert SECRET + "-camel" not in json.dumps(env), env.get("REDIRECT_AUTHJS_CLAIM_ACCESSTOKEN")
    leaked = {k: v for k, v in env.items() if "AUTHJS_" in k}
    assert leaked.keys() <= {"REDIRECT_AUTHJS_SESSION_SOURCE", "REDIRECT_AUTHJS_EXPIRES",
                             "AUTHJS_SESSION_SOURCE", "AUTHJS_EXPIRES", "AUTHJS_SESSION"}, leaked


def test_internal_redirect_does_not_carry_claim_headers(app, victim):
    cookie = session_cookie(victim)
    status, _, body = app.request("GET", "/trusted2/missing", headers={"Cookie": cookie})
    assert status in (200, 404), body
    seen = json.loads(body)["headers"]
    assert "x-email" not in seen, seen


def test_internal_redirect_target_sets_its_own_claim_header(app, victim):
    cookie = session_cookie(victim)
    status, _, body = app.request("GET", "/trusted3/missing", headers={"Cookie": cookie})
    assert status in (200, 404), body
    assert json.loads(body)["headers"]["x-email"] == "Victim"


def test_error_document_after_fastcgi_gets_no_claim_header(httpd_factory, upstream, victim,
                                                           php_fpm):
    """mod_proxy_fcgi writes the request's headers into its environment
    (HTTP_X_EMAIL); the ErrorDocument its error goes to is handed that as
    REDIRECT_HTTP_X_EMAIL, though its directory sets no such header."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <FilesMatch "\\.php$">
            AuthProxyClaimHeader X-Email email
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
        ProxyErrorOverride On
        ErrorDocument 500 /cgi-bin/env.cgi
    """ % (upstream.origin, UPSTREAM_SECRET, php_fpm.port))
    h.write("htdocs/fail.php", "<?php http_response_code(500); echo 'failed';\n")
    status, _, body = h.request("GET", "/fail.php", headers={"Cookie": session_cookie(victim)})
    env = parse_env(body)
    assert status == 500 and env.get("AUTHJS_USER_EMAIL") == VICTIM["email"], body
    assert not [k for k in env if k.endswith("HTTP_X_EMAIL")], env


def test_subrequest_to_another_directory_gets_no_claim_header(httpd_factory, upstream, victim):
    """A page's SSI include of a proxied page in another directory: the
    subrequest starts with a copy of the page's headers, X-Email and the
    X-Authjs-* of AuthProxyPassHeaders in them."""
    h = httpd_factory("""
        LoadModule include_module @MODULES@/mod_include.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /page.html>
            AuthProxyClaimHeader X-Email email
            AuthProxyPassHeaders On
            Options +Includes
            SetOutputFilter INCLUDES
        </Location>
        %s
        %s
    """ % (upstream.origin, UPSTREAM_SECRET, backend("/other/", "", upstream),
           backend("/renamed/", "AuthProxyClaimHeader X-Name name\n"
                   "AuthProxyPassHeaders On", upstream)))
    h.write("htdocs/page.html", '<!--#include virtual="/other/x" -->\n'
            '<!--#include virtual="/renamed/x" -->\n')
    status, _, body = h.request("GET", "/page.html",
                                headers={"Cookie": session_cookie(victim)})
    assert status == 200, body
    other, renamed = [json.loads(line)["headers"] for line in body.decode().splitlines()
                      if line.startswith("{")]
    assert "x-email" not in other, other
    assert "x-email" not in renamed and renamed["x-name"] == VICTIM["name"], renamed
    # the page's X-Authjs-* (AuthProxyPassHeaders On there) are its own too
    assert not [k for k in other if k.startswith("x-authjs")], other
    assert renamed["x-authjs-user-email"] == VICTIM["email"], renamed


# ---- header values ---------------------------------------------------------------

def test_string_with_comma_arrives_exactly(app, victim):
    """By design (README, AuthProxyHeaderEncoding): a string is sent as the
    upstream wrote it, so in raw a string holding ',' reads as a list where a
    backend splits the header; only an array's elements are escaped."""
    seen = echo(app, "/hdr/page", victim)
    assert seen["x-groups"] == "admin,staff"
    assert seen["x-groups-list"] == "admin,staff"


def test_padded_value_is_exact_or_not_sent(app, victim):
    seen = echo(app, "/hdr/page", victim)
    assert seen.get("x-padded", VICTIM["padded"]) == VICTIM["padded"], seen.get("x-padded")


# ---- REMOTE_USER from a regex ---------------------------------------------------

def test_regex_dollar_does_not_match_before_a_final_newline(app, victim):
    """RegexDefaultOptions DOLLAR_ENDONLY (httpd's default) holds for the
    module's ap_pregcomp: 'alice\\n' is not 'alice'."""
    status, _, body = app.request("GET", "/cgi-bin/env.cgi/nl",
                                  headers={"Cookie": session_cookie(victim)})
    assert status == 403, body


def test_one_element_array_gives_the_user(app, victim):
    env = env_with(app, victim, path="/cgi-bin/env.cgi/one")
    assert env["REMOTE_USER"] == "alice"


# ---- a /session answer (no secret) that carries the provider's tokens --------

ANSWER = {"user": {"name": "Ann", "email": "ann@example.com", "id": "u-ann",
                   "accessToken": SECRET + "-user"},
          "accessToken": SECRET + "-top",
          "account": {"provider": "github", "refresh_token": SECRET + "-answer-nested"},
          "expires": "2099-01-01T00:00:00.000Z"}


@pytest.fixture(scope="module")
def answer_upstream():
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/api/auth/session"):
                body = json.dumps(ANSWER).encode()
            else:
                body = json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()}}
                                  ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def answer_app(module_httpd_factory, answer_upstream):
    return module_httpd_factory("""
        AuthProxyUpstream %s
        <Location /hdr/>
            AuthProxyPassHeaders On
            AuthProxyClaimHeader X-User user
            AuthProxyClaimHeader X-Account account
            ProxyPass %s/echo/
        </Location>
    """ % (answer_upstream, answer_upstream))


def test_answer_credentials_withheld_from_env_and_x_authjs(answer_app):
    env = env_with(answer_app, "opaque-session-token")
    assert env["AUTHJS_USER_EMAIL"] == "ann@example.com"
    assert SECRET not in json.dumps(env), {k: v for k, v in env.items() if SECRET in v}
    seen = echo(answer_app, "/hdr/page", "opaque-session-token")
    assert seen["x-authjs-user-email"] == "ann@example.com"
    assert SECRET not in json.dumps({k: v for k, v in seen.items() if k.startswith("x-authjs")})


def test_answer_claim_header_of_an_object_withholds_credentials(answer_app):
    seen = echo(answer_app, "/hdr/page", "opaque-session-token")
    assert json.loads(seen["x-user"])["email"] == "ann@example.com"
    assert SECRET not in seen["x-user"] + seen["x-account"], (seen["x-user"], seen["x-account"])
