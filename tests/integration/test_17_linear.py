# SPDX-License-Identifier: Apache-2.0
"""Work linear in what a client sends, through a real httpd: the largest
Cookie header a site that raised LimitRequestFieldSize admits, with the
session among some 21,000 other cookies, and as many X-Authjs-* spoofs as
LimitRequestFields lets in. Stripping the cookie re-copied the kept ones
pair by pair: here 5.3 s and over 900 MB for the request below.
(tests/unit/test_linear.c holds each function alone.)"""
import string
import time

import pytest

from harness import SANITIZER_RUNTIMES, UPSTREAM_SECRET, child_pids
from session_helpers import COOKIE, parse_env, token_for

FIELD_SIZE = 65536
FIELDS = 1000
EMAIL = "many@example.com"
# the sanitizer build too, on a shared machine: the quadratic strip alone
# took seconds
BOUND_S = 2.0
REQUESTS = 20
PEAK_GROWTH_KIB = 4096

# LimitRequestField* must be the server's: httpd reads a request's headers
# before it knows the VirtualHost.
CONF = """
    LimitRequestFieldSize %d
    LimitRequestFields %d
    AuthProxyUpstream %s
    AuthProxySecret %s
    <Location />
        AuthProxyStripCookie On
        AuthProxyPassHeaders On
    </Location>
"""

ONE_CHILD = """
    StartServers 1
    ServerLimit 1
    MaxRequestWorkers 1
    MinSpareServers 1
    MaxSpareServers 2
"""


def cookies_around(token):
    """A Cookie header of nearly FIELD_SIZE bytes with the line's name: the
    shortest pairs ("a=", 3 bytes with the ';'), the session cookie in the
    middle; and the others."""
    names = string.ascii_letters + string.digits
    others = ["%s=" % names[i % len(names)] for i in range((FIELD_SIZE - len(token) - 200) // 3)]
    middle = len(others) // 2
    header = ";".join(others[:middle] + ["%s=%s" % (COOKIE, token)] + others[middle:])
    assert len("Cookie: " + header) < FIELD_SIZE
    return header, others


def spoofs():
    """What a client may send for X-Authjs-* in the fields left, each spelt
    its own way."""
    forms = ("X-Authjs-Claim-%d", "x-authjs-user-email-%d", "X_AUTHJS_SESSION_%d",
             "XAuthjs-%d", "x-AuthJS__Expires%d")
    return {forms[i % len(forms)] % i: "spoofed" for i in range(FIELDS - 100)}


def request(h, path, cookie, extra):
    started = time.monotonic()
    status, _, body = h.request("GET", path, headers={"Cookie": cookie, **extra})
    return status, body, time.monotonic() - started


def test_largest_cookie_and_most_spoofs_are_cheap(httpd_factory, upstream):
    h = httpd_factory(CONF % (FIELD_SIZE, FIELDS, upstream.origin, UPSTREAM_SECRET))
    cookie, others = cookies_around(token_for(EMAIL))
    extra = spoofs()
    # timed once the child has started
    h.let_children_start()
    status, body, took = request(h, "/cgi-bin/env.cgi", cookie, extra)
    assert status == 200, body[:500]
    env = parse_env(body)
    assert env["AUTHJS_USER_EMAIL"] == EMAIL
    assert env["HTTP_X_AUTHJS_USER_EMAIL"] == EMAIL
    assert "spoofed" not in body.decode()
    kept = env["HTTP_COOKIE"].split("; ")
    assert kept == others, "%d pairs kept of %d" % (len(kept), len(others))
    assert COOKIE not in env["HTTP_COOKIE"]
    assert took < BOUND_S, "%.2f s" % took


def peak_rss_kib(pid):
    """VmHWM, the most a process has had resident: what a request takes
    and gives back shows there, not in VmRSS."""
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


@pytest.mark.skipif(bool(SANITIZER_RUNTIMES),
                    reason="under ASan a process's RSS says nothing of what the module takes")
def test_largest_cookie_and_most_spoofs_take_little_memory(httpd_factory, upstream):
    """One child serves them all (prefork), a static page so that no CGI
    counts; what a request takes and gives back shows in the peak."""
    h = httpd_factory(ONE_CHILD + CONF % (FIELD_SIZE, FIELDS, upstream.origin, UPSTREAM_SECRET),
                      mpm="prefork")
    token = token_for(EMAIL)
    cookie, _ = cookies_around(token)
    extra = spoofs()
    h.let_children_start()
    # an ordinary request's peak first: the large ones may raise it only by
    # what one of them takes at once and by what they keep
    assert request(h, "/index.html", "%s=%s" % (COOKIE, token), {})[0] == 200
    before = {pid: peak_rss_kib(pid) for pid in child_pids(h.proc.pid)}
    for _ in range(REQUESTS):
        assert request(h, "/index.html", cookie, extra)[0] == 200
    grown = {pid: peak_rss_kib(pid) - kib for pid, kib in before.items()}
    assert max(grown.values()) < PEAK_GROWTH_KIB, "peak RSS growth in KiB per child: %s" % grown
