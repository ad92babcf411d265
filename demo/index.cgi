#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Demo page: what the app behind mod_authproxy sees of the signed-in user."""
import html
import os

rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(k), html.escape(v))
               for k, v in sorted(os.environ.items()) if k.startswith("AUTHJS_") or k == "REMOTE_USER")
print("Content-Type: text/html; charset=utf-8\n")
print("""<!doctype html>
<html><head><title>mod_authproxy demo</title>
<style>body{font-family:sans-serif;max-width:46em;margin:2em auto}th{text-align:left;padding-right:1em}
pre{background:#f4f4f4;padding:1em}</style></head><body>
<h1>mod_authproxy demo</h1>
<p><a href="/api/auth/signin">Sign in</a> (alice@example.com / alice-pw or bob@example.org / bob-pw)
 &middot; <a href="/api/auth/signout">Sign out</a>
 &middot; <a href="/private/">A page for signed-in users only</a></p>
<h2>What this CGI script sees (subprocess environment)</h2>
<table>%s</table>
<h2>What the browser gets from <code>/api/auth/session</code> (forwarded to Auth.js)</h2>
<pre id="session">loading...</pre>
<script>
fetch("/api/auth/session").then(r => r.json()).then(s => {
  document.getElementById("session").textContent = JSON.stringify(s, null, 2);
});
</script>
</body></html>""" % (rows or "<tr><td>no session variables</td></tr>"))
