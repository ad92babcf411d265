#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""mod_authproxy soak: SOAK_SECONDS of mixed wrk load against a real httpd
(event MPM, two children of fixed size) in front of the real Auth.js upstream,
once with local decoding (AuthProxySecret) and once with the /session fetch
and the shmcb cache. Fails (exit 1) on an unexpected status, a page resolved
to the wrong session, a crash in the error log, a child replaced, or a child
whose RSS grew more than 10 MiB after the warm-up. Everything is started here
on loopback and stopped before exit. Run it through bench/soak.sh; see
TESTING.md ("Soak")."""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import UPSTREAM_SECRET, Httpd, Upstream, child_pids, mint, rss_kib  # noqa: E402


def env_int(name, default, minimum):
    value = os.environ.get(name, "")
    try:
        n = int(value) if value else default
    except ValueError:
        sys.exit("soak: %s must be an integer, not %r" % (name, value))
    if n < minimum:
        sys.exit("soak: %s must be at least %d" % (name, minimum))
    return n


SECONDS = env_int("SOAK_SECONDS", 60, 15)
WARMUP = 10                  # the RSS baseline is taken this long into each run
MIDPOINT = WARMUP + (SECONDS - WARMUP) // 2   # and again here: a steady climb shows
THREADS, CONNECTIONS = 2, 32
N_VALID, N_EXPIRED, N_GARBAGE = 300, 50, 50
RSS_GROWTH_LIMIT_KIB = 10 * 1024
COOKIE = "authjs.session-token"
WORKERS = 2

# Two event-MPM children of 32 threads that are never reaped or replaced
# (so their PIDs, and RSS, can be followed), endless keep-alive; the access
# log gains the session's e-mail so that every page can be checked, and every
# answer carries its request's kind back to wrk (X-Soak, from the query).
TUNING = r"""
StartServers %(workers)d
ServerLimit %(workers)d
ThreadLimit 32
ThreadsPerChild 32
MaxRequestWorkers %(threads)d
MinSpareThreads 1
MaxSpareThreads %(threads)d
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
LogFormat "%%h \"%%r\" %%>s %%{AUTHJS_USER_EMAIL}n" soak
CustomLog "@DIR@/logs/soak.log" soak
Header always set X-Soak "expr=%%{QUERY_STRING}"
""" % {"workers": WORKERS, "threads": WORKERS * 32}

# (key, label, configuration, where the first page's session comes from)
CONFIGS = [
    ("local", "local decoding (AuthProxySecret)", "AuthProxySecret %s\n" % UPSTREAM_SECRET,
     "local"),
    ("fetch", "/session fetch + shmcb cache", "AuthProxySessionCache shmcb\n", "upstream"),
]

# Every kind of request, its share of the load and the statuses it may get.
KINDS = [
    ("page-valid", 6, (200,)),
    ("page-tampered", 1, (200,)),
    ("page-expired", 1, (200,)),
    ("page-garbage", 1, (200,)),
    ("route-session", 1, (200,)),
    ("route-csrf", 1, (200,)),
    ("route-providers", 1, (200,)),
    ("signout", 1, (302, 200)),
]

LUA = r"""
-- counts["kind status"] per thread, summed in done()
counts = {}
local threads = {}
local schedule, expected = {}, {}
local turn, next_token = 0, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for _, k in ipairs(kinds) do
    for _ = 1, k.share do table.insert(schedule, k.name) end
  end
  -- each thread starts elsewhere in the schedule and in the tokens
  turn = (id or 0) * 3
  next_token = (id or 0) * 97
end

local function token(list)
  next_token = next_token + 1
  local n = next_token % #list
  return list[n + 1], n
end

local function page(kind, list)
  local t, n = token(list)
  return wrk.format("GET", "/tiny.html?soak=" .. kind .. "&n=" .. n,
                    {["Cookie"] = cookie .. "=" .. t})
end

function request()
  turn = turn + 1
  local kind = schedule[turn % #schedule + 1]
  if kind == "page-valid" then return page(kind, valid)
  elseif kind == "page-tampered" then return page(kind, tampered)
  elseif kind == "page-expired" then return page(kind, expired)
  elseif kind == "page-garbage" then return page(kind, garbage)
  elseif kind == "route-session" then
    local t = token(valid)
    return wrk.format("GET", "/api/auth/session?soak=" .. kind, {["Cookie"] = cookie .. "=" .. t})
  elseif kind == "route-csrf" then
    return wrk.format("GET", "/api/auth/csrf?soak=" .. kind)
  elseif kind == "route-providers" then
    return wrk.format("GET", "/api/auth/providers?soak=" .. kind)
  else
    -- a sign-out of a valid session: the route evicts its cache entry
    local t = token(valid)
    return wrk.format("POST", "/api/auth/signout?soak=" .. kind,
                      {["Cookie"] = csrf_cookie .. "; " .. cookie .. "=" .. t,
                       ["Content-Type"] = "application/x-www-form-urlencoded"},
                      "csrfToken=" .. csrf_token)
  end
end

function response(status, headers, body)
  local kind = (headers["X-Soak"] or ""):match("soak=([%w-]+)") or "untagged"
  local key = kind .. " " .. status
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  for _, k in ipairs(kinds) do
    expected[k.name] = {}
    for _, s in ipairs(k.statuses) do expected[k.name][s] = true end
  end
  local total = {}
  for _, t in ipairs(threads) do
    for key, n in pairs(t:get("counts")) do total[key] = (total[key] or 0) + n end
  end
  for key, n in pairs(total) do
    local kind, status = key:match("^(%S+) (%d+)$")
    local ok = expected[kind] and expected[kind][tonumber(status)]
    io.write(string.format("SOAK %s %s %d %s\n", kind, status, n,
                           ok and "expected" or "UNEXPECTED"))
  end
  local e = summary.errors
  io.write(string.format(
    "SOAK-TOTAL requests=%d duration_us=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status))
end
"""


def lua_list(name, values):
    return "%s = {\n%s}\n" % (name, "".join("  %s,\n" % json.dumps(v) for v in values))


def lua_kinds():
    return "kinds = {\n%s}\n" % "".join(
        '  {name = "%s", share = %d, statuses = {%s}},\n' % (name, share,
                                                          ", ".join(map(str, statuses)))
        for name, share, statuses in KINDS)


def log(msg=""):
    print(msg, flush=True)


class SoakError(Exception):
    pass


def tampered(token):
    """The token with one character of its ciphertext changed."""
    parts = token.split(".")
    middle = len(parts[3]) // 2
    parts[3] = parts[3][:middle] + ("A" if parts[3][middle] != "A" else "B") \
        + parts[3][middle + 1:]
    return ".".join(parts)


def csrf_pair(up):
    """A CSRF token and the cookie that goes with it, from the upstream."""
    conn = http.client.HTTPConnection("127.0.0.1", up.port, timeout=10)
    try:
        conn.request("GET", "/api/auth/csrf")
        resp = conn.getresponse()
        token = json.loads(resp.read())["csrfToken"]
        cookie = next(v.split(";", 1)[0] for k, v in resp.getheaders()
                      if k.lower() == "set-cookie" and v.startswith("authjs.csrf-token="))
        return token, cookie
    finally:
        conn.close()


def workers_of(h):
    """httpd's children but mod_cgid's daemon (which has one thread)."""
    found = []
    for pid in child_pids(h.proc.pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                threads = next(int(l.split()[1]) for l in f if l.startswith("Threads:"))
        except (OSError, StopIteration):
            continue
        if threads > 1:
            found.append(pid)
    return found


def wait_for_workers(h):
    deadline = time.monotonic() + 15
    while len(workers_of(h)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = workers_of(h)
    if len(pids) != WORKERS:
        raise SoakError("httpd has %d workers, not %d" % (len(pids), WORKERS))
    return pids


def check_session(h, token, email, source):
    status, _, body = h.request("GET", "/cgi-bin/env.cgi",
                                headers={"Cookie": "%s=%s" % (COOKIE, token)})
    env = dict(l.split("=", 1) for l in body.decode().splitlines() if "=" in l)
    got = (status, env.get("AUTHJS_USER_EMAIL"), env.get("AUTHJS_SESSION_SOURCE"))
    if got != (200, email, source):
        raise SoakError("%s: before the load, the CGI sees %r, not %r"
                        % (h.origin, got, (200, email, source)))


PAGE_LINE = re.compile(r'"GET /tiny\.html\?soak=(page-[a-z]+)&n=(\d+) HTTP/1\.1" (\d+) (\S+)$')


def wrong_sessions(h):
    """Pages the access log shows resolved to another session than their
    cookie's: (number of pages, examples)."""
    wrong, pages = [], 0
    with open(os.path.join(h.dir, "logs", "soak.log"), errors="replace") as f:
        for line in f:
            m = PAGE_LINE.search(line.rstrip("\n"))
            if not m:
                continue
            pages += 1
            kind, n, _, email = m.groups()
            want = "user%s@example.com" % n if kind == "page-valid" else "-"
            if email != want:
                wrong.append(line.strip())
    return pages, wrong


def soak(config, up, probe, data_lua, out_dir):
    """One run; probe: a valid token of user0@example.com."""
    key, label, conf, source = config
    h = Httpd(TUNING + "AuthProxyUpstream %s\n" % up.origin + conf, loglevel="warn")
    h.write("htdocs/tiny.html", "<p>hi</p>\n")
    try:
        h.start()
        pids = wait_for_workers(h)
        check_session(h, probe, "user0@example.com", source)
        script = os.path.join(out_dir, "soak-%s.lua" % key)
        with open(script, "w") as f:
            f.write(data_lua + LUA)
        out_path = os.path.join(out_dir, "wrk-%s.txt" % key)
        calls_before = up.session_calls()
        log("%s: %s, wrk -t%d -c%d -d%ds" % (key, label, THREADS, CONNECTIONS, SECONDS))
        with open(out_path, "w") as out:
            wrk = subprocess.Popen(["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS,
                                    "-d%ds" % SECONDS, "--timeout", "10s", "-s", script,
                                    h.origin + "/"], stdout=out, stderr=subprocess.STDOUT)
            try:
                time.sleep(WARMUP)
                rss_warm = {pid: rss_kib(pid) for pid in pids}
                time.sleep(MIDPOINT - WARMUP)
                rss_mid = {pid: rss_kib(pid) for pid in pids}
                wrk.wait(SECONDS + 60)
            finally:
                if wrk.poll() is None:
                    wrk.kill()
                    wrk.wait()
        rss_end = {pid: rss_kib(pid) for pid in pids}
        with open(out_path) as f:
            output = f.read()
        total = re.search(r"^SOAK-TOTAL (.*)$", output, re.M)
        if wrk.returncode != 0 or not total:
            raise SoakError("%s: wrk failed (%s):\n%s" % (key, wrk.returncode, output))
        time.sleep(0.5)  # the last answers reach the logs
        session_calls = up.session_calls() - calls_before
        pages, wrong = wrong_sessions(h)
        errors = h.error_log()
        return {
            "key": key, "label": label,
            "total": {k: int(v) for k, v in (kv.split("=") for kv in total.group(1).split())},
            "statuses": [(kind, int(status), int(n), verdict == "expected") for kind, status, n,
                         verdict in re.findall(r"^SOAK (\S+) (\d+) (\d+) (\S+)$", output, re.M)],
            "pages_logged": pages, "wrong_sessions": wrong, "session_calls": session_calls,
            "crashes": re.findall(r".*(?:exit signal|AH00050|Segmentation).*", errors),
            "error_lines": [l for l in errors.splitlines()
                            if re.search(r":(error|crit|alert|emerg)\]", l)],
            "replaced": sorted(set(pids) ^ set(workers_of(h))),
            "rss": [(pid, rss_warm[pid], rss_mid[pid], rss_end[pid]) for pid in pids],
        }
    finally:
        h.stop()
        shutil.rmtree(h.dir, ignore_errors=True)


def failures(r):
    found = ["%d x %s %d" % (n, kind, status) for kind, status, n, ok in r["statuses"]
             if not ok]
    t = r["total"]
    if t["connect"] or t["write"] or t["timeout"] or t["read"] > CONNECTIONS:
        found.append("socket errors: connect %(connect)d read %(read)d write %(write)d "
                     "timeout %(timeout)d" % t)
    pages = sum(n for kind, _, n, _ in r["statuses"] if kind.startswith("page-"))
    if r["pages_logged"] < pages:
        found.append("the access log has %d pages, wrk counted %d" % (r["pages_logged"], pages))
    if r["wrong_sessions"]:
        found.append("%d pages resolved to the wrong session, e.g. %r"
                     % (len(r["wrong_sessions"]), r["wrong_sessions"][:3]))
    found += ["crash: " + line for line in r["crashes"][:5]]
    if r["replaced"]:
        found.append("children replaced: %s" % r["replaced"])
    for pid, warm, _, end in r["rss"]:
        if warm is None or end is None:
            found.append("child %d is gone" % pid)
        elif end - warm > RSS_GROWTH_LIMIT_KIB:
            found.append("child %d grew %.1f MiB after the warm-up" % (pid, (end - warm) / 1024))
    return found


def mib(kib):
    return "gone" if kib is None else "%.1f" % (kib / 1024)


def report(results, info):
    out = ["mod_authproxy soak, %s" % info, ""]
    for r in results:
        t = r["total"]
        forwarded = sum(n for kind, _, n, _ in r["statuses"] if kind == "route-session")
        out.append("%s: %s: %d requests in %.0f s (%.0f/s); socket errors connect %d read %d "
                   "write %d timeout %d; %d pages in the access log, %d with a wrong session; "
                   "the upstream's /session answered %d times: %d forwarded route-session "
                   "requests, %d others (the module's fetches, and answers wrk did not wait for "
                   "at the end)"
                   % (r["key"], r["label"], t["requests"], t["duration_us"] / 1e6,
                      t["requests"] / (t["duration_us"] / 1e6), t["connect"], t["read"],
                      t["write"], t["timeout"], r["pages_logged"], len(r["wrong_sessions"]),
                      r["session_calls"], forwarded, max(0, r["session_calls"] - forwarded)))
    out += ["", "| kind | expected | " + " | ".join(r["key"] for r in results) + " |",
            "|---|---|" + "---|" * len(results)]
    kinds = [(name, statuses) for name, _, statuses in KINDS]
    seen = {kind for r in results for kind, _, _, _ in r["statuses"]}
    kinds += [(kind, ()) for kind in sorted(seen - {name for name, _ in kinds})]
    for name, statuses in kinds:
        cells = []
        for r in results:
            counts = ["%d x %d%s" % (n, status, "" if ok else " UNEXPECTED")
                      for kind, status, n, ok in sorted(r["statuses"]) if kind == name]
            cells.append(", ".join(counts) or "-")
        out.append("| %s | %s | %s |" % (name, " or ".join(map(str, statuses)) or "-",
                                         " | ".join(cells)))
    out += ["", "| run | child | RSS at %d s (MiB) | at %d s | at the end | growth after %d s |"
            % (WARMUP, MIDPOINT, WARMUP), "|---|---|---:|---:|---:|---:|"]
    for r in results:
        for pid, warm, mid, end in r["rss"]:
            growth = "-" if warm is None or end is None else "%+.1f" % ((end - warm) / 1024)
            out.append("| %s | %d | %s | %s | %s | %s |" % (r["key"], pid, mib(warm), mib(mid),
                                                            mib(end), growth))
    for r in results:
        if r["error_lines"]:
            out += ["", "%s: %d error lines in httpd's log, e.g.:" % (r["key"],
                                                                      len(r["error_lines"]))]
            out += ["    " + line for line in r["error_lines"][:5]]
    return "\n".join(out)


def machine():
    with open("/etc/os-release") as f:
        os_name = next((l.split("=", 1)[1].strip().strip('"') for l in f
                        if l.startswith("PRETTY_NAME=")), "?")
    return "%s, nproc %d, Linux %s, %s" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        os.cpu_count(), os.uname().release, os_name)


def main():
    out_dir = tempfile.mkdtemp(prefix="authproxy-soak-")
    up = None
    try:
        log("soak: minting %d tokens" % (N_VALID + N_EXPIRED))
        users = [{"sub": "u-soak-%d" % i, "name": "Soak User %d" % i,
                  "email": "user%d@example.com" % i} for i in range(N_VALID)]
        minted = mint(*[{"flavor": "authjs", "secret": UPSTREAM_SECRET, "salt": COOKIE,
                         "payload": u} for u in users],
                      *[{"flavor": "authjs", "secret": UPSTREAM_SECRET, "salt": COOKIE,
                         "maxAge": -3600, "payload": u} for u in users[:N_EXPIRED]])
        valid, expired = minted[:N_VALID], minted[N_VALID:]
        garbage = [os.urandom(24).hex() + ".not-a-token" for _ in range(N_GARBAGE)]
        up = Upstream("core", "/api/auth").start()
        csrf_token, csrf_cookie = csrf_pair(up)
        data_lua = (lua_kinds() + lua_list("valid", valid) + lua_list("expired", expired)
                    + lua_list("tampered", [tampered(t) for t in valid])
                    + lua_list("garbage", garbage)
                    + "cookie = %s\ncsrf_token = %s\ncsrf_cookie = %s\n"
                    % (json.dumps(COOKIE), json.dumps(csrf_token), json.dumps(csrf_cookie)))
        results = []
        for config in CONFIGS:
            results.append(soak(config, up, valid[0], data_lua, out_dir))
        text = report(results, machine())
        log()
        log(text)
        found = {r["key"]: failures(r) for r in results}
        if any(found.values()):
            log("\nsoak: FAILED")
            for key, items in found.items():
                for item in items:
                    log("  %s: %s" % (key, item))
            return 1
        log("\nsoak: passed")
        return 0
    finally:
        if up:
            up.stop()
        shutil.rmtree(out_dir, ignore_errors=True)


def on_signal(signum, frame):
    raise SystemExit("soak: stopped by signal %d" % signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        sys.exit(main())
    except SoakError as e:
        print("\nsoak: FAILED: %s" % e, file=sys.stderr, flush=True)
        sys.exit(1)
