/* SPDX-License-Identifier: Apache-2.0 */
/* What the httpd glue's files (authproxy_*) share: the server and directory
 * settings with their accessors, the request state and its accessors, the
 * log tag. Each part declares what it offers in a header of its own. */
#ifndef AUTHPROXY_H
#define AUTHPROXY_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <util_filter.h>

#include "authjs_cookie.h"
#include "authjs_session.h"
#include "authjs_token.h"
#include "authproxy_util.h"

extern module AP_MODULE_DECLARE_DATA authproxy_module;
#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(authproxy);
#endif

/* A log message's stable tag, as httpd's APLOGNO: the format of every call
 * above trace level starts with one, AUTHPROXY_LOGNO(012) "..." logging
 * "AUTHPROXY012: ...". Three digits; a number names one message, is written
 * once, has its row in README.md's "Log messages", and is never given to
 * another message once that one is gone (its row says retired). make check
 * holds all that (tests/log_tags.sh), and names the next free number. */
#define AUTHPROXY_LOGNO(n) "AUTHPROXY" #n ": "

#define AUTHPROXY_UNSET (-1)

typedef struct {
    const char *name;
    const char *value;
} authproxy_header_t;

typedef struct authproxy_cache authproxy_cache_t;           /* authproxy_cache.h */
typedef struct authproxy_identity authproxy_identity_t;     /* authproxy_identity.h */

/* The session cookie as Auth.js names it on an origin of one scheme, and the
 * keys a token of that name decodes with. */
typedef struct {
    const char *name;
    authjs_keyring_t *keyring;     /* NULL: the upstream resolves it */
} authproxy_session_cookie_t;
typedef struct authproxy_metrics authproxy_metrics_t;   /* authproxy_metrics.h */
typedef struct authproxy_revocations authproxy_revocations_t;  /* authproxy_revocation.c */

/* Server (VirtualHost) configuration. NULL / AUTHPROXY_UNSET mean "not set
 * here": merge takes the child's field if set, else the parent's, and the
 * accessors below apply the defaults. */
typedef struct {
    const char *upstream;          /* origin "scheme://host[:port]"; NULL = module off */
    const char *upstream_host;     /* its host, for the plaintext warning */
    int upstream_is_tls;
    /* Set by merge: a VirtualHost that names an Auth.js deployment of its own
     * (AuthProxyUpstream or AuthProxyTargetPath), which inherits none of the
     * main server's deployment settings. */
    int own_deployment;
    const char *local_path;
    const char *target_path;
    apr_array_header_t *headers;   /* of authproxy_header_t */
    int timeout;                   /* seconds */
    int preserve_host;
    const char *cookie_name;
    apr_array_header_t *secrets;   /* of const char *, newest first */
    int strategy;                  /* authproxy_strategy_e */
    const char *ca_file;
    const char *cache_spec;        /* "none" or PROVIDER[:ARGS] */
    int cache_ttl;                 /* seconds */
    int cache_negative_ttl;        /* seconds */
    const authproxy_origin_t *public_origin;   /* AuthProxyPublicOrigin */
    int refresh;                   /* seconds; 0 = Off */
    int metrics_scope;             /* authproxy_metrics_scope_e */
    int revocation;                /* On/Off */
    int revocation_unavailable;    /* authproxy_unavailable_e */
    apr_array_header_t *assertion_keys;    /* AuthProxyAssertionKey: PEM paths, the first signs */
    int assertion_lifetime;        /* seconds */
    int trace_mode;                /* authproxy_trace_e */
    /* AuthProxySignInLimit, set together: 0 failures = Off */
    int signin_limit;              /* failures a period allows */
    int signin_period;             /* seconds */
    int signin_ban;                /* seconds; AUTHPROXY_UNSET: the period */
    int signin_by;                 /* authproxy_signin_by_e */
    /* where the server's config (not .htaccess) first says AuthProxyAssertion
     * On, "file:line": it needs a key (a VirtualHost's, or the main server's,
     * whose sections a VirtualHost has too) */
    const char *assertion_on_at;

    /* Derived at startup from the merged fields above. */
    /* on http origins [0] (the name as configured) and https ones [1]
     * (__Secure-<name>) */
    authproxy_session_cookie_t session_cookie[2];
    const char *session_url;           /* upstream + target + /session */
    const char *upstream_hostport;     /* its Host: host[:port], no default port */
    /* Everything of this server's settings that can change what the upstream's
     * /session answers, for the cache key. */
    const char *cache_scope;
    authproxy_cache_t *cache;          /* NULL: none, or not needed (local decoding) */
    authproxy_metrics_t *metrics;      /* this server's counters, in shared memory */
    authproxy_revocations_t *revocations;  /* with AuthProxyRevocation On: each child's own */
    /* the keys of assertion_keys (authjs_jws_key_t *), in order, and their
     * JWK set's JSON text */
    apr_array_header_t *assertion_signers;
    const char *jwks;
} authproxy_server_conf;

typedef enum {
    AUTHPROXY_STRATEGY_JWT = 0,
    AUTHPROXY_STRATEGY_DATABASE = 1
} authproxy_strategy_e;

/* The VirtualHosts whose counters a server's metrics handler and
 * server-status section show. */
typedef enum {
    AUTHPROXY_METRICS_VHOST = 0,   /* its own */
    AUTHPROXY_METRICS_ALL = 1
} authproxy_metrics_scope_e;

/* What a request gets while revocations cannot be read. */
typedef enum {
    AUTHPROXY_UNAVAILABLE_OPEN = 0,    /* served, logged once a minute */
    AUTHPROXY_UNAVAILABLE_CLOSED = 1   /* 503 */
} authproxy_unavailable_e;

/* What a request's calls to the upstream carry (AuthProxyTraceParent). */
typedef enum {
    AUTHPROXY_TRACE_OFF = 0,
    AUTHPROXY_TRACE_PROPAGATE = 1,     /* the client's trace, when valid */
    AUTHPROXY_TRACE_GENERATE = 2       /* that, else a new trace */
} authproxy_trace_e;

/* What a CORS preflight gets under AuthType authjs. */
typedef enum {
    AUTHPROXY_PREFLIGHT_PASS = 0,      /* the application answers it, no session asked */
    AUTHPROXY_PREFLIGHT_AUTH = 1       /* as any request */
} authproxy_preflight_e;
/* What AuthProxySignInLimit counts failed sign-ins by. */
typedef enum {
    AUTHPROXY_SIGNIN_BY_IP = 0,        /* the client's address */
    AUTHPROXY_SIGNIN_BY_USER = 1,      /* the identifier it names (hashed) */
    AUTHPROXY_SIGNIN_BY_BOTH = 2
} authproxy_signin_by_e;

typedef enum {
    AUTHPROXY_UNAUTH_REDIRECT = 0,
    AUTHPROXY_UNAUTH_401 = 1,
    AUTHPROXY_UNAUTH_PASS = 2
} authproxy_unauth_e;

/* An AuthProxyPublishClaims entry: claims whose name matches `pattern`
 * (apr_fnmatch) are published, or withheld. */
typedef struct {
    const char *pattern;
    int publish;
} authproxy_claim_rule_t;

/* An AuthProxyClaimHeader: the request header `name` set to the claim. */
typedef struct {
    const char *name;
    const char *claim;             /* dotted path, as Require authjs-claim's */
} authproxy_claim_header_t;

typedef enum {
    AUTHPROXY_ENCODING_RAW = 0,
    AUTHPROXY_ENCODING_BASE64URL = 1
} authproxy_encoding_e;

/* Per-directory configuration (Location, Directory, .htaccess). */
typedef struct {
    int session;
    int pass_headers;
    int pass_token;
    int strip_cookie;
    int bearer;                    /* Authorization: Bearer where no cookie comes */
    int strip_bearer;
    int unauth_action;             /* authproxy_unauth_e */
    int preflight;                 /* authproxy_preflight_e */
    const char *remote_user_claim;
    ap_regex_t *remote_user_regex;     /* with remote_user_subst: the part of the claim */
    const char *remote_user_subst;
    apr_array_header_t *publish_claims;    /* of authproxy_claim_rule_t; NULL: the default */
    apr_array_header_t *claim_headers;     /* of authproxy_claim_header_t */
    int header_encoding;                   /* authproxy_encoding_e */
    int assertion;                 /* X-Authjs-Assertion to proxied backends */
    const char *assertion_audience;    /* its aud; NULL: the backend's origin */
} authproxy_dir_conf;

static APR_INLINE authproxy_server_conf *authproxy_sconf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &authproxy_module);
}

static APR_INLINE const authproxy_dir_conf *authproxy_dconf(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &authproxy_module);
}

const char *authproxy_local_path(const authproxy_server_conf *conf);
const char *authproxy_target_path(const authproxy_server_conf *conf);
int authproxy_timeout(const authproxy_server_conf *conf);
int authproxy_preserve_host(const authproxy_server_conf *conf);
const char *authproxy_cookie_name(const authproxy_server_conf *conf);
int authproxy_strategy(const authproxy_server_conf *conf);
const char *authproxy_cache_spec(const authproxy_server_conf *conf);
int authproxy_cache_ttl(const authproxy_server_conf *conf);
int authproxy_cache_negative_ttl(const authproxy_server_conf *conf);
/* AuthProxySessionRefresh in seconds; 0 when Off (the default). */
int authproxy_session_refresh(const authproxy_server_conf *conf);
int authproxy_metrics_scope(const authproxy_server_conf *conf);
int authproxy_revocation(const authproxy_server_conf *conf);
int authproxy_revocation_unavailable(const authproxy_server_conf *conf);
/* AuthProxySignInLimit's failures per period; 0 when Off (the default). */
int authproxy_signin_limit(const authproxy_server_conf *conf);
/* Its ban in seconds: as given, else the period. */
int authproxy_signin_ban(const authproxy_server_conf *conf);
int authproxy_unauth_action(const authproxy_dir_conf *dconf);
int authproxy_preflight(const authproxy_dir_conf *dconf);
int authproxy_trace_mode(const authproxy_server_conf *conf);
const char *authproxy_remote_user_claim(const authproxy_dir_conf *dconf);
int authproxy_header_encoding(const authproxy_dir_conf *dconf);
int authproxy_pass_headers(const authproxy_dir_conf *dconf);
int authproxy_pass_token(const authproxy_dir_conf *dconf);
int authproxy_strip_cookie(const authproxy_dir_conf *dconf);
int authproxy_bearer(const authproxy_dir_conf *dconf);
int authproxy_strip_bearer(const authproxy_dir_conf *dconf);
int authproxy_assertion(const authproxy_dir_conf *dconf);
int authproxy_assertion_lifetime(const authproxy_server_conf *conf);
/* Where the session is resolved and published here (On where an upstream is set). */
int authproxy_session_enabled(const request_rec *r);

/* Where a session came from; AUTHJS_SESSION_SOURCE names it. A Bearer
 * token's session is resolved as a cookie's (locally, from the cache or the
 * upstream) and named for the header it came in. */
typedef enum {
    AUTHPROXY_SOURCE_LOCAL, AUTHPROXY_SOURCE_CACHE, AUTHPROXY_SOURCE_UPSTREAM,
    AUTHPROXY_SOURCE_BEARER, AUTHPROXY_SOURCES
} authproxy_source_e;
extern const char *const authproxy_source_names[AUTHPROXY_SOURCES];

/* What this module knows of one request, in r->request_config. */
typedef struct {
    int is_route;                  /* forwarded to the upstream */
    int upstream_timed_out;        /* its answer did not come in time */
    const authproxy_origin_t *origin;  /* the public origin, worked out once */
    int resolved;                  /* the session was looked for (main request only) */
    int anonymous;                 /* why there is none (authproxy_anonymous_e) */
    int decided;                   /* an authz decision was counted */
    int client_headers_removed;    /* the client's X-Authjs-* are gone */
    int claim_headers_removed;     /* and its AuthProxyClaimHeader headers */
    apr_array_header_t *claim_headers_sent;  /* the AuthProxyClaimHeader names a pass set */
    /* the configuration a main pass published for, and that it was published
     * anew for another (mod_dir's fast redirect hands the page the index's
     * configuration after the fixups, but not the index's headers) */
    struct ap_conf_vector_t *published_conf;
    int republished;
    int personal;                  /* the response is one visitor's: never shared */
    int refresh_considered;        /* AuthProxySessionRefresh looked at the session */
    /* the credential was the Authorization header's Bearer token (taken
     * for the session cookie), whatever it resolved to */
    int bearer;
    authproxy_identity_t *identity;    /* the session cookie's, when there was one */
    const authjs_session_t *session;
    const struct authproxy_stored *stored;  /* the child's entry it came from, if any */
    int refused;                   /* an HTTP status: the session could not be decided */
    int strip_bearer;              /* the original's AuthProxyStripBearer, for every pass */
    authproxy_source_e source;
    apr_table_t *vars;             /* AUTHJS_* of the session, built once */
    /* a CORS preflight let through without a session: none is resolved */
    int preflight;
    int trace_made;                /* traceparent was worked out (authproxy_trace.c) */
    const char *traceparent;       /* what the calls to the upstream carry; NULL: none */
} authproxy_request_t;

/* What this module knows of one connection, in c->conn_config: a client's
 * or, for a route, mod_proxy's to the upstream. */
typedef struct {
    struct authproxy_answer_guard *guard;  /* the upstream's (authproxy_guard.c) */
    struct authproxy_stored_last *last;    /* a client's (authproxy_store.c) */
} authproxy_connection_t;

/* authproxy_request.c */
/* This connection's state, created on first use. */
authproxy_connection_t *authproxy_connection(conn_rec *c);
/* This request's state, created on first use. */
authproxy_request_t *authproxy_request(request_rec *r);
/* The request that this subrequest or internal redirect belongs to. */
request_rec *authproxy_original(request_rec *r);
/* Forwarded to the upstream (under the local prefix). */
int authproxy_is_route(const request_rec *r);

#endif
