# SPDX-License-Identifier: Apache-2.0
"""Fault tests: a misbehaving upstream (faulty.py, one mode per test) behind
the auth routes and behind the module's own GET /session fetch.

httpd runs the prefork MPM with exactly four children (never more, none
reaped as spare), AuthProxyTimeout 1 and no secret, so that every page with a
session cookie asks the upstream: the default shmcb cache keeps no failure,
and with AuthProxySessionCacheNegativeTTL 0 no "no session" either. One
httpd and one faulty upstream serve the module's tests (on each pytest
worker), the upstream switched to each test's mode. Besides its own answers,
each test checks that the fault left httpd whole (assert_unharmed): the
upstream connections let go, every worker idle again, the same children
alive as when the test began, none bloated, all of them answering, no crash
in the error log."""

import concurrent.futures
import re
import socket
import time

import pytest

import faulty
from faulty import FaultyUpstream
from harness import child_pids, rss_kib
from session_helpers import authjs_vars, parse_env, session_cookie

TIMEOUT = 1
BOUND = TIMEOUT + 3        # an answer arrives within AuthProxyTimeout plus a margin
PATIENCE = BOUND + 5       # how long a client waits before it calls the wait a hang
CHILDREN = 4
RSS_GROWTH_KIB = 32 * 1024  # what a child may keep of one fault
CLIENT_COOKIE = session_cookie("whatever")

CONF = """
LoadModule status_module @MODULES@/mod_status.so
StartServers %(children)d
ServerLimit %(children)d
MaxRequestWorkers %(children)d
MinSpareServers 1
MaxSpareServers %(children)d
MaxConnectionsPerChild 0
<Location /server-status>
    SetHandler server-status
</Location>
AuthProxyUpstream %(origin)s
AuthProxyTimeout %(timeout)d
AuthProxySessionCacheNegativeTTL 0
"""

ROUTES = [
    ("GET", "/api/auth/providers", {}, b""),
    ("GET", "/api/auth/session", {"Cookie": CLIENT_COOKIE}, b""),
    # with a cache, a sign-out through the route also evicts the cookie's entry
    ("POST", "/api/auth/signout", {"Cookie": CLIENT_COOKIE,
                                   "Content-Type": "application/x-www-form-urlencoded"},
     b"csrfToken=whatever"),
]

# Well-formed answers, however odd their body: the routes pass them on.
PASSED_ON = {mode: 200 for mode in faulty.FIXED if mode.startswith("json-")}
PASSED_ON.update({"valid": 200, "redirect-302": 302, "redirect-307": 307, "redirect-loop": 302})

# No whole answer within AuthProxyTimeout: 504 (README); other failures 502.
TIMED_OUT = {"silent", "drip-head", "drip-headers", "stall-in-headers", "endless-headers"}


class Site:
    """httpd in front of one faulty upstream, and what its children were
    before the fault."""

    def __init__(self, httpd, upstream):
        self.httpd, self.upstream = httpd, upstream
        # the workers and mod_cgid's daemon
        deadline = time.monotonic() + 10
        while len(child_pids(httpd.proc.pid)) < CHILDREN + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert settle_busy_workers(httpd) <= 1
        self.pids = child_pids(httpd.proc.pid)
        assert len(self.pids) == CHILDREN + 1, self.pids
        self.rss = {pid: rss_kib(pid) for pid in self.pids}


@pytest.fixture(scope="module")
def faulty_httpd(module_httpd_factory):
    """httpd and the faulty upstream behind it: (httpd, upstream)."""
    upstream = FaultyUpstream("valid")
    try:
        yield module_httpd_factory(CONF % {"children": CHILDREN, "origin": upstream.origin,
                                           "timeout": TIMEOUT}, mpm="prefork"), upstream
    finally:
        # first: a worker still reading from it lets go before httpd stops
        upstream.stop()


@pytest.fixture
def site(request, faulty_httpd):
    h, upstream = faulty_httpd
    upstream.switch(request.param)
    return Site(h, upstream)


def busy_workers(h):
    status, _, body = h.request("GET", "/server-status?auto", timeout=PATIENCE)
    assert status == 200
    return int(re.search(rb"^BusyWorkers: (\d+)", body, re.M).group(1))


def settle_busy_workers(h, within=BOUND):
    """Busy workers once at most the asking one is (or at the bound): a child
    that has only just started may not count even that one yet."""
    deadline = time.monotonic() + within
    busy = busy_workers(h)
    while busy > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        busy = busy_workers(h)
    return busy


def assert_unharmed(site):
    h, upstream = site.httpd, site.upstream
    assert upstream.wait_until_all_ended(BOUND), \
        "httpd still holds %d upstream connections" % len(upstream.open_connections())
    assert settle_busy_workers(h) <= 1
    assert child_pids(h.proc.pid) == site.pids, "a child died and was replaced"
    grown = {pid: rss_kib(pid) - site.rss[pid] for pid in site.pids}
    assert max(grown.values()) <= RSS_GROWTH_KIB, "RSS growth in KiB per child: %s" % grown
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: h.request("GET", "/index.html",
                                                     timeout=PATIENCE)[0], range(40)))
    assert statuses == [200] * 40
    crashes = re.findall(r".*(?:exit signal|AH00050|Segmentation).*", h.error_log())
    assert not crashes, crashes


class Answer:
    def __init__(self):
        self.status = None
        self.head = b""
        self.body = b""             # its first BODY_KEPT bytes
        self.body_len = 0
        self.head_after = None      # seconds until the whole head had come
        self.ended_after = None     # seconds until the server closed, if it did


BODY_KEPT = 64 << 10


def exchange(port, method, path, headers, body):
    """One request on a raw connection (http.client refuses more than 100
    headers); the client reads the head, then the body until the server
    closes or until it gives up: after PATIENCE of silence, or twice that in
    all (a body that never ends is counted, not kept)."""
    answer = Answer()
    started = time.monotonic()
    give_up = started + 2 * PATIENCE
    request = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % port,
               "Connection: close", "Content-Length: %d" % len(body)]
    request += ["%s: %s" % kv for kv in headers.items()]
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as s:
        s.sendall("\r\n".join(request).encode() + b"\r\n\r\n" + body)
        try:
            while b"\r\n\r\n" not in data and len(data) < 64 << 20 \
                    and time.monotonic() < give_up:
                chunk = s.recv(1 << 20)
                if not chunk:
                    answer.ended_after = time.monotonic() - started
                    break
                data += chunk
            if b"\r\n\r\n" in data:
                answer.head_after = time.monotonic() - started
                answer.head, _, answer.body = data.partition(b"\r\n\r\n")
                answer.body_len = len(answer.body)
                answer.status = int(answer.head.split(b" ", 2)[1])
            while answer.ended_after is None and time.monotonic() < give_up:
                chunk = s.recv(1 << 20)
                if not chunk:
                    answer.ended_after = time.monotonic() - started
                    break
                answer.body_len += len(chunk)
                answer.body += chunk[:max(0, BODY_KEPT - len(answer.body))]
        except socket.timeout:
            pass
        except ConnectionResetError:
            answer.ended_after = time.monotonic() - started
    return answer


def content_length(answer):
    m = re.search(rb"^Content-Length: *(\d+)", answer.head, re.M | re.I)
    return m and int(m.group(1))


def location(answer):
    m = re.search(rb"^Location: (.*)\r?$", answer.head, re.M | re.I)
    return m and m.group(1).decode().strip()


@pytest.mark.parametrize("site", faulty.MODES, indirect=True)
def test_routes_answer_within_the_timeout(site):
    """GET /providers, GET /session and POST /signout, all three at once:
    the whole answer within AuthProxyTimeout plus a margin.

    Until the status line and headers are complete the client has nothing:
    a head that does not come whole in time (silent, dripped, stalled,
    endless) must become 504, a broken one 502, within the bound; a
    well-formed answer, however odd its body, is passed on as it came.

    Where a 200 and its headers have left before the body goes bad
    (faulty.STREAMED) the status cannot change any more, so the bound is on
    the connection: whether the body is cut (reset), stalls (mod_proxy's
    timeout, per read) or keeps coming, fast or a byte at a time (the
    module's deadline on the whole answer), httpd ends the connection within
    the bound, the client having less than the Content-Length; and lets go
    of the upstream too (assert_unharmed), so no worker hangs on it."""
    mode, h = site.upstream.mode, site.httpd
    origin = re.escape(site.upstream.origin)
    # a route that fails before its status has gone logs one line naming the upstream
    if mode in TIMED_OUT:
        h.expect_log("AUTHPROXY027", r"%s .*/api/auth/\w+" % origin)
    elif mode not in PASSED_ON and mode not in faulty.STREAMED:
        h.expect_log("AUTHPROXY028", r"%s .*/api/auth/\w+" % origin)
    with concurrent.futures.ThreadPoolExecutor(len(ROUTES)) as pool:
        answers = list(pool.map(lambda route: exchange(h.port, *route), ROUTES))
    for (method, path, _, _), a in zip(ROUTES, answers):
        what = "%s %s: %s" % (method, path, vars(a))
        assert a.head_after is not None and a.head_after <= BOUND, what
        assert a.ended_after is not None and a.ended_after <= BOUND, what
        if mode in faulty.STREAMED:
            assert a.status == 200, what
            declared = content_length(a)
            assert declared is None or a.body_len < declared, what
            continue
        if mode not in PASSED_ON:
            assert a.status == (504 if mode in TIMED_OUT else 502), what
        elif mode == "redirect-loop":
            assert (a.status, location(a)) == (302, h.origin + path), what
        elif mode.startswith("redirect-"):
            assert a.status == PASSED_ON[mode], what
            assert location(a) == "http://localhost:%d%s" % (site.upstream.port,
                                                             faulty.TRAP_PATH), what
        else:
            assert a.status == PASSED_ON[mode], what
            if mode in faulty.FIXED:
                assert a.body == faulty.FIXED[mode].partition(b"\r\n\r\n")[2], what
    assert_unharmed(site)


def page(h, path):
    started = time.monotonic()
    status, _, body = h.request("GET", path, headers={"Cookie": CLIENT_COOKIE}, timeout=PATIENCE)
    return status, time.monotonic() - started, body


@pytest.mark.parametrize("site", faulty.MODES, indirect=True)
def test_pages_are_served_anonymously_within_the_timeout(site):
    """Pages with a session cookie, three CGI requests and a static one at
    once: the /session fetch (libcurl, whose timeout is a total one) fails or
    finds no session, and the page is served anonymously within
    AuthProxyTimeout plus a margin; a redirect is never followed. The
    control, mode "valid", is signed in."""
    mode, h = site.upstream.mode, site.httpd
    # a fetch that fails logs one line each, one that finds no session none
    if mode not in PASSED_ON:
        # too large an answer, or none
        tag = "AUTHPROXY016" if mode in ("endless-chunked", "endless-length") else "AUTHPROXY017"
        h.expect_log(tag, r"%s/api/auth/session" % re.escape(site.upstream.origin))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda path: page(h, path),
                                ["/cgi-bin/env.cgi"] * 3 + ["/index.html"]))
    for status, elapsed, body in results:
        assert status == 200 and elapsed <= BOUND, (status, elapsed, body[:200])
    for _, _, body in results[:3]:
        authjs = authjs_vars(parse_env(body))
        if mode == "valid":
            assert authjs["AUTHJS_USER_EMAIL"] == faulty.SESSION["user"]["email"]
        else:
            assert not authjs, authjs
    assert site.upstream.connections
    # "close-at-once" closes before reading a request line
    asked = [c.request_line for c in site.upstream.connections if c.request_line]
    assert all(line.startswith("GET /api/auth/session ") for line in asked), asked
    assert_unharmed(site)

