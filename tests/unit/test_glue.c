/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the httpd glue (src/authproxy_*.c), run through the module's
 * own record and registration on a fake httpd (fake_httpd.c): directives and
 * merging, the sign-in redirect and what anonymous visitors get, the Require
 * providers, publishing and scrubbing, the startup checks. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <check.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <mod_auth.h>

#include "authproxy_cache.h"
#include "authproxy_claims.h"
#include "authproxy_config.h"
#include "authproxy_fetch.h"
#include "authproxy_headers.h"
#include "authproxy_health.h"
#include "authproxy_identity.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"
#include "authproxy_session.h"
#include "authproxy_trace.h"
#include "fake_httpd.h"

#define HOST "www.example.com"
#define UPSTREAM AUTHPROXY_DIR_UPSTREAM " http://127.0.0.1:3000"
/* the module's AuthType */
#define AUTH_TYPE "authjs"
/* stands for ServerRoot in the tables' lines and values */
#define ROOT "{root}"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    fake_httpd_reset();
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* A table case's string against the one wanted (NULL for none). */
static void expect_str(int i, const char *what, const char *got, const char *want)
{
    ck_assert_msg(got == want || (got && want && !strcmp(got, want)),
                  "case %d, %s: got '%s', want '%s'", i, what, got ? got : "(null)",
                  want ? want : "(null)");
}

static void set(server_rec *s, void *dconf, int where, const char *line)
{
    const char *err = fake_directive(pool, s, dconf, where, line);

    ck_assert_msg(!err, "%s: %s", line, err);
}

/* A server with an upstream and these settings (NULL-terminated), started:
 * the keys, URLs and cookie names worked out as post_config does. */
static server_rec *started(const char *const *lines)
{
    server_rec *s = fake_server(pool, HOST, 80);

    set(s, NULL, FAKE_IN_SERVER, UPSTREAM);
    for (; lines && *lines; lines++) {
        set(s, NULL, FAKE_IN_SERVER, *lines);
    }
    ck_assert_int_eq(authproxy_config_post_config(pool, pool, pool, s), OK);
    return s;
}

/* A <Location> with these settings (NULL-terminated). */
static void *location(server_rec *s, const char *const *lines)
{
    void *dconf = fake_location(pool);

    for (; lines && *lines; lines++) {
        set(s, dconf, FAKE_IN_LOCATION, *lines);
    }
    return dconf;
}

/* A browser's page load under AuthType authjs. */
static request_rec *page_load(server_rec *s, void *dconf, const char *target)
{
    request_rec *r = fake_request(pool, s, dconf, "GET", target);

    apr_table_setn(r->headers_in, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    fake_auth(r, AUTH_TYPE, NULL);
    return r;
}

static authjs_session_t *token_session(const char *claims)
{
    json_t *json = json_loads(claims, 0, NULL);

    ck_assert_msg(json != NULL, "claims: %s", claims);
    return authjs_session_from_claims(pool, json);
}

static authjs_session_t *answer_session(const char *answer)
{
    authjs_session_t *s;
    const char *why = authjs_session_from_answer(pool, answer, strlen(answer), apr_time_now(),
                                                 &s);

    ck_assert_msg(!why, "answer %s: %s", answer, why);
    return s;
}

/* What the resolver leaves for a signed-in request (and its subrequests). */
static void signed_in(request_rec *r, const authjs_session_t *session,
                      authproxy_source_e source)
{
    authproxy_request_t *req = authproxy_request(authproxy_original(r));

    req->resolved = 1;
    req->session = session;
    req->source = source;
    req->identity = apr_pcalloc(r->pool, sizeof(*req->identity));
    req->identity->cookie.name = AUTHPROXY_DEFAULT_COOKIE;
    req->identity->cookie.value = "the-raw-token";
}

#define ALICE "{\"sub\":\"u1\",\"name\":\"Alice\",\"email\":\"alice@example.com\"," \
              "\"roles\":[\"admin\",\"dev\"],\"level\":3,\"ratio\":1.5,\"verified\":true," \
              "\"org\":{\"role\":\"owner\",\"ids\":[7]},\"nothing\":null}"

/* ---- directives ----------------------------------------------------------------- */

/* RULES and CLAIM_HEADERS: a child's entries come after its parent's. */
typedef enum { TEXT, NUMBER, HEADERS, SECRETS, ORIGIN, RULES, CLAIM_HEADERS } kind_e;

/* Every directive: the field it sets, and a value for a parent and one for
 * a child (the line's arguments, and the field as show() gives it). */
static const struct {
    const char *name;
    int per_dir;
    apr_size_t offset;
    kind_e kind;
    const char *parent, *parent_shown, *child, *child_shown;
} directives[] = {
    { AUTHPROXY_DIR_UPSTREAM, 0, offsetof(authproxy_server_conf, upstream), TEXT,
      "http://main.example", "http://main.example",
      "https://vhost.example:8443", "https://vhost.example:8443" },
    { AUTHPROXY_DIR_LOCAL_PATH, 0, offsetof(authproxy_server_conf, local_path), TEXT,
      "/main", "/main", "vhost/", "/vhost" },
    { AUTHPROXY_DIR_TARGET_PATH, 0, offsetof(authproxy_server_conf, target_path), TEXT,
      "/up", "/up", "/v/", "/v" },
    { AUTHPROXY_DIR_HEADER, 0, offsetof(authproxy_server_conf, headers), HEADERS,
      "X-Tenant main", "X-Tenant: main", "X-Api-Key \"k 1\"", "X-Api-Key: k 1" },
    { AUTHPROXY_DIR_TIMEOUT, 0, offsetof(authproxy_server_conf, timeout), NUMBER,
      "5", "5", "30", "30" },
    { AUTHPROXY_DIR_PRESERVE_HOST, 0, offsetof(authproxy_server_conf, preserve_host), NUMBER,
      "On", "1", "Off", "0" },
    { AUTHPROXY_DIR_PUBLIC_ORIGIN, 0, offsetof(authproxy_server_conf, public_origin), ORIGIN,
      "https://app.example", "https://app.example",
      "http://v.example:8080", "http://v.example:8080" },
    { AUTHPROXY_DIR_COOKIE_NAME, 0, offsetof(authproxy_server_conf, cookie_name), TEXT,
      "main.session", "main.session", "v.session", "v.session" },
    { AUTHPROXY_DIR_SECRET, 0, offsetof(authproxy_server_conf, secrets), SECRETS,
      "main-secret", "main-secret", "new old", "new,old" },
    { AUTHPROXY_DIR_STRATEGY, 0, offsetof(authproxy_server_conf, strategy), NUMBER,
      "database", "1", "jwt", "0" },
    { AUTHPROXY_DIR_CA_FILE, 0, offsetof(authproxy_server_conf, ca_file), TEXT,
      "ca.pem", ROOT "/ca.pem", ROOT "/ca2.pem", ROOT "/ca2.pem" },
    { AUTHPROXY_DIR_CACHE, 0, offsetof(authproxy_server_conf, cache_spec), TEXT,
      "memcache:127.0.0.1:11211", "memcache:127.0.0.1:11211", "none", "none" },
    { AUTHPROXY_DIR_CACHE_TTL, 0, offsetof(authproxy_server_conf, cache_ttl), NUMBER,
      "120", "120", "30", "30" },
    { AUTHPROXY_DIR_CACHE_NEG_TTL, 0, offsetof(authproxy_server_conf, cache_negative_ttl),
      NUMBER, "0", "0", "7", "7" },
    { AUTHPROXY_DIR_REFRESH, 0, offsetof(authproxy_server_conf, refresh), NUMBER,
      "3600", "3600", "Off", "0" },
    { AUTHPROXY_DIR_METRICS_SCOPE, 0, offsetof(authproxy_server_conf, metrics_scope), NUMBER,
      "all", "1", "vhost", "0" },
    { AUTHPROXY_DIR_REVOCATION, 0, offsetof(authproxy_server_conf, revocation), NUMBER,
      "On", "1", "Off", "0" },
    { AUTHPROXY_DIR_REVOCATION_UNAVAILABLE, 0,
      offsetof(authproxy_server_conf, revocation_unavailable), NUMBER,
      "closed", "1", "open", "0" },
    { AUTHPROXY_DIR_ASSERTION_KEY, 0, offsetof(authproxy_server_conf, assertion_keys),
      SECRETS, "/keys/a.pem", "/keys/a.pem", "/keys/b.pem /keys/c.pem",
      "/keys/b.pem,/keys/c.pem" },
    { AUTHPROXY_DIR_ASSERTION_LIFETIME, 0,
      offsetof(authproxy_server_conf, assertion_lifetime), NUMBER, "30", "30", "60", "60" },
    { AUTHPROXY_DIR_TRACE_PARENT, 0, offsetof(authproxy_server_conf, trace_mode), NUMBER,
      "generate", "2", "Propagate", "1" },
    { AUTHPROXY_DIR_SIGNIN_LIMIT, 0, offsetof(authproxy_server_conf, signin_limit), NUMBER,
      "5 60 ban 600 by both", "5", "Off", "0" },
    { AUTHPROXY_DIR_ASSERTION, 1, offsetof(authproxy_dir_conf, assertion), NUMBER,
      "On", "1", "Off", "0" },
    { AUTHPROXY_DIR_ASSERTION_AUDIENCE, 1, offsetof(authproxy_dir_conf, assertion_audience),
      TEXT, "https://api.example", "https://api.example", "billing", "billing" },
    { AUTHPROXY_DIR_SESSION, 1, offsetof(authproxy_dir_conf, session), NUMBER,
      "Off", "0", "On", "1" },
    { AUTHPROXY_DIR_PASS_HEADERS, 1, offsetof(authproxy_dir_conf, pass_headers), NUMBER,
      "On", "1", "Off", "0" },
    { AUTHPROXY_DIR_PASS_TOKEN, 1, offsetof(authproxy_dir_conf, pass_token), NUMBER,
      "On", "1", "Off", "0" },
    { AUTHPROXY_DIR_STRIP_COOKIE, 1, offsetof(authproxy_dir_conf, strip_cookie), NUMBER,
      "Off", "0", "On", "1" },
    { AUTHPROXY_DIR_BEARER, 1, offsetof(authproxy_dir_conf, bearer), NUMBER,
      "On", "1", "Off", "0" },
    { AUTHPROXY_DIR_STRIP_BEARER, 1, offsetof(authproxy_dir_conf, strip_bearer), NUMBER,
      "Off", "0", "On", "1" },
    { AUTHPROXY_DIR_UNAUTH_ACTION, 1, offsetof(authproxy_dir_conf, unauth_action), NUMBER,
      "401", "1", "pass", "2" },
    { AUTHPROXY_DIR_USER_CLAIM, 1, offsetof(authproxy_dir_conf, remote_user_claim), TEXT,
      "sub", "sub", "org.login", "org.login" },
    { AUTHPROXY_DIR_PUBLISH_CLAIMS, 1, offsetof(authproxy_dir_conf, publish_claims), RULES,
      "-* +role", "-*, +role", "+access*", "+access*" },
    { AUTHPROXY_DIR_CLAIM_HEADER, 1, offsetof(authproxy_dir_conf, claim_headers), CLAIM_HEADERS,
      "X-Webauth-User email", "X-Webauth-User: email", "Remote-User sub", "Remote-User: sub" },
    { AUTHPROXY_DIR_HEADER_ENCODING, 1, offsetof(authproxy_dir_conf, header_encoding), NUMBER,
      "base64url", "1", "raw", "0" },
    { AUTHPROXY_DIR_PREFLIGHT, 1, offsetof(authproxy_dir_conf, preflight), NUMBER,
      "auth", "1", "pass", "0" },
};

#define DIRECTIVES (int)(sizeof(directives) / sizeof(directives[0]))

static int directive_of(const char *line)
{
    int i;

    for (i = 0; i < DIRECTIVES; i++) {
        apr_size_t len = strlen(directives[i].name);

        if (!strncmp(line, directives[i].name, len) && (!line[len] || line[len] == ' ')) {
            return i;
        }
    }
    ck_abort_msg("no directive in '%s'", line);
    return -1;
}

/* The field a directive sets, as text; "(unset)" where it is not set. */
static const char *show(int d, const void *conf)
{
    const char *field = (const char *)conf + directives[d].offset;
    const apr_array_header_t *list = NULL;
    const authproxy_origin_t *origin;
    const char *text = "";
    int i;

    switch (directives[d].kind) {
    case TEXT:
        text = *(const char *const *)field;
        return text ? text : "(unset)";
    case NUMBER:
        i = *(const int *)field;
        return i == AUTHPROXY_UNSET ? "(unset)" : apr_itoa(pool, i);
    case HEADERS:
        list = *(const apr_array_header_t *const *)field;
        for (i = 0; list && i < list->nelts; i++) {
            const authproxy_header_t *h = &APR_ARRAY_IDX(list, i, authproxy_header_t);

            text = apr_psprintf(pool, "%s%s%s: %s", text, i ? ", " : "", h->name, h->value);
        }
        return list ? text : "(unset)";
    case SECRETS:
        list = *(const apr_array_header_t *const *)field;
        return list ? apr_array_pstrcat(pool, list, ',') : "(unset)";
    case ORIGIN:
        origin = *(const authproxy_origin_t *const *)field;
        return origin ? origin->origin : "(unset)";
    case RULES:
        list = *(const apr_array_header_t *const *)field;
        for (i = 0; list && i < list->nelts; i++) {
            const authproxy_claim_rule_t *r = &APR_ARRAY_IDX(list, i, authproxy_claim_rule_t);

            text = apr_psprintf(pool, "%s%s%c%s", text, i ? ", " : "", r->publish ? '+' : '-',
                                r->pattern);
        }
        return list ? text : "(unset)";
    case CLAIM_HEADERS:
        list = *(const apr_array_header_t *const *)field;
        for (i = 0; list && i < list->nelts; i++) {
            const authproxy_claim_header_t *h =
                &APR_ARRAY_IDX(list, i, authproxy_claim_header_t);

            text = apr_psprintf(pool, "%s%s%s: %s", text, i ? ", " : "", h->name, h->claim);
        }
        return list ? text : "(unset)";
    }
    return NULL;
}

/* ROOT replaced by the ServerRoot the test runs with. */
static const char *rooted(const char *text)
{
    const char *at = text ? strstr(text, ROOT) : NULL;

    return at ? apr_psprintf(pool, "%.*s%s%s", (int)(at - text), text, fake_httpd.server_root,
                             at + sizeof(ROOT) - 1)
              : text;
}

static void write_file(const char *name, const char *content, apr_size_t len)
{
    apr_file_t *f;
    const char *path = apr_pstrcat(pool, fake_httpd.server_root, "/", name, NULL);

    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                                   | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(f, content, len, NULL), APR_SUCCESS);
    apr_file_close(f);
}

static const char *const root_files[] = { "ca.pem", "ca2.pem", "secret", "empty", "nul", "big" };

/* A pool cleanup: the paths are made on the stack, the pool is going. */
static apr_status_t remove_root(void *dir)
{
    char path[4096];
    apr_size_t i;

    for (i = 0; i < sizeof(root_files) / sizeof(root_files[0]); i++) {
        apr_snprintf(path, sizeof(path), "%s/%s", (const char *)dir, root_files[i]);
        unlink(path);
    }
    rmdir(dir);
    return APR_SUCCESS;
}

/* The config tests' ServerRoot: a fresh directory with CA bundles and
 * secret files, removed with the test's pool. */
static void config_setup(void)
{
    const char *tmp;
    char *dir, big[5000];

    setup();
    ck_assert_int_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
    dir = apr_pstrcat(pool, tmp, "/test_glue.XXXXXX", NULL);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    fake_httpd.server_root = dir;
    apr_pool_cleanup_register(pool, dir, remove_root, apr_pool_cleanup_null);
    write_file("ca.pem", "bundle", 6);
    write_file("ca2.pem", "bundle", 6);
    write_file("secret", "file-secret\n", 12);
    write_file("empty", " \n", 2);
    write_file("nul", "a\0b", 3);
    memset(big, 'x', sizeof(big));
    write_file("big", big, sizeof(big));
}

START_TEST(every_directive_is_in_the_table)
{
    const command_rec *c;
    int n = 0;

    for (c = authproxy_module.cmds; c->name; c++, n++) {
        directive_of(c->name);
    }
    ck_assert_int_eq(n, DIRECTIVES);
}
END_TEST

#define S FAKE_IN_SERVER
#define L FAKE_IN_LOCATION
#define H FAKE_IN_HTACCESS

/* Lines as httpd reads them: accepted, with what they set, or refused with
 * the message httpd stops at (each names the directive). */
static const struct {
    int where;
    const char *line, *error, *shown;
} line_cases[] = {
    { S, "AuthProxyUpstream HTTP://Auth.Example.COM:3000/", NULL,
      "http://auth.example.com:3000" },
    { S, "AuthProxyUpstream https://[::1]:8443", NULL, "https://[::1]:8443" },
    { S, "AuthProxyUpstream auth.example.com",
      "AuthProxyUpstream: 'auth.example.com' is not an absolute http:// or https:// URL", NULL },
    { S, "AuthProxyUpstream ftp://auth.example.com",
      "AuthProxyUpstream: 'ftp://auth.example.com' has the scheme 'ftp'; only http and https "
      "are supported", NULL },
    { S, "AuthProxyUpstream http://", "AuthProxyUpstream: 'http://' names no host", NULL },
    { S, "AuthProxyUpstream http://user:pw@auth.example.com",
      "AuthProxyUpstream: 'http://user:pw@auth.example.com' carries credentials; send them "
      "with AuthProxyHeader instead", NULL },
    { S, "AuthProxyUpstream http://auth.example.com/?x=1",
      "AuthProxyUpstream: 'http://auth.example.com/?x=1' has a query or fragment; give the "
      "origin only (scheme://host[:port])", NULL },
    { S, "AuthProxyUpstream http://auth.example.com#top",
      "AuthProxyUpstream: 'http://auth.example.com#top' has a query or fragment; give the "
      "origin only (scheme://host[:port])", NULL },
    { S, "AuthProxyUpstream http://auth.example.com/auth/",
      "AuthProxyUpstream: 'http://auth.example.com/auth/' has the path '/auth/'; give the "
      "origin only (scheme://host[:port]) and set the upstream prefix with "
      "AuthProxyTargetPath /auth", NULL },
    { S, "AuthProxyUpstream http://auth.example.com:0",
      "AuthProxyUpstream: 'http://auth.example.com:0' has an invalid port", NULL },
    { S, "AuthProxyUpstream http://auth.example.com:",
      "AuthProxyUpstream: 'http://auth.example.com:' has an invalid port", NULL },
    { S, "AuthProxyUpstream",
      "AuthProxyUpstream takes one argument, Origin (http[s]://host[:port]) of the upstream "
      "Auth.js server; turns the module on for this server", NULL },
    { L, "AuthProxyUpstream http://auth.example.com", "AuthProxyUpstream not allowed here", NULL },
    { S, "AuthProxyLocalPath auth/", NULL, "/auth" },
    { S, "AuthProxyLocalPath /", NULL, "/" },
    { S, "AuthProxyLocalPath /a/../b",
      "AuthProxyLocalPath: '/a/../b' is not a plain URL path (no spaces, control characters, "
      "'?', '#', '.' or '..' segments)", NULL },
    { S, "AuthProxyLocalPath \"/a b\"",
      "AuthProxyLocalPath: '/a b' is not a plain URL path (no spaces, control characters, "
      "'?', '#', '.' or '..' segments)", NULL },
    { S, "AuthProxyTargetPath /auth?x",
      "AuthProxyTargetPath: '/auth?x' is not a plain URL path (no spaces, control "
      "characters, '?', '#', '.' or '..' segments)", NULL },
    { S, "AuthProxyTargetPath /./x",
      "AuthProxyTargetPath: '/./x' is not a plain URL path (no spaces, control characters, "
      "'?', '#', '.' or '..' segments)", NULL },
    { S, "AuthProxyHeader X-Api-Key \"0123 abc\"", NULL, "X-Api-Key: 0123 abc" },
    { S, "AuthProxyHeader \"Bad Name\" v",
      "AuthProxyHeader: 'Bad Name' is not a valid header name", NULL },
    { S, "AuthProxyHeader Host evil.example",
      "AuthProxyHeader: the header 'Host' describes the connection or the message framing "
      "and cannot be set", NULL },
    { S, "AuthProxyHeader transfer-encoding chunked",
      "AuthProxyHeader: the header 'transfer-encoding' describes the connection or the "
      "message framing and cannot be set", NULL },
    { S, "AuthProxyHeader X-A \"a\001b\"",
      "AuthProxyHeader X-A: the value holds a control character (CR, LF, NUL, ...)", NULL },
    { S, "AuthProxyHeader X-A",
      "AuthProxyHeader takes two arguments, Header name and value added to every upstream "
      "request; repeatable", NULL },
    { S, "AuthProxyTimeout 3600", NULL, "3600" },
    { S, "AuthProxyTimeout 0",
      "AuthProxyTimeout: '0' is not a whole number of seconds from 1 to 3600", NULL },
    { S, "AuthProxyTimeout 3601",
      "AuthProxyTimeout: '3601' is not a whole number of seconds from 1 to 3600", NULL },
    { S, "AuthProxyTimeout 5s",
      "AuthProxyTimeout: '5s' is not a whole number of seconds from 1 to 3600", NULL },
    { S, "AuthProxyTimeout 99999999999999999999",
      "AuthProxyTimeout: '99999999999999999999' is not a whole number of seconds from 1 to "
      "3600", NULL },
    { S, "AuthProxyPreserveHost on", NULL, "1" },
    { S, "AuthProxyPreserveHost OFF", NULL, "0" },
    { S, "AuthProxyPreserveHost yes", "AuthProxyPreserveHost must be On or Off", NULL },
    { S, "AuthProxyPublicOrigin https://App.Example.com:443", NULL, "https://app.example.com" },
    { S, "AuthProxyPublicOrigin http://app.example.com:8080/", NULL,
      "http://app.example.com:8080" },
    { S, "AuthProxyPublicOrigin app.example.com",
      "AuthProxyPublicOrigin: 'app.example.com' is not an http:// or https:// origin", NULL },
    { S, "AuthProxyPublicOrigin https://app.example.com/shop",
      "AuthProxyPublicOrigin: 'https://app.example.com/shop' must be an origin only: "
      "scheme://host[:port], no path, query or credentials", NULL },
    { S, "AuthProxyPublicOrigin https://u@app.example.com",
      "AuthProxyPublicOrigin: 'https://u@app.example.com' must be an origin only: "
      "scheme://host[:port], no path, query or credentials", NULL },
    { S, "AuthProxyCookieName __Secure-my.session", NULL, "__Secure-my.session" },
    { S, "AuthProxyCookieName a=b", "AuthProxyCookieName: 'a=b' is not a valid cookie name", NULL },
    { S, "AuthProxyCookieName \"a b\"", "AuthProxyCookieName: 'a b' is not a valid cookie name",
      NULL },
    { S, "AuthProxySecret new file:secret old", NULL, "new,file-secret,old" },
    { S, "AuthProxySecret file:" ROOT "/secret", NULL, "file-secret" },
    { S, "AuthProxySecret file:missing",
      "AuthProxySecret: cannot read file:" ROOT "/missing: No such file or directory", NULL },
    { S, "AuthProxySecret file:empty",
      "AuthProxySecret: file:" ROOT "/empty holds no usable secret (empty, or a NUL byte)", NULL },
    { S, "AuthProxySecret file:nul",
      "AuthProxySecret: file:" ROOT "/nul holds no usable secret (empty, or a NUL byte)", NULL },
    { S, "AuthProxySecret file:big",
      "AuthProxySecret: file:" ROOT "/big is larger than 4 KiB; it should hold only the "
      "secret", NULL },
    { S, "AuthProxySecret",
      "AuthProxySecret requires at least one argument, The upstream's AUTH_SECRET, newest "
      "first; file:/path reads one from a file", NULL },
    { H, "AuthProxySecret s", "AuthProxySecret not allowed here", NULL },
    { S, "AuthProxySessionStrategy Database", NULL, "1" },
    { S, "AuthProxySessionStrategy JWT", NULL, "0" },
    { S, "AuthProxySessionStrategy cookie",
      "AuthProxySessionStrategy: 'cookie' is neither jwt nor database", NULL },
    { S, "AuthProxyCACertificateFile " ROOT "/ca2.pem", NULL, ROOT "/ca2.pem" },
    { S, "AuthProxyCACertificateFile missing.pem",
      "AuthProxyCACertificateFile: 'missing.pem' is not a readable file", NULL },
    { S, "AuthProxyCACertificateFile .",
      "AuthProxyCACertificateFile: '.' is not a readable file", NULL },
    { S, "AuthProxySessionCache shmcb", NULL, "shmcb" },
    { S, "AuthProxySessionCache redis:127.0.0.1:6379", NULL, "redis:127.0.0.1:6379" },
    { S, "AuthProxySessionCache NONE", NULL, "NONE" },
    { S, "AuthProxySessionCache :11211",
      "AuthProxySessionCache: ':11211' names no cache provider", NULL },
    { S, "AuthProxySessionCacheTTL 86400", NULL, "86400" },
    { S, "AuthProxySessionCacheTTL 0",
      "AuthProxySessionCacheTTL: '0' is not a whole number of seconds from 1 to 86400", NULL },
    { S, "AuthProxySessionCacheNegativeTTL 0", NULL, "0" },
    { S, "AuthProxySessionCacheNegativeTTL -1",
      "AuthProxySessionCacheNegativeTTL: '-1' is not a whole number of seconds from 0 to "
      "86400", NULL },
    { S, "AuthProxySessionRefresh 1", NULL, "1" },
    { S, "AuthProxySessionRefresh 2592000", NULL, "2592000" },
    { S, "AuthProxySessionRefresh off", NULL, "0" },
    { S, "AuthProxySessionRefresh 0",
      "AuthProxySessionRefresh: '0' is neither Off nor a whole number of seconds from 1 to "
      "2592000", NULL },
    { S, "AuthProxySessionRefresh 2592001",
      "AuthProxySessionRefresh: '2592001' is neither Off nor a whole number of seconds from 1 "
      "to 2592000", NULL },
    { S, "AuthProxySessionRefresh 1h",
      "AuthProxySessionRefresh: '1h' is neither Off nor a whole number of seconds from 1 to "
      "2592000", NULL },
    { S, "AuthProxyMetricsScope ALL", NULL, "1" },
    { S, "AuthProxyMetricsScope vhost", NULL, "0" },
    { S, "AuthProxyMetricsScope tenant",
      "AuthProxyMetricsScope: 'tenant' is neither vhost nor all", NULL },
    { L, "AuthProxyMetricsScope all", "AuthProxyMetricsScope not allowed here", NULL },
    { H, "AuthProxyMetricsScope all", "AuthProxyMetricsScope not allowed here", NULL },
    { S, "AuthProxySession Off", NULL, "0" },
    { L, "AuthProxySession Off", NULL, "0" },
    { H, "AuthProxySession On", NULL, "1" },
    { H, "AuthProxyPassHeaders On", NULL, "1" },
    { H, "AuthProxyPassToken On", NULL, "1" },
    { H, "AuthProxyStripCookie On", NULL, "1" },
    { L, "AuthProxyStripCookie maybe", "AuthProxyStripCookie must be On or Off", NULL },
    { H, "AuthProxyBearer On", NULL, "1" },
    { S, "AuthProxyBearer off", NULL, "0" },
    { L, "AuthProxyBearer bearer", "AuthProxyBearer must be On or Off", NULL },
    { H, "AuthProxyStripBearer On", NULL, "1" },
    { L, "AuthProxyStripBearer", "AuthProxyStripBearer must be On or Off", NULL },
    { H, "AuthProxyUnauthAction Redirect", NULL, "0" },
    { L, "AuthProxyUnauthAction 401", NULL, "1" },
    { S, "AuthProxyUnauthAction PASS", NULL, "2" },
    { L, "AuthProxyUnauthAction 403",
      "AuthProxyUnauthAction: '403' is not redirect, 401 or pass", NULL },
    { H, "AuthProxyRemoteUserClaim org.login", NULL, "org.login" },
    { L, "AuthProxyRemoteUserClaim",
      "AuthProxyRemoteUserClaim takes one or three arguments, Claim that becomes REMOTE_USER "
      "(default email, else the id), optionally followed by a regular expression and the "
      "substitution that makes the user name of it", NULL },
    { H, "AuthProxyRemoteUserClaim email ^([^@]+)@example\\.com$ $1", NULL, "email" },
    { L, "AuthProxyRemoteUserClaim email ^(",
      "AuthProxyRemoteUserClaim takes one or three arguments, Claim that becomes REMOTE_USER "
      "(default email, else the id), optionally followed by a regular expression and the "
      "substitution that makes the user name of it", NULL },
    { L, "AuthProxyRemoteUserClaim email ^( $1",
      "AuthProxyRemoteUserClaim email: '^(' is not a valid regular expression", NULL },
    { L, "AuthProxyRemoteUserClaim email ^([^@]+)@ $2",
      "AuthProxyRemoteUserClaim email ^([^@]+)@: the substitution '$2' names a group the "
      "expression does not have: every user would get 403", NULL },
    { L, "AuthProxyRemoteUserClaim email ^([^@]+)@ \"\"",
      "AuthProxyRemoteUserClaim takes one or three arguments, Claim that becomes REMOTE_USER "
      "(default email, else the id), optionally followed by a regular expression and the "
      "substitution that makes the user name of it", NULL },
    { H, "AuthProxyRemoteUserClaim email ^([^@]+)@ u-$1\\$", NULL, "email" },
    { L, "AuthProxyClaimHeader Proxy_Authorization sub",
      "AuthProxyClaimHeader: the header 'Proxy_Authorization' cannot be set from a claim (it "
      "describes the connection or the message, is this module's X-Authjs-*, or carries "
      "credentials)", NULL },
    { H, "AuthProxyPublishClaims -* +role +org.*", NULL, "-*, +role, +org.*" },
    { L, "AuthProxyPublishClaims accessToken",
      "AuthProxyPublishClaims: 'accessToken' is neither +NAME (publish) nor -NAME (withhold); "
      "NAME may be a shell-style pattern", NULL },
    { L, "AuthProxyPublishClaims +", "AuthProxyPublishClaims: '+' is neither +NAME (publish) "
      "nor -NAME (withhold); NAME may be a shell-style pattern", NULL },
    { H, "AuthProxyClaimHeader X-WEBAUTH-USER email", NULL, "X-WEBAUTH-USER: email" },
    { L, "AuthProxyClaimHeader X(User email",
      "AuthProxyClaimHeader: 'X(User' is not a valid header name", NULL },
    { L, "AuthProxyClaimHeader X-Authjs-User-Email email",
      "AuthProxyClaimHeader: the header 'X-Authjs-User-Email' cannot be set from a claim (it "
      "describes the connection or the message, is this module's X-Authjs-*, or carries "
      "credentials)", NULL },
    { L, "AuthProxyClaimHeader Content_Length sub",
      "AuthProxyClaimHeader: the header 'Content_Length' cannot be set from a claim (it "
      "describes the connection or the message, is this module's X-Authjs-*, or carries "
      "credentials)", NULL },
    { L, "AuthProxyClaimHeader cookie sub",
      "AuthProxyClaimHeader: the header 'cookie' cannot be set from a claim (it "
      "describes the connection or the message, is this module's X-Authjs-*, or carries "
      "credentials)", NULL },
    { H, "AuthProxyHeaderEncoding Base64URL", NULL, "1" },
    { L, "AuthProxyHeaderEncoding utf-8",
      "AuthProxyHeaderEncoding: 'utf-8' is neither raw nor base64url", NULL },
};

START_TEST(directive_lines)
{
    int i;

    for (i = 0; i < (int)(sizeof(line_cases) / sizeof(line_cases[0])); i++) {
        const char *line = line_cases[i].line, *error = rooted(line_cases[i].error);
        server_rec *s = fake_server(pool, HOST, 80);
        void *dconf = line_cases[i].where == S ? NULL : fake_location(pool);
        int d = directive_of(line);
        const char *err = fake_directive(pool, s, dconf, line_cases[i].where, rooted(line));
        const void *conf = !directives[d].per_dir ? (const void *)authproxy_sconf(s)
                           : dconf ? dconf
                           : ap_get_module_config(s->lookup_defaults, &authproxy_module);

        expect_str(i, line, err, error);
        expect_str(i, "set", show(d, conf), error ? "(unset)" : rooted(line_cases[i].shown));
    }
}
END_TEST

START_TEST(upstream_parts)
{
    server_rec *s = fake_server(pool, HOST, 80);
    const authproxy_server_conf *conf = authproxy_sconf(s);

    set(s, NULL, S, "AuthProxyUpstream HTTPS://Auth.Example.COM");
    ck_assert_str_eq(conf->upstream, "https://auth.example.com");
    ck_assert_str_eq(conf->upstream_host, "Auth.Example.COM");
    ck_assert_int_eq(conf->upstream_is_tls, 1);
    /* a repeated AuthProxyHeader adds; a repeated AuthProxySecret too */
    set(s, NULL, S, "AuthProxyHeader X-A 1");
    set(s, NULL, S, "AuthProxyHeader X-B 2");
    ck_assert_str_eq(show(directive_of(AUTHPROXY_DIR_HEADER), conf), "X-A: 1, X-B: 2");
    set(s, NULL, S, "AuthProxySecret one");
    set(s, NULL, S, "AuthProxySecret two");
    ck_assert_str_eq(show(directive_of(AUTHPROXY_DIR_SECRET), conf), "one,two");
}
END_TEST

/* Main server and VirtualHost, Location and nested Location: the child's
 * setting where it has one, else the parent's, field by field. */
START_TEST(merge_child_if_set_else_parent)
{
    int d, set_parent, set_child;

    for (d = 0; d < DIRECTIVES; d++) {
        for (set_parent = 0; set_parent < 2; set_parent++) {
            for (set_child = 0; set_child < 2; set_child++) {
                server_rec *s = fake_server(pool, HOST, 80);
                server_rec *vhost = fake_server(pool, "vhost.example", 80);
                void *parent = directives[d].per_dir ? fake_location(pool) : NULL;
                void *child = directives[d].per_dir ? fake_location(pool) : NULL;
                int where = directives[d].per_dir ? L : S;
                const char *want = set_child ? directives[d].child_shown
                                   : set_parent ? directives[d].parent_shown : "(unset)";
                int appends = directives[d].kind == RULES || directives[d].kind == CLAIM_HEADERS;

                if (appends && set_parent && set_child) {
                    want = apr_pstrcat(pool, directives[d].parent_shown, ", ",
                                       directives[d].child_shown, NULL);
                }

                if (set_parent) {
                    set(s, parent, where, apr_pstrcat(pool, directives[d].name, " ",
                                                      rooted(directives[d].parent), NULL));
                }
                if (set_child) {
                    set(vhost, child, where, apr_pstrcat(pool, directives[d].name, " ",
                                                         rooted(directives[d].child), NULL));
                }
                fake_vhost(pool, s, vhost);
                expect_str(d * 4 + set_parent * 2 + set_child, directives[d].name,
                           show(d, directives[d].per_dir
                                   ? authproxy_module.merge_dir_config(pool, parent, child)
                                   : (void *)authproxy_sconf(vhost)),
                           rooted(want));
            }
        }
    }
}
END_TEST

START_TEST(merged_upstream_keeps_its_parts)
{
    server_rec *s = fake_server(pool, HOST, 80);
    server_rec *vhost = fake_server(pool, "vhost.example", 80);
    server_rec *bare = fake_server(pool, "bare.example", 80);

    set(s, NULL, S, "AuthProxyUpstream http://main.example");
    set(vhost, NULL, S, "AuthProxyUpstream https://vhost.example");
    fake_vhost(pool, s, vhost);
    fake_vhost(pool, s, bare);
    ck_assert_ptr_eq(s->next, vhost);
    ck_assert_ptr_eq(vhost->next, bare);
    ck_assert_str_eq(authproxy_sconf(vhost)->upstream_host, "vhost.example");
    ck_assert_int_eq(authproxy_sconf(vhost)->upstream_is_tls, 1);
    ck_assert_str_eq(authproxy_sconf(bare)->upstream, "http://main.example");
    ck_assert_str_eq(authproxy_sconf(bare)->upstream_host, "main.example");
    ck_assert_int_eq(authproxy_sconf(bare)->upstream_is_tls, 0);
}
END_TEST

START_TEST(accessors_apply_defaults)
{
    server_rec *s = fake_server(pool, HOST, 80);
    const authproxy_server_conf *conf = authproxy_sconf(s);
    void *dconf = fake_location(pool);
    request_rec *r;

    ck_assert_str_eq(authproxy_local_path(conf), "/api/auth");
    ck_assert_str_eq(authproxy_target_path(conf), "/api/auth");
    ck_assert_int_eq(authproxy_timeout(conf), 10);
    ck_assert_int_eq(authproxy_preserve_host(conf), 0);
    ck_assert_str_eq(authproxy_cookie_name(conf), "authjs.session-token");
    ck_assert_int_eq(authproxy_strategy(conf), AUTHPROXY_STRATEGY_JWT);
    ck_assert_str_eq(authproxy_cache_spec(conf), "shmcb");
    ck_assert_int_eq(authproxy_cache_ttl(conf), 60);
    ck_assert_int_eq(authproxy_cache_negative_ttl(conf), 5);
    ck_assert_int_eq(authproxy_session_refresh(conf), 0);
    ck_assert_int_eq(authproxy_metrics_scope(conf), AUTHPROXY_METRICS_VHOST);
    ck_assert_int_eq(authproxy_unauth_action(dconf), AUTHPROXY_UNAUTH_REDIRECT);
    ck_assert_str_eq(authproxy_remote_user_claim(dconf), "email");
    ck_assert_int_eq(authproxy_pass_headers(dconf), 0);
    ck_assert_int_eq(authproxy_pass_token(dconf), 0);
    ck_assert_int_eq(authproxy_strip_cookie(dconf), 0);
    ck_assert_int_eq(authproxy_bearer(dconf), 0);
    ck_assert_int_eq(authproxy_strip_bearer(dconf), 0);
    ck_assert_int_eq(authproxy_preflight(dconf), AUTHPROXY_PREFLIGHT_PASS);
    ck_assert_int_eq(authproxy_trace_mode(conf), AUTHPROXY_TRACE_OFF);
    /* off without an upstream, on with one, off where AuthProxySession Off */
    ck_assert_int_eq(authproxy_session_enabled(fake_request(pool, s, dconf, "GET", "/")), 0);
    set(s, NULL, S, UPSTREAM);
    ck_assert_int_eq(authproxy_session_enabled(fake_request(pool, s, dconf, "GET", "/")), 1);
    set(s, dconf, L, "AuthProxySession Off");
    ck_assert_int_eq(authproxy_session_enabled(fake_request(pool, s, dconf, "GET", "/")), 0);
    /* the target prefix follows the local one; each setting wins over its default */
    set(s, NULL, S, "AuthProxyLocalPath /auth");
    ck_assert_str_eq(authproxy_target_path(conf), "/auth");
    set(s, NULL, S, "AuthProxyTargetPath /up");
    ck_assert_str_eq(authproxy_target_path(conf), "/up");
    set(s, NULL, S, "AuthProxyTimeout 3");
    ck_assert_int_eq(authproxy_timeout(conf), 3);
    set(s, NULL, S, "AuthProxyPreserveHost On");
    ck_assert_int_eq(authproxy_preserve_host(conf), 1);
    set(s, NULL, S, "AuthProxyCookieName my.session");
    ck_assert_str_eq(authproxy_cookie_name(conf), "my.session");
    set(s, NULL, S, "AuthProxySessionStrategy database");
    ck_assert_int_eq(authproxy_strategy(conf), AUTHPROXY_STRATEGY_DATABASE);
    set(s, NULL, S, "AuthProxySessionCache none");
    ck_assert_str_eq(authproxy_cache_spec(conf), "none");
    set(s, NULL, S, "AuthProxySessionCacheTTL 9");
    ck_assert_int_eq(authproxy_cache_ttl(conf), 9);
    set(s, NULL, S, "AuthProxySessionCacheNegativeTTL 0");
    ck_assert_int_eq(authproxy_cache_negative_ttl(conf), 0);
    set(s, NULL, S, "AuthProxySessionRefresh 600");
    ck_assert_int_eq(authproxy_session_refresh(conf), 600);
    set(s, NULL, S, "AuthProxyMetricsScope all");
    ck_assert_int_eq(authproxy_metrics_scope(conf), AUTHPROXY_METRICS_ALL);
    set(s, dconf, L, "AuthProxyUnauthAction pass");
    ck_assert_int_eq(authproxy_unauth_action(dconf), AUTHPROXY_UNAUTH_PASS);
    set(s, dconf, L, "AuthProxyRemoteUserClaim sub");
    ck_assert_str_eq(authproxy_remote_user_claim(dconf), "sub");
    set(s, dconf, L, "AuthProxyPassHeaders On");
    ck_assert_int_eq(authproxy_pass_headers(dconf), 1);
    set(s, dconf, L, "AuthProxyBearer On");
    ck_assert_int_eq(authproxy_bearer(dconf), 1);
    set(s, dconf, L, "AuthProxyStripBearer On");
    ck_assert_int_eq(authproxy_strip_bearer(dconf), 1);
    /* startup derives the /session URL and the cookie names */
    ck_assert_int_eq(authproxy_config_post_config(pool, pool, pool, s), OK);
    ck_assert_str_eq(conf->session_url, "http://127.0.0.1:3000/up/session");
    ck_assert_str_eq(conf->session_cookie[0].name, "my.session");
    ck_assert_str_eq(conf->session_cookie[1].name, "__Secure-my.session");
    r = fake_request(pool, s, dconf, "GET", "/");
    ck_assert_int_eq(authproxy_pass_headers(authproxy_dconf(r)), 1);
}
END_TEST

/* A server as messages and the metrics' vhost label name it: the port of its
 * ServerName, else of its first address, else none; never ":0". */
START_TEST(server_names_have_a_port_or_none)
{
    server_rec *named = fake_server(pool, "a.example", 8443);
    server_rec *addressed = fake_server(pool, "b.example", 0);
    server_rec *neither = fake_server(pool, "c.example", 0);

    addressed->addrs = apr_pcalloc(pool, sizeof(*addressed->addrs));
    addressed->addrs->host_port = 8080;
    neither->addrs = apr_pcalloc(pool, sizeof(*neither->addrs));
    ck_assert_str_eq(authproxy_server_name(pool, named), "a.example:8443");
    ck_assert_str_eq(authproxy_server_name(pool, addressed), "b.example:8080");
    ck_assert_str_eq(authproxy_server_name(pool, neither), "c.example");
}
END_TEST

/* ---- anonymous visitors and the sign-in redirect --------------------------------- */

/* The callback is the request line's own path and query, never another
 * host's: an open-redirect guard (README, Access control). */
static const struct {
    const char *local_path;        /* AuthProxyLocalPath, NULL for the default */
    const char *target;            /* the request line's target */
    const char *location;
} sign_in_cases[] = {
    { NULL, "/page?q=1", "/api/auth/signin?callbackUrl=%2fpage%3fq%3d1" },
    { NULL, "/", "/api/auth/signin?callbackUrl=%2f" },
    { NULL, "/a%20b/caf%C3%A9", "/api/auth/signin?callbackUrl=%2fa%2520b%2fcaf%25C3%25A9" },
    { NULL, "/p?next=https://evil.example",
      "/api/auth/signin?callbackUrl=%2fp%3fnext%3dhttps%3a%2f%2fevil.example" },
    /* a network-path target is a path on this server */
    { NULL, "//evil.example/x", "/api/auth/signin?callbackUrl=%2fevil.example%2fx" },
    { NULL, "///evil", "/api/auth/signin?callbackUrl=%2fevil" },
    { NULL, "/\\evil.example/x", "/api/auth/signin?callbackUrl=%2fevil.example%2fx" },
    { NULL, "/\\/\\evil", "/api/auth/signin?callbackUrl=%2fevil" },
    /* absolute-form: its path and query only */
    { NULL, "http://evil.example/path?x", "/api/auth/signin?callbackUrl=%2fpath%3fx" },
    { NULL, "http://evil.example", "/api/auth/signin?callbackUrl=%2f" },
    { NULL, "https://evil.example//x?y=//z",
      "/api/auth/signin?callbackUrl=%2fx%3fy%3d%2f%2fz" },
    { "/auth", "/page", "/auth/signin?callbackUrl=%2fpage" },
    { "sso/", "/page", "/sso/signin?callbackUrl=%2fpage" },
    { "/", "/page", "/signin?callbackUrl=%2fpage" },
};

START_TEST(sign_in_redirect)
{
    int i;

    for (i = 0; i < (int)(sizeof(sign_in_cases) / sizeof(sign_in_cases[0])); i++) {
        const char *local[] = { NULL, NULL };
        server_rec *s;
        request_rec *r;

        if (sign_in_cases[i].local_path) {
            local[0] = apr_pstrcat(pool, "AuthProxyLocalPath ", sign_in_cases[i].local_path,
                                   NULL);
        }
        s = started(local);
        r = page_load(s, NULL, sign_in_cases[i].target);
        ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_MOVED_TEMPORARILY);
        expect_str(i, sign_in_cases[i].target, apr_table_get(r->headers_out, "Location"),
                   sign_in_cases[i].location);
        expect_str(i, "log", fake_log_last_tag(), "debug: AUTHPROXY002");
    }
}
END_TEST

/* A subrequest or an internal redirect comes back to what the visitor asked. */
START_TEST(sign_in_comes_back_to_the_original_request)
{
    server_rec *s = started(NULL);
    request_rec *r = page_load(s, NULL, "/orig?x=1");
    request_rec *sub = fake_subrequest(r, NULL, "/included");
    request_rec *next = fake_internal_redirect(r, NULL, "/error?code=1");
    request_rec *sub_of_next = fake_subrequest(next, NULL, "/deeper");
    request_rec *guarded[] = { sub, next, sub_of_next };
    int i;

    for (i = 0; i < 3; i++) {
        fake_auth(guarded[i], AUTH_TYPE, NULL);
        ck_assert_int_eq(fake_httpd.check_authn(guarded[i]), HTTP_MOVED_TEMPORARILY);
        expect_str(i, "Location", apr_table_get(guarded[i]->headers_out, "Location"),
                   "/api/auth/signin?callbackUrl=%2forig%3fx%3d1");
    }
}
END_TEST

/* A browser's navigation is sent to sign in; scripts, API clients and other
 * methods get 401 with a challenge. */
static const struct {
    const char *method, *accept, *requested_with, *fetch_mode;
    int status;
} navigation_cases[] = {
    { "GET", "text/html,application/xhtml+xml,*/*;q=0.8", NULL, NULL, HTTP_MOVED_TEMPORARILY },
    { "GET", "text/html", NULL, "navigate", HTTP_MOVED_TEMPORARILY },
    { "GET", "TEXT/HTML", NULL, "Navigate", HTTP_MOVED_TEMPORARILY },
    { "HEAD", "text/html", NULL, NULL, HTTP_MOVED_TEMPORARILY },
    { "GET", "application/json", NULL, NULL, HTTP_UNAUTHORIZED },
    { "GET", "*/*", NULL, NULL, HTTP_UNAUTHORIZED },
    { "GET", NULL, NULL, NULL, HTTP_UNAUTHORIZED },
    { "GET", "text/html", "XMLHttpRequest", NULL, HTTP_UNAUTHORIZED },
    { "GET", "text/html", NULL, "cors", HTTP_UNAUTHORIZED },
    { "GET", "text/html", NULL, "no-cors", HTTP_UNAUTHORIZED },
    { "GET", "text/html", NULL, "same-origin", HTTP_UNAUTHORIZED },
    { "POST", "text/html", NULL, NULL, HTTP_UNAUTHORIZED },
    { "PUT", "text/html", NULL, "navigate", HTTP_UNAUTHORIZED },
};

START_TEST(navigation_or_401)
{
    server_rec *s = started(NULL);
    int i;

    for (i = 0; i < (int)(sizeof(navigation_cases) / sizeof(navigation_cases[0])); i++) {
        request_rec *r = fake_request(pool, s, NULL, navigation_cases[i].method, "/app");
        int redirect = navigation_cases[i].status == HTTP_MOVED_TEMPORARILY;

        fake_auth(r, AUTH_TYPE, NULL);
        if (navigation_cases[i].accept) {
            apr_table_setn(r->headers_in, "Accept", navigation_cases[i].accept);
        }
        if (navigation_cases[i].requested_with) {
            apr_table_setn(r->headers_in, "X-Requested-With", navigation_cases[i].requested_with);
        }
        if (navigation_cases[i].fetch_mode) {
            apr_table_setn(r->headers_in, "Sec-Fetch-Mode", navigation_cases[i].fetch_mode);
        }
        ck_assert_msg(fake_httpd.check_authn(r) == navigation_cases[i].status, "case %d", i);
        expect_str(i, "Location", apr_table_get(r->headers_out, "Location"),
                   redirect ? "/api/auth/signin?callbackUrl=%2fapp" : NULL);
        expect_str(i, "WWW-Authenticate", apr_table_get(r->err_headers_out, "WWW-Authenticate"),
                   redirect ? NULL : "authjs realm=\"" HOST "\"");
    }
}
END_TEST

START_TEST(unauth_actions)
{
    server_rec *s = started(NULL);
    const char *always_401[] = { "AuthProxyUnauthAction 401", NULL };
    const char *pass[] = { "AuthProxyUnauthAction pass", NULL };
    request_rec *r = page_load(s, location(s, always_401), "/app");

    /* the realm is AuthName where there is one */
    fake_auth(r, AUTH_TYPE, "Members");
    ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_UNAUTHORIZED);
    ck_assert_str_eq(apr_table_get(r->err_headers_out, "WWW-Authenticate"),
                     "authjs realm=\"Members\"");
    r = page_load(s, location(s, pass), "/app");
    ck_assert_int_eq(fake_httpd.check_authn(r), OK);
    ck_assert_str_eq(r->user, "");
    ck_assert_str_eq(r->ap_auth_type, "authjs");
    /* another AuthType is not this module's; AuthType names are not case-sensitive */
    r = page_load(s, NULL, "/app");
    fake_auth(r, "Basic", NULL);
    ck_assert_int_eq(fake_httpd.check_authn(r), DECLINED);
    fake_auth(r, "AuthJS", NULL);
    ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_MOVED_TEMPORARILY);
}
END_TEST

START_TEST(authtype_without_upstream)
{
    server_rec *s = fake_server(pool, HOST, 80);

    ck_assert_int_eq(fake_httpd.check_authn(page_load(s, NULL, "/app")),
                     HTTP_INTERNAL_SERVER_ERROR);
    ck_assert_str_eq(fake_log_last_tag(), "error: AUTHPROXY001");
}
END_TEST

/* Sign-in stays reachable under a Location that requires a session: the
 * access hook grants a route before authentication and Require run. */
START_TEST(routes_are_never_guarded)
{
    server_rec *s = started(NULL);
    request_rec *r = page_load(s, NULL, "/api/auth/signin?x=1");

    ck_assert_int_eq(fake_httpd.pre_translate_name(r), DONE);
    ck_assert_str_eq(r->filename, "proxy:http://127.0.0.1:3000/api/auth/signin");
    ck_assert_str_eq(r->handler, "proxy-server");
    ck_assert_int_eq(fake_httpd.check_access_ex(r), OK);
    /* a path that only starts like the prefix is not a route */
    r = page_load(s, NULL, "/api/authx");
    ck_assert_int_eq(fake_httpd.pre_translate_name(r), DECLINED);
    ck_assert_int_eq(fake_httpd.check_access_ex(r), DECLINED);
    ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_MOVED_TEMPORARILY);
}
END_TEST

/* REMOTE_USER: AuthProxyRemoteUserClaim, else the email, else the id. */
static const struct {
    const char *claim;             /* AuthProxyRemoteUserClaim, NULL for the default */
    const char *claims;
    const char *user;
} user_cases[] = {
    { NULL, ALICE, "alice@example.com" },
    { "sub", ALICE, "u1" },
    { "org.role", ALICE, "owner" },
    { "level", ALICE, "3" },
    /* not one text: the email */
    { "roles", ALICE, "alice@example.com" },
    { "org", ALICE, "alice@example.com" },
    { "missing", ALICE, "alice@example.com" },
    { NULL, "{\"sub\":\"u2\"}", "u2" },
    { NULL, "{}", "" },
};

START_TEST(signed_in_user)
{
    server_rec *s = started(NULL);
    int i;

    for (i = 0; i < (int)(sizeof(user_cases) / sizeof(user_cases[0])); i++) {
        const char *claim[] = { NULL, NULL };
        request_rec *r;

        if (user_cases[i].claim) {
            claim[0] = apr_pstrcat(pool, "AuthProxyRemoteUserClaim ", user_cases[i].claim, NULL);
        }
        r = page_load(s, location(s, claim), "/app");
        signed_in(r, token_session(user_cases[i].claims), AUTHPROXY_SOURCE_LOCAL);
        ck_assert_int_eq(fake_httpd.check_authn(r), OK);
        expect_str(i, "user", r->user, user_cases[i].user);
        expect_str(i, "AuthType", r->ap_auth_type, "authjs");
    }
}
END_TEST

/* A signed-in visitor that Require refuses gets 403, not a sign-in loop. */
START_TEST(refused_by_require)
{
    server_rec *s = started(NULL);
    request_rec *r = page_load(s, NULL, "/admin");

    signed_in(r, token_session(ALICE), AUTHPROXY_SOURCE_LOCAL);
    ck_assert_int_eq(fake_httpd.check_authn(r), OK);
    apr_table_setn(r->err_headers_out, "WWW-Authenticate", "authjs realm=\"x\"");
    fake_httpd.require_status = HTTP_UNAUTHORIZED;
    ck_assert_int_eq(fake_httpd.check_authz(r), HTTP_FORBIDDEN);
    ck_assert_ptr_null(apr_table_get(r->err_headers_out, "WWW-Authenticate"));
    ck_assert_str_eq(fake_log_last_tag(), "info: AUTHPROXY003");
    ck_assert_int_eq(fake_log_count("info", "AUTHPROXY003", "'alice@example.com'", NULL), 1);
    fake_httpd.require_status = OK;
    ck_assert_int_eq(fake_httpd.check_authz(r), OK);
    /* anonymous: mod_authz_core's 401 stands */
    r = page_load(s, NULL, "/admin");
    fake_httpd.require_status = HTTP_UNAUTHORIZED;
    ck_assert_int_eq(fake_httpd.check_authz(r), HTTP_UNAUTHORIZED);
    /* another AuthType: not this module's to answer */
    fake_auth(r, "Basic", NULL);
    ck_assert_int_eq(fake_httpd.check_authz(r), DECLINED);
}
END_TEST

/* The token is refused and the visitor sent to sign in, and neither the
 * secret nor the token reaches the log. */
START_TEST(nothing_secret_is_logged)
{
    const char *secret[] = { "AuthProxySecret s3cret-value-0123456789", NULL };
    server_rec *s = started(secret);
    request_rec *r = page_load(s, NULL, "/app");

    ck_assert_ptr_nonnull(authproxy_sconf(s)->session_cookie[0].keyring);
    apr_table_setn(r->headers_in, "Cookie", "a=1; authjs.session-token=forged.token.value");
    ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_MOVED_TEMPORARILY);
    ck_assert_int_eq(fake_log_count("debug", "AUTHPROXY055", "authjs.session-token", NULL), 1);
    ck_assert(!fake_log_has("s3cret"));
    ck_assert(!fake_log_has("forged"));
}
END_TEST

/* Why a visitor is anonymous (the metrics' reasons), told apart by what the
 * cookie and its token were found to be. */
START_TEST(why_anonymous)
{
    const char *secret[] = { "AuthProxySecret s3cret-value-0123456789", NULL };
    static const struct {
        const char *cookie;
        authproxy_anonymous_e reason;
    } cases[] = {
        { NULL, AUTHPROXY_ANONYMOUS_NO_COOKIE },
        { "a=1; __Secure-authjs.session-token=x", AUTHPROXY_ANONYMOUS_NO_COOKIE },
        { "authjs.session-token=", AUTHPROXY_ANONYMOUS_BAD_COOKIE },
        { "authjs.session-token.0=a; authjs.session-token.2=c", AUTHPROXY_ANONYMOUS_BAD_COOKIE },
        { "authjs.session-token=forged.token.value", AUTHPROXY_ANONYMOUS_INVALID_TOKEN },
    };
    server_rec *s = started(secret);
    int i;

    for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
        request_rec *r = fake_request(pool, s, NULL, "GET", "/app");

        if (cases[i].cookie) {
            apr_table_setn(r->headers_in, "Cookie", cases[i].cookie);
        }
        ck_assert_ptr_null(authproxy_session_get(r));
        ck_assert_msg(authproxy_request(r)->anonymous == (int)cases[i].reason,
                      "case %d: reason %d, want %d", i, authproxy_request(r)->anonymous,
                      cases[i].reason);
    }
}
END_TEST

/* A Bearer token is read as getToken() reads it, where the original
 * request's directory says AuthProxyBearer On and no cookie holds a token;
 * what it resolves to is told as a cookie's, and that it came (req->bearer). */
START_TEST(bearer_as_the_cookie)
{
    const char *secret[] = { "AuthProxySecret s3cret-value-0123456789", NULL };
    const char *on[] = { "AuthProxyBearer On", NULL };
    static const struct {
        int on;
        const char *cookie, *authorization;
        authproxy_anonymous_e reason;
        int bearer;
    } cases[] = {
        { 1, NULL, NULL, AUTHPROXY_ANONYMOUS_NO_COOKIE, 0 },
        { 1, NULL, "Bearer forged.token.value", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        { 1, NULL, "Bearer forged%2Etoken", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        /* malformed: an invalid token, never a crash */
        { 1, NULL, "Bearer a%00b", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        { 1, NULL, "Bearer %zz", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        { 1, NULL, "Bearer", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        { 1, NULL, "Bearer x, Bearer y", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        /* not getToken()'s: no token */
        { 1, NULL, "bearer forged.token.value", AUTHPROXY_ANONYMOUS_NO_COOKIE, 0 },
        { 1, NULL, "Basic YWxpY2U6cHc=", AUTHPROXY_ANONYMOUS_NO_COOKIE, 0 },
        { 1, NULL, "Bearer  forged", AUTHPROXY_ANONYMOUS_NO_COOKIE, 0 },
        { 0, NULL, "Bearer forged.token.value", AUTHPROXY_ANONYMOUS_NO_COOKIE, 0 },
        /* the cookie wins where it holds a token, broken or not */
        { 1, "authjs.session-token=forged.cookie", "Bearer forged.token.value",
          AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 0 },
        { 1, "authjs.session-token.0=a; authjs.session-token.2=c", "Bearer forged",
          AUTHPROXY_ANONYMOUS_BAD_COOKIE, 0 },
        /* an empty one holds none */
        { 1, "authjs.session-token=", "Bearer forged", AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
        { 1, "authjs.session-token=", NULL, AUTHPROXY_ANONYMOUS_BAD_COOKIE, 0 },
        /* the other family's cookie is no cookie here */
        { 1, "__Secure-authjs.session-token=x", "Bearer forged",
          AUTHPROXY_ANONYMOUS_INVALID_TOKEN, 1 },
    };
    server_rec *s = started(secret);
    void *bearer = location(s, on);
    int i;

    for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
        request_rec *r = fake_request(pool, s, cases[i].on ? bearer : NULL, "GET", "/app");
        authproxy_request_t *req = authproxy_request(r);

        if (cases[i].cookie) {
            apr_table_setn(r->headers_in, "Cookie", cases[i].cookie);
        }
        if (cases[i].authorization) {
            apr_table_setn(r->headers_in, "Authorization", cases[i].authorization);
        }
        ck_assert_ptr_null(authproxy_session_get(r));
        ck_assert_msg(req->anonymous == (int)cases[i].reason && req->bearer == cases[i].bearer,
                      "case %d: reason %d, bearer %d; want %d, %d", i, req->anonymous,
                      req->bearer, cases[i].reason, cases[i].bearer);
    }
    ck_assert_int_eq(fake_log_count("debug", "AUTHPROXY055", "Bearer token for the cookie "
                                    "authjs.session-token", NULL), 4);
    ck_assert(!fake_log_has("forged"));
}
END_TEST

/* The original request's directory decides, whatever a subrequest's says. */
START_TEST(bearer_setting_of_the_original_request)
{
    const char *on[] = { "AuthProxyBearer On", NULL };
    server_rec *s = started(NULL);
    void *bearer = location(s, on);
    request_rec *r = fake_request(pool, s, bearer, "GET", "/app");
    request_rec *sub = fake_subrequest(r, NULL, "/included");

    apr_table_setn(r->headers_in, "Authorization", "Bearer %zz");
    authproxy_session_get(sub);
    ck_assert_int_eq(authproxy_request(r)->bearer, 1);
    r = fake_request(pool, s, NULL, "GET", "/app");
    sub = fake_subrequest(r, bearer, "/included");
    apr_table_setn(r->headers_in, "Authorization", "Bearer %zz");
    authproxy_session_get(sub);
    ck_assert_int_eq(authproxy_request(r)->bearer, 0);
    ck_assert_int_eq(authproxy_request(r)->anonymous, AUTHPROXY_ANONYMOUS_NO_COOKIE);
}
END_TEST

/* The WWW-Authenticate values of a response, joined with " | ". */
static const char *challenges(request_rec *r)
{
    const apr_array_header_t *h = apr_table_elts(r->err_headers_out);
    const apr_table_entry_t *e = (const apr_table_entry_t *)h->elts;
    const char *all = NULL;
    int i;

    for (i = 0; i < h->nelts; i++) {
        if (!strcasecmp(e[i].key, "WWW-Authenticate")) {
            all = all ? apr_pstrcat(pool, all, " | ", e[i].val, NULL) : e[i].val;
        }
    }
    return all;
}

/* RFC 6750's challenge where the directory takes Bearer tokens: a token that
 * resolved to no session is an invalid one, and never sent to sign in. */
START_TEST(bearer_challenges)
{
    const char *on[] = { "AuthProxyBearer On", NULL };
    const char *on_401[] = { "AuthProxyBearer On", "AuthProxyUnauthAction 401", NULL };
    const char *on_pass[] = { "AuthProxyBearer On", "AuthProxyUnauthAction pass", NULL };
    static const struct {
        int where;              /* 0 Bearer Off, 1 On, 2 On and 401, 3 On and pass */
        int navigation;
        const char *authorization;
        int status;
        const char *challenges;
    } cases[] = {
        { 0, 1, "Bearer forged", HTTP_MOVED_TEMPORARILY, NULL },
        { 0, 0, "Bearer forged", HTTP_UNAUTHORIZED, "authjs realm=\"" HOST "\"" },
        { 1, 1, NULL, HTTP_MOVED_TEMPORARILY, "Bearer realm=\"" HOST "\"" },
        { 1, 0, NULL, HTTP_UNAUTHORIZED,
          "authjs realm=\"" HOST "\" | Bearer realm=\"" HOST "\"" },
        { 1, 1, "Bearer forged", HTTP_UNAUTHORIZED,
          "authjs realm=\"" HOST "\" | Bearer realm=\"" HOST "\", error=\"invalid_token\"" },
        { 1, 0, "Bearer a%00", HTTP_UNAUTHORIZED,
          "authjs realm=\"" HOST "\" | Bearer realm=\"" HOST "\", error=\"invalid_token\"" },
        /* not a Bearer token: no credential */
        { 1, 1, "bearer forged", HTTP_MOVED_TEMPORARILY, "Bearer realm=\"" HOST "\"" },
        { 2, 1, NULL, HTTP_UNAUTHORIZED,
          "authjs realm=\"" HOST "\" | Bearer realm=\"" HOST "\"" },
        { 2, 1, "Bearer forged", HTTP_UNAUTHORIZED,
          "authjs realm=\"" HOST "\" | Bearer realm=\"" HOST "\", error=\"invalid_token\"" },
        { 3, 1, "Bearer forged", OK, NULL },
    };
    server_rec *s = started(NULL);
    void *dconfs[] = { NULL, location(s, on), location(s, on_401), location(s, on_pass) };
    int i;

    for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
        request_rec *r = page_load(s, dconfs[cases[i].where], "/app");
        int status;

        if (!cases[i].navigation) {
            apr_table_setn(r->headers_in, "Accept", "application/json");
        }
        if (cases[i].authorization) {
            apr_table_setn(r->headers_in, "Authorization", cases[i].authorization);
        }
        status = fake_httpd.check_authn(r);
        ck_assert_msg(status == cases[i].status, "case %d: %d", i, status);
        expect_str(i, "WWW-Authenticate", challenges(r), cases[i].challenges);
        expect_str(i, "Location", apr_table_get(r->headers_out, "Location"),
                   status == HTTP_MOVED_TEMPORARILY ? "/api/auth/signin?callbackUrl=%2fapp"
                                                    : NULL);
    }
    ck_assert_int_eq(fake_log_count("debug", "AUTHPROXY064", NULL), 3);
}
END_TEST

/* ---- Require authjs-claim and authjs-session ------------------------------------- */

static const authz_provider *provider(const char *name)
{
    const authz_provider *p = ap_lookup_provider(AUTHZ_PROVIDER_GROUP, name,
                                                 AUTHZ_PROVIDER_VERSION);

    ck_assert_msg(p != NULL, "no provider %s", name);
    return p;
}

static const char *parse_claim(const char *line, const void **parsed)
{
    cmd_parms cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.pool = cmd.temp_pool = pool;
    *parsed = NULL;
    return provider("authjs-claim")->parse_require_line(&cmd, line, parsed);
}

static const struct {
    const char *line, *error;
} claim_parse_cases[] = {
    { "email alice@example.com", NULL },
    { "email ~ @example\\.com$", NULL },
    { "name \"Alice Smith\"", NULL },
    { "name ~ 'Alice .*'", NULL },
    { "", "Require authjs-claim: give a claim and a value (NAME VALUE), or a regular "
          "expression (NAME ~ REGEX)" },
    { "email", "Require authjs-claim: give a claim and a value (NAME VALUE), or a regular "
               "expression (NAME ~ REGEX)" },
    { "email ~", "Require authjs-claim email ~: the regular expression is missing" },
    { "email ~ (", "Require authjs-claim email: '(' is not a valid regular expression" },
    { "name Alice Smith", "Require authjs-claim name: unexpected 'Smith' (quote a value or "
                          "expression that holds spaces)" },
    { "email ~ a b c", "Require authjs-claim email: unexpected 'b c' (quote a value or "
                       "expression that holds spaces)" },
};

START_TEST(claim_lines)
{
    int i;

    for (i = 0; i < (int)(sizeof(claim_parse_cases) / sizeof(claim_parse_cases[0])); i++) {
        const void *parsed;

        expect_str(i, claim_parse_cases[i].line, parse_claim(claim_parse_cases[i].line, &parsed),
                   claim_parse_cases[i].error);
        ck_assert_msg(!parsed == !!claim_parse_cases[i].error, "case %d: parsed", i);
    }
}
END_TEST

#define FROM_UPSTREAM "{\"user\":{\"id\":\"u1\",\"name\":\"Alice\"," \
                      "\"email\":\"alice@example.com\"}," \
                      "\"expires\":\"2999-01-01T00:00:00.000Z\",\"tenant\":\"acme\"," \
                      "\"teams\":[\"red\",\"blue\"]}"

static const struct {
    int from_upstream;             /* session: a /session answer, else a token's claims */
    const char *session;
    const char *line;
    authz_status status;
} claim_cases[] = {
    { 0, ALICE, "email alice@example.com", AUTHZ_GRANTED },
    { 0, ALICE, "email bob@example.com", AUTHZ_DENIED },
    { 0, ALICE, "email Alice@Example.com", AUTHZ_DENIED },
    { 0, ALICE, "email ~ @example\\.com$", AUTHZ_GRANTED },
    { 0, ALICE, "email ~ ^bob", AUTHZ_DENIED },
    { 0, ALICE, "\"email\" \"alice@example.com\"", AUTHZ_GRANTED },
    /* an array: any element */
    { 0, ALICE, "roles admin", AUTHZ_GRANTED },
    { 0, ALICE, "roles dev", AUTHZ_GRANTED },
    { 0, ALICE, "roles ops", AUTHZ_DENIED },
    { 0, ALICE, "roles ~ ^de", AUTHZ_GRANTED },
    { 0, ALICE, "roles admin,dev", AUTHZ_DENIED },
    /* numbers and booleans as JSON writes them */
    { 0, ALICE, "level 3", AUTHZ_GRANTED },
    { 0, ALICE, "level 3.0", AUTHZ_DENIED },
    { 0, ALICE, "ratio 1.5", AUTHZ_GRANTED },
    { 0, ALICE, "verified true", AUTHZ_GRANTED },
    { 0, ALICE, "verified false", AUTHZ_DENIED },
    /* dotted paths into objects; an object or null offers nothing */
    { 0, ALICE, "org.role owner", AUTHZ_GRANTED },
    { 0, ALICE, "org.ids 7", AUTHZ_GRANTED },
    { 0, ALICE, "org.role.x owner", AUTHZ_DENIED },
    { 0, ALICE, "org owner", AUTHZ_DENIED },
    { 0, ALICE, "org ~ .", AUTHZ_DENIED },
    { 0, ALICE, "nothing null", AUTHZ_DENIED },
    { 0, ALICE, "missing x", AUTHZ_DENIED },
    /* user.X of a token is X */
    { 0, ALICE, "user.email alice@example.com", AUTHZ_GRANTED },
    { 0, ALICE, "user.sub u1", AUTHZ_GRANTED },
    /* X of a /session answer is user.X where it has no X */
    { 1, FROM_UPSTREAM, "email alice@example.com", AUTHZ_GRANTED },
    { 1, FROM_UPSTREAM, "user.email alice@example.com", AUTHZ_GRANTED },
    { 1, FROM_UPSTREAM, "name ~ ^Ali", AUTHZ_GRANTED },
    { 1, FROM_UPSTREAM, "tenant acme", AUTHZ_GRANTED },
    { 1, FROM_UPSTREAM, "teams blue", AUTHZ_GRANTED },
    { 1, FROM_UPSTREAM, "user.tenant acme", AUTHZ_DENIED },
    { 1, FROM_UPSTREAM, "sub u1", AUTHZ_DENIED },
};

START_TEST(claim_matching)
{
    server_rec *s = started(NULL);
    int i;

    for (i = 0; i < (int)(sizeof(claim_cases) / sizeof(claim_cases[0])); i++) {
        request_rec *r = page_load(s, NULL, "/admin");
        const void *parsed;
        authz_status status;

        ck_assert_ptr_null(parse_claim(claim_cases[i].line, &parsed));
        if (claim_cases[i].from_upstream) {
            signed_in(r, answer_session(claim_cases[i].session), AUTHPROXY_SOURCE_UPSTREAM);
        }
        else {
            signed_in(r, token_session(claim_cases[i].session), AUTHPROXY_SOURCE_LOCAL);
        }
        ck_assert_int_eq(fake_httpd.check_authn(r), OK);
        status = provider("authjs-claim")->check_authorization(r, claim_cases[i].line, parsed);
        ck_assert_msg(status == claim_cases[i].status, "case %d (%s): %d", i,
                      claim_cases[i].line, status);
        if (status == AUTHZ_DENIED) {
            expect_str(i, "log", fake_log_last_tag(), "debug: AUTHPROXY004");
            ck_assert_msg(fake_log_count("debug", "AUTHPROXY004", claim_cases[i].line,
                                         "'alice@example.com'", NULL) == 1, "case %d", i);
        }
    }
}
END_TEST

/* Without a session: AuthType authjs is asked to find the user first (and
 * then sends to sign in); elsewhere the session alone decides. */
START_TEST(requires_without_a_session)
{
    server_rec *s = started(NULL);
    request_rec *r = page_load(s, NULL, "/admin");
    const void *parsed;

    ck_assert_ptr_null(parse_claim("email alice@example.com", &parsed));
    ck_assert_int_eq(provider("authjs-session")->check_authorization(r, "", NULL),
                     AUTHZ_DENIED_NO_USER);
    ck_assert_int_eq(provider("authjs-claim")->check_authorization(r, "", parsed),
                     AUTHZ_DENIED_NO_USER);
    /* another AuthType's user, without a session */
    fake_auth(r, "Basic", NULL);
    r->user = "bob";
    ck_assert_int_eq(provider("authjs-session")->check_authorization(r, "", NULL), AUTHZ_DENIED);
    ck_assert_int_eq(provider("authjs-claim")->check_authorization(r, "", parsed), AUTHZ_DENIED);
    /* no AuthType at all, with a session */
    r = fake_request(pool, s, NULL, "GET", "/admin");
    signed_in(r, token_session(ALICE), AUTHPROXY_SOURCE_LOCAL);
    ck_assert_int_eq(provider("authjs-session")->check_authorization(r, "", NULL),
                     AUTHZ_GRANTED);
    ck_assert_int_eq(provider("authjs-claim")->check_authorization(r, "", parsed),
                     AUTHZ_GRANTED);
}
END_TEST

/* A CORS preflight (OPTIONS, Origin, Access-Control-Request-Method) passes
 * AuthType authjs and this module's Require providers without its session
 * being looked at, cookie or not; anything short of one, or AuthProxyPreflight
 * auth, is a request as before. */
static request_rec *preflight(server_rec *s, void *dconf, const char *method, int origin,
                              int request_method)
{
    request_rec *r = fake_request(pool, s, dconf, method, "/api/items");

    fake_auth(r, AUTH_TYPE, NULL);
    apr_table_setn(r->headers_in, "Cookie", "authjs.session-token=anything");
    if (origin) {
        apr_table_setn(r->headers_in, "Origin", "https://other.example");
    }
    if (request_method) {
        apr_table_setn(r->headers_in, "Access-Control-Request-Method", "PUT");
    }
    return r;
}

START_TEST(cors_preflights)
{
    server_rec *s = started(NULL);
    const char *auth[] = { "AuthProxyPreflight auth", NULL };
    void *auth_here = location(s, auth);
    request_rec *r = preflight(s, NULL, "OPTIONS", 1, 1);
    const void *parsed;

    ck_assert_ptr_null(parse_claim("email alice@example.com", &parsed));
    ck_assert_int_eq(fake_httpd.check_authn(r), OK);
    ck_assert_str_eq(r->user, "");
    ck_assert_int_eq(fake_log_count("debug", "AUTHPROXY070", "AuthProxyPreflight pass", NULL), 1);
    ck_assert_ptr_null(authproxy_session_get(r));
    ck_assert_ptr_null(authproxy_request(r)->identity);
    ck_assert_int_eq(provider("authjs-session")->check_authorization(r, "", NULL),
                     AUTHZ_GRANTED);
    ck_assert_int_eq(provider("authjs-claim")->check_authorization(r, "", parsed),
                     AUTHZ_GRANTED);
    /* before authentication, as mod_authz_core asks first */
    r = preflight(s, NULL, "OPTIONS", 1, 1);
    ck_assert_int_eq(provider("authjs-session")->check_authorization(r, "", NULL),
                     AUTHZ_GRANTED);
    ck_assert_ptr_null(authproxy_session_get(r));
    /* no preflight: OPTIONS alone, or without its Origin, or another method */
    ck_assert_int_eq(fake_httpd.check_authn(preflight(s, NULL, "OPTIONS", 0, 0)),
                     HTTP_UNAUTHORIZED);
    ck_assert_int_eq(fake_httpd.check_authn(preflight(s, NULL, "OPTIONS", 1, 0)),
                     HTTP_UNAUTHORIZED);
    ck_assert_int_eq(fake_httpd.check_authn(preflight(s, NULL, "OPTIONS", 0, 1)),
                     HTTP_UNAUTHORIZED);
    r = preflight(s, NULL, "POST", 1, 1);
    ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_UNAUTHORIZED);
    ck_assert_ptr_nonnull(authproxy_request(r)->identity);
    ck_assert_int_eq(provider("authjs-session")->check_authorization(preflight(s, NULL, "OPTIONS",
                                                                               1, 0), "", NULL),
                     AUTHZ_DENIED_NO_USER);
    /* AuthProxyPreflight auth: as before */
    r = preflight(s, auth_here, "OPTIONS", 1, 1);
    ck_assert_int_eq(provider("authjs-session")->check_authorization(r, "", NULL),
                     AUTHZ_DENIED_NO_USER);
    ck_assert_int_eq(fake_httpd.check_authn(r), HTTP_UNAUTHORIZED);
    ck_assert_ptr_nonnull(authproxy_request(r)->identity);
}
END_TEST

/* AuthProxyTraceParent: worked out once a request, its value the
 * environment's AUTHPROXY_TRACEPARENT; nothing under off, nor under
 * propagate without a valid traceparent. */
START_TEST(traceparents_of_a_request)
{
    static const char *const off[] = { NULL };
    static const char *const propagate[] = { "AuthProxyTraceParent propagate", NULL };
    static const char *const generate[] = { "AuthProxyTraceParent generate", NULL };
    static const char incoming[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    server_rec *s = started(off);
    request_rec *r = fake_request(pool, s, NULL, "GET", "/");
    const char *sent;

    apr_table_setn(r->headers_in, "traceparent", incoming);
    ck_assert_ptr_null(authproxy_trace_parent(r, authproxy_sconf(s)));
    ck_assert_ptr_null(apr_table_get(r->subprocess_env, "AUTHPROXY_TRACEPARENT"));

    s = started(propagate);
    r = fake_request(pool, s, NULL, "GET", "/");
    /* one flag digit short */
    apr_table_setn(r->headers_in, "traceparent", apr_pstrndup(pool, incoming, 54));
    ck_assert_ptr_null(authproxy_trace_parent(r, authproxy_sconf(s)));
    r = fake_request(pool, s, NULL, "GET", "/");
    apr_table_setn(r->headers_in, "traceparent", incoming);
    sent = authproxy_trace_parent(r, authproxy_sconf(s));
    ck_assert_ptr_nonnull(sent);
    ck_assert_int_eq(strlen(sent), 55);
    ck_assert(!strncmp(sent, incoming, 36) && strcmp(sent, incoming) && !strcmp(sent + 52, "-01"));
    /* the request's other calls: the same span */
    ck_assert_str_eq(authproxy_trace_parent(r, authproxy_sconf(s)), sent);
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHPROXY_TRACEPARENT"), sent);

    s = started(generate);
    r = fake_request(pool, s, NULL, "GET", "/");
    sent = authproxy_trace_parent(r, authproxy_sconf(s));
    ck_assert_ptr_nonnull(sent);
    ck_assert_int_eq(strlen(sent), 55);
    ck_assert(!strncmp(sent, "00-", 3) && !strcmp(sent + 52, "-01"));
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHPROXY_TRACEPARENT"), sent);
}
END_TEST

/* ---- publishing and scrubbing ---------------------------------------------------- */

#define PUBLISHED "{\"sub\":\"u1\",\"name\":\"Alice\",\"email\":\"alice@example.com\"," \
                  "\"picture\":\"https://img.example/a.png\",\"exp\":4102444800," \
                  "\"role\":\"admin\",\"x-team_name\":\"core\",\"groups\":[\"a\",\"b\"]}"

/* Each variable and the header a proxied backend gets it as. */
static const struct {
    const char *var, *header, *value;
} published[] = {
    { "AUTHJS_USER_ID", "X-Authjs-User-Id", "u1" },
    { "AUTHJS_USER_NAME", "X-Authjs-User-Name", "Alice" },
    { "AUTHJS_USER_EMAIL", "X-Authjs-User-Email", "alice@example.com" },
    { "AUTHJS_USER_IMAGE", "X-Authjs-User-Image", "https://img.example/a.png" },
    { "AUTHJS_EXPIRES", "X-Authjs-Expires", "2100-01-01T00:00:00.000Z" },
    { "AUTHJS_SESSION", "X-Authjs-Session",
      "{\"user\":{\"name\":\"Alice\",\"email\":\"alice@example.com\","
      "\"image\":\"https://img.example/a.png\",\"id\":\"u1\"},"
      "\"expires\":\"2100-01-01T00:00:00.000Z\"}" },
    { "AUTHJS_SESSION_SOURCE", "X-Authjs-Session-Source", "local" },
    { "AUTHJS_CLAIM_EXP", "X-Authjs-Claim-Exp", "4102444800" },
    { "AUTHJS_CLAIM_ROLE", "X-Authjs-Claim-Role", "admin" },
    { "AUTHJS_CLAIM_X_TEAM_NAME", "X-Authjs-Claim-X-Team-Name", "core" },
    { "AUTHJS_CLAIM_GROUPS", "X-Authjs-Claim-Groups", "a,b" },
};

#define PUBLISHED_N (int)(sizeof(published) / sizeof(published[0]))

static int count_authjs(void *count, const char *key, const char *value)
{
    if (!strncmp(key, "AUTHJS_", 7) || authproxy_header_is_authjs(key)) {
        (*(int *)count)++;
    }
    return 1;
}

static int authjs_in(const apr_table_t *t)
{
    int n = 0;

    apr_table_do(count_authjs, &n, t, NULL);
    return n;
}

/* The value of the header spelt exactly `name`: tables compare names
 * ignoring case, a backend may not. */
static const char *spelt(const apr_table_t *t, const char *name)
{
    const apr_array_header_t *elts = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    int i;

    for (i = 0; i < elts->nelts; i++) {
        if (!strcmp(e[i].key, name)) {
            return e[i].val;
        }
    }
    return NULL;
}

START_TEST(variables_and_header_names)
{
    const char *headers[] = { "AuthProxyPassHeaders On", NULL };
    server_rec *s = started(NULL);
    request_rec *r = fake_request(pool, s, location(s, headers), "GET", "/app");
    int i;

    signed_in(r, token_session(PUBLISHED), AUTHPROXY_SOURCE_LOCAL);
    ck_assert_int_eq(fake_httpd.fixups(r), DECLINED);
    for (i = 0; i < PUBLISHED_N; i++) {
        expect_str(i, published[i].var, apr_table_get(r->subprocess_env, published[i].var),
                   published[i].value);
        expect_str(i, "note", apr_table_get(r->notes, published[i].var), published[i].value);
        expect_str(i, published[i].header, spelt(r->headers_in, published[i].header),
                   published[i].value);
    }
    ck_assert_int_eq(authjs_in(r->subprocess_env), PUBLISHED_N);
    ck_assert_int_eq(authjs_in(r->headers_in), PUBLISHED_N);
    /* without AuthProxyPassHeaders: the variables only */
    r = fake_request(pool, s, NULL, "GET", "/app");
    signed_in(r, token_session(PUBLISHED), AUTHPROXY_SOURCE_LOCAL);
    fake_httpd.fixups(r);
    ck_assert_int_eq(authjs_in(r->subprocess_env), PUBLISHED_N);
    ck_assert_int_eq(authjs_in(r->headers_in), 0);
}
END_TEST

/* A readiness probe is no visitor (nor is any request to this module's
 * handlers): with a cookie (or a Bearer token where
 * they count), its fixups resolve nothing, publish nothing, count nothing. */
START_TEST(health_probe_resolves_no_session)
{
    const char *secret[] = { "AuthProxySecret s3cret-value-0123456789", NULL };
    const char *bearer[] = { "AuthProxyBearer On", NULL };
    server_rec *s = started(secret);
    request_rec *r = fake_request(pool, s, location(s, bearer), "GET", "/health");

    apr_table_setn(r->headers_in, "Cookie", "authjs.session-token=forged.token.value");
    apr_table_setn(r->headers_in, "Authorization", "Bearer forged.token.value");
    r->handler = AUTHPROXY_HEALTH_HANDLER;
    ck_assert_int_eq(authproxy_session_enabled(r), 0);
    ck_assert_int_eq(fake_httpd.fixups(r), DECLINED);
    ck_assert_int_eq(authproxy_request(r)->resolved, 0);
    ck_assert_int_eq(authjs_in(r->subprocess_env), 0);
    /* the same request to a page is resolved */
    r->handler = NULL;
    ck_assert_int_eq(authproxy_session_enabled(r), 1);
}
END_TEST

START_TEST(what_is_not_a_header)
{
    const char *lines[] = { "AuthProxyPassHeaders On", "AuthProxyPassToken On", NULL };
    server_rec *s = started(NULL);
    request_rec *r = fake_request(pool, s, location(s, lines), "GET", "/app");

    signed_in(r, token_session("{\"sub\":\"u1\",\"note\":\"a\\r\\nX-Evil: 1\"}"), AUTHPROXY_SOURCE_LOCAL);
    fake_httpd.fixups(r);
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHJS_CLAIM_NOTE"), "a\r\nX-Evil: 1");
    ck_assert_ptr_null(apr_table_get(r->headers_in, "X-Authjs-Claim-Note"));
    ck_assert_int_eq(fake_log_count("debug", "AUTHPROXY026", "AUTHJS_CLAIM_NOTE", NULL), 1);
    /* AuthProxyPassToken: the raw cookie value, never logged */
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHJS_TOKEN"), "the-raw-token");
    ck_assert_str_eq(spelt(r->headers_in, "X-Authjs-Token"), "the-raw-token");
    ck_assert(!fake_log_has("the-raw-token"));
}
END_TEST

/* Whatever the client sent that looks like the module's is gone before the
 * module publishes: X-Authjs-* in any spelling, AUTHJS_* variables. */
static const char *const spoofed[] = {
    "X-Authjs-User-Email", "x-authjs-user-id", "X_AUTHJS_CLAIM_ROLE", "X-AuthJS_Session",
    "xauthjs-expires", "X-Authjs-Anything-Else"
};

#define SPOOFED_N (int)(sizeof(spoofed) / sizeof(spoofed[0]))

static request_rec *spoofing(server_rec *s, void *dconf, const char *target)
{
    request_rec *r = fake_request(pool, s, dconf, "GET", target);
    int i;

    for (i = 0; i < SPOOFED_N; i++) {
        apr_table_addn(r->headers_in, spoofed[i], "mallory@evil.example");
    }
    apr_table_setn(r->headers_in, "X-Auth-Token", "kept");
    apr_table_setn(r->subprocess_env, "AUTHJS_USER_EMAIL", "mallory@evil.example");
    apr_table_setn(r->subprocess_env, "AUTHJS_CLAIM_ADMIN", "1");
    apr_table_setn(r->notes, "AUTHJS_USER_ID", "666");
    apr_table_setn(r->subprocess_env, "authjs_lower", "kept: variables are case-sensitive");
    return r;
}

START_TEST(client_claims_are_scrubbed)
{
    const char *headers[] = { "AuthProxyPassHeaders On", NULL };
    server_rec *s = started(NULL);
    void *dconf = location(s, headers);
    request_rec *r = spoofing(s, dconf, "/app");
    int i;

    signed_in(r, token_session(PUBLISHED), AUTHPROXY_SOURCE_LOCAL);
    fake_httpd.fixups(r);
    for (i = 0; i < SPOOFED_N; i++) {
        ck_assert_msg(fake_log_count("info", "AUTHPROXY024", spoofed[i], NULL) == 1, "%s",
                      spoofed[i]);
    }
    ck_assert_int_eq(authjs_in(r->headers_in), PUBLISHED_N);
    ck_assert_str_eq(spelt(r->headers_in, "X-Authjs-User-Email"), "alice@example.com");
    ck_assert_str_eq(apr_table_get(r->headers_in, "X-Auth-Token"), "kept");
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHJS_USER_EMAIL"), "alice@example.com");
    ck_assert_ptr_null(apr_table_get(r->subprocess_env, "AUTHJS_CLAIM_ADMIN"));
    ck_assert_str_eq(apr_table_get(r->notes, "AUTHJS_USER_ID"), "u1");
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "authjs_lower"),
                     "kept: variables are case-sensitive");
    /* anonymous: nothing of the kind left */
    r = spoofing(s, dconf, "/app");
    fake_httpd.fixups(r);
    ck_assert_int_eq(authjs_in(r->headers_in), 0);
    ck_assert_int_eq(authjs_in(r->subprocess_env), 0);
    ck_assert_int_eq(authjs_in(r->notes), 0);
    /* an auth route: the headers go (the upstream trusts none), nothing is published */
    r = spoofing(s, NULL, "/api/auth/session");
    ck_assert_int_eq(fake_httpd.pre_translate_name(r), DONE);
    fake_httpd.fixups(r);
    ck_assert_int_eq(authjs_in(r->headers_in), 0);
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHJS_USER_EMAIL"),
                     "mallory@evil.example");
    /* where the module is off, it touches nothing */
    r = spoofing(fake_server(pool, HOST, 80), NULL, "/app");
    ck_assert_int_eq(fake_httpd.fixups(r), DECLINED);
    ck_assert_int_eq(authjs_in(r->headers_in), SPOOFED_N);
}
END_TEST

/* headers_in is the whole request's: a subrequest leaves the request's
 * headers be, an internal redirect's target sets its own, and neither takes
 * them for the client's. */
START_TEST(headers_across_subrequests_and_redirects)
{
    const char *headers[] = { "AuthProxyPassHeaders On", NULL };
    server_rec *s = started(NULL);
    void *with = location(s, headers);
    request_rec *r = fake_request(pool, s, with, "GET", "/app");
    request_rec *next;

    signed_in(r, token_session(PUBLISHED), AUTHPROXY_SOURCE_LOCAL);
    fake_httpd.fixups(r);
    ck_assert_int_eq(authjs_in(r->headers_in), PUBLISHED_N);
    fake_httpd.fixups(fake_subrequest(r, NULL, "/index.html"));
    fake_httpd.fixups(fake_subrequest(r, with, "/other"));
    ck_assert_int_eq(authjs_in(r->headers_in), PUBLISHED_N);
    next = fake_internal_redirect(r, with, "/error");
    fake_httpd.fixups(next);
    ck_assert_int_eq(authjs_in(next->headers_in), PUBLISHED_N);
    ck_assert_str_eq(spelt(next->headers_in, "X-Authjs-User-Email"), "alice@example.com");
    next = fake_internal_redirect(next, NULL, "/plain");
    fake_httpd.fixups(next);
    ck_assert_int_eq(authjs_in(next->headers_in), 0);
    ck_assert_int_eq(fake_log_count("info", "AUTHPROXY024", NULL), 0);
}
END_TEST

START_TEST(claim_headers_on_every_pass)
{
    const char *lines[] = { "AuthProxyClaimHeader X-User email", "AuthProxyClaimHeader "
                            "X-Groups groups", "AuthProxyClaimHeader X-None nothing", NULL };
    const char *off[] = { "AuthProxySession Off", "AuthProxyClaimHeader X-User email", NULL };
    server_rec *s = started(NULL), *bare = fake_server(pool, "bare.example", 80);
    void *with = location(s, lines), *session_off = location(s, off);
    void *bare_with = location(bare, lines);
    int i;
    request_rec *r = fake_request(pool, s, with, "GET", "/app"), *next;

    apr_table_setn(r->headers_in, "x_user", "mallory");
    apr_table_setn(r->headers_in, "X-NONE", "mallory");
    signed_in(r, token_session(PUBLISHED), AUTHPROXY_SOURCE_LOCAL);
    fake_httpd.fixups(r);
    ck_assert_str_eq(spelt(r->headers_in, "X-User"), "alice@example.com");
    ck_assert_str_eq(spelt(r->headers_in, "X-Groups"), "a,b");
    ck_assert_ptr_null(spelt(r->headers_in, "x_user"));
    ck_assert_ptr_null(apr_table_get(r->headers_in, "X-None"));
    ck_assert_int_eq(fake_log_count("info", "AUTHPROXY066", NULL), 2);
    /* a redirect's pass sets them anew, and says nothing more */
    next = fake_internal_redirect(r, with, "/error");
    fake_httpd.fixups(next);
    ck_assert_str_eq(spelt(next->headers_in, "X-User"), "alice@example.com");
    ck_assert_int_eq(fake_log_count("info", "AUTHPROXY066", NULL), 2);
    /* anonymous, AuthProxySession Off, or the module off: removed all the same */
    for (i = 0; i < 3; i++) {
        r = i == 2 ? fake_request(pool, bare, bare_with, "GET", "/app")
                   : fake_request(pool, s, i == 1 ? session_off : with, "GET", "/app");
        apr_table_setn(r->headers_in, "X-USER", "mallory");
        fake_httpd.fixups(r);
        ck_assert_msg(apr_table_get(r->headers_in, "X-User") == NULL, "case %d", i);
    }
}
END_TEST

START_TEST(session_cookie_stripped)
{
    const char *strip[] = { "AuthProxyStripCookie On", NULL };
    server_rec *s = started(NULL);
    void *dconf = location(s, strip);
    request_rec *r = fake_request(pool, s, dconf, "GET", "/app");

    apr_table_setn(r->headers_in, "Cookie", "a=1; authjs.session-token=tok; b=2");
    fake_httpd.fixups(r);
    ck_assert_str_eq(apr_table_get(r->headers_in, "Cookie"), "a=1; b=2");
    r = fake_request(pool, s, dconf, "GET", "/app");
    apr_table_setn(r->headers_in, "Cookie", "authjs.session-token.0=t; authjs.session-token.1=u");
    fake_httpd.fixups(r);
    ck_assert_ptr_null(apr_table_get(r->headers_in, "Cookie"));
    r = fake_request(pool, s, NULL, "GET", "/app");
    apr_table_setn(r->headers_in, "Cookie", "a=1; authjs.session-token=tok");
    fake_httpd.fixups(r);
    ck_assert_str_eq(apr_table_get(r->headers_in, "Cookie"), "a=1; authjs.session-token=tok");
}
END_TEST

static int count_entries(void *count, const char *key, const char *value)
{
    (*(int *)count)++;
    return 1;
}

static int entries(const apr_table_t *t)
{
    int n = 0;

    apr_table_do(count_entries, &n, t, NULL);
    return n;
}

/* AuthProxyStripBearer: Authorization goes once its token gave the session;
 * a token the module refused (an app's own API key?) and a cookie's session
 * leave it be. An anonymous answer where tokens count varies by it. */
START_TEST(bearer_stripped)
{
    const char *secret[] = { "AuthProxySecret s3cret-value-0123456789", NULL };
    const char *strip[] = { "AuthProxyBearer On", "AuthProxyStripBearer On", NULL };
    const char *keep[] = { "AuthProxyBearer On", NULL };
    server_rec *s = started(secret);
    void *dconf = location(s, strip);
    request_rec *r = fake_request(pool, s, dconf, "GET", "/app");

    apr_table_setn(r->headers_in, "Authorization", "Bearer tok");
    signed_in(r, token_session(ALICE), AUTHPROXY_SOURCE_BEARER);
    authproxy_request(r)->bearer = 1;
    fake_httpd.fixups(r);
    ck_assert_ptr_null(apr_table_get(r->headers_in, "Authorization"));
    ck_assert_str_eq(apr_table_get(r->subprocess_env, "AUTHJS_SESSION_SOURCE"), "bearer");
    r = fake_request(pool, s, dconf, "GET", "/app");
    apr_table_setn(r->headers_in, "Authorization", "Bearer tok");
    signed_in(r, token_session(ALICE), AUTHPROXY_SOURCE_LOCAL);
    fake_httpd.fixups(r);
    ck_assert_str_eq(apr_table_get(r->headers_in, "Authorization"), "Bearer tok");
    r = fake_request(pool, s, dconf, "GET", "/app");
    apr_table_setn(r->headers_in, "Authorization", "Bearer forged.token.value");
    fake_httpd.fixups(r);
    ck_assert_int_eq(authproxy_request(r)->bearer, 1);
    ck_assert_str_eq(apr_table_get(r->headers_in, "Authorization"), "Bearer forged.token.value");
    ck_assert_str_eq(apr_table_get(r->err_headers_out, "Vary"), "Cookie, Authorization");
    r = fake_request(pool, s, location(s, keep), "GET", "/app");
    apr_table_setn(r->headers_in, "Authorization", "Bearer tok");
    signed_in(r, token_session(ALICE), AUTHPROXY_SOURCE_BEARER);
    authproxy_request(r)->bearer = 1;
    fake_httpd.fixups(r);
    ck_assert_str_eq(apr_table_get(r->headers_in, "Authorization"), "Bearer tok");
    r = fake_request(pool, s, NULL, "GET", "/app");
    fake_httpd.fixups(r);
    ck_assert_str_eq(apr_table_get(r->err_headers_out, "Vary"), "Cookie");
}
END_TEST

START_TEST(header_replace_every_spelling)
{
    apr_table_t *t = apr_table_make(pool, 8);

    apr_table_addn(t, "X-Forwarded-Host", "a");
    apr_table_addn(t, "x_forwarded_host", "b");
    apr_table_addn(t, "X-FORWARDED_HOST", "c");
    apr_table_addn(t, "X-Forwarded-Hosts", "kept");
    apr_table_addn(t, "X-Forwarded-For", "kept");
    authproxy_header_replace(t, "X-Forwarded-Host", "app.example");
    ck_assert_int_eq(entries(t), 3);
    ck_assert_str_eq(apr_table_get(t, "X-Forwarded-Host"), "app.example");
    ck_assert_str_eq(apr_table_get(t, "X-Forwarded-Hosts"), "kept");
    ck_assert_str_eq(apr_table_get(t, "X-Forwarded-For"), "kept");
}
END_TEST

START_TEST(origin_claims_removed)
{
    static const char *const claims[] = {
        "Forwarded", "x-forwarded-port", "X_Forwarded_Scheme", "X-FORWARDED-SSL",
        "x-forwarded-protocol", "X-Url-Scheme", "x_scheme", "X-Proxied-Https", "front_end_https",
        "X-Original-Host", "x-host", "X-FORWARDED-PREFIX", "X-Forwarded-Path", "X-Script-Name",
        "SCRIPT_NAME", "x-forwarded-uri", "X-Original-URL", "x_rewrite_url", "X-Original-URI"
    };
    static const char *const kept[] = {
        "Host", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Hosted",
        "X-Forwarded-Server"
    };
    const apr_size_t n_kept = sizeof(kept) / sizeof(kept[0]);
    int from_client;
    apr_size_t i;

    for (from_client = 0; from_client <= 1; from_client++) {
        apr_table_t *t = apr_table_make(pool, 32);

        for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
            apr_table_addn(t, claims[i], "evil");
        }
        for (i = 0; i < n_kept; i++) {
            apr_table_addn(t, kept[i], "kept");
        }
        authproxy_remove_origin_claims(t, from_client);
        /* the client's X-Forwarded-Server goes too: mod_proxy adds its own later */
        ck_assert_int_eq(entries(t), (int)n_kept - from_client);
        for (i = 0; i < n_kept - from_client; i++) {
            ck_assert_str_eq(apr_table_get(t, kept[i]), "kept");
        }
    }
}
END_TEST

/* Host as mod_proxy sends it: the upstream's own, or the public origin with
 * AuthProxyPreserveHost On, whatever the client sent and ProxyPreserveHost
 * left; the client's claims are gone before mod_proxy adds its own. */
static const struct {
    const char *upstream, *preserve;   /* AuthProxyUpstream; AuthProxyPreserveHost */
    const char *host;
} host_cases[] = {
    { "http://127.0.0.1:3000", NULL, "127.0.0.1:3000" },
    { "http://127.0.0.1:3000", "Off", "127.0.0.1:3000" },
    { "https://Auth.Example.com:443", NULL, "auth.example.com" },
    { "https://auth.example.com:80", NULL, "auth.example.com:80" },
    { "http://auth.example.com:80", NULL, "auth.example.com" },
    { "http://[::1]:8080", NULL, "[::1]:8080" },
    { "http://127.0.0.1:3000", "On", HOST },
};

START_TEST(route_host_and_claims)
{
    int i;

    for (i = 0; i < (int)(sizeof(host_cases) / sizeof(host_cases[0])); i++) {
        const char *lines[3] = {
            apr_pstrcat(pool, AUTHPROXY_DIR_UPSTREAM " ", host_cases[i].upstream, NULL),
            host_cases[i].preserve
                ? apr_pstrcat(pool, AUTHPROXY_DIR_PRESERVE_HOST " ", host_cases[i].preserve, NULL)
                : NULL,
            NULL
        };
        server_rec *s = started(lines);
        request_rec *r = fake_request(pool, s, NULL, "GET", "/api/auth/signin");

        apr_table_setn(r->headers_in, "Host", "evil.example");
        apr_table_setn(r->headers_in, "x_forwarded_server", "evil");
        apr_table_setn(r->headers_in, "X-Forwarded-Server", "evil");
        apr_table_setn(r->headers_in, "X-FORWARDED-PREFIX", "/evil");
        apr_table_setn(r->headers_in, "X-Original-URL", "/admin");
        apr_table_setn(r->headers_in, "X-Forwarded-For", "192.0.2.1");
        ck_assert_int_eq(fake_httpd.pre_translate_name(r), DONE);
        ck_assert_int_eq(fake_httpd.translate_name(r), OK);
        ck_assert_int_eq(entries(r->headers_in), 2);
        /* what mod_proxy does next, under ProxyPreserveHost On */
        apr_table_mergen(r->headers_in, "X-Forwarded-For", "127.0.0.1");
        apr_table_mergen(r->headers_in, "X-Forwarded-Host", "evil.example");
        apr_table_mergen(r->headers_in, "X-Forwarded-Server", HOST);
        ck_assert_int_eq(fake_httpd.proxy_fixups(r), OK);
        expect_str(i, "Host", apr_table_get(r->headers_in, "Host"), host_cases[i].host);
        expect_str(i, "X-Forwarded-Host", apr_table_get(r->headers_in, "X-Forwarded-Host"),
                   HOST);
        expect_str(i, "X-Forwarded-Server", apr_table_get(r->headers_in, "X-Forwarded-Server"),
                   HOST);
        expect_str(i, "X-Forwarded-For", apr_table_get(r->headers_in, "X-Forwarded-For"),
                   "192.0.2.1, 127.0.0.1");
        ck_assert_int_eq(entries(r->headers_in), 5);
    }
}
END_TEST

/* ---- startup checks (check_config) ----------------------------------------------- */

static const char *const proxy_http[] = { "mod_proxy.c", "mod_proxy_http.c", NULL };
static const char *const proxy_only[] = { "mod_proxy.c", NULL };
static const char *const with_ssl[] = { "mod_proxy.c", "mod_proxy_http.c", "mod_ssl.c", NULL };

static const struct {
    const char *upstream, *other;  /* AuthProxyUpstream, and another line or NULL */
    const char *const *linked;
    int status;
    const char *log;               /* the last line's level and tag, "" for none */
    const char *says;              /* and what it names, or NULL */
} startup_cases[] = {
    { "http://127.0.0.1:3000", NULL, NULL, HTTP_INTERNAL_SERVER_ERROR, "emerg: AUTHPROXY005",
      "'a2enmod proxy'" },
    { "http://127.0.0.1:3000", NULL, proxy_only, HTTP_INTERNAL_SERVER_ERROR,
      "emerg: AUTHPROXY005", "'a2enmod proxy_http'" },
    { "https://auth.example.com", NULL, proxy_http, HTTP_INTERNAL_SERVER_ERROR,
      "emerg: AUTHPROXY005", "'a2enmod ssl'" },
    { "https://auth.example.com", NULL, with_ssl, OK, "", NULL },
    { "http://127.0.0.1:3000", NULL, proxy_http, OK, "", NULL },
    { "http://localhost:3000", NULL, proxy_http, OK, "", NULL },
    { "http://auth.example.com", NULL, proxy_http, OK, "warn: AUTHPROXY008",
      "http://auth.example.com (" HOST ":80)" },
    { "http://127.0.0.1:3000", "AuthProxySessionCache memcache:127.0.0.1:11211", proxy_http,
      HTTP_INTERNAL_SERVER_ERROR, "emerg: AUTHPROXY034", "'a2enmod socache_memcache'" },
    { "http://127.0.0.1:3000", "AuthProxySessionCache none", proxy_http, OK, "", NULL },
};

START_TEST(startup_checks)
{
    int i;

    for (i = 0; i < (int)(sizeof(startup_cases) / sizeof(startup_cases[0])); i++) {
        server_rec *s = fake_server(pool, HOST, 80);

        fake_httpd_reset();
        fake_httpd.linked = startup_cases[i].linked;
        set(s, NULL, S, apr_pstrcat(pool, "AuthProxyUpstream ", startup_cases[i].upstream,
                                    NULL));
        if (startup_cases[i].other) {
            set(s, NULL, S, startup_cases[i].other);
        }
        ck_assert_msg(fake_httpd.check_config(pool, pool, pool, s) == startup_cases[i].status,
                      "case %d", i);
        expect_str(i, "log", fake_log_last_tag(), startup_cases[i].log);
        ck_assert_msg(!startup_cases[i].says || strstr(fake_log_last(), startup_cases[i].says),
                      "case %d: %s", i, fake_log_last());
    }
}
END_TEST

/* The main server's deployment, for the VirtualHosts that inherit it. */
static server_rec *main_deployment(void)
{
    server_rec *s = fake_server(pool, HOST, 80);
    static const char *const lines[] = {
        UPSTREAM, "AuthProxyTargetPath /main", "AuthProxySecret main-secret",
        "AuthProxyHeader X-Api-Key main-key", "AuthProxySessionStrategy jwt",
        "AuthProxyCookieName main.session", "AuthProxyCACertificateFile ca.pem",
        "AuthProxyPublicOrigin https://app.example", "AuthProxyTimeout 5",
        "AuthProxyLocalPath /auth", NULL
    };
    const char *const *line;

    for (line = lines; *line; line++) {
        set(s, NULL, S, *line);
    }
    return s;
}

/* A VirtualHost that names its own deployment (its upstream, or another
 * prefix on the same one) inherits none of the main server's deployment
 * settings, each taking its default; the others are inherited as ever. */
START_TEST(deployment_inherited_as_a_unit)
{
    static const char *const deployment[] = {
        AUTHPROXY_DIR_TARGET_PATH, AUTHPROXY_DIR_HEADER, AUTHPROXY_DIR_COOKIE_NAME,
        AUTHPROXY_DIR_SECRET, AUTHPROXY_DIR_STRATEGY, AUTHPROXY_DIR_CA_FILE,
        AUTHPROXY_DIR_PUBLIC_ORIGIN
    };
    server_rec *s = main_deployment();
    server_rec *own = fake_server(pool, "own.example", 80);
    server_rec *prefix = fake_server(pool, "prefix.example", 80);
    server_rec *same = fake_server(pool, "same.example", 80);
    const authproxy_server_conf *main_conf = authproxy_sconf(s);
    apr_size_t i;

    set(own, NULL, S, "AuthProxyUpstream http://127.0.0.1:4000");
    set(prefix, NULL, S, "AuthProxyTargetPath /b");
    set(same, NULL, S, "AuthProxyTimeout 9");
    fake_vhost(pool, s, own);
    fake_vhost(pool, s, prefix);
    fake_vhost(pool, s, same);
    for (i = 0; i < sizeof(deployment) / sizeof(deployment[0]); i++) {
        int d = directive_of(deployment[i]);

        expect_str((int)i, "own", show(d, authproxy_sconf(own)), "(unset)");
        expect_str((int)i, "prefix", show(d, authproxy_sconf(prefix)),
                   d == directive_of(AUTHPROXY_DIR_TARGET_PATH) ? "/b" : "(unset)");
        expect_str((int)i, "same", show(d, authproxy_sconf(same)), show(d, main_conf));
    }
    ck_assert_str_eq(authproxy_sconf(own)->upstream, "http://127.0.0.1:4000");
    ck_assert_str_eq(authproxy_sconf(prefix)->upstream, "http://127.0.0.1:3000");
    ck_assert_int_eq(authproxy_sconf(own)->own_deployment, 1);
    ck_assert_int_eq(authproxy_sconf(prefix)->own_deployment, 1);
    ck_assert_int_eq(authproxy_sconf(same)->own_deployment, 0);
    ck_assert_int_eq(authproxy_sconf(same)->timeout, 9);
    /* what is not the deployment's is inherited by all */
    ck_assert_int_eq(authproxy_sconf(own)->timeout, 5);
    ck_assert_str_eq(authproxy_local_path(authproxy_sconf(own)), "/auth");
    ck_assert_str_eq(authproxy_target_path(authproxy_sconf(own)), "/auth");
    ck_assert_str_eq(authproxy_cookie_name(authproxy_sconf(own)), AUTHPROXY_DEFAULT_COOKIE);
}
END_TEST

/* configtest says what a VirtualHost of its own deployment does not inherit,
 * and where a VirtualHost of the main one inherits another site's origin. */
START_TEST(what_is_not_inherited_is_said)
{
    server_rec *s = fake_server(pool, HOST, 80);
    server_rec *own = fake_server(pool, "own.example", 8080);
    server_rec *prefix = fake_server(pool, "prefix.example", 80);
    server_rec *same = fake_server(pool, "same.example", 80);
    server_rec *alias = fake_server(pool, "www.example", 80);

    fake_httpd.linked = proxy_http;
    set(s, NULL, S, UPSTREAM);
    set(s, NULL, S, "AuthProxySecret main-secret");
    set(s, NULL, S, "AuthProxyHeader X-Api-Key main-key");
    set(s, NULL, S, "AuthProxyPublicOrigin https://App.example");
    set(own, NULL, S, "AuthProxyUpstream http://127.0.0.1:4000");
    set(own, NULL, S, "AuthProxySecret own-secret");
    set(prefix, NULL, S, "AuthProxyTargetPath /b");
    alias->names = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(alias->names, const char *) = "app.example";
    fake_vhost(pool, s, own);
    fake_vhost(pool, s, prefix);
    fake_vhost(pool, s, same);
    fake_vhost(pool, s, alias);
    ck_assert_int_eq(fake_httpd.check_config(pool, pool, pool, s), OK);
    /* each names its upstream, its prefix and what it does not inherit */
    ck_assert_int_eq(fake_log_count("warn", "AUTHPROXY006", NULL), 2);
    ck_assert_int_eq(fake_log_count("warn", "AUTHPROXY006", "own.example:8080",
                                    "http://127.0.0.1:4000", "/api/auth",
                                    "AuthProxyHeader, AuthProxyPublicOrigin", NULL), 1);
    ck_assert_int_eq(fake_log_count("warn", "AUTHPROXY006", "own.example:8080",
                                    "AuthProxySecret", NULL), 0);
    ck_assert_int_eq(fake_log_count("warn", "AUTHPROXY006", "prefix.example:80",
                                    "http://127.0.0.1:3000", "/b",
                                    "AuthProxySecret, AuthProxyHeader, AuthProxyPublicOrigin",
                                    NULL), 1);
    /* the one that goes by another name is told whose origin it inherits */
    ck_assert_str_eq(fake_log_last_tag(), "warn: AUTHPROXY007");
    ck_assert_int_eq(fake_log_count("warn", "AUTHPROXY007", NULL), 1);
    ck_assert_int_eq(fake_log_count("warn", "AUTHPROXY007", "same.example:80",
                                    "https://app.example", NULL), 1);
    ck_assert(!fake_log_has("www.example"));
    ck_assert(!fake_log_has("-secret"));
    ck_assert(!fake_log_has("main-key"));
}
END_TEST

/* A socache provider that writes down what configtest asks of it. */
static const char *socache_calls;

static const char *socache_create(ap_socache_instance_t **instance, const char *arg,
                                  apr_pool_t *tmp, apr_pool_t *p)
{
    *instance = (ap_socache_instance_t *)apr_pstrdup(p, arg ? arg : "");
    socache_calls = apr_pstrcat(pool, socache_calls, "create(", arg, ") ", NULL);
    return arg && !strcmp(arg, "bad") ? "no good" : NULL;
}

static apr_status_t socache_init(ap_socache_instance_t *instance, const char *cname,
                                 const struct ap_socache_hints *hints, server_rec *s,
                                 apr_pool_t *pool_)
{
    socache_calls = apr_psprintf(pool, "%sinit(%s %s %" APR_SIZE_T_FMT " %" APR_TIME_T_FMT ") ",
                                 socache_calls,
                                 (const char *)instance, cname, hints->avg_id_len,
                                 apr_time_sec(hints->expiry_interval));
    return strcmp((const char *)instance, "unreachable") ? APR_SUCCESS : APR_EINVAL;
}

static void socache_destroy(ap_socache_instance_t *instance, server_rec *s)
{
    socache_calls = apr_pstrcat(pool, socache_calls, "destroy(", (const char *)instance, ") ",
                                NULL);
}

static const ap_socache_provider_t fake_socache = {
    .name = "fake", .create = socache_create, .init = socache_init, .destroy = socache_destroy
};

/* configtest does with each cache setting what startup will: create() with
 * its arguments, once per setting, for the servers that use a cache (not
 * those that decode locally without refreshing), then init() and destroy() at
 * once, but only for providers whose init() harms nothing (redis: yes; dbm,
 * which creates its file: no). */
START_TEST(cache_settings_checked_as_startup_uses_them)
{
    static const struct {
        const char *name, *lines[3];
    } servers[] = {
        { "a.example", { "AuthProxySessionCache redis:one", "AuthProxySessionCacheTTL 7" } },
        { "b.example", { "AuthProxySessionCache redis:one" } },
        { "c.example", { "AuthProxySessionCache redis:two" } },
        { "d.example", { "AuthProxySessionCache redis:three", "AuthProxySecret s" } },
        { "e.example", { "AuthProxySessionCache redis:four", "AuthProxySecret s",
                         "AuthProxySessionRefresh 60" } },
        { "f.example", { "AuthProxySessionCache dbm:/var/cache/x" } },
    };
    server_rec *s = fake_server(pool, HOST, 80);
    apr_size_t i;
    int j;

    fake_httpd.linked = proxy_http;
    ap_register_provider(pool, AP_SOCACHE_PROVIDER_GROUP, "redis", AP_SOCACHE_PROVIDER_VERSION,
                         &fake_socache);
    ap_register_provider(pool, AP_SOCACHE_PROVIDER_GROUP, "dbm", AP_SOCACHE_PROVIDER_VERSION,
                         &fake_socache);
    set(s, NULL, S, "AuthProxySessionCache none");
    for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        server_rec *v = fake_server(pool, servers[i].name, 80);

        set(v, NULL, S, UPSTREAM);
        for (j = 0; j < 3 && servers[i].lines[j]; j++) {
            set(v, NULL, S, servers[i].lines[j]);
        }
        fake_vhost(pool, s, v);
    }
    socache_calls = "";
    ck_assert_int_eq(fake_httpd.check_config(pool, pool, pool, s), OK);
    ck_assert_str_eq(socache_calls, "create(one) init(one authproxy-chk 32 7) destroy(one) "
                     "create(two) init(two authproxy-chk 32 60) destroy(two) "
                     "create(four) init(four authproxy-chk 32 60) destroy(four) "
                     "create(/var/cache/x) ");

    /* refused by create(), or by init(): the directive, the value, and why */
    set(s->next, NULL, S, "AuthProxySessionCache redis:bad");
    ck_assert_int_eq(fake_httpd.check_config(pool, pool, pool, s), HTTP_INTERNAL_SERVER_ERROR);
    ck_assert_str_eq(fake_log_last_tag(), "emerg: AUTHPROXY031");
    ck_assert_int_eq(fake_log_count("emerg", "AUTHPROXY031", "AuthProxySessionCache redis:bad",
                                    "no good", NULL), 1);
    set(s->next, NULL, S, "AuthProxySessionCache redis:unreachable");
    ck_assert_int_eq(fake_httpd.check_config(pool, pool, pool, s), HTTP_INTERNAL_SERVER_ERROR);
    ck_assert_str_eq(fake_log_last_tag(), "emerg: AUTHPROXY033");
    ck_assert_int_eq(fake_log_count("emerg", "AUTHPROXY033",
                                    "AuthProxySessionCache redis:unreachable", NULL), 1);
    ap_register_provider(pool, AP_SOCACHE_PROVIDER_GROUP, "redis", AP_SOCACHE_PROVIDER_VERSION,
                         NULL);
    ap_register_provider(pool, AP_SOCACHE_PROVIDER_GROUP, "dbm", AP_SOCACHE_PROVIDER_VERSION,
                         NULL);
}
END_TEST

/* ---- the /session fetch ---------------------------------------------------------- */

/* Longer than libcurl takes for any string option (CURL_MAX_INPUT_LENGTH). */
static const char *too_long_for_libcurl(void)
{
    apr_size_t len = 8000001;
    char *text = apr_palloc(pool, len + 1);

    memset(text, 'a', len);
    text[len] = '\0';
    return text;
}

/* A connection waiting on the listener: a request went out. */
static int connected(apr_socket_t *listener)
{
    apr_socket_t *accepted;

    return apr_socket_accept(&accepted, listener, pool) == APR_SUCCESS;
}

/* An option that libcurl refuses fails the fetch with one error line naming
 * the first such option, and no request goes out: the upstream, a socket
 * that listens and never answers, hears of none. */
/* The credential of `cookie` in request r. */
static authproxy_identity_t *identity_of(request_rec *r, const authjs_cookie_t *cookie)
{
    return authproxy_identity_make(r, authproxy_sconf(r->server),
                                   authproxy_public_origin(r), cookie);
}

/* Every key names all its value depends on, and no more: the store's names
 * the settings, the origin, the cookie's name and value (for the upstream's
 * "no session", the cookie's cache key); the cache's name the origin for a
 * session answer, not for a refresh record. */
START_TEST(identity_keys)
{
    const char *decoding[] = { "AuthProxySecret s3cret-value-0123456789", NULL };
    authjs_cookie_t cookie = { AUTHPROXY_DEFAULT_COOKIE, "tok", AUTHPROXY_DEFAULT_COOKIE "=tok",
                               0 };
    const authproxy_origin_t *other_origin = authproxy_origin_make(pool, "https",
                                                                   "other.example.com", 443);
    authjs_cookie_t other_value = cookie;
    server_rec *local = started(decoding), *fetching = started(NULL);
    request_rec *r = page_load(local, NULL, "/app");
    authproxy_identity_t *id = identity_of(r, &cookie), *elsewhere, *renamed;
    const unsigned char *session_key, *refresh_key;

    /* decoded here: the bytes themselves */
    ck_assert_ptr_nonnull(id->store_key);
    ck_assert(!memcmp(id->store_key + id->store_key_len - 3, "tok", 3));
    ck_assert_ptr_nonnull(id->keyring);
    elsewhere = authproxy_identity_make(r, id->conf, other_origin, &cookie);
    ck_assert(elsewhere->store_key_len != id->store_key_len
              || memcmp(elsewhere->store_key, id->store_key, id->store_key_len));
    other_value.value = "tol";
    renamed = authproxy_identity_with_cookie(id, &other_value);
    ck_assert(renamed->store_key_len == id->store_key_len
              && memcmp(renamed->store_key, id->store_key, id->store_key_len));

    /* resolved by the upstream: its "no session" known by its cache key */
    r = page_load(fetching, NULL, "/app");
    id = identity_of(r, &cookie);
    ck_assert_ptr_null(id->keyring);
    ck_assert(!memcmp(id->store_key + id->store_key_len - 3, "tok", 3));
    ck_assert_ptr_null(id->none_key);
    session_key = authproxy_cache_key(id, AUTHPROXY_RECORD_SESSION);
    refresh_key = authproxy_cache_key(id, AUTHPROXY_RECORD_REFRESH);
    ck_assert(memcmp(session_key, refresh_key, AUTHPROXY_KEY_LEN));
    authproxy_identity_none_key(id, session_key);
    ck_assert_uint_eq(id->none_key_len, sizeof(id->conf) + 1 + AUTHPROXY_KEY_LEN);
    ck_assert(!id->none_key[sizeof(id->conf)]);
    ck_assert(!memcmp(id->none_key + sizeof(id->conf) + 1, session_key, AUTHPROXY_KEY_LEN));
    elsewhere = authproxy_identity_make(r, id->conf, other_origin, &cookie);
    ck_assert(memcmp(authproxy_cache_key(elsewhere, AUTHPROXY_RECORD_SESSION), session_key,
                     AUTHPROXY_KEY_LEN));
    ck_assert(!memcmp(authproxy_cache_key(elsewhere, AUTHPROXY_RECORD_REFRESH), refresh_key,
                      AUTHPROXY_KEY_LEN));
    renamed = authproxy_identity_with_cookie(id, &other_value);
    ck_assert(memcmp(authproxy_cache_key(renamed, AUTHPROXY_RECORD_REFRESH), refresh_key,
                     AUTHPROXY_KEY_LEN));
}
END_TEST

START_TEST(fetch_never_goes_out_incomplete)
{
    authjs_cookie_t cookie = { AUTHPROXY_DEFAULT_COOKIE, "tok", AUTHPROXY_DEFAULT_COOKIE "=tok",
                               0 };
    const authjs_session_t *session = NULL;
    const char *lines[] = { NULL, AUTHPROXY_DIR_TIMEOUT " 1", NULL };
    apr_socket_t *listener;
    apr_sockaddr_t *addr;
    authproxy_server_conf *conf;
    request_rec *r;
    server_rec *s;

    ck_assert_int_eq(apr_sockaddr_info_get(&addr, "127.0.0.1", APR_INET, 0, 0, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_create(&listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_bind(listener, addr), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_listen(listener, 4), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_opt_set(listener, APR_SO_NONBLOCK, 1), APR_SUCCESS);
    apr_socket_addr_get(&addr, APR_LOCAL, listener);
    lines[0] = apr_psprintf(pool, "%s http://127.0.0.1:%u", AUTHPROXY_DIR_UPSTREAM,
                            (unsigned)addr->port);
    s = started(lines);
    conf = authproxy_sconf(s);

    /* the control: a whole request goes out, and is never answered */
    r = fake_request(pool, s, NULL, "GET", "/app");
    ck_assert_int_eq(authproxy_fetch_session(r, identity_of(r, &cookie), &session, NULL),
                     APR_EGENERAL);
    ck_assert_int_eq(fake_log_count("error", "AUTHPROXY017", NULL), 1);
    ck_assert(connected(listener));

    fake_httpd_reset();
    conf->ca_file = too_long_for_libcurl();
    r = fake_request(pool, s, NULL, "GET", "/app");
    ck_assert_int_eq(authproxy_fetch_session(r, identity_of(r, &cookie), &session, NULL),
                     APR_EGENERAL);
    ck_assert_ptr_null(session);
    ck_assert_str_eq(fake_log_last_tag(), "error: AUTHPROXY015");
    ck_assert_int_eq(fake_log_count("error", "AUTHPROXY015", conf->session_url, "CURLOPT_CAINFO",
                                    NULL), 1);
    ck_assert_int_eq(fake_log_count("error", "AUTHPROXY017", NULL), 0);
    ck_assert(!connected(listener));

    /* the first option refused is the one named */
    fake_httpd_reset();
    conf->session_url = too_long_for_libcurl();
    r = fake_request(pool, s, NULL, "GET", "/app");
    ck_assert_int_eq(authproxy_fetch_session(r, identity_of(r, &cookie), &session, NULL),
                     APR_EGENERAL);
    ck_assert_int_eq(fake_log_count("error", "AUTHPROXY015", "CURLOPT_URL", NULL), 1);
    ck_assert(!fake_log_has("CURLOPT_CAINFO"));
    ck_assert(!connected(listener));
}
END_TEST

/* AuthProxyClaimHeader's values: every byte of a claim is hostile. */
START_TEST(claim_header_values)
{
    static const struct {
        const char *json;
        const char *raw, *b64;      /* NULL: not sent */
    } cases[] = {
        { "\"alice@example.com\"", "alice@example.com", "YWxpY2VAZXhhbXBsZS5jb20" },
        { "\"Zo\u00eb, Jr.\"", "Zo\xc3\xab, Jr.", "Wm_DqywgSnIu" },
        { "[\"admin\",\"a,b\",\"100%\"]", "admin,a%2Cb,100%25", "YWRtaW4,YSxi,MTAwJQ" },
        { "[]", "", "" },
        { "[1,true,{\"a\":\"b,c\"}]", "1,true,{\"a\":\"b%2Cc\"}", "MQ,dHJ1ZQ,eyJhIjoiYixjIn0" },
        { "7", "7", "Nw" },
        { "{\"id\":7}", "{\"id\":7}", "eyJpZCI6N30" },
        { "null", NULL, NULL },
        { "\"a\\r\\nX-Evil: 1\"", NULL, "YQ0KWC1FdmlsOiAx" },
        { "\"a\\u0000b\"", NULL, "YQBi" },
        { "[\"ok\",\"a\\nb\"]", NULL, "b2s,YQpi" },
        { "\"tab\\there\"", "tab\there", "dGFiCWhlcmU" },
        { "\"del\\u007f\"", NULL, "ZGVsfw" },
    };
    int i, enc;

    for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

        ck_assert_msg(v != NULL, "case %d: bad JSON", i);
        for (enc = 0; enc < 2; enc++) {
            const char *want = enc ? cases[i].b64 : cases[i].raw;
            const char *got = authproxy_claim_header_value(pool, v, enc);

            if (!want) {
                ck_assert_msg(got == NULL, "case %d/%d: got '%s'", i, enc, got);
            }
            else {
                ck_assert_msg(got && !strcmp(got, want), "case %d/%d: got '%s', want '%s'", i,
                              enc, got ? got : "(null)", want);
            }
        }
        json_decref(v);
    }
    ck_assert_ptr_null(authproxy_claim_header_value(pool, NULL, 0));
}
END_TEST

START_TEST(publish_claims_filter)
{
    apr_array_header_t *rules = apr_array_make(pool, 4, sizeof(authproxy_claim_rule_t));
    authproxy_claim_rule_t *r;

    /* the default: credentials withheld, at any depth */
    ck_assert(!authproxy_claim_published(NULL, "accessToken", 0));
    ck_assert(!authproxy_claim_published(NULL, "REFRESH_TOKEN", 1));
    ck_assert(authproxy_claim_published(NULL, "role", 0));
    r = apr_array_push(rules);
    r->pattern = "*";
    r->publish = 0;
    r = apr_array_push(rules);
    r->pattern = "role";
    r->publish = 1;
    r = apr_array_push(rules);
    r->pattern = "access*";
    r->publish = 1;
    ck_assert(authproxy_claim_published(rules, "role", 0));
    ck_assert(!authproxy_claim_published(rules, "email", 0));
    /* nested: -* keeps the objects' members, but for credentials */
    ck_assert(authproxy_claim_published(rules, "email", 1));
    ck_assert(authproxy_claim_published(rules, "accessToken", 0));
    ck_assert(authproxy_claim_published(rules, "access_token", 1));
    ck_assert(!authproxy_claim_published(rules, "idToken", 1));
    r = apr_array_push(rules);
    r->pattern = "accessToken";
    r->publish = 0;
    /* the last entry that matches decides */
    ck_assert(!authproxy_claim_published(rules, "accessToken", 0));
    ck_assert(authproxy_claim_published(rules, "access_token", 0));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("authproxy_glue");
    TCase *config = tcase_create("config");
    TCase *authn = tcase_create("authn");
    TCase *authz = tcase_create("authz");
    TCase *publish = tcase_create("publish");
    TCase *startup = tcase_create("startup");
    TCase *fetch = tcase_create("fetch");
    apr_pool_t *pglobal;
    SRunner *sr;
    int failed;

    apr_initialize();
    apr_pool_create(&pglobal, NULL);
    fake_httpd_start(pglobal);
    tcase_add_checked_fixture(config, config_setup, teardown);
    tcase_add_test(config, every_directive_is_in_the_table);
    tcase_add_test(config, directive_lines);
    tcase_add_test(config, upstream_parts);
    tcase_add_test(config, merge_child_if_set_else_parent);
    tcase_add_test(config, merged_upstream_keeps_its_parts);
    tcase_add_test(config, deployment_inherited_as_a_unit);
    tcase_add_test(config, accessors_apply_defaults);
    tcase_add_test(config, server_names_have_a_port_or_none);
    suite_add_tcase(suite, config);
    tcase_add_checked_fixture(authn, setup, teardown);
    tcase_add_test(authn, sign_in_redirect);
    tcase_add_test(authn, sign_in_comes_back_to_the_original_request);
    tcase_add_test(authn, navigation_or_401);
    tcase_add_test(authn, unauth_actions);
    tcase_add_test(authn, authtype_without_upstream);
    tcase_add_test(authn, routes_are_never_guarded);
    tcase_add_test(authn, signed_in_user);
    tcase_add_test(authn, refused_by_require);
    tcase_add_test(authn, nothing_secret_is_logged);
    tcase_add_test(authn, why_anonymous);
    tcase_add_test(authn, bearer_as_the_cookie);
    tcase_add_test(authn, bearer_setting_of_the_original_request);
    tcase_add_test(authn, bearer_challenges);
    suite_add_tcase(suite, authn);
    tcase_add_checked_fixture(authz, setup, teardown);
    tcase_add_test(authz, claim_lines);
    tcase_add_test(authz, claim_matching);
    tcase_add_test(authz, requires_without_a_session);
    tcase_add_test(authz, cors_preflights);
    tcase_add_test(authz, traceparents_of_a_request);
    suite_add_tcase(suite, authz);
    tcase_add_checked_fixture(publish, setup, teardown);
    tcase_add_test(publish, variables_and_header_names);
    tcase_add_test(publish, health_probe_resolves_no_session);
    tcase_add_test(publish, what_is_not_a_header);
    tcase_add_test(publish, client_claims_are_scrubbed);
    tcase_add_test(publish, headers_across_subrequests_and_redirects);
    tcase_add_test(publish, session_cookie_stripped);
    tcase_add_test(publish, bearer_stripped);
    tcase_add_test(publish, header_replace_every_spelling);
    tcase_add_test(publish, origin_claims_removed);
    tcase_add_test(publish, route_host_and_claims);
    tcase_add_test(publish, claim_header_values);
    tcase_add_test(publish, claim_headers_on_every_pass);
    tcase_add_test(publish, publish_claims_filter);
    suite_add_tcase(suite, publish);
    tcase_add_checked_fixture(startup, setup, teardown);
    tcase_add_test(startup, startup_checks);
    tcase_add_test(startup, what_is_not_inherited_is_said);
    tcase_add_test(startup, cache_settings_checked_as_startup_uses_them);
    suite_add_tcase(suite, startup);
    tcase_add_checked_fixture(fetch, setup, teardown);
    tcase_add_test(fetch, fetch_never_goes_out_incomplete);
    tcase_add_test(fetch, identity_keys);
    suite_add_tcase(suite, fetch);
    sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pglobal);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
