# SPDX-License-Identifier: Apache-2.0
import os
import shutil

import pytest

from faulty import FaultyUpstream
from harness import (MODULE_SO, PHP_FPM_MISSING, SANITIZER_RUNTIMES, Httpd, PhpFpm, Upstream,
                     apache2ctl_wrapper, php_fpm_binary, public_tempdir, serving,
                     take_sanitizer_reports)
from test_06_cache import CacheServer


def pytest_sessionstart(session):
    if not os.path.exists(MODULE_SO):
        raise pytest.UsageError("%s not built: run make first" % MODULE_SO)


@pytest.fixture(scope="session")
def apache2ctl_report_dir():
    """In a sanitizer build, where the apache2 that apache2ctl starts (test_01's
    a2enmod check) writes its reports: APACHE_HTTPD points apache2ctl at a wrapper
    that preloads the runtimes. None in a plain build."""
    if not SANITIZER_RUNTIMES:
        yield None
        return
    directory = public_tempdir("authproxy-apache2ctl-")
    report_dir = os.path.join(directory, "sanitizer")
    os.mkdir(report_dir)
    os.environ["APACHE_HTTPD"] = apache2ctl_wrapper(directory, report_dir)
    yield report_dir
    del os.environ["APACHE_HTTPD"]
    shutil.rmtree(directory, ignore_errors=True)


# where in Httpd.made the running test's instances begin, the modules' httpds
# it runs beside, and its phases' reports
FIRST_HTTPD = pytest.StashKey[int]()
SHARED_HTTPDS = pytest.StashKey[list]()
REPORTS = pytest.StashKey[dict]()


def httpds_of(item):
    """The Httpd instances the test `item` made: not a module's, which a test
    may make in its body (request.getfixturevalue, as a parametrized test
    asks for one of several) and which must outlive it."""
    made = Httpd.made[item.stash[FIRST_HTTPD]:] if FIRST_HTTPD in item.stash else []
    return [h for h in made if not h.module_shared]


def kept(httpds):
    return "httpd folders kept for reading:\n" + "".join("  %s\n" % h.dir for h in httpds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report for checked_httpds; a failed setup or test
    names the folders of its httpds and of the modules' httpds it ran beside
    (module_httpd_factory), which are kept."""
    report = (yield).get_result()
    item.stash.setdefault(REPORTS, {})[report.when] = report
    httpds = item.stash.get(SHARED_HTTPDS, []) + httpds_of(item)
    if report.failed and report.when in ("setup", "call") and httpds:
        for h in httpds:
            h.keep = True
        report.sections.append(("httpd", kept(httpds)))


def httpd_problems(httpds, report_dir=None):
    """The sanitizer reports of these httpds (and those in report_dir) and
    their unexpected error log lines (harness.LOG_ALARMS, not declared with
    Httpd.expect_log) since the last look, with the stacks of any cores."""
    reports = []
    for h in httpds:
        h.take_sanitizer_reports()
        reports += h.sanitizer_reports
        h.sanitizer_reports = []
    if report_dir:
        reports += take_sanitizer_reports(report_dir)
    if reports:
        reports.insert(0, "sanitizer reports:")
    for h in httpds:
        lines = h.unexpected_log_lines()
        if lines:
            reports.append("unexpected lines in %s/logs/error.log:\n%s"
                           % (h.dir, "\n".join("  " + line for line in lines)))
            reports += h.core_backtraces()
    return reports


@pytest.fixture(autouse=True)
def checked_httpds(request, apache2ctl_report_dir):
    """After each test, the httpds it made (through httpd_factory or not) are
    stopped and checked, and their folders removed unless it failed. It fails
    when a sanitizer report was written while it ran, by an httpd or by the
    apache2 of an apache2ctl, and when an httpd's error log got a line of
    harness.LOG_ALARMS (a crash, an [authproxy:error]) that the test did not
    declare with Httpd.expect_log(). A module's httpd (module_httpd_factory) is
    checked the same way after each of its tests, and what a test declared
    expected on it ends with the test."""
    # a module's httpds are made before this, in its first test's setup
    shared = [h for h in Httpd.made if h.proc]
    declared = [len(h.expected_log) for h in shared]
    request.node.stash[SHARED_HTTPDS] = shared
    request.node.stash[FIRST_HTTPD] = len(Httpd.made)
    yield
    mine = httpds_of(request.node)
    for h in mine:
        h.stop()
    reports = httpd_problems(Httpd.made, apache2ctl_report_dir)
    for h, n in zip(shared, declared):
        del h.expected_log[n:]
    Httpd.made[:] = [h for h in Httpd.made if h.proc]
    if not reports and not any(r.failed for r in request.node.stash[REPORTS].values()):
        for h in mine:
            shutil.rmtree(h.dir, ignore_errors=True)
    if reports:
        for h in shared:
            h.keep = True
        pytest.fail("\n".join(reports) + ("\n" + kept(shared + mine) if shared + mine else ""),
                    pytrace=False)


@pytest.fixture(scope="module")
def module_httpd_factory():
    """Makes httpds for a module-scoped fixture, started unless start=False:
    one is shared by those of the module's tests that ask for it on this
    pytest worker, so that they do not pay for an httpd each; none of them
    may leave anything behind that another would see. checked_httpds checks
    it after each of them as it checks a test's own; after the module's last
    test it is stopped and checked once more, and its folder removed unless a
    test on it failed."""
    made = []

    def make(conf, start=True, **kwargs):
        h = Httpd(conf, **kwargs)
        h.module_shared = True
        made.append(h)
        return h.start() if start else h

    yield make
    for h in made:
        h.stop()
        if h in Httpd.made:
            Httpd.made.remove(h)
    reports = httpd_problems(made)
    if reports:
        pytest.fail("at the stop of the module's httpds:\n" + "\n".join(reports) + "\n"
                    + kept(made), pytrace=False)
    for h in made:
        if not h.keep:
            shutil.rmtree(h.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def upstream():
    """Plain @auth/core server honouring X-Forwarded-Host, routes at /api/auth."""
    yield from serving(Upstream("core", "/api/auth").start())


@pytest.fixture(scope="session")
def upstream_express():
    """@auth/express: learns its origin from Host only."""
    yield from serving(Upstream("express", "/api/auth").start())


@pytest.fixture(scope="session")
def upstream_auth_prefix():
    """@auth/core server whose Auth.js routes live at /auth."""
    yield from serving(Upstream("core", "/auth").start())


@pytest.fixture
def silent_upstream():
    """Accepts connections and never answers: an upstream that hangs."""
    yield from serving(FaultyUpstream("silent"))


@pytest.fixture
def httpd_factory():
    """Makes httpd instances for one test, started unless start=False; like
    every Httpd a test makes, checked_httpds stops and cleans them after it."""
    def make(conf, start=True, **kwargs):
        h = Httpd(conf, **kwargs)
        return h.start() if start else h

    return make


@pytest.fixture(scope="session")
def upstream_db():
    """@auth/core server with the database session strategy (in-memory adapter)."""
    yield from serving(Upstream("core", "/api/auth", ["--strategy", "database"]).start())


@pytest.fixture
def memcached():
    """A memcached of the test's own, for servers that share a cache."""
    if not shutil.which("memcached"):
        pytest.skip("memcached is not installed")
    mc = CacheServer("memcache")
    yield mc
    mc.stop()


@pytest.fixture(scope="session")
def php_fpm():
    """php-fpm as the app behind httpd; where it is not installed (an optional
    tool, as memcached and redis-server are), the tests that use it are skipped
    with the reason, not failed."""
    if not php_fpm_binary():
        pytest.skip(PHP_FPM_MISSING)
    yield from serving(PhpFpm().start())
