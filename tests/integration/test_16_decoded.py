# SPDX-License-Identifier: Apache-2.0
"""The sessions a child keeps, shared by its threads and connections: a
cookie is decrypted (or its cached answer parsed) once per child, never
answers for another server's settings or after its expiry, the least recently
used goes when the child holds its share, and under load every request still
gets its own cookie's session."""
import http.client
import threading
import time

from harness import UPSTREAM_SECRET
from session_helpers import COOKIE, session_cookie, token_for, tokens_for
from test_15_metrics import scrape, value

ONE_EVENT_CHILD = """
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 8
MaxRequestWorkers 8
"""
ONE_PREFORK_CHILD = """
StartServers 1
MinSpareServers 1
MaxSpareServers 1
ServerLimit 1
MaxRequestWorkers 1
"""
LOG_EMAIL = 'LogFormat "%r %{AUTHJS_USER_EMAIL}n" emails\n' \
            'CustomLog "@DIR@/logs/emails.log" emails\n'
DECODED = "session cookie %s decoded" % COOKIE


def app(httpd_factory, upstream, children=ONE_EVENT_CHILD, mpm="event", extra=""):
    return httpd_factory(children + """
        AuthProxyUpstream %s
        AuthProxySecret %s
    """ % (upstream.origin, UPSTREAM_SECRET) + extra, loglevel="warn authproxy:trace1",
        mpm=mpm)


def email_on_new_connection(h, token, host=None, address="127.0.0.1"):
    """AUTHJS_USER_EMAIL as env.cgi sees it, on a connection of its own."""
    conn = http.client.HTTPConnection(address, h.port, timeout=30)
    headers = {"Cookie": session_cookie(token), "Connection": "close"}
    if host:
        headers["Host"] = host
    conn.request("GET", "/cgi-bin/env.cgi", headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    assert resp.status == 200, body
    emails = [line.split("=", 1)[1] for line in body.splitlines()
              if line.startswith("AUTHJS_USER_EMAIL=")]
    return emails[0] if emails else None


def decodes(h):
    return h.error_log().count(DECODED)


def test_a_cookie_is_decoded_once_per_child(httpd_factory, upstream):
    h = app(httpd_factory, upstream)
    alice, bob = tokens_for("alice@example.com", "bob@example.org")
    for _ in range(4):
        assert email_on_new_connection(h, alice) == "alice@example.com"
        assert email_on_new_connection(h, bob) == "bob@example.org"
    assert decodes(h) == 2


def test_servers_do_not_share_what_they_decoded(httpd_factory, upstream):
    other_secret = "another-secret-for-the-second-host-0123456789"
    hosts = "".join("""
        <VirtualHost 127.0.0.1:@PORT@>
            ServerName %s
            AuthProxyUpstream %s
            AuthProxySecret %s
        </VirtualHost>
    """ % (name, upstream.origin, secret) for name, secret in
        [("first.test", UPSTREAM_SECRET), ("second.test", other_secret),
         ("third.test", UPSTREAM_SECRET)])
    h = app(httpd_factory, upstream, extra=hosts)
    token = token_for("alice@example.com")
    assert email_on_new_connection(h, token, "first.test") == "alice@example.com"
    assert email_on_new_connection(h, token, "second.test") is None
    assert email_on_new_connection(h, token, "first.test") == "alice@example.com"
    # the same secret, but other settings: decoded for them anew
    assert email_on_new_connection(h, token, "third.test") == "alice@example.com"
    assert decodes(h) == 2


def test_one_origin_served_by_two_servers(httpd_factory, upstream):
    # the same name on two addresses: one origin, two servers, two secrets
    other_secret = "another-secret-for-the-second-host-0123456789"
    hosts = "Listen 127.0.0.2:@PORT@\n" + "".join("""
        <VirtualHost %s:@PORT@>
            ServerName shared.test
            AuthProxyUpstream %s
            AuthProxySecret %s
        </VirtualHost>
    """ % (address, upstream.origin, secret) for address, secret in
        [("127.0.0.1", UPSTREAM_SECRET), ("127.0.0.2", other_secret)])
    h = app(httpd_factory, upstream, extra=hosts)
    token = token_for("alice@example.com")
    for _ in range(2):
        assert email_on_new_connection(h, token, "shared.test") == "alice@example.com"
        assert email_on_new_connection(h, token, "shared.test", "127.0.0.2") is None


def test_a_decoded_token_still_expires(httpd_factory, upstream):
    h = app(httpd_factory, upstream)
    # exp 13 s ago: still inside the 15 s clock-skew leeway, for 2 to 3 s more
    late = token_for("late@example.com", maxAge=-13)
    assert email_on_new_connection(h, late) == "late@example.com"
    deadline = time.monotonic() + 10
    while email_on_new_connection(h, late) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert email_on_new_connection(h, late) is None


def test_the_least_recently_used_goes_first(httpd_factory, upstream):
    # one prefork child, one thread: it keeps 64 decoded tokens
    h = app(httpd_factory, upstream, ONE_PREFORK_CHILD, mpm="prefork")
    emails = ["user%d@example.com" % i for i in range(65)]
    tokens = tokens_for(*emails)
    for email, token in zip(emails[:64], tokens):
        assert email_on_new_connection(h, token) == email
    assert email_on_new_connection(h, tokens[0]) == emails[0]    # now the most recent
    assert decodes(h) == 64
    assert email_on_new_connection(h, tokens[64]) == emails[64]  # user1 goes
    assert decodes(h) == 65
    assert email_on_new_connection(h, tokens[0]) == emails[0]
    assert email_on_new_connection(h, tokens[2]) == emails[2]
    assert decodes(h) == 65
    assert email_on_new_connection(h, tokens[1]) == emails[1]
    assert decodes(h) == 66


def test_many_cookies_at_once_each_get_their_own(httpd_factory, upstream):
    # 8 threads keep 256 tokens; 400 cookies make them come and go under load
    h = app(httpd_factory, upstream, extra=LOG_EMAIL + "MaxKeepAliveRequests 0\n")
    emails = ["load%d@example.com" % i for i in range(400)]
    tokens = tokens_for(*emails)
    failures = []

    def client(first):
        conn, used = None, False
        for n in range(150):
            i = (first * 37 + n * 11) % len(tokens)
            headers = {"Cookie": session_cookie(tokens[i])}
            if n % 3 == 0:
                headers["Connection"] = "close"
            # the event MPM may close an idle kept-alive connection under load:
            # a request that finds it closed is sent again on a new one
            for attempt in (1, 2):
                if conn is None:
                    conn, used = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30), False
                try:
                    conn.request("GET", "/index.html?%d-%d-%d" % (first, n, i), headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                    conn.close()
                    conn = None
                    if used and attempt == 1:
                        continue
                    failures.append(repr(e))
                    break
                used = True
                if resp.status != 200:
                    failures.append(resp.status)
                if resp.will_close:
                    conn.close()
                    conn = None
                break
        if conn:
            conn.close()

    clients = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(120)
    assert not failures, failures[:5]
    lines = h.wait_for_log("emails", lambda text: text.count("\n") >= 8 * 150).splitlines()
    assert len(lines) == 8 * 150
    for line in lines:
        request, email = line.rsplit(" ", 1)
        i = int(request.split()[1].rsplit("-", 1)[1])
        assert email == emails[i], line
    assert decodes(h) > len(tokens)   # they did come and go


def test_an_upstream_answer_is_taken_by_the_child_for_a_second(httpd_factory, upstream):
    """Without a secret: what the upstream answered (and the shared cache now
    holds), the child takes as it is on any connection for a second, then
    asks the shared cache again."""
    h = httpd_factory(ONE_EVENT_CHILD + """
        AuthProxyUpstream %s
        <Location /metrics>
            SetHandler authproxy-metrics
            AuthProxySession Off
        </Location>
    """ % upstream.origin)
    h.write("htdocs/tiny.txt", "tiny\n")
    vhost = "127.0.0.1:%d" % h.port
    alice, = tokens_for("alice@example.com")
    calls = upstream.session_calls()
    started = time.monotonic()
    for _ in range(6):
        assert h.request("GET", "/tiny.txt", headers={"Cookie": session_cookie(alice)})[0] == 200
    took = time.monotonic() - started
    s = scrape(h)
    assert upstream.session_calls() == calls + 1
    assert value(s, "authproxy_sessions_total", vhost, source="upstream") == 1
    assert value(s, "authproxy_sessions_total", vhost, source="cache") == 5
    assert value(s, "authproxy_cache_lookups_total", vhost, result="miss") == 1
    # at most one look in the shared cache per second
    hits = value(s, "authproxy_cache_lookups_total", vhost, result="hit")
    assert hits <= int(took) + 1
    time.sleep(1.1)
    assert h.request("GET", "/tiny.txt", headers={"Cookie": session_cookie(alice)})[0] == 200
    s = scrape(h)
    assert value(s, "authproxy_cache_lookups_total", vhost, result="hit") == hits + 1
    assert upstream.session_calls() == calls + 1
