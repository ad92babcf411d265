# SPDX-License-Identifier: Apache-2.0
"""An upstream over TLS: the routes through mod_ssl, the /session fetch through
libcurl with AuthProxyCACertificateFile."""
import json
import shutil

import pytest

from harness import Browser, Upstream, make_ca_and_cert, public_tempdir

COOKIE = "authjs.session-token"


@pytest.fixture(scope="module")
def pki():
    d = public_tempdir("authproxy-pki-")
    yield make_ca_and_cert(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_upstream(pki):
    ca, cert, key = pki
    up = Upstream("core", "/api/auth", tls=(cert, key)).start()
    yield up
    up.stop()


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
    browser = Browser(h)
    status, _, _ = browser.sign_in("/api/auth", "alice@example.com", "alice-pw")
    assert status in (302, 303) and COOKIE in browser.cookies
    status, _, body = browser.get("/api/auth/session")
    assert json.loads(body)["user"]["email"] == "alice@example.com"
    status, _, body = browser.get("/cgi-bin/env.cgi")
    env = dict(l.split("=", 1) for l in body.decode().splitlines() if "=" in l)
    assert env["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env["AUTHJS_SESSION_SOURCE"] == "upstream"


def test_unknown_ca_means_no_session_and_an_error_line(httpd_factory, tls_upstream, pki):
    good = httpd_factory(conf(tls_upstream, pki[0]))
    browser = Browser(good)
    browser.sign_in("/api/auth", "alice@example.com", "alice-pw")
    h = httpd_factory(conf(tls_upstream, pki[0], with_ca=False))
    browser.httpd = h
    status, _, body = browser.get("/cgi-bin/env.cgi")
    assert status == 200 and b"AUTHJS_USER_EMAIL" not in body
    errors = [l for l in h.error_log().splitlines() if "[authproxy:error]" in l]
    assert len(errors) == 1 and "certificate" in errors[0].lower(), errors


def test_ca_file_must_exist(httpd_factory, tls_upstream):
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:9\n"
                      "AuthProxyCACertificateFile /nonexistent/ca.pem\n", start=False)
    rc, out = h.configtest()
    assert rc != 0 and "AuthProxyCACertificateFile: '/nonexistent/ca.pem' is not a readable " \
                       "file" in out
