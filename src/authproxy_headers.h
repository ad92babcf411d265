/* SPDX-License-Identifier: Apache-2.0 */
/* Header hygiene (authproxy_headers.c): what the upstream is told, what a
 * backend may receive, and the upstream's cookies as the browser gets them. */
#ifndef AUTHPROXY_HEADERS_H
#define AUTHPROXY_HEADERS_H

#include "authproxy.h"

/* The headers every upstream request of a server with `conf` for the public
 * `origin` carries (forwarded origin; Host, the upstream's own or with
 * AuthProxyPreserveHost the public origin's; AuthProxyHeader); `set` is
 * called for each. */
void authproxy_upstream_headers(const authproxy_server_conf *conf,
                                const authproxy_origin_t *origin,
                                void (*set)(void *ctx, const char *name, const char *value),
                                void *ctx);
/* Sets a header in `headers`, after removing every spelling of its name
 * that a receiving stack could take for it. */
void authproxy_header_replace(void *headers, const char *name, const char *value);
/* Removes the other headers that claim an origin or a path (Forwarded,
 * X-Forwarded-Port, X-Forwarded-Prefix, X-Original-URL, ...), in every
 * spelling; the client's (from_client) also lose X-Forwarded-Server, which
 * mod_proxy sets later. */
void authproxy_remove_origin_claims(apr_table_t *headers, int from_client);
/* Removes every X-Authjs-* from the request's headers, however spelled: the
 * client's (each logged at info), or this module's own. */
void authproxy_remove_authjs_headers(request_rec *r, int from_client);
/* An upstream's Set-Cookie as the browser gets it: a Path of the target
 * prefix becomes the local prefix (routes and refreshes alike). */
const char *authproxy_set_cookie_for_browser(request_rec *r, const char *set_cookie);

#endif
