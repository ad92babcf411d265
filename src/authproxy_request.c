/* SPDX-License-Identifier: Apache-2.0 */
/* What this module knows of one connection and of one request, and the
 * request that a subrequest or an internal redirect belongs to. */
#include "authproxy.h"

const char *const authproxy_source_names[AUTHPROXY_SOURCES] = { "local", "cache", "upstream",
                                                                 "bearer" };

authproxy_connection_t *authproxy_connection(conn_rec *c)
{
    authproxy_connection_t *conn = ap_get_module_config(c->conn_config, &authproxy_module);

    if (!conn) {
        conn = apr_pcalloc(c->pool, sizeof(*conn));
        ap_set_module_config(c->conn_config, &authproxy_module, conn);
    }
    return conn;
}

authproxy_request_t *authproxy_request(request_rec *r)
{
    authproxy_request_t *req = ap_get_module_config(r->request_config, &authproxy_module);

    if (!req) {
        req = apr_pcalloc(r->pool, sizeof(*req));
        ap_set_module_config(r->request_config, &authproxy_module, req);
    }
    return req;
}

request_rec *authproxy_original(request_rec *r)
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

int authproxy_is_route(const request_rec *r)
{
    const authproxy_request_t *req = ap_get_module_config(r->request_config,
                                                          &authproxy_module);
    return req && req->is_route;
}
