# SPDX-License-Identifier: Apache-2.0
"""Auth routes forwarded to a real Auth.js upstream through mod_proxy."""
import base64
import json
import os
import re
import socket
import threading
import time

import pytest

from harness import Browser, free_port, header, header_all, on_origin
from session_helpers import COOKIE

PREFIX = "/api/auth"


@pytest.fixture(scope="module")
def app(module_httpd_factory, upstream):
    return module_httpd_factory("""
        AuthProxyUpstream %s
        AuthProxyHeader X-Api-Key from-config
        AuthProxyHeader X-Second two
    """ % upstream.origin)


def echo(httpd, path, method="GET", body=None, headers=None):
    status, hdrs, data = httpd.request(method, PREFIX + "/__echo" + path, body, headers)
    assert status == 200, data
    return json.loads(data), hdrs


def test_providers_and_csrf_through_the_proxy(app):
    status, hdrs, body = app.request("GET", PREFIX + "/providers")
    assert status == 200, body
    providers = json.loads(body)
    assert providers["credentials"]["signinUrl"] == app.origin + PREFIX + "/signin/credentials"
    assert providers["credentials"]["callbackUrl"] == app.origin + PREFIX + "/callback/credentials"

    status, hdrs, body = app.request("GET", PREFIX + "/csrf")
    assert status == 200
    assert len(json.loads(body)["csrfToken"]) > 20
    assert any(c.startswith("authjs.csrf-token=") for c in header_all(hdrs, "Set-Cookie"))


def test_credentials_sign_in_session_and_sign_out(app):
    browser = Browser(app)
    status, hdrs, _ = browser.sign_in(PREFIX, "alice@example.com", "alice-pw")
    assert status in (302, 303)
    assert on_origin(header(hdrs, "Location"), app.origin)
    cookies = header_all(hdrs, "Set-Cookie")
    assert any(c.startswith(COOKIE + "=") and "HttpOnly" in c for c in cookies)
    assert COOKIE in browser.cookies

    status, _, body = browser.get(PREFIX + "/session")
    assert status == 200
    session = json.loads(body)
    assert session["user"]["email"] == "alice@example.com"
    assert session["user"]["name"] == "Alice Example"

    status, hdrs, _ = browser.sign_out(PREFIX)
    assert status in (302, 303)
    assert any(c.startswith(COOKIE + "=;") or "Max-Age=0" in c
               for c in header_all(hdrs, "Set-Cookie") if c.startswith(COOKIE))
    assert COOKIE not in browser.cookies
    status, _, body = browser.get(PREFIX + "/session")
    assert json.loads(body) is None


def test_wrong_password_gets_no_session(app):
    browser = Browser(app)
    status, hdrs, _ = browser.sign_in(PREFIX, "alice@example.com", "wrong")
    assert status in (302, 303)
    assert "error=" in header(hdrs, "Location")
    assert COOKIE not in browser.cookies


def test_request_headers_seen_by_the_upstream(app, upstream):
    seen, _ = echo(app, "", headers={
        "Accept-Encoding": "gzip, br",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "hop-by-hop by Connection",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Upgrade": "h2c",
        "Proxy-Connection": "keep-alive",
        "X-Api-Key": "from-client",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "gopher",
        "Cookie": "a=1; %s=abc.def" % COOKIE,
        "Authorization": "Bearer client-token",
        "X-Custom": "kept",
    })
    h = seen["headers"]
    assert h["host"] == "127.0.0.1:%d" % upstream.port
    for gone in ("accept-encoding", "x-hop", "keep-alive", "te", "upgrade", "content-length",
                 "proxy-connection"):
        assert gone not in h, gone
    assert h.get("connection", "close").lower() in ("close", "keep-alive")
    assert h["x-api-key"] == "from-config"
    assert h["x-second"] == "two"
    assert h["cookie"] == "a=1; %s=abc.def" % COOKIE
    assert h["authorization"] == "Bearer client-token"
    assert h["x-custom"] == "kept"
    assert h["x-forwarded-host"] == "127.0.0.1:%d" % app.port
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-for"].split(",")[-1].strip() == "127.0.0.1"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_passes(app, method):
    body = b"payload" if method in ("POST", "PUT", "PATCH") else None
    seen, _ = echo(app, "/m", method=method, body=body)
    assert seen["method"] == method
    if body:
        assert base64.b64decode(seen["body_b64"]) == body


def test_post_body_arrives_byte_identical(app):
    body = os.urandom(300 * 1024) + b"\r\n\x00end"
    seen, _ = echo(app, "/bin", method="POST", body=body,
                   headers={"Content-Type": "application/octet-stream"})
    assert seen["body_len"] == len(body)
    assert base64.b64decode(seen["body_b64"]) == body


def test_chunked_post_body_arrives_byte_identical(app):
    parts = [os.urandom(1000), b"x" * 70000, os.urandom(17)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    raw = app.raw(b"POST " + PREFIX.encode() + b"/__echo/chunked HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n" + chunked)
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    if b"transfer-encoding: chunked" in head.lower():
        payload = dechunk(payload)
    seen = json.loads(payload)
    assert base64.b64decode(seen["body_b64"]) == b"".join(parts)


def dechunk(data):
    out = b""
    while True:
        size, _, rest = data.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            return out
        out += rest[:n]
        data = rest[n + 2:]


@pytest.mark.parametrize("path", [
    "/a%2Fb",
    "/a%2Fb/c%20d/",
    "/x?q=%2F&r=a+b&empty=&flag",
    "/trailing/",
    "/%E2%82%AC?v=%E2%82%AC",
    "/semi;colon",
])
def test_path_and_query_reach_the_upstream_as_sent(app, path):
    seen, _ = echo(app, path)
    assert seen["url"] == PREFIX + "/__echo" + path


def test_the_prefix_itself_and_its_slash_are_forwarded(app):
    status, _, body = app.request("GET", PREFIX + "/session")
    assert status == 200 and json.loads(body) is None
    seen, _ = echo(app, "/")
    assert seen["url"] == PREFIX + "/__echo/"


def test_a_path_that_only_starts_like_the_prefix_is_not_forwarded(app, upstream):
    app.write("htdocs/authx", "local file\n")
    os.makedirs(os.path.join(app.dir, "htdocs", "api"), exist_ok=True)
    app.write("htdocs/api/authx", "local file\n")
    status, _, body = app.request("GET", "/api/authx")
    assert status == 200 and body == b"local file\n"
    status, _, _ = app.request("GET", "/api/authx/session")
    assert status == 404
    status, _, body = app.request("GET", "/index.html")
    assert status == 200 and b"app" in body


def test_dot_segments_cannot_leave_the_prefix(app):
    status, _, body = app.request("GET", PREFIX + "/../../index.html")
    assert status == 200 and b"<h1>app</h1>" in body


def test_two_set_cookie_headers_stay_apart(app):
    _, hdrs = echo(app, "?cookies=1")
    cookies = header_all(hdrs, "Set-Cookie")
    assert "a=1; Path=/" in cookies
    assert "b=2; Path=%s; HttpOnly" % PREFIX in cookies


def test_redirects_are_passed_not_followed(app, upstream):
    status, hdrs, _ = app.request("GET", PREFIX + "/__echo?status=302&location=https://idp.example/authorize")
    assert status == 302
    assert header(hdrs, "Location") == "https://idp.example/authorize"


def test_upstream_error_statuses_pass_through(app):
    for code in (400, 401, 403, 404, 500, 503):
        status, _, _ = app.request("GET", PREFIX + "/__echo?status=%d" % code)
        assert status == code


def test_two_virtual_hosts_with_different_upstreams(httpd_factory, upstream, upstream_express):
    h = httpd_factory("""
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName one.test
            AuthProxyUpstream %s
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName two.test
            AuthProxyUpstream %s
            AuthProxyLocalPath /auth
            AuthProxyTargetPath /api/auth
        </VirtualHost>
    """ % (upstream.origin, upstream_express.origin))
    status, _, body = h.request("GET", "/api/auth/__echo/x", host="one.test:%d" % h.port)
    assert status == 200
    assert json.loads(body)["headers"]["host"] == "127.0.0.1:%d" % upstream.port
    status, _, body = h.request("GET", "/auth/__echo/x", host="two.test:%d" % h.port)
    assert status == 200
    assert json.loads(body)["headers"]["host"] == "127.0.0.1:%d" % upstream_express.port
    # each host forwards its own prefix only
    assert h.request("GET", "/auth/__echo/x", host="one.test:%d" % h.port)[0] == 404
    assert h.request("GET", "/api/auth/__echo/x", host="two.test:%d" % h.port)[0] == 404


def test_virtual_host_inherits_and_overrides_field_by_field(httpd_factory, upstream,
                                                            upstream_auth_prefix):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxyHeader X-Api-Key main
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName inherit.test
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName override.test
            AuthProxyUpstream %s
            AuthProxyTargetPath /auth
            AuthProxyHeader X-Api-Key vhost
        </VirtualHost>
    """ % (upstream.origin, upstream_auth_prefix.origin))
    status, _, body = h.request("GET", "/api/auth/__echo", host="inherit.test")
    seen = json.loads(body)
    assert seen["headers"]["x-api-key"] == "main"
    assert seen["url"] == "/api/auth/__echo"
    status, _, body = h.request("GET", "/api/auth/__echo", host="override.test")
    seen = json.loads(body)
    assert seen["headers"]["x-api-key"] == "vhost"
    assert seen["url"] == "/auth/__echo"
    assert seen["headers"]["host"] == "127.0.0.1:%d" % upstream_auth_prefix.port


# ---- failures -----------------------------------------------------------------

def test_upstream_down_gives_502_and_recovers_at_once(httpd_factory):
    port = free_port()
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:%d\n" % port)
    h.expect_log("AUTHPROXY028", r"http://127\.0\.0\.1:%d .*/api/auth/session" % port)
    status, _, _ = h.request("GET", PREFIX + "/session")
    assert status == 502
    errors = h.error_lines()
    assert len(errors) == 1
    assert errors == h.tagged("AUTHPROXY028", "http://127.0.0.1:%d" % port, "/api/auth/session")

    # the worker is not parked in error: once the upstream listens, the next request passes
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4)

    def answer_once():
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    t = threading.Thread(target=answer_once, daemon=True)
    t.start()
    try:
        status, _, body = h.request("GET", PREFIX + "/session")
        assert (status, body) == (200, b"ok")
    finally:
        t.join(5)
        listener.close()


def test_silent_upstream_gives_504_within_the_timeout(httpd_factory, silent_upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxyTimeout 1\n" % silent_upstream.origin)
    h.expect_log("AUTHPROXY027", r"%s .*/api/auth/session" % re.escape(silent_upstream.origin))
    started = time.monotonic()
    status, _, _ = h.request("GET", PREFIX + "/session", timeout=20)
    assert status == 504
    # a bound against a hang, not a speed measurement
    assert time.monotonic() - started < 15
    errors = h.error_lines()
    assert len(errors) == 1
    assert errors == h.tagged("AUTHPROXY027", silent_upstream.origin, "/api/auth/session",
                              "AuthProxyTimeout")


def test_upstream_closing_without_answer_gives_502(httpd_factory):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]

    def close_each(n=4):
        for _ in range(n):
            try:
                srv.settimeout(10)
                conn, _ = srv.accept()
                conn.recv(65536)
                conn.close()
            except OSError:
                return

    t = threading.Thread(target=close_each, daemon=True)
    t.start()
    try:
        h = httpd_factory("AuthProxyUpstream http://127.0.0.1:%d\n" % port)
        h.expect_log("AUTHPROXY028", r"http://127\.0\.0\.1:%d .*/api/auth/session" % port)
        status, _, _ = h.request("GET", PREFIX + "/session")
        assert status == 502
    finally:
        # wakes the accept() still waiting for a connection that never comes
        srv.shutdown(socket.SHUT_RDWR)
        srv.close()
        t.join(12)
