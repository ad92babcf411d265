/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxySessionRefresh: an active user's session renewed through the
 * upstream's /session, as Auth.js's own client renews it by polling: the
 * upstream re-issues the token (or extends the database session) and its
 * Set-Cookie reaches the browser with this response.
 *
 * A cookie is due SECONDS after its token's iat or, for a session the upstream
 * resolves, SECONDS after this module first resolved it. Its renewal record in
 * the cache (keyed like its session, for another purpose) holds when its clock
 * last started, or that it was signed out through this server. A cookie is
 * renewed only on a record read and a clock stored: with the cache
 * unreadable, nothing is renewed. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy.h"
#include "authproxy_headers.h"
#include "authproxy_origin.h"

#define SIGNED_OUT "out"

/* A renewal needs its clock stored: without it, every request would renew. */
static int start_clock(request_rec *r, const unsigned char *key, apr_time_t now, int every)
{
    /* a cookie idle for twice the period starts counting again */
    return authproxy_cache_put_record(r, key, apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                                           apr_time_sec(now)),
                                      now + apr_time_from_sec(2 * (apr_int64_t)every))
           == APR_SUCCESS;
}

/* The token's iat; 0 for a session the upstream resolved. */
static apr_int64_t issued_at(const authjs_session_t *session)
{
    json_t *iat = session->from_token ? json_object_get(session->claims, "iat") : NULL;

    return json_is_integer(iat) ? json_integer_value(iat) : 0;
}

/* The upstream's session cookie headers go to the browser; the renewed cookie,
 * as the browser will send it next, is put in *renewed. 0 when the answer set
 * none. */
static int pass_cookies(request_rec *r, const authjs_cookie_t *cookie,
                        const apr_array_header_t *set_cookies, authjs_cookie_t *renewed)
{
    /* joined once at the end: the upstream decides how many there are */
    apr_array_header_t *sent = apr_array_make(r->pool, set_cookies->nelts,
                                              sizeof(const char *));
    int i;

    for (i = 0; i < set_cookies->nelts; i++) {
        const char *set_cookie = APR_ARRAY_IDX(set_cookies, i, const char *);
        const char *pair = authjs_set_cookie_pair(r->pool, set_cookie, cookie->name);

        if (!pair) {
            continue;
        }
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       authproxy_set_cookie_for_browser(r, set_cookie));
        if (pair[strcspn(pair, "=") + 1]) {
            APR_ARRAY_PUSH(sent, const char *) = pair;
        }
    }
    return sent->nelts
           && authjs_cookie_find(r->pool, apr_array_pstrcat(r->pool, sent, ';'), cookie->name,
                                 renewed) == AUTHJS_COOKIE_FOUND;
}

/* The renewed cookie's session: decoded here when there is a secret, else
 * the upstream's answer (kept in the cache under the new cookie). */
static const authjs_session_t *renewed_session(request_rec *r,
                                               const authproxy_server_conf *conf,
                                               const authjs_cookie_t *renewed,
                                               const authjs_session_t *answer)
{
    const authjs_keyring_t *ring = authproxy_public_origin(r)->https ? conf->keyring_secure
                                                                      : conf->keyring;
    unsigned char key[AUTHPROXY_CACHE_KEY_LEN];
    json_t *claims;
    authjs_token_status_e status;

    if (!ring) {
        if (authproxy_cache_key(r, renewed, AUTHPROXY_KEY_SESSION, key)) {
            authproxy_cache_put(r, key, answer);
        }
        return answer;
    }
    status = authjs_token_decode(ring, renewed->value, strlen(renewed->value),
                                 apr_time_sec(apr_time_now()), r->pool, &claims);
    if (status != AUTHJS_TOKEN_VALID) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(049)
                      "session renewal: the upstream's new cookie is refused here (%s): the "
                      "current session is kept", authjs_token_status_text(status));
        return NULL;
    }
    return authjs_session_from_claims(r->pool, claims);
}

static void renew(request_rec *r, authproxy_request_t *req, const unsigned char *key,
                  apr_time_t now)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    apr_array_header_t *set_cookies = apr_array_make(r->pool, 4, sizeof(const char *));
    const authjs_session_t *answer, *session;
    const char *record;
    authjs_cookie_t renewed;
    unsigned char renewed_key[AUTHPROXY_CACHE_KEY_LEN];

    /* a failed fetch said why in its one line; the session stays */
    if (authproxy_fetch_session(r, &req->cookie, &answer, set_cookies) != APR_SUCCESS) {
        return;
    }
    if (!answer) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(050)
                      "session renewal: the upstream has no session for this cookie: the current "
                      "session is kept");
        return;
    }
    /* a sign-out while the upstream was asked: its cookie must not come back */
    if (authproxy_cache_get_record(r, key, &record) == APR_SUCCESS
        && !strcmp(record, SIGNED_OUT)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(051)
                      "session renewal: signed out meanwhile: the renewed cookie is dropped");
        return;
    }
    if (!pass_cookies(r, &req->cookie, set_cookies, &renewed)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(052)
                      "session renewal: the upstream's answer sets no session cookie: the current "
                      "session is kept");
        return;
    }
    if (!(session = renewed_session(r, conf, &renewed, answer))) {
        return;
    }
    /* with no clock stored, the renewed cookie counts from its iat or its first request */
    if (authproxy_cache_key(r, &renewed, AUTHPROXY_KEY_RENEWAL, renewed_key)) {
        start_clock(r, renewed_key, now, authproxy_session_refresh(conf));
    }
    req->cookie = renewed;
    req->session = session;
    req->memo_vars = NULL;
    req->vars = NULL;
    req->source = AUTHPROXY_SOURCE_UPSTREAM;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(053)
                  "session renewed through the upstream");
}

void authproxy_refresh(request_rec *r, authproxy_request_t *req)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    int every = authproxy_session_refresh(conf);
    apr_time_t now = apr_time_now();
    apr_int64_t started = issued_at(req->session);
    unsigned char key[AUTHPROXY_CACHE_KEY_LEN];
    const char *record;
    apr_status_t rv;

    /* a young token is known young without asking the cache */
    if (!every || !conf->cache || (started && apr_time_sec(now) - started < every)) {
        return;
    }
    if (!authproxy_cache_key(r, &req->cookie, AUTHPROXY_KEY_RENEWAL, key)) {
        return;
    }
    rv = authproxy_cache_get_record(r, key, &record);
    /* an unreadable record is not a missing one: it may say "signed out" */
    if ((rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv))
        || (record && !strcmp(record, SIGNED_OUT))) {
        return;
    }
    if (record) {
        started = apr_atoi64(record) > started ? apr_atoi64(record) : started;
    }
    else if (!started) {
        start_clock(r, key, now, every);
        return;
    }
    if (apr_time_sec(now) - started < every || !authproxy_flight_take(key)) {
        return;
    }
    /* claimed before asking: another process looking now waits its turn, and
     * an upstream that fails is asked again a period later, not at once */
    if (start_clock(r, key, now, every)) {
        renew(r, req, key, now);
    }
    authproxy_flight_land(key);
}

void authproxy_refresh_forget(request_rec *r, const authjs_cookie_t *cookie,
                              const authjs_session_t *session)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    unsigned char key[AUTHPROXY_CACHE_KEY_LEN];
    /* as long as the session could be taken (a token within the clock-skew
     * leeway), or Auth.js's default session maxAge where it names no end */
    apr_time_t until = session->expires
                       ? session->expires + apr_time_from_sec(AUTHJS_CLOCK_TOLERANCE)
                       : apr_time_now() + apr_time_from_sec(AUTHPROXY_MAX_REFRESH);

    if (!authproxy_session_refresh(conf) || !conf->cache) {
        return;
    }
    if (!authproxy_cache_key(r, cookie, AUTHPROXY_KEY_RENEWAL, key)
        || authproxy_cache_put_record(r, key, SIGNED_OUT, until) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(054)
                      "sign-out: the session cache cannot keep it: the signed-out cookie could be "
                      "renewed once the cache is back");
    }
}
