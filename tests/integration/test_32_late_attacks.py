# SPDX-License-Identifier: Apache-2.0
"""The attacker's late pass on the claim headers' unsending, the X-Authjs-*
of subrequests, the preflight's body filter, the sessionless handlers and the
sign-in limit's HKDF key: fixed findings pinned."""
import pytest

from harness import UPSTREAM_SECRET
from session_helpers import parse_env, session_cookie, token_for

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
