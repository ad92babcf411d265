/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxyTraceParent: the W3C traceparent the module's own calls to the
 * upstream (the /session fetch, the refresh) carry. */
#ifndef AUTHPROXY_TRACE_H
#define AUTHPROXY_TRACE_H

#include "authproxy.h"

/* The traceparent of `r`'s calls to the upstream under `conf`'s
 * AuthProxyTraceParent, made on the first call and kept for the others of
 * the request (one span of the module's, the upstream's spans its children);
 * it is also AUTHPROXY_TRACEPARENT in the request's environment. NULL when
 * none goes: off, or no valid traceparent came under propagate. */
const char *authproxy_trace_parent(request_rec *r, const authproxy_server_conf *conf);

void authproxy_trace_register_hooks(apr_pool_t *p);

#endif
