/* SPDX-License-Identifier: Apache-2.0 */
/* A credential's identity (authproxy_identity.h), and its in-process store
 * key: the bytes themselves. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy_identity.h"

authproxy_identity_t *authproxy_identity_make(apr_pool_t *p, server_rec *s,
                                              const authproxy_server_conf *conf,
                                              const authproxy_origin_t *origin,
                                              const authjs_cookie_t *cookie)
{
    authproxy_identity_t *id = apr_pcalloc(p, sizeof(*id));
    apr_size_t origin_len = strlen(origin->origin) + 1, name_len = strlen(cookie->name) + 1;
    apr_size_t value_len = strlen(cookie->value);
    char *at;

    id->conf = conf;
    id->server = s;
    id->pool = p;
    id->origin = origin;
    id->keyring = conf->session_cookie[origin->https].keyring;
    id->cookie = *cookie;
    id->store_key_len = sizeof(conf) + origin_len + name_len + value_len;
    id->store_key = at = apr_palloc(p, id->store_key_len);
    memcpy(at, &conf, sizeof(conf));
    memcpy(at += sizeof(conf), origin->origin, origin_len);
    memcpy(at += origin_len, cookie->name, name_len);
    memcpy(at += name_len, cookie->value, value_len);
    return id;
}

authproxy_identity_t *authproxy_identity_with_cookie(const authproxy_identity_t *id,
                                                     const authjs_cookie_t *cookie)
{
    return authproxy_identity_make(id->pool, id->server, id->conf, id->origin, cookie);
}
