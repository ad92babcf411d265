/* SPDX-License-Identifier: Apache-2.0 */
/* mod_authproxy: lets a site served by Apache httpd join a shared Auth.js
 * sign-in server. This file is the module's face: the module record and the
 * hook registration, with startup's order; the logic (and the directive
 * table, in authproxy_config.c) lives in src/. */
#include "authproxy.h"
#include "authproxy_assertion.h"
#include "authproxy_authz.h"
#include "authproxy_cache.h"
#include "authproxy_config.h"
#include "authproxy_fetch.h"
#include "authproxy_flight.h"
#include "authproxy_guard.h"
#include "authproxy_health.h"
#include "authproxy_metrics.h"
#include "authproxy_private.h"
#include "authproxy_publish.h"
#include "authproxy_revocation.h"
#include "authproxy_route.h"
#include "authproxy_session.h"
#include "authproxy_signin.h"
#include "authproxy_store.h"
#include "authproxy_trace.h"
#include "mod_authproxy.h"

/* configtest, and every start before httpd listens: the servers' settings,
 * the cache providers they name, the assertions' key files (read as root). */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc = authproxy_check_config(pconf, plog, ptemp, s);

    if (rc == OK) {
        rc = authproxy_cache_check_config(ptemp, s);
    }
    return rc != OK ? rc : authproxy_assertion_check_config(pconf, s);
}

/* Startup, in the order each step needs: keys and URLs from the settings,
 * then the caches (only servers that ask the upstream need one, which the
 * keys tell), the revocations' state (where there is a cache), the metrics'
 * shared memory, then mod_proxy's workers. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc = authproxy_config_post_config(pconf, plog, ptemp, s);

    if (rc == OK) {
        rc = authproxy_cache_post_config(pconf, plog, ptemp, s);
    }
    if (rc == OK) {
        rc = authproxy_revocation_post_config(pconf, s);
    }
    if (rc == OK) {
        rc = authproxy_metrics_post_config(pconf, plog, ptemp, s);
    }
    return rc != OK ? rc : authproxy_route_post_config(pconf, plog, ptemp, s);
}

/* Each part registers its own hooks and filters; startup's order is the
 * two functions above. */
static void authproxy_register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    authproxy_cache_register_hooks(p);
    authproxy_fetch_register_hooks(p);
    authproxy_flight_register_hooks(p);
    authproxy_store_register_hooks(p);
    authproxy_session_register_hooks(p);
    authproxy_route_register_hooks(p);
    authproxy_guard_register_hooks(p);
    authproxy_authz_register_hooks(p);
    authproxy_publish_register_hooks(p);
    authproxy_private_register_hooks(p);
    authproxy_metrics_register_hooks(p);
    authproxy_revocation_register_hooks(p);
    authproxy_assertion_register_hooks(p);
    authproxy_health_register_hooks(p);
    authproxy_signin_register_hooks(p);
    authproxy_trace_register_hooks(p);
    /* What mod_authproxy.h offers other modules. */
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
