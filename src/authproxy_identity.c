/* SPDX-License-Identifier: Apache-2.0 */
/* A credential's identity (authproxy_identity.h), and its in-process store
 * key: the bytes themselves. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy_identity.h"

/* The settings' address, then each of `parts`, of `lens` bytes. */
static const char *store_key(const authproxy_identity_t *id, const char *const *parts,
                             const apr_size_t *lens, int n, apr_size_t *len)
{
    char *key, *at;
    int i;

    *len = sizeof(id->conf);
    for (i = 0; i < n; i++) {
        *len += lens[i];
    }
    key = at = apr_palloc(id->pool, *len);
    memcpy(at, &id->conf, sizeof(id->conf));
    at += sizeof(id->conf);
    for (i = 0; i < n; i++) {
        memcpy(at, parts[i], lens[i]);
        at += lens[i];
    }
    return key;
}

static authproxy_identity_t *identity(apr_pool_t *p, server_rec *s, conn_rec *c,
                                      const authproxy_server_conf *conf,
                                      const authproxy_origin_t *origin,
                                      const authjs_cookie_t *cookie)
{
    authproxy_identity_t *id = apr_pcalloc(p, sizeof(*id));
    const char *parts[3] = { origin->origin, cookie->name, cookie->value };
    /* the NULs keep the parts from running into each other */
    apr_size_t lens[3] = { strlen(parts[0]) + 1, strlen(parts[1]) + 1, strlen(parts[2]) };

    id->conf = conf;
    id->server = s;
    id->pool = p;
    id->connection = c;
    id->last = &authproxy_connection(c)->last;
    id->origin = origin;
    id->keyring = conf->session_cookie[origin->https].keyring;
    id->cookie = *cookie;
    id->store_key = store_key(id, parts, lens, 3, &id->store_key_len);
    return id;
}

authproxy_identity_t *authproxy_identity_make(request_rec *r, const authproxy_server_conf *conf,
                                              const authproxy_origin_t *origin,
                                              const authjs_cookie_t *cookie)
{
    return identity(r->pool, r->server, r->connection, conf, origin, cookie);
}

void authproxy_identity_none_key(authproxy_identity_t *id, const unsigned char *hash)
{
    /* an origin never starts with a NUL: no cookie's session key is this */
    const char *parts[2] = { "", (const char *)hash };
    apr_size_t lens[2] = { 1, AUTHPROXY_KEY_LEN };

    id->none_key = store_key(id, parts, lens, 2, &id->none_key_len);
}

authproxy_identity_t *authproxy_identity_with_cookie(const authproxy_identity_t *id,
                                                     const authjs_cookie_t *cookie)
{
    return identity(id->pool, id->server, id->connection, id->conf, id->origin, cookie);
}
