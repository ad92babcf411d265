# SPDX-License-Identifier: Apache-2.0
"""The unit tests' golden tokens (tests/unit/tokens.golden) held to Auth.js:
its own decode(), with the clock where they were minted, reads what the C
decoder is tested to read, and refuses what it is tested to refuse."""
import json
import os
import subprocess

from harness import NODE, UPSTREAM_DIR
from session_helpers import COOKIE, SECURE_COOKIE

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "unit", "tokens.golden")
SECRET = "first-secret-0123456789abcdefghijklmnop"
OLD_SECRET = "older-secret-0123456789abcdefghijklmnop"


def golden():
    now, tokens = None, {}
    with open(GOLDEN) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.split()
            if name == "now":
                now = int(value)
            else:
                tokens[name] = value
    return now, tokens


def authjs_decode(requests):
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    res = subprocess.run([NODE, os.path.join(UPSTREAM_DIR, "mint.mjs")], input=lines,
                         capture_output=True, text=True, timeout=60, check=True)
    return res.stdout.splitlines()


# name: (secret, salt, flavor, email Auth.js reads, or None where it refuses)
CASES = {
    "cbc": (SECRET, COOKIE, None, "alice@example.com"),
    "gcm": (SECRET, COOKIE, None, "alice@example.com"),
    "v4": (SECRET, COOKIE, "nextauth-v4", "alice@example.com"),
    "old_cbc": (OLD_SECRET, COOKIE, None, "alice@example.com"),
    "old_gcm": (OLD_SECRET, COOKIE, None, "alice@example.com"),
    "secure": (SECRET, SECURE_COOKIE, None, "alice@example.com"),
    "expired_in_tolerance": (SECRET, COOKIE, None, "alice@example.com"),
    "nbf_in_tolerance": (SECRET, COOKIE, None, "alice@example.com"),
    "big": (SECRET, COOKIE, None, "big@example.com"),
    "sub_object": (SECRET, COOKIE, None, "a@x"),
    "name_null": (SECRET, COOKIE, None, "a@x"),
    "expired": (SECRET, COOKIE, None, None),
    "nbf_future": (SECRET, COOKIE, None, None),
    "foreign": (SECRET, COOKIE, None, None),
}


def test_golden_tokens_read_as_auth_js_reads_them():
    now, tokens = golden()
    names = sorted(CASES)
    requests = []
    for name in names:
        secret, salt, flavor, _ = CASES[name]
        request = {"op": "decode", "token": tokens[name], "secret": secret, "salt": salt,
                   "now": now}
        if flavor:
            request["flavor"] = flavor
        requests.append(request)
    for name, answer in zip(names, authjs_decode(requests)):
        email = CASES[name][3]
        if email is None:
            assert answer.startswith("ERROR"), (name, answer)
        else:
            assert not answer.startswith("ERROR"), (name, answer)
            assert json.loads(answer)["email"] == email, name
