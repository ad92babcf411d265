/* SPDX-License-Identifier: Apache-2.0 */
/* Identity a backend can verify (authproxy_assertion.c): the session as a
 * short-lived signed JWT in X-Authjs-Assertion to proxied backends, and the
 * authproxy-jwks handler with the keys that verify it. */
#ifndef AUTHPROXY_ASSERTION_H
#define AUTHPROXY_ASSERTION_H

#include "authproxy.h"

#define AUTHPROXY_ASSERTION_HEADER "X-Authjs-Assertion"
#define AUTHPROXY_JWKS_HANDLER "authproxy-jwks"

/* Reads every server's AuthProxyAssertionKey files into `pconf` (as root,
 * at startup and under configtest, before httpd listens): OK, or a startup
 * error naming the directive and the file. */
int authproxy_assertion_check_config(apr_pool_t *pconf, server_rec *s);
void authproxy_assertion_register_hooks(apr_pool_t *p);

#endif
