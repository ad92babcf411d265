/* SPDX-License-Identifier: Apache-2.0 */
/* A stand-in for another module: answers /probe with what mod_authproxy's
 * optional function says of the request's session. */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>

#include "mod_authproxy.h"

static APR_OPTIONAL_FN_TYPE(authproxy_session_vars) *session_vars;

static int print_var(void *r, const char *name, const char *value)
{
    ap_rprintf(r, "%s=%s\n", name, value);
    return 1;
}

static int probe_handler(request_rec *r)
{
    const apr_table_t *vars;

    if (!r->handler || strcmp(r->handler, "authproxy-probe") != 0) {
        return DECLINED;
    }
    ap_set_content_type(r, "text/plain");
    if (!session_vars) {
        ap_rputs("no optional function\n", r);
        return OK;
    }
    vars = session_vars(r);
    if (!vars) {
        ap_rputs("anonymous\n", r);
        return OK;
    }
    apr_table_do(print_var, r, vars, NULL);
    return OK;
}

static void retrieve(void)
{
    session_vars = APR_RETRIEVE_OPTIONAL_FN(authproxy_session_vars);
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_optional_fn_retrieve(retrieve, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(probe_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA authproxy_probe_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, register_hooks
};
