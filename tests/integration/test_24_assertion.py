# SPDX-License-Identifier: Apache-2.0
"""Identity a backend can verify: a proxied backend (the upstream's echo
route) gets the session as a signed JWT in X-Authjs-Assertion, which verifies
against the authproxy-jwks handler's keys with a stock library (Python's
cryptography) and fails with one changed byte, a wrong aud, or after exp;
the client's own copies never arrive; a child signs once per visitor and
audience while the assertion is well inside its lifetime."""
import base64
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness import NODE, UPSTREAM_DIR, UPSTREAM_SECRET, Httpd, public_tempdir, tagged
from session_helpers import ALICE, session_cookie, tokens
from test_15_metrics import scrape, value

ONE_CHILD = """
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MinSpareThreads 1
MaxSpareThreads 8
MaxRequestWorkers 8
"""
SPOOFS = {"X-Authjs-Assertion": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0.",
          "x_authjs_assertion": "forged", "XAuthjs-Assertion": "forged"}


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def genpkey(directory, name, *args):
    path = os.path.join(directory, name)
    subprocess.run(["openssl", "genpkey", *args, "-out", path], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="module")
def keys():
    directory = public_tempdir("authproxy-keys-")
    made = {
        "ec": genpkey(directory, "ec.pem", "-algorithm", "EC",
                      "-pkeyopt", "ec_paramgen_curve:P-256"),
        "ed": genpkey(directory, "ed.pem", "-algorithm", "Ed25519"),
        "rsa": genpkey(directory, "rsa.pem", "-algorithm", "RSA",
                       "-pkeyopt", "rsa_keygen_bits:2048"),
        "p384": genpkey(directory, "p384.pem", "-algorithm", "EC",
                        "-pkeyopt", "ec_paramgen_curve:P-384"),
    }
    with open(os.path.join(directory, "junk.pem"), "w") as f:
        f.write("not a key\n")
    made["junk"] = os.path.join(directory, "junk.pem")
    made["missing"] = os.path.join(directory, "missing.pem")
    yield made
    shutil.rmtree(directory, ignore_errors=True)


def conf(upstream, key_line):
    return ONE_CHILD + """
        AuthProxyUpstream %(up)s
        AuthProxySecret %(secret)s
        %(keys)s
        <Location /backend/>
            AuthProxyAssertion On
            ProxyPass %(up)s/api/auth/__echo/
        </Location>
        <Location /aud/>
            AuthProxyAssertion On
            AuthProxyAssertionAudience https://api.example
            ProxyPass %(up)s/api/auth/__echo/
        </Location>
        <Location /plain/>
            ProxyPass %(up)s/api/auth/__echo/
        </Location>
        <Location /allowed/>
            AuthProxyAssertion On
            AuthProxyPublishClaims +accessToken
            ProxyPass %(up)s/api/auth/__echo/
        </Location>
        <Location /jwks>
            SetHandler authproxy-jwks
        </Location>
        <Location /metrics>
            SetHandler authproxy-metrics
        </Location>
    """ % {"up": upstream.origin, "secret": UPSTREAM_SECRET, "keys": key_line}


@pytest.fixture(scope="module")
def app(module_httpd_factory, upstream, keys):
    """EC P-256 first (signs), Ed25519 second (listed)."""
    return module_httpd_factory(conf(upstream, "AuthProxyAssertionKey %s %s"
                                     % (keys["ec"], keys["ed"])),
                                loglevel="warn authproxy:debug")


@pytest.fixture(scope="module")
def token():
    token, = tokens(dict(ALICE, role="admin"))
    return token


def jwks(h):
    status, headers, body = h.request("GET", "/jwks")
    assert status == 200, body
    return {k.lower(): v for k, v in headers}, json.loads(body)


def arrived(h, path, token=None, extra=None):
    headers = dict(extra or {})
    if token:
        headers["Cookie"] = session_cookie(token)
    status, _, body = h.request("GET", path, headers=headers)
    assert status == 200, body
    return json.loads(body)["headers"]


def public_key(jwk):
    if jwk["kty"] == "EC":
        assert jwk["crv"] == "P-256"
        return ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(jwk["x"]), "big"),
                                             int.from_bytes(b64d(jwk["y"]), "big"),
                                             ec.SECP256R1()).public_key()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    return ed25519.Ed25519PublicKey.from_public_bytes(b64d(jwk["x"]))


def verify(jws, key_set, audience, issuer, now=None):
    """The claims, as a backend's verifier checks them; raises when the
    signature, aud, iss or exp says no."""
    header_b64, payload_b64, sig_b64 = jws.split(".")
    header = json.loads(b64d(header_b64))
    jwk = next(k for k in key_set["keys"] if k["kid"] == header["kid"])
    assert header["alg"] == jwk["alg"]
    signed = (header_b64 + "." + payload_b64).encode()
    sig = b64d(sig_b64)
    key = public_key(jwk)
    if header["alg"] == "ES256":
        assert len(sig) == 64
        key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                        int.from_bytes(sig[32:], "big")),
                   signed, ec.ECDSA(hashes.SHA256()))
    else:
        assert header["alg"] == "EdDSA"
        key.verify(sig, signed)
    claims = json.loads(b64d(payload_b64))
    if claims["aud"] != audience:
        raise ValueError("wrong aud %s" % claims["aud"])
    if claims["iss"] != issuer:
        raise ValueError("wrong iss %s" % claims["iss"])
    if (time.time() if now is None else now) >= claims["exp"]:
        raise ValueError("expired")
    return claims


def thumbprint(jwk):
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("crv", "kty", "x")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64e(hashlib.sha256(canonical.encode()).digest())


def test_jwks_lists_both_keys_first_signs(app):
    headers, key_set = jwks(app)
    assert headers["content-type"].startswith("application/json")
    assert "max-age=" in headers["cache-control"]
    ec_jwk, ed_jwk = key_set["keys"]
    assert (ec_jwk["kty"], ec_jwk["crv"], ec_jwk["alg"]) == ("EC", "P-256", "ES256")
    assert len(b64d(ec_jwk["x"])) == 32 and len(b64d(ec_jwk["y"])) == 32
    assert (ed_jwk["kty"], ed_jwk["crv"], ed_jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert "d" not in ec_jwk and "d" not in ed_jwk
    for jwk in key_set["keys"]:
        assert jwk["kid"] == thumbprint(jwk) and jwk["use"] == "sig"


def test_jwks_is_get_only(app):
    status, headers, _ = app.request("POST", "/jwks", body=b"x")
    assert status == 405
    assert "GET" in {k.lower(): v for k, v in headers}["allow"]


def test_backend_gets_an_assertion_that_verifies(app, upstream, token):
    seen = arrived(app, "/backend/x", token, SPOOFS)
    assertions = [k for k in seen if k.replace("-", "").replace("_", "").lower()
                  == "xauthjsassertion"]
    assert assertions == ["x-authjs-assertion"], seen
    jws = seen["x-authjs-assertion"]
    assert "forged" not in jws and jws != SPOOFS["X-Authjs-Assertion"]
    _, key_set = jwks(app)
    header = json.loads(b64d(jws.split(".")[0]))
    assert header == {"alg": "ES256", "kid": key_set["keys"][0]["kid"], "typ": "JWT"}
    claims = verify(jws, key_set, upstream.origin, app.origin)
    assert claims["sub"] == ALICE["sub"] and claims["email"] == ALICE["email"]
    assert claims["name"] == ALICE["name"] and claims["role"] == "admin"
    assert 0 < claims["exp"] - claims["iat"] <= 60
    assert abs(claims["iat"] - time.time()) < 60


def test_credentials_follow_the_publish_filter(app, upstream):
    """An assertion carries what AuthProxyPublishClaims lets through there:
    the provider's tokens are withheld by default, nested ones too."""
    token, = tokens(dict(ALICE, accessToken="at-secret", refreshToken="rt-secret",
                         org={"name": "acme", "id_token": "nested-secret"}))
    _, key_set = jwks(app)
    claims = verify(arrived(app, "/backend/x", token)["x-authjs-assertion"], key_set,
                    upstream.origin, app.origin)
    assert "accessToken" not in claims and "refreshToken" not in claims
    assert claims["org"] == {"name": "acme"}
    claims = verify(arrived(app, "/allowed/x", token)["x-authjs-assertion"], key_set,
                    upstream.origin, app.origin)
    assert claims["accessToken"] == "at-secret" and "refreshToken" not in claims


JOSE_VERIFY = """
import { createLocalJWKSet, jwtVerify } from "jose";
const [jwks, jws, issuer, audience] = JSON.parse(process.argv[1]);
try {
  const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(jwks),
                                                       { issuer, audience });
  console.log(JSON.stringify({ ok: true, payload, alg: protectedHeader.alg }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, code: e.code }));
}
"""


def jose_verify(key_set, jws, issuer, audience):
    """What Node's jose (Auth.js's own JWT library) makes of the assertion."""
    out = subprocess.run([NODE, "--input-type=module", "-e", JOSE_VERIFY,
                          json.dumps([key_set, jws, issuer, audience])],
                         cwd=UPSTREAM_DIR, check=True, capture_output=True, timeout=60)
    return json.loads(out.stdout)


def test_node_jose_verifies(app, upstream, token):
    jws = arrived(app, "/backend/x", token)["x-authjs-assertion"]
    _, key_set = jwks(app)
    result = jose_verify(key_set, jws, app.origin, upstream.origin)
    assert result["ok"] and result["alg"] == "ES256", result
    assert result["payload"]["email"] == ALICE["email"]
    assert jose_verify(key_set, jws, app.origin, "https://other.example")["code"] \
        == "ERR_JWT_CLAIM_VALIDATION_FAILED"
    pieces = jws.split(".")
    pieces[2] = ("A" if pieces[2][0] != "A" else "B") + pieces[2][1:]
    assert jose_verify(key_set, ".".join(pieces), app.origin, upstream.origin)["code"] \
        == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"


def test_changed_byte_wrong_aud_and_expiry_fail(app, upstream, token):
    jws = arrived(app, "/backend/x", token)["x-authjs-assertion"]
    _, key_set = jwks(app)
    claims = verify(jws, key_set, upstream.origin, app.origin)
    for part in range(3):
        pieces = jws.split(".")
        raw = bytearray(b64d(pieces[part]))
        raw[len(raw) // 2] ^= 0x01
        pieces[part] = b64e(bytes(raw))
        with pytest.raises((InvalidSignature, ValueError, StopIteration, KeyError)):
            verify(".".join(pieces), key_set, upstream.origin, app.origin)
    with pytest.raises(ValueError, match="aud"):
        verify(jws, key_set, "https://other.example", app.origin)
    with pytest.raises(ValueError, match="expired"):
        verify(jws, key_set, upstream.origin, app.origin, now=claims["exp"])


def test_configured_audience(app, token):
    jws = arrived(app, "/aud/x", token)["x-authjs-assertion"]
    _, key_set = jwks(app)
    assert verify(jws, key_set, "https://api.example", app.origin)["email"] == ALICE["email"]


def test_one_signature_per_visitor_and_audience(app, token):
    first = arrived(app, "/backend/a", token)["x-authjs-assertion"]
    again = arrived(app, "/backend/b", token)["x-authjs-assertion"]
    other = arrived(app, "/aud/a", token)["x-authjs-assertion"]
    assert first == again
    assert other != first
    bob, = tokens({"email": "bob@example.com", "sub": "u-bob"})
    bobs = arrived(app, "/backend/a", bob)["x-authjs-assertion"]
    assert bobs != first
    assert len(tagged(app.error_log(), "AUTHPROXY083", "bob@example.com")) == 1


def test_no_assertion_anonymous_or_where_off(app, token):
    seen = arrived(app, "/backend/x", None, SPOOFS)
    assert not [k for k in seen if "assertion" in k.lower()], seen
    seen = arrived(app, "/plain/x", token, SPOOFS)
    assert not [k for k in seen if "assertion" in k.lower()], seen


def test_ed25519_signs_when_first(httpd_factory, upstream, keys, token):
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s\nAuthProxyAssertionKey %s"
                           % (keys["ed"], keys["ec"])))
    jws = arrived(h, "/backend/x", token)["x-authjs-assertion"]
    _, key_set = jwks(h)
    assert [k["kty"] for k in key_set["keys"]] == ["OKP", "EC"]
    assert json.loads(b64d(jws.split(".")[0]))["alg"] == "EdDSA"
    assert verify(jws, key_set, upstream.origin, h.origin)["sub"] == ALICE["sub"]
    result = jose_verify(key_set, jws, h.origin, upstream.origin)
    assert result["ok"] and result["alg"] == "EdDSA", result


def test_lifetime_is_configurable(httpd_factory, upstream, keys, token):
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s\nAuthProxyAssertionLifetime 2"
                           % keys["ec"]))
    jws = arrived(h, "/backend/x", token)["x-authjs-assertion"]
    _, key_set = jwks(h)
    claims = verify(jws, key_set, upstream.origin, h.origin)
    assert claims["exp"] - claims["iat"] == 2
    time.sleep(claims["exp"] - time.time() + 0.2)
    with pytest.raises(ValueError, match="expired"):
        verify(jws, key_set, upstream.origin, h.origin)
    assert arrived(h, "/backend/x", token)["x-authjs-assertion"] != jws


@pytest.mark.parametrize("which", ["rsa", "p384", "junk", "missing"])
def test_bad_key_stops_startup(upstream, keys, which):
    h = Httpd(conf(upstream, "AuthProxyAssertionKey %s" % keys[which]))
    rc, out = h.configtest()
    assert rc != 0
    assert tagged(out, "AUTHPROXY080", "AuthProxyAssertionKey", keys[which]), out
    with pytest.raises(RuntimeError) as err:
        h.start()
    assert tagged(str(err.value), "AUTHPROXY080", "AuthProxyAssertionKey",
                  keys[which]), err.value


def test_signatures_and_reuses_are_counted(httpd_factory, upstream, keys, token):
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]))
    for path in ("/backend/a", "/backend/b", "/backend/c", "/aud/a"):
        arrived(h, path, token)
    samples = scrape(h)
    vhost = "127.0.0.1:%d" % h.port
    assert value(samples, "authproxy_assertions_total", vhost, result="signed") == 2
    assert value(samples, "authproxy_assertions_total", vhost, result="reused") == 2
    assert value(samples, "authproxy_assertions_total", vhost, result="error") == 0


def test_assertion_without_key_stops_startup(upstream):
    """configtest names where AuthProxyAssertion On is and the key it lacks."""
    h = Httpd(conf(upstream, ""))
    rc, out = h.configtest()
    assert rc != 0
    assert tagged(out, "AUTHPROXY073", "AuthProxyAssertion", h.conf_path,
                  "AuthProxyAssertionKey"), out


def test_assertion_without_key_in_htaccess_is_500(httpd_factory, upstream, token):
    """.htaccess is read per request, after startup: there a request gets 500."""
    h = httpd_factory("""
        AuthProxyUpstream %(up)s
        AuthProxySecret %(secret)s
        LoadModule rewrite_module @MODULES@/mod_rewrite.so
        <Directory "@DIR@/htdocs/tenant">
            AllowOverride AuthConfig FileInfo
        </Directory>
        <Location /jwks>
            SetHandler authproxy-jwks
        </Location>
    """ % {"up": upstream.origin, "secret": UPSTREAM_SECRET})
    os.makedirs(os.path.join(h.dir, "htdocs", "tenant"), exist_ok=True)
    h.write("htdocs/tenant/.htaccess", "AuthProxyAssertion On\nRewriteEngine On\n"
            "RewriteRule ^ %s/api/auth/__echo/x [P]\n" % upstream.origin)
    h.expect_log("AUTHPROXY082")
    h.expect_log("AUTHPROXY085")
    status, _, _ = h.request("GET", "/tenant/x", headers={"Cookie": session_cookie(token)})
    assert status == 500
    assert h.tagged("AUTHPROXY082", "AuthProxyAssertionKey")
    status, _, _ = h.request("GET", "/jwks")
    assert status == 404


def test_never_valid_after_the_session(app, upstream):
    short, = tokens({"email": "carol@example.com", "sub": "u-carol"}, maxAge=20)
    jws = arrived(app, "/backend/x", short)["x-authjs-assertion"]
    _, key_set = jwks(app)
    claims = verify(jws, key_set, upstream.origin, app.origin)
    assert claims["exp"] - claims["iat"] <= 20


def test_rewrite_proxied_requests_get_one(httpd_factory, upstream, keys, token):
    """A RewriteRule's [P], in the server (translate_name) or a directory
    (fixups, before this module's last one), proxies as ProxyPass does."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        LoadModule rewrite_module @MODULES@/mod_rewrite.so
        RewriteEngine On
        RewriteRule ^/srw/(.*)$ %(up)s/api/auth/__echo/$1 [P]
        <Location /srw/>
            AuthProxyAssertion On
        </Location>
        <Location /drw/>
            AuthProxyAssertion On
            RewriteEngine On
            RewriteRule ^ %(up)s/api/auth/__echo/drw [P]
        </Location>
    """ % {"up": upstream.origin})
    _, key_set = jwks(h)
    for path in ("/srw/x", "/drw/x"):
        seen = arrived(h, path, token, SPOOFS)
        assert verify(seen["x-authjs-assertion"], key_set, upstream.origin,
                      h.origin)["sub"] == ALICE["sub"], path
        assert seen["x-authjs-assertion"] != SPOOFS["X-Authjs-Assertion"]


def test_php_fpm_through_sethandler_gets_one(httpd_factory, upstream, keys, token, php_fpm):
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        <FilesMatch "\\.php$">
            AuthProxyAssertion On
            SetHandler "proxy:fcgi://127.0.0.1:%d"
        </FilesMatch>
    """ % php_fpm.port)
    h.write("htdocs/assertion.php",
            "<?php echo $_SERVER['HTTP_X_AUTHJS_ASSERTION'] ?? '(none)';\n")
    status, _, body = h.request("GET", "/assertion.php",
                                headers={"Cookie": session_cookie(token),
                                         "X-Authjs-Assertion": "forged"})
    assert status == 200, body
    _, key_set = jwks(h)
    claims = verify(body.decode(), key_set, "fcgi://127.0.0.1:%d" % php_fpm.port, h.origin)
    assert claims["email"] == ALICE["email"]
    status, _, body = h.request("GET", "/assertion.php", headers={"X-Authjs-Assertion": "forged"})
    assert status == 200 and body == b"(none)", body


def test_audience_not_in_htaccess(httpd_factory, upstream, keys):
    """A tenant would have its visitors' assertions made out to another backend."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        <Directory "@DIR@/htdocs/tenant">
            AllowOverride AuthConfig FileInfo
        </Directory>
    """)
    os.makedirs(os.path.join(h.dir, "htdocs", "tenant"), exist_ok=True)
    h.write("htdocs/tenant/.htaccess", "AuthProxyAssertion On\n"
            "AuthProxyAssertionAudience https://billing.example\n")
    h.write("htdocs/tenant/page.html", "hello\n")
    h.expect_other_log("[core:alert]", "AuthProxyAssertionAudience not allowed here")
    status, _, _ = h.request("GET", "/tenant/page.html")
    assert status == 500
    assert "AuthProxyAssertionAudience not allowed here" in h.error_log()


def test_subrequest_gets_its_own_never_the_main_requests(httpd_factory, upstream, keys, token):
    """An SSI include in a proxied page is a subrequest, which starts with a
    copy of the main request's headers: the main request's assertion, made
    out to its backend, must not reach the included one's."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        LoadModule include_module @MODULES@/mod_include.so
        LoadModule filter_module @MODULES@/mod_filter.so
        <Location /ssi/>
            AuthProxyAssertion On
            Options +Includes
            SetOutputFilter INCLUDES
            ProxyPass %(up)s/api/auth/__echo/
        </Location>
    """ % {"up": upstream.origin})
    include = "<!--#include virtual='/aud/included' -->"
    status, _, body = h.request("GET", "/ssi/x", headers={"Cookie": session_cookie(token),
                                                          "X-Include": include})
    assert status == 200, body
    text = body.decode()
    assert text.count('{"method"') == 2, text
    included, _ = json.JSONDecoder().raw_decode(text, text.index('{"method"', 1))
    included = included["headers"]
    _, key_set = jwks(h)
    claims = verify(included["x-authjs-assertion"], key_set, "https://api.example", h.origin)
    assert claims["email"] == ALICE["email"]


def test_internal_redirect_gets_its_own(httpd_factory, upstream, keys, token):
    """The backend's 404, overridden by an ErrorDocument on another backend:
    the second backend gets an assertion made out to it, not the first's."""
    h = httpd_factory(conf(upstream, "AuthProxyAssertionKey %s" % keys["ec"]) + """
        <Location /override/>
            AuthProxyAssertion On
            ProxyErrorOverride On
            ErrorDocument 404 /aud/error
            ProxyPass %(up)s/api/auth/__echo/
        </Location>
    """ % {"up": upstream.origin})
    status, _, body = h.request("GET", "/override/x?status=404",
                                headers={"Cookie": session_cookie(token)})
    # the error document's own status: it is proxied too
    assert status in (200, 404), body
    seen = json.loads(body)
    assert seen["url"].endswith("/__echo/error"), seen
    _, key_set = jwks(h)
    claims = verify(seen["headers"]["x-authjs-assertion"], key_set, "https://api.example",
                    h.origin)
    assert claims["sub"] == ALICE["sub"]


def test_child_keeps_the_newest_when_full(app, upstream):
    """A child keeps 1024 to 2048 assertions: past 1024 the older half is
    still reused, while new ones are signed."""
    emails = ["user%d@example.com" % i for i in range(1100)]
    minted = tokens(*({"email": e, "sub": "id-" + e} for e in emails))
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    firsts = []
    for t in minted:
        conn.request("GET", "/aud/many", headers={"Cookie": session_cookie(t)})
        resp = conn.getresponse()
        firsts.append(json.loads(resp.read())["headers"]["x-authjs-assertion"])
    conn.request("GET", "/aud/many", headers={"Cookie": session_cookie(minted[0])})
    again = json.loads(conn.getresponse().read())["headers"]["x-authjs-assertion"]
    conn.close()
    assert len(set(firsts)) == len(emails)
    claims = json.loads(b64d(firsts[0].split(".")[1]))
    if time.time() - claims["iat"] < 25:
        assert again == firsts[0]
