/* SPDX-License-Identifier: Apache-2.0 */
/* The session as a signed JWT for proxied backends, and the key set that
 * verifies it.
 *
 * A request proxied by mod_proxy (r->filename "proxy:...", whether
 * ProxyPass or a RewriteRule's [P] made it so, or SetHandler "proxy:...") under AuthProxyAssertion On,
 * with a session, gets X-Authjs-Assertion: a JWS signed with the server's
 * first AuthProxyAssertionKey, with iss (the public origin), aud
 * (AuthProxyAssertionAudience, else the backend's origin), sub, email,
 * name, the session's other claims, iat and exp. The client's copies of the
 * header, in every spelling, went with the rest of its X-Authjs-*
 * (authproxy_publish.c). CGI, PHP and other handlers that are not proxied
 * get none: they read the session from AUTHJS_* in their environment.
 *
 * Signing costs far more than the rest of a request: each child keeps the
 * assertions it signed, keyed by everything their claims but the times
 * depend on (the key, iss, aud, the session's claims), and sends one again
 * while more than half of its lifetime is left. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_uri.h>
#include <http_protocol.h>
#include <http_request.h>

#include "authjs_jws.h"
#include "authproxy.h"
#include "authproxy_assertion.h"
#include "authproxy_claims.h"
#include "authproxy_config.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"
#include "authproxy_session.h"

/* What one generation of a child's cache takes before the next replaces
 * it: entries put in (a visitor's again too, as each takes memory of the
 * generation's pool) and their bytes. A child keeps at most two (an
 * assertion is of use for 30 s at most). */
#define CACHE_MAX 1024
#define CACHE_BYTES (2 * 1024 * 1024)
/* The JWKS handler's answer may be kept this long (s): a rotation adds the
 * new key to the set some minutes before it signs. */
#define JWKS_MAX_AGE "300"

typedef struct {
    const char *jws;
    apr_time_t iat, exp;
} cached_t;

/* Each child's own copy (made before the fork), under its mutex: two
 * generations, each in a pool of its own; when the newer is full, the
 * older goes and the newer takes its place. */
typedef struct {
    apr_pool_t *pool;
    apr_hash_t *entries;
    apr_size_t stored, bytes;  /* put in since the pool was cleared */
} generation_t;

static struct {
    apr_thread_mutex_t *mutex;
    generation_t gen[2];       /* [0] the newer */
} cache;

/* The keys of one list of files, read once however many servers share it. */
static const char *load_keys(apr_pool_t *pconf, authproxy_server_conf *conf)
{
    json_t *set = json_array(), *jwks;
    char *text;
    int i;

    conf->assertion_signers = apr_array_make(pconf, conf->assertion_keys->nelts,
                                             sizeof(authjs_jws_key_t *));
    for (i = 0; i < conf->assertion_keys->nelts; i++) {
        authjs_jws_key_t *key = NULL;
        const char *path = APR_ARRAY_IDX(conf->assertion_keys, i, const char *);
        const char *err = authjs_jws_key_load(pconf, path, &key);
        int j;

        /* one kid twice in a set: jose, and others, then verify nothing */
        for (j = 0; !err && j < i; j++) {
            if (!strcmp(authjs_jws_key_kid(key),
                        authjs_jws_key_kid(APR_ARRAY_IDX(conf->assertion_signers, j,
                                                         const authjs_jws_key_t *)))) {
                err = apr_psprintf(pconf, "%s holds the same key as %s", path,
                                   APR_ARRAY_IDX(conf->assertion_keys, j, const char *));
            }
        }
        if (err) {
            json_decref(set);
            return err;
        }
        APR_ARRAY_PUSH(conf->assertion_signers, authjs_jws_key_t *) = key;
        json_array_append_new(set, authjs_jws_key_jwk(key));
    }
    jwks = json_pack("{s:o}", "keys", set);
    text = jwks ? json_dumps(jwks, JSON_COMPACT) : NULL;
    conf->jwks = text ? apr_pstrdup(pconf, text) : NULL;
    free(text);
    json_decref(jwks);
    return conf->jwks ? NULL : "the key set's JSON cannot be written";
}

int authproxy_assertion_check_config(apr_pool_t *pconf, server_rec *s)
{
    /* servers that inherit the list share its keys */
    apr_hash_t *loaded = apr_hash_make(pconf);
    server_rec *main_server = s;
    int any = 0;

    for (; s; s = s->next) {
        authproxy_server_conf *conf = authproxy_sconf(s);
        const authproxy_server_conf *first;
        const char *err;

        if (!conf->assertion_keys && conf->assertion_on_at && conf->upstream) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(073)
                         "%s On (%s) in a server without %s: its requests would get 500 (%s)",
                         AUTHPROXY_DIR_ASSERTION, conf->assertion_on_at,
                         AUTHPROXY_DIR_ASSERTION_KEY, authproxy_server_name(pconf, s));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!conf->assertion_keys) {
            continue;
        }
        any = 1;
        first = apr_hash_get(loaded, &conf->assertion_keys, sizeof(conf->assertion_keys));
        if (first) {
            conf->assertion_signers = first->assertion_signers;
            conf->jwks = first->jwks;
            continue;
        }
        if ((err = load_keys(pconf, conf))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(080)
                         "%s: %s (%s)", AUTHPROXY_DIR_ASSERTION_KEY, err,
                         authproxy_server_name(pconf, s));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_hash_set(loaded, apr_pmemdup(pconf, &conf->assertion_keys,
                                         sizeof(conf->assertion_keys)),
                     sizeof(conf->assertion_keys), conf);
    }
    if (any && (apr_pool_create(&cache.gen[0].pool, pconf) != APR_SUCCESS
                || apr_pool_create(&cache.gen[1].pool, pconf) != APR_SUCCESS
                || apr_thread_mutex_create(&cache.mutex, APR_THREAD_MUTEX_DEFAULT, pconf)
                   != APR_SUCCESS)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_server, AUTHPROXY_LOGNO(081)
                     "the assertions' cache cannot be made");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (any) {
        cache.gen[0].entries = apr_hash_make(cache.gen[0].pool);
        cache.gen[1].entries = apr_hash_make(cache.gen[1].pool);
    }
    return OK;
}

/* What mod_proxy will ask, "proxy:URL" or "proxy:unix:/path|URL": the
 * request's file (ProxyPass, a RewriteRule's [P]), or its handler
 * (SetHandler "proxy:fcgi://...", PHP-FPM's usual setup, which mod_proxy's
 * handler makes the file); NULL when the request is not proxied. */
static const char *proxied_to(const request_rec *r)
{
    if (r->filename && !strncmp(r->filename, "proxy:", 6)) {
        return r->filename;
    }
    return r->handler && !strncmp(r->handler, "proxy:", 6) ? r->handler : NULL;
}

/* The origin of the backend at `target` (proxied_to), after the socket
 * for one on a Unix socket ("unix:/run/php/site1.sock|fcgi://localhost"):
 * its URL's host is a placeholder that every such backend shares; NULL when
 * it has none. The socket is in the target (SetHandler), or where mod_proxy's
 * fixups moved it from a RewriteRule's [P] target, its "uds_path" note. */
static const char *backend_origin(request_rec *r, const char *target)
{
    const char *url = target + sizeof("proxy:") - 1, *bar, *socket = "";
    const char *uds = apr_table_get(r->notes, "uds_path");
    apr_uri_t uri;
    apr_port_t port;
    char *scheme;

    if (!strncasecmp(url, "unix:", 5) && (bar = ap_strchr_c(url, '|'))) {
        socket = apr_pstrcat(r->pool, "unix:", apr_pstrmemdup(r->pool, url + 5, bar - url - 5),
                             "|", NULL);
        url = bar + 1;
    }
    else if (uds) {
        socket = apr_pstrcat(r->pool, "unix:", uds, "|", NULL);
    }

    if (apr_uri_parse(r->pool, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname) {
        return NULL;
    }
    port = uri.port_str ? uri.port : 0;
    scheme = apr_pstrdup(r->pool, uri.scheme);
    ap_str_tolower(scheme);
    /* the host as an origin has it (lower case, IPv6 in brackets); fcgi://,
     * ajp://, ws:// ... keep their scheme, the port unless their default */
    url = authproxy_origin_make(r->pool, scheme, uri.hostname, 0)->hostport;
    if (port && port != apr_uri_port_of_scheme(scheme)) {
        return apr_psprintf(r->pool, "%s%s://%s:%u", socket, scheme, url, (unsigned)port);
    }
    return apr_pstrcat(r->pool, socket, scheme, "://", url, NULL);
}

/* The claims the assertion adds from the session: a token's other than
 * those it names itself and JWT's registered ones, a /session answer's
 * other than user and expires; as AUTHJS_CLAIM_* has them. */
static int own_claim(const authjs_session_t *session, const char *name)
{
    static const char *const registered[] = {
        "iss", "aud", "sub", "email", "name", "iat", "exp", "nbf", "jti", NULL
    };
    const char *const *n;

    for (n = registered; *n; n++) {
        if (!strcmp(name, *n)) {
            return 1;
        }
    }
    return session->from_token ? !strcmp(name, "picture")
                               : !strcmp(name, "user") || !strcmp(name, "expires");
}

static json_t *claims_of(request_rec *r, const authjs_session_t *session, const char *aud)
{
    void *rules = authproxy_dconf(r)->publish_claims;
    json_t *claims = json_object(), *value;
    const char *name;

    json_object_set_new(claims, "iss", json_string(authproxy_public_origin(r)->origin));
    json_object_set_new(claims, "aud", json_string(aud));
    if (session->id) {
        json_object_set_new(claims, "sub", json_string(session->id));
    }
    if (session->email) {
        json_object_set_new(claims, "email", json_string(session->email));
    }
    if (session->name) {
        json_object_set_new(claims, "name", json_string(session->name));
    }
    if (session->image) {
        json_object_set_new(claims, "picture", json_string(session->image));
    }
    /* the claims AuthProxyPublishClaims lets through here, as for AUTHJS_* */
    json_object_foreach(session->claims, name, value) {
        if (!own_claim(session, name) && authproxy_claim_published(rules, name, 0)) {
            json_object_set_new(claims, name,
                                authjs_claim_strip_nested(value, authproxy_claim_published, rules));
        }
    }
    return claims;
}

/* The child's assertion for `key`, when more than half its life is left. */
static const char *cached(request_rec *r, const char *key, apr_time_t now)
{
    const char *jws = NULL;
    const cached_t *entry;

    apr_thread_mutex_lock(cache.mutex);
    entry = apr_hash_get(cache.gen[0].entries, key, APR_HASH_KEY_STRING);
    if (!entry) {
        entry = apr_hash_get(cache.gen[1].entries, key, APR_HASH_KEY_STRING);
    }
    if (entry && now >= entry->iat && now - entry->iat < (entry->exp - entry->iat) / 2) {
        jws = apr_pstrdup(r->pool, entry->jws);
    }
    apr_thread_mutex_unlock(cache.mutex);
    return jws;
}

static void keep(const char *key, const char *jws, apr_time_t iat, apr_time_t exp)
{
    cached_t *entry;
    generation_t older;
    apr_size_t size = sizeof(*entry) + strlen(key) + strlen(jws) + 2;

    apr_thread_mutex_lock(cache.mutex);
    /* by what the pool took, not by its hash's count: a visitor's assertion
     * signed again replaces its entry there, but not the entry's memory */
    if (cache.gen[0].stored >= CACHE_MAX || cache.gen[0].bytes + size > CACHE_BYTES) {
        older = cache.gen[1];
        apr_pool_clear(older.pool);
        older.entries = apr_hash_make(older.pool);
        older.stored = older.bytes = 0;
        cache.gen[1] = cache.gen[0];
        cache.gen[0] = older;
    }
    cache.gen[0].stored++;
    cache.gen[0].bytes += size;
    entry = apr_palloc(cache.gen[0].pool, sizeof(*entry));
    entry->jws = apr_pstrdup(cache.gen[0].pool, jws);
    entry->iat = iat;
    entry->exp = exp;
    apr_hash_set(cache.gen[0].entries, apr_pstrdup(cache.gen[0].pool, key),
                 APR_HASH_KEY_STRING, entry);
    apr_thread_mutex_unlock(cache.mutex);
}

/* The assertion of this session for `aud`: signed, or this child's while
 * more than half its lifetime is left; "" for a session ending within the
 * second; NULL when it cannot be made. */
static const char *assertion(request_rec *r, const authproxy_server_conf *conf,
                             const authjs_session_t *session, const char *aud)
{
    const authjs_jws_key_t *signer = APR_ARRAY_IDX(conf->assertion_signers, 0,
                                                   const authjs_jws_key_t *);
    int lifetime = authproxy_assertion_lifetime(conf);
    apr_time_t now = apr_time_now();
    json_t *claims = claims_of(r, session, aud);
    char *text = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    /* the kid names the key, the claims the rest, the lifetime and the
     * session's end the exp */
    const char *key = text ? apr_psprintf(r->pool, "%s %d %" APR_TIME_T_FMT " %s",
                                          authjs_jws_key_kid(signer), lifetime,
                                          apr_time_sec(session->expires), text) : NULL;
    const char *jws = key ? cached(r, key, now) : NULL;
    apr_time_t iat = apr_time_from_sec(apr_time_sec(now));
    apr_time_t exp = iat + apr_time_from_sec(lifetime);

    /* never valid after the session it speaks for */
    if (session->expires && apr_time_from_sec(apr_time_sec(session->expires)) < exp) {
        exp = apr_time_from_sec(apr_time_sec(session->expires));
    }
    free(text);
    text = NULL;
    if (jws) {
        authproxy_metrics_assertion(conf, AUTHPROXY_ASSERTION_REUSED);
    }
    else if (key && exp <= iat) {
        jws = "";    /* the session ends within this second: none */
    }
    else if (key) {
        json_object_set_new(claims, "iat", json_integer(apr_time_sec(iat)));
        json_object_set_new(claims, "exp", json_integer(apr_time_sec(exp)));
        text = json_dumps(claims, JSON_COMPACT);
        jws = text ? authjs_jws_sign(r->pool, signer, text, strlen(text)) : NULL;
        if (jws) {
            authproxy_metrics_assertion(conf, AUTHPROXY_ASSERTION_SIGNED);
            keep(key, jws, iat, exp);
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(083)
                          "signed an assertion for %s, aud %s, kid %s",
                          session->email ? session->email : session->id ? session->id : "",
                          aud, authjs_jws_key_kid(signer));
        }
    }
    free(text);
    json_decref(claims);
    return jws;
}

static int is_assertion(const char *key, const char *unused)
{
    return authproxy_header_same(key, AUTHPROXY_ASSERTION_HEADER);
}

/* Last of the fixups: after mod_rewrite's, whose [P] makes a request proxied.
 * A subrequest (an SSI include, a filter's lookup) starts with a copy of its
 * main request's headers: never the main request's assertion, made out to
 * another backend, nor a client's from before the main request's fixups;
 * its own where it is proxied itself. */
static int authproxy_assertion_fixups(request_rec *r)
{
    const authproxy_dir_conf *dconf = authproxy_dconf(r);
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    const authjs_session_t *session;
    const char *aud, *jws, *target;

    if (r->main && conf->upstream) {
        authproxy_table_unset_where(r->pool, r->headers_in, is_assertion, NULL);
    }
    if (!authproxy_assertion(dconf) || !conf->upstream || authproxy_is_route(r)
        || !(target = proxied_to(r)) || !authproxy_session_enabled(r)
        || !(session = authproxy_session_get(r))) {
        return DECLINED;
    }
    if (!conf->assertion_signers) {
        authproxy_metrics_assertion(conf, AUTHPROXY_ASSERTION_ERROR);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(082)
                      "%s On, but this server has no %s: the request is refused",
                      AUTHPROXY_DIR_ASSERTION, AUTHPROXY_DIR_ASSERTION_KEY);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    aud = dconf->assertion_audience ? dconf->assertion_audience : backend_origin(r, target);
    if (!aud || !(jws = assertion(r, conf, session, aud))) {
        authproxy_metrics_assertion(conf, AUTHPROXY_ASSERTION_ERROR);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(084)
                      "no assertion for %s: %s", target,
                      aud ? "it could not be signed" : "the backend's origin is not known "
                      "(set " AUTHPROXY_DIR_ASSERTION_AUDIENCE ")");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (*jws) {
        apr_table_setn(r->headers_in, AUTHPROXY_ASSERTION_HEADER, jws);
    }
    return DECLINED;
}

/* The page published anew for the index mod_dir's fast redirect made it
 * (authproxy_publish.c): its assertion, if it is proxied, is made out to the
 * index's backend. Too late to refuse the request: where none can be made it
 * goes without one, logged. */
static void authproxy_assertion_insert_filter(request_rec *r)
{
    authproxy_request_t *req = authproxy_request(authproxy_original(r));

    if (!r->main && req->republished) {
        req->republished = 0;
        authproxy_assertion_fixups(r);
    }
}

/* SetHandler authproxy-jwks: the server's AuthProxyAssertionKey set. */
static int authproxy_jwks_handler(request_rec *r)
{
    const authproxy_server_conf *conf;

    if (!r->handler || strcmp(r->handler, AUTHPROXY_JWKS_HANDLER) != 0) {
        return DECLINED;
    }
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    conf = authproxy_sconf(r->server);
    if (!conf->jwks) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(085)
                      "SetHandler %s in a server without %s: 404",
                      AUTHPROXY_JWKS_HANDLER, AUTHPROXY_DIR_ASSERTION_KEY);
        return HTTP_NOT_FOUND;
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=" JWKS_MAX_AGE);
    if (!r->header_only) {
        ap_rwrite(conf->jwks, (int)strlen(conf->jwks), r);
    }
    return OK;
}

void authproxy_assertion_register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(authproxy_assertion_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_insert_filter(authproxy_assertion_insert_filter, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(authproxy_jwks_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
