/* SPDX-License-Identifier: Apache-2.0 */
/* The public origin, for forwarded routes and /session fetches alike.
 *
 * Auth.js builds its sign-in page, its callback and redirect URLs and its
 * e-mail links from the origin it is told, so that origin is decided from the
 * server's own names, never taken from the client's Host. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_protocol.h>

#include "authproxy.h"
#include "authproxy_origin.h"

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

const authproxy_origin_t *authproxy_origin_make(apr_pool_t *p, const char *scheme,
                                                const char *host, apr_port_t port)
{
    authproxy_origin_t *o = apr_pcalloc(p, sizeof(*o));
    int https = !strcasecmp(scheme, "https");
    const char *bracketed = (strchr(host, ':') && host[0] != '[')
                            ? apr_pstrcat(p, "[", host, "]", NULL) : host;
    char *c;

    o->scheme = https ? "https" : "http";
    o->https = https;
    o->hostport = (port == 0 || port == (https ? 443 : 80))
                  ? apr_pstrdup(p, bracketed) : apr_psprintf(p, "%s:%u", bracketed, port);
    for (c = (char *)o->hostport; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    o->origin = apr_pstrcat(p, o->scheme, "://", o->hostport, NULL);
    return o;
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
    apr_port_t port;

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
    port = server_port(orig, ours);
    req->origin = authproxy_origin_make(orig->pool, ap_http_scheme(orig),
                                        ours ? host : orig->server->server_hostname, port);
    return req->origin;
}

const char *authproxy_origin_cookie_name(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(authproxy_original(r)->server);

    return conf->session_cookie[authproxy_public_origin(r)->https].name;
}

typedef struct {
    const char *name;   /* the session cookie's, on this origin */
    apr_pool_t *pool;
    int with_value;     /* a value (it sets one) or none (it clears it) */
    int found;
} session_cookie_sets_t;

static int sets_session_cookie(void *data, const char *key, const char *value)
{
    session_cookie_sets_t *sets = data;
    const char *pair = authjs_set_cookie_pair(sets->pool, value, sets->name);
    int has_value = pair && pair[strcspn(pair, "=") + 1] != '\0';

    sets->found = pair && has_value == sets->with_value;
    return !sets->found;
}

int authproxy_answer_sets_session_cookie(request_rec *r, int with_value)
{
    session_cookie_sets_t sets = { authproxy_origin_cookie_name(r), r->pool, with_value, 0 };

    apr_table_do(sets_session_cookie, &sets, r->headers_out, "Set-Cookie", NULL);
    if (!sets.found) {
        apr_table_do(sets_session_cookie, &sets, r->err_headers_out, "Set-Cookie", NULL);
    }
    return sets.found;
}
