/* SPDX-License-Identifier: Apache-2.0 */
/* Auth routes (authproxy_route.c): requests under the local prefix handed to
 * mod_proxy, their answers' Location and cookie paths rewritten. */
#ifndef AUTHPROXY_ROUTE_H
#define AUTHPROXY_ROUTE_H

#include "authproxy.h"

/* Output filter that rewrites Location and cookie paths of route answers. */
#define AUTHPROXY_ROUTE_FILTER "AUTHPROXY_ROUTE"

void authproxy_route_register_hooks(apr_pool_t *p);
/* One mod_proxy worker per server with an upstream. */
int authproxy_route_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s);

#endif
