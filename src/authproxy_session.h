/* SPDX-License-Identifier: Apache-2.0 */
/* The session of a request (authproxy_session.c). */
#ifndef AUTHPROXY_SESSION_H
#define AUTHPROXY_SESSION_H

#include "authproxy.h"

void authproxy_session_register_hooks(apr_pool_t *p);
/* The session of this request, resolved at most once per request (subrequests
 * share their main request's); NULL when anonymous. */
const authjs_session_t *authproxy_session_get(request_rec *r);
/* With AuthProxyRevocation On, a route's session cookie, where it is a
 * revoked session's, never reaches the upstream (whose /session would issue
 * a new token for it): OK, or the HTTP status the route gets (503 while
 * revocations cannot be read, under AuthProxyRevocationUnavailable closed). */
int authproxy_session_route(request_rec *r);
/* OK, or the HTTP status a request gets whose session could not be decided
 * (503 while revocations cannot be read, under
 * AuthProxyRevocationUnavailable closed). */
int authproxy_session_refused(request_rec *r);
/* The AUTHJS_* variables of this request's session; NULL when anonymous. */
const apr_table_t *authproxy_session_vars(request_rec *r);
/* The session cookie's value (chunks joined), or the Bearer token taken for
 * it, when there is a session. */
const char *authproxy_session_token(request_rec *r);
/* The upstream's answer to this route clears the session cookie: where the
 * cookie the request carried was a session, its cached answer goes, it is
 * never refreshed again and, with AuthProxyRevocation On, it is revoked. */
void authproxy_session_signed_out(request_rec *r);

#endif
