# SPDX-License-Identifier: Apache-2.0
import os
import shutil

import pytest

from faulty import FaultyUpstream
from harness import (MODULE_SO, SANITIZER_RUNTIMES, Httpd, PhpFpm, Upstream,
                     apache2ctl_wrapper, public_tempdir, serving, take_sanitizer_reports)


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


@pytest.fixture(autouse=True)
def no_sanitizer_report(apache2ctl_report_dir):
    """A test fails when a sanitizer report was written while it ran: by an
    httpd (made through httpd_factory or not; one it made and left running is
    stopped first) or by the apache2 of an apache2ctl."""
    first = len(Httpd.made)
    yield
    for h in Httpd.made[first:]:
        h.stop()
    reports = []
    for h in Httpd.made:
        h.take_sanitizer_reports()
        reports += h.sanitizer_reports
        h.sanitizer_reports = []
    Httpd.made[:] = [h for h in Httpd.made if h.proc]
    if apache2ctl_report_dir:
        reports += take_sanitizer_reports(apache2ctl_report_dir)
    if reports:
        pytest.fail("sanitizer reports:\n" + "\n".join(reports), pytrace=False)


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
    """Starts httpd instances for one test and stops (and cleans) them after."""
    started = []

    def make(conf, start=True, **kwargs):
        h = Httpd(conf, **kwargs)
        started.append(h)
        return h.start() if start else h

    yield make
    for h in started:
        h.stop()
        shutil.rmtree(h.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def upstream_db():
    """@auth/core server with the database session strategy (in-memory adapter)."""
    yield from serving(Upstream("core", "/api/auth", ["--strategy", "database"]).start())


@pytest.fixture(scope="session")
def php_fpm():
    yield from serving(PhpFpm().start())
