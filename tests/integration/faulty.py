# SPDX-License-Identifier: Apache-2.0
"""A misbehaving upstream for the fault tests: a threaded TCP server on
loopback that reads each request and then answers badly, in one chosen mode
(switch() picks another for the connections that follow), whatever the path
(the forwarded routes and the module's own GET /session fetch alike).

Bounded: every loop checks the stop flag at least every POLL seconds and ends
at the connection's LIFETIME; stop() closes everything and joins the threads.
Each connection is recorded (request line, how and when it ended), so that a
test can see whether httpd let go of the upstream connection."""

import json
import select
import socket
import struct
import threading
import time

POLL = 0.2
LIFETIME = 120
# well inside the shortest AuthProxyTimeout the tests set (1 s): no gap of
# a drip is ever long enough for a per-read timeout, only a deadline ends it
DRIP_INTERVAL = 0.25
ENDLESS = 5 * 1024 ** 3   # the Content-Length of an endless body: 5 GiB

SESSION = {"user": {"name": "Faulty", "email": "faulty@example.com"},
           "expires": "2099-01-01T00:00:00.000Z"}
TRAP_PATH = "/trap/session"


def answer(body, status="200 OK", content_type="application/json", extra=b""):
    """A complete, well-formed HTTP/1.1 answer that closes the connection."""
    return (b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n"
            b"%s\r\n" % (status.encode(), content_type.encode(), len(body), extra) + body)


VALID = answer(json.dumps(SESSION).encode())

# Modes whose answer is a fixed byte string, sent at once, then closed.
FIXED = {
    # the control: the server itself can speak HTTP
    "valid": VALID,
    "json-truncated": answer(b'{"user":'),
    "json-array": answer(b"[]"),
    "json-string": answer(b'"x"'),
    "json-user-string": answer(b'{"user":"faulty@example.com"}'),
    "json-binary": answer(b'{"user":{"email":"\x00\xff\xfe' + bytes(range(256)) + b'"}}'),
    "json-deep": answer(b'{"user":' + b"[" * 30000 + b"]" * 30000 + b"}"),
    "not-http": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\nthis is not HTTP at all\r\n\r\n",
    "binary-status": bytes(range(256)) * 16,
    "huge-header-line": b"HTTP/1.1 200 OK\r\nX-Huge: " + b"a" * (4 * 1024 * 1024)
                        + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    "many-headers": b"HTTP/1.1 200 OK\r\n"
                    + b"".join(b"X-Many-%d: %d\r\n" % (i, i) for i in range(200000))
                    + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
}

# Partial answers followed by a reset (SO_LINGER 0).
RESET = {
    "reset-in-status": b"HTTP/1.1 20",
    "reset-in-headers": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Le",
    "reset-in-body": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n" + json.dumps(SESSION).encode()[:20],
}

REDIRECT = {
    # to a server that would answer a session, if the redirect were followed
    "redirect-302": "302 Found",
    "redirect-307": "307 Temporary Redirect",
    # to the very URL asked
    "redirect-loop": "302 Found",
}

# Partial answers followed by silence (the connection stays open).
STALL = {
    "stall-in-headers": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
    "stall-in-body": RESET["reset-in-body"],
}

MODES = sorted(["silent", "close-at-once", "close-after-request",
                "drip-head", "drip-headers", "drip-body",
                "endless-headers", "endless-length", "endless-chunked",
                *FIXED, *RESET, *STALL, *REDIRECT])
# A 200 status has left for the client before the body goes bad.
STREAMED = {"drip-body", "endless-length", "endless-chunked", "reset-in-body", "stall-in-body"}


class Connection:
    def __init__(self):
        self.accepted = time.monotonic()
        self.request_line = None
        self.ended = None


class Stopped(Exception):
    """The server stops, the connection's lifetime is over, or the peer left."""


class FaultyUpstream:
    def __init__(self, mode):
        self.lock = threading.Lock()
        self.switch(mode)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(POLL)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def switch(self, mode):
        """Answers the connections accepted from now on in `mode`, and
        forgets those before (a test that shares the server sees its own)."""
        if mode not in MODES:
            raise ValueError("unknown mode %r (one of %s)" % (mode, ", ".join(MODES)))
        self.mode = mode
        with self.lock:
            self.connections = []

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.stopped.set()
        self.acceptor.join(5)
        self.sock.close()
        for t in list(self.threads):
            t.join(5)

    def open_connections(self):
        with self.lock:
            return [c for c in self.connections if c.ended is None]

    def wait_until_all_ended(self, timeout):
        """True once every connection accepted so far has ended (within timeout)."""
        deadline = time.monotonic() + timeout
        while self.open_connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.open_connections()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:   # the POLL timeout, or the socket closed by stop()
                continue
            record = Connection()
            with self.lock:
                self.connections.append(record)
            t = threading.Thread(target=self._serve, args=(conn, record, self.mode), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn, record, mode):
        conn.setblocking(False)
        deadline = record.accepted + LIFETIME
        try:
            if mode != "close-at-once":
                record.request_line = self._read_request(conn, deadline)
            parts = (record.request_line or "").split(" ")
            self._misbehave(conn, mode, parts[1] if len(parts) > 1 else "/", deadline)
        except (Stopped, OSError):   # OSError: the peer reset the connection
            pass
        finally:
            record.ended = time.monotonic()
            conn.close()

    # -- the bounded primitives every mode is made of ---------------------

    def _check(self, deadline):
        if self.stopped.is_set() or time.monotonic() >= deadline:
            raise Stopped()

    def _read_request(self, conn, deadline):
        """Reads the head and a Content-Length body (bounded); the request line."""
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            data += self._recv(conn, deadline)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next((int(l.split(":", 1)[1]) for l in lines[1:]
                       if l.lower().startswith("content-length:")), 0)
        while len(body) < min(length, 1024 * 1024):
            body += self._recv(conn, deadline)
        return lines[0]

    def _recv(self, conn, deadline):
        while True:
            self._check(deadline)
            readable, _, _ = select.select([conn], [], [], POLL)
            if readable:
                chunk = conn.recv(65536)
                if not chunk:
                    raise Stopped()
                return chunk

    def _send(self, conn, data, deadline):
        view = memoryview(data)
        while view:
            self._check(deadline)
            _, writable, _ = select.select([], [conn], [], POLL)
            if writable:
                view = view[conn.send(view):]

    def _pause(self, seconds, deadline):
        if self.stopped.wait(seconds):
            raise Stopped()
        self._check(deadline)

    def _wait_for_peer_to_close(self, conn, deadline):
        while True:   # _recv raises once the peer closes, at stop() or at the lifetime
            self._recv(conn, deadline)

    # -- the modes --------------------------------------------------------

    def _misbehave(self, conn, mode, path, deadline):
        if path == TRAP_PATH:
            self._send(conn, VALID, deadline)
        elif mode == "silent":
            self._wait_for_peer_to_close(conn, deadline)
        elif mode in ("close-at-once", "close-after-request"):
            pass
        elif mode in FIXED:
            self._send(conn, FIXED[mode], deadline)
        elif mode in RESET:
            self._send(conn, RESET[mode], deadline)
            self._pause(0.3, deadline)   # httpd reads the part before the reset arrives
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode in STALL:
            self._send(conn, STALL[mode], deadline)
            self._wait_for_peer_to_close(conn, deadline)
        elif mode in REDIRECT:
            location = (self.origin + path if mode == "redirect-loop"
                        else "http://localhost:%d%s" % (self.port, TRAP_PATH))
            redirect = answer(b"", REDIRECT[mode], extra=b"Location: %s\r\n" % location.encode())
            self._send(conn, redirect, deadline)
        elif mode in ("drip-head", "drip-headers"):
            # long enough that the drip outlasts any test: ~1 KiB of head
            head = VALID.replace(b"Connection: close\r\n",
                                 b"Connection: close\r\nX-Pad: " + b"p" * 1000 + b"\r\n")
            if mode == "drip-headers":
                status_line, _, head = head.partition(b"\r\n")
                self._send(conn, status_line + b"\r\n", deadline)
            self._drip(conn, head, deadline)
        elif mode == "drip-body":
            body = json.dumps({**SESSION, "pad": "p" * 1000}).encode()
            head, _, _ = answer(body).partition(b"\r\n\r\n")
            self._send(conn, head + b"\r\n\r\n", deadline)
            self._drip(conn, body, deadline)
        elif mode == "endless-headers":
            # fast enough that no read ever waits, slow enough that httpd's
            # memory, which grows with every header it keeps, stays sane
            self._send(conn, b"HTTP/1.1 200 OK\r\n", deadline)
            while True:   # _send and _pause raise at stop() or at the lifetime
                self._send(conn, b"X-Endless: 0123456789\r\n" * 256, deadline)
                self._pause(0.1, deadline)
        elif mode == "endless-length":
            self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % ENDLESS, deadline)
            self._endless(conn, b" " * 65536, deadline)
        elif mode == "endless-chunked":
            self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n", deadline)
            self._endless(conn, b"10000\r\n" + b" " * 65536 + b"\r\n", deadline)

    def _drip(self, conn, data, deadline):
        for i in range(len(data)):
            self._send(conn, data[i:i + 1], deadline)
            self._pause(DRIP_INTERVAL, deadline)

    def _endless(self, conn, chunk, deadline):
        while True:   # _send raises at stop(), at the lifetime, or when the peer goes
            self._send(conn, chunk, deadline)

