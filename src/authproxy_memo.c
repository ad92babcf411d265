/* SPDX-License-Identifier: Apache-2.0 */
/* What a kept-alive connection's cookies resolved to. A browser sends the
 * same cookie with every request of a kept-alive connection, so the token is
 * decrypted, the cache key hashed and the cached answer parsed once per
 * connection and cookie instead of once per request. A connection serves one request at a time
 * (each HTTP/2 stream has its own secondary connection): no lock. Entries
 * live as long as the connection, since a request's answer may be logged
 * after the next request has begun; so there are at most MEMO_ENTRIES of
 * them, which a browser's connection does not outgrow. */
#include <string.h>

#include <apr_strings.h>

#include "authproxy.h"
#include "authproxy_memo.h"
#include "authproxy_origin.h"

#define MEMO_ENTRIES 4

typedef struct {
    int count;
    authproxy_memo_entry_t entries[MEMO_ENTRIES];
} memo_t;

static memo_t *memo_of(conn_rec *c)
{
    memo_t *memo = ap_get_module_config(c->conn_config, &authproxy_module);

    if (!memo) {
        memo = apr_pcalloc(c->pool, sizeof(*memo));
        ap_set_module_config(c->conn_config, &authproxy_module, memo);
    }
    return memo;
}

authproxy_memo_entry_t *authproxy_memo_find(request_rec *r, const authproxy_server_conf *conf,
                                            const authjs_cookie_t *cookie)
{
    memo_t *memo = memo_of(r->connection);
    const char *origin = authproxy_public_origin(r)->origin;
    int i;

    for (i = memo->count - 1; i >= 0; i--) {
        authproxy_memo_entry_t *e = &memo->entries[i];

        if (e->conf == conf && !strcmp(e->value, cookie->value)
            && !strcmp(e->name, cookie->name) && !strcmp(e->origin, origin)) {
            return e;
        }
    }
    return NULL;
}

authproxy_memo_entry_t *authproxy_memo_add(request_rec *r, const authproxy_server_conf *conf,
                                           const authjs_cookie_t *cookie, apr_pool_t **pool)
{
    memo_t *memo = memo_of(r->connection);
    authproxy_memo_entry_t *e;

    if (memo->count == MEMO_ENTRIES) {
        return NULL;
    }
    *pool = r->connection->pool;
    e = &memo->entries[memo->count++];
    memset(e, 0, sizeof(*e));
    e->conf = conf;
    e->origin = apr_pstrdup(*pool, authproxy_public_origin(r)->origin);
    e->name = apr_pstrdup(*pool, cookie->name);
    e->value = apr_pstrdup(*pool, cookie->value);
    return e;
}

apr_table_t *authproxy_memo_vars(apr_pool_t *pool, const authjs_session_t *session)
{
    apr_table_t *vars = apr_table_make(pool, 16);

    authjs_session_vars(pool, session, vars);
    return vars;
}
