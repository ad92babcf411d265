/* SPDX-License-Identifier: Apache-2.0 */
/* A credential's identity (authproxy_identity.h), and its in-process store
 * key: the bytes themselves. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy_identity.h"

/* The settings' address, then each of `parts`, of `lens` bytes. */
static void store_key(authproxy_identity_t *id, const char *const *parts, const apr_size_t *lens,
                      int n)
{
    apr_size_t len = sizeof(id->conf);
    char *at;
    int i;

    for (i = 0; i < n; i++) {
        len += lens[i];
    }
    id->store_key = at = apr_palloc(id->pool, len);
    id->store_key_len = len;
    memcpy(at, &id->conf, sizeof(id->conf));
    at += sizeof(id->conf);
    for (i = 0; i < n; i++) {
        memcpy(at, parts[i], lens[i]);
        at += lens[i];
    }
}

authproxy_identity_t *authproxy_identity_make(apr_pool_t *p, server_rec *s,
                                              const authproxy_server_conf *conf,
                                              const authproxy_origin_t *origin,
                                              const authjs_cookie_t *cookie)
{
    authproxy_identity_t *id = apr_pcalloc(p, sizeof(*id));

    id->conf = conf;
    id->server = s;
    id->pool = p;
    id->origin = origin;
    id->keyring = conf->session_cookie[origin->https].keyring;
    id->cookie = *cookie;
    /* only tokens that decode are stored: their last bytes are their
     * authentication tag */
    if (id->keyring) {
        const char *parts[3] = { origin->origin, cookie->name, cookie->value };
        /* the NULs keep the parts from running into each other */
        apr_size_t lens[3] = { strlen(origin->origin) + 1, strlen(cookie->name) + 1,
                               strlen(cookie->value) };

        store_key(id, parts, lens, 3);
    }
    return id;
}

void authproxy_identity_store_by_hash(authproxy_identity_t *id, const unsigned char *hash)
{
    const char *parts[1] = { (const char *)hash };
    apr_size_t lens[1] = { AUTHPROXY_KEY_LEN };

    store_key(id, parts, lens, 1);
}

authproxy_identity_t *authproxy_identity_with_cookie(const authproxy_identity_t *id,
                                                     const authjs_cookie_t *cookie)
{
    return authproxy_identity_make(id->pool, id->server, id->conf, id->origin, cookie);
}
