/* SPDX-License-Identifier: Apache-2.0 */
/* What the upstream is told, for forwarded routes and /session fetches alike.
 *
 * Auth.js builds its sign-in page, its callback and redirect URLs and its
 * e-mail links from the origin it is told, so that origin is decided from the
 * server's own names, never taken from the client's Host. The headers this
 * module sets replace the client's in every spelling a backend could fold
 * into the same name. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>

#include "authproxy.h"

/* The host is the server's ServerName or one of its ServerAlias names,
 * wildcards matched as httpd matches them; and a plain name, since a
 * wildcard takes any character. */
int authproxy_server_named(const server_rec *s, const char *host)
{
    const apr_array_header_t *lists[2] = { s->names, s->wild_names };
    int i, j;

    if (!host || !authproxy_host_is_plain(host)) {
        return 0;
    }
    if (s->server_hostname && !strcasecmp(host, s->server_hostname)) {
        return 1;
    }
    for (i = 0; i < 2; i++) {
        for (j = 0; lists[i] && j < lists[i]->nelts; j++) {
            const char *name = APR_ARRAY_IDX(lists[i], j, const char *);

            if (name && (i == 0 ? !strcasecmp(host, name) : !ap_strcasecmp_match(host, name))) {
                return 1;
            }
        }
    }
    return 0;
}

/* httpd's port for self-referential URLs where it is one the server is named
 * with, listens on or the scheme's default (a client's Host may name any
 * port at all); for a host that is not this server's, the server's own. */
static apr_port_t server_port(request_rec *r, int host_is_ours)
{
    apr_port_t local = r->connection->local_addr ? r->connection->local_addr->port : 0;
    apr_port_t port = ap_get_server_port(r);

    if (host_is_ours
        && (port == r->server->port || port == local || port == ap_default_port(r))) {
        return port;
    }
    return r->server->port ? r->server->port : local;
}

const authproxy_origin_t *authproxy_public_origin(request_rec *r)
{
    request_rec *orig = authproxy_original(r);
    authproxy_request_t *req = authproxy_request(orig);
    const authproxy_server_conf *conf = authproxy_sconf(orig->server);
    const char *host;
    int ours;

    if (req->origin) {
        return req->origin;
    }
    if (conf->public_origin) {
        return req->origin = conf->public_origin;
    }
    /* the canonical name under UseCanonicalName On, else the request's host
     * (an absolute-form request target's included) */
    host = ap_get_server_name(orig);
    ours = authproxy_server_named(orig->server, host);
    req->origin = authproxy_origin_make(orig->pool, ap_http_scheme(orig),
                                        ours ? host : orig->server->server_hostname,
                                        server_port(orig, ours));
    return req->origin;
}

const char *authproxy_origin_cookie_name(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(authproxy_original(r)->server);

    return conf->session_cookie[authproxy_public_origin(r)->https].name;
}

void authproxy_upstream_headers(request_rec *r,
                                void (*set)(void *ctx, const char *name, const char *value),
                                void *ctx)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    const authproxy_origin_t *origin = authproxy_public_origin(r);
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

static int is_authjs(const char *key, const char *unused)
{
    return authproxy_header_is_authjs(key);
}

void authproxy_remove_authjs_headers(request_rec *r, int from_client)
{
    apr_array_header_t *spoofed = authproxy_table_unset_where(r->pool, r->headers_in,
                                                              is_authjs, NULL);
    int i;

    for (i = 0; from_client && spoofed && i < spoofed->nelts; i++) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "removed the client's header %s: only "
                      "this server sets X-Authjs-*", APR_ARRAY_IDX(spoofed, i, const char *));
    }
}
