/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxyRevocation. Auth.js's JWT sessions are stateless: a token copied
 * before its sign-out is taken until its exp. With revocation on, a sign-out
 * through the routes writes the token down as revoked in the shared cache
 * until it ends, and SetHandler authproxy-revoke does so for one token or for
 * every token of a user issued before a time; every server sharing the cache
 * refuses them.
 *
 * Records: a token by its jti (Auth.js gives every token one) and by its
 * cookie value (what a server without the secret knows of it), a user by its
 * sub with the time before which its tokens are revoked. Every revocation
 * then writes the scope's generation anew (random bytes). Each child reads
 * the generation at most once a second, and looks a session up in the
 * records only when the generation changed since its store entry was last
 * looked up: with nothing revoked, revocation costs a child one lookup a
 * second, not one per token. A revocation's records are written before the
 * generation and a check reads the generation before the records, so one
 * written after a check changes the generation that the next read finds.
 * Only sign-outs of real sessions and the guarded handler write here:
 * anonymous traffic cannot evict revocations. */
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#include "authproxy_cache.h"
#include "authproxy_config.h"
#include "authproxy_revocation.h"

#define RECHECK apr_time_from_sec(1)
/* How long a user's revocation and an unknown token's are kept: Auth.js's
 * default session maxAge, and the longest a memcached entry lives. */
#define KEPT apr_time_from_sec(AUTHPROXY_MAX_REFRESH)
/* The largest request body the handler reads: a token with room to spare. */
#define MAX_BODY 32768
/* A "before" this far ahead is a mistake (milliseconds for seconds). */
#define MAX_AHEAD 300

/* The named records' purposes (authproxy_cache_get_named). */
#define REVOKED_JTI "revoked-jti"
#define REVOKED_COOKIE "revoked-cookie"
#define REVOKED_USER "revoked-user"
#define GENERATION "revocations"
/* What a request does when they cannot be read (the cache's log line). */
#define UNKNOWN "revocations unknown"

/* Generations as read: 0 and 1 are never written. */
#define NEVER_READ 0
#define UNREADABLE 1

/* A child's view of its server's revocations: allocated before the fork,
 * each child's own. */
struct authproxy_revocations {
    apr_uint64_t generation;      /* atomic: as last read */
    apr_uint64_t read_at;         /* atomic apr_time_t; 0: never */
    apr_uint64_t complained_at;   /* atomic apr_time_t: the last "unavailable" line */
};

int authproxy_revocation_post_config(apr_pool_t *pconf, server_rec *s)
{
    for (; s; s = s->next) {
        authproxy_server_conf *conf = authproxy_sconf(s);

        if (conf->upstream && authproxy_revocation(conf) && conf->cache) {
            conf->revocations = apr_pcalloc(pconf, sizeof(*conf->revocations));
        }
    }
    return OK;
}

/* A generation as written: above those that are never written. */
static apr_uint64_t written(apr_uint64_t generation)
{
    return generation > UNREADABLE ? generation : UNREADABLE + 1;
}

/* A named record's presence: NONE when absent, REVOKED when there. */
static authproxy_revocation_e recorded(authproxy_identity_t *id, const char *purpose,
                                       const char *name, const char **value)
{
    apr_status_t rv = authproxy_cache_get_named(id->conf, id->server, id->pool, purpose, name,
                                                UNKNOWN, value);

    return rv == APR_SUCCESS ? AUTHPROXY_REVOCATION_REVOKED
           : APR_STATUS_IS_NOTFOUND(rv) ? AUTHPROXY_REVOCATION_NONE
           : AUTHPROXY_REVOCATION_UNAVAILABLE;
}

static apr_uint64_t announce(const authproxy_server_conf *conf, server_rec *s, apr_pool_t *p);

/* The scope's generation as the cache holds it, written anew where it holds
 * none (emptied, restarted): memcache's provider answers "not found" where it
 * finds no live server, so only a write tells an empty cache from a dead
 * one. UNREADABLE where the cache cannot say. */
static apr_uint64_t read_generation(authproxy_identity_t *id)
{
    const char *value;

    switch (recorded(id, GENERATION, "", &value)) {
    case AUTHPROXY_REVOCATION_REVOKED:    /* it is there */
        return written(strtoull(value, NULL, 16));
    case AUTHPROXY_REVOCATION_NONE:
        return announce(id->conf, id->server, id->pool);
    default:
        return UNREADABLE;
    }
}

/* The scope's generation, read at most once a second by one of the child's
 * threads while the others take the last one read (once there is one). */
static apr_uint64_t generation(authproxy_identity_t *id)
{
    authproxy_revocations_t *rev = id->conf->revocations;
    apr_time_t now = apr_time_now();
    apr_uint64_t read_at = apr_atomic_read64(&rev->read_at);
    apr_uint64_t seen = apr_atomic_read64(&rev->generation), generation;

    /* a clock stepped back counts as a second gone */
    if (seen != NEVER_READ && now >= (apr_time_t)read_at
        && now - (apr_time_t)read_at < RECHECK) {
        return seen;
    }
    if (apr_atomic_cas64(&rev->read_at, now, read_at) != read_at && seen != NEVER_READ) {
        return seen;
    }
    generation = read_generation(id);
    /* a revocation this child announced meanwhile stands */
    apr_atomic_cas64(&rev->generation, generation, seen);
    return generation;
}

/* The token's claim `name` as a string; NULL when it has none. */
static const char *claim_text(const authjs_session_t *session, const char *name)
{
    json_t *claim = session->from_token ? json_object_get(session->claims, name) : NULL;

    return json_is_string(claim) && *json_string_value(claim) ? json_string_value(claim) : NULL;
}

/* The records' word on the session: its token's (by its value, which any
 * server knows, and by its jti), then its user's. */
static authproxy_revocation_e look_up(authproxy_identity_t *id, const authjs_session_t *session)
{
    const char *jti = claim_text(session, "jti"), *sub = claim_text(session, "sub");
    json_t *iat = session->from_token ? json_object_get(session->claims, "iat") : NULL;
    const char *before;
    authproxy_revocation_e found = recorded(id, REVOKED_COOKIE, id->cookie.value, &before);

    if (found == AUTHPROXY_REVOCATION_NONE && jti) {
        found = recorded(id, REVOKED_JTI, jti, &before);
    }
    if (found != AUTHPROXY_REVOCATION_NONE || !sub || !json_is_integer(iat)) {
        return found;
    }
    found = recorded(id, REVOKED_USER, sub, &before);
    /* a token of the revocation's own second is revoked: one-second times
     * cannot tell it from one issued just before */
    if (found == AUTHPROXY_REVOCATION_REVOKED && json_integer_value(iat) > apr_atoi64(before)) {
        found = AUTHPROXY_REVOCATION_NONE;
    }
    return found;
}

/* Once a minute per child: requests taken, or refused, without knowing. */
static void complain(authproxy_identity_t *id, int closed)
{
    authproxy_revocations_t *rev = id->conf->revocations;
    apr_time_t now = apr_time_now();
    apr_uint64_t last = apr_atomic_read64(&rev->complained_at);

    if ((last && now - (apr_time_t)last < apr_time_from_sec(60))
        || apr_atomic_cas64(&rev->complained_at, now, last) != last) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, id->server, AUTHPROXY_LOGNO(059)
                 "%s: the session cache cannot say what is revoked: signed-in requests are %s "
                 "(%s); said once a minute", AUTHPROXY_DIR_REVOCATION,
                 closed ? "refused with 503" : "served", AUTHPROXY_DIR_REVOCATION_UNAVAILABLE);
}

authproxy_revocation_e authproxy_revocation_check(authproxy_identity_t *id,
                                                  const authproxy_stored_t *stored,
                                                  const authjs_session_t *session, int at_once)
{
    apr_uint64_t now_generation, confirmed, stamp = stored ? authproxy_store_revocation(stored) : 0;
    authproxy_revocation_e found;

    if (stamp == AUTHPROXY_STORED_REVOKED) {
        return AUTHPROXY_REVOCATION_REVOKED;
    }
    now_generation = at_once ? read_generation(id) : generation(id);
    if (now_generation != UNREADABLE && stamp == now_generation) {
        return AUTHPROXY_REVOCATION_NONE;
    }
    found = now_generation == UNREADABLE ? AUTHPROXY_REVOCATION_UNAVAILABLE
                                         : look_up(id, session);
    /* "not found" counts once the generation, read again, shows the cache
     * was there to say it (a provider without a live server says it too) */
    if (found == AUTHPROXY_REVOCATION_NONE && (confirmed = read_generation(id)) != now_generation) {
        if (confirmed == UNREADABLE) {
            found = AUTHPROXY_REVOCATION_UNAVAILABLE;
        }
        stored = NULL;      /* nothing to keep: the next request looks again */
    }
    if (found == AUTHPROXY_REVOCATION_UNAVAILABLE) {
        int closed = authproxy_revocation_unavailable(id->conf) == AUTHPROXY_UNAVAILABLE_CLOSED;

        complain(id, closed);
        return closed ? AUTHPROXY_REVOCATION_UNAVAILABLE : AUTHPROXY_REVOCATION_NONE;
    }
    if (stored) {
        authproxy_store_set_revocation(stored, found == AUTHPROXY_REVOCATION_REVOKED
                                               ? AUTHPROXY_STORED_REVOKED : now_generation);
    }
    return found;
}

/* A new generation, after the records it announces; this child knows it at
 * once. UNREADABLE when the cache cannot keep it. */
static apr_uint64_t announce(const authproxy_server_conf *conf, server_rec *s, apr_pool_t *p)
{
    unsigned char bytes[8];
    apr_uint64_t fresh = 0;
    apr_status_t rv = apr_generate_random_bytes(bytes, sizeof(bytes));
    int i;

    for (i = 0; i < 8; i++) {
        fresh = fresh << 8 | bytes[i];
    }
    fresh = written(fresh);
    if (rv == APR_SUCCESS) {
        rv = authproxy_cache_put_named(conf, s, p, GENERATION, "",
                                       apr_psprintf(p, "%016" APR_UINT64_T_HEX_FMT, fresh),
                                       apr_time_now() + KEPT);
    }
    if (rv != APR_SUCCESS) {
        return UNREADABLE;
    }
    apr_atomic_set64(&conf->revocations->generation, fresh);
    apr_atomic_set64(&conf->revocations->read_at, apr_time_now());
    return fresh;
}

/* The revocation's records are kept: now its generation. */
static apr_status_t announced(const authproxy_server_conf *conf, server_rec *s, apr_pool_t *p,
                              apr_status_t rv)
{
    return rv != APR_SUCCESS ? rv : announce(conf, s, p) == UNREADABLE ? APR_EGENERAL
                                                                        : APR_SUCCESS;
}

/* One token revoked until `until`: by its jti where it has one, and by its
 * cookie value where that is known. */
static apr_status_t revoke_token(const authproxy_server_conf *conf, server_rec *s, apr_pool_t *p,
                                 const char *jti, const char *value, apr_time_t until)
{
    apr_status_t rv = APR_SUCCESS;

    if (jti) {
        rv = authproxy_cache_put_named(conf, s, p, REVOKED_JTI, jti, "1", until);
    }
    if (rv == APR_SUCCESS && value) {
        rv = authproxy_cache_put_named(conf, s, p, REVOKED_COOKIE, value, "1", until);
    }
    return announced(conf, s, p, rv);
}

/* As long as the session could be taken (a token within the clock-skew
 * leeway), else as long as KEPT. */
static apr_time_t end_of(const authjs_session_t *session)
{
    return session && session->expires
           ? session->expires + apr_time_from_sec(AUTHJS_CLOCK_TOLERANCE)
           : apr_time_now() + KEPT;
}

void authproxy_revocation_signed_out(authproxy_identity_t *id, const authjs_session_t *session)
{
    if (!id->conf->revocations) {
        return;
    }
    if (revoke_token(id->conf, id->server, id->pool, claim_text(session, "jti"),
                     id->cookie.value, end_of(session)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, id->server, AUTHPROXY_LOGNO(060)
                     "sign-out: the session cache %s cannot keep the revocation: "
                     "the signed-out token is still taken until it expires",
                     authproxy_cache_spec(id->conf));
    }
}

/* Every token of `sub` issued at or before `before` revoked; a later
 * "before" already there stays. Read again after writing: of two
 * revocations at once, the later "before" is kept. */
static apr_status_t revoke_user(request_rec *r, const authproxy_server_conf *conf,
                                const char *sub, apr_int64_t before)
{
    const char *known;
    apr_status_t rv;
    int wrote = 0;

    while (wrote < 3) {
        rv = authproxy_cache_get_named(conf, r->server, r->pool, REVOKED_USER, sub, UNKNOWN,
                                       &known);
        if (rv == APR_SUCCESS && apr_atoi64(known) >= before) {
            break;
        }
        if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv)) {
            return rv;
        }
        rv = authproxy_cache_put_named(conf, r->server, r->pool, REVOKED_USER, sub,
                                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, before),
                                       apr_time_now() + KEPT);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        wrote++;
    }
    return wrote ? announced(conf, r->server, r->pool, APR_SUCCESS) : APR_SUCCESS;
}

/* A token the handler was given, as the server's keys read it under either
 * of its cookie names; else known by its value alone. */
static apr_status_t revoke_given_token(request_rec *r, const authproxy_server_conf *conf,
                                       const char *token)
{
    json_t *claims = NULL;
    const authjs_session_t *session = NULL;
    int i;

    for (i = 0; i < 2 && !session; i++) {
        if (conf->session_cookie[i].keyring
            && authjs_token_decode(conf->session_cookie[i].keyring, token, strlen(token),
                                   apr_time_sec(apr_time_now()), r->pool, &claims)
               == AUTHJS_TOKEN_VALID) {
            session = authjs_session_from_claims(r->pool, claims);
        }
    }
    return revoke_token(conf, r->server, r->pool, session ? claim_text(session, "jti") : NULL,
                        token, end_of(session));
}

/* The body, at most MAX_BODY bytes: NULL and *status when it is not there. */
static const char *read_body(request_rec *r, apr_size_t *len, int *status)
{
    char *body = apr_palloc(r->pool, MAX_BODY + 1);
    long got;

    *len = 0;
    if ((*status = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return NULL;
    }
    while ((got = ap_get_client_block(r, body + *len, MAX_BODY + 1 - *len)) > 0) {
        *len += (apr_size_t)got;
        if (*len > MAX_BODY) {
            *status = HTTP_REQUEST_ENTITY_TOO_LARGE;
            return NULL;
        }
    }
    if (got < 0) {
        *status = HTTP_BAD_REQUEST;
        return NULL;
    }
    body[*len] = '\0';
    return body;
}

/* The revocation a request asks for, carried out; NULL, or why it is not
 * one (a 400's reason). *status: what the server answers. */
static const char *carry_out(request_rec *r, const authproxy_server_conf *conf, json_t *ask,
                             int *status)
{
    json_t *sub = json_object_get(ask, "sub"), *before = json_object_get(ask, "before");
    json_t *token = json_object_get(ask, "token"), *jti = json_object_get(ask, "jti");
    json_t *exp = json_object_get(ask, "exp");
    apr_int64_t now = apr_time_sec(apr_time_now()), at;
    const char *key;
    json_t *value;
    apr_status_t rv;

    *status = HTTP_BAD_REQUEST;
    json_object_foreach(ask, key, value) {
        if (strcmp(key, "sub") && strcmp(key, "before") && strcmp(key, "token")
            && strcmp(key, "jti") && strcmp(key, "exp")) {
            return apr_psprintf(r->pool, "unknown member \"%s\"", ap_escape_logitem(r->pool, key));
        }
    }
    if (!!sub + !!token + !!jti != 1) {
        return "one of \"sub\", \"token\" or \"jti\" is needed, and only one";
    }
    if ((before && !sub) || (exp && !jti)) {
        return "\"before\" goes with \"sub\", \"exp\" with \"jti\"";
    }
    if ((sub && (!json_is_string(sub) || !*json_string_value(sub)))
        || (token && (!json_is_string(token) || !*json_string_value(token)))
        || (jti && (!json_is_string(jti) || !*json_string_value(jti)))) {
        return "\"sub\", \"token\" and \"jti\" are non-empty strings";
    }
    if ((before && !json_is_integer(before)) || (exp && !json_is_integer(exp))) {
        return "\"before\" and \"exp\" are whole seconds since 1970";
    }
    at = before ? json_integer_value(before) : now;
    if (at < 0) {
        return "\"before\" is before 1970";
    }
    if (at > now + MAX_AHEAD) {
        return "\"before\" is in the future (seconds since 1970, not milliseconds?)";
    }
    if (exp && json_integer_value(exp) < 0) {
        return "\"exp\" is before 1970";
    }
    rv = sub ? revoke_user(r, conf, json_string_value(sub), at)
         : token ? revoke_given_token(r, conf, json_string_value(token))
         : revoke_token(conf, r->server, r->pool, json_string_value(jti), NULL,
                        /* in seconds first: a far "exp" would overflow microseconds */
                        exp && json_integer_value(exp) < now + apr_time_sec(KEPT)
                        ? apr_time_from_sec(json_integer_value(exp) + AUTHJS_CLOCK_TOLERANCE)
                        : apr_time_now() + KEPT);
    *status = rv == APR_SUCCESS ? HTTP_NO_CONTENT : HTTP_SERVICE_UNAVAILABLE;
    return NULL;
}

static int answer(request_rec *r, int status, const char *why)
{
    r->status = status;
    ap_set_content_type(r, "text/plain; charset=utf-8");
    ap_rprintf(r, "%s\n", why);
    return OK;
}

/* POST {"sub": "...", "before": <seconds>}, {"token": "..."} or {"jti": "...",
 * "exp": <seconds>} as application/json; guarded as any handler is. */
static int authproxy_revocation_handler(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    const char *type = apr_table_get(r->headers_in, "Content-Type"), *body, *why;
    apr_size_t len;
    json_error_t error;
    json_t *ask;
    int status;

    if (!r->handler || strcmp(r->handler, AUTHPROXY_REVOKE_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_POST) {
        ap_allow_standard_methods(r, REPLACE_ALLOW, M_POST, -1);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!conf->revocations) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(061)
                      "SetHandler %s where %s is not On (with a session cache): "
                      "nothing is revoked", AUTHPROXY_REVOKE_HANDLER, AUTHPROXY_DIR_REVOCATION);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* a form post from another site cannot send this without asking first */
    if (!type || strncasecmp(type, "application/json", 16) || (type[16] && type[16] != ';')) {
        return answer(r, HTTP_UNSUPPORTED_MEDIA_TYPE, "the body is application/json");
    }
    if (!(body = read_body(r, &len, &status))) {
        return status;
    }
    if (!(ask = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error)) || !json_is_object(ask)) {
        why = ask ? "the body is not a JSON object"
                  : apr_psprintf(r->pool, "the body is not JSON: %s", error.text);
        json_decref(ask);
        return answer(r, HTTP_BAD_REQUEST, why);
    }
    why = carry_out(r, conf, ask, &status);
    json_decref(ask);
    if (why) {
        return answer(r, status, why);
    }
    if (status != HTTP_NO_CONTENT) {
        return answer(r, status, "the session cache cannot keep the revocation: try again");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AUTHPROXY_LOGNO(062) "revocation taken");
    r->status = HTTP_NO_CONTENT;
    return OK;
}

void authproxy_revocation_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(authproxy_revocation_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
