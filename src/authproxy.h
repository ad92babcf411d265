/* Shared types of the httpd glue (authproxy_*). */
#ifndef AUTHPROXY_H
#define AUTHPROXY_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <util_filter.h>

#include "authproxy_util.h"

extern module AP_MODULE_DECLARE_DATA authproxy_module;
#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(authproxy);
#endif

/* Directive names, written once: the table and every message use these. */
#define AUTHPROXY_DIR_UPSTREAM      "AuthProxyUpstream"
#define AUTHPROXY_DIR_LOCAL_PATH    "AuthProxyLocalPath"
#define AUTHPROXY_DIR_TARGET_PATH   "AuthProxyTargetPath"
#define AUTHPROXY_DIR_HEADER        "AuthProxyHeader"
#define AUTHPROXY_DIR_TIMEOUT       "AuthProxyTimeout"
#define AUTHPROXY_DIR_PRESERVE_HOST "AuthProxyPreserveHost"

#define AUTHPROXY_DEFAULT_LOCAL_PATH "/api/auth"
#define AUTHPROXY_DEFAULT_TIMEOUT    10
#define AUTHPROXY_MAX_TIMEOUT        3600

#define AUTHPROXY_UNSET (-1)

/* Output filter that rewrites Location and cookie paths of route answers. */
#define AUTHPROXY_ROUTE_FILTER "AUTHPROXY_ROUTE"

typedef struct {
    const char *name;
    const char *value;
} authproxy_header_t;

/* Server (VirtualHost) configuration. NULL / AUTHPROXY_UNSET mean "not set
 * here": merge takes the child's field if set, else the parent's, and the
 * accessors below apply the defaults. */
typedef struct {
    const char *upstream;          /* origin "scheme://host[:port]"; NULL = module off */
    const char *upstream_host;     /* its host, for the plaintext warning */
    int upstream_is_tls;
    const char *local_path;
    const char *target_path;
    apr_array_header_t *headers;   /* of authproxy_header_t */
    int timeout;                   /* seconds */
    int preserve_host;
} authproxy_server_conf;

static APR_INLINE authproxy_server_conf *authproxy_sconf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &authproxy_module);
}

const char *authproxy_local_path(const authproxy_server_conf *conf);
const char *authproxy_target_path(const authproxy_server_conf *conf);
int authproxy_timeout(const authproxy_server_conf *conf);
int authproxy_preserve_host(const authproxy_server_conf *conf);

/* authproxy_config.c */
void *authproxy_create_server_conf(apr_pool_t *p, server_rec *s);
void *authproxy_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
const char *authproxy_cmd_upstream(cmd_parms *cmd, void *dconf, const char *arg);
const char *authproxy_cmd_local_path(cmd_parms *cmd, void *dconf, const char *arg);
const char *authproxy_cmd_target_path(cmd_parms *cmd, void *dconf, const char *arg);
const char *authproxy_cmd_header(cmd_parms *cmd, void *dconf, const char *name,
                                 const char *value);
const char *authproxy_cmd_timeout(cmd_parms *cmd, void *dconf, const char *arg);
const char *authproxy_cmd_preserve_host(cmd_parms *cmd, void *dconf, int flag);
int authproxy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);

/* What this module knows of one request, in r->request_config. */
typedef struct {
    int is_route;                  /* forwarded to the upstream */
    const char *client_host;       /* the Host header as the client sent it */
} authproxy_request_t;

/* authproxy_route.c */
authproxy_request_t *authproxy_request(request_rec *r);
int authproxy_is_route(const request_rec *r);
int authproxy_route_pre_translate(request_rec *r);
int authproxy_route_translate(request_rec *r);
void authproxy_route_insert_filter(request_rec *r);
int authproxy_route_proxy_fixups(request_rec *r);
int authproxy_route_request_status(int *status, request_rec *r);
apr_status_t authproxy_route_filter(ap_filter_t *f, apr_bucket_brigade *bb);
int authproxy_route_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s);

#endif
