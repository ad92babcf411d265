#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Signs in to a running demo as a browser would (CSRF token, the
Credentials form, the session cookie) and checks that the demo's page and
its guarded /private/ page show the session. Usage: demo_sign_in.py PORT"""
import http.cookiejar
import json
import sys
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def main(port):
    base = "http://127.0.0.1:%d" % port
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    browser.addheaders = [("Accept", "text/html")]  # a navigation: sent to sign in

    def get(path):
        try:
            with browser.open(base + path, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    status, private = get("/private/")
    assert status == 302, "anonymous /private/: %d" % status
    csrf = json.loads(get("/api/auth/csrf")[1])["csrfToken"]
    form = urllib.parse.urlencode({"csrfToken": csrf, "email": "alice@example.com",
                                   "password": "alice-pw"}).encode()
    try:
        browser.open(base + "/api/auth/callback/credentials", form, timeout=30)
    except urllib.error.HTTPError as e:
        assert e.code in (302, 303), "sign-in answered %d" % e.code
    for path in ("/", "/private/"):
        status, page = get(path)
        assert status == 200 and "alice@example.com" in page, (path, status, page[:500])
    print("demo sign-in: alice@example.com sees her session on / and /private/")


if __name__ == "__main__":
    main(int(sys.argv[1]))
