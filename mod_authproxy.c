/* SPDX-License-Identifier: Apache-2.0 */
/* mod_authproxy: lets a site served by Apache httpd join a shared Auth.js
 * sign-in server. This file is the module's face: the module record, the
 * directive table and the hook registration; the logic lives in src/. */
#include "authproxy.h"
#include "mod_authproxy.h"

#include <apr_optional_hooks.h>
#include <http_request.h>
#include <mod_auth.h>
#include <mod_proxy.h>

static const command_rec authproxy_cmds[] = {
    AP_INIT_TAKE1(AUTHPROXY_DIR_UPSTREAM, authproxy_cmd_upstream, NULL, RSRC_CONF,
                  "Origin (http[s]://host[:port]) of the upstream Auth.js server; "
                  "turns the module on for this server"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_LOCAL_PATH, authproxy_cmd_local_path, NULL, RSRC_CONF,
                  "Local prefix of the Auth.js routes (default " AUTHPROXY_DEFAULT_LOCAL_PATH ")"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_TARGET_PATH, authproxy_cmd_target_path, NULL, RSRC_CONF,
                  "Prefix of the Auth.js routes on the upstream (default: the local prefix)"),
    AP_INIT_TAKE2(AUTHPROXY_DIR_HEADER, authproxy_cmd_header, NULL, RSRC_CONF,
                  "Header name and value added to every upstream request; repeatable"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_TIMEOUT, authproxy_cmd_timeout, NULL, RSRC_CONF,
                  "Seconds to connect to and hear from the upstream (default 10)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_PRESERVE_HOST, authproxy_cmd_preserve_host, NULL, RSRC_CONF,
                 "Send the client's Host to the upstream instead of the upstream's own "
                 "(default Off)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_PUBLIC_ORIGIN, authproxy_cmd_public_origin, NULL, RSRC_CONF,
                  "The app's origin (http[s]://host[:port]) as the upstream is told it, "
                  "e.g. behind a TLS-terminating load balancer (default: from ServerName)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_COOKIE_NAME, authproxy_cmd_cookie_name, NULL, RSRC_CONF,
                  "Name of the Auth.js session cookie, as on the upstream "
                  "(default " AUTHPROXY_DEFAULT_COOKIE ")"),
    AP_INIT_ITERATE(AUTHPROXY_DIR_SECRET, authproxy_cmd_secret, NULL, RSRC_CONF,
                    "The upstream's AUTH_SECRET, newest first; file:/path reads one from a file"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_STRATEGY, authproxy_cmd_strategy, NULL, RSRC_CONF,
                  "jwt or database, as on the upstream (default jwt)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CA_FILE, authproxy_cmd_ca_file, NULL, RSRC_CONF,
                  "Extra CA bundle for TLS to the upstream's /session"),
    AP_INIT_FLAG(AUTHPROXY_DIR_SESSION, ap_set_flag_slot,
                 (void *)APR_OFFSETOF(authproxy_dir_conf, session), OR_AUTHCFG | RSRC_CONF,
                 "Resolve and publish the session here (default On where an upstream is set)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_PASS_HEADERS, ap_set_flag_slot,
                 (void *)APR_OFFSETOF(authproxy_dir_conf, pass_headers), OR_AUTHCFG | RSRC_CONF,
                 "Also pass the session as X-Authjs-* request headers (default Off)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_PASS_TOKEN, ap_set_flag_slot,
                 (void *)APR_OFFSETOF(authproxy_dir_conf, pass_token), OR_AUTHCFG | RSRC_CONF,
                 "Also publish the raw session cookie as AUTHJS_TOKEN (default Off)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_STRIP_COOKIE, ap_set_flag_slot,
                 (void *)APR_OFFSETOF(authproxy_dir_conf, strip_cookie), OR_AUTHCFG | RSRC_CONF,
                 "Remove the session cookie before the request reaches the backend (default Off)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CACHE, authproxy_cmd_cache, NULL, RSRC_CONF,
                  "none, or the socache provider[:args] keeping /session answers "
                  "(default " AUTHPROXY_DEFAULT_CACHE ")"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CACHE_TTL, authproxy_cmd_cache_ttl, NULL, RSRC_CONF,
                  "Seconds a /session answer is kept (default 60)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CACHE_NEG_TTL, authproxy_cmd_cache_negative_ttl, NULL,
                  RSRC_CONF, "Seconds a 'no session' answer is kept (default 5)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_UNAUTH_ACTION, authproxy_cmd_unauth_action, NULL,
                  OR_AUTHCFG | RSRC_CONF,
                  "What an anonymous visitor gets with AuthType authjs: redirect (browsers "
                  "to sign in, others 401), 401, or pass (default redirect)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_USER_CLAIM, ap_set_string_slot,
                  (void *)APR_OFFSETOF(authproxy_dir_conf, remote_user_claim),
                  OR_AUTHCFG | RSRC_CONF,
                  "Claim that becomes REMOTE_USER (default email, else the id)"),
    { NULL }
};

/* configtest: the servers' settings, then the cache providers they name. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc = authproxy_check_config(pconf, plog, ptemp, s);

    return rc != OK ? rc : authproxy_cache_check_config(s);
}

/* Startup, in the order each step needs: keys and URLs from the settings,
 * then the caches (only servers that ask the upstream need one, which the
 * keys tell), then mod_proxy's workers. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc = authproxy_config_post_config(pconf, plog, ptemp, s);

    if (rc == OK) {
        rc = authproxy_cache_post_config(pconf, plog, ptemp, s);
    }
    return rc != OK ? rc : authproxy_route_post_config(pconf, plog, ptemp, s);
}

static void authproxy_register_hooks(apr_pool_t *p)
{
    static const char *const publish_before[] = { "mod_rewrite.c", NULL };

    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(authproxy_cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(authproxy_fetch_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(authproxy_cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(authproxy_flight_child_init, NULL, NULL, APR_HOOK_MIDDLE);

    ap_hook_pre_translate_name(authproxy_route_pre_translate, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_translate_name(authproxy_route_translate, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_insert_filter(authproxy_route_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(AUTHPROXY_ROUTE_FILTER, authproxy_route_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
    APR_OPTIONAL_HOOK(proxy, fixups, authproxy_route_proxy_fixups, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(proxy, request_status, authproxy_route_request_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(proxy, create_req, authproxy_route_proxy_create_req, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_register_input_filter(AUTHPROXY_GUARD_FILTER, authproxy_route_guard_filter, NULL,
                             AP_FTYPE_CONNECTION);

    ap_hook_check_authn(authproxy_authz_authenticate, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authz(authproxy_authz_check, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(authproxy_authz_note_failure, NULL, NULL, APR_HOOK_MIDDLE);
    authproxy_authz_register(p);

    /* Before mod_rewrite's per-directory rules, so they can test AUTHJS_*. */
    ap_hook_fixups(authproxy_publish_fixups, NULL, publish_before, APR_HOOK_FIRST);
    APR_REGISTER_OPTIONAL_FN(authproxy_session_vars);
}

/* authproxy.h says APLOG_USE_MODULE for every file, this one included. */
module AP_MODULE_DECLARE_DATA authproxy_module = {
    STANDARD20_MODULE_STUFF,
    authproxy_create_dir_conf,
    authproxy_merge_dir_conf,
    authproxy_create_server_conf,
    authproxy_merge_server_conf,
    authproxy_cmds,
    authproxy_register_hooks,
    AP_MODULE_FLAG_NONE
};
