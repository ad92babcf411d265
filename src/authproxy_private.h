/* SPDX-License-Identifier: Apache-2.0 */
/* Personal responses kept out of shared caches (authproxy_private.c). */
#ifndef AUTHPROXY_PRIVATE_H
#define AUTHPROXY_PRIVATE_H

#include "authproxy.h"

/* Output filter that keeps a personal response out of shared caches. */
#define AUTHPROXY_PRIVATE_FILTER "AUTHPROXY_PRIVATE"

void authproxy_private_register_hooks(apr_pool_t *p);
/* This request's response carries or depends on its visitor's session: httpd's
 * cache never stores it, and its Cache-Control says so to every other cache. */
void authproxy_private_response(request_rec *r);
/* This anonymous request's response would differ for a signed-in visitor: it
 * says Vary: Cookie, so no cache hands it to one. */
void authproxy_private_vary_cookie(request_rec *r);
/* A Cache-Control value that no shared cache may store under: public and
 * s-maxage go, private is added unless a bare private or no-store is there. */
const char *authproxy_cache_control_private(apr_pool_t *p, const char *value);

#endif
