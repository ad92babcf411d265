# SPDX-License-Identifier: Apache-2.0
"""Sign-in abuse protection (AuthProxySignInLimit), against the real Auth.js
upstream's Credentials provider: failed sign-ins read from its answers (the
error=CredentialsSignin redirect, and the JSON {url} form that
X-Auth-Return-Redirect asks for), counted per client address (after
mod_remoteip) or per keyed hash of the identifier in a shared memcached, so
that a second server enforces the same ban; 429 with Retry-After and
no-store, never forwarded; a success clears the address's count; /session,
/csrf and /providers are never limited; hostile bodies and a dead cache."""
import json
import re
import time
import urllib.parse

from harness import UPSTREAM_SECRET, Browser, header, header_all, vhost
from test_01_config import configtest
from test_15_metrics import scrape
from session_helpers import COOKIE

CONF = """
    LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so
    LoadModule remoteip_module @MODULES@/mod_remoteip.so
    RemoteIPHeader X-Client
    RemoteIPInternalProxy 127.0.0.1
    AuthProxyUpstream %(upstream)s
    AuthProxySecret %(secret)s
    AuthProxySessionCache %(cache)s
    AuthProxySignInLimit %(limit)s
    <Location /metrics>
        SetHandler authproxy-metrics
    </Location>
"""


def server(httpd_factory, upstream, memcached=None, limit="5 60", cache=None, remoteip=True,
           **kwargs):
    conf = CONF % {"upstream": upstream.origin, "secret": UPSTREAM_SECRET, "limit": limit,
                   "cache": cache or "memcache:127.0.0.1:%d" % memcached.port}
    if not remoteip:
        conf = re.sub(r"\n\s*RemoteIP.*", "", conf)
    return httpd_factory(conf, **kwargs)


def sign_in(httpd, email, password, client=None, json_form=False, headers=None, host=None):
    """A Credentials sign-in from the address `client` (X-Client, which
    mod_remoteip takes from 127.0.0.1): (status, headers, body, browser)."""
    browser = Browser(httpd, host=host)
    hdrs = dict(headers or {})
    if client:
        hdrs["X-Client"] = client
    if json_form:
        hdrs["X-Auth-Return-Redirect"] = "1"
    status, got, body = browser.sign_in("/api/auth", email, password, hdrs)
    return status, got, body, browser


def refused(status, headers, body):
    """The upstream's answer to wrong credentials, in either form."""
    if status == 302:
        return "error=CredentialsSignin" in header(headers, "Location")
    return status == 200 and "error=CredentialsSignin" in json.loads(body)["url"]


def total(samples, name, **labels):
    """A family's value summed over the VirtualHosts, for these labels."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and all(dict(ls).get(k) == w for k, w in labels.items()))


def routes(httpd):
    """The route requests that reached the upstream, by their answers."""
    return total(scrape(httpd), "authproxy_upstream_requests_total", kind="route")


def fail(httpd, times, client, email="alice@example.com", **kwargs):
    for _ in range(times):
        status, headers, body, _ = sign_in(httpd, email, "wrong", client, **kwargs)
        assert refused(status, headers, body), (status, headers, body)


def test_a_ban_holds_across_the_fleet_spares_other_addresses_and_ends(
        httpd_factory, upstream, memcached):
    a = server(httpd_factory, upstream, memcached, limit="5 60 ban 3")
    b = server(httpd_factory, upstream, memcached, limit="5 60 ban 3")
    fail(a, 5, "192.0.2.7")
    before = routes(a)

    # the sixth: 429, never forwarded (only its /csrf went)
    status, headers, body, _ = sign_in(a, "alice@example.com", "alice-pw", "192.0.2.7")
    assert status == 429, (status, body)
    left = int(header(headers, "Retry-After"))
    assert 1 <= left <= 3
    assert header_all(headers, "Cache-Control") == ["no-store"]
    assert COOKIE not in dict(header_pairs(headers))
    assert routes(a) == before + 1
    assert total(scrape(a), "authproxy_signin_limited_total", by="ip") == 1

    # the other server of the fleet reads the same ban
    status, headers, _, _ = sign_in(b, "alice@example.com", "alice-pw", "192.0.2.7")
    assert status == 429
    # and the same user signs in from another address (ip mode locks out no user)
    status, _, _, browser = sign_in(b, "alice@example.com", "alice-pw", "192.0.2.8")
    assert status == 302 and COOKIE in browser.cookies

    # one line per ban, by the server that counted the fifth failure
    lines = [line for h in (a, b) for line in h.error_log().splitlines()
             if "AUTHPROXY086" in line]
    assert len(lines) == 1, lines
    assert "192.0.2.7" in lines[0] and "alice" not in lines[0]

    # the ban ends
    time.sleep(left + 1)
    status, _, _, browser = sign_in(a, "alice@example.com", "alice-pw", "192.0.2.7")
    assert status == 302 and COOKIE in browser.cookies


def header_pairs(headers):
    return [tuple(v.split(";", 1)[0].split("=", 1)) for k, v in headers
            if k.lower() == "set-cookie"]


def test_the_json_form_is_read_and_passes_unchanged(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="2 60")
    status, headers, body, _ = sign_in(h, "alice@example.com", "wrong", "192.0.2.9",
                                       json_form=True)
    # Auth.js's own answer, as it sent it
    assert status == 200 and json.loads(body)["url"].endswith(
        "/api/auth/signin?error=CredentialsSignin&code=credentials"), body
    fail(h, 1, "192.0.2.9", json_form=True)
    status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.9", json_form=True)
    assert status == 429
    # a success in that form clears the address's count too
    fail(h, 1, "192.0.2.19", json_form=True)
    status, _, body, browser = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.19",
                                       json_form=True)
    assert status == 200 and COOKIE in browser.cookies and "error" not in json.loads(body)["url"]
    fail(h, 1, "192.0.2.19", json_form=True)
    status, _, _, browser = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.19",
                                    json_form=True)
    assert status == 200 and COOKIE in browser.cookies


def test_a_success_clears_the_addresses_count(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="3 60")
    fail(h, 2, "192.0.2.10")
    status, _, _, browser = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.10")
    assert status == 302 and COOKIE in browser.cookies
    fail(h, 2, "192.0.2.10")
    status, _, _, browser = sign_in(h, "bob@example.org", "bob-pw", "192.0.2.10")
    assert status == 302 and COOKIE in browser.cookies


def test_the_other_routes_are_never_limited(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="1 60")
    fail(h, 1, "192.0.2.11")
    for path in ("/api/auth/session", "/api/auth/csrf", "/api/auth/providers",
                 "/api/auth/signin"):
        status, _, body = h.request("GET", path, headers={"X-Client": "192.0.2.11"})
        assert status == 200, (path, status, body)
    # nor is a POST of the session (an update)
    status, _, _ = h.request("POST", "/api/auth/session", b"{}",
                             {"X-Client": "192.0.2.11", "Content-Type": "application/json"})
    assert status != 429
    # every spelling Auth.js takes for the sign-in is one
    for path in ("/api/auth//callback/credentials", "/api/auth/callback/credentials/",
                 "/api/auth/callback//credentials"):
        status, _, _ = h.request("POST", path, b"email=a", {
            "X-Client": "192.0.2.11", "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 429, path


def test_an_ipv6_client_is_counted_by_its_64(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="2 60")
    fail(h, 1, "2001:db8:0:1::1")
    fail(h, 1, "2001:db8:0:1:ffff:ffff:ffff:ffff")
    status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", "2001:db8:0:1::2")
    assert status == 429
    # the next /64, and IPv4, are others
    status, _, _, browser = sign_in(h, "alice@example.com", "alice-pw", "2001:db8:0:2::1")
    assert status == 302 and COOKIE in browser.cookies
    # an IPv4-mapped address is its IPv4 address
    fail(h, 2, "::ffff:192.0.2.70")
    status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.70")
    assert status == 429


def test_two_deployments_sharing_a_cache_count_apart(httpd_factory, upstream,
                                                     upstream_auth_prefix, memcached):
    """Records are named by the deployment's scope: a ban on one VirtualHost's
    Auth.js is none on another's, though both share the cache."""
    conf = (CONF % {"upstream": upstream.origin, "secret": UPSTREAM_SECRET, "limit": "2 60",
                    "cache": "memcache:127.0.0.1:%d" % memcached.port}
            + vhost("a.test", "")
            + vhost("b.test", "AuthProxyUpstream %s\nAuthProxyTargetPath /auth\n"
                    "AuthProxySecret %s\n" % (upstream_auth_prefix.origin, UPSTREAM_SECRET)))
    h = httpd_factory(conf)
    a, b = "a.test:%d" % h.port, "b.test:%d" % h.port
    for host in (a, a):
        status, headers, body, _ = sign_in(h, "alice@example.com", "wrong", "192.0.2.90",
                                           host=host)
        assert refused(status, headers, body)
    assert sign_in(h, "alice@example.com", "alice-pw", "192.0.2.90", host=a)[0] == 429
    status, _, _, browser = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.90", host=b)
    assert status == 302 and COOKIE in browser.cookies


def test_a_forged_header_is_not_an_address(httpd_factory, upstream, memcached):
    # without mod_remoteip's trust, X-Client and X-Forwarded-For are the client's words
    h = server(httpd_factory, upstream, memcached, limit="2 60", remoteip=False)
    fail(h, 2, None, headers={"X-Forwarded-For": "192.0.2.12"})
    for forged in ("192.0.2.13", "127.0.0.2"):
        status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", forged,
                                  headers={"X-Forwarded-For": forged})
        assert status == 429


def test_by_user_counts_the_identifier_from_any_address(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="3 60 by user")
    # spellings of one address are one identifier
    for i, email in enumerate(("alice@example.com", " ALICE@example.com", "Alice@Example.COM ")):
        fail(h, 1, "192.0.2.%d" % (20 + i), email=email)
    # the trade-off: the user is locked out everywhere, the address is not
    status, _, _, _ = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.30")
    assert status == 429
    status, _, _, browser = sign_in(h, "bob@example.org", "bob-pw", "192.0.2.20")
    assert status == 302 and COOKIE in browser.cookies
    assert total(scrape(h), "authproxy_signin_limited_total", by="user") == 1
    # the log and the cache name no address
    lines = [line for line in h.error_log().splitlines() if "AUTHPROXY086" in line]
    assert len(lines) == 1 and "alice" not in lines[0].lower(), lines


def test_by_user_reads_json_bodies_and_forwards_them(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="2 60 by both")
    browser = Browser(h)
    _, _, body = browser.get("/api/auth/csrf")
    token = json.loads(body)["csrfToken"]

    def post(email, password, **extra):
        return browser.request("POST", "/api/auth/callback/credentials", json.dumps(
            {"csrfToken": token, "email": email, "password": password, **extra}).encode(),
            {"Content-Type": "application/json", "X-Client": "192.0.2.40"})

    # a JSON body reaches Auth.js whole: it signs in with it
    status, _, _ = post("bob@example.org", "bob-pw")
    assert status == 302 and COOKIE in browser.cookies
    browser.cookies.pop(COOKIE)
    # the last of repeated names is the one Auth.js reads, and the one counted
    for address in ("192.0.2.41", "192.0.2.42"):
        raw = ('{"csrfToken": "%s", "email": "bob@example.org", "email": "alice@example.com",'
               ' "password": "x"}' % token).encode()
        status, _, _ = browser.request("POST", "/api/auth/callback/credentials", raw, {
            "Content-Type": "application/json", "X-Client": address})
        assert status == 302
    status, _, _ = browser.request("POST", "/api/auth/callback/credentials", urllib.parse.urlencode(
        {"csrfToken": token, "email": "alice@example.com", "password": "alice-pw"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "X-Client": "192.0.2.43"})
    assert status == 429


def email_sign_in(httpd, email, client):
    """POST /api/auth/signin/email (the database upstream's e-mail provider)."""
    browser = Browser(httpd)
    _, _, body = browser.get("/api/auth/csrf", headers={"X-Client": client})
    return browser.post_form("/api/auth/signin/email", {
        "csrfToken": json.loads(body)["csrfToken"], "email": email}, {"X-Client": client})


def emails_sent(upstream):
    return upstream.get_json("/__stats")["emails_sent"]


def test_sign_in_emails_are_counted(httpd_factory, upstream_db, memcached):
    a = server(httpd_factory, upstream_db, memcached, limit="3 60")
    b = server(httpd_factory, upstream_db, memcached, limit="2 60 by user")
    sent = emails_sent(upstream_db)
    # each e-mail sent is an attempt: an address floods no inbox past the limit
    for i in range(3):
        status, headers, _ = email_sign_in(a, "victim%d@example.com" % i, "192.0.2.60")
        assert status == 302 and "/api/auth/verify-request?" in header(headers, "Location")
    status, _, _ = email_sign_in(a, "victim@example.com", "192.0.2.60")
    assert status == 429
    assert emails_sent(upstream_db) == sent + 3
    # by user, nor do many addresses flood one inbox
    for address in ("192.0.2.61", "192.0.2.62"):
        status, _, _ = email_sign_in(b, "Inbox@example.com", address)
        assert status == 302
    status, _, _ = email_sign_in(b, "inbox@example.com", "192.0.2.63")
    assert status == 429
    assert emails_sent(upstream_db) == sent + 5


def test_by_user_reads_what_express_reads(httpd_factory, upstream_express, memcached):
    h = server(httpd_factory, upstream_express, memcached, limit="2 60 by user")
    browser = Browser(h)
    _, _, body = browser.get("/api/auth/csrf")
    token = json.loads(body)["csrfToken"]

    def post(fields, client):
        return browser.request("POST", "/api/auth/callback/credentials",
                               fields % {b"token": token.encode()}, {
                                   "Content-Type": "application/x-www-form-urlencoded",
                                   "X-Client": client})

    # qs makes email[] an "email", and keeps repeated ones: both are counted
    status, headers, _ = post(b"csrfToken=%(token)s&email%%5B%%5D=alice%%40example.com"
                              b"&password=x", "192.0.2.80")
    assert status == 302 and "error=CredentialsSignin" in header(headers, "Location")
    status, headers, _ = post(b"csrfToken=%(token)s&email=alice%%40example.com"
                              b"&email=x%%40example.com&password=x", "192.0.2.81")
    assert status == 302 and "error=CredentialsSignin" in header(headers, "Location")
    status, _, _ = post(b"csrfToken=%(token)s&email=alice%%40example.com&password=alice-pw",
                        "192.0.2.82")
    assert status == 429
    # more identifiers than a form has: refused
    status, _, _ = post(b"csrfToken=%(token)s&email=a&email=b&email=c&email=d&email=e",
                        "192.0.2.83")
    assert status == 400


def test_hostile_bodies(httpd_factory, upstream, memcached):
    h = server(httpd_factory, upstream, memcached, limit="2 60 by user")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # too large to read for its identifier: refused, not buffered
    status, _, _ = h.request("POST", "/api/auth/callback/credentials",
                             b"email=" + b"a" * 20000, form)
    assert status == 413
    # chunked, over the bound: refused as it comes
    answer = h.raw(b"POST /api/auth/callback/credentials HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n"
                   b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   + b"".join(b"1000\r\n" + b"a" * 4096 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    # broken escapes, NULs, non-string identifiers, broken JSON: forwarded, counted
    for body, ctype in ((b"email=%zz%&email=%00&password=x", form["Content-Type"]),
                        (b'{"email": ["a", {"b": 1}], "password": 1}', "application/json"),
                        (b'{"email": "\\u0000"', "application/json"),
                        (b"\xff\xfe" * 100, "text/plain")):
        status, _, _ = h.request("POST", "/api/auth/callback/credentials", body,
                                 {"Content-Type": ctype})
        assert status in (302, 400, 500), (body, status)
    # a small chunked body is read whole and forwarded: Auth.js answers it
    answer = h.raw(b"POST /api/auth/callback/credentials HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/x-www-form-urlencoded\r\n"
                   b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   b"5\r\nemail\r\n3\r\n=x&\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 302"), answer[:200]


def test_a_dead_cache_limits_nothing_and_says_so(httpd_factory, upstream):
    from harness import free_port
    h = server(httpd_factory, upstream, cache="memcache:127.0.0.1:%d" % free_port(),
               limit="1 60")
    h.expect_log("AUTHPROXY043", "sign-in not limited")
    h.expect_log("AUTHPROXY044")
    h.expect_other_log("[socache_memcache:crit]")
    for _ in range(3):
        status, headers, body, _ = sign_in(h, "alice@example.com", "wrong", "192.0.2.50")
        assert refused(status, headers, body)
    status, _, _, browser = sign_in(h, "alice@example.com", "alice-pw", "192.0.2.50")
    assert status == 302 and COOKIE in browser.cookies
    assert "sign-in not limited" in h.error_log()


def test_settings_are_checked_at_configtest(upstream):
    base = "AuthProxyUpstream %s\n" % upstream.origin
    for conf, message in (
            ("AuthProxySessionCache none\nAuthProxySignInLimit 5 60",
             "AuthProxySignInLimit counts failed sign-ins in the session cache, but "
             "AuthProxySessionCache is none"),
            ("AuthProxySignInLimit 5 60 by user",
             "AuthProxySignInLimit by user or both keys the identifiers' hashes with the "
             "upstream's secret"),
            ("AuthProxySignInLimit 5", "AuthProxySignInLimit: give N PERIOD"),
            ("AuthProxySignInLimit 0 60", "AuthProxySignInLimit: '0' is not a number of failed"),
            ("AuthProxySignInLimit 5 0", "AuthProxySignInLimit: '0' is not a whole number of "
                                         "seconds from 1 to 86400"),
            ("AuthProxySignInLimit 5 60 ban", "AuthProxySignInLimit: 'ban' wants a value"),
            ("AuthProxySignInLimit 5 60 by host", "AuthProxySignInLimit: 'host' is not ip, user "
                                                  "or both"),
            ("AuthProxySignInLimit 5 60 for 3",
             "AuthProxySignInLimit: 'for' is neither ban nor by"),
            ("<Location /x>\nAuthProxySignInLimit 5 60\n</Location>",
             "AuthProxySignInLimit not allowed in <Location> context")):
        rc, out = configtest(base + conf + "\n")
        assert rc != 0 and message in out, (conf, out)
    rc, out = configtest(base + "AuthProxySecret s\nAuthProxySignInLimit 5 60 ban 600 by both\n"
                         "<VirtualHost *:@PORT@>\nAuthProxySignInLimit Off\n</VirtualHost>\n")
    assert rc == 0, out
