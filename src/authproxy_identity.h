/* SPDX-License-Identifier: Apache-2.0 */
/* One request's session credential and all that its session depends on,
 * worked out once (authproxy_session.c): every key of every store is derived
 * from it (the in-process store's here, the shared cache's and the single
 * flight's in authproxy_cache.c), never rebuilt from the request by the store
 * that needs it. */
#ifndef AUTHPROXY_IDENTITY_H
#define AUTHPROXY_IDENTITY_H

#include "authproxy.h"

/* SHA-256: what the shared cache and the single flight are keyed by. */
#define AUTHPROXY_KEY_LEN 32

/* What a shared-cache record is: the upstream's /session answer for the
 * credential, or its refresh record (when its refresh clock started, or that
 * it was signed out). */
typedef enum {
    AUTHPROXY_RECORD_SESSION, AUTHPROXY_RECORD_REFRESH, AUTHPROXY_RECORDS
} authproxy_record_e;

struct authproxy_identity {
    const authproxy_server_conf *conf;  /* the scope: the settings it resolves with */
    server_rec *server;                 /* whose settings they are */
    apr_pool_t *pool;                   /* the request's */
    conn_rec *connection;               /* it came on, */
    struct authproxy_stored_last **last;    /* which holds its last store entry here */
    const authproxy_origin_t *origin;   /* the public origin it was sent to */
    const authjs_keyring_t *keyring;    /* that origin's keys; NULL: the upstream resolves it */
    authjs_cookie_t cookie;             /* its name on that origin, its value */
    /* The in-process store's keys, each after the settings' address (one
     * server's keyrings and upstream): for the cookie's session, the origin
     * and the cookie's name and value; for the upstream's "no session", a NUL
     * and the cookie's shared-cache key (NULL until that is made). */
    const char *store_key, *none_key;
    apr_size_t store_key_len, none_key_len;
    /* the shared cache's keys, each made on first use (authproxy_cache_key) */
    unsigned char keys[AUTHPROXY_RECORDS][AUTHPROXY_KEY_LEN];
    int key_made[AUTHPROXY_RECORDS];
};

/* The identity of `cookie`, sent to `origin` in the request `r` (whose
 * server's settings are `conf`). */
authproxy_identity_t *authproxy_identity_make(request_rec *r, const authproxy_server_conf *conf,
                                              const authproxy_origin_t *origin,
                                              const authjs_cookie_t *cookie);

/* The upstream's "no session" for the cookie is kept in the store under its
 * shared-cache key (`hash`, AUTHPROXY_KEY_LEN bytes), not under the cookie:
 * it is kept for any cookie a client makes up, and the store's index hashes
 * a key's last bytes, which such a client could make the same for them all
 * (a session's are its token's authentication tag). */
void authproxy_identity_none_key(authproxy_identity_t *id, const unsigned char *hash);

/* The same credential with another cookie (a refreshed one). */
authproxy_identity_t *authproxy_identity_with_cookie(const authproxy_identity_t *id,
                                                     const authjs_cookie_t *cookie);

#endif
