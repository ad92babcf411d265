/* SPDX-License-Identifier: Apache-2.0 */
/* Header hygiene: what the upstream is told, for forwarded routes and
 * /session fetches alike, and what a backend may receive.
 *
 * The headers this module sets replace the client's in every spelling a
 * backend could fold into the same name; the client's own claims of an
 * origin or a path never reach the upstream, and its X-Authjs-* never reach
 * a backend. */
#include "authproxy.h"
#include "authproxy_headers.h"

void authproxy_upstream_headers(const authproxy_server_conf *conf,
                                const authproxy_origin_t *origin,
                                void (*set)(void *ctx, const char *name, const char *value),
                                void *ctx)
{
    int i;

    /* set rather than appended to: a client's own X-Forwarded-Host would
     * otherwise let it choose where Auth.js redirects */
    set(ctx, "X-Forwarded-Proto", origin->scheme);
    set(ctx, "X-Forwarded-Host", origin->hostport);
    /* always: under ProxyPreserveHost On mod_proxy would pass the client's
     * Host, from which @auth/express builds every URL */
    set(ctx, "Host", authproxy_preserve_host(conf) ? origin->hostport : conf->upstream_hostport);
    for (i = 0; conf->headers && i < conf->headers->nelts; i++) {
        const authproxy_header_t *h = &APR_ARRAY_IDX(conf->headers, i, authproxy_header_t);

        set(ctx, h->name, h->value);
    }
}

const char *authproxy_set_cookie_for_browser(request_rec *r, const char *set_cookie)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    const char *local = authproxy_local_path(conf), *target = authproxy_target_path(conf);
    const char *rewritten = strcmp(local, target) != 0
        ? authproxy_rewrite_cookie_path(r->pool, set_cookie, target, local) : NULL;

    return rewritten ? rewritten : set_cookie;
}

static void unset_spellings(apr_table_t *table, const char *name)
{
    authproxy_table_unset_where(apr_table_elts(table)->pool, table, authproxy_header_same, name);
}

void authproxy_header_replace(void *headers, const char *name, const char *value)
{
    unset_spellings(headers, name);
    apr_table_setn(headers, name, value);
}

/* Headers besides Host and X-Forwarded-Host and -Proto by which some stack
 * or other learns the origin it serves or the path it is mounted at: only
 * the module's account of the origin may reach the upstream. */
static const char *const origin_claims[] = {
    /* RFC 7239's, and the port: Django, Werkzeug, Spring, Jetty */
    "Forwarded", "X-Forwarded-Port",
    /* the scheme: Rack, gunicorn's defaults, Tornado, Jetty, Microsoft's servers */
    "X-Forwarded-Scheme", "X-Forwarded-Ssl", "X-Forwarded-Protocol", "X-Url-Scheme",
    "X-Scheme", "X-Proxied-Https", "Front-End-Https",
    /* the host */
    "X-Original-Host", "X-Host",
    /* the mount point: Spring, Werkzeug, ASP.NET Core, Symfony, Traefik (Prefix),
     * Kong (Path), WSGI recipes and gunicorn (SCRIPT_NAME) */
    "X-Forwarded-Prefix", "X-Forwarded-Path", "X-Script-Name", "Script-Name",
    /* the request's own URL: Traefik and the forward-auth servers, IIS, Zend
     * and old Symfony, nginx's auth_request */
    "X-Forwarded-Uri", "X-Original-URL", "X-Rewrite-URL", "X-Original-URI",
    NULL
};

/* `from_client` non-NULL: the client's X-Forwarded-Server too, onto which
 * mod_proxy merges the server's name (Jetty and Paste take it for the host);
 * mod_proxy's own must stay. */
static int is_origin_claim(const char *key, const char *from_client)
{
    const char *const *name;

    if (from_client && authproxy_header_same(key, "X-Forwarded-Server")) {
        return 1;
    }
    for (name = origin_claims; *name; name++) {
        if (authproxy_header_same(key, *name)) {
            return 1;
        }
    }
    return 0;
}

void authproxy_remove_origin_claims(apr_table_t *headers, int from_client)
{
    /* one pass for all of them, not one per name */
    authproxy_table_unset_where(apr_table_elts(headers)->pool, headers, is_origin_claim,
                                from_client ? "" : NULL);
}

/* authproxy_header_is_authjs as authproxy_table_unset_where's match. */
static int is_authjs_header(const char *key, const char *unused)
{
    return authproxy_header_is_authjs(key);
}

void authproxy_remove_authjs_headers(request_rec *r, int from_client)
{
    apr_array_header_t *spoofed = authproxy_table_unset_where(r->pool, r->headers_in,
                                                              is_authjs_header, NULL);
    int i;

    for (i = 0; from_client && spoofed && i < spoofed->nelts; i++) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AUTHPROXY_LOGNO(024)
                      "removed the client's header %s: only this server sets X-Authjs-*",
                      APR_ARRAY_IDX(spoofed, i, const char *));
    }
}
