/* SPDX-License-Identifier: Apache-2.0 */
/* mod_authproxy's interface for other modules.
 *
 *   APR_OPTIONAL_FN_TYPE(authproxy_session_vars) *get =
 *       APR_RETRIEVE_OPTIONAL_FN(authproxy_session_vars);
 *   const apr_table_t *vars = get ? get(r) : NULL;
 *   const char *email = vars ? apr_table_get(vars, "AUTHJS_USER_EMAIL") : NULL;
 *
 * The table holds the AUTHJS_* variables of the request's session (resolved
 * on first use, once per request); NULL when the visitor is anonymous. */
#ifndef MOD_AUTHPROXY_H
#define MOD_AUTHPROXY_H

#include <apr_optional.h>
#include <apr_tables.h>
#include <httpd.h>

APR_DECLARE_OPTIONAL_FN(const apr_table_t *, authproxy_session_vars, (request_rec *r));

#endif
