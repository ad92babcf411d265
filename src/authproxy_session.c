/* SPDX-License-Identifier: Apache-2.0 */
/* authproxy_session_get(r): cookie -> local decode or upstream fetch, at most
 * once per request, whichever hook asks first, and once per cookie on a
 * kept-alive connection. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy.h"
#include "authproxy_decoded.h"
#include "authproxy_memo.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"

const char *const authproxy_source_names[AUTHPROXY_SOURCES] = { "local", "cache", "upstream" };

static void use_entry(authproxy_request_t *req, const authproxy_memo_entry_t *e)
{
    req->session = e->session;
    req->memo_vars = e->vars;
}

/* A session the child decoded, for this request and, while it has room,
 * for the rest of the connection. */
static void use_decoded(request_rec *r, const authproxy_server_conf *conf,
                        authproxy_request_t *req, const authproxy_decoded_t *d)
{
    authproxy_memo_entry_t *e;
    apr_pool_t *pool;

    req->session = d->session;
    req->memo_vars = d->vars;
    if ((e = authproxy_memo_add(r, conf, &req->cookie, &pool))) {
        e->session = d->session;
        e->vars = d->vars;
        authproxy_decoded_hold(d, pool);
    }
}

static void decode_locally(request_rec *r, const authproxy_server_conf *conf,
                           authproxy_request_t *req)
{
    const authjs_cookie_t *cookie = &req->cookie;
    const authjs_keyring_t *ring = authproxy_public_origin(r)->https ? conf->keyring_secure
                                                                      : conf->keyring;
    const authproxy_memo_entry_t *known = authproxy_memo_find(r, conf, cookie);
    const authproxy_decoded_t *shared;
    authproxy_decoded_t *d;
    apr_time_t now = apr_time_now();
    apr_pool_t *pool;
    json_t *claims;
    authjs_token_status_e status;

    req->source = AUTHPROXY_SOURCE_LOCAL;
    if (known && (!known->session->expires || now < known->session->expires)) {
        use_entry(req, known);
        return;
    }
    if (!known && (shared = authproxy_decoded_find(r, conf, cookie, now, r->pool))) {
        use_decoded(r, conf, req, shared);
        return;
    }
    status = authjs_token_decode(ring, cookie->value, strlen(cookie->value), apr_time_sec(now),
                                 r->pool, &claims);
    if (status != AUTHJS_TOKEN_VALID) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(055)
                      "session cookie %s refused: %s", cookie->name,
                      authjs_token_status_text(status));
        req->anonymous = status == AUTHJS_TOKEN_EXPIRED ? AUTHPROXY_ANONYMOUS_EXPIRED
                                                        : AUTHPROXY_ANONYMOUS_INVALID_TOKEN;
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "session cookie %s decoded", cookie->name);
    /* an entry past its exp still decodes within the clock-skew leeway */
    if (known) {
        req->session = authjs_session_from_claims(r->pool, claims);
        return;
    }
    d = authproxy_decoded_new(r, conf, cookie, &pool);
    d->session = authjs_session_from_claims(pool, claims);
    d->vars = authproxy_memo_vars(pool, d->session);
    authproxy_decoded_share(d);
    use_decoded(r, conf, req, d);
}

/* One look for a cookie's session in the cache. */
typedef struct {
    const authproxy_server_conf *conf;
    unsigned char key[AUTHPROXY_CACHE_KEY_LEN];
    authproxy_memo_entry_t *known; /* what the connection remembers of the cookie */
    apr_uint32_t evictions;        /* the cache's sign-out count before the look */
    apr_time_t now;
} lookup_t;

/* A remembered cache entry is taken as it is for MEMO_RECHECK, unless a
 * sign-out through this server has evicted any entry since: a busy
 * connection then asks the shared cache (and takes its lock) about once a
 * second instead of on every request. */
#define MEMO_RECHECK apr_time_from_sec(1)

static int still_fresh(const lookup_t *look)
{
    const authproxy_memo_entry_t *e = look->known;

    return e && e->answer && look->now - e->checked < MEMO_RECHECK
           && e->evictions == look->evictions
           && (!e->session->expires || look->now < e->session->expires);
}

/* A cache entry's session: the memo's when it was parsed from these bytes. */
static void cached_session(request_rec *r, authproxy_request_t *req, lookup_t *look,
                           const char *answer, apr_size_t len)
{
    authproxy_memo_entry_t *e = look->known;
    authjs_session_t *session, *remembered;
    const char *why = NULL;
    apr_pool_t *pool;

    if (e && e->answer_len == len && !memcmp(e->answer, answer, len)) {
        e->checked = look->now;
        e->evictions = look->evictions;
        use_entry(req, e);
        return;
    }
    /* parsed in the request first: a bad entry leaves nothing on the connection */
    why = authjs_session_from_answer(r->pool, answer, len, look->now, &session);
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(056)
                      "session cache %s holds a bad entry (%s): asking the upstream",
                      authproxy_cache_spec(look->conf), why);
        return;
    }
    if (!(e = authproxy_memo_add(r, look->conf, &req->cookie, &pool))) {
        req->session = session;
        return;
    }
    memcpy(e->key, look->key, AUTHPROXY_CACHE_KEY_LEN);
    e->answer = apr_pmemdup(pool, answer, len);
    e->answer_len = len;
    e->checked = look->now;
    e->evictions = look->evictions;
    authjs_session_from_answer(pool, answer, len, look->now, &remembered);
    e->session = remembered;
    e->vars = authproxy_memo_vars(pool, e->session);
    use_entry(req, e);
}

/* The cache's session for the cookie: 1 when it had one (req->session). */
static int from_cache(request_rec *r, authproxy_request_t *req, lookup_t *look)
{
    const char *answer;
    apr_size_t len;

    if (!authproxy_cache_get(r, look->key, &answer, &len)) {
        return 0;
    }
    req->source = AUTHPROXY_SOURCE_CACHE;
    cached_session(r, req, look, answer, len);
    return req->session != NULL;
}

/* A "no session" answer this child keeps for the cookie: anonymous traffic
 * writes nothing to the shared cache. */
static int known_anonymous(request_rec *r, const authproxy_server_conf *conf,
                           const authjs_cookie_t *cookie)
{
    return authproxy_decoded_find(r, conf, cookie, apr_time_now(), r->pool) != NULL;
}

static void remember_anonymous(request_rec *r, const authproxy_server_conf *conf,
                               const authjs_cookie_t *cookie)
{
    int ttl = authproxy_cache_negative_ttl(conf);
    authproxy_decoded_t *d;
    apr_pool_t *pool;

    if (ttl > 0) {
        d = authproxy_decoded_new(r, conf, cookie, &pool);
        d->until = apr_time_now() + apr_time_from_sec(ttl);
        authproxy_decoded_share(d);
    }
}

/* The upstream's answer, without the cache. */
static void fetch_alone(request_rec *r, authproxy_request_t *req)
{
    if (authproxy_fetch_session(r, &req->cookie, &req->session, NULL) != APR_SUCCESS) {
        req->anonymous = AUTHPROXY_ANONYMOUS_UPSTREAM_ERROR;
    }
}

/* The upstream's answer, through the cache where there is one: concurrent
 * misses for one cookie wait for a single fetch. */
static void ask_upstream(request_rec *r, const authproxy_server_conf *conf,
                         authproxy_request_t *req)
{
    lookup_t look;
    int leader;

    req->source = AUTHPROXY_SOURCE_UPSTREAM;
    req->anonymous = AUTHPROXY_ANONYMOUS_NO_SESSION;
    if (!conf->cache) {
        fetch_alone(r, req);
        return;
    }
    look.conf = conf;
    look.known = authproxy_memo_find(r, conf, &req->cookie);
    look.evictions = authproxy_cache_evictions(conf);
    look.now = apr_time_now();
    if (still_fresh(&look)) {
        req->source = AUTHPROXY_SOURCE_CACHE;
        use_entry(req, look.known);
        return;
    }
    if (look.known) {
        memcpy(look.key, look.known->key, AUTHPROXY_CACHE_KEY_LEN);
    }
    else if (!authproxy_cache_key(r, &req->cookie, AUTHPROXY_KEY_SESSION, look.key)) {
        fetch_alone(r, req);
        return;
    }
    if (known_anonymous(r, conf, &req->cookie) || from_cache(r, req, &look)) {
        return;
    }
    leader = authproxy_flight_join(r, look.key);
    if (!leader && (known_anonymous(r, conf, &req->cookie) || from_cache(r, req, &look))) {
        return;
    }
    req->source = AUTHPROXY_SOURCE_UPSTREAM;
    if (authproxy_fetch_session(r, &req->cookie, &req->session, NULL) != APR_SUCCESS) {
        req->anonymous = AUTHPROXY_ANONYMOUS_UPSTREAM_ERROR;
    }
    else if (req->session) {
        authproxy_cache_put(r, look.key, req->session);
    }
    else {
        remember_anonymous(r, conf, &req->cookie);
    }
    if (leader) {
        authproxy_flight_land(look.key);
    }
}

/* The request's session cookie resolved, as for any page; 0 when there is
 * no session cookie. */
static int resolve(request_rec *r, const authproxy_server_conf *conf, authproxy_request_t *req)
{
    authjs_cookie_status_e status =
        authjs_cookie_find(r->pool, apr_table_get(r->headers_in, "Cookie"),
                           authproxy_origin_cookie_name(r), &req->cookie);

    if (status != AUTHJS_COOKIE_FOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "anonymous: %s",
                      authjs_cookie_status_text(status));
        req->cookie.value = NULL;
        req->anonymous = status == AUTHJS_COOKIE_NONE ? AUTHPROXY_ANONYMOUS_NO_COOKIE
                                                      : AUTHPROXY_ANONYMOUS_BAD_COOKIE;
        return 0;
    }
    if (conf->keyring) {
        decode_locally(r, conf, req);
    }
    else {
        ask_upstream(r, conf, req);
    }
    return 1;
}

const authjs_session_t *authproxy_session_get(request_rec *r)
{
    request_rec *orig = authproxy_original(r);
    const authproxy_server_conf *conf = authproxy_sconf(orig->server);
    authproxy_request_t *req = authproxy_request(orig);

    if (req->resolved) {
        /* a subrequest's answer may become the page's (mod_dir's fast redirect) */
        if (req->session) {
            authproxy_private_response(r);
        }
        return req->session;
    }
    req->resolved = 1;
    if (!conf->upstream || req->is_route) {
        return NULL;
    }
    resolve(orig, conf, req);
    if (!req->session) {
        authproxy_metrics_anonymous(orig, req->anonymous);
        return NULL;
    }
    authproxy_private_response(r);
    /* a subrequest's response headers never reach the browser, nor do its
     * main request's once they have left: renewal waits for a request of its own */
    if (!r->main) {
        authproxy_refresh(orig, req);
    }
    authproxy_metrics_session(orig, req->source);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(057) "session of %s (%s)",
                  req->session->email ? req->session->email
                  : req->session->id ? req->session->id : "a user without id",
                  authproxy_source_names[req->source]);
    return req->session;
}

void authproxy_session_signed_out(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    authproxy_request_t *req = authproxy_request(r);
    const authjs_session_t *session;

    /* only a real session's sign-out is written down: an anonymous client
     * cannot fill the shared cache with records */
    if (!resolve(r, conf, req) || !(session = req->session)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(058)
                      "sign-out of a cookie that is no session: nothing to forget");
        return;
    }
    req->session = NULL;
    if (conf->cache) {
        authproxy_cache_forget(r, &req->cookie);
        authproxy_refresh_forget(r, &req->cookie, session);
    }
}

const apr_table_t *authproxy_session_vars(request_rec *r)
{
    const authjs_session_t *session = authproxy_session_get(r);
    authproxy_request_t *req = authproxy_request(authproxy_original(r));

    if (!session) {
        return NULL;
    }
    if (!req->vars) {
        apr_pool_t *pool = authproxy_original(r)->pool;

        if (req->memo_vars) {
            req->vars = apr_table_copy(pool, req->memo_vars);
        }
        else {
            req->vars = apr_table_make(pool, 16);
            authjs_session_vars(pool, session, req->vars);
        }
        apr_table_setn(req->vars, "AUTHJS_SESSION_SOURCE", authproxy_source_names[req->source]);
    }
    return req->vars;
}

const char *authproxy_session_token(request_rec *r)
{
    return authproxy_session_get(r) ? authproxy_request(authproxy_original(r))->cookie.value : NULL;
}
