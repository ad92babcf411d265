/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxySessionRefresh (authproxy_refresh.c). */
#ifndef AUTHPROXY_REFRESH_H
#define AUTHPROXY_REFRESH_H

#include "authproxy_identity.h"

/* When the credential's session is due, asks the upstream's /session for a
 * refreshed one, whose Set-Cookie goes to the browser with this response:
 * returns the refreshed cookie's identity, with its session in *session.
 * NULL when there is nothing to do or it failed (logged): the current
 * session stays. */
authproxy_identity_t *authproxy_refresh(request_rec *r, authproxy_identity_t *id,
                                        const authjs_session_t **session);

/* A sign-out through this server: the credential of this session is never
 * refreshed again. */
void authproxy_refresh_forget(authproxy_identity_t *id, const authjs_session_t *session);

#endif
