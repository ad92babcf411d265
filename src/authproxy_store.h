/* SPDX-License-Identifier: Apache-2.0 */
/* The sessions a child resolved, shared by its threads and connections
 * (authproxy_store.c). */
#ifndef AUTHPROXY_STORE_H
#define AUTHPROXY_STORE_H

#include "authproxy_identity.h"

typedef struct authproxy_stored {
    const authjs_session_t *session;   /* NULL: the upstream said "no session" */
    const apr_table_t *vars;           /* its AUTHJS_* but the source */
    apr_time_t until;                  /* 0: as long as the session */
    const char *answer;                /* the shared cache's entry it was parsed */
    apr_size_t answer_len;             /* from; NULL for a decoded token */
} authproxy_stored_t;

/* When the shared cache last held a stored answer's bytes, and its count of
 * sign-outs then. */
typedef struct {
    apr_time_t checked;
    apr_uint32_t evictions;
} authproxy_stored_check_t;

/* Which of the credential's entries: its session, or the upstream's "no
 * session" for it (under the identity's none_key). */
typedef enum { AUTHPROXY_STORED_SESSION, AUTHPROXY_STORED_NONE } authproxy_stored_e;

/* The credential's entry of that kind, unless it has ended by `now`, with its
 * last check in *check; held until the request's pool is cleared. NULL when
 * there is none. A new entry replaces an older one of the credential, and
 * the least recently used one goes when the child holds its share; an entry
 * leaves no memory behind once the last request that holds it is done. */
const authproxy_stored_t *authproxy_store_find(authproxy_identity_t *id, authproxy_stored_e kind,
                                               apr_time_t now, authproxy_stored_check_t *check);

/* The credential's session decoded from its token's `claims`, for the
 * child's requests; held until the request's pool is cleared. */
const authproxy_stored_t *authproxy_store_decoded(authproxy_identity_t *id, json_t *claims);

/* The credential's session from the shared cache's entry `answer` (len
 * bytes), read as `check` says, for the child's requests; held until the
 * request's pool is cleared. NULL and *why for a bad entry or one with no
 * session, which nobody else sees. */
const authproxy_stored_t *authproxy_store_answer(authproxy_identity_t *id, const char *answer,
                                                 apr_size_t len,
                                                 const authproxy_stored_check_t *check,
                                                 const char **why);

/* The upstream's "no session" for the credential, for the child's requests
 * for AuthProxySessionCacheNegativeTTL. */
void authproxy_store_none(authproxy_identity_t *id);

/* The shared cache still held the entry's bytes when the credential's
 * request looked. */
void authproxy_store_checked(authproxy_identity_t *id, const authproxy_stored_t *stored,
                             const authproxy_stored_check_t *check);

/* The revocations' generation the entry was last found standing at
 * (authproxy_revocation.c); 0 before, AUTHPROXY_STORED_REVOKED once revoked. */
#define AUTHPROXY_STORED_REVOKED APR_UINT64_MAX
apr_uint64_t authproxy_store_revocation(const authproxy_stored_t *stored);
void authproxy_store_set_revocation(const authproxy_stored_t *stored, apr_uint64_t generation);

void authproxy_store_register_hooks(apr_pool_t *p);

#endif
