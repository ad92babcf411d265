#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""mod_authproxy benchmark: wrk against real httpd instances (harness.Httpd),
the Auth.js upstream (harness.Upstream) and the Node.js peer
(tests/upstream/peer.mjs), all started here on loopback and stopped before
exit; then callgrind on one local decode. Run it through bench/run.sh; see
bench/README.md."""

import base64
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from harness import NODE, UPSTREAM_SECRET, Httpd, Upstream, child_pids, mint, start_node, stop_process  # noqa: E402,E501
from test_06_cache import CacheServer  # noqa: E402


def env_int(name, default):
    value = os.environ.get(name, "")
    try:
        n = int(value) if value else default
    except ValueError:
        sys.exit("bench: %s must be an integer, not %r" % (name, value))
    if n < 1:
        sys.exit("bench: %s must be at least 1" % name)
    return n


SECONDS = env_int("BENCH_SECONDS", 6)
WARMUP = env_int("BENCH_WARMUP", 2)
ROUNDS = env_int("BENCH_ROUNDS", 5)
THREADS = env_int("BENCH_THREADS", 2)
CONNECTIONS = env_int("BENCH_CONNECTIONS", 32)
N_TOKENS = env_int("BENCH_TOKENS", 200)
# 2u's cookies: so many that a child has evicted each before it comes again
N_UNSEEN = env_int("BENCH_UNSEEN_TOKENS", 10000)
# the RSS check: at least this many requests with the 2u cookies, in runs of
# RSS_STEP_SECONDS (at most RSS_MAX_STEPS of them)
RSS_REQUESTS = env_int("BENCH_RSS_REQUESTS", 200000)
RSS_STEP_SECONDS = 5
RSS_MAX_STEPS = 40
# Where httpd itself is the limit (1, 2, 2m, 3), httpd runs on the first
# half of the CPUs and wrk on the rest: the load generator never takes CPU
# time from the httpd it measures, and the scheduler has fewer ways to make
# two runs differ. Where a Node process is the limit (4, 5, 6: it takes more
# than a core, in several threads), nothing is pinned.
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS = set(CPUS[:max(1, len(CPUS) // 2)])
WRK_CPUS = set(CPUS[len(SERVER_CPUS):]) or SERVER_CPUS
DRIVER = os.environ.get("BENCH_DECODE_DRIVER", os.path.join(ROOT, "_build", "bench",
                                                            "decode_driver"))

COOKIE = "authjs.session-token"
ALICE = {"sub": "u-alice", "name": "Alice Example", "email": "alice@example.com"}
PAGE = "<p>hi</p>\n"

# The same tuning for every httpd (2 cores): two event-MPM children of 32
# threads, so that one child can hold every wrk connection; endless
# keep-alive. The access log stays on, its format gaining the session's
# e-mail (a request note the module sets) so that every measured request can
# be checked to have been resolved.
TUNING = r"""
StartServers 2
ServerLimit 2
ThreadLimit 32
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 4
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
LimitRequestFieldSize 32768
LogFormat "%h %u \"%r\" %>s %{AUTHJS_USER_EMAIL}n" simple
"""

DONE_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# Each request sends the next of the tokens; each wrk thread starts elsewhere.
CYCLE_LUA = r"""
local reqs = {}
local i = 0
local next_start = 0
function setup(thread)
  thread:set("start", next_start)
  next_start = next_start + 97
end
function init(args)
  for k, t in ipairs(tokens) do
    reqs[k] = wrk.format("GET", path, {["Host"] = "127.0.0.1", ["Cookie"] = cookie .. "=" .. t})
  end
  i = (start or 0) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""


class BenchError(Exception):
    pass


def pin(pid):
    """Every thread of pid and of its children onto SERVER_CPUS (threads and
    processes started later inherit it)."""
    for p in [pid] + child_pids(pid):
        for tid in os.listdir("/proc/%d/task" % p):
            os.sched_setaffinity(int(tid), SERVER_CPUS)


def log(msg=""):
    print(msg, flush=True)


CLEANUPS = []


def cleanup_all():
    while CLEANUPS:
        stop = CLEANUPS.pop()
        try:
            stop()
        except Exception as e:  # keep stopping the others
            log("bench: cleanup: %s" % e)


class NodePeer:
    """tests/upstream/peer.mjs."""

    def __init__(self, secret):
        self.log = tempfile.TemporaryFile(prefix="authproxy-peer-")
        self.proc = None
        CLEANUPS.append(self.stop)
        try:
            self.proc, port = start_node("peer.mjs", ["--secret", secret], self.log)
        except RuntimeError as e:
            raise BenchError(str(e))
        self.origin = "http://127.0.0.1:%d" % port

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.proc.stdout.close()
            self.proc = None
        self.log.close()


def start_httpd(conf, pinned=True):
    h = Httpd(TUNING + conf, loglevel="warn")
    h.write("htdocs/tiny.html", PAGE)

    def stop():
        h.stop()
        shutil.rmtree(h.dir, ignore_errors=True)
    CLEANUPS.append(stop)
    h.start()
    if pinned:
        pin(h.proc.pid)
    return h


def assertion_key():
    """An EC P-256 key for AuthProxyAssertionKey, removed at exit."""
    directory = harness.public_tempdir("authproxy-bench-key-")
    CLEANUPS.append(lambda: shutil.rmtree(directory, ignore_errors=True))
    path = os.path.join(directory, "ec.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", path], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def expect_assertion(h, token):
    """The backend's CGI, reached through h, is given an assertion for the
    visitor (its signature is the integration tests' business)."""
    status, _, body = get(h.origin, "/env", token)
    assertion = dict(line.split("=", 1) for line in body.decode().splitlines()
                     if "=" in line).get("HTTP_X_AUTHJS_ASSERTION", "")
    claims = assertion.split(".")[1] if assertion.count(".") == 2 else ""
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)) or b"{}")
    if status != 200 or payload.get("email") != ALICE["email"]:
        raise BenchError("%s: the backend was not given the visitor's assertion: %d %r"
                         % (h.origin, status, payload))


def get(origin, path, token):
    host, port = origin.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": "%s=%s" % (COOKIE, token)})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def cgi_env(h, token):
    status, _, body = get(h.origin, "/cgi-bin/env.cgi", token)
    if status != 200:
        raise BenchError("env.cgi answered %d: %r" % (status, body[:200]))
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


def children_rss(h):
    """(VmRSS of httpd's children in KiB, their number)."""
    total = count = 0
    for pid in child_pids(h.proc.pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
                count += 1
        except (OSError, StopIteration):
            continue
    return total, count


def wrk(url, script, headers, seconds, out_file=None, check=True, pinned=False):
    cmd = ["taskset", "-c", ",".join(map(str, sorted(WRK_CPUS)))] if pinned else []
    cmd += ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % seconds, "--latency",
           "--timeout", "5s", "-s", script]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchError("wrk did not stop after %d s: %s" % (seconds, url))
    if out_file:
        with open(out_file, "a") as f:
            f.write("$ %s\n%s%s\n" % (" ".join(c[:80] for c in cmd), res.stdout, res.stderr))
    m = re.search(r"^BENCH (.*)$", res.stdout, re.M)
    if res.returncode != 0 or not m:
        raise BenchError("wrk failed (%d) on %s:\n%s%s" % (res.returncode, url, res.stdout,
                                                          res.stderr))
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    # wrk counts a kept-alive connection the server closed after a complete
    # answer as a "read" error and reconnects: a few are tolerated and
    # reported; any other error, or a non-2xx answer, fails the run.
    if check and (r["status"] or r["connect"] or r["write"] or r["timeout"]
                  or r["read"] > max(CONNECTIONS, r["requests"] // 1000)):
        raise BenchError("wrk on %s: %d non-2xx answers, socket errors connect %d read %d "
                         "write %d timeout %d: refusing to report an error page's speed\n%s"
                         % (url, r["status"], r["connect"], r["read"], r["write"], r["timeout"],
                            res.stdout))
    if r["requests"] == 0:
        raise BenchError("wrk on %s: no request completed" % url)
    return r


class Target:
    """One measured configuration: a URL, the wrk script and headers, and what
    the server must have done for every request."""

    def __init__(self, key, label, url, script, headers=(), httpd=None, want=None,
                 upstream_calls=None, pinned=False):
        self.key, self.label, self.url, self.pinned = key, label, url, pinned
        self.script, self.headers = script, list(headers)
        self.httpd, self.want, self.upstream_calls = httpd, want, upstream_calls
        self.runs = []
        self.calls = 0

    def median(self, field):
        return statistics.median(r[field] for r in self.runs)

    def summary(self):
        return {
            "rps": self.median("rps"),
            "rps_min": min(r["rps"] for r in self.runs),
            "rps_max": max(r["rps"] for r in self.runs),
            "p50_ms": self.median("p50_us") / 1000,
            "p99_ms": self.median("p99_us") / 1000,
            "requests": sum(r["requests"] for r in self.runs),
            "reads": sum(r["read"] for r in self.runs),
            "upstream_calls": self.calls,
        }


def check_access_log(t, offset):
    """Every request logged since offset: 200 for /tiny.html with the expected
    session e-mail (t.want, a regex), or '-' where none is expected."""
    with open(os.path.join(t.httpd.dir, "logs", "access.log"), "rb") as f:
        f.seek(offset)
        lines = f.read().decode(errors="replace").splitlines()
    want = re.compile(t.want or "-")
    bad = []
    for line in lines:
        request, status, email = (line.rsplit(" ", 2) + ["", ""])[:3]
        if status != "200" or '"GET /tiny.html HTTP/1.1"' not in request \
                or not want.fullmatch(email):
            bad.append(line)
    measured = sum(r["requests"] for r in t.runs)
    if bad or len(lines) < measured:
        raise BenchError("%s: access log has %d lines for %d requests, %d not as expected, "
                         "e.g. %r" % (t.key, len(lines), measured, len(bad), bad[:3]))


def decode_instructions(token):
    """callgrind Ir of one steady-state decode, of the first one in a process,
    and of a decode plus the session's variables (bench/decode_driver.c)."""
    args = [DRIVER, token, UPSTREAM_SECRET, COOKIE]
    plain = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if plain.returncode != 0 or "email=alice@example.com" not in plain.stdout:
        raise BenchError("decode_driver did not decode the token:\n%s%s"
                         % (plain.stdout, plain.stderr))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, fn in (("decode", "bench_one_decode"), ("cold_decode", "bench_cold_decode"),
                        ("decode_session_vars", "bench_one_session")):
            out = os.path.join(tmp, key)
            res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                  "--toggle-collect=" + fn] + args,
                                 capture_output=True, text=True, timeout=300)
            if res.returncode != 0:
                raise BenchError("callgrind failed:\n" + res.stderr)
            with open(out) as f:
                m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
            if not m or int(m.group(1)) == 0:
                raise BenchError("callgrind collected nothing in " + fn)
            result[key] = int(m.group(1))
    return result


def machine():
    def first(cmd):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (res.stdout + res.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f
                      if line.startswith("model name")), "?")
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src",
                            "mod_authproxy.c"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(), "cpu": model, "memory": "%.1f GiB" % (mem_kib / 1048576),
        "kernel": os.uname().release,
        "os": first(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "httpd": first([harness.APACHE2, "-v"]).replace("Server version: ", ""),
        "node": first([NODE, "--version"]),
        "wrk": " ".join(first(["wrk", "-v"]).split()[:2]),
        "valgrind": first(["valgrind", "--version"]),
        "commit": first(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
        + (" (src modified)" if dirty else ""),
    }


def main():
    out_dir = os.path.join(HERE, "out", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out_dir)
    started_at = time.monotonic()
    for path in (harness.MODULE_SO, DRIVER):
        if not os.path.exists(path):
            raise BenchError("%s is missing: bench/run.sh builds it" % path)
    info = machine()
    log("mod_authproxy benchmark: %d rounds of wrk -t%d -c%d -d%ds per configuration, "
        "out: %s" % (ROUNDS, THREADS, CONNECTIONS, SECONDS, os.path.relpath(out_dir, ROOT)))

    tokens = mint(*[{"flavor": "authjs", "secret": UPSTREAM_SECRET, "salt": COOKIE,
                     "payload": p}
                    for p in [ALICE] + [{"sub": "u-bench-%d" % i, "name": "Bench User %d" % i,
                                         "email": "user%d@example.com" % i}
                                        for i in range(max(N_TOKENS, N_UNSEEN))]])
    alice, many, unseen = tokens[0], tokens[1:N_TOKENS + 1], tokens[1:N_UNSEEN + 1]
    one_cookie = ["Cookie: %s=%s" % (COOKIE, alice)]
    closing = one_cookie + ["Connection: close"]
    done_lua = os.path.join(out_dir, "done.lua")
    with open(done_lua, "w") as f:
        f.write(DONE_LUA)

    def cycling(path, cookies=many, name="cycle"):
        name = os.path.join(out_dir, "%s%s.lua" % (name, path.replace("/", "-")))
        with open(name, "w") as f:
            f.write('path = "%s"\ncookie = "%s"\ntokens = {\n%s}\n%s\n%s' % (
                path, COOKIE, "".join('  "%s",\n' % t for t in cookies), CYCLE_LUA, DONE_LUA))
        return name

    log("starting the upstream, the Node peer, memcached and 13 httpd instances")
    up = Upstream("core", "/api/auth").start()
    CLEANUPS.append(up.stop)
    for i, t in enumerate(many):
        status, _, body = get(up.origin, "/api/auth/session", t)
        if status != 200 or json.loads(body).get("user", {}).get("email") \
                != "user%d@example.com" % i:
            raise BenchError("upstream /session refuses token %d: %d %r" % (i, status, body))
    peer = NodePeer(UPSTREAM_SECRET)
    base = "AuthProxyUpstream %s\n" % up.origin
    local = base + "AuthProxySecret %s\n" % UPSTREAM_SECRET
    h1 = start_httpd(base + "AuthProxySession Off\n")
    h2 = start_httpd(local)
    h2m = start_httpd(local)
    h2u = start_httpd(local)
    h1c = start_httpd(base + "AuthProxySession Off\n")
    h2c = start_httpd(local)
    h3 = start_httpd(base + "AuthProxySessionCache shmcb\nAuthProxySessionCacheTTL 300\n")
    h4 = start_httpd(base + "AuthProxySessionCache none\n", pinned=False)
    revoking = local + "AuthProxyRevocation On\n"
    h2r = start_httpd(revoking + "AuthProxySessionCache shmcb\n")
    mc = CacheServer("memcache")
    CLEANUPS.append(mc.stop)
    h2rm = start_httpd(revoking + "LoadModule socache_memcache_module "
                       "@MODULES@/mod_socache_memcache.so\n"
                       "AuthProxySessionCache memcache:127.0.0.1:%d\n" % mc.port)
    # 1p and 2a: the page from a second httpd (no session there), through
    # mod_proxy; 2a sends each request's signed assertion along
    backend = start_httpd("")
    proxied = ("<Location /tiny.html>\n  ProxyPass %s/tiny.html\n</Location>\n"
               "<Location /env>\n  ProxyPass %s/cgi-bin/env.cgi\n</Location>\n"
               % (backend.origin, backend.origin))
    key = assertion_key()
    h1p = start_httpd(base + "AuthProxySession Off\n" + proxied)
    h2a = start_httpd(local + "AuthProxyAssertion On\nAuthProxyAssertionKey %s\n" % key + proxied)

    # What each server makes of the session, before any load.
    def expect(h, token, email, source):
        env = cgi_env(h, token)
        got = (env.get("AUTHJS_USER_EMAIL"), env.get("AUTHJS_SESSION_SOURCE"))
        if got != (email, source):
            raise BenchError("%s: the CGI sees %r, not %r" % (h.origin, got, (email, source)))
    expect(h1, alice, None, None)
    expect(h2, alice, "alice@example.com", "local")
    expect(h2m, many[7], "user7@example.com", "local")
    expect(h2u, unseen[-1], "user%d@example.com" % (N_UNSEEN - 1), "local")
    expect(h1c, alice, None, None)
    expect(h2c, alice, "alice@example.com", "local")
    expect(h2r, alice, "alice@example.com", "local")
    expect(h2rm, alice, "alice@example.com", "local")
    expect(h2a, alice, "alice@example.com", "local")
    expect_assertion(h2a, alice)
    expect(h3, alice, "alice@example.com", "upstream")
    expect(h3, alice, "alice@example.com", "cache")
    expect(h4, many[3], "user3@example.com", "upstream")
    expect(h4, many[3], "user3@example.com", "upstream")
    status, headers, _ = get(peer.origin, "/tiny", alice)
    if status != 200 or harness.header(headers, "X-Authjs-User-Email") != "alice@example.com":
        raise BenchError("peer.mjs: /tiny answered %d %r" % (status, headers))
    if get(peer.origin, "/tiny", "garbage")[0] != 401:
        raise BenchError("peer.mjs answers a bad cookie with a page")

    # peer.mjs answers 401 where it finds no session, so wrk's non-2xx count
    # (which fails the run) checks every one of its requests.
    targets = [
        Target("1", "baseline: module on, AuthProxySession Off", h1.origin + "/tiny.html",
               done_lua, one_cookie, h1, None, 0, pinned=True),
        Target("2", "local decoding (AuthProxySecret), 1 cookie", h2.origin + "/tiny.html",
               done_lua, one_cookie, h2, re.escape(ALICE["email"]), 0, pinned=True),
        Target("2m", "local decoding, %d cookies in turn" % N_TOKENS, h2m.origin + "/tiny.html",
               cycling("/tiny.html"), (), h2m, r"user\d+@example\.com", 0, pinned=True),
        Target("2u", "local decoding, %d cookies in turn: each new to its child"
               % N_UNSEEN, h2u.origin + "/tiny.html",
               cycling("/tiny.html", unseen, name="unseen"), (), h2u, r"user\d+@example\.com", 0,
               pinned=True),
        Target("1c", "baseline, Connection: close (a new connection each request)",
               h1c.origin + "/tiny.html", done_lua, closing, h1c, None, 0, pinned=True),
        Target("2c", "local decoding, 1 cookie, Connection: close", h2c.origin + "/tiny.html",
               done_lua, closing, h2c, re.escape(ALICE["email"]), 0, pinned=True),
        Target("2r", "local decoding, AuthProxyRevocation On (shmcb), 1 cookie",
               h2r.origin + "/tiny.html", done_lua, one_cookie, h2r, re.escape(ALICE["email"]), 0,
               pinned=True),
        Target("2rm", "local decoding, AuthProxyRevocation On (memcached), 1 cookie",
               h2rm.origin + "/tiny.html", done_lua, one_cookie, h2rm, re.escape(ALICE["email"]),
               0, pinned=True),
        Target("1p", "baseline proxied: AuthProxySession Off, ProxyPass to a static httpd",
               h1p.origin + "/tiny.html", done_lua, one_cookie, h1p, None, 0, pinned=True),
        Target("2a", "local decoding, proxied with AuthProxyAssertion On (ES256), 1 cookie",
               h2a.origin + "/tiny.html", done_lua, one_cookie, h2a, re.escape(ALICE["email"]), 0,
               pinned=True),
        Target("3", "/session fetch + cache shmcb TTL 300, 1 cookie", h3.origin + "/tiny.html",
               done_lua, one_cookie, h3, re.escape(ALICE["email"]), "few", pinned=True),
        Target("4", "/session fetch, no cache, %d cookies in turn" % N_TOKENS,
               h4.origin + "/tiny.html", cycling("/tiny.html"), (), h4, r"user\d+@example\.com",
               "each"),
        Target("5", "Node peer: Express + getSession(), 1 cookie", peer.origin + "/tiny",
               done_lua, one_cookie),
        Target("6", "the upstream's own /api/auth/session, %d cookies in turn" % N_TOKENS,
               up.origin + "/api/auth/session", cycling("/api/auth/session"), (), None, None,
               "each"),
    ]
    httpd_targets = [t for t in targets if t.httpd]
    for t in httpd_targets:
        t.rss_before = children_rss(t.httpd)
    log("warming up")
    for t in targets:
        wrk(t.url, t.script, t.headers, WARMUP, check=False, pinned=t.pinned)
    offsets = {t.key: os.path.getsize(os.path.join(t.httpd.dir, "logs", "access.log"))
               for t in httpd_targets}
    # Rounds, each configuration in turn: drift of the machine (and of the
    # Node processes' JIT) spreads over all of them alike.
    for n in range(1, ROUNDS + 1):
        for t in targets:
            calls = up.session_calls()
            r = wrk(t.url, t.script, t.headers, SECONDS,
                    os.path.join(out_dir, "wrk.%s.txt" % t.key), pinned=t.pinned)
            r["upstream_calls"] = up.session_calls() - calls
            t.runs.append(r)
            t.calls += r["upstream_calls"]
            log("  round %d  %-3s %8.0f req/s  p99 %6.2f ms  %s" % (
                n, t.key, r["rps"], r["p99_us"] / 1000, t.label))
    time.sleep(0.5)  # the last answers reach the access logs
    for t in httpd_targets:
        t.rss_after = children_rss(t.httpd)
        check_access_log(t, offsets[t.key])
        t.error_log = [line for line in t.httpd.error_log().splitlines()
                       if re.search(r":(warn|error|crit|alert|emerg)\]", line)][:10]
    for t in targets:
        requests = sum(r["requests"] for r in t.runs)
        if t.upstream_calls == 0 and t.calls:
            raise BenchError("%s asked the upstream %d times" % (t.key, t.calls))
        if t.upstream_calls == "each" and t.calls < requests:
            raise BenchError("%s: %d upstream calls for %d requests: something cached"
                             % (t.key, t.calls, requests))
        if t.upstream_calls == "few" and t.calls > ROUNDS * 10:
            raise BenchError("%s: %d upstream calls: the cache hardly hits" % (t.key, t.calls))
    rss = rss_steps(local, cycling, unseen)
    cleanup_all()

    log("one local decode under callgrind")
    ir = decode_instructions(alice)
    report = render(info, targets, ir, rss, time.monotonic() - started_at)
    log()
    log(report)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(report + "\n")
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "seconds": SECONDS, "rounds": ROUNDS, "threads": THREADS,
                   "connections": CONNECTIONS, "tokens": N_TOKENS, "unseen_tokens": N_UNSEEN,
                   "decode_ir": ir, "rss_steps": rss,
                   "results": {t.key: dict(t.summary(), label=t.label, runs=t.runs)
                               for t in targets}}, f, indent=2)
    log("\n(wrk outputs, report.md and results.json in %s)" % os.path.relpath(out_dir, ROOT))


def rss_steps(conf, cycling, cookies):
    """The RSS of a fresh local-decoding httpd's children (KiB) before load
    and after each run of RSS_STEP_SECONDS, the cookies in turn, until
    RSS_REQUESTS requests: [(requests so far, KiB)]."""
    h = start_httpd(conf)
    script = cycling("/tiny.html", cookies, name="rss")
    log("RSS: %d requests with %d cookies" % (RSS_REQUESTS, len(cookies)))
    steps = [(0, children_rss(h)[0])]
    while steps[-1][0] < RSS_REQUESTS and len(steps) <= RSS_MAX_STEPS:
        r = wrk(h.origin + "/tiny.html", script, (), RSS_STEP_SECONDS, pinned=True)
        steps.append((steps[-1][0] + r["requests"], children_rss(h)[0]))
        log("  after %7d requests: %.1f MiB" % (steps[-1][0], steps[-1][1] / 1024))
    return steps


def render(info, targets, ir, rss, elapsed):
    by_key = {t.key: t for t in targets}
    out = [
        "Machine: %d x %s, %s RAM, Linux %s, %s" % (info["nproc"], info["cpu"], info["memory"],
                                                   info["kernel"], info["os"]),
        "Versions: %s; node %s; %s; %s; mod_authproxy %s" % (
            info["httpd"], info["node"], info["wrk"], info["valgrind"], info["commit"]),
        "Load: wrk -t%d -c%d, keep-alive (but 1c, 2c), %d rounds of %d s per configuration "
        "taken in turn after a %d s warm-up; for 1 to 3 httpd on CPU %s and wrk on CPU %s, "
        "for 4 to 6 nothing pinned"
        % (THREADS, CONNECTIONS, ROUNDS, SECONDS, WARMUP, ",".join(map(str, sorted(SERVER_CPUS))),
           ",".join(map(str, sorted(WRK_CPUS)))),
        "",
        "| # | configuration | requests/s (median) | min - max | p50 ms | p99 ms "
        "| httpd children RSS, before -> after |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for t in targets:
        s = t.summary()
        memory = ""
        if t.httpd:
            memory = "%.1f -> %.1f MiB (%d processes)" % (t.rss_before[0] / 1024,
                                                         t.rss_after[0] / 1024, t.rss_after[1])
        out.append("| %s | %s | %.0f | %.0f - %.0f | %.2f | %.2f | %s |" % (
            t.key, t.label, s["rps"], s["rps_min"], s["rps_max"], s["p50_ms"], s["p99_ms"],
            memory))
    out += ["", "Checked: no non-2xx answer and no connect, write or timeout error in any run; "
            "every httpd request logged 200 with the session's e-mail (none for 1); upstream "
            "/session calls: " + ", ".join("%s: %d for %d requests" % (
                t.key, t.calls, t.summary()["requests"]) for t in targets if t.upstream_calls)
            + "."]
    reads = ["%s: %d" % (t.key, t.summary()["reads"]) for t in targets if t.summary()["reads"]]
    if reads:
        out.append("Kept-alive connections the server closed after a full answer (wrk 'read' "
                   "errors, reconnected): " + ", ".join(reads) + ".")
    out += ["", "Ratios: the median over the rounds of the two rates measured in the same round.",
            "", "| ratio | value | target |", "|---|---:|---|"]
    for a, b, target, what in [("2", "1", 0.95, "local decoding / baseline"),
                               ("3", "1", 0.90, "cached fetch / baseline"),
                               ("4", "6", 0.80, "uncached fetch / upstream's own /session"),
                               ("2", "5", None, "local decoding / Node peer"),
                               ("2m", "1", 0.85, "local decoding, another cookie each request / "
                                                 "baseline"),
                               ("2c", "1c", 0.95, "local decoding / baseline, a new connection "
                                                  "each request"),
                               ("2r", "1", 0.95, "local decoding with revocation (shmcb) / "
                                                 "baseline"),
                               ("2rm", "1", 0.90, "local decoding with revocation (memcached) / "
                                                  "baseline"),
                               ("2a", "1p", 0.90, "local decoding with a signed assertion / "
                                                  "baseline, both proxied"),
                               ("2u", "1", None, "local decoding, a cookie new to the child each "
                                                 "request / baseline")]:
        v = statistics.median(ra["rps"] / rb["rps"]
                              for ra, rb in zip(by_key[a].runs, by_key[b].runs))
        verdict = ">= %.2f: %s" % (target, "met" if v >= target else "MISSED") if target \
            else "(reference)"
        out.append("| %s/%s %s | %.3f | %s |" % (a, b, what, v, verdict))
    out += ["", "CPU instructions (callgrind Ir, bench/decode_driver.c, -O2): one local decode "
            "%d (the first of a process %d); decode, session and AUTHJS_* variables %d."
            % (ir["decode"], ir["cold_decode"], ir["decode_session_vars"])]
    out += ["", "RSS of a fresh local-decoding httpd's children (2 processes), %d cookies in turn: "
            % N_UNSEEN + ", ".join("%.1f MiB after %d requests" % (kib / 1024, n)
                                   for n, kib in rss)
            + "; growth over the last %d requests: %+.1f MiB."
            % (rss[-1][0] - rss[1][0], (rss[-1][1] - rss[1][1]) / 1024)]
    for t in targets:
        if t.httpd and t.error_log:
            out += ["", "httpd error log of %s (warn and above):" % t.key]
            out += ["    " + line for line in t.error_log]
    out += ["", "Total run time %.0f s." % elapsed]
    return "\n".join(out)


def on_signal(signum, frame):
    raise SystemExit("bench: stopped by signal %d" % signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        main()
    except BenchError as e:
        print("\nbench: FAILED: %s" % e, file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr, flush=True)
        sys.exit(130)
    finally:
        cleanup_all()
