/* SPDX-License-Identifier: Apache-2.0 */
/* GET <upstream>/session with libcurl (authproxy_fetch.c). */
#ifndef AUTHPROXY_FETCH_H
#define AUTHPROXY_FETCH_H

#include "authproxy.h"

void authproxy_fetch_register_hooks(apr_pool_t *p);
/* Asks the upstream's /session for the credential. APR_SUCCESS: the upstream answered, *session
 * is the session or NULL for none; anything else: it failed (one error line),
 * and there is no session, but no answer worth remembering either. With
 * `set_cookies`, the answer's Set-Cookie values are added to it. */
apr_status_t authproxy_fetch_session(request_rec *r, const authproxy_identity_t *id,
                                     const authjs_session_t **session,
                                     apr_array_header_t *set_cookies);
/* GET `url` on the upstream as the /session fetch goes (its handles, the
 * routes' headers for the request's public origin, no proxy, no redirect
 * followed, TLS verified, AuthProxyTimeout, 64 KiB at most), with no cookie
 * and counted nowhere: NULL with the answer's status and body, or why no
 * answer came, in words that name no host or URL. Logs nothing. */
const char *authproxy_fetch_get(request_rec *r, const authproxy_server_conf *conf,
                                const char *url, long *status, const char **body,
                                apr_size_t *len);

#endif
