# SPDX-License-Identifier: Apache-2.0
"""Readiness for load balancers (SetHandler authproxy-health): 200 with every
configured part up, 503 once the upstream or the cache is down (within
AuthProxyTimeout and the second a child keeps its result) and 200 again when
it is back; what the upstream must answer; one probe at a time per child;
a probe resolves and counts no session; the C encoder's token, which the
keys' probe decodes, is one Auth.js reads."""
import json
import os
import threading
import time

import pytest

from faulty import FaultyUpstream
from harness import UPSTREAM_SECRET, Upstream, header, mint, serving
from session_helpers import COOKIE, session_cookie, token_for
from test_07_tls import conf as tls_conf, pki, tls_upstream  # noqa: F401 (fixtures)
from test_15_metrics import scrape

HEALTH = """
    <Location /health>
        SetHandler authproxy-health
    </Location>
    <Location /metrics>
        SetHandler authproxy-metrics
        AuthProxySession Off
    </Location>
"""
MEMCACHE = "LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so\n"
ENCODED_GOLDEN = os.path.join(os.path.dirname(__file__), "..", "unit", "encoded.golden")


def conf(upstream, secret=True, cache=None, extra=""):
    """A server probed at /health: local decoding with the secret, the cache
    `cache` (a memcached; None: the default, which local decoding alone does
    not use)."""
    lines = ["AuthProxyUpstream " + upstream.origin]
    if secret:
        lines.append("AuthProxySecret " + UPSTREAM_SECRET)
    if cache:
        lines += [MEMCACHE.strip(), "AuthProxySessionCache memcache:127.0.0.1:%d" % cache.port,
                  # what makes a server that decodes locally use its cache
                  "AuthProxySessionRefresh 3600"]
    return "\n".join(lines) + "\n" + extra + HEALTH


def health(h, method="GET", headers=None):
    status, hdrs, body = h.request(method, "/health", headers=headers)
    return status, hdrs, json.loads(body) if body and method == "GET" else None


def until(h, wanted, within):
    """Probes every 0.1 s until the status is `wanted`: the answer, and how
    long that took; fails past `within` seconds."""
    start = time.monotonic()
    while True:
        status, _, answer = health(h)
        took = time.monotonic() - start
        if status == wanted:
            return answer, took
        assert took < within, "still %d after %.1f s: %r" % (status, took, answer)
        time.sleep(0.1)


def test_all_up_200(httpd_factory, upstream, memcached):
    h = httpd_factory(conf(upstream, cache=memcached))
    status, headers, answer = health(h)
    assert status == 200, answer
    assert answer == {"upstream": "ok", "cache": "ok", "keys": "ok"}
    assert header(headers, "Cache-Control") == "no-store"
    assert header(headers, "Content-Type").startswith("application/json")
    status, headers, _ = h.request("HEAD", "/health")
    assert status == 200 and header(headers, "Cache-Control") == "no-store"
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        status, headers, _ = h.request(method, "/health", body=b"")
        assert status == 405, method
        assert "GET" in header(headers, "Allow") and "POST" not in header(headers, "Allow")


def test_parts_not_configured_are_no_failure(httpd_factory, upstream):
    h = httpd_factory(conf(upstream, secret=False, extra="AuthProxySessionCache none\n"))
    status, _, answer = health(h)
    assert status == 200
    assert answer == {"upstream": "ok", "cache": "off", "keys": "none"}
    # local decoding alone uses no cache: none is probed
    h = httpd_factory(conf(upstream))
    assert health(h)[2] == {"upstream": "ok", "cache": "off", "keys": "ok"}


def test_the_upstream_is_asked_under_the_target_prefix(httpd_factory, upstream_auth_prefix):
    h = httpd_factory(conf(upstream_auth_prefix, extra="AuthProxyTargetPath /auth\n"))
    status, _, answer = health(h)
    assert status == 200 and answer["upstream"] == "ok", answer
    # the routes' prefix where the upstream has none: its 404 is no readiness
    h = httpd_factory(conf(upstream_auth_prefix))
    h.expect_log("AUTHPROXY092", "upstream")
    status, _, answer = health(h)
    assert status == 503 and answer["reasons"]["upstream"].startswith("answered 4"), answer


def test_the_upstream_over_tls_is_verified(httpd_factory, tls_upstream, pki):
    # the /session fetch's CA: the probe's too
    h = httpd_factory(tls_conf(tls_upstream, pki[0]) + HEALTH)
    status, _, answer = health(h)
    assert status == 200 and answer["upstream"] == "ok", answer
    # without it (mod_proxy's SSLProxyCACertificateFile is not libcurl's)
    h = httpd_factory(tls_conf(tls_upstream, pki[0], with_ca=False) + HEALTH)
    h.expect_log("AUTHPROXY092", "upstream")
    status, _, answer = health(h)
    assert status == 503 and answer["upstream"] == "down", answer
    assert "localhost" not in answer["reasons"]["upstream"]


def test_upstream_stopped_503_within_the_timeout_and_200_again(httpd_factory):
    own = Upstream("core", "/api/auth").start()
    try:
        h = httpd_factory(conf(own, extra="AuthProxyTimeout 2\n"))
        h.expect_log("AUTHPROXY092", "upstream")
        assert health(h)[0] == 200
        port = own.port
        own.stop()
        answer, took = until(h, 503, 2 + 1)
        assert answer["upstream"] == "down" and answer["keys"] == "ok", answer
        reason = answer["reasons"]["upstream"]
        # a short reason that names neither the upstream nor its port
        assert reason and len(reason) < 100 and str(port) not in reason
        assert "127.0.0.1" not in reason and "http" not in reason
        assert h.tagged("AUTHPROXY092", "upstream")
        own = Upstream("core", "/api/auth", extra_args=("--port", str(port))).start()
        answer, took = until(h, 200, 2 + 1)
        assert answer == {"upstream": "ok", "cache": "off", "keys": "ok"}
        assert h.wait_for_log("error", lambda text: "AUTHPROXY095" in text)
    finally:
        own.stop()


def test_cache_stopped_503(httpd_factory, upstream, memcached):
    h = httpd_factory(conf(upstream, cache=memcached))
    for tag in ("AUTHPROXY043", "AUTHPROXY044", "AUTHPROXY092"):
        h.expect_log(tag)
    h.expect_other_log("[socache_memcache:crit]")
    assert health(h)[0] == 200
    memcached.stop()
    answer, _ = until(h, 503, 1 + 1)
    assert answer["cache"] == "down" and answer["upstream"] == "ok" and answer["keys"] == "ok"
    assert answer["reasons"]["cache"]
    assert h.tagged("AUTHPROXY092", "cache")


@pytest.fixture
def faulty():
    yield from serving(FaultyUpstream("valid"))


# mode: what the probe reports of it (None: the upstream is up)
ANSWERS = {
    "valid": None,
    "redirect-302": "answered 302",
    "redirect-307": "answered 307",
    "json-array": "the answer is not a JSON object",
    "json-truncated": "the answer is not a JSON object",
    "json-deep": "the answer is not a JSON object",
    "not-http": None,
    "reset-in-body": None,
    "huge-header-line": None,
    "endless-length": None,
}


def test_what_the_upstream_must_answer(httpd_factory, faulty):
    h = httpd_factory(conf(faulty, extra="AuthProxyTimeout 1\n"))
    h.expect_log("AUTHPROXY092", "upstream")
    for mode, reason in ANSWERS.items():
        faulty.switch(mode)
        time.sleep(1.1)     # past the second a child keeps its result
        status, _, answer = health(h)
        if mode == "valid":
            assert status == 200, answer
            continue
        assert status == 503 and answer["upstream"] == "down", (mode, answer)
        if reason:
            assert answer["reasons"]["upstream"] == reason, mode
        # asked for /providers, never followed anywhere
        assert all(c.request_line in (None, "GET /api/auth/providers HTTP/1.1")
                   for c in faulty.connections), mode


ONE_CHILD = """
    StartServers 1
    ServerLimit 1
    ThreadsPerChild 25
    MaxRequestWorkers 25
"""


def test_one_probe_at_a_time_on_a_silent_upstream(httpd_factory, silent_upstream):
    h = httpd_factory(conf(silent_upstream, extra="AuthProxyTimeout 2\n" + ONE_CHILD))
    h.expect_log("AUTHPROXY092", "upstream")
    results = []

    def probe():
        start = time.monotonic()
        status, _, answer = health(h)
        results.append((status, answer, time.monotonic() - start))

    threads = [threading.Thread(target=probe) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 12
    # none waited past AuthProxyTimeout (and the request's own time)
    assert all(status == 503 and took < 2 + 1 for status, _, took in results), results
    assert all(answer["upstream"] == "down" for _, answer, _ in results)
    # one child, one probe: the others waited for it
    assert len(silent_upstream.connections) == 1
    # and its result is kept: the next probes cost the upstream nothing
    for _ in range(5):
        assert health(h)[0] == 503
    assert len(silent_upstream.connections) == 1


def test_a_probe_is_no_visitor(httpd_factory, upstream):
    h = httpd_factory(conf(upstream, extra="<Location /health>\nAuthProxyBearer On\n"
                                           "</Location>\n"))
    token = token_for("alice@example.com")
    before = scrape(h)
    for credential in ({"Cookie": session_cookie(token)}, {"Cookie": session_cookie("forged")},
                       {"Authorization": "Bearer " + token}, {"Authorization": "Bearer x"},
                       None):
        status, headers, answer = health(h, headers=credential)
        assert status == 200, answer
        assert "Set-Cookie" not in dict(headers)
    after = scrape(h)
    counted = [k for k in after if k[0] in ("authproxy_sessions_total",
                                            "authproxy_anonymous_total",
                                            "authproxy_cache_lookups_total",
                                            "authproxy_upstream_requests_total")
               and after[k] != before.get(k, 0)]
    assert not counted, counted


def test_each_virtual_host_probes_its_own_settings(httpd_factory, upstream, faulty):
    faulty.switch("json-array")
    h = httpd_factory(HEALTH + """
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName good.test
            AuthProxyUpstream %s
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName bad.test
            AuthProxyUpstream %s
        </VirtualHost>
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName none.test
        </VirtualHost>
    """ % (upstream.origin, faulty.origin))
    h.expect_log("AUTHPROXY092", "upstream")
    h.expect_log("AUTHPROXY094")
    assert h.request("GET", "/health", host="good.test")[0] == 200
    assert h.request("GET", "/health", host="bad.test")[0] == 503
    assert h.request("GET", "/health", host="none.test")[0] == 404
    assert h.tagged("AUTHPROXY094")


def golden_encoded():
    with open(ENCODED_GOLDEN) as f:
        return dict(line.rstrip("\n").split(" ", 1) for line in f
                    if line.strip() and not line.startswith("#"))


def test_auth_js_reads_the_c_encoders_token():
    golden = golden_encoded()
    assert golden["salt"] == COOKIE
    payload, = mint({"op": "decode", "token": golden["token"], "secret": golden["secret"],
                     "salt": golden["salt"]})
    assert json.loads(payload) == json.loads(golden["payload"])
