/* SPDX-License-Identifier: Apache-2.0 */
/* The tokens a child has decoded, shared by its threads (authproxy_decoded.c). */
#ifndef AUTHPROXY_DECODED_H
#define AUTHPROXY_DECODED_H

#include "authproxy.h"

typedef struct {
    const authjs_session_t *session;     /* NULL: the upstream said "no session" */
    apr_table_t *vars;                   /* AUTHJS_* but the source */
    apr_time_t until;                    /* 0: as long as the session */
} authproxy_decoded_t;

/* The session this child decoded from this cookie (with these settings, for
 * this public origin: all that it depends on), or the upstream's "no
 * session" for it, unless it has expired by `now`; held until `holder` is
 * cleared. NULL when there is none. */
const authproxy_decoded_t *authproxy_decoded_find(request_rec *r,
                                                  const authproxy_server_conf *conf,
                                                  const authjs_cookie_t *cookie, apr_time_t now,
                                                  apr_pool_t *holder);

/* Holds it until `holder` is cleared as well. */
void authproxy_decoded_hold(const authproxy_decoded_t *d, apr_pool_t *holder);

/* A new entry for the cookie, whose session and vars the caller builds in
 * *pool; held until r->pool is cleared. */
authproxy_decoded_t *authproxy_decoded_new(request_rec *r, const authproxy_server_conf *conf,
                                           const authjs_cookie_t *cookie, apr_pool_t **pool);

/* Gives the built entry to the child's other requests: it replaces an older
 * one of the cookie, and the least recently used one goes when the child
 * holds its share. An entry leaves no memory behind once the last request or
 * connection that holds it is done. */
void authproxy_decoded_share(authproxy_decoded_t *d);

void authproxy_decoded_register_hooks(apr_pool_t *p);

#endif
