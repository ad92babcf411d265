/* SPDX-License-Identifier: Apache-2.0 */
/* The app's public origin (authproxy_origin.c): what the upstream is told it
 * serves, and what the session cookie is named after. */
#ifndef AUTHPROXY_ORIGIN_H
#define AUTHPROXY_ORIGIN_H

#include "authproxy.h"

/* The app's public origin, never a client's choice: AuthProxyPublicOrigin;
 * else the server's canonical name under UseCanonicalName On; else the
 * request's host where it names this server (ServerName, ServerAlias), any
 * other name the ServerName; the port the server is named with or listens on.
 * Worked out once per request (subrequests share their main request's). */
const authproxy_origin_t *authproxy_public_origin(request_rec *r);
/* scheme://host[:port] in lower case, brackets around an IPv6 host, the port
 * left out where it is the scheme's default (or 0). */
const authproxy_origin_t *authproxy_origin_make(apr_pool_t *p, const char *scheme,
                                                const char *host, apr_port_t port);

/* The host is the server's ServerName or one of its ServerAlias names. */
int authproxy_server_named(const server_rec *s, const char *host);
/* The session cookie's name as Auth.js reads it on the public origin. */
const char *authproxy_origin_cookie_name(request_rec *r);
/* The answer's Set-Cookie headers give the session cookie (or a chunk of it)
 * a value (with_value: a sign-in), or clear it (a sign-out). */
int authproxy_answer_sets_session_cookie(request_rec *r, int with_value);

#endif
