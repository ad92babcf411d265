/* SPDX-License-Identifier: Apache-2.0 */
/* A route's answer guard (authproxy_guard.c): a route's answer comes whole
 * within AuthProxyTimeout, with a bounded head that is HTTP/1.x. */
#ifndef AUTHPROXY_GUARD_H
#define AUTHPROXY_GUARD_H

#include "authproxy.h"

/* Input filter on the upstream connection: bounds a route's answer. */
#define AUTHPROXY_GUARD_FILTER "AUTHPROXY_GUARD"

/* The filter, and mod_proxy's create_req hook that arms it for a route's
 * answer (and stands it down for any other request on the connection). */
void authproxy_guard_register_hooks(apr_pool_t *p);

#endif
