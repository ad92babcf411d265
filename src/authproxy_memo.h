/* SPDX-License-Identifier: Apache-2.0 */
/* What a kept-alive connection's cookies resolved to (authproxy_memo.c). */
#ifndef AUTHPROXY_MEMO_H
#define AUTHPROXY_MEMO_H

#include "authproxy.h"

typedef struct {
    const authproxy_server_conf *conf;   /* the settings it was resolved with, */
    const char *origin;                  /* for this public origin */
    const char *name, *value;            /* the cookie */
    const char *answer;                  /* the cache entry it was parsed from, */
    apr_size_t answer_len;               /* or NULL for a decoded token */
    unsigned char key[AUTHPROXY_CACHE_KEY_LEN];
    apr_time_t checked;                  /* when the cache last had these bytes */
    apr_uint32_t evictions;              /* the cache's sign-out count then */
    const authjs_session_t *session;
    apr_table_t *vars;                   /* AUTHJS_* but the source */
} authproxy_memo_entry_t;

/* This cookie's newest entry (resolved with these settings, for this
 * origin: all that the answer depends on), or NULL. */
authproxy_memo_entry_t *authproxy_memo_find(request_rec *r, const authproxy_server_conf *conf,
                                            const authjs_cookie_t *cookie);

/* A new entry whose session the caller builds in *pool, the connection's;
 * NULL when the connection has had its share. */
authproxy_memo_entry_t *authproxy_memo_add(request_rec *r, const authproxy_server_conf *conf,
                                           const authjs_cookie_t *cookie, apr_pool_t **pool);

/* A remembered session's AUTHJS_* variables (but the source), built once in
 * `pool`. */
apr_table_t *authproxy_memo_vars(apr_pool_t *pool, const authjs_session_t *session);

#endif
