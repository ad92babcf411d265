# SPDX-License-Identifier: Apache-2.0
"""What a VirtualHost inherits: one Auth.js deployment, never two mixed. A
VirtualHost that names its own deployment (its own upstream, or another
prefix on the main server's) takes none of the main server's secret, API
key and public origin; configtest says so."""
import json

import pytest

from harness import UPSTREAM_SECRET, tagged, vhost
from session_helpers import env_with, token_for

# the main server's deployment decodes with a secret no upstream here knows,
# so only local decoding can accept its tokens
MAIN_SECRET = "the-main-deployment-secret-0123456789abcdef"
MAIN = """
    AuthProxyUpstream %s
    AuthProxySecret %s
    AuthProxyHeader X-Api-Key main-key
    AuthProxyPublicOrigin http://main.test
"""


@pytest.fixture
def deployments(httpd_factory, upstream, upstream_auth_prefix):
    """The main server's deployment; main.test (the address's first
    VirtualHost) and same.test, nothing of their own; own.test, another
    Auth.js server (its routes at /auth); prefix.test, another prefix on the
    main server's upstream; alias.test, the public origin's name an alias."""
    return httpd_factory(
        MAIN % (upstream.origin, MAIN_SECRET)
        + vhost("main.test", "")
        + vhost("own.test", "AuthProxyUpstream %s\nAuthProxyTargetPath /auth\n"
                % upstream_auth_prefix.origin)
        + vhost("prefix.test", "AuthProxyTargetPath /api/auth\n")
        + vhost("same.test", "")
        + vhost("alias.test", "", "main.test"), start=False)


def host(h, name):
    return "%s:%d" % (name, h.port)


def echoed(h, name):
    status, _, body = h.request("GET", "/api/auth/__echo", host=host(h, name))
    assert status == 200, body
    return json.loads(body)["headers"]


def test_a_virtual_host_of_its_own_deployment_inherits_none_of_the_main_one(
        deployments, upstream, upstream_auth_prefix):
    h = deployments.start()
    main_token = token_for("alice@example.com", secret=MAIN_SECRET)
    # the main deployment's token: decoded locally where that deployment is
    for name in ("main.test", "same.test"):
        e = env_with(h, main_token, host=host(h, name))
        assert (e.get("AUTHJS_USER_EMAIL"), e.get("AUTHJS_SESSION_SOURCE")) == \
            ("alice@example.com", "local"), name
    # and not accepted by the others, which have no secret: they ask their
    # own /session, which does not know it
    for name, deployment in (("own.test", upstream_auth_prefix), ("prefix.test", upstream)):
        before = deployment.session_calls()
        assert "AUTHJS_USER_EMAIL" not in env_with(h, main_token, host=host(h, name)), name
        assert deployment.session_calls() == before + 1, name
    # their own tokens are theirs, through /session
    own_token = token_for("bob@example.com", secret=UPSTREAM_SECRET)
    e = env_with(h, own_token, host=host(h, "own.test"))
    assert (e["AUTHJS_USER_EMAIL"], e["AUTHJS_SESSION_SOURCE"]) == ("bob@example.com", "upstream")

    # the API key and the public origin stay with the main deployment
    for name in ("main.test", "same.test"):
        seen = echoed(h, name)
        assert (seen.get("x-api-key"), seen["x-forwarded-host"]) == ("main-key", "main.test")
    for name in ("own.test", "prefix.test"):
        seen = echoed(h, name)
        assert "x-api-key" not in seen, name
        assert seen["x-forwarded-host"] == host(h, name)


def test_configtest_says_what_is_not_inherited(deployments, upstream, upstream_auth_prefix):
    rc, out = deployments.configtest()
    assert rc == 0, out
    port = deployments.port
    # each names its upstream, its prefix and what it does not inherit
    not_inherited = "AuthProxySecret, AuthProxyHeader, AuthProxyPublicOrigin"
    assert tagged(out, "AUTHPROXY006", "own.test:%d" % port, upstream_auth_prefix.origin,
                  "/auth", not_inherited), out
    assert tagged(out, "AUTHPROXY006", "prefix.test:%d" % port, upstream.origin, "/api/auth",
                  not_inherited), out
    # the one that goes by another name is told whose origin it inherits
    assert tagged(out, "AUTHPROXY007", "same.test:%d" % port, "http://main.test"), out
    assert "alias.test" not in out and "main.test:" not in out, out
    assert MAIN_SECRET not in out and "main-key" not in out
    # once per start: the first of startup's two passes says nothing
    h = deployments.start()
    log = h.wait_for_log("error", lambda text: "resuming normal operations" in text)
    assert len(tagged(log, "AUTHPROXY006", "own.test:%d" % port)) == 1, log
