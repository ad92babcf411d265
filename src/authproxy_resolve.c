/* authproxy_session_get(r): cookie -> local decode or upstream fetch, at most
 * once per request, whichever hook asks first. */
#include <apr_strings.h>

#include "authproxy.h"

authproxy_request_t *authproxy_request(request_rec *r)
{
    authproxy_request_t *req = ap_get_module_config(r->request_config, &authproxy_module);

    if (!req) {
        req = apr_pcalloc(r->pool, sizeof(*req));
        ap_set_module_config(r->request_config, &authproxy_module, req);
    }
    return req;
}

/* Subrequests and internal redirects are the same visit: they share the
 * original request's answer. */
static request_rec *original(request_rec *r)
{
    for (;;) {
        if (r->main) {
            r = r->main;
        }
        else if (r->prev) {
            r = r->prev;
        }
        else {
            return r;
        }
    }
}

static const authjs_session_t *decode_locally(request_rec *r, const authproxy_server_conf *conf,
                                              const authjs_cookie_t *cookie)
{
    const authjs_keyring_t *ring = strncmp(cookie->name, "__Secure-", 9) ? conf->keyring
                                                                          : conf->keyring_secure;
    json_t *claims;
    const char *why = authjs_token_decode(ring, cookie->value, strlen(cookie->value),
                                          apr_time_sec(apr_time_now()), r->pool, &claims);

    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "session cookie %s refused: %s",
                      cookie->name, why);
        return NULL;
    }
    return authjs_session_from_claims(r->pool, claims);
}

/* The upstream's answer, through the cache where there is one: concurrent
 * misses for one cookie wait for a single fetch. */
static const authjs_session_t *ask_upstream(request_rec *r, const authproxy_server_conf *conf,
                                            const authjs_cookie_t *cookie, const char **source)
{
    const authjs_session_t *session = NULL;
    unsigned char key[AUTHPROXY_CACHE_KEY_LEN];
    int leader;

    *source = "upstream";
    if (!conf->cache) {
        authproxy_fetch_session(r, cookie, &session);
        return session;
    }
    authproxy_cache_key(r, cookie, key);
    if (authproxy_cache_get(r, key, &session)) {
        *source = "cache";
        return session;
    }
    leader = authproxy_cache_board(r, key);
    if (!leader && authproxy_cache_get(r, key, &session)) {
        *source = "cache";
        return session;
    }
    if (authproxy_fetch_session(r, cookie, &session) == APR_SUCCESS) {
        authproxy_cache_put(r, key, session);
    }
    if (leader) {
        authproxy_cache_landed(key);
    }
    return session;
}

const authjs_session_t *authproxy_session_get(request_rec *r)
{
    request_rec *orig = original(r);
    const authproxy_server_conf *conf = authproxy_sconf(orig->server);
    authproxy_request_t *req = authproxy_request(orig);
    const char *why;

    if (req->resolved) {
        return req->session;
    }
    req->resolved = 1;
    if (!conf->upstream || req->is_route) {
        return NULL;
    }
    why = authjs_cookie_find(orig->pool, apr_table_get(orig->headers_in, "Cookie"),
                             authproxy_cookie_name(conf), &req->cookie);
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "anonymous: %s", why);
        req->cookie.value = NULL;
        return NULL;
    }
    if (conf->keyring) {
        req->session = decode_locally(orig, conf, &req->cookie);
        req->source = "local";
    }
    else {
        req->session = ask_upstream(orig, conf, &req->cookie, &req->source);
    }
    if (req->session) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "session of %s (%s)",
                      req->session->email ? req->session->email
                      : req->session->id ? req->session->id : "a user without id",
                      req->source);
    }
    return req->session;
}

const apr_table_t *authproxy_session_vars(request_rec *r)
{
    const authjs_session_t *session = authproxy_session_get(r);
    authproxy_request_t *req = authproxy_request(original(r));

    if (!session) {
        return NULL;
    }
    if (!req->vars) {
        req->vars = apr_table_make(original(r)->pool, 16);
        authjs_session_vars(original(r)->pool, session, req->vars);
        apr_table_setn(req->vars, "AUTHJS_SESSION_SOURCE", req->source);
    }
    return req->vars;
}

const char *authproxy_session_token(request_rec *r)
{
    return authproxy_session_get(r) ? authproxy_request(original(r))->cookie.value : NULL;
}
