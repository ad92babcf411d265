# SPDX-License-Identifier: Apache-2.0
"""An upstream over TLS: the routes through mod_ssl, the /session fetch through
libcurl with AuthProxyCACertificateFile."""
import json
import shutil
import time

import pytest

from harness import Upstream, make_ca_and_cert, public_tempdir, serving
from session_helpers import parse_env, signed_in


@pytest.fixture(scope="module")
def pki():
    d = public_tempdir("authproxy-pki-")
    yield make_ca_and_cert(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_upstream(pki):
    ca, cert, key = pki
    yield from serving(Upstream("core", "/api/auth", tls=(cert, key)).start())


def conf(upstream, ca, with_ca=True):
    return """
        LoadModule ssl_module @MODULES@/mod_ssl.so
        SSLProxyEngine on
        SSLProxyCACertificateFile %s
        AuthProxyUpstream %s
        %s
    """ % (ca, upstream.origin, "AuthProxyCACertificateFile %s" % ca if with_ca else "")


def test_sign_in_and_session_over_tls(httpd_factory, tls_upstream, pki):
    h = httpd_factory(conf(tls_upstream, pki[0]))
    browser = signed_in(h)
    status, _, body = browser.get("/api/auth/session")
    assert json.loads(body)["user"]["email"] == "alice@example.com"
    status, _, body = browser.get("/cgi-bin/env.cgi")
    env = parse_env(body)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env["AUTHJS_SESSION_SOURCE"] == "upstream"


def test_proxy_preserve_host_leaves_the_upstream_its_tls_name(httpd_factory, tls_upstream, pki):
    """mod_proxy's ProxyPreserveHost On would send the client's host as the
    TLS server name and check the upstream's certificate against it: routes
    to an https upstream failed, and a client chose the name it heard."""
    h = httpd_factory(conf(tls_upstream, pki[0]) + "ProxyPreserveHost On\n")
    for host in ("127.0.0.1:%d" % h.port, "localhost", "evil.example"):
        status, _, body = h.request("GET", "/api/auth/__echo", host=host)
        assert status == 200, body[:300]
        seen = json.loads(body)
        assert (seen["servername"], seen["headers"]["host"]) == \
            ("localhost", "localhost:%d" % tls_upstream.port)


def test_routes_over_tls13_never_wait_for_what_mod_ssl_holds(httpd_factory, tls_upstream, pki):
    """With TLS 1.3 mod_ssl reads the answer along with the session tickets
    and holds it: the route guard once waited on the silent socket for it
    until AuthProxyTimeout (a 504 for about half of the requests)."""
    h = httpd_factory(conf(tls_upstream, pki[0]) + "SSLProxyProtocol TLSv1.3\n"
                      "AuthProxyTimeout 5\n")
    for path in ("/api/auth/providers", "/api/auth/__echo", "/api/auth/signin") * 4:
        started = time.monotonic()
        status, _, body = h.request("GET", path)
        assert status == 200 and time.monotonic() - started < 2, (path, status, body[:200])


def test_unknown_ca_means_no_session_and_an_error_line(httpd_factory, tls_upstream, pki):
    good = httpd_factory(conf(tls_upstream, pki[0]))
    browser = signed_in(good)
    h = httpd_factory(conf(tls_upstream, pki[0], with_ca=False))
    h.expect_log("AUTHPROXY017", r"https://localhost:%d/api/auth/session .*SSL certificate problem"
                 % tls_upstream.port)
    browser.httpd = h
    status, _, body = browser.get("/cgi-bin/env.cgi")
    assert status == 200 and b"AUTHJS_USER_EMAIL" not in body
    errors = h.error_lines()
    assert len(errors) == 1 and errors == h.tagged("AUTHPROXY017", "certificate"), errors


def test_ca_file_must_exist(httpd_factory, tls_upstream):
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:9\n"
                      "AuthProxyCACertificateFile /nonexistent/ca.pem\n", start=False)
    rc, out = h.configtest()
    assert rc != 0 and "AuthProxyCACertificateFile: '/nonexistent/ca.pem' is not a readable " \
                       "file" in out
