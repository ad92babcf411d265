# SPDX-License-Identifier: Apache-2.0
"""What the tests do with Auth.js sessions, written once: the cookie's names,
tokens minted for it, a browser signed in through httpd, and the variables
that harness.ENV_CGI (/cgi-bin/env.cgi of every Httpd) sees."""

import http.client

from harness import UPSTREAM_SECRET, Browser, mint

COOKIE = "authjs.session-token"
# the name Auth.js gives it on an https origin
SECURE_COOKIE = "__Secure-" + COOKIE
# tests/upstream/users.mjs's first user, as a token's claims
ALICE = {"name": "Alice Example", "email": "alice@example.com", "sub": "u-alice"}


def session_cookie(token, name=COOKIE):
    """A Cookie header that carries `token` as the session cookie `name`."""
    return "%s=%s" % (name, token)


def token_request(payload, secret=UPSTREAM_SECRET, cookie=COOKIE, **options):
    """What harness.mint() takes for an Auth.js token of `payload` in the
    cookie named `cookie` (Auth.js salts the key with it); options are
    mint.mjs's own, such as maxAge."""
    return {"flavor": "authjs", "secret": secret, "salt": cookie, "payload": payload, **options}


def tokens(*payloads, **kwargs):
    """A token for each payload (token_request's keywords), minted by one Node
    process."""
    return mint(*(token_request(p, **kwargs) for p in payloads))


def tokens_for(*emails, **kwargs):
    """A token for each e-mail address, whose user id is id-<address>."""
    return tokens(*({"email": e, "sub": "id-" + e} for e in emails), **kwargs)


def token_for(email, **kwargs):
    token, = tokens_for(email, **kwargs)
    return token


def alice_token():
    token, = tokens(ALICE)
    return token


def tampered(token):
    """The token with its middle character changed."""
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


def signed_in(httpd, email="alice@example.com", password="alice-pw", host=None):
    """A harness.Browser signed in with the credentials provider through
    httpd's /api/auth: the session cookie is in its jar."""
    browser = Browser(httpd, host=host)
    status, _, _ = browser.sign_in("/api/auth", email, password)
    assert status in (302, 303) and COOKIE in browser.cookies, status
    return browser


def sign_out(httpd, token):
    """Signs the session `token` out through httpd's /api/auth/signout."""
    browser = Browser(httpd)
    browser.cookies[COOKIE] = token
    status, _, _ = browser.sign_out("/api/auth")
    assert status in (302, 303), status


def parse_env(body):
    """The variables in an answer of env.cgi (bytes), by name."""
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


def env_of(httpd, cookie=None, path="/cgi-bin/env.cgi", headers=None, host=None):
    """The variables env.cgi (or `path`) sees in a request with the Cookie
    header `cookie`, on a fresh connection; host: the Host header (with port)."""
    hdrs = dict(headers or {})
    if cookie:
        hdrs["Cookie"] = cookie
    status, _, body = httpd.request("GET", path, headers=hdrs, host=host)
    assert status == 200, body
    return parse_env(body)


def env_with(httpd, token, name=COOKIE, **kwargs):
    """env_of() with `token` as the session cookie `name`."""
    return env_of(httpd, session_cookie(token, name), **kwargs)


def authjs_vars(env):
    """The AUTHJS_* variables of env: none for an anonymous request."""
    return {k: v for k, v in env.items() if k.startswith("AUTHJS_")}


class Connection:
    """One kept-alive connection to httpd, asking env.cgi."""

    def __init__(self, httpd):
        self.conn = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=30)
        self.requests = 0

    def env(self, token=None, host=None):
        """What env.cgi sees with `token` as the session cookie (and `host` as
        the Host header); the connection must stay open."""
        headers = {"Cookie": session_cookie(token)} if token else {}
        if host:
            headers["Host"] = host
        self.conn.request("GET", "/cgi-bin/env.cgi", headers=headers)
        resp = self.conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        assert not resp.will_close
        self.requests += 1
        return parse_env(body)

    def email(self, token=None):
        return self.env(token).get("AUTHJS_USER_EMAIL")

    def close(self):
        self.conn.close()
