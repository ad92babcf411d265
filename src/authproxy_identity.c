/* SPDX-License-Identifier: Apache-2.0 */
/* The keys of a credential's identity (authproxy_identity.h). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "authproxy_identity.h"

/* The records' key prefixes: the kind of record comes first. */
static const char *const record_names[AUTHPROXY_RECORDS] = { "session", "refresh" };

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

const unsigned char *authproxy_identity_key(authproxy_identity_t *id, authproxy_record_e record)
{
    const char *purpose = record_names[record], *origin = id->origin->origin;
    const char *scope = id->conf->cache_scope;
    EVP_MD_CTX *md;
    unsigned int len = AUTHPROXY_KEY_LEN;

    if (id->key_made[record]) {
        return id->keys[record];
    }
    md = EVP_MD_CTX_new();
    /* The NULs keep the parts from running into each other (none holds one). */
    id->key_made[record] =
        md && EVP_DigestInit_ex(md, EVP_sha256(), NULL)
        && EVP_DigestUpdate(md, purpose, strlen(purpose) + 1)
        && EVP_DigestUpdate(md, scope, strlen(scope) + 1)
        && (record == AUTHPROXY_RECORD_REFRESH
            || EVP_DigestUpdate(md, origin, strlen(origin) + 1))
        && EVP_DigestUpdate(md, id->cookie.name, strlen(id->cookie.name) + 1)
        && EVP_DigestUpdate(md, id->cookie.value, strlen(id->cookie.value))
        && EVP_DigestFinal_ex(md, id->keys[record], &len);
    EVP_MD_CTX_free(md);
    return id->key_made[record] ? id->keys[record] : NULL;
}
