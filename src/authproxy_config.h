/* SPDX-License-Identifier: Apache-2.0 */
/* The directives (authproxy_config.c): their names, defaults and limits, the
 * table, the settings' create and merge, the startup checks. The settings
 * themselves and their accessors are in authproxy.h. */
#ifndef AUTHPROXY_CONFIG_H
#define AUTHPROXY_CONFIG_H

#include "authproxy.h"

/* Directive names, written once: the table and every message use these. */
#define AUTHPROXY_DIR_UPSTREAM      "AuthProxyUpstream"
#define AUTHPROXY_DIR_LOCAL_PATH    "AuthProxyLocalPath"
#define AUTHPROXY_DIR_TARGET_PATH   "AuthProxyTargetPath"
#define AUTHPROXY_DIR_HEADER        "AuthProxyHeader"
#define AUTHPROXY_DIR_TIMEOUT       "AuthProxyTimeout"
#define AUTHPROXY_DIR_PRESERVE_HOST "AuthProxyPreserveHost"
#define AUTHPROXY_DIR_COOKIE_NAME   "AuthProxyCookieName"
#define AUTHPROXY_DIR_SECRET        "AuthProxySecret"
#define AUTHPROXY_DIR_STRATEGY      "AuthProxySessionStrategy"
#define AUTHPROXY_DIR_CA_FILE       "AuthProxyCACertificateFile"
#define AUTHPROXY_DIR_SESSION       "AuthProxySession"
#define AUTHPROXY_DIR_PASS_HEADERS  "AuthProxyPassHeaders"
#define AUTHPROXY_DIR_PASS_TOKEN    "AuthProxyPassToken"
#define AUTHPROXY_DIR_STRIP_COOKIE  "AuthProxyStripCookie"
#define AUTHPROXY_DIR_BEARER        "AuthProxyBearer"
#define AUTHPROXY_DIR_STRIP_BEARER  "AuthProxyStripBearer"
#define AUTHPROXY_DIR_CACHE         "AuthProxySessionCache"
#define AUTHPROXY_DIR_CACHE_TTL     "AuthProxySessionCacheTTL"
#define AUTHPROXY_DIR_CACHE_NEG_TTL "AuthProxySessionCacheNegativeTTL"
#define AUTHPROXY_DIR_UNAUTH_ACTION "AuthProxyUnauthAction"
#define AUTHPROXY_DIR_USER_CLAIM    "AuthProxyRemoteUserClaim"
#define AUTHPROXY_DIR_PUBLISH_CLAIMS "AuthProxyPublishClaims"
#define AUTHPROXY_DIR_CLAIM_HEADER  "AuthProxyClaimHeader"
#define AUTHPROXY_DIR_HEADER_ENCODING "AuthProxyHeaderEncoding"
#define AUTHPROXY_DIR_PUBLIC_ORIGIN "AuthProxyPublicOrigin"
#define AUTHPROXY_DIR_REFRESH       "AuthProxySessionRefresh"
#define AUTHPROXY_DIR_METRICS_SCOPE "AuthProxyMetricsScope"
#define AUTHPROXY_DIR_REVOCATION    "AuthProxyRevocation"
#define AUTHPROXY_DIR_REVOCATION_UNAVAILABLE "AuthProxyRevocationUnavailable"
#define AUTHPROXY_DIR_ASSERTION     "AuthProxyAssertion"
#define AUTHPROXY_DIR_ASSERTION_KEY "AuthProxyAssertionKey"
#define AUTHPROXY_DIR_ASSERTION_AUDIENCE "AuthProxyAssertionAudience"
#define AUTHPROXY_DIR_ASSERTION_LIFETIME "AuthProxyAssertionLifetime"
#define AUTHPROXY_DIR_PREFLIGHT     "AuthProxyPreflight"
#define AUTHPROXY_DIR_TRACE_PARENT  "AuthProxyTraceParent"
#define AUTHPROXY_DIR_SIGNIN_LIMIT  "AuthProxySignInLimit"

#define AUTHPROXY_DEFAULT_LOCAL_PATH "/api/auth"
#define AUTHPROXY_DEFAULT_TIMEOUT    10
#define AUTHPROXY_MAX_TIMEOUT        3600
#define AUTHPROXY_MAX_CACHE_TTL      86400
/* Auth.js's default session maxAge: 30 days. */
#define AUTHPROXY_MAX_REFRESH        2592000
#define AUTHPROXY_DEFAULT_COOKIE     "authjs.session-token"
#define AUTHPROXY_DEFAULT_CACHE      "shmcb"
#define AUTHPROXY_DEFAULT_CACHE_TTL  60
#define AUTHPROXY_DEFAULT_CACHE_NEGATIVE_TTL 5
/* An assertion's exp after its iat, in seconds: the default is the most. */
#define AUTHPROXY_MAX_ASSERTION_LIFETIME 60

/* AuthProxySignInLimit's most failures, and its longest period and ban
 * (a day: a lockout longer than that is an operator's job). */
#define AUTHPROXY_MAX_SIGNIN_LIMIT   10000
#define AUTHPROXY_MAX_SIGNIN_SECONDS 86400

/* A number constant as a string, for the directives' help. */
#define AUTHPROXY_STR(n) AUTHPROXY_STR_(n)
#define AUTHPROXY_STR_(n) #n

extern const command_rec authproxy_cmds[];
void *authproxy_create_server_conf(apr_pool_t *p, server_rec *s);
void *authproxy_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
void *authproxy_create_dir_conf(apr_pool_t *p, char *dir);
void *authproxy_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
int authproxy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);
int authproxy_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                 server_rec *s);
/* "ServerName:port" for messages and labels: the port the server is named
 * with, else its first address's, else none (never ":0"). */
const char *authproxy_server_name(apr_pool_t *p, const server_rec *s);

#endif
