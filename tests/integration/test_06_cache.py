# SPDX-License-Identifier: Apache-2.0
"""The /session cache on httpd's socache: one upstream call for many requests."""
import concurrent.futures
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse

import pytest

from harness import UPSTREAM_SECRET, Upstream, free_port, stop_process, tagged, wait_for_port
from session_helpers import (Connection, alice_token, authjs_vars, env_with, session_cookie,
                             sign_out)

SINGLE_PROCESS = """
    StartServers 1
    ServerLimit 1
    ThreadsPerChild 32
    MaxRequestWorkers 32
"""


def page(h, token):
    """A cheap page: the session is resolved for it all the same."""
    status, _, _ = h.request("GET", "/index.html", headers={"Cookie": session_cookie(token)})
    assert status == 200
    return status


@pytest.fixture
def cached(httpd_factory, upstream):
    return httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionCacheTTL 3
        AuthProxySessionCacheNegativeTTL 2
    """ % upstream.origin)


def test_many_requests_one_upstream_call(cached, upstream):
    token = alice_token()
    before = upstream.session_calls()
    e = env_with(cached, token)
    assert e["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert e["AUTHJS_SESSION_SOURCE"] == "upstream"
    for _ in range(199):
        page(cached, token)
    assert upstream.session_calls() == before + 1
    e = env_with(cached, token)
    assert e["AUTHJS_SESSION_SOURCE"] == "cache"
    assert e["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert e["AUTHJS_USER_ID"] == "u-alice"


def test_after_the_ttl_one_more_call(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySessionCacheTTL 1\n" % upstream.origin)
    token = alice_token()
    before = upstream.session_calls()
    page(h, token)
    page(h, token)
    assert upstream.session_calls() == before + 1
    time.sleep(1.5)  # the TTL, 1 s
    page(h, token)
    page(h, token)
    assert upstream.session_calls() == before + 2


def test_no_session_is_kept_briefly_in_the_child(httpd_factory, upstream):
    """A "no session" answer stays in the child that heard it, never in the
    shared cache, where anonymous traffic would push real sessions out."""
    h = httpd_factory(SINGLE_PROCESS + """
        AuthProxyUpstream %s
        AuthProxySessionCacheNegativeTTL 2
    """ % upstream.origin)
    before = upstream.session_calls()
    for _ in range(10):
        assert not authjs_vars(env_with(h, "not-a-token"))
    assert upstream.session_calls() == before + 1
    time.sleep(2.5)
    env_with(h, "not-a-token")
    assert upstream.session_calls() == before + 2


def test_none_asks_for_every_request(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySessionCache none\n" % upstream.origin)
    token = alice_token()
    before = upstream.session_calls()
    for _ in range(10):
        page(h, token)
    assert upstream.session_calls() == before + 10


def test_entry_never_outlives_the_session(httpd_factory, upstream_db):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionStrategy database
        AuthProxySessionCacheTTL 600
    """ % upstream_db.origin)
    made = upstream_db.db_session("bob@example.org", expiresIn=2)
    assert env_with(h, made["sessionToken"])["AUTHJS_USER_EMAIL"] == "bob@example.org"
    assert env_with(h, made["sessionToken"])["AUTHJS_SESSION_SOURCE"] == "cache"
    time.sleep(2.5)
    assert "AUTHJS_USER_EMAIL" not in env_with(h, made["sessionToken"])


def test_sign_out_through_the_route_evicts(httpd_factory, upstream_db):
    h = httpd_factory("""
        AuthProxyUpstream %s
        AuthProxySessionStrategy database
    """ % upstream_db.origin)
    token = upstream_db.db_session("alice@example.com")["sessionToken"]
    before = upstream_db.session_calls()
    assert env_with(h, token)["AUTHJS_USER_EMAIL"] == "alice@example.com"
    assert env_with(h, token)["AUTHJS_SESSION_SOURCE"] == "cache"
    sign_out(h, token)
    # the old cookie is asked about again, and the upstream has ended it
    assert "AUTHJS_USER_EMAIL" not in env_with(h, token)
    assert upstream_db.session_calls() > before + 1


def test_concurrent_misses_make_a_single_call(httpd_factory):
    slow = Upstream("core", "/api/auth", ["--session-delay", "700"]).start()
    try:
        h = httpd_factory(SINGLE_PROCESS + "AuthProxyUpstream %s\n" % slow.origin)
        token = alice_token()
        before = slow.session_calls()
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            envs = list(pool.map(lambda _: env_with(h, token), range(20)))
        assert all(e["AUTHJS_USER_EMAIL"] == "alice@example.com" for e in envs)
        assert slow.session_calls() == before + 1
        sources = {e["AUTHJS_SESSION_SOURCE"] for e in envs}
        assert sources <= {"upstream", "cache"}
    finally:
        slow.stop()


class CacheServer:
    """memcached or redis on a free loopback port, for a test's length."""

    def __init__(self, kind):
        self.port = free_port()
        if kind == "memcache":
            args = ["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "16"]
            if os.geteuid() == 0:
                args += ["-u", "nobody"]
        else:
            args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                    "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if not wait_for_port(self.port, self.proc):
            raise RuntimeError(kind + " did not start")

    def stop(self):
        stop_process(self.proc)


@pytest.mark.parametrize("kind, binary", [("memcache", "memcached"), ("redis", "redis-server")])
def test_shared_cache_for_two_servers_and_survivable(httpd_factory, upstream, kind, binary):
    if not shutil.which(binary):
        pytest.skip(binary + " is not installed")
    mc = CacheServer(kind)
    try:
        # a fleet behind one public name shares answers
        conf = """
            LoadModule socache_%s_module @MODULES@/mod_socache_%s.so
            AuthProxyUpstream %s
            AuthProxyPublicOrigin http://app.fleet.test
            AuthProxySessionCache %s:127.0.0.1:%d
            AuthProxySessionCacheTTL 60
        """ % (kind, kind, upstream.origin, kind, mc.port)
        a, b = httpd_factory(conf), httpd_factory(conf)
        for h in (a, b):
            # with the cache server gone, each lookup and each store fails, and
            # socache_%s says so too
            for tag in ("AUTHPROXY043", "AUTHPROXY044"):   # a lookup, a store
                h.expect_log(tag, r"%s:127\.0\.0\.1:%d" % (kind, mc.port))
            h.expect_other_log("[socache_%s:crit]" % kind, r"error setting key 'authproxy-")
        token = alice_token()
        before = upstream.session_calls()
        assert env_with(a, token)["AUTHJS_SESSION_SOURCE"] == "upstream"
        e = env_with(b, token)
        assert e["AUTHJS_SESSION_SOURCE"] == "cache"
        assert e["AUTHJS_USER_EMAIL"] == "alice@example.com"
        assert upstream.session_calls() == before + 1

        mc.stop()
        # what a child has read from the cache it takes as it is for a second
        time.sleep(1.2)
        for h in (a, b, a, b):
            e = env_with(h, token)
            assert e["AUTHJS_USER_EMAIL"] == "alice@example.com"
            assert e["AUTHJS_SESSION_SOURCE"] == "upstream"
        assert upstream.session_calls() == before + 5
        assert a.tagged("AUTHPROXY043", "%s:127.0.0.1" % kind) \
            + a.tagged("AUTHPROXY044", "%s:127.0.0.1" % kind)
    finally:
        mc.stop()


def test_sign_out_on_one_server_reaches_the_other_within_a_second(httpd_factory, upstream_db):
    if not shutil.which("memcached"):
        pytest.skip("memcached is not installed")
    mc = CacheServer("memcache")
    try:
        conf = """
            LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
            AuthProxyUpstream %s
            AuthProxyPublicOrigin http://app.fleet.test
            AuthProxySessionStrategy database
            AuthProxySessionCache memcache:127.0.0.1:%d
            AuthProxySessionCacheTTL 600
        """ % (upstream_db.origin, mc.port)
        a, b = httpd_factory(conf), httpd_factory(conf)
        token = upstream_db.db_session("alice@example.com")["sessionToken"]
        kept = Connection(b)
        assert kept.env(token)["AUTHJS_USER_EMAIL"] == "alice@example.com"
        assert kept.env(token)["AUTHJS_SESSION_SOURCE"] == "cache"
        sign_out(a, token)
        time.sleep(1.1)
        assert "AUTHJS_USER_EMAIL" not in kept.env(token)
        kept.close()
    finally:
        mc.stop()


def memcached_command(port, command):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(command)
        answer = b""
        while not answer.endswith((b"END\r\n", b"STORED\r\n", b"ERROR\r\n")):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer.decode()


@pytest.mark.parametrize("garbage, tag, why", [
    # a bad entry, and why
    (b"{not json", "AUTHPROXY056", "answer is not JSON"),
    (b'{"user": 42}', "AUTHPROXY056", "answer holds no user object"),
    # more than the module reads back (the size): socache_memcache fails the lookup (ENOMEM)
    (b"\xff" * 70000, "AUTHPROXY042", "65536"),
    (b"", "AUTHPROXY056", "answer is not JSON"),
], ids=["not-json", "no-user-object", "too-large", "empty"])
def test_a_broken_cache_entry_is_fetched_again(httpd_factory, upstream, garbage, tag, why):
    if not shutil.which("memcached"):
        pytest.skip("memcached is not installed")
    mc = CacheServer("memcache")
    try:
        h = httpd_factory("""
            LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
            AuthProxyUpstream %s
            AuthProxySessionCache memcache:127.0.0.1:%d
        """ % (upstream.origin, mc.port))
        h.expect_log(tag, r"memcache:127\.0\.0\.1:%d .*%s" % (mc.port, re.escape(why)))
        token = alice_token()
        assert env_with(h, token)["AUTHJS_SESSION_SOURCE"] == "upstream"
        # metadump lists keys URL-encoded
        keys = [urllib.parse.unquote(k) for k in re.findall(
            r"key=(\S+)", memcached_command(mc.port, b"lru_crawler metadump all\r\n"))]
        assert len(keys) == 1, keys
        stored = memcached_command(mc.port, b"set %s 0 0 %d\r\n%s\r\n"
                                   % (keys[0].encode(), len(garbage), garbage))
        assert stored == "STORED\r\n"
        # what the child fetched it takes as it is for a second
        time.sleep(1.2)
        before = upstream.session_calls()
        e = env_with(h, token)
        assert e["AUTHJS_USER_EMAIL"] == "alice@example.com"
        assert e["AUTHJS_SESSION_SOURCE"] == "upstream"
        assert upstream.session_calls() == before + 1
        assert h.tagged(tag, "memcache:127.0.0.1:%d" % mc.port, why)
    finally:
        mc.stop()


def test_local_decoding_needs_no_cache(httpd_factory, upstream):
    h = httpd_factory("""
        LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxySessionCache memcache:127.0.0.1:1
    """ % (upstream.origin, UPSTREAM_SECRET))
    assert env_with(h, alice_token())["AUTHJS_SESSION_SOURCE"] == "local"


@pytest.mark.parametrize("conf, message", [
    # a log line (its tag and what it names), or a directive's refusal
    ("AuthProxySessionCache nosuch", ("AUTHPROXY034", "AuthProxySessionCache nosuch",
                                      "'a2enmod socache_nosuch'")),
    ("AuthProxySessionCacheTTL 0", "AuthProxySessionCacheTTL: '0' is not a whole number"),
    ("AuthProxySessionCacheTTL x", "AuthProxySessionCacheTTL: 'x' is not a whole number"),
    ("AuthProxySessionCacheNegativeTTL -1", "AuthProxySessionCacheNegativeTTL: '-1'"),
    ("AuthProxySessionCache :args", "AuthProxySessionCache: ':args' names no cache provider"),
])
def test_bad_cache_config(httpd_factory, conf, message):
    h = httpd_factory("AuthProxyUpstream http://127.0.0.1:9\n" + conf + "\n", start=False)
    rc, out = h.configtest()
    assert rc != 0, out
    assert tagged(out, *message) if isinstance(message, tuple) else message in out, out


def test_default_cache_missing_provider_warns_and_still_serves(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\n" % upstream.origin, start=False)
    with open(h.conf_path) as f:
        text = f.read()
    with open(h.conf_path, "w") as f:
        f.write(text.replace("LoadModule socache_shmcb_module", "#LoadModule socache_shmcb_module"))
    h.start()
    assert h.tagged("AUTHPROXY035", "shmcb"), h.error_log()
    token = alice_token()
    assert env_with(h, token)["AUTHJS_SESSION_SOURCE"] == "upstream"
    assert env_with(h, token)["AUTHJS_SESSION_SOURCE"] == "upstream"
