/* SPDX-License-Identifier: Apache-2.0 */
/* The shared session cache: httpd's socache providers (authproxy_cache.c). */
#ifndef AUTHPROXY_CACHE_H
#define AUTHPROXY_CACHE_H

#include "authproxy_identity.h"

void authproxy_cache_register_hooks(apr_pool_t *p);
/* Every server of the chain from s. */
int authproxy_cache_check_config(apr_pool_t *ptemp, server_rec *s);
int authproxy_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s);

/* The shared cache's key of the credential's `record`, a hash (never a raw
 * token), also the single flight's; NULL when OpenSSL fails. A /session
 * answer depends on the origin it is asked for; a cookie's refresh and
 * sign-out do not: the same cookie under another of the server's names is
 * the same session. The session's key also names the store's "no session"
 * for the credential (authproxy_identity_none_key). */
const unsigned char *authproxy_cache_key(authproxy_identity_t *id, authproxy_record_e record);
/* The credential's record: APR_SUCCESS with its bytes (NUL-terminated) in
 * *value and *len, a not-found status, or the cache's failure (logged, with
 * what a request does instead), which is no answer. A session answer's look
 * is counted in the metrics. */
apr_status_t authproxy_cache_get(authproxy_identity_t *id, authproxy_record_e record,
                                 const char **value, apr_size_t *len);
/* Keeps the record until `expiry` (at most 30 days); a failure is logged. */
apr_status_t authproxy_cache_put(authproxy_identity_t *id, authproxy_record_e record,
                                 const char *value, apr_time_t expiry);
/* Keeps a session, for the server's TTL or until the session ends (one at its
 * end is not kept). Never "no session": see authproxy_cache.c. */
apr_status_t authproxy_cache_put_session(authproxy_identity_t *id,
                                         const authjs_session_t *session);
/* What a named record holds at most: a time, a mark. */
#define AUTHPROXY_NAMED_CAPACITY 64
/* A record named by its purpose and a name in the server's scope, not by a
 * credential: a revoked token, a user's revocation, the revocations'
 * generation (authproxy_revocation.c), a count of failed sign-ins
 * (authproxy_signin.c), a readiness probe's (authproxy_health.c). As authproxy_cache_get and _put; a failure to read
 * is logged with what the request does `instead`. */
apr_status_t authproxy_cache_get_named(const authproxy_server_conf *conf, server_rec *s,
                                       apr_pool_t *p, const char *purpose, const char *name,
                                       const char *instead, const char **value);
apr_status_t authproxy_cache_put_named(const authproxy_server_conf *conf, server_rec *s,
                                       apr_pool_t *p, const char *purpose, const char *name,
                                       const char *value, apr_time_t expiry);
/* Removes a named record; a failure is logged. */
apr_status_t authproxy_cache_remove_named(const authproxy_server_conf *conf, server_rec *s,
                                          apr_pool_t *p, const char *purpose, const char *name);
/* Removes the credential's session (a sign-out) and counts it in the
 * evictions; a failure is logged. */
apr_status_t authproxy_cache_forget(authproxy_identity_t *id);
/* How many sign-outs through this server have removed entries from the
 * VirtualHost's cache: what a child keeps of an entry holds only while this
 * count stands still. */
apr_uint32_t authproxy_cache_evictions(const authproxy_server_conf *conf);

#endif
