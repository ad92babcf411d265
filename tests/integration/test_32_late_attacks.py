# SPDX-License-Identifier: Apache-2.0
"""The attacker's late pass on the claim headers' unsending, the X-Authjs-*
of subrequests, the preflight's body filter, the sessionless handlers and the
sign-in limit's HKDF key: fixed findings pinned."""
import json
import os

import pytest

from harness import UPSTREAM_SECRET
from session_helpers import parse_env, session_cookie, token_for
from test_23_claims import backend
from test_24_assertion import b64d, keys, token  # noqa: F401 (fixtures)
from test_29_assertion_attacks import fpm_conf

# X-Role is a claim header the user's token has no claim for: a directory
# that names it sets nothing, and must pass nothing of the client's either.
ROLE_CONF = """
    LoadModule include_module @MODULES@/mod_include.so
    AuthProxyUpstream %s
    AuthProxySecret %s
    <Location /cgi-bin/env.cgi>
        AuthProxyClaimHeader X-Role role
    </Location>
    <Location /page.html>
        Options +Includes
        SetOutputFilter INCLUDES
    </Location>
"""


@pytest.fixture
def role_app(httpd_factory, upstream):
    h = httpd_factory(ROLE_CONF % (upstream.origin, UPSTREAM_SECRET))
    h.write("htdocs/page.html", '<!--#include virtual="/cgi-bin/env.cgi" -->\n')
    # a CGI where no claim header is named, whose page is another's (a
    # local redirect: the target is handed this pass's env as REDIRECT_*)
    h.write("cgi-bin/go.cgi", "#!/bin/sh\nprintf 'Location: /cgi-bin/env.cgi\\n\\n'\n",
            mode=0o755)
    return h


def role_vars(env):
    return {k: v for k, v in env.items() if k.endswith("HTTP_X_ROLE")}


@pytest.mark.parametrize("signed_in", [False, True])
def test_ssi_include_gets_no_client_claim_header_from_the_page_env(role_app, signed_in):
    """mod_include writes the page's headers into its environment
    (HTTP_X_ROLE, the client's: the page's directory names no claim header);
    the included CGI's subrequest starts with a copy of it, in a directory
    where X-Role is the module's."""
    headers = {"X-Role": "admin"}
    if signed_in:
        headers["Cookie"] = session_cookie(token_for("late@example.com"))
    status, _, body = role_app.request("GET", "/page.html", headers=headers)
    env = parse_env(body)
    assert status == 200 and "GATEWAY_INTERFACE" in env, body
    assert not role_vars(env), env


def test_local_redirect_gets_no_client_claim_header_as_redirect_var(role_app):
    """A CGI's local redirect: the target's environment holds the first
    pass's as REDIRECT_HTTP_X_ROLE, the client's header."""
    status, _, body = role_app.request("GET", "/cgi-bin/go.cgi", headers={"X-Role": "admin"})
    env = parse_env(body)
    assert status == 200 and "GATEWAY_INTERFACE" in env, body
    assert not role_vars(env), env


# ---- mod_dir's fast redirect -------------------------------------------------

PHP_ENV = ("<?php foreach ($_SERVER as $k => $v) "
           "{ if (is_string($v)) echo \"$k=$v\\n\"; }\n")


def echo_headers(body):
    return json.loads(body)["headers"]


def test_directory_index_in_another_directory_gets_none_of_the_directorys_headers(
        httpd_factory, upstream):
    """DirectoryIndex naming a proxied page elsewhere: mod_dir's fast
    redirect hands the page its subrequest's configuration, not its headers;
    the main pass set the directory's X-Email and X-Authjs-* in them."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Directory "@DIR@/htdocs/app">
            AuthProxyClaimHeader X-Email email
            AuthProxyPassHeaders On
            DirectoryIndex /other/x
        </Directory>
        %s
    """ % (upstream.origin, UPSTREAM_SECRET, backend("/other/", "", upstream)))
    os.makedirs(os.path.join(h.dir, "htdocs/app"), exist_ok=True)
    status, _, body = h.request("GET", "/app/", headers={
        "Cookie": session_cookie(token_for("late@example.com"))})
    assert status == 200, body
    headers = echo_headers(body)
    assert "x-email" not in headers, headers
    assert not [k for k in headers if k.startswith("x-authjs")], headers


def test_php_index_gets_its_own_files_headers(httpd_factory, upstream, php_fpm):
    """The legitimate setup: DirectoryIndex index.php through proxy_fcgi,
    AuthProxyPassHeaders and a claim header named for the PHP files."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        DirectoryIndex index.php
        <FilesMatch "\\.php$">
            AuthProxyClaimHeader X-Email email
            AuthProxyPassHeaders On
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
    """ % (upstream.origin, UPSTREAM_SECRET, php_fpm.port))
    os.makedirs(os.path.join(h.dir, "htdocs/app"), exist_ok=True)
    h.write("htdocs/app/index.php", PHP_ENV)
    cookie = session_cookie(token_for("late@example.com"))
    for path in ("/app/index.php", "/app/"):
        status, _, body = h.request("GET", path, headers={"Cookie": cookie})
        env = parse_env(body)
        assert status == 200, body
        assert env.get("HTTP_X_EMAIL") == "late@example.com", (path, env)
        assert env.get("HTTP_X_AUTHJS_USER_EMAIL") == "late@example.com", (path, env)


def test_php_index_gets_no_client_claim_header(httpd_factory, upstream, php_fpm):
    """The client's X-Role, kept where the directory names no claim header,
    reached the index.php (X-Role named for the PHP files) that mod_dir's
    fast redirect made the page, for a user without the claim."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        DirectoryIndex index.php
        <FilesMatch "\\.php$">
            AuthProxyClaimHeader X-Role role
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
    """ % (upstream.origin, UPSTREAM_SECRET, php_fpm.port))
    os.makedirs(os.path.join(h.dir, "htdocs/app"), exist_ok=True)
    h.write("htdocs/app/index.php", PHP_ENV)
    for cookie in ({}, {"Cookie": session_cookie(token_for("late@example.com"))}):
        status, _, body = h.request("GET", "/app/", headers=dict(cookie, **{"X-Role": "admin"}))
        env = parse_env(body)
        assert status == 200 and "SCRIPT_FILENAME" in env, body
        assert not role_vars(env), env


def test_php_index_gets_its_own_assertion(httpd_factory, upstream, keys, php_fpm, token):
    """The assertion of a DirectoryIndex index.php reached by mod_dir's fast
    redirect: made out to the PHP backend, as for /app/index.php."""
    h = httpd_factory(fpm_conf(upstream, keys, php_fpm, "DirectoryIndex index.php"))
    os.makedirs(os.path.join(h.dir, "htdocs/app"), exist_ok=True)
    h.write("htdocs/app/index.php", PHP_ENV)
    auds = []
    for path in ("/app/index.php", "/app/"):
        status, _, body = h.request("GET", path, headers={"Cookie": session_cookie(token)})
        env = parse_env(body)
        assert status == 200 and "HTTP_X_AUTHJS_ASSERTION" in env, (path, body)
        payload = json.loads(b64d(env["HTTP_X_AUTHJS_ASSERTION"].split(".")[1]))
        auds.append(payload["aud"])
    assert auds[0] == auds[1] and auds[0].startswith("fcgi://"), auds


# ---- the preflight's body filter --------------------------------------------------

@pytest.mark.parametrize("deflate", ["", "SetOutputFilter DEFLATE",
                                     "AddOutputFilterByType DEFLATE text/plain"])
def test_a_preflights_dropped_page_keeps_the_connection(httpd_factory, upstream, deflate):
    """Held: a CGI's page (no Content-Length: chunked) dropped from a passed
    preflight's answer, compressed or not, leaves a well-framed answer; the
    next request on the connection is read as one, and gets the page."""
    h = httpd_factory("""
        LoadModule deflate_module @MODULES@/mod_deflate.so
        LoadModule filter_module @MODULES@/mod_filter.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /cgi-bin/>
            AuthType authjs
            Require valid-user
            %s
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET, deflate))
    h.write("cgi-bin/big.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
            "seq 1 20000\n", mode=0o755)
    cookie = session_cookie(token_for("late@example.com"))
    answer = h.raw(("OPTIONS /cgi-bin/big.cgi HTTP/1.1\r\nHost: x\r\n"
                    "Origin: https://spa.example\r\nAccess-Control-Request-Method: PUT\r\n"
                    "Accept-Encoding: gzip\r\n\r\n"
                    "GET /cgi-bin/big.cgi HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
                    "Connection: close\r\n\r\n" % cookie).encode())
    first, _, rest = answer.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 "), answer[:300]
    framing = first.lower()
    if b"transfer-encoding: chunked" in framing:
        assert rest.startswith(b"0\r\n\r\nHTTP/1.1 200 "), rest[:300]
    else:
        assert b"content-length: 0" in framing and rest.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert b"\n19999\n20000\n" in rest, rest[-200:]


# ---- the module's handlers -------------------------------------------------------

def test_unknown_authproxy_handler_serves_nothing_of_the_session(httpd_factory, upstream):
    """By design: any authproxy-* handler is taken for one of this module's
    and resolves no session of its own; one no module answers (a typo) has
    httpd serve the file, unpublished; AuthType authjs still judges it."""
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Location /typo>
            SetHandler authproxy-metric
        </Location>
        <Location /guarded>
            SetHandler authproxy-metric
            AuthType authjs
            Require valid-user
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    h.write("htdocs/typo", "static\n")
    h.write("htdocs/guarded", "static\n")
    cookie = session_cookie(token_for("late@example.com"))
    assert h.request("GET", "/typo", headers={"Cookie": cookie})[::2] == (200, b"static\n")
    assert h.request("GET", "/guarded")[0] == 401
    assert h.request("GET", "/guarded", headers={"Cookie": cookie})[::2] == (200, b"static\n")


def test_action_script_gets_its_own_locations_claim_headers(httpd_factory, upstream):
    """By design: mod_actions' script runs in an internal redirect to its own
    URL; what the page's location names is not sent to it, what the
    script's names is."""
    h = httpd_factory("""
        LoadModule actions_module @MODULES@/mod_actions.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        AddHandler late-page .page
        Action late-page /cgi-bin/env.cgi
        <Location /app/>
            AuthProxyClaimHeader X-Email email
        </Location>
        <Location /cgi-bin/>
            AuthProxyClaimHeader X-User email
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET))
    os.makedirs(os.path.join(h.dir, "htdocs/app"), exist_ok=True)
    h.write("htdocs/app/x.page", "page\n")
    status, _, body = h.request("GET", "/app/x.page", headers={
        "Cookie": session_cookie(token_for("late@example.com"))})
    env = parse_env(body)
    assert status == 200 and env.get("PATH_INFO") == "/app/x.page", body
    assert not [k for k in env if k.endswith("HTTP_X_EMAIL")], env
    assert env.get("HTTP_X_USER") == "late@example.com", env


def test_multiviews_variant_gets_no_client_claim_header(httpd_factory, upstream):
    """Held: mod_negotiation makes the variant the page (a fast redirect in
    the type checker, before the fixups): its configuration's claim header
    is removed from the client's request."""
    h = httpd_factory("""
        LoadModule negotiation_module @MODULES@/mod_negotiation.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        <Directory "@DIR@/htdocs/app">
            Options +MultiViews +ExecCGI
            MultiviewsMatch Handlers
            AddHandler cgi-script .cgi
        </Directory>
        <Files "who.cgi">
            AuthProxyClaimHeader X-Role role
        </Files>
    """ % (upstream.origin, UPSTREAM_SECRET))
    os.makedirs(os.path.join(h.dir, "htdocs/app"), exist_ok=True)
    with open(os.path.join(h.dir, "cgi-bin/env.cgi")) as f:
        h.write("htdocs/app/who.cgi", f.read(), mode=0o755)
    status, _, body = h.request("GET", "/app/who", headers={"X-Role": "admin"})
    env = parse_env(body)
    assert status == 200 and "GATEWAY_INTERFACE" in env, body
    assert not role_vars(env), env
