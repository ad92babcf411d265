import os
import shutil

import pytest

from harness import MODULE_SO, Httpd, SilentServer, Upstream


def pytest_sessionstart(session):
    if not os.path.exists(MODULE_SO):
        raise pytest.UsageError("%s not built: run make first" % MODULE_SO)


@pytest.fixture(scope="session")
def upstream():
    """Plain @auth/core server honouring X-Forwarded-Host, routes at /api/auth."""
    up = Upstream("core", "/api/auth").start()
    yield up
    up.stop()


@pytest.fixture(scope="session")
def upstream_express():
    """@auth/express: learns its origin from Host only."""
    up = Upstream("express", "/api/auth").start()
    yield up
    up.stop()


@pytest.fixture(scope="session")
def upstream_auth_prefix():
    """@auth/core server whose Auth.js routes live at /auth."""
    up = Upstream("core", "/auth").start()
    yield up
    up.stop()


@pytest.fixture
def silent_upstream():
    srv = SilentServer()
    yield srv
    srv.stop()


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
    up = Upstream("core", "/api/auth", ["--strategy", "database"]).start()
    yield up
    up.stop()


@pytest.fixture(scope="session")
def php_fpm():
    from harness import PhpFpm
    fpm = PhpFpm().start()
    yield fpm
    fpm.stop()
