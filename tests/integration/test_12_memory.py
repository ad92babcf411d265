# SPDX-License-Identifier: Apache-2.0
"""What a child keeps across many requests: nothing that grows with their
number. (bench/soak.sh measures the same under load, for minutes.)"""
import http.client

import pytest

from harness import SANITIZER_RUNTIMES, child_pids, rss_kib

WARM_UP = 1000
REQUESTS = 10000
# Far below one allocation per request: APR takes memory in 8 KiB blocks.
GROWTH_LIMIT_KIB = 256

pytestmark = pytest.mark.skipif(bool(SANITIZER_RUNTIMES),
                                reason="under ASan a process's RSS says nothing of its leaks")


def rss_of_children(h):
    return {pid: rss_kib(pid) for pid in child_pids(h.proc.pid)}


def get_many(h, path, n):
    """n requests on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    try:
        for _ in range(n):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
    finally:
        conn.close()


def test_route_requests_on_a_kept_alive_upstream_connection_keep_nothing(httpd_factory,
                                                                        upstream):
    """One child, so that every request reuses the same upstream connection
    (a brigade per request in that connection's pool was ~60 bytes each)."""
    h = httpd_factory("""
        StartServers 1
        ServerLimit 1
        MaxRequestWorkers 1
        MinSpareServers 1
        MaxSpareServers 2
        MaxKeepAliveRequests 0
        AuthProxyUpstream %s
    """ % upstream.origin, mpm="prefork")
    get_many(h, "/api/auth/providers", WARM_UP)
    before = rss_of_children(h)
    get_many(h, "/api/auth/providers", REQUESTS)
    after = rss_of_children(h)
    grown = {pid: after[pid] - before[pid] for pid in before}
    assert max(grown.values()) <= GROWTH_LIMIT_KIB, "RSS growth in KiB per child: %s" % grown
