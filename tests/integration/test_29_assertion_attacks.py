# SPDX-License-Identifier: Apache-2.0
"""The signed-assertion feature (test_24) attacked as a backend's attacker
and a confused operator would: what a child keeps of the assertions it
signed stays bounded however long it runs; an assertion made out to one
backend never reaches another handler through an internal redirect's or a
subrequest's environment, nor verifies at another backend behind another
Unix socket; a client's copies never arrive, in any spelling or number; the
child's reuse never crosses visitors, directories, sites or a revocation;
the JWS holds up to hostile claims and Host headers; odd key files, a key
listed twice and AuthProxyAssertion On without a key stop startup."""
import http.client
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import threading

import pytest
from cryptography.hazmat.primitives import serialization

from harness import (SANITIZER_RUNTIMES, UPSTREAM_SECRET, Httpd, child_pids, header,
                     public_tempdir, rss_kib, tagged, vhost)
from session_helpers import ALICE, parse_env, session_cookie, tokens
from test_21_revocation import fleet_conf, minted, refused_within_a_second, revoke
# app, keys and token are fixtures
from test_24_assertion import (ONE_CHILD, app, arrived, b64d, conf, jose_verify,  # noqa: F401
                               genpkey, jwks, keys, thumbprint, token, verify)

# A claim big enough that each signature costs a child tens of KiB (a token
# stays below the module's 16 KiB).
BLOB = 10000


def many(h, path, cookie, n):
    """n requests, on one connection while the server keeps it; their statuses."""
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
    statuses = []
    try:
        for _ in range(n):
            conn.request("GET", path, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
    finally:
        conn.close()
    return statuses


@pytest.mark.skipif(bool(SANITIZER_RUNTIMES),
                    reason="under ASan a process's RSS says nothing of its leaks")
def test_resigning_one_visitor_keeps_the_cache_bounded(httpd_factory, upstream, keys):
    """With a lifetime of 1 s a child signs the same visitor's assertion
    again about twice a second: each one was kept as a new entry in the
    same generation's pool while the entry count (distinct visitors) never
    reached the cap that clears it, so a child grew by every re-signature,
    for ever (at the default 60 s: every active visitor's assertion, each
    30 s). The dead backend answers 503 at once: the signing is in the
    fixups, before it."""
    h = httpd_factory("""
        StartServers 1
        ServerLimit 1
        MaxRequestWorkers 1
        MinSpareServers 1
        MaxSpareServers 2
        MaxKeepAliveRequests 0
        LimitRequestFieldSize 100000
        AuthProxyUpstream %(up)s
        AuthProxySecret %(secret)s
        AuthProxyAssertionKey %(key)s
        AuthProxyAssertionLifetime 1
        <Location /dead/>
            AuthProxyAssertion On
            ProxyPass http://127.0.0.1:1/
        </Location>
    """ % {"up": upstream.origin, "secret": UPSTREAM_SECRET,
           "key": keys["ec"]}, mpm="prefork")
    token, = tokens(dict(ALICE, blob="b" * BLOB))
    cookie = session_cookie(token)
    assert set(many(h, "/dead/x", cookie, 200)) == {503}
    before = {pid: rss_kib(pid) for pid in child_pids(h.proc.pid)}
    assert set(many(h, "/dead/x", cookie, 3000)) == {503}
    grown = max(rss_kib(pid) - kib for pid, kib in before.items())
    signed = len(h.tagged("AUTHPROXY083", ALICE["email"]))
    assert signed > 600
    # unbounded: ~25 KiB per signature, 15 MiB and more; bounded: two
    # generations of 2 MiB
    assert grown < 8 * 1024, "grew %d KiB over %d signatures" % (grown, signed)


def fpm_conf(upstream, keys, php_fpm, extra=""):
    return conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        LoadModule include_module @MODULES@/mod_include.so
        <FilesMatch "\\.php$">
            AuthProxyAssertion On
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
        %s
    """ % (php_fpm.port, extra)


def assertion_vars(env):
    return {k: v for k, v in env.items() if "AUTHJS_ASSERTION" in k}


def test_error_document_after_fastcgi_gets_no_assertion(httpd_factory, upstream, keys,
                                                        php_fpm, token):
    """mod_proxy_fcgi writes the request's headers into its environment
    (HTTP_X_AUTHJS_ASSERTION, aud fcgi://...); the ErrorDocument its error
    goes to is another request, and httpd hands it that environment as
    REDIRECT_*: a CGI error page held an assertion it could replay to the
    PHP application."""
    h = httpd_factory(fpm_conf(upstream, keys, php_fpm, """
        ProxyErrorOverride On
        ErrorDocument 500 /cgi-bin/env.cgi
    """))
    h.write("htdocs/fail.php", "<?php http_response_code(500); echo 'failed';\n")
    status, _, body = h.request("GET", "/fail.php", headers={"Cookie": session_cookie(token)})
    env = parse_env(body)
    assert status == 500 and env.get("AUTHJS_USER_EMAIL") == ALICE["email"], body
    assert not assertion_vars(env), env


def test_ssi_include_of_a_proxied_page_gets_no_assertion(httpd_factory, upstream, keys,
                                                         php_fpm, token):
    """A PHP page's output through mod_include: the included CGI's
    subrequest starts with a copy of the main request's environment,
    HTTP_X_AUTHJS_ASSERTION (for the PHP application) in it."""
    h = httpd_factory(fpm_conf(upstream, keys, php_fpm, """
        <Files "ssi.php">
            Options +Includes
            SetOutputFilter INCLUDES
        </Files>
    """))
    h.write("htdocs/ssi.php", "<?php echo '<!--#include virtual=\"/cgi-bin/env.cgi\" -->';\n")
    status, _, body = h.request("GET", "/ssi.php", headers={"Cookie": session_cookie(token)})
    env = parse_env(body)
    assert status == 200 and env.get("AUTHJS_USER_EMAIL") == ALICE["email"], body
    assert not assertion_vars(env), env


@pytest.fixture(scope="module")
def odd_keys(keys):
    """Key files a confused operator may name: the public half, a
    certificate before the key, an empty file, a directory, a P-256 key in
    the traditional "EC PRIVATE KEY" form (with the curve's name, or its
    explicit parameters), Ed448 and X25519 keys, /dev/zero."""
    directory = os.path.dirname(keys["ec"])
    made = {"dir": directory, "zero": "/dev/zero", "empty": os.path.join(directory, "empty.pem")}
    open(made["empty"], "w").close()
    made["public"] = os.path.join(directory, "public.pem")
    subprocess.run(["openssl", "pkey", "-in", keys["ec"], "-pubout", "-out", made["public"]],
                   check=True, capture_output=True)
    cert = subprocess.run(["openssl", "req", "-new", "-x509", "-key", keys["ec"], "-subj", "/CN=x",
                           "-days", "1"], check=True, capture_output=True).stdout
    made["cert_then_key"] = os.path.join(directory, "cert-key.pem")
    with open(made["cert_then_key"], "wb") as f, open(keys["ec"], "rb") as key:
        f.write(cert + key.read())
    made["traditional"] = os.path.join(directory, "traditional.pem")
    subprocess.run(["openssl", "ec", "-in", keys["ec"], "-out", made["traditional"]],
                   check=True, capture_output=True)
    made["explicit"] = os.path.join(directory, "explicit.pem")
    subprocess.run(["openssl", "ec", "-in", keys["ec"], "-param_enc", "explicit",
                    "-out", made["explicit"]], check=True, capture_output=True)
    made["ed448"] = genpkey(directory, "ed448.pem", "-algorithm", "Ed448")
    made["x25519"] = genpkey(directory, "x25519.pem", "-algorithm", "X25519")
    return made


@pytest.mark.parametrize("which", ["dir", "zero", "empty", "public", "ed448", "x25519"])
def test_odd_key_files_stop_startup(upstream, odd_keys, which):
    h = Httpd(conf(upstream, "AuthProxyAssertionKey %s" % odd_keys[which]))
    rc, out = h.configtest()
    assert rc != 0
    assert tagged(out, "AUTHPROXY080", "AuthProxyAssertionKey", odd_keys[which]), out


@pytest.mark.parametrize("which", ["cert_then_key", "traditional", "explicit"])
def test_key_forms_openssl_writes_are_read(httpd_factory, upstream, keys, odd_keys, which):
    """The key is the PKCS#8 file's: its public point, its thumbprint."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % odd_keys[which]))
    _, key_set = jwks(h)
    jwk, = key_set["keys"]
    with open(keys["ec"], "rb") as f:
        numbers = serialization.load_pem_private_key(f.read(), None).public_key().public_numbers()
    assert (int.from_bytes(b64d(jwk["x"]), "big"), int.from_bytes(b64d(jwk["y"]), "big")) \
        == (numbers.x, numbers.y)
    assert jwk["kid"] == thumbprint(jwk) and "d" not in jwk


@pytest.mark.parametrize("line", [
    "AuthProxyAssertionLifetime 0", "AuthProxyAssertionLifetime 61",
    "AuthProxyAssertionLifetime -1", "AuthProxyAssertionLifetime 1e3",
    "AuthProxyAssertionLifetime 30s", "AuthProxyAssertionLifetime 99999999999999999999",
    "AuthProxyAssertionKey", "AuthProxyAssertionAudience \"\"",
    "AuthProxyAssertion maybe",
])
def test_bad_directives_stop_startup(upstream, keys, line):
    h = Httpd(conf(upstream, "AuthProxyAssertionKey %s\n%s" % (keys["ec"], line)))
    rc, out = h.configtest()
    assert rc != 0, out
    assert line.split()[0] in out, out


def test_key_and_lifetime_not_in_htaccess(httpd_factory, upstream, keys):
    """A tenant would name a key file (read as root), or stretch the
    assertions' life."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        <Directory "@DIR@/htdocs/tenant">
            AllowOverride All
        </Directory>
    """)
    os.makedirs(os.path.join(h.dir, "htdocs", "tenant"), exist_ok=True)
    h.write("htdocs/tenant/page.html", "hello\n")
    for line in ("AuthProxyAssertionKey %s" % keys["ed"], "AuthProxyAssertionLifetime 5"):
        h.write("htdocs/tenant/.htaccess", line + "\n")
        h.expect_other_log("[core:alert]", line.split()[0] + " not allowed here")
        status, _, _ = h.request("GET", "/tenant/page.html")
        assert status == 500
        assert line.split()[0] + " not allowed here" in h.error_log()


def test_error_document_proxied_elsewhere_gets_its_own_or_none(httpd_factory, upstream, keys,
                                                               token):
    """The dead backend's request had an assertion made out to it in its
    headers when mod_proxy failed; its ErrorDocument is proxied to the echo,
    which must see none where assertions are off, and one made out to
    itself where they are on."""
    base = conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"])
    for target, aud in (("/plain/err", None), ("/aud/err", "https://api.example")):
        h = httpd_factory(base + """
            <Location /dead/>
                AuthProxyAssertion On
                ProxyPass http://127.0.0.1:1/
                ErrorDocument 503 %s
            </Location>
        """ % target)
        status, _, body = h.request("GET", "/dead/x", headers={"Cookie": session_cookie(token)})
        # the status is the backend's: the echo's 200
        assert status in (200, 503), body
        seen = json.loads(body)["headers"]
        found = [v for k, v in seen.items() if "assertion" in k.lower()]
        if aud is None:
            assert not found, seen
        else:
            _, key_set = jwks(h)
            assert len(found) == 1
            assert verify(found[0], key_set, aud, h.origin)["sub"] == ALICE["sub"]


HOSTILE = {"sub": "u-\"quoted\"\\", "email": "mallory@example.com",
           "name": "Mallory\n\r\t\u2028\u00e9\U0001F600</script>",
           "role": "admin\",\"sub\":\"u-alice", "n": 2 ** 53, "f": -1.5e300, "t": True,
           "nothing": None, "list": ["a", {"b": "c"}], "iss ": "spaced", "Aud": "cased"}


def test_hostile_claim_values_are_escaped(app, upstream):
    """Quotes, backslashes, control characters, non-BMP characters, big
    numbers: each claim arrives as the session held it, none overwrites
    another, in a JWS Python and jose both verify."""
    hostile, = tokens(HOSTILE)
    seen = arrived(app, "/backend/x", hostile)
    _, key_set = jwks(app)
    jws = seen["x-authjs-assertion"]
    claims = verify(jws, key_set, upstream.origin, app.origin)
    for name, value in HOSTILE.items():
        assert claims[name] == value, name
    result = jose_verify(key_set, jws, app.origin, upstream.origin)
    assert result["ok"] and result["payload"]["sub"] == HOSTILE["sub"], result


def test_host_header_and_absolute_uri_move_neither_iss_nor_aud(app, upstream, token):
    """iss is the server's own name, aud the backend's: a client's Host
    header or absolute-form request target changes neither."""
    _, key_set = jwks(app)
    for host in ("evil.example", "evil.example:%d" % app.port, "[::1]", "a b"):
        status, _, body = app.request("GET", "/backend/x", host=host,
                                      headers={"Cookie": session_cookie(token)})
        if status == 400:
            continue
        jws = json.loads(body)["headers"]["x-authjs-assertion"]
        assert verify(jws, key_set, upstream.origin, app.origin)["sub"] == ALICE["sub"], host
    answer = app.raw(("GET http://evil.example/backend/x HTTP/1.1\r\nHost: evil.example\r\n"
                      "Cookie: %s\r\nConnection: close\r\n\r\n" % session_cookie(token)).encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    jws = json.loads(body)["headers"]["x-authjs-assertion"]
    assert verify(jws, key_set, upstream.origin, app.origin)["sub"] == ALICE["sub"]


class UnixEcho(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """An HTTP backend on a Unix socket, as mod_proxy reaches one with
    unix:/path|http://localhost/: answers each request with the assertion it
    got."""
    daemon_threads = True

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (self.headers.get("X-Authjs-Assertion") or "").encode()
            self.send_response(200)
            self.send_header("X-Socket", self.server.server_address)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    def __init__(self, path):
        super().__init__(path, self.Handler)
        os.chmod(path, 0o777)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()


@pytest.fixture
def unix_backends():
    directory = public_tempdir("authproxy-uds-")
    made = [UnixEcho(os.path.join(directory, name)) for name in ("tenant1.sock", "tenant2.sock")]
    yield made
    for server in made:
        server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("how", ["sethandler", "rewrite"])
def test_backends_on_two_unix_sockets_get_different_audiences(httpd_factory, upstream, keys,
                                                              token, unix_backends, how):
    """SetHandler "proxy:unix:/run/php/site1.sock|fcgi://localhost" and
    site2's (a PHP-FPM pool per site, Debian's usual setup), or a
    RewriteRule's [P] to each, reach two backends through one placeholder
    origin: an assertion made out to one must not verify for the other,
    which only its aud can tell. (ProxyPass unix:...|http://localhost/ twice
    is one worker to httpd, which sends both to the first socket: there the
    placeholders must differ anyway.)"""
    where = {"sethandler": 'SetHandler "proxy:unix:%s|http://localhost/"',
             "rewrite": "RewriteEngine On\nRewriteRule ^ unix:%s|http://localhost/x [P]"}[how]
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"])
                      + "LoadModule rewrite_module @MODULES@/mod_rewrite.so\n" + "".join("""
        <Location /t%d/>
            AuthProxyAssertion On
            %s
        </Location>
    """ % (i + 1, where % b.server_address) for i, b in enumerate(unix_backends)))
    _, key_set = jwks(h)
    auds = []
    for i, backend in enumerate(unix_backends):
        status, headers, body = h.request("GET", "/t%d/x" % (i + 1),
                                          headers={"Cookie": session_cookie(token)})
        assert status == 200 and header(headers, "X-Socket") == backend.server_address, body
        aud = "unix:%s|http://localhost" % backend.server_address
        assert verify(body.decode(), key_set, aud, h.origin)["sub"] == ALICE["sub"]
        auds.append(aud)
    assert auds[0] != auds[1]


def test_no_assertion_after_revocation(httpd_factory, upstream, keys, memcached):
    """The child still holds the visitor's assertion, well inside its
    lifetime: a revoked session gets none of it (its key names the claims,
    not whether the session still holds)."""
    h = httpd_factory(ONE_CHILD + fleet_conf(upstream, memcached, extra="""
        AuthProxyAssertionKey %s
        <Location /backend/>
            AuthProxyAssertion On
            ProxyPass %s/api/auth/__echo/
        </Location>
    """ % (keys["ec"], upstream.origin)))
    token, = minted("u-revoked")
    first = arrived(h, "/backend/x", token)
    assert "x-authjs-assertion" in first
    assert arrived(h, "/backend/y", token)["x-authjs-assertion"] == first["x-authjs-assertion"]
    status, _, body = revoke(h, {"sub": "u-revoked"})
    assert status in (200, 204), body
    refused_within_a_second(lambda: arrived(h, "/backend/z", token).get("x-authjs-assertion"))


def test_assertion_on_needs_a_key_where_it_applies(upstream, keys):
    """On in a VirtualHost: the main server's key is its key too; On in
    the main server's sections, which every VirtualHost has: each needs
    one. The message names the place of the On."""
    on = "<Location /api/>\nAuthProxyAssertion On\n</Location>\n"
    key = "AuthProxyAssertionKey %s\n" % keys["ec"]
    base = "AuthProxyUpstream %s\nAuthProxySecret %s\n" % (upstream.origin, UPSTREAM_SECRET)
    assert Httpd(base + key + vhost("a.test", on)).configtest()[0] == 0
    assert Httpd(base + vhost("a.test", key) + vhost("b.test", on + key)).configtest()[0] == 0
    h = Httpd(base + vhost("a.test", key) + vhost("b.test", on))
    rc, out = h.configtest()
    assert rc != 0 and tagged(out, "AUTHPROXY073", h.conf_path, "b.test"), out
    h = Httpd(base + on + vhost("a.test", key))
    rc, out = h.configtest()
    assert rc != 0 and tagged(out, "AUTHPROXY073", h.conf_path), out


def test_one_key_listed_twice_stops_startup(upstream, keys, odd_keys):
    """The same key under two names (a rotation that copied the file) put
    one kid twice in the key set, where Node's jose finds several keys for
    an assertion's kid and verifies none (ERR_JWKS_MULTIPLE_MATCHING_KEYS)."""
    for line in ("%s %s" % (keys["ec"], odd_keys["traditional"]),
                 "%s %s" % (keys["ed"], keys["ed"])):
        h = Httpd(conf(upstream, "AuthProxyAssertionKey " + line))
        rc, out = h.configtest()
        assert rc != 0
        assert tagged(out, "AUTHPROXY080", "AuthProxyAssertionKey", *line.split()), out


def test_auth_routes_never_get_one(httpd_factory, upstream, keys, token):
    """AuthProxyAssertion On over the whole site: Auth.js's own routes are
    proxied too, and get none (the upstream is not a backend)."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        <Location />
            AuthProxyAssertion On
        </Location>
    """)
    assert "x-authjs-assertion" in arrived(h, "/backend/x", token)
    seen = arrived(h, "/api/auth/__echo/x", token, {"X-Authjs-Assertion": "forged"})
    assert not [k for k in seen if "assertion" in k.lower()], seen


def test_directory_index_to_php_fpm_gets_its_own(httpd_factory, upstream, keys, php_fpm, token):
    """mod_dir's DirectoryIndex looks index.php up as a subrequest (whose
    assertion goes) and makes the request that one: PHP gets an assertion
    made out to it, once."""
    h = httpd_factory(fpm_conf(upstream, keys, php_fpm, "DirectoryIndex index.php"))
    os.makedirs(os.path.join(h.dir, "htdocs", "app"), exist_ok=True)
    h.write("htdocs/app/index.php",
            "<?php echo json_encode(array_values(array_filter(array_keys($_SERVER),"
            " fn($k) => stripos($k, 'ASSERTION') !== false))), \"\\n\","
            " $_SERVER['HTTP_X_AUTHJS_ASSERTION'] ?? '';\n")
    status, _, body = h.request("GET", "/app/", headers={"Cookie": session_cookie(token),
                                                          "X-Authjs-Assertion": "forged"})
    assert status == 200, body
    names, jws = body.decode().split("\n", 1)
    assert json.loads(names) == ["HTTP_X_AUTHJS_ASSERTION"], body
    _, key_set = jwks(h)
    assert verify(jws, key_set, "fcgi://127.0.0.1:%d" % php_fpm.port,
                  h.origin)["sub"] == ALICE["sub"]


def test_a_directorys_filter_never_reuses_anothers_assertion(app, upstream):
    """/allowed/ publishes accessToken, /backend/ withholds it, both to one
    aud: the child's assertion from /allowed/, well inside its lifetime,
    must not be /backend/'s (the cache key names the filtered claims)."""
    secret, = tokens(dict(ALICE, sub="u-filter", accessToken="at-filter-secret"))
    _, key_set = jwks(app)
    allowed = arrived(app, "/allowed/x", secret)["x-authjs-assertion"]
    assert verify(allowed, key_set, upstream.origin, app.origin)["accessToken"] \
        == "at-filter-secret"
    withheld = arrived(app, "/backend/x", secret)["x-authjs-assertion"]
    assert withheld != allowed
    assert "accessToken" not in verify(withheld, key_set, upstream.origin, app.origin)


FORGED_LINES = ("X-Authjs-Assertion: forged1\r\nx-authjs-assertion: forged2\r\n"
                "X_AUTHJS_ASSERTION: forged3\r\nX-AUTHJS-ASSERTION:\r\n"
                "X-Authjs-Assertion: forged4\r\n")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_duplicate_client_copies_never_arrive(app, token, signed_in):
    """Several copies in several spellings, one empty, in one request: the
    backend sees this server's one assertion, or none."""
    cookie = "Cookie: %s\r\n" % session_cookie(token) if signed_in else ""
    answer = app.raw(("GET /backend/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s"
                      "Connection: close\r\n\r\n" % (app.port, cookie, FORGED_LINES)).encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    seen = json.loads(body)["headers"]
    found = {k: v for k, v in seen.items() if "assertion" in k.lower()}
    assert "forged" not in json.dumps(found)
    assert list(found) == (["x-authjs-assertion"] if signed_in else []), found


def test_vhosts_sharing_a_key_and_backend_never_share_an_assertion(httpd_factory, upstream,
                                                                    keys, token):
    """Two VirtualHosts with the main server's key, one backend: a child's
    assertion for one visitor there is made out by each site (its iss),
    never reused from the other's, whatever Host the client sends."""
    site = """
        <Location /backend/>
            AuthProxyAssertion On
            ProxyPass %s/api/auth/__echo/
        </Location>
    """ % upstream.origin
    h = httpd_factory(ONE_CHILD + """
        AuthProxyUpstream %s
        AuthProxySecret %s
        AuthProxyAssertionKey %s
        <Location /jwks>
            SetHandler authproxy-jwks
        </Location>
    """ % (upstream.origin, UPSTREAM_SECRET, keys["ec"])
        + vhost("a.test", site) + vhost("b.test", site))
    _, key_set = jwks(h)
    for host in ("a.test", "b.test", "a.test"):
        status, _, body = h.request("GET", "/backend/x", host="%s:%d" % (host, h.port),
                                    headers={"Cookie": session_cookie(token)})
        assert status == 200, body
        jws = json.loads(body)["headers"]["x-authjs-assertion"]
        assert verify(jws, key_set, upstream.origin,
                      "http://%s:%d" % (host, h.port))["sub"] == ALICE["sub"]
