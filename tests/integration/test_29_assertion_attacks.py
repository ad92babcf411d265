# SPDX-License-Identifier: Apache-2.0
"""The signed-assertion feature (test_24) attacked as a backend's attacker
and a confused operator would: what a child keeps of the assertions it
signed stays bounded however long it runs, an assertion made out to one
backend never reaches another handler through an internal redirect's or a
subrequest's environment, and the JWS and key set hold up to hostile claims
and odd keys."""
import http.client
import json
import os

import pytest

from harness import SANITIZER_RUNTIMES, UPSTREAM_SECRET, child_pids, rss_kib
from session_helpers import ALICE, parse_env, session_cookie, tokens
from test_24_assertion import b64d, conf, jwks, keys, token, verify  # noqa: F401 (fixtures)

# A claim big enough that each signature costs a child tens of KiB (a token
# stays below the module's 16 KiB).
BLOB = 10000


def many(h, path, cookie, n):
    """n requests on one kept-alive connection; their statuses."""
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    statuses = []
    try:
        for _ in range(n):
            conn.request("GET", path, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
    finally:
        conn.close()
    return statuses


@pytest.mark.skipif(bool(SANITIZER_RUNTIMES),
                    reason="under ASan a process's RSS says nothing of its leaks")
def test_resigning_one_visitor_keeps_the_cache_bounded(httpd_factory, upstream, keys):
    """With a lifetime of 1 s a child signs the same visitor's assertion
    again about twice a second: each one was kept as a new entry in the
    same generation's pool while the entry count (distinct visitors) never
    reached the cap that clears it, so a child grew by every re-signature,
    for ever (at the default 60 s: every active visitor's assertion, each
    30 s). The dead backend answers 503 at once: the signing is in the
    fixups, before it."""
    h = httpd_factory("""
        StartServers 1
        ServerLimit 1
        MaxRequestWorkers 1
        MinSpareServers 1
        MaxSpareServers 2
        MaxKeepAliveRequests 0
        LimitRequestFieldSize 100000
        AuthProxyUpstream %(up)s
        AuthProxySecret %(secret)s
        AuthProxyAssertionKey %(key)s
        AuthProxyAssertionLifetime 1
        <Location /dead/>
            AuthProxyAssertion On
            ProxyPass http://127.0.0.1:1/
        </Location>
    """ % {"up": upstream.origin, "secret": UPSTREAM_SECRET,
           "key": keys["ec"]}, mpm="prefork")
    token, = tokens(dict(ALICE, blob="b" * BLOB))
    cookie = session_cookie(token)
    assert set(many(h, "/dead/x", cookie, 200)) == {503}
    before = {pid: rss_kib(pid) for pid in child_pids(h.proc.pid)}
    assert set(many(h, "/dead/x", cookie, 3000)) == {503}
    grown = max(rss_kib(pid) - kib for pid, kib in before.items())
    signed = len(h.tagged("AUTHPROXY083", ALICE["email"]))
    assert signed > 600
    # unbounded: ~25 KiB per signature, 15 MiB and more; bounded: two
    # generations of 2 MiB
    assert grown < 8 * 1024, "grew %d KiB over %d signatures" % (grown, signed)


def fpm_conf(upstream, keys, php_fpm, extra=""):
    return conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        LoadModule include_module @MODULES@/mod_include.so
        <FilesMatch "\\.php$">
            AuthProxyAssertion On
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
        %s
    """ % (php_fpm.port, extra)


def assertion_vars(env):
    return {k: v for k, v in env.items() if "AUTHJS_ASSERTION" in k}


def test_error_document_after_fastcgi_gets_no_assertion(httpd_factory, upstream, keys,
                                                        php_fpm, token):
    """mod_proxy_fcgi writes the request's headers into its environment
    (HTTP_X_AUTHJS_ASSERTION, aud fcgi://...); the ErrorDocument its error
    goes to is another request, and httpd hands it that environment as
    REDIRECT_*: a CGI error page held an assertion it could replay to the
    PHP application."""
    h = httpd_factory(fpm_conf(upstream, keys, php_fpm, """
        ProxyErrorOverride On
        ErrorDocument 500 /cgi-bin/env.cgi
    """))
    h.write("htdocs/fail.php", "<?php http_response_code(500); echo 'failed';\n")
    status, _, body = h.request("GET", "/fail.php", headers={"Cookie": session_cookie(token)})
    env = parse_env(body)
    assert status == 500 and env.get("AUTHJS_USER_EMAIL") == ALICE["email"], body
    assert not assertion_vars(env), env


def test_ssi_include_of_a_proxied_page_gets_no_assertion(httpd_factory, upstream, keys,
                                                         php_fpm, token):
    """A PHP page's output through mod_include: the included CGI's
    subrequest starts with a copy of the main request's environment,
    HTTP_X_AUTHJS_ASSERTION (for the PHP application) in it."""
    h = httpd_factory(fpm_conf(upstream, keys, php_fpm, """
        <Files "ssi.php">
            Options +Includes
            SetOutputFilter INCLUDES
        </Files>
    """))
    h.write("htdocs/ssi.php", "<?php echo '<!--#include virtual=\"/cgi-bin/env.cgi\" -->';\n")
    status, _, body = h.request("GET", "/ssi.php", headers={"Cookie": session_cookie(token)})
    env = parse_env(body)
    assert status == 200 and env.get("AUTHJS_USER_EMAIL") == ALICE["email"], body
    assert not assertion_vars(env), env
