# SPDX-License-Identifier: Apache-2.0
"""Real processes for the integration tests: an Apache httpd with the built
module and a generated configuration, and the Node Auth.js upstream."""

import atexit
import glob
import http.client
import os
import pwd
import re
import resource
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
UPSTREAM_DIR = os.path.join(ROOT, "tests", "upstream")
# make check-integration passes the httpd and its module directory that
# configure found through apxs; run outside make (pytest by hand, bench/,
# scripts/demo.py) the harness falls back to Debian's apache2 and its modules.
APACHE2 = os.environ.get("MOD_AUTHPROXY_HTTPD") or shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = os.environ.get("MOD_AUTHPROXY_HTTPD_MODULES") or "/usr/lib/apache2/modules"
MODULE_SO = os.environ.get("MOD_AUTHPROXY_SO") or next(
    (p for p in (os.path.join(ROOT, "_build", "mod_authproxy.so"),
                 os.path.join(ROOT, "mod_authproxy.so")) if os.path.exists(p)),
    os.path.join(ROOT, "_build", "mod_authproxy.so"))
# scripts/setup-debian.sh fetches Node.js 20 into .tools/ where the system's is older
NODE = next((p for p in (os.path.join(ROOT, ".tools", "node", "bin", "node"),) if os.access(p, os.X_OK)),
            shutil.which("node") or "/usr/bin/node")
START_TIMEOUT = 15


def sanitizer_runtimes(module_so):
    """The sanitizer runtimes a build with --enable-sanitizers links the module
    to (gcc's libasan.so.N, libubsan.so.N), ASan's first; none for a plain build.
    httpd itself is not instrumented, so they must be preloaded into it."""
    if not os.path.exists(module_so):
        return []
    dynamic = subprocess.run(["readelf", "-d", module_so], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)
    return sorted((lib for lib in needed if lib.startswith(("libasan.", "libubsan."))),
                  key=lambda lib: not lib.startswith("libasan."))


SANITIZER_RUNTIMES = sanitizer_runtimes(MODULE_SO)
# How long httpd's children may take to start (Httpd.let_children_start).
CHILD_STARTUP = 0.6 if SANITIZER_RUNTIMES else 0.3


def sanitizer_env(report_dir):
    """What an apache2 process needs in a sanitizer build: the runtimes
    preloaded, and ASan's report of each process in its own file (asan.PID) in
    report_dir. UBSan cannot do the same: with libasan loaded too, gcc's
    libubsan ignores log_path (their common code is interposed) and reports
    on stderr, which is httpd's error log once that is open.
    No leak check: every httpd process would report at its exit what httpd
    itself never frees (compiled patterns, an APR allocator), and the keyrings'
    OpenSSL objects, which only APR pool memory points to, and LeakSanitizer
    does not scan that (mmap). httpd's own SIGSEGV handler (it dumps core and
    logs "exit signal") is kept from replacing ASan's, so that a crash leaves a
    report with its stack."""
    if not SANITIZER_RUNTIMES:
        return {}
    return {
        "LD_PRELOAD": " ".join(SANITIZER_RUNTIMES),
        "ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=0:allow_user_segv_handler=0" % report_dir,
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }


UBSAN_REPORT = re.compile(r"^.*: runtime error: .*\n(?:    #\d+ .*\n)*", re.M)


def ubsan_reports(text):
    """UBSan's reports in what a process wrote to stderr."""
    return UBSAN_REPORT.findall(text)


def take_sanitizer_reports(report_dir):
    """The reports written in report_dir, each headed by its file name; the
    files are removed, so none is taken twice."""
    try:
        names = sorted(os.listdir(report_dir))
    except FileNotFoundError:
        return []
    reports = []
    for name in names:
        path = os.path.join(report_dir, name)
        with open(path, errors="replace") as f:
            reports.append("%s:\n%s" % (path, f.read()))
        os.remove(path)
    return reports


def apache2ctl_wrapper(directory, report_dir):
    """An executable in directory that runs apache2 with sanitizer_env(report_dir),
    for apache2ctl, which starts apache2 itself (it honours APACHE_HTTPD). What
    apache2 writes to stderr is passed on once it exits, and kept in report_dir
    as ubsan.PID when it holds a UBSan report."""
    path = os.path.join(directory, "apache2")
    env = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sanitizer_env(report_dir).items())
    stderr = shlex.quote(report_dir) + '/stderr.$$'
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                'env %s %s "$@" 2>%s\n'
                "status=$?\n"
                "cat %s >&2\n"
                "if grep -q ': runtime error: ' %s; then mv %s %s/ubsan.$$; else rm %s; fi\n"
                "exit $status\n"
                % (env, shlex.quote(APACHE2), stderr, stderr, stderr, stderr,
                   shlex.quote(report_dir), stderr))
    os.chmod(path, 0o755)
    return path


def allow_core_dumps():
    """In httpd's process, before exec: a child that crashes dumps its core
    into CoreDumpDirectory, as large as the hard limit lets it."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(proc, timeout=10):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def public_tempdir(prefix):
    """A directory httpd's unprivileged workers can read (mkdtemp gives 0700)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def serving(server):
    """A fixture's body, as `yield from serving(server)`: yields the server
    (started already), and stops it when the fixture ends."""
    yield server
    server.stop()


def start_node(script, args, log):
    """Starts tests/upstream/<script> (server.mjs, peer.mjs), which prints
    "LISTENING <port>" once ready: (process, port). Its stderr goes to log."""
    proc = subprocess.Popen([NODE, os.path.join(UPSTREAM_DIR, script), "--port", "0", *args],
                            cwd=UPSTREAM_DIR, stdout=subprocess.PIPE, stderr=log)
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    if not line.startswith(b"LISTENING "):
        stop_process(proc)
        proc.stdout.close()
        log.seek(0)
        raise RuntimeError("%s did not start: %r %s" % (script, line,
                                                       log.read().decode(errors="replace")))
    return proc, int(line.split()[1])


class Upstream:
    """tests/upstream/server.mjs: @auth/express or a plain @auth/core server."""

    def __init__(self, kind="core", base_path="/api/auth", extra_args=(), tls=None,
                 log_path=None):
        """tls: (cert, key) PEM files to serve HTTPS as https://localhost:PORT.
        log_path: keep its log there (by default a temporary file, gone at stop)."""
        self.log_path = log_path
        self.kind = kind
        self.base_path = base_path
        self.args = ["--kind", kind, "--base-path", base_path, *extra_args]
        if tls:
            self.args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self.tls = tls
        self.proc = None
        self.port = None

    @property
    def origin(self):
        if self.tls:
            return "https://localhost:%d" % self.port
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        if not os.path.isdir(os.path.join(UPSTREAM_DIR, "node_modules")):
            raise RuntimeError("tests/upstream/node_modules is missing: run 'npm ci' there")
        # Auth.js writes an error to stderr for every bad token: a file, not a
        # pipe nobody reads, so it can never block the server.
        self.log = open(self.log_path, "w+b") if self.log_path else \
            tempfile.NamedTemporaryFile(prefix="authproxy-upstream-", suffix=".log")
        self.proc, self.port = start_node("server.mjs", self.args, self.log)
        return self

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.proc.stdout.close()
            self.log.close()

    def get_json(self, path, method="GET", body=None):
        import json
        if self.tls:
            import ssl
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, data, {"Content-Type": "application/json"} if data else {})
            return json.loads(conn.getresponse().read() or b"null")
        finally:
            conn.close()

    def session_calls(self):
        return self.get_json("/__stats")["session_calls"]

    def db_session(self, email, **fields):
        """A database session for the user `email` (--strategy database), made
        in the upstream's adapter: {"sessionToken", "expires"}; fields such as
        expiresIn (seconds) go with it."""
        return self.get_json("/__db/session", "POST", {"email": email, **fields})


def make_ca_and_cert(directory, name="localhost"):
    """A CA and a certificate for `name` signed by it: (ca.pem, cert.pem, key.pem)."""
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "server.key"), os.path.join(directory, "server.csr")
    cert, ext = os.path.join(directory, "server.pem"), os.path.join(directory, "san.ext")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=mod_authproxy test CA", "-keyout", ca_key, "-out", ca)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
        "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\n" % name)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", cert)
    for path in (ca, cert, key):
        os.chmod(path, 0o644)
    return ca, cert, key


UPSTREAM_SECRET = "test-secret-please-change-0123456789"


class Minter:
    """tests/upstream/mint.mjs kept running and asked line by line (it answers
    each line as it comes): a Node start, Auth.js's import, costs more than
    most tests' own work. One per process (each pytest worker), started at
    the first mint() and again when it has died."""

    def __init__(self):
        self.proc = None
        self.lock = threading.Lock()
        self.pending = b""

    def start(self):
        self.log = tempfile.TemporaryFile(prefix="authproxy-mint-")
        self.proc = subprocess.Popen([NODE, os.path.join(UPSTREAM_DIR, "mint.mjs")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.pending = b""
        atexit.register(self.stop, self.proc)

    @staticmethod
    def stop(proc):
        try:
            proc.stdin.close()   # at its end of input mint.mjs exits
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            stop_process(proc)
        proc.stdout.close()

    def ask(self, lines, timeout=60):
        """mint.mjs's answers to `lines` (one for each), as text."""
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            self.proc.stdin.write("".join(line + "\n" for line in lines).encode())
            self.proc.stdin.flush()
            deadline = time.monotonic() + timeout
            while self.pending.count(b"\n") < len(lines):
                ready, _, _ = select.select([self.proc.stdout], [], [],
                                            max(0.0, deadline - time.monotonic()))
                chunk = os.read(self.proc.stdout.fileno(), 65536) if ready else b""
                if not chunk:
                    proc, self.proc = self.proc, None
                    self.stop(proc)
                    self.log.seek(0)
                    raise RuntimeError("mint.mjs answered %d of %d lines: %s" % (
                        self.pending.count(b"\n"), len(lines),
                        self.log.read().decode(errors="replace")))
                self.pending += chunk
            out = self.pending.split(b"\n")
            self.pending = b"\n".join(out[len(lines):])
            return [o.decode() for o in out[:len(lines)]]


MINTER = Minter()


def mint(*requests):
    """Tokens minted by Auth.js's own encode() (tests/upstream/mint.mjs)."""
    import json
    out = MINTER.ask([json.dumps(r) for r in requests])
    assert len(out) == len(requests) and not any(o.startswith("ERROR") for o in out), out
    return out


def php_fpm_binary():
    """The newest /usr/sbin/php-fpm* (php-fpm8.2 on Debian 12), None where
    php-fpm is not installed."""
    found = sorted(glob.glob("/usr/sbin/php-fpm*"))
    return found[-1] if found else None


PHP_FPM_MISSING = "php-fpm is not installed (apt-get install php-fpm)"


class PhpFpm:
    """php-fpm serving FastCGI on a loopback port, as the app behind httpd."""

    def __init__(self):
        self.binary = php_fpm_binary()
        if not self.binary:
            raise RuntimeError(PHP_FPM_MISSING)
        self.dir = public_tempdir("authproxy-fpm-")
        self.port = free_port()
        user = "user = www-data\ngroup = www-data\n" if os.geteuid() == 0 else ""
        self.conf = os.path.join(self.dir, "php-fpm.conf")
        with open(self.conf, "w") as f:
            f.write("[global]\npid = %s/fpm.pid\nerror_log = %s/fpm.log\ndaemonize = no\n"
                    "[app]\n%slisten = 127.0.0.1:%d\npm = static\npm.max_children = 2\n"
                    % (self.dir, self.dir, user, self.port))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "-n", "-y", self.conf, "-F"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, self.proc):
            self.stop()
            raise RuntimeError("php-fpm did not start")
        return self

    def stop(self):
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


BASE_CONF = """\
ServerRoot "{dir}"
PidFile "{dir}/run/httpd.pid"
DefaultRuntimeDir "{dir}/run"
Mutex file:{dir}/run default
ErrorLog "{dir}/logs/error.log"
LogLevel {loglevel}
LogFormat "%h %u \\"%r\\" %>s" simple
CustomLog "{dir}/logs/access.log" simple
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
Timeout 30
# No child started behind a test's back: with httpd's defaults one busy
# thread (or process) is already below the spare minimum and the parent
# spawns another, which the stop at the test's end can catch in its first
# moments, where the event MPM crashes in its own code (TESTING.md). A test
# that wants more children says so.
<IfModule mpm_event_module>
    MinSpareThreads 1
</IfModule>
<IfModule mpm_worker_module>
    MinSpareThreads 1
</IfModule>
<IfModule mpm_prefork_module>
    MinSpareServers 1
</IfModule>
{user}
{core_dumps}
{modules}
LoadModule authproxy_module {module_so}
ScriptSock "{dir}/run/cgid.sock"
TypesConfig /etc/mime.types
DocumentRoot "{dir}/htdocs"
<Directory "{dir}/htdocs">
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "{dir}/cgi-bin/"
<Directory "{dir}/cgi-bin">
    Require all granted
</Directory>
"""

BASE_MODULES = ("authz_core", "authz_host", "authz_user", "authn_core", "mime", "dir", "alias",
                "cgid", "env", "headers")
# what the module needs where an upstream is set (proxy=False leaves them out)
PROXY_MODULES = ("proxy", "proxy_http", "proxy_fcgi", "socache_shmcb")


def load_modules(names):
    """LoadModule lines for httpd's modules of these names (mod_NAME.so)."""
    return "".join("LoadModule %s_module %s/mod_%s.so\n" % (name, MODULES, name)
                   for name in names)


ENV_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
env | sort
"""


# Error log lines that tell of a crash or of a failure the module logged: the
# test that made the httpd fails on each one it did not declare (expect_log).
LOG_ALARMS = re.compile(r"Segmentation fault|seg fault|exit signal|AddressSanitizer"
                        r"|\[[\w.-]+:(?:emerg|alert|crit)\]|\[authproxy:error\]")


def tagged(text, tag, *values):
    """The lines of `text` (an error log, configtest's output) that hold this
    module's message `tag` (AUTHPROXY028) and, after the tag, each of
    `values`: the tests match messages by their tags and the values they
    name, never by their wording."""
    found = []
    for line in text.splitlines():
        at = line.find(tag + ": ")
        if at >= 0 and all(value in line[at:] for value in values):
            found.append(line)
    return found


def vhost(name, directives, aliases=""):
    """A <VirtualHost> of the server's address for `name`, and for the
    ServerAlias names `aliases`, with `directives` in it."""
    alias = "ServerAlias %s\n" % aliases if aliases else ""
    return "<VirtualHost 127.0.0.1:@PORT@>\nServerName %s\n%s%s</VirtualHost>\n" % (
        name, alias, directives)


class Httpd:
    """A real Apache httpd with the module, on a free loopback port. In the
    configuration `conf` adds, @PORT@ stands for that port, @DIR@ for the
    server's folder and @MODULES@ for httpd's module directory."""

    # the instances not yet stopped, and those made by the running test:
    # after each test conftest stops the test's, checks them all and removes
    # the test's folders (unless it failed)
    made = []
    # a module's httpd (conftest.module_httpd_factory) on which a test
    # failed: its folder stays
    keep = False
    # made by conftest's module_httpd_factory: its module's tests share it
    module_shared = False

    def __init__(self, conf, proxy=True, loglevel="warn authproxy:debug", port=None,
                 mpm="event"):
        self.dir = public_tempdir("authproxy-httpd-")
        for sub in ("run", "logs", "htdocs", "cgi-bin", "sanitizer"):
            os.mkdir(os.path.join(self.dir, sub))
            os.chmod(os.path.join(self.dir, sub), 0o755)
        self.port = port or free_port()
        user = ""
        if os.geteuid() == 0:
            user = "User www-data\nGroup www-data"
            www = pwd.getpwnam("www-data")
            for sub in ("run", "sanitizer"):
                os.chown(os.path.join(self.dir, sub), www.pw_uid, www.pw_gid)
        self.write("htdocs/index.html", "<h1>app</h1>\n")
        self.write("cgi-bin/env.cgi", ENV_CGI, mode=0o755)
        # a crashed child leaves its core in the folder kept for reading (start()
        # lifts the limit); and UBSan reads its options when it first reports,
        # from /proc/self/environ, which a worker that has dropped to www-data
        # may read only if dumpable
        core_dumps = 'CoreDumpDirectory "%s/run"' % self.dir
        text = BASE_CONF.format(
            dir=self.dir, port=self.port, user=user, core_dumps=core_dumps, loglevel=loglevel,
            module_so=MODULE_SO, modules=load_modules(
                ("mpm_" + mpm,) + BASE_MODULES + (PROXY_MODULES if proxy else ())))
        self.conf_path = self.write("httpd.conf", text + textwrap.dedent(conf)
                                    .replace("@PORT@", str(self.port)).replace("@DIR@", self.dir)
                                    .replace("@MODULES@", MODULES))
        self.proc = None
        self.started = 0.0
        self.env = {"LANG": "C", "PATH": os.environ["PATH"],
                    **sanitizer_env(os.path.join(self.dir, "sanitizer"))}
        self.sanitizer_reports = []
        self.error_log_taken = 0
        self.expected_log = []
        self.error_log_checked = 0
        Httpd.made.append(self)

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.port

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.dir, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def configtest(self):
        res = subprocess.run([APACHE2, "-t", "-f", self.conf_path], capture_output=True,
                             text=True, timeout=30, env=self.env)
        self.take_sanitizer_reports(res.stdout + res.stderr)
        return res.returncode, res.stdout + res.stderr

    def take_sanitizer_reports(self, output=""):
        """Adds the sanitizer reports written since the last call to
        self.sanitizer_reports, which outlives self.dir: ASan's files, and UBSan's
        reports in the error log and in `output` (what httpd wrote before it)."""
        log = self.error_log()
        self.sanitizer_reports += (take_sanitizer_reports(os.path.join(self.dir, "sanitizer"))
                                   + ubsan_reports(log[self.error_log_taken:])
                                   + ubsan_reports(output))
        self.error_log_taken = len(log)

    def start(self):
        # its own process group: prefork signals the whole group when it stops
        self.proc = subprocess.Popen([APACHE2, "-f", self.conf_path, "-DFOREGROUND"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True,
                                     preexec_fn=allow_core_dumps)
        if not wait_for_port(self.port, self.proc):
            self.stop()
            raise RuntimeError("httpd did not start:\n" + self.output + self.error_log())
        self.started = time.monotonic()
        return self

    def let_children_start(self):
        """Waits until httpd's children have had CHILD_STARTUP to start. An
        event-MPM child stopped within its first ~100 ms sometimes crashes in
        httpd's own code (a core showed no frame of this module); the check
        of the error log would take that for the module's crash."""
        time.sleep(max(0.0, self.started + CHILD_STARTUP - time.monotonic()))

    def signal(self, signum, settle=START_TIMEOUT):
        """Sends httpd's parent a signal (SIGUSR1 graceful, SIGHUP restart) and
        waits until it serves again."""
        marker = self.error_log().count("resuming normal operations")
        self.let_children_start()
        self.proc.send_signal(signum)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            if self.error_log().count("resuming normal operations") > marker:
                self.started = time.monotonic()
                return wait_for_port(self.port, self.proc)
            time.sleep(0.1)
        raise RuntimeError("httpd did not restart:\n" + self.error_log())

    def stop(self):
        if self.proc:
            self.let_children_start()
            stop_process(self.proc)
            self.output = self.proc.stdout.read().decode(errors="replace")
            self.proc.stdout.close()
            self.proc = None
            self.take_sanitizer_reports(self.output)

    output = ""

    def log(self, name):
        """logs/<name>.log as written so far ("" before httpd opens it)."""
        try:
            with open(os.path.join(self.dir, "logs", name + ".log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def error_log(self):
        return self.log("error")

    def expect_log(self, tag, pattern="", level="error"):
        """Declares expected the error log lines of this module's message
        `tag` (README's Log messages: AUTHPROXY028) logged at `level`, with a
        match of the regular expression `pattern` after the tag: the check
        after the test (unexpected_log_lines) passes them over."""
        self.expected_log.append(re.compile(r"\[authproxy:%s\] .*\b%s: .*%s"
                                            % (level, re.escape(tag), pattern)))

    def expect_other_log(self, source, pattern=""):
        """The same for another module's lines, which carry no tag of this
        module's: `source` as the log writes it ("[socache_memcache:crit]")."""
        self.expected_log.append(re.compile(re.escape(source) + " .*" + pattern))

    def tagged(self, tag, *values):
        """The error log's lines of this module's message `tag` that hold
        each of `values` after the tag."""
        return tagged(self.error_log(), tag, *values)

    def core_backtraces(self):
        """The crashed children's cores in this folder, each with its stack
        where gdb is installed."""
        out = []
        for core in sorted(glob.glob(os.path.join(self.dir, "run", "core*"))):
            out.append("core dumped: " + core)
            if shutil.which("gdb"):
                res = subprocess.run(["gdb", "-batch", "-ex", "bt 30", APACHE2, core],
                                     capture_output=True, text=True, timeout=120)
                out += ["  " + line for line in res.stdout.splitlines()
                        if line.startswith("#")]
        return out

    def unexpected_log_lines(self):
        """The error log's whole lines written since the last call that match
        LOG_ALARMS and no expect_log() pattern."""
        log = self.error_log()
        end = max(log.rfind("\n") + 1, self.error_log_checked)
        lines = log[self.error_log_checked:end].splitlines()
        self.error_log_checked = end
        return [line for line in lines if LOG_ALARMS.search(line)
                and not any(p.search(line) for p in self.expected_log)]

    def error_lines(self, tag="[authproxy:error]"):
        """The error log's lines that hold `tag`."""
        return [line for line in self.error_log().splitlines() if tag in line]

    def wait_for_log(self, name, condition, timeout=5):
        """logs/<name>.log once `condition(text)` holds (or at the timeout)."""
        deadline = time.monotonic() + timeout
        text = self.log(name)
        while not condition(text) and time.monotonic() < deadline:
            time.sleep(0.05)
            text = self.log(name)
        return text

    def request(self, method, path, body=None, headers=None, host=None, timeout=30):
        """One request on a fresh connection; returns (status, headers list, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host or "127.0.0.1:%d" % self.port)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def raw(self, data, timeout=30):
        """Sends raw bytes, returns the raw answer (the server closes)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)


def child_pids(parent):
    """The processes whose parent is `parent` (httpd's children)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            # the field after the ")" of the command name is the state, then the parent
            if int(stat[stat.rindex(")") + 2:].split()[1]) == parent:
                found.append(int(pid))
        except (OSError, ValueError):
            continue
    return sorted(found)


def rss_kib(pid):
    """VmRSS of a process in KiB, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


def header(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    return values[0] if values else None


def on_origin(url, origin):
    """url is the origin itself or a path on it."""
    return url == origin or url.startswith(origin + "/") or url.startswith(origin + "?")


def header_all(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class Browser:
    """Just enough of a browser: a cookie jar per host, no redirects followed."""

    def __init__(self, httpd, host=None):
        self.httpd = httpd
        self.host = host
        self.cookies = {}

    def _store(self, headers):
        for value in header_all(headers, "Set-Cookie"):
            pair = value.split(";", 1)[0]
            name, _, val = pair.partition("=")
            attrs = value.lower()
            if val == "" or "max-age=0" in attrs or "expires=thu, 01 jan 1970" in attrs:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = val

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    def request(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = self.cookie_header()
        status, resp_headers, data = self.httpd.request(method, path, body, hdrs, host=self.host)
        self._store(resp_headers)
        return status, resp_headers, data

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post_form(self, path, fields, headers=None):
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), hdrs)

    def sign_out(self, prefix):
        """POST <prefix>/signout with a fresh CSRF token: (status, headers, body)."""
        import json
        status, _, body = self.get(prefix + "/csrf")
        assert status == 200, body
        return self.post_form(prefix + "/signout", {"csrfToken": json.loads(body)["csrfToken"]})

    def sign_in(self, prefix, email, password, headers=None):
        """POST <prefix>/callback/credentials with a fresh CSRF token, both
        requests with `headers`: (status, headers, body)."""
        import json
        status, _, body = self.get(prefix + "/csrf", headers=headers)
        assert status == 200, body
        token = json.loads(body)["csrfToken"]
        return self.post_form(prefix + "/callback/credentials",
                              {"csrfToken": token, "email": email, "password": password},
                              headers)
