# SPDX-License-Identifier: Apache-2.0
"""Directives: what configtest accepts, what it refuses and why, startup checks."""
import os
import re
import shutil
import signal
import subprocess

import pytest

from harness import (APACHE2, MODULE_SO, MODULES, ROOT, START_TIMEOUT, Httpd, free_port,
                     public_tempdir, tagged)
from session_helpers import alice_token, env_with

GOOD = "AuthProxyUpstream http://127.0.0.1:9\n"


def configtest(conf, **kwargs):
    return Httpd(conf, **kwargs).configtest()


def test_minimal_config_is_accepted():
    rc, out = configtest(GOOD)
    assert rc == 0, out
    assert "Syntax OK" in out


def test_every_directive_is_accepted():
    rc, out = configtest("""
        AuthProxyUpstream https://auth.example.com:8443/
        AuthProxyLocalPath api/auth/
        AuthProxyTargetPath /
        AuthProxyHeader X-Api-Key "k 1"
        AuthProxyHeader Authorization "Bearer x"
        AuthProxyTimeout 3600
        AuthProxyPreserveHost On
        LoadModule ssl_module @MODULES@/mod_ssl.so
        <VirtualHost *:@PORT@>
            ServerName other.test
            AuthProxyUpstream http://localhost:3000
            AuthProxyTimeout 1
            AuthProxyPreserveHost Off
        </VirtualHost>
    """)
    assert rc == 0, out


@pytest.mark.parametrize("conf, message", [
    ("AuthProxyUpstream http://127.0.0.1:3000/auth",
     "AuthProxyUpstream: 'http://127.0.0.1:3000/auth' has the path '/auth'; give the origin "
     "only (scheme://host[:port]) and set the upstream prefix with AuthProxyTargetPath /auth"),
    ("AuthProxyUpstream ftp://127.0.0.1", "AuthProxyUpstream: 'ftp://127.0.0.1' has the scheme 'ftp'"),
    ("AuthProxyUpstream 127.0.0.1:3000", "AuthProxyUpstream: '127.0.0.1:3000'"),
    ("AuthProxyUpstream /relative", "AuthProxyUpstream: '/relative' is not an absolute"),
    ("AuthProxyUpstream http://user:pw@127.0.0.1", "carries credentials; send them with AuthProxyHeader"),
    ("AuthProxyUpstream http://127.0.0.1?x=1", "has a query or fragment"),
    ("AuthProxyUpstream http://127.0.0.1:0", "has an invalid port"),
    ("AuthProxyUpstream http://", "AuthProxyUpstream: 'http://'"),
    ("AuthProxyUpstream", "AuthProxyUpstream takes one argument"),
    ("AuthProxyLocalPath /api/../auth", "AuthProxyLocalPath: '/api/../auth' is not a plain URL path"),
    ("AuthProxyTargetPath /auth?x", "AuthProxyTargetPath: '/auth?x' is not a plain URL path"),
    ('AuthProxyTargetPath "/a b"', "AuthProxyTargetPath: '/a b' is not a plain URL path"),
    ('AuthProxyHeader "X Api" v', "AuthProxyHeader: 'X Api' is not a valid header name"),
    ("AuthProxyHeader X-Api: v", "AuthProxyHeader: 'X-Api:' is not a valid header name"),
    ('AuthProxyHeader X-Api "a\rb"', "AuthProxyHeader X-Api: the value holds a control character"),
    ('AuthProxyHeader X-Api "a\x01b"', "AuthProxyHeader X-Api: the value holds a control character"),
    ("AuthProxyHeader Host h", "AuthProxyHeader: the header 'Host' describes the connection"),
    ("AuthProxyHeader content-length 5", "AuthProxyHeader: the header 'content-length'"),
    ("AuthProxyHeader X-Only", "AuthProxyHeader takes two arguments"),
    ("AuthProxyTimeout abc", "AuthProxyTimeout: 'abc' is not a whole number of seconds from 1 to 3600"),
    ("AuthProxyTimeout 0", "AuthProxyTimeout: '0' is not a whole number"),
    ("AuthProxyTimeout -5", "AuthProxyTimeout: '-5' is not a whole number"),
    ("AuthProxyTimeout 3601", "AuthProxyTimeout: '3601' is not a whole number"),
    ("AuthProxyTimeout 5s", "AuthProxyTimeout: '5s' is not a whole number"),
    ("AuthProxyPreserveHost maybe", "AuthProxyPreserveHost must be On or Off"),
    ("<Location /x>\nAuthProxyUpstream http://127.0.0.1\n</Location>",
     "AuthProxyUpstream not allowed in <Location> context"),
])
def test_bad_directive_is_refused_with_its_name(conf, message):
    rc, out = configtest(GOOD + conf + "\n")
    assert rc != 0, out
    assert message in out, out


def test_missing_mod_proxy_fails_configtest_and_startup():
    h = Httpd(GOOD, proxy=False)
    rc, out = h.configtest()
    assert rc != 0
    assert tagged(out, "AUTHPROXY005", "mod_proxy.c", "'a2enmod proxy'"), out
    with pytest.raises(RuntimeError) as err:
        h.start()
    assert tagged(str(err.value), "AUTHPROXY005", "'a2enmod proxy'"), err.value


def test_missing_mod_proxy_http_is_named():
    h = Httpd(GOOD + "LoadModule proxy_module @MODULES@/mod_proxy.so\n", proxy=False)
    rc, out = h.configtest()
    assert rc != 0
    assert tagged(out, "AUTHPROXY005", "mod_proxy_http.c", "'a2enmod proxy_http'"), out


def test_https_upstream_needs_mod_ssl():
    rc, out = configtest("AuthProxyUpstream https://auth.example.com\n")
    assert rc != 0
    assert tagged(out, "AUTHPROXY005", "mod_ssl.c", "'a2enmod ssl'"), out


def test_without_upstream_the_module_stays_quiet():
    rc, out = configtest("AuthProxyLocalPath /auth\n", proxy=False)
    assert rc == 0, out


def test_plaintext_upstream_off_loopback_warns():
    rc, out = configtest("AuthProxyUpstream http://auth.example.com\n")
    assert rc == 0, out
    assert tagged(out, "AUTHPROXY008", "http://auth.example.com"), out
    rc, out = configtest("AuthProxyUpstream http://localhost:3000\n")
    assert not tagged(out, "AUTHPROXY008"), out



CACHE_MODULES = ("LoadModule socache_memcache_module @MODULES@/mod_socache_memcache.so\n"
                 "LoadModule socache_redis_module @MODULES@/mod_socache_redis.so\n"
                 "LoadModule socache_dbm_module @MODULES@/mod_socache_dbm.so\n")


@pytest.mark.parametrize("setting, tag, why", [
    # refused by the provider's create(), which says why
    ("memcache:", "AUTHPROXY031", "List of server names required"),
    ("redis:", "AUTHPROXY031", "List of server names required"),
    ("shmcb:/x(100)", "AUTHPROXY031", "size has to be >= 8192 bytes"),
    ("shmcb:relative(abc)", "AUTHPROXY031", "cache size not numerical"),
    # by its init(), after the provider's own line
    ("memcache::11211", "AUTHPROXY033", ""),
    ("nosuch", "AUTHPROXY034", "'a2enmod socache_nosuch'"),
    # dbm's init() is not run (it would touch a running server's file): its directory is checked
    ("dbm:/nonexistent-dir/x", "AUTHPROXY032", ""),
])
def test_configtest_refuses_a_cache_setting_that_startup_would(setting, tag, why):
    h = Httpd(CACHE_MODULES + GOOD + "AuthProxySessionCache %s\n" % setting)
    said = ("AuthProxySessionCache %s" % setting, why)
    rc, out = h.configtest()
    assert rc != 0 and tagged(out, tag, *said), out
    with pytest.raises(RuntimeError) as err:
        h.start()
    assert tagged(str(err.value), tag, *said), err.value


@pytest.mark.parametrize("setting", ["shmcb", "shmcb:@DIR@/run/c(512000)", "dbm:@DIR@/run/c",
                                     "memcache:127.0.0.1:11211", "redis:127.0.0.1:6379"])
def test_configtest_accepts_a_good_cache_setting_without_its_server(setting):
    """memcached and redis need not run: nothing connects at configtest."""
    rc, out = configtest(CACHE_MODULES + GOOD + "AuthProxySessionCache %s\n" % setting)
    assert rc == 0, out


def test_a_cache_setting_is_checked_only_where_startup_uses_it():
    """Local decoding needs no cache, unless it refreshes sessions."""
    decodes = GOOD + "AuthProxySecret s-0123456789abcdef0123456789\nAuthProxySessionCache memcache:\n"
    rc, out = configtest(CACHE_MODULES + decodes)
    assert rc == 0, out
    rc, out = configtest(CACHE_MODULES + decodes + "AuthProxySessionRefresh 600\n")
    assert rc != 0 and "AuthProxySessionCache memcache::" in out, out


def test_configtest_beside_a_running_server_leaves_its_cache_alone(httpd_factory, upstream):
    """configtest runs shmcb's init() beside the running server (an anonymous
    segment of its own), which keeps its cached answers."""
    h = httpd_factory("AuthProxyUpstream %s\nAuthProxySessionCache shmcb:@DIR@/run/c(512000)\n"
                      % upstream.origin)
    token = alice_token()
    assert env_with(h, token)["AUTHJS_SESSION_SOURCE"] == "upstream"
    assert h.configtest()[0] == 0
    assert env_with(h, token)["AUTHJS_SESSION_SOURCE"] == "cache"


def test_a_graceful_restart_into_a_bad_cache_setting(httpd_factory):
    """apache2 -k graceful checks the configuration before it signals (and
    apache2ctl graceful, systemctl reload run configtest first): refused
    there, the server goes on with the configuration it has. A bare SIGUSR1
    makes httpd read the new one, fail its check and exit, as httpd does
    with any configuration that fails."""
    h = httpd_factory(GOOD)
    # httpd listens before its second read of the configuration: that one first
    h.wait_for_log("error", lambda text: "resuming normal operations" in text)
    with open(h.conf_path) as f:
        text = f.read()
    with open(h.conf_path, "w") as f:
        f.write(text + "AuthProxySessionCache shmcb:/x(100)\n")
    refused = ("AuthProxySessionCache shmcb:/x(100)", "size has to be >= 8192")
    rc, out = h.configtest()
    assert rc != 0 and tagged(out, "AUTHPROXY031", *refused), out
    res = subprocess.run([APACHE2, "-f", h.conf_path, "-k", "graceful"], capture_output=True,
                         text=True, timeout=30, env=h.env)
    assert res.returncode != 0 and tagged(res.stdout + res.stderr, "AUTHPROXY031", *refused)
    h.let_children_start()
    assert h.request("GET", "/")[0] == 200
    assert "SIGUSR1" not in h.error_log()

    h.expect_log("AUTHPROXY031", re.escape(refused[0]), level="emerg")
    h.proc.send_signal(signal.SIGUSR1)
    assert h.proc.wait(START_TIMEOUT) != 0
    assert "Configuration check failed, exiting" in h.error_log()

def test_a2enmod_enables_dependencies_on_debian_layout():
    """make install into a copy of /etc/apache2, then a2enmod and apache2ctl configtest."""
    if not shutil.which("a2enmod") or not os.path.isdir("/etc/apache2/mods-available"):
        pytest.skip("not a Debian Apache layout")
    builddir = os.environ.get("MOD_AUTHPROXY_BUILDDIR", os.path.dirname(MODULE_SO))
    tmp = public_tempdir("authproxy-install-")
    try:
        dest = os.path.join(tmp, "dest")
        subprocess.run(["make", "-s", "-C", builddir, "install", "DESTDIR=" + dest],
                       check=True, capture_output=True, timeout=120)
        modfile = dest + MODULES + "/mod_authproxy.so"
        assert os.path.exists(modfile)
        assert not os.path.exists(dest + MODULES + "/mod_authproxy.la")
        with open(dest + "/etc/apache2/mods-available/authproxy.load") as f:
            load = f.read()
        assert "# Depends: proxy proxy_http socache_shmcb" in load
        assert "LoadModule authproxy_module %s/mod_authproxy.so" % MODULES in load

        confdir = os.path.join(tmp, "apache2")
        shutil.copytree("/etc/apache2", confdir, symlinks=True)
        for name in ("authproxy.load", "authproxy.conf"):
            shutil.copy(dest + "/etc/apache2/mods-available/" + name,
                        confdir + "/mods-available/" + name)
        with open(confdir + "/mods-available/authproxy.load", "w") as f:
            f.write(load.replace(MODULES + "/mod_authproxy.so", modfile))
        for mod in ("proxy", "proxy_http", "socache_shmcb"):
            link = os.path.join(confdir, "mods-enabled", mod + ".load")
            if os.path.lexists(link):
                os.unlink(link)
        with open(confdir + "/sites-available/authproxy-test.conf", "w") as f:
            f.write("<VirtualHost *:80>\n  ServerName app.test\n"
                    "  AuthProxyUpstream http://127.0.0.1:3000\n</VirtualHost>\n")
        env = dict(os.environ, APACHE_CONFDIR=confdir, LANG="C")
        res = subprocess.run(["a2enmod", "authproxy"], env=env, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        assert os.path.exists(confdir + "/mods-enabled/proxy.load")
        assert os.path.exists(confdir + "/mods-enabled/proxy_http.load")
        assert os.path.exists(confdir + "/mods-enabled/socache_shmcb.load")
        subprocess.run(["a2ensite", "authproxy-test"], env=env, check=True,
                       capture_output=True, timeout=60)
        res = subprocess.run(["apache2ctl", "configtest"], env=env, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Syntax OK" in res.stdout + res.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("name", sorted(os.listdir(os.path.join(ROOT, "conf-examples"))))
def test_conf_examples_pass_configtest(name):
    """Every example in conf-examples/ is valid httpd configuration."""
    tmp = public_tempdir("authproxy-example-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=app.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        with open(os.path.join(ROOT, "conf-examples", name)) as f:
            example = f.read()
        example = re.sub(r"SSLCertificateFile\s+\S+", "SSLCertificateFile " + cert, example)
        example = re.sub(r"SSLCertificateKeyFile\s+\S+", "SSLCertificateKeyFile " + key, example)
        secret = os.path.join(tmp, "authjs.secret")
        with open(secret, "w") as f:
            f.write("an-example-secret-0123456789abcdef\n")
        example = re.sub(r"file:\S+", "file:" + secret, example)
        example = re.sub(r"\*:(443|80|8080)>", "*:@PORT@>", example)
        # a second port of the example's own, on a free one
        example = re.sub(r"(Listen |\*:)9180", r"\g<1>%d" % free_port(), example)
        rc, out = configtest("LoadModule ssl_module @MODULES@/mod_ssl.so\n"
                             "LoadModule cgi_module @MODULES@/mod_cgi.so\n"
                             "LoadModule status_module @MODULES@/mod_status.so\n"
                             "LoadModule remoteip_module @MODULES@/mod_remoteip.so\n"
                             + example)
        assert rc == 0, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_version_of_configure_ac_is_logged_once_at_startup(httpd_factory):
    with open(os.path.join(ROOT, "configure.ac")) as f:
        version = re.search(r"AC_INIT\(\[mod_authproxy\], \[([^]]+)\]", f.read()).group(1)
    h = httpd_factory("")
    log = h.wait_for_log("error", lambda text: "resuming normal operations" in text)
    assert len(tagged(log, "AUTHPROXY010", version)) == 1, log

