/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxyRevocation: sign-out that holds on every server sharing the
 * session cache, and SetHandler authproxy-revoke (authproxy_revocation.c). */
#ifndef AUTHPROXY_REVOCATION_H
#define AUTHPROXY_REVOCATION_H

#include "authproxy_store.h"

#define AUTHPROXY_REVOKE_HANDLER "authproxy-revoke"

typedef enum {
    AUTHPROXY_REVOCATION_NONE,          /* the session stands */
    AUTHPROXY_REVOCATION_REVOKED,
    AUTHPROXY_REVOCATION_UNAVAILABLE    /* the cache cannot tell: refused (503) */
} authproxy_revocation_e;

/* Whether the credential's session (the child's entry `stored`, or NULL for
 * one the request alone holds) was revoked. Looks in the shared cache only
 * when something was revoked since the entry was last looked at, as the
 * child last read that (at most a second ago), or `at_once` as the cache
 * says now. While the cache cannot tell, AuthProxyRevocationUnavailable
 * says: NONE (open) or UNAVAILABLE (closed). */
authproxy_revocation_e authproxy_revocation_check(authproxy_identity_t *id,
                                                  const authproxy_stored_t *stored,
                                                  const authjs_session_t *session, int at_once);

/* The credential's session was signed out through the routes: revoked until
 * it ends, on every server sharing the cache. */
void authproxy_revocation_signed_out(authproxy_identity_t *id, const authjs_session_t *session);

int authproxy_revocation_post_config(apr_pool_t *pconf, server_rec *s);
void authproxy_revocation_register_hooks(apr_pool_t *p);

#endif
