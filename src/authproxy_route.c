/* SPDX-License-Identifier: Apache-2.0 */
/* Auth routes: requests under the local prefix are handed to mod_proxy.
 *
 * mod_proxy does the forwarding (body framing, hop-by-hop headers, connection
 * reuse); this file only decides which requests go, defines the upstream's
 * worker, edits what mod_proxy leaves alone (Accept-Encoding, forwarded
 * origin, configured headers, Host), maps its failure statuses and rewrites
 * Location and cookie paths on the way back. The answer itself is bounded
 * by the guard (authproxy_guard.c).
 *
 * The module does not link mod_proxy: it resolves the one function it calls
 * at startup, so it loads in any order and can say which module is missing. */
#include <apr_dso.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_proxy.h>

#include "authproxy.h"
#include "authproxy_config.h"
#include "authproxy_headers.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"
#include "authproxy_private.h"
#include "authproxy_route.h"
#include "authproxy_session.h"

typedef char *(*define_worker_fn)(apr_pool_t *p, proxy_worker **worker,
                                  proxy_balancer *balancer, proxy_server_conf *conf,
                                  const char *url, unsigned int mask);

/* mod_proxy's per-directory settings with ProxyPreserveHost Off and nothing
 * else set (made at startup), merged onto every route's. */
static ap_conf_vector_t *host_not_preserved;

/* Runs before httpd decodes the path, so "%2F" and every other escape reach
 * the upstream as the client sent them (mod_proxy is told with
 * "proxy-noencode"); dot segments are already resolved at this point. */
static int authproxy_route_pre_translate(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    authproxy_request_t *req;
    const char *path;
    long rest;

    if (!conf->upstream || r->proxyreq || !r->uri || r->uri[0] != '/') {
        return DECLINED;
    }
    rest = authproxy_path_match(authproxy_local_path(conf), r->uri);
    if (rest < 0) {
        return DECLINED;
    }
    path = authproxy_path_join(r->pool, authproxy_target_path(conf), r->uri + rest);
    r->filename = apr_pstrcat(r->pool, "proxy:", conf->upstream, path, NULL);
    r->handler = "proxy-server";
    r->proxyreq = PROXYREQ_REVERSE;
    apr_table_setn(r->notes, "proxy-noencode", "1");

    req = authproxy_request(r);
    req->is_route = 1;
    /* every answer of Auth.js's is about the visitor's cookies (a session, a
     * CSRF token on the sign-in page) */
    authproxy_private_response(r);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "auth route %s -> %s%s",
                  r->uri, conf->upstream, path);
    return DONE;
}

/* Keeps Alias, mod_rewrite and the file system away from a route; and the
 * client's claims of an origin or a path away from the upstream, before
 * mod_proxy merges its own X-Forwarded-Server onto them, and a revoked
 * session's cookie. */
static int authproxy_route_translate(request_rec *r)
{
    if (!authproxy_is_route(r)) {
        return DECLINED;
    }
    authproxy_remove_origin_claims(r->headers_in, 1);
    return authproxy_session_route(r);
}

/* Under ProxyPreserveHost On mod_proxy sends the client's host as the TLS
 * server name (SNI) and checks the upstream's certificate against it: a
 * route to an https upstream failed, and a client chose the name the
 * upstream heard. For mod_proxy a route is always Off (the module sets Host
 * itself); this runs once the route's per-directory settings are final.
 * The merge also gives the route a configuration vector of its own: httpd
 * skips access checks for an internal redirect (a route's ErrorDocument)
 * whose vector is the one of the request before, which the access hook
 * granted as a route. */
static int authproxy_route_post_perdir_config(request_rec *r)
{
    if (authproxy_is_route(r)) {
        r->per_dir_config = ap_merge_per_dir_configs(r->pool, r->per_dir_config,
                                                     host_not_preserved);
    }
    return OK;
}

static void authproxy_route_insert_filter(request_rec *r)
{
    if (authproxy_is_route(r)) {
        ap_add_output_filter(AUTHPROXY_ROUTE_FILTER, NULL, r, r->connection);
    }
}

/* mod_proxy calls this on its copy of the request headers, after it has set
 * Host and the X-Forwarded-* it knows, right before sending them; the Host
 * it takes is the one left here, whatever ProxyPreserveHost says. */
static int authproxy_route_proxy_fixups(request_rec *r)
{
    if (!authproxy_is_route(r)) {
        return DECLINED;
    }
    /* The response must reach the client as the upstream encodes it: no
     * negotiation the client did not ask of us. */
    apr_table_unset(r->headers_in, "Accept-Encoding");
    authproxy_remove_origin_claims(r->headers_in, 0);
    authproxy_upstream_headers(authproxy_sconf(r->server), authproxy_public_origin(r),
                               authproxy_header_replace, r->headers_in);
    return OK;
}

/* mod_proxy answers 503 when it cannot connect and 502 with the note
 * "proxy_timedout" when the upstream stays silent; the client is told 502
 * and 504, which say what happened at the gateway. */
static int authproxy_route_request_status(int *status, request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);

    if (!authproxy_is_route(r)) {
        return DECLINED;
    }
    authproxy_metrics_upstream(conf, AUTHPROXY_KIND_ROUTE,
                               *status == OK || *status == DONE ? r->status : 0, -1);
    if (*status == OK || *status == DONE) {
        return DECLINED;
    }
    if (apr_table_get(r->notes, "proxy_timedout") || authproxy_request(r)->upstream_timed_out) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(027)
                      "upstream %s did not answer %s within %d s (%s): 504", conf->upstream,
                      r->uri, authproxy_timeout(conf), AUTHPROXY_DIR_TIMEOUT);
        *status = HTTP_GATEWAY_TIME_OUT;
    }
    else if (*status == HTTP_SERVICE_UNAVAILABLE || *status == HTTP_BAD_GATEWAY) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(028)
                      "upstream %s refused, dropped or broke the connection for %s: 502",
                      conf->upstream, r->uri);
        *status = HTTP_BAD_GATEWAY;
    }
    return OK;
}

static void rewrite_response_headers(request_rec *r, apr_table_t *headers,
                                     const apr_array_header_t *origins,
                                     const char *public_origin)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    const char *local = authproxy_local_path(conf), *target = authproxy_target_path(conf);
    const apr_array_header_t *elts = apr_table_elts(headers);
    apr_table_entry_t *e = (apr_table_entry_t *)elts->elts;
    int i;

    for (i = 0; i < elts->nelts; i++) {
        const char *value = NULL;

        if (!e[i].key || !e[i].val) {
            continue;
        }
        if (!strcasecmp(e[i].key, "Location") || !strcasecmp(e[i].key, "Content-Location")) {
            value = authproxy_rewrite_url(r->pool, e[i].val, origins, target,
                                          public_origin, local);
        }
        else if (!strcasecmp(e[i].key, "Set-Cookie")) {
            value = authproxy_set_cookie_for_browser(r, e[i].val);
        }
        if (value && strcmp(value, e[i].val) != 0) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "rewrote %s of %s", e[i].key, r->uri);
            e[i].val = (char *)value;
        }
    }
}

/* A sign-out is what the upstream says it is, whatever route and spelling
 * reached it: an answer that clears the session cookie (or a chunk of it). */
static int upstream_signed_out(request_rec *r)
{
    return authproxy_answer_sets_session_cookie(r, 0);
}

/* What ProxyPassReverse and ProxyPassReverseCookiePath do, for the upstream
 * origin and for the public one (an upstream that honours X-Forwarded-Host
 * names the public origin with its own prefix). Before the answer leaves, a
 * sign-out is written down, so that the browser's next request finds it. */
static apr_status_t authproxy_route_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    apr_array_header_t *origins = apr_array_make(r->pool, 2, sizeof(const char *));
    const char *public_origin = authproxy_public_origin(r)->origin;

    if (upstream_signed_out(r)) {
        authproxy_session_signed_out(r);
    }

    APR_ARRAY_PUSH(origins, const char *) = conf->upstream;
    APR_ARRAY_PUSH(origins, const char *) = public_origin;
    rewrite_response_headers(r, r->headers_out, origins, public_origin);
    rewrite_response_headers(r, r->err_headers_out, origins, public_origin);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static define_worker_fn find_define_worker(apr_pool_t *ptemp, server_rec *s)
{
    apr_dso_handle_t *self;
    apr_dso_handle_sym_t sym = NULL;
    apr_status_t rv = apr_dso_load(&self, NULL, ptemp);

    if (rv == APR_SUCCESS) {
        rv = apr_dso_sym(&sym, self, "ap_proxy_define_worker_ex");
    }
    if (rv != APR_SUCCESS || !sym) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, AUTHPROXY_LOGNO(029)
                     "%s needs mod_proxy from httpd 2.4.47 or later (ap_proxy_define_worker_ex "
                     "was not found)", AUTHPROXY_DIR_UPSTREAM);
        return NULL;
    }
    return (define_worker_fn)sym;
}

static ap_conf_vector_t *proxy_host_off(apr_pool_t *p, module *proxy)
{
    ap_conf_vector_t *vector = ap_create_per_dir_config(p);
    proxy_dir_conf *dconf = proxy->create_dir_config(p, NULL);

    dconf->preserve_host = 0;
    dconf->preserve_host_set = 1;
    ap_set_module_config(vector, proxy, dconf);
    return vector;
}

/* One worker per VirtualHost: its own timeouts and kept-alive connections,
 * and retry=0 so that one refused connection does not close the route for
 * mod_proxy's default minute. */
int authproxy_route_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    define_worker_fn define_worker = NULL;

    /* made anew with each configuration: the last one's pool is gone */
    host_not_preserved = proxy ? proxy_host_off(pconf, proxy) : NULL;
    for (; s; s = s->next) {
        const authproxy_server_conf *conf = authproxy_sconf(s);
        proxy_worker *worker;
        const char *name, *err;

        if (!conf->upstream) {
            continue;
        }
        if (!proxy || (!define_worker && !(define_worker = find_define_worker(ptemp, s)))) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        name = apr_pstrcat(pconf, conf->upstream, authproxy_target_path(conf), NULL);
        err = define_worker(pconf, &worker, NULL, ap_get_module_config(s->module_config, proxy),
                            name, AP_PROXY_WORKER_IS_PREFIX);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(030)
                         "%s %s: mod_proxy refused it: %s",
                         AUTHPROXY_DIR_UPSTREAM, conf->upstream, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        worker->s->timeout = worker->s->conn_timeout = apr_time_from_sec(authproxy_timeout(conf));
        worker->s->timeout_set = worker->s->conn_timeout_set = 1;
        worker->s->retry = 0;
        worker->s->retry_set = 1;
    }
    return OK;
}

void authproxy_route_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_translate_name(authproxy_route_pre_translate, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_translate_name(authproxy_route_translate, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_post_perdir_config(authproxy_route_post_perdir_config, NULL, NULL,
                               APR_HOOK_MIDDLE);
    ap_hook_insert_filter(authproxy_route_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(AUTHPROXY_ROUTE_FILTER, authproxy_route_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
    APR_OPTIONAL_HOOK(proxy, fixups, authproxy_route_proxy_fixups, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(proxy, request_status, authproxy_route_request_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
