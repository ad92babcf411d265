/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxySessionRefresh: an active user's session refreshed through the
 * upstream's /session, as Auth.js's own client refreshes it by polling: the
 * upstream re-issues the token (or extends the database session) and its
 * Set-Cookie reaches the browser with this response.
 *
 * A cookie is due SECONDS after its token's iat or, for a session the upstream
 * resolves, SECONDS after this module first resolved it. Its refresh record in
 * the shared cache holds when its clock last started, or that it was signed
 * out through this server. A cookie is refreshed only on a record read and a
 * clock stored: with the cache unreadable, nothing is refreshed. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy_cache.h"
#include "authproxy_config.h"
#include "authproxy_fetch.h"
#include "authproxy_flight.h"
#include "authproxy_headers.h"
#include "authproxy_refresh.h"

#define SIGNED_OUT "out"

/* A refresh needs its clock stored: without it, every request would refresh. */
static int start_clock(authproxy_identity_t *id, apr_time_t now, int every)
{
    /* a cookie idle for twice the period starts counting again */
    return authproxy_cache_put(id, AUTHPROXY_RECORD_REFRESH,
                               apr_psprintf(id->pool, "%" APR_INT64_T_FMT, apr_time_sec(now)),
                               now + apr_time_from_sec(2 * (apr_int64_t)every))
           == APR_SUCCESS;
}

/* The token's iat; 0 for a session the upstream resolved. */
static apr_int64_t issued_at(const authjs_session_t *session)
{
    json_t *iat = session->from_token ? json_object_get(session->claims, "iat") : NULL;

    return json_is_integer(iat) ? json_integer_value(iat) : 0;
}

/* The upstream's session cookie headers go to the browser; the refreshed
 * cookie, as the browser will send it next, is put in *refreshed. 0 when the
 * answer set none. */
static int pass_cookies(request_rec *r, const authjs_cookie_t *cookie,
                        const apr_array_header_t *set_cookies, authjs_cookie_t *refreshed)
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
                                 refreshed) == AUTHJS_COOKIE_FOUND;
}

/* The refreshed cookie's session: decoded here when there is a secret, else
 * the upstream's answer. */
static const authjs_session_t *refreshed_session(request_rec *r, authproxy_identity_t *id,
                                                 const authjs_session_t *answer)
{
    json_t *claims;
    authjs_token_status_e status;

    if (!id->keyring) {
        return answer;
    }
    status = authjs_token_decode(id->keyring, id->cookie.value, strlen(id->cookie.value),
                                 apr_time_sec(apr_time_now()), r->pool, &claims);
    if (status != AUTHJS_TOKEN_VALID) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(049)
                      "session refresh: the upstream's "
                      "new cookie is refused here (%s): the current session is kept",
                      authjs_token_status_text(status));
        return NULL;
    }
    return authjs_session_from_claims(r->pool, claims);
}

static int signed_out(authproxy_identity_t *id)
{
    const char *record;
    apr_size_t len;

    return authproxy_cache_get(id, AUTHPROXY_RECORD_REFRESH, &record, &len) == APR_SUCCESS
           && !strcmp(record, SIGNED_OUT);
}

static authproxy_identity_t *refresh_now(request_rec *r, authproxy_identity_t *id,
                                         apr_time_t now, const authjs_session_t **session)
{
    apr_array_header_t *set_cookies = apr_array_make(r->pool, 4, sizeof(const char *));
    const authjs_session_t *answer, *fresh;
    authjs_cookie_t cookie;
    authproxy_identity_t *refreshed;

    /* a failed fetch said why in its one line; the session stays */
    if (authproxy_fetch_session(r, id, &answer, set_cookies) != APR_SUCCESS) {
        return NULL;
    }
    if (!answer) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(050)
                      "session refresh: the upstream has "
                      "no session for this cookie: the current session is kept");
        return NULL;
    }
    /* a sign-out while the upstream was asked: its cookie must not come back */
    if (signed_out(id)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(051)
                      "session refresh: signed out meanwhile: "
                      "the refreshed cookie is dropped");
        return NULL;
    }
    if (!pass_cookies(r, &id->cookie, set_cookies, &cookie)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(052)
                      "session refresh: the upstream's "
                      "answer sets no session cookie: the current session is kept");
        return NULL;
    }
    refreshed = authproxy_identity_with_cookie(id, &cookie);
    if (!(fresh = refreshed_session(r, refreshed, answer))) {
        return NULL;
    }
    *session = fresh;
    /* with no clock stored, the refreshed cookie counts from its iat or its first request */
    start_clock(refreshed, now, authproxy_session_refresh(id->conf));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(053)
                  "session refreshed through the upstream");
    return refreshed;
}

authproxy_identity_t *authproxy_refresh(request_rec *r, authproxy_identity_t *id,
                                        const authjs_session_t **session)
{
    int every = authproxy_session_refresh(id->conf);
    apr_time_t now = apr_time_now();
    apr_int64_t started = issued_at(*session);
    authproxy_identity_t *refreshed = NULL;
    const unsigned char *key;
    const char *record;
    apr_size_t len;
    apr_status_t rv;

    /* a young token is known young without asking the cache */
    if (!every || !id->conf->cache || (started && apr_time_sec(now) - started < every)) {
        return NULL;
    }
    rv = authproxy_cache_get(id, AUTHPROXY_RECORD_REFRESH, &record, &len);
    /* an unreadable record is not a missing one: it may say "signed out" */
    if ((rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv))
        || (record && !strcmp(record, SIGNED_OUT))) {
        return NULL;
    }
    if (record) {
        started = apr_atoi64(record) > started ? apr_atoi64(record) : started;
    }
    else if (!started) {
        start_clock(id, now, every);
        return NULL;
    }
    key = authproxy_cache_key(id, AUTHPROXY_RECORD_REFRESH);
    if (apr_time_sec(now) - started < every || !key || !authproxy_flight_take(key)) {
        return NULL;
    }
    /* claimed before asking: another process looking now waits its turn, and
     * an upstream that fails is asked again a period later, not at once */
    if (start_clock(id, now, every)) {
        refreshed = refresh_now(r, id, now, session);
    }
    authproxy_flight_land(key);
    return refreshed;
}

void authproxy_refresh_forget(authproxy_identity_t *id, const authjs_session_t *session)
{
    /* as long as the session could be taken (a token within the clock-skew
     * leeway), or Auth.js's default session maxAge where it names no end */
    apr_time_t until = session->expires
                       ? session->expires + apr_time_from_sec(AUTHJS_CLOCK_TOLERANCE)
                       : apr_time_now() + apr_time_from_sec(AUTHPROXY_MAX_REFRESH);

    if (authproxy_session_refresh(id->conf)
        && authproxy_cache_put(id, AUTHPROXY_RECORD_REFRESH, SIGNED_OUT, until) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, id->server, AUTHPROXY_LOGNO(054)
                     "sign-out: the session cache cannot "
                     "keep it: the signed-out cookie could be refreshed once the cache is back");
    }
}
