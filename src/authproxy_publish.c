/* fixups: the session to CGI/PHP/FastCGI (subprocess_env), to other modules
 * (notes), optionally to a proxied backend (X-Authjs-* headers); client
 * headers that pretend to be ours are removed first. */
#include <apr_lib.h>
#include <apr_strings.h>

#include "authproxy.h"

#define VAR_PREFIX "AUTHJS_"

/* X-Authjs-*, however a client spells it: case, '-' and '_' do not count,
 * since CGI and many frameworks fold them all to the same name. */
static int is_ours(const char *header)
{
    static const char want[] = "xauthjs";
    const char *w = want;

    for (; *header && *w; header++) {
        if (*header == '-' || *header == '_') {
            continue;
        }
        if (apr_tolower(*header) != *w++) {
            return 0;
        }
    }
    return *w == '\0';
}

static void remove_client_headers(request_rec *r)
{
    const apr_array_header_t *elts = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    apr_array_header_t *spoofed = apr_array_make(r->pool, 2, sizeof(const char *));
    int i;

    for (i = 0; i < elts->nelts; i++) {
        if (e[i].key && is_ours(e[i].key)) {
            APR_ARRAY_PUSH(spoofed, const char *) = e[i].key;
        }
    }
    for (i = 0; i < spoofed->nelts; i++) {
        const char *name = APR_ARRAY_IDX(spoofed, i, const char *);

        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "removed the client's header %s: only "
                      "this server sets X-Authjs-*", name);
        apr_table_unset(r->headers_in, name);
    }
}

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
 * remove_client_headers): adding is setting, without a search. */
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
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "%s holds control characters: "
                          "not sent as a header", name);
        }
    }
    return 1;
}

/* Nothing named AUTHJS_* reaches the application unless this module set it. */
static void scrub(apr_table_t *table)
{
    const apr_array_header_t *elts = apr_table_elts(table);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    int i;

    for (i = elts->nelts - 1; i >= 0; i--) {
        if (e[i].key && !strncmp(e[i].key, VAR_PREFIX, sizeof(VAR_PREFIX) - 1)) {
            apr_table_unset(table, e[i].key);
        }
    }
}

int authproxy_publish_fixups(request_rec *r)
{
    const authproxy_dir_conf *dconf = authproxy_dconf(r);
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    publish_ctx_t ctx = { r, dconf->pass_headers == 1 };
    const apr_table_t *vars;

    if (!conf->upstream || authproxy_is_route(r)) {
        return DECLINED;
    }
    if (ctx.pass_headers) {
        remove_client_headers(r);
    }
    if (authproxy_session_enabled(r)) {
        scrub(r->subprocess_env);
        scrub(r->notes);
        if ((vars = authproxy_session_vars(r))) {
            apr_table_do(publish_one, &ctx, vars, NULL);
            if (dconf->pass_token == 1) {
                publish_one(&ctx, "AUTHJS_TOKEN", authproxy_session_token(r));
            }
        }
    }
    if (dconf->strip_cookie == 1) {
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
    return DECLINED;
}
