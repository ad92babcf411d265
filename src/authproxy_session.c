/* SPDX-License-Identifier: Apache-2.0 */
/* authproxy_session_get(r): the request's session cookie (or, as Auth.js's
 * getToken() reads it, a Bearer token taken for it), its identity worked
 * out once, resolved through the child's store, local decoding, the shared
 * cache or the upstream's /session, at most once per request, whichever hook
 * asks first; and a sign-out, which only a real session's writes down. */
#include <string.h>

#include <apr_strings.h>
#include <http_request.h>

#include "authproxy_cache.h"
#include "authproxy_claims.h"
#include "authproxy_fetch.h"
#include "authproxy_flight.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"
#include "authproxy_private.h"
#include "authproxy_refresh.h"
#include "authproxy_revocation.h"
#include "authproxy_session.h"

/* A stored answer of the shared cache is taken as it is for RECHECK, unless a
 * sign-out through this server has evicted any entry since: the shared cache
 * (and its lock) is asked about once a second per cookie and child instead of
 * on every request. */
#define RECHECK apr_time_from_sec(1)

static void use(authproxy_request_t *req, const authproxy_stored_t *stored)
{
    req->session = stored->session;
    req->stored = stored;
}

/* The request's credential, all that its session depends on: 0 when there is
 * none (req->anonymous says why). Where no cookie holds a token and the
 * original request's directory says AuthProxyBearer On, a Bearer token is
 * that origin's session cookie (its name the keys' salt, its pair what the
 * /session fetch sends): every store, key and fetch takes it as one. The
 * routes' Authorization is the upstream's alone. */
static int identify(request_rec *r, const authproxy_server_conf *conf,
                    authproxy_request_t *req)
{
    const authproxy_origin_t *origin = authproxy_public_origin(r);
    const char *name = conf->session_cookie[origin->https].name;
    int bearer_on = !req->is_route && authproxy_bearer(authproxy_dconf(r));
    authjs_cookie_t cookie;
    authjs_cookie_status_e status =
        authjs_cookie_find(r->pool, apr_table_get(r->headers_in, "Cookie"), name, &cookie);

    if (bearer_on && (status == AUTHJS_COOKIE_NONE || status == AUTHJS_COOKIE_EMPTY)) {
        authjs_cookie_status_e bearer =
            authjs_cookie_bearer(r->pool, apr_table_get(r->headers_in, "Authorization"), name,
                                 &cookie);

        if (bearer != AUTHJS_COOKIE_NONE) {
            req->bearer = 1;
            status = bearer;
        }
    }
    if (status != AUTHJS_COOKIE_FOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "anonymous: %s",
                      authjs_cookie_status_text(status));
        /* a malformed Bearer token is an invalid one, as getToken() has it */
        req->anonymous = status == AUTHJS_COOKIE_NONE ? AUTHPROXY_ANONYMOUS_NO_COOKIE
                         : req->bearer ? AUTHPROXY_ANONYMOUS_INVALID_TOKEN
                         : AUTHPROXY_ANONYMOUS_BAD_COOKIE;
        return 0;
    }
    req->identity = authproxy_identity_make(r, conf, origin, &cookie);
    return 1;
}

static void decode_locally(request_rec *r, authproxy_request_t *req)
{
    authproxy_identity_t *id = req->identity;
    apr_time_t now = apr_time_now();
    const authproxy_stored_t *stored = authproxy_store_find(id, AUTHPROXY_STORED_SESSION, now, NULL);
    json_t *claims;
    authjs_token_status_e status;

    req->source = AUTHPROXY_SOURCE_LOCAL;
    if (stored) {
        use(req, stored);
        return;
    }
    status = authjs_token_decode(id->keyring, id->cookie.value, strlen(id->cookie.value),
                                 apr_time_sec(now), r->pool, &claims);
    if (status != AUTHJS_TOKEN_VALID) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(055)
                      "%s %s refused: %s", req->bearer ? "Bearer token for the cookie"
                      : "session cookie", id->cookie.name, authjs_token_status_text(status));
        req->anonymous = status == AUTHJS_TOKEN_EXPIRED ? AUTHPROXY_ANONYMOUS_EXPIRED
                                                        : AUTHPROXY_ANONYMOUS_INVALID_TOKEN;
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "session cookie %s decoded", id->cookie.name);
    use(req, authproxy_store_decoded(id, claims));
}

/* One look for a credential's session through the child's store and the
 * shared cache. */
typedef struct {
    authproxy_request_t *req;
    /* when the cache was read, and its sign-out count before: a sign-out that
     * overlaps the look makes the next request look again */
    authproxy_stored_check_t check;
    const authproxy_stored_t *stale;    /* a stored session the cache may still hold */
} look_t;

/* The shared cache's session for the credential: 1 when it had one. The child
 * takes bytes it has parsed before as they are. */
static int from_cache(request_rec *r, look_t *look)
{
    authproxy_identity_t *id = look->req->identity;
    const authproxy_stored_t *stored = look->stale;
    const char *answer, *why;
    apr_size_t len;
    apr_status_t rv;

    look->check.checked = apr_time_now();
    rv = authproxy_cache_get(id, AUTHPROXY_RECORD_SESSION, &answer, &len);
    if (rv != APR_SUCCESS) {
        return 0;
    }
    if (stored && stored->answer && stored->answer_len == len
        && !memcmp(stored->answer, answer, len)) {
        authproxy_store_checked(id, stored, &look->check);
    }
    else if (!(stored = authproxy_store_answer(id, answer, len, &look->check, &why))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(056)
                      "session cache %s holds a bad entry (%s): "
                      "asking the upstream", authproxy_cache_spec(id->conf), why);
        return 0;
    }
    look->req->source = AUTHPROXY_SOURCE_CACHE;
    use(look->req, stored);
    return 1;
}

/* A session the upstream answered: to the shared cache, and to the child as
 * the bytes it stored, which later requests take as they are for RECHECK. */
static void keep(authproxy_identity_t *id, const authjs_session_t *session,
                 authproxy_stored_check_t check)
{
    const char *why;

    /* a sign-out through this server while the upstream was asked: the
     * answer is this request's alone */
    if (authproxy_cache_evictions(id->conf) != check.evictions) {
        return;
    }
    check.checked = apr_time_now();
    if (authproxy_cache_put_session(id, session) == APR_SUCCESS) {
        authproxy_store_answer(id, session->json, strlen(session->json), &check, &why);
    }
}

/* The upstream's answer; after a look, a session is kept and "no session"
 * stays in the child. */
static void fetch(request_rec *r, authproxy_request_t *req, const look_t *look)
{
    const authjs_session_t *session;

    req->source = AUTHPROXY_SOURCE_UPSTREAM;
    if (authproxy_fetch_session(r, req->identity, &session, NULL) != APR_SUCCESS) {
        req->anonymous = AUTHPROXY_ANONYMOUS_UPSTREAM_ERROR;
        return;
    }
    req->session = session;
    if (look && session) {
        keep(req->identity, session, look->check);
    }
    else if (look) {
        /* anonymous traffic writes nothing to the shared cache */
        authproxy_store_none(req->identity);
    }
}

/* The session the child keeps for the credential settles it: 1 when it did;
 * else look->stale is one whose bytes the shared cache may still hold. */
static int settled_in_child(look_t *look)
{
    authproxy_stored_check_t last;
    apr_time_t now = apr_time_now();
    const authproxy_stored_t *stored =
        authproxy_store_find(look->req->identity, AUTHPROXY_STORED_SESSION, now, &last);

    look->stale = NULL;
    if (!stored) {
        return 0;
    }
    /* a clock stepped back counts as a second gone */
    if (now - last.checked >= RECHECK || now < last.checked
        || last.evictions != look->check.evictions) {
        look->stale = stored;
        return 0;
    }
    look->req->source = AUTHPROXY_SOURCE_CACHE;
    use(look->req, stored);
    return 1;
}

/* The upstream's "no session" for the credential, kept in the child. */
static int known_anonymous(look_t *look)
{
    return authproxy_store_find(look->req->identity, AUTHPROXY_STORED_NONE, apr_time_now(),
                                NULL) != NULL;
}

/* The upstream's answer, through the cache where there is one: concurrent
 * misses for one cookie wait for a single fetch. */
static void ask_upstream(request_rec *r, authproxy_request_t *req)
{
    authproxy_identity_t *id = req->identity;
    look_t look = { req, { 0, 0 }, NULL };
    const unsigned char *key;
    int leader;

    req->anonymous = AUTHPROXY_ANONYMOUS_NO_SESSION;
    if (!id->conf->cache) {
        fetch(r, req, NULL);
        return;
    }
    look.check.evictions = authproxy_cache_evictions(id->conf);
    if (settled_in_child(&look)) {
        return;
    }
    if (!(key = authproxy_cache_key(id, AUTHPROXY_RECORD_SESSION))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(041)
                      "OpenSSL cannot hash a session cache key: "
                      "this request goes without the cache");
        fetch(r, req, NULL);
        return;
    }
    if (known_anonymous(&look) || from_cache(r, &look)) {
        return;
    }
    leader = authproxy_flight_join(key, apr_time_from_sec(authproxy_timeout(id->conf)));
    if (!leader && (settled_in_child(&look) || known_anonymous(&look) || from_cache(r, &look))) {
        return;
    }
    fetch(r, req, &look);
    if (leader) {
        authproxy_flight_land(key);
    }
}

/* A revoked session is none; so is one whose revocation cannot be read
 * under AuthProxyRevocationUnavailable closed (and the request refused). */
static void unless_revoked(request_rec *r, authproxy_request_t *req, int at_once)
{
    authproxy_revocation_e revoked =
        authproxy_revocation_check(req->identity, req->stored, req->session, at_once);

    if (revoked != AUTHPROXY_REVOCATION_NONE) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(063)
                      "session cookie %s: %s", req->identity->cookie.name,
                      revoked == AUTHPROXY_REVOCATION_REVOKED
                      ? "revoked" : "revocations cannot be read: refused");
        req->session = NULL;
        req->stored = NULL;
        if (revoked == AUTHPROXY_REVOCATION_REVOKED) {
            req->anonymous = AUTHPROXY_ANONYMOUS_REVOKED;
        }
        else {
            req->anonymous = AUTHPROXY_ANONYMOUS_REVOCATION_UNAVAILABLE;
            req->refused = HTTP_SERVICE_UNAVAILABLE;
        }
    }
}

/* The request's session cookie resolved, as for any page; 0 when there is
 * no session cookie. */
static int resolve(request_rec *r, const authproxy_server_conf *conf,
                   authproxy_request_t *req)
{
    if (!identify(r, conf, req)) {
        return 0;
    }
    if (req->identity->keyring) {
        decode_locally(r, req);
    }
    else {
        ask_upstream(r, req);
    }
    return 1;
}

/* AuthProxySessionRefresh, once for each request whose session is resolved
 * before its handler (under AuthType authjs, or to be published), and before
 * it is published: the refreshed cookie's session becomes the request's. A
 * subrequest's response headers never reach the browser, nor do its main
 * request's once they have left: a session first resolved by a subrequest is
 * refreshed by a later request of its own. */
static int authproxy_session_fixups(request_rec *r)
{
    request_rec *orig = authproxy_original(r);
    authproxy_request_t *req = authproxy_request(orig);
    const authjs_session_t *session;
    authproxy_identity_t *refreshed;

    /* a pass that neither resolved nor publishes the session leaves it to
     * the internal redirect (ErrorDocument, RewriteRule) that may */
    if (r->main || req->refresh_considered
        || (!req->resolved && !authproxy_session_enabled(r))) {
        return DECLINED;
    }
    req->refresh_considered = 1;
    if (!authproxy_session_get(r)) {
        return req->refused ? req->refused : DECLINED;
    }
    /* a Bearer client keeps its token: a refreshed cookie would reach no one */
    if (req->bearer) {
        return DECLINED;
    }
    session = req->session;
    refreshed = authproxy_refresh(orig, req->identity, &session);

    if (refreshed) {
        /* a session the upstream resolves is kept under the refreshed cookie */
        if (!refreshed->keyring) {
            authproxy_stored_check_t check = { 0, authproxy_cache_evictions(refreshed->conf) };

            keep(refreshed, session, check);
        }
        req->identity = refreshed;
        req->session = session;
        req->stored = NULL;
        req->vars = NULL;
        req->source = AUTHPROXY_SOURCE_UPSTREAM;
    }
    return DECLINED;
}

/* The page's session, resolved, counted and logged. */
static void resolve_page(request_rec *r, const authproxy_server_conf *conf,
                         authproxy_request_t *req)
{
    if (resolve(r, conf, req) && req->session && conf->revocations) {
        unless_revoked(r, req, 0);
    }
    if (req->session && req->bearer) {
        req->source = AUTHPROXY_SOURCE_BEARER;
        /* decided here: a pass refused before its fixups (403 to an
         * ErrorDocument) strips the token in the pass that follows */
        req->strip_bearer = authproxy_strip_bearer(authproxy_dconf(r));
    }
    authproxy_metrics_resolved(conf, req);
    if (req->session) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(057) "session of %s (%s)",
                      req->session->email ? req->session->email
                      : req->session->id ? req->session->id : "a user without id",
                      authproxy_source_names[req->source]);
    }
}

const authjs_session_t *authproxy_session_get(request_rec *r)
{
    request_rec *orig = authproxy_original(r);
    authproxy_request_t *req = authproxy_request(orig);
    const authproxy_server_conf *conf = authproxy_sconf(orig->server);

    if (!req->resolved) {
        req->resolved = 1;
        if (conf->upstream && !req->is_route && !req->preflight) {
            resolve_page(orig, conf, req);
        }
    }
    if (req->session) {
        /* the request at hand's too: a subrequest's answer may become the
         * page's (mod_dir's fast redirect) */
        authproxy_private_response(r);
    }
    return req->session;
}

void authproxy_session_signed_out(request_rec *r)
{
    authproxy_request_t *req = authproxy_request(r);
    const authjs_session_t *session;

    /* only a real session's sign-out is written down: an anonymous client
     * cannot fill the shared cache with records */
    if (!resolve(r, authproxy_sconf(r->server), req) || !(session = req->session)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(058)
                      "sign-out of a cookie that is no "
                      "session: nothing to forget");
        return;
    }
    req->session = NULL;
    if (req->identity->conf->cache) {
        if (authproxy_cache_forget(req->identity) == APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(046)
                          "sign-out: cached session removed");
        }
        authproxy_refresh_forget(req->identity, session);
        authproxy_revocation_signed_out(req->identity, session);
    }
}

int authproxy_session_route(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    authproxy_request_t *req = authproxy_request(r);
    const char *cookies;

    if (!conf->revocations || !resolve(r, conf, req) || !req->session) {
        return OK;
    }
    /* as the cache says now: a token let through in the second a child
     * takes its last read as it is would come back as a new one */
    unless_revoked(r, req, 1);
    req->session = NULL;
    if (req->refused || req->anonymous != AUTHPROXY_ANONYMOUS_REVOKED) {
        return req->refused ? req->refused : OK;
    }
    /* the upstream would take it, and its /session issue a new token for it */
    cookies = authjs_cookie_strip(r->pool, apr_table_get(r->headers_in, "Cookie"),
                                  authproxy_cookie_name(conf));
    if (cookies) {
        apr_table_setn(r->headers_in, "Cookie", cookies);
    }
    else {
        apr_table_unset(r->headers_in, "Cookie");
    }
    return OK;
}

int authproxy_session_refused(request_rec *r)
{
    authproxy_request_t *req = authproxy_request(authproxy_original(r));

    return authproxy_session_get(r) ? OK : req->refused;
}

const apr_table_t *authproxy_session_vars(request_rec *r)
{
    request_rec *orig = authproxy_original(r);
    authproxy_request_t *req = authproxy_request(orig);

    const apr_array_header_t *rules = authproxy_dconf(r)->publish_claims;
    apr_table_t *filtered;

    if (!authproxy_session_get(r)) {
        return NULL;
    }
    if (rules) {
        /* this directory's AuthProxyPublishClaims: the child's copy holds
         * the default's, so these are built anew from the claims */
        filtered = apr_table_make(r->pool, 16);
        authjs_session_vars_filtered(r->pool, req->session, authproxy_claim_published,
                                     (void *)rules, filtered);
        apr_table_setn(filtered, "AUTHJS_SESSION_SOURCE", authproxy_source_names[req->source]);
        return filtered;
    }
    if (!req->vars) {
        if (req->stored) {
            req->vars = apr_table_copy(orig->pool, req->stored->vars);
        }
        else {
            req->vars = apr_table_make(orig->pool, 16);
            authjs_session_vars(orig->pool, req->session, req->vars);
        }
        apr_table_setn(req->vars, "AUTHJS_SESSION_SOURCE", authproxy_source_names[req->source]);
    }
    return req->vars;
}

const char *authproxy_session_token(request_rec *r)
{
    if (!authproxy_session_get(r)) {
        return NULL;
    }
    return authproxy_request(authproxy_original(r))->identity->cookie.value;
}

void authproxy_session_register_hooks(apr_pool_t *p)
{
    /* before the session is published (authproxy_publish.c) and mod_rewrite
     * may test it */
    static const char *const before_rewrite[] = { "mod_rewrite.c", NULL };

    ap_hook_fixups(authproxy_session_fixups, NULL, before_rewrite, APR_HOOK_FIRST - 1);
}
