/* SPDX-License-Identifier: Apache-2.0 */
/* A fake httpd for the glue's unit tests: fake_httpd.c defines every httpd
 * function the module's objects call, so that they and mod_authproxy.c (the
 * module record, whose register_hooks runs each part's registration) link
 * into a plain test program. Registration is recorded (hooks, auth
 * providers), what the glue's behaviour depends on works as httpd's does,
 * log lines are kept for the tests to read, and the rest does nothing. */
#ifndef FAKE_HTTPD_H
#define FAKE_HTTPD_H

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>

#include "authproxy.h"

typedef struct {
    /* The hooks the module registered, for the tests to run as httpd would;
     * the others it registers are not kept. */
    ap_HOOK_check_config_t *check_config;
    ap_HOOK_pre_translate_name_t *pre_translate_name;
    ap_HOOK_translate_name_t *translate_name;
    ap_HOOK_access_checker_ex_t *check_access_ex;
    ap_HOOK_check_user_id_t *check_authn;
    ap_HOOK_auth_checker_t *check_authz;
    ap_HOOK_note_auth_failure_t *note_auth_failure;
    ap_HOOK_fixups_t *fixups;
    int (*proxy_fixups)(request_rec *r);   /* mod_proxy's, on its copy of the headers */
    /* What the tests decide; fake_httpd_reset sets them back. */
    int require_status;            /* mod_authz_core's verdict on the Require lines */
    const char *const *linked;     /* the modules linked in (NULL-terminated), or NULL */
    const char *server_root;       /* ServerRoot */
} fake_httpd_t;

extern fake_httpd_t fake_httpd;

/* Gives the module its index and runs its register_hooks, once a process:
 * `pglobal` holds what registration keeps (APR's optional hooks and
 * functions, the providers). */
void fake_httpd_start(apr_pool_t *pglobal);
/* Before each test: no log lines, Require lines that grant (OK), no module
 * linked, ServerRoot /fake-server-root. */
void fake_httpd_reset(void);

/* The log lines since the reset, each "LEVEL: message" ("info: ..."); a
 * message above trace level starts with its tag ("info: AUTHPROXY024: ..."). */
const char *fake_log_last(void);
int fake_log_has(const char *text);
/* The last line's level and tag, "info: AUTHPROXY024"; its level alone for a
 * line without a tag ("trace1:"), "" for none. */
const char *fake_log_last_tag(void);
/* How many lines were logged at `level` ("info") with `tag` ("AUTHPROXY024")
 * and, in the message after it, each of the texts that follow, up to NULL. */
int fake_log_count(const char *level, const char *tag, ...) AP_FN_ATTR_SENTINEL;

/* Where a directive is read, as httpd's cmd_parms.override says it. */
#define FAKE_IN_SERVER   ((RSRC_CONF | OR_ALL) & ~(OR_AUTHCFG | OR_LIMIT))
#define FAKE_IN_LOCATION (OR_ALL | ACCESS_CONF)
#define FAKE_IN_HTACCESS OR_AUTHCFG   /* AllowOverride AuthConfig */

/* A server (the main one, or a VirtualHost before fake_vhost) with this
 * module's server and per-directory defaults from its own create functions;
 * every log level on. */
server_rec *fake_server(apr_pool_t *p, const char *hostname, apr_port_t port);
/* What httpd does to a VirtualHost at startup: its settings merged onto the
 * main server's by the module's merge functions, and it chained after it. */
void fake_vhost(apr_pool_t *p, server_rec *main_server, server_rec *vhost);
/* A <Location>'s per-directory configuration, from the module's create. */
void *fake_location(apr_pool_t *p);
/* One configuration line ("AuthProxyTimeout 5") read where `where` says, as
 * httpd's invoke_cmd reads it: into the server `s`, and into `dconf` (NULL:
 * the server's defaults). NULL, or the error httpd would stop at. */
const char *fake_directive(apr_pool_t *p, server_rec *s, void *dconf, int where,
                           const char *line);

/* A request on a connection of its own to `s`, its request line's method
 * and target parsed as httpd parses them; its per-directory configuration
 * the server's defaults merged with `dconf` (NULL: the defaults alone). */
request_rec *fake_request(apr_pool_t *p, server_rec *s, void *dconf, const char *method,
                          const char *target);
/* A subrequest of `r` and an internal redirect from `r`, sharing what httpd
 * has them share (the connection, headers_in). */
request_rec *fake_subrequest(request_rec *r, void *dconf, const char *target);
request_rec *fake_internal_redirect(request_rec *r, void *dconf, const char *target);
/* AuthType and AuthName of the request's directory (core's per-directory
 * settings); NULL for none. */
void fake_auth(request_rec *r, const char *type, const char *name);

#endif
