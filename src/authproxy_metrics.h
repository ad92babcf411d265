/* SPDX-License-Identifier: Apache-2.0 */
/* Counters per VirtualHost, summed over all children (authproxy_metrics.c):
 * what the parts that count call. */
#ifndef AUTHPROXY_METRICS_H
#define AUTHPROXY_METRICS_H

#include "authproxy.h"

typedef enum {
    AUTHPROXY_ANONYMOUS_NO_COOKIE, AUTHPROXY_ANONYMOUS_BAD_COOKIE,
    AUTHPROXY_ANONYMOUS_INVALID_TOKEN, AUTHPROXY_ANONYMOUS_EXPIRED,
    AUTHPROXY_ANONYMOUS_NO_SESSION, AUTHPROXY_ANONYMOUS_UPSTREAM_ERROR,
    AUTHPROXY_ANONYMOUS_REVOKED, AUTHPROXY_ANONYMOUS_REVOCATION_UNAVAILABLE,
    AUTHPROXY_ANONYMOUS_REASONS
} authproxy_anonymous_e;
typedef enum {
    AUTHPROXY_KIND_ROUTE, AUTHPROXY_KIND_SESSION, AUTHPROXY_KIND_REFRESH, AUTHPROXY_KINDS
} authproxy_kind_e;
typedef enum {
    AUTHPROXY_LOOKUP_HIT, AUTHPROXY_LOOKUP_MISS, AUTHPROXY_LOOKUP_ERROR, AUTHPROXY_LOOKUPS
} authproxy_lookup_e;
typedef enum {
    AUTHPROXY_DECISION_GRANTED, AUTHPROXY_DECISION_DENIED, AUTHPROXY_DECISION_REDIRECT,
    AUTHPROXY_DECISION_UNAUTHORIZED, AUTHPROXY_DECISIONS
} authproxy_decision_e;
typedef enum {
    AUTHPROXY_ASSERTION_SIGNED, AUTHPROXY_ASSERTION_REUSED, AUTHPROXY_ASSERTION_ERROR,
    AUTHPROXY_ASSERTION_RESULTS
} authproxy_assertion_result_e;
/* What a sign-in refused with 429 was counted by (authproxy_signin.c). */
typedef enum {
    AUTHPROXY_LIMITED_IP, AUTHPROXY_LIMITED_USER, AUTHPROXY_LIMITED_KEYS
} authproxy_limited_e;
void authproxy_metrics_register_hooks(apr_pool_t *p);
int authproxy_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                  server_rec *s);
/* Counted for the server with these settings: the session the request
 * resolved, by its source, or why there was none. */
void authproxy_metrics_resolved(const authproxy_server_conf *conf, const authproxy_request_t *req);
/* An upstream answer's status (0: no answer) and how long it took (-1: not timed). */
void authproxy_metrics_upstream(const authproxy_server_conf *conf, authproxy_kind_e kind,
                                int status, apr_interval_time_t took);
void authproxy_metrics_lookup(const authproxy_server_conf *conf, authproxy_lookup_e result);
/* An assertion for a proxied backend: signed, a child's reused, or none made. */
void authproxy_metrics_assertion(const authproxy_server_conf *conf,
                                 authproxy_assertion_result_e result);
/* A sign-in refused under AuthProxySignInLimit. */
void authproxy_metrics_signin_limited(const authproxy_server_conf *conf, authproxy_limited_e by);
/* Counted once per request, the first decision. */
void authproxy_metrics_decision(request_rec *r, authproxy_decision_e decision);

#endif
