# SPDX-License-Identifier: Apache-2.0
"""The authproxy-metrics handler (Prometheus text format) and the server-status
section: totals over all children (prefork, worker and event), per
VirtualHost, each event counted once."""
import concurrent.futures
import os
import re
import signal

import pytest

from harness import MODULES, UPSTREAM_SECRET, header, vhost
from session_helpers import session_cookie, tampered, tokens_for
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')

# several children, whatever the MPM
CHILDREN = {
    "prefork": "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8",
    "worker": "StartServers 3\nThreadsPerChild 2\nMinSpareThreads 2\nMaxSpareThreads 8\n"
              "ServerLimit 4\nMaxRequestWorkers 8",
    "event": "StartServers 3\nThreadsPerChild 2\nMinSpareThreads 2\nMaxSpareThreads 8\n"
             "ServerLimit 4\nMaxRequestWorkers 8",
}
CONF = """
%(children)s
LoadModule status_module %(modules)s/mod_status.so
AuthProxyUpstream %(upstream)s
AuthProxySecret %(secret)s
AuthProxyMetricsScope all
<Location /metrics>
    SetHandler authproxy-metrics
    AuthProxySession Off
    Require ip 127.0.0.1
</Location>
<Location /server-status>
    SetHandler server-status
    AuthProxySession Off
    Require ip 127.0.0.1
</Location>
<Location /private.txt>
    AuthType authjs
    Require authjs-claim email admin@example.com
</Location>
<VirtualHost *:@PORT@>
    ServerName 127.0.0.1:@PORT@
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName other.test:@PORT@
    AuthProxySecret none-of-these-cookies-0123456789abcdef
</VirtualHost>
"""


def parse(text):
    """The exposition text as {(name, frozenset(labels)): value}; checks its form."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "histogram"), line
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, line
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "no TYPE before " + line
        pairs = LABEL.findall(labels or "")
        assert ",".join('%s="%s"' % p for p in pairs) == (labels or ""), line
        samples[(name, frozenset(pairs))] = float(value)
    return samples


def scrape(h):
    status, headers, body = h.request("GET", "/metrics")
    assert status == 200
    assert dict((k.lower(), v) for k, v in headers)["content-type"].startswith(
        "text/plain; version=0.0.4")
    return parse(body.decode())


def value(samples, name, vhost, **labels):
    return samples[(name, frozenset(dict(labels, vhost=vhost).items()))]


def make(httpd_factory, upstream, mpm):
    return httpd_factory(CONF % {"children": CHILDREN[mpm], "modules": MODULES,
                                 "upstream": upstream.origin, "secret": UPSTREAM_SECRET},
                         mpm=mpm)


@pytest.mark.parametrize("mpm", sorted(CHILDREN))
def test_scraped_deltas_equal_what_was_served(httpd_factory, upstream, mpm):
    h = make(httpd_factory, upstream, mpm)
    h.write("htdocs/tiny.txt", "tiny\n")
    h.write("htdocs/private.txt", "private\n")
    main = "127.0.0.1:%d" % h.port
    other = "other.test:%d" % h.port
    good, = tokens_for("alice@example.com")
    html = {"Accept": "text/html"}
    plan = (
        [("/tiny.txt", {"Cookie": session_cookie(good)}, None, 200)] * 12
        + [("/tiny.txt", {"Cookie": session_cookie(tampered(good))}, None, 200)] * 7
        + [("/private.txt", {"Cookie": session_cookie(good)}, None, 403)] * 5
        + [("/private.txt", html, None, 302)] * 4
        + [("/private.txt", {}, None, 401)] * 3
        + [("/tiny.txt", {}, "other.test", 200)] * 6
        + [("/api/auth/providers", {}, None, 200)] * 2
    )
    before = scrape(h)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(
            lambda p: h.request("GET", p[0], headers=p[1],
                                host=p[2] and "%s:%d" % (p[2], h.port))[0], plan))
    assert statuses == [p[3] for p in plan]
    after = scrape(h)

    def delta(name, vhost, **labels):
        return value(after, name, vhost, **labels) - value(before, name, vhost, **labels)

    assert delta("authproxy_sessions_total", main, source="local") == 17
    assert delta("authproxy_anonymous_total", main, reason="invalid_token") == 7
    assert delta("authproxy_anonymous_total", main, reason="no_cookie") == 7
    assert delta("authproxy_authz_total", main, decision="denied") == 5
    assert delta("authproxy_authz_total", main, decision="redirect") == 4
    assert delta("authproxy_authz_total", main, decision="unauthorized") == 3
    assert delta("authproxy_authz_total", main, decision="granted") == 0
    assert delta("authproxy_upstream_requests_total", main, kind="route", code="2xx") == 2
    # the other VirtualHost's visitors count there, and only there
    assert delta("authproxy_anonymous_total", other, reason="no_cookie") == 6
    assert sum(v for (n, l), v in after.items() if dict(l).get("vhost") == other) \
        - sum(v for (n, l), v in before.items() if dict(l).get("vhost") == other) == 6
    for reason in ("bad_cookie", "expired", "no_session", "upstream_error"):
        assert delta("authproxy_anonymous_total", main, reason=reason) == 0
    assert value(after, "authproxy_upstream_request_seconds_bucket", main, kind="session",
                 le="+Inf") == value(after, "authproxy_upstream_request_seconds_count", main,
                                     kind="session")


def test_session_fetches_and_cache_lookups_are_counted(httpd_factory, upstream):
    h = httpd_factory("AuthProxyUpstream %s\n<Location /metrics>\nSetHandler authproxy-metrics\n"
                      "AuthProxySession Off\n</Location>\n" % upstream.origin)
    h.write("htdocs/tiny.txt", "tiny\n")
    vhost = "127.0.0.1:%d" % h.port
    token, = tokens_for("alice@example.com")
    for _ in range(3):
        assert h.request("GET", "/tiny.txt", headers={"Cookie": session_cookie(token)})[0] == 200
    s = scrape(h)
    assert value(s, "authproxy_upstream_requests_total", vhost, kind="session", code="2xx") == 1
    assert value(s, "authproxy_upstream_request_seconds_count", vhost, kind="session") == 1
    assert value(s, "authproxy_cache_lookups_total", vhost, result="miss") == 1
    # a child takes what it fetched or read as it is for a second, without a lookup
    assert value(s, "authproxy_cache_lookups_total", vhost, result="hit") <= 2
    assert value(s, "authproxy_sessions_total", vhost, source="upstream") == 1
    assert value(s, "authproxy_sessions_total", vhost, source="cache") == 2


def test_server_status_shows_the_section_and_a_graceful_restart_keeps_serving(httpd_factory,
                                                                           upstream):
    h = make(httpd_factory, upstream, "prefork")
    h.write("htdocs/tiny.txt", "tiny\n")
    assert h.request("GET", "/tiny.txt")[0] == 200
    status, _, body = h.request("GET", "/server-status?auto")
    text = body.decode()
    assert status == 200 and "AuthProxyVersion: " in text
    assert "AuthProxyVHost0: 127.0.0.1:%d %s" % (h.port, upstream.origin) in text
    assert re.search(r"AuthProxyVHost0Anonymous: no_cookie=1 ", text), text
    status, _, body = h.request("GET", "/server-status")
    assert status == 200 and b"<h2>AuthProxy " in body and b"other.test" in body
    h.signal(signal.SIGUSR1)
    assert h.request("GET", "/tiny.txt")[0] == 200
    assert scrape(h)


# ---- what a request sees: its own VirtualHost's series ------------------------------

TENANTS = """
TraceEnable Off
LoadModule status_module %(modules)s/mod_status.so
<Location /metrics>
    SetHandler authproxy-metrics
    AuthProxySession Off
</Location>
<Location /server-status>
    SetHandler server-status
    AuthProxySession Off
</Location>
<Directory "@DIR@/htdocs">
    AllowOverride FileInfo
</Directory>
"""


def tenants(httpd_factory, upstream, a_extra=""):
    """a.test and b.test, each with its upstream (one server, two origins) and
    a ServerName without a port; 3 and 2 anonymous visits."""
    h = httpd_factory(TENANTS % {"modules": MODULES}
                      + vhost("a.test", "AuthProxyUpstream %s\n%s" % (upstream.origin, a_extra))
                      + vhost("b.test", "AuthProxyUpstream http://localhost:%d\n" % upstream.port))
    for name, visits in (("a.test", 3), ("b.test", 2)):
        for _ in range(visits):
            assert h.request("GET", "/index.html", host=on(h, name))[0] == 200
    return h


def on(h, name):
    return "%s:%d" % (name, h.port)


def scrape_on(h, name, path="/metrics"):
    status, _, body = h.request("GET", path, host=on(h, name))
    assert status == 200, body
    return parse(body.decode())


def vhosts_in(samples):
    return {dict(labels)["vhost"] for _, labels in samples}


def test_the_handler_shows_its_own_virtual_host_and_its_label_names_the_port(httpd_factory,
                                                                            upstream):
    h = tenants(httpd_factory, upstream)
    a, b = on(h, "a.test"), on(h, "b.test")
    for name, own, visits in (("a.test", a, 3), ("b.test", b, 2)):
        samples = scrape_on(h, name)
        # a ServerName without a port is labelled with the port it is served on
        assert vhosts_in(samples) == {own}, samples
        assert value(samples, "authproxy_anonymous_total", own, reason="no_cookie") == visits
    assert b"b.test" not in h.request("GET", "/metrics", host=a)[2]


def test_virtual_hosts_without_a_server_name_keep_their_series_apart(httpd_factory, upstream):
    """Each takes the main server's name, so their labels meet: two tenants
    must not share a series, nor see each other's upstream."""
    unnamed = "<VirtualHost 127.0.0.1:@PORT@>\nServerAlias %s\nAuthProxyUpstream %s\n</VirtualHost>\n"
    h = httpd_factory(TENANTS % {"modules": MODULES}
                      + unnamed % ("a.test", upstream.origin)
                      + unnamed % ("b.test", "http://localhost:%d" % upstream.port))
    for _ in range(3):
        assert h.request("GET", "/index.html", host=on(h, "a.test"))[0] == 200
    a_samples, b_samples = scrape_on(h, "a.test"), scrape_on(h, "b.test")
    (a_label,), (b_label,) = vhosts_in(a_samples), vhosts_in(b_samples)
    assert a_label != b_label
    assert value(a_samples, "authproxy_anonymous_total", a_label, reason="no_cookie") == 3
    assert value(b_samples, "authproxy_anonymous_total", b_label, reason="no_cookie") == 0
    status, _, body = h.request("GET", "/server-status?auto", host=on(h, "b.test"))
    assert status == 200 and upstream.origin.encode() not in body


def test_scope_all_shows_every_virtual_host_to_that_server_only(httpd_factory, upstream):
    h = tenants(httpd_factory, upstream, "AuthProxyMetricsScope all\n")
    a, b = on(h, "a.test"), on(h, "b.test")
    samples = scrape_on(h, "a.test")
    assert vhosts_in(samples) == {a, b}
    assert value(samples, "authproxy_anonymous_total", b, reason="no_cookie") == 2
    assert vhosts_in(scrape_on(h, "b.test")) == {b}


def test_a_tenant_htaccess_shows_its_own_and_cannot_widen_it(httpd_factory, upstream):
    h = tenants(httpd_factory, upstream)
    for folder in ("stats", "all"):
        os.mkdir(os.path.join(h.dir, "htdocs", folder))
        os.chmod(os.path.join(h.dir, "htdocs", folder), 0o755)
    h.write("htdocs/stats/.htaccess", "SetHandler authproxy-metrics\n")
    for name in ("a.test", "b.test"):
        assert vhosts_in(scrape_on(h, name, "/stats/")) == {on(h, name)}
    # server configuration only: the .htaccess is refused, its request a 500
    h.write("htdocs/all/.htaccess", "SetHandler authproxy-metrics\nAuthProxyMetricsScope all\n")
    h.expect_other_log("[core:alert]", r"/all/\.htaccess: AuthProxyMetricsScope not allowed here")
    status, _, body = h.request("GET", "/all/", host=on(h, "b.test"))
    assert status == 500 and b"a.test" not in body
    assert "AuthProxyMetricsScope not allowed here" in h.error_log()


def test_server_status_lists_the_upstream_of_its_own_virtual_host(httpd_factory, upstream):
    h = tenants(httpd_factory, upstream)
    a, b = on(h, "a.test"), on(h, "b.test")
    status, _, body = h.request("GET", "/server-status?auto", host=b)
    text = body.decode()
    assert status == 200 and "AuthProxyVHost0: %s http://localhost:%d\n" % (b, upstream.port) \
        in text, text
    assert "AuthProxyVHost1" not in text and "a.test" not in text
    assert re.search(r"AuthProxyVHost0Anonymous: no_cookie=2 ", text), text
    status, _, body = h.request("GET", "/server-status", host=a)
    # the section (mod_status's own table lists the hosts its workers served)
    section = body.split(b"<h2>AuthProxy ", 1)[1]
    assert status == 200 and ("<h3>%s &rarr; %s</h3>" % (a, upstream.origin)).encode() in section
    assert b"b.test" not in section and b"localhost" not in section

    h = tenants(httpd_factory, upstream, "AuthProxyMetricsScope all\n")
    text = h.request("GET", "/server-status?auto", host=on(h, "a.test"))[2].decode()
    listed = re.findall(r"^AuthProxyVHost\d: (.*)$", text, re.M)
    assert sorted(listed) == ["%s %s" % (on(h, "a.test"), upstream.origin),
                              "%s http://localhost:%d" % (on(h, "b.test"), upstream.port)], text


def test_other_methods_are_told_get_and_head(httpd_factory, upstream):
    """TraceEnable Off: where it is on, httpd answers TRACE itself (before any
    handler) and lists it in every Allow."""
    h = tenants(httpd_factory, upstream)
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = h.request(method, "/metrics", body=b"", host=on(h, "a.test"))
        assert status == 405
        assert sorted(m.strip() for m in header(headers, "Allow").split(",")) == ["GET", "HEAD"]
    status, headers, body = h.request("HEAD", "/metrics", host=on(h, "a.test"))
    assert status == 200 and body == b""
