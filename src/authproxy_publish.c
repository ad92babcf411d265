/* SPDX-License-Identifier: Apache-2.0 */
/* fixups: the session to CGI/PHP/FastCGI (subprocess_env), to other modules
 * (notes), optionally to a proxied backend (X-Authjs-* headers); client
 * headers that pretend to be ours are removed first, and the credential the
 * session came in where the directory says so. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <http_request.h>

#include "authproxy.h"
#include "authproxy_claims.h"
#include "authproxy_headers.h"
#include "authproxy_private.h"
#include "authproxy_publish.h"
#include "authproxy_session.h"

#define VAR_PREFIX "AUTHJS_"

/* AUTHJS_USER_EMAIL -> X-Authjs-User-Email */
static const char *header_name(apr_pool_t *p, const char *var)
{
    char *name = apr_pstrcat(p, "X-Authjs-", var + sizeof(VAR_PREFIX) - 1, NULL);
    char *c;
    int word_start = 1;

    for (c = name + sizeof("X-Authjs-") - 1; *c; c++) {
        if (*c == '_') {
            *c = '-';
            word_start = 1;
        }
        else {
            *c = word_start ? (char)apr_toupper(*c) : (char)apr_tolower(*c);
            word_start = 0;
        }
    }
    return name;
}

typedef struct {
    request_rec *r;
    int pass_headers;
} publish_ctx_t;

/* The tables hold no AUTHJS_* or X-Authjs-* by now (scrub,
 * authproxy_remove_authjs_headers): adding is setting, without a
 * search. */
static int publish_one(void *data, const char *name, const char *value)
{
    publish_ctx_t *ctx = data;
    request_rec *r = ctx->r;

    apr_table_addn(r->subprocess_env, name, value);
    apr_table_addn(r->notes, name, value);
    if (ctx->pass_headers) {
        if (authproxy_header_value_valid(value)) {
            apr_table_addn(r->headers_in, header_name(r->pool, name), value);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(026)
                          "%s holds control characters: not sent as a header", name);
        }
    }
    return 1;
}

/* AUTHJS_*, and what httpd makes of it in an internal redirect's target
 * (REDIRECT_AUTHJS_*, REDIRECT_REDIRECT_...): another directory's, whose
 * AuthProxyPublishClaims may not be this one's. */
static int is_var(const char *key, const char *prefix)
{
    while (!strncmp(key, "REDIRECT_", 9)) {
        key += 9;
    }
    return !strncmp(key, prefix, strlen(prefix));
}

/* Nothing named AUTHJS_* reaches the application unless this module set it. */
static void scrub(apr_pool_t *p, apr_table_t *table)
{
    authproxy_table_unset_where(p, table, is_var, VAR_PREFIX);
}

/* The Bearer token gone from the request, and from the environment where
 * SetEnvIf or a RewriteRule copied it for PHP and CGI (HTTP_AUTHORIZATION,
 * REDIRECT_HTTP_AUTHORIZATION). */
static void strip_bearer(request_rec *r)
{
    const char *header = apr_table_get(r->headers_in, "Authorization");
    const char *token = header ? ap_strchr_c(header, ' ') : NULL;
    const apr_array_header_t *env = apr_table_elts(r->subprocess_env);
    const apr_table_entry_t *e = (const apr_table_entry_t *)env->elts;
    apr_array_header_t *copies = apr_array_make(r->pool, 2, sizeof(const char *));
    int i;

    apr_table_unset(r->headers_in, "Authorization");
    for (i = 0; token && token[1] && i < env->nelts; i++) {
        if (e[i].key && e[i].val && strstr(e[i].val, token + 1)) {
            APR_ARRAY_PUSH(copies, const char *) = e[i].key;
        }
    }
    for (i = 0; i < copies->nelts; i++) {
        apr_table_unset(r->subprocess_env, APR_ARRAY_IDX(copies, i, const char *));
    }
}

static int authproxy_publish_fixups(request_rec *r)
{
    const authproxy_dir_conf *dconf = authproxy_dconf(r);
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    authproxy_request_t *req = authproxy_request(authproxy_original(r));
    publish_ctx_t ctx = { r, authproxy_pass_headers(dconf) };
    const apr_table_t *vars;

    /* AuthProxyClaimHeader's names are never the client's, even in a server
     * where the module is off; on every pass, for each directory's own
     * names (a subrequest has a copy of the headers, and may be proxied) */
    authproxy_claim_headers_remove(r, !r->main && !req->claim_headers_removed);
    if (req->claim_headers_sent) {
        authproxy_claim_headers_unsend(r, req->claim_headers_sent);
        if (!r->main) {
            apr_array_clear(req->claim_headers_sent);
        }
    }
    if (!r->main) {
        req->claim_headers_removed = 1;
        req->published_conf = r->per_dir_config;
    }
    if (!conf->upstream) {
        return DECLINED;
    }
    /* A handler writes X-Authjs-* into the environment as HTTP_X_AUTHJS_*
     * (CGI, mod_proxy_fcgi, mod_include): another request's are not this
     * one's, on every pass. A subrequest starts with a copy of its main
     * request's, an internal redirect's target with REDIRECT_*: another
     * directory's claims, an assertion made out to another backend. */
    authproxy_table_unset_where(r->pool, r->subprocess_env, is_var, "HTTP_X_AUTHJS_");
    /* Whatever AuthProxyPassHeaders says, and on routes too: a backend that
     * trusts X-Authjs-* must only ever see this module's. headers_in belongs
     * to the whole request: the client's go on its first pass; every later
     * pass sets its own directory's anew, a subrequest in its copy of them
     * (it may go to another directory's backend, or become the page:
     * mod_dir's fast redirect). */
    authproxy_remove_authjs_headers(r, !r->main && !req->client_headers_removed);
    if (!r->main) {
        req->client_headers_removed = 1;
    }
    if (authproxy_is_route(r)) {
        return DECLINED;
    }
    if (authproxy_session_enabled(r)) {
        scrub(r->pool, r->subprocess_env);
        scrub(r->pool, r->notes);
        if ((vars = authproxy_session_vars(r))) {
            apr_table_do(publish_one, &ctx, vars, NULL);
            if (authproxy_pass_token(dconf)) {
                publish_one(&ctx, "AUTHJS_TOKEN", authproxy_session_token(r));
            }
            if (!req->claim_headers_sent) {
                req->claim_headers_sent = apr_array_make(authproxy_original(r)->pool, 2,
                                                         sizeof(const char *));
            }
            authproxy_claim_headers_set(r, authproxy_session_get(r), req->claim_headers_sent);
        }
        else {
            authproxy_private_vary_cookie(r);
        }
    }
    if (authproxy_strip_cookie(dconf)) {
        const char *cookies = apr_table_get(r->headers_in, "Cookie");

        if (cookies) {
            const char *kept = authjs_cookie_strip(r->pool, cookies,
                                                   authproxy_cookie_name(conf));
            if (kept) {
                apr_table_setn(r->headers_in, "Cookie", kept);
            }
            else {
                apr_table_unset(r->headers_in, "Cookie");
            }
        }
    }
    /* only a token that gave the session: one the module refused may be the
     * backend's own (an API key) */
    if ((req->strip_bearer || authproxy_strip_bearer(dconf)) && req->session && req->bearer) {
        strip_bearer(r);
    }
    return DECLINED;
}

/* mod_dir's fast redirect, the last of the fixups, makes the index's
 * subrequest the page: its configuration and handler (PHP-FPM, a ProxyPass
 * elsewhere), but the headers and environment this module set for the
 * directory's. Published anew for the index's before its handler runs. */
static void authproxy_publish_insert_filter(request_rec *r)
{
    authproxy_request_t *req = authproxy_request(authproxy_original(r));

    if (!r->main && req->published_conf && req->published_conf != r->per_dir_config) {
        authproxy_publish_fixups(r);
        req->republished = 1;
    }
}

void authproxy_publish_register_hooks(apr_pool_t *p)
{
    /* Before mod_rewrite's per-directory rules, so they can test AUTHJS_*. */
    static const char *const before_rewrite[] = { "mod_rewrite.c", NULL };

    ap_hook_fixups(authproxy_publish_fixups, NULL, before_rewrite, APR_HOOK_FIRST);
    ap_hook_insert_filter(authproxy_publish_insert_filter, NULL, NULL, APR_HOOK_REALLY_FIRST);
}
