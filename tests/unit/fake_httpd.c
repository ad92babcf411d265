/* SPDX-License-Identifier: Apache-2.0 */
/* The httpd functions the module's objects call, defined for the unit tests
 * (see fake_httpd.h). */
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_escape.h>
#include <apr_hash.h>
#include <apr_hooks.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_mpm.h>
#include <ap_provider.h>
#include <apr_optional_hooks.h>
#include <http_main.h>
#include <mod_proxy.h>
#include <util_mutex.h>

#include "fake_httpd.h"

/* The config vectors' slots: this module's, then core's per-directory one. */
#define CORE_SLOT 1
#define SLOTS 2

typedef struct {
    const char *auth_type;
    const char *auth_name;
} core_dir_t;

fake_httpd_t fake_httpd;
server_rec *ap_server_conf;

static apr_hash_t *providers;          /* "group/name/version" -> provider */
static apr_pool_t *log_pool;           /* cleared by fake_httpd_reset */
static apr_array_header_t *log_lines;  /* of const char * */

void fake_httpd_start(apr_pool_t *pglobal)
{
    /* APR's optional hooks and functions live in this pool. */
    apr_hook_global_pool = pglobal;
    providers = apr_hash_make(pglobal);
    apr_pool_create(&log_pool, pglobal);
    authproxy_module.module_index = 0;
    authproxy_module.register_hooks(pglobal);
    fake_httpd.proxy_fixups =
        ((proxy_LINK_fixups_t *)apr_optional_hook_get("fixups")->elts)[0].pFunc;
}

void fake_httpd_reset(void)
{
    apr_pool_clear(log_pool);
    log_lines = apr_array_make(log_pool, 16, sizeof(const char *));
    fake_httpd.require_status = OK;
    fake_httpd.linked = NULL;
    fake_httpd.server_root = "/fake-server-root";
}

/* ---- log ---------------------------------------------------------------------- */

static void log_line(int level, const char *fmt, va_list ap)
{
    static const char *const names[] = {
        "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
        "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8"
    };

    APR_ARRAY_PUSH(log_lines, const char *) =
        apr_pstrcat(log_pool, names[level & APLOG_LEVELMASK], ": ",
                    apr_pvsprintf(log_pool, fmt, ap), NULL);
}

const char *fake_log_last(void)
{
    return log_lines->nelts ? APR_ARRAY_IDX(log_lines, log_lines->nelts - 1, const char *)
                            : "";
}

int fake_log_has(const char *text)
{
    int i;

    for (i = 0; i < log_lines->nelts; i++) {
        if (strstr(APR_ARRAY_IDX(log_lines, i, const char *), text)) {
            return 1;
        }
    }
    return 0;
}

/* Where a line's tag ends: past "LEVEL: AUTHPROXYnnn", or NULL for none. */
static const char *tag_end(const char *line)
{
    const char *tag = strstr(line, ": ");

    if (!tag || strncmp(tag + 2, "AUTHPROXY", 9) != 0
        || strspn(tag + 11, "0123456789") != 3 || strncmp(tag + 14, ": ", 2) != 0) {
        return NULL;
    }
    return tag + 14;
}

const char *fake_log_last_tag(void)
{
    const char *line = fake_log_last(), *end = tag_end(line);

    if (!*line) {
        return "";
    }
    return apr_pstrndup(log_pool, line, end ? (apr_size_t)(end - line) : strcspn(line, ":") + 1);
}

int fake_log_count(const char *level, const char *tag, ...)
{
    const char *want = apr_pstrcat(log_pool, level, ": ", tag, ": ", NULL);
    int i, n = 0;

    for (i = 0; i < log_lines->nelts; i++) {
        const char *line = APR_ARRAY_IDX(log_lines, i, const char *), *text;
        va_list ap;

        if (strncmp(line, want, strlen(want)) != 0) {
            continue;
        }
        /* a match when every text is found, up to the NULL */
        va_start(ap, tag);
        do {
            text = va_arg(ap, const char *);
        } while (text && strstr(line + strlen(want), text));
        va_end(ap);
        n += !text;
    }
    return n;
}

void ap_log_error_(const char *file, int line, int module_index, int level,
                   apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, fmt, ap);
    va_end(ap);
}

void ap_log_rerror_(const char *file, int line, int module_index, int level,
                    apr_status_t status, const request_rec *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, fmt, ap);
    va_end(ap);
}

void ap_log_cerror_(const char *file, int line, int module_index, int level,
                    apr_status_t status, const conn_rec *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, fmt, ap);
    va_end(ap);
}

/* ---- registration ------------------------------------------------------------- */

void ap_hook_check_config(ap_HOOK_check_config_t *pf, const char *const *pre,
                          const char *const *succ, int order)
{
    fake_httpd.check_config = pf;
}

void ap_hook_pre_translate_name(ap_HOOK_pre_translate_name_t *pf, const char *const *pre,
                                const char *const *succ, int order)
{
    fake_httpd.pre_translate_name = pf;
}

void ap_hook_translate_name(ap_HOOK_translate_name_t *pf, const char *const *pre,
                            const char *const *succ, int order)
{
    fake_httpd.translate_name = pf;
}

void ap_hook_check_authn(ap_HOOK_check_user_id_t *pf, const char *const *pre,
                         const char *const *succ, int order, int type)
{
    fake_httpd.check_authn = pf;
}

void ap_hook_check_authz(ap_HOOK_auth_checker_t *pf, const char *const *pre,
                         const char *const *succ, int order, int type)
{
    fake_httpd.check_authz = pf;
}

void ap_hook_check_access_ex(ap_HOOK_access_checker_ex_t *pf, const char *const *pre,
                             const char *const *succ, int order, int type)
{
    fake_httpd.check_access_ex = pf;
}

void ap_hook_note_auth_failure(ap_HOOK_note_auth_failure_t *pf, const char *const *pre,
                               const char *const *succ, int order)
{
    fake_httpd.note_auth_failure = pf;
}

void ap_hook_fixups(ap_HOOK_fixups_t *pf, const char *const *pre, const char *const *succ,
                    int order)
{
    /* publish's; the assertions' and the sign-in limit's (APR_HOOK_LAST, on
     * proxied and route requests only) are the integration tests' business */
    if (order != APR_HOOK_LAST) {
        fake_httpd.fixups = pf;
    }
}

/* Startup, children, filters and the metrics' handler are the integration
 * tests' business. */
void ap_hook_handler(ap_HOOK_handler_t *pf, const char *const *pre, const char *const *succ,
                     int order)
{
}

void ap_set_content_type(request_rec *r, const char *ct)
{
    r->content_type = ct;
}

void ap_allow_standard_methods(request_rec *r, int reset, ...)
{
}

int ap_rwrite(const void *buf, int nbyte, request_rec *r)
{
    return nbyte;
}

int ap_rprintf(request_rec *r, const char *fmt, ...)
{
    return 0;
}

/* Requests here have no body. */
int ap_setup_client_block(request_rec *r, int read_policy)
{
    return OK;
}

long ap_get_client_block(request_rec *r, char *buffer, apr_size_t bufsiz)
{
    return 0;
}

char *ap_escape_logitem(apr_pool_t *p, const char *str)
{
    return (char *)apr_pescape_echo(p, str, 1);
}

char *ap_escape_html2(apr_pool_t *p, const char *s, int toasc)
{
    return (char *)apr_pescape_entity(p, s, toasc);
}

void ap_hook_pre_config(ap_HOOK_pre_config_t *pf, const char *const *pre,
                        const char *const *succ, int order)
{
}

void ap_hook_post_config(ap_HOOK_post_config_t *pf, const char *const *pre,
                         const char *const *succ, int order)
{
}

void ap_hook_child_init(ap_HOOK_child_init_t *pf, const char *const *pre,
                        const char *const *succ, int order)
{
}

/* A route's mod_proxy settings (post_perdir_config, and the vector that
 * post_config makes for it) are the integration tests' business too. */
void ap_hook_post_perdir_config(ap_HOOK_post_perdir_config_t *pf, const char *const *pre,
                                const char *const *succ, int order)
{
}

apr_status_t ap_mpm_query(int query_code, int *result)
{
    *result = 1;
    return APR_SUCCESS;
}

void ap_hook_insert_filter(ap_HOOK_insert_filter_t *pf, const char *const *pre,
                           const char *const *succ, int order)
{
}

void ap_hook_insert_error_filter(ap_HOOK_insert_error_filter_t *pf, const char *const *pre,
                                 const char *const *succ, int order)
{
}

ap_filter_rec_t *ap_register_input_filter(const char *name, ap_in_filter_func filter_func,
                                          ap_init_filter_func filter_init,
                                          ap_filter_type ftype)
{
    return NULL;
}

ap_filter_rec_t *ap_register_output_filter(const char *name, ap_out_filter_func filter_func,
                                           ap_init_filter_func filter_init,
                                           ap_filter_type ftype)
{
    return NULL;
}

ap_filter_t *ap_add_input_filter(const char *name, void *ctx, request_rec *r, conn_rec *c)
{
    return NULL;
}

ap_filter_t *ap_add_output_filter(const char *name, void *ctx, request_rec *r, conn_rec *c)
{
    return NULL;
}

void ap_remove_output_filter(ap_filter_t *f)
{
}

apr_status_t ap_get_brigade(ap_filter_t *filter, apr_bucket_brigade *bucket,
                            ap_input_mode_t mode, apr_read_type_e block, apr_off_t readbytes)
{
    return APR_ENOTIMPL;
}

apr_status_t ap_pass_brigade(ap_filter_t *filter, apr_bucket_brigade *bucket)
{
    return APR_ENOTIMPL;
}

apr_status_t ap_save_brigade(ap_filter_t *f, apr_bucket_brigade **save_to,
                             apr_bucket_brigade **b, apr_pool_t *p)
{
    return APR_ENOTIMPL;
}

int ap_map_http_request_error(apr_status_t rv, int status)
{
    return status;
}

apr_status_t ap_mutex_register(apr_pool_t *pconf, const char *type, const char *default_dir,
                               apr_lockmech_e default_mech, apr_int32_t options)
{
    return APR_SUCCESS;
}

apr_status_t ap_global_mutex_create(apr_global_mutex_t **mutex, const char **name,
                                    const char *type, const char *instance_id,
                                    server_rec *server, apr_pool_t *pool, apr_int32_t options)
{
    return APR_ENOTIMPL;
}

void ap_add_version_component(apr_pool_t *pconf, const char *component)
{
}

void ap_abort_on_oom(void)
{
    abort();
}

static const char *provider_key(const char *group, const char *name, const char *version)
{
    return apr_pstrcat(apr_hash_pool_get(providers), group, "/", name, "/", version, NULL);
}

apr_status_t ap_register_auth_provider(apr_pool_t *pool, const char *provider_group,
                                       const char *provider_name,
                                       const char *provider_version, const void *provider,
                                       int type)
{
    apr_hash_set(providers, provider_key(provider_group, provider_name, provider_version),
                 APR_HASH_KEY_STRING, provider);
    return APR_SUCCESS;
}

/* As httpd's; a NULL provider takes the name back (apr_hash_set removes it). */
apr_status_t ap_register_provider(apr_pool_t *pool, const char *provider_group,
                                  const char *provider_name, const char *provider_version,
                                  const void *provider)
{
    apr_hash_set(providers, provider_key(provider_group, provider_name, provider_version),
                 APR_HASH_KEY_STRING, provider);
    return APR_SUCCESS;
}

void *ap_lookup_provider(const char *provider_group, const char *provider_name,
                         const char *provider_version)
{
    return apr_hash_get(providers, provider_key(provider_group, provider_name,
                                                provider_version), APR_HASH_KEY_STRING);
}

/* ---- configuration ------------------------------------------------------------ */

static ap_conf_vector_t *config_vector(apr_pool_t *p)
{
    return apr_pcalloc(p, SLOTS * sizeof(void *));
}

/* For a route's mod_proxy settings, which the unit tests never make. */
ap_conf_vector_t *ap_create_per_dir_config(apr_pool_t *p)
{
    return config_vector(p);
}

ap_conf_vector_t *ap_merge_per_dir_configs(apr_pool_t *p, ap_conf_vector_t *base,
                                           ap_conf_vector_t *new_conf)
{
    return base;
}

server_rec *fake_server(apr_pool_t *p, const char *hostname, apr_port_t port)
{
    server_rec *s = apr_pcalloc(p, sizeof(*s));

    s->process = apr_pcalloc(p, sizeof(*s->process));
    s->process->pool = s->process->pconf = p;
    s->server_hostname = apr_pstrdup(p, hostname);
    s->port = port;
    s->log.level = APLOG_TRACE8;
    s->module_config = config_vector(p);
    s->lookup_defaults = config_vector(p);
    ap_set_module_config(s->module_config, &authproxy_module,
                         authproxy_module.create_server_config(p, s));
    ap_set_module_config(s->lookup_defaults, &authproxy_module,
                         authproxy_module.create_dir_config(p, NULL));
    return s;
}

void fake_vhost(apr_pool_t *p, server_rec *main_server, server_rec *vhost)
{
    void *main_conf = ap_get_module_config(main_server->module_config, &authproxy_module);
    void *main_dir = ap_get_module_config(main_server->lookup_defaults, &authproxy_module);
    void *conf = ap_get_module_config(vhost->module_config, &authproxy_module);
    void *dir = ap_get_module_config(vhost->lookup_defaults, &authproxy_module);
    server_rec *last = main_server;

    ap_set_module_config(vhost->module_config, &authproxy_module,
                         authproxy_module.merge_server_config(p, main_conf, conf));
    ap_set_module_config(vhost->lookup_defaults, &authproxy_module,
                         authproxy_module.merge_dir_config(p, main_dir, dir));
    vhost->is_virtual = 1;
    while (last->next) {
        last = last->next;
    }
    last->next = vhost;
}

void *fake_location(apr_pool_t *p)
{
    return authproxy_module.create_dir_config(p, "/location");
}

/* httpd's reading of one word of a configuration line: quotes group, a
 * backslash before the quote or a backslash stands for it, and the
 * whitespace after the word is skipped. */
char *ap_getword_conf(apr_pool_t *p, const char **line)
{
    const char *s = *line;
    char quote = 0;
    char *word, *w;

    while (apr_isspace(*s)) {
        s++;
    }
    if (*s == '"' || *s == '\'') {
        quote = *s++;
    }
    w = word = apr_palloc(p, strlen(s) + 1);
    while (*s && (quote ? *s != quote : !apr_isspace(*s))) {
        if (*s == '\\' && (s[1] == '\\' || (quote && s[1] == quote))) {
            s++;
        }
        *w++ = *s++;
    }
    *w = '\0';
    if (quote && *s == quote) {
        s++;
    }
    while (apr_isspace(*s)) {
        s++;
    }
    *line = s;
    return word;
}

static const char *arguments_error(apr_pool_t *p, const command_rec *c, const char *what)
{
    return apr_pstrcat(p, c->name, what, c->errmsg ? ", " : NULL, c->errmsg, NULL);
}

const char *fake_directive(apr_pool_t *p, server_rec *s, void *dconf, int where,
                           const char *line)
{
    const char *name = ap_getword_conf(p, &line), *w, *w2, *w3, *err = NULL;
    const command_rec *c;
    cmd_parms cmd;
    ap_directive_t directive;

    c = authproxy_module.cmds;
    while (c->name && strcasecmp(c->name, name)) {
        c++;
    }
    if (!c->name) {
        return apr_pstrcat(p, "Invalid command '", name, "'", NULL);
    }
    if (!(where & c->req_override)) {
        return apr_pstrcat(p, c->name, " not allowed here", NULL);
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.info = c->cmd_data;
    cmd.override = where;
    cmd.pool = cmd.temp_pool = p;
    cmd.server = s;
    cmd.cmd = c;
    memset(&directive, 0, sizeof(directive));
    directive.directive = name;
    directive.filename = "fake.conf";
    directive.line_num = 1;
    cmd.directive = &directive;
    if (!dconf) {
        dconf = ap_get_module_config(s->lookup_defaults, &authproxy_module);
    }
    switch (c->args_how) {
    case TAKE1:
        w = ap_getword_conf(p, &line);
        return !*w || *line ? arguments_error(p, c, " takes one argument")
                            : c->AP_TAKE1(&cmd, dconf, w);
    case TAKE2:
        w = ap_getword_conf(p, &line);
        w2 = ap_getword_conf(p, &line);
        return !*w || !*w2 || *line ? arguments_error(p, c, " takes two arguments")
                                    : c->AP_TAKE2(&cmd, dconf, w, w2);
    case TAKE13:
        w = ap_getword_conf(p, &line);
        w2 = ap_getword_conf(p, &line);
        w3 = ap_getword_conf(p, &line);
        if (!*w || (*w2 && !*w3) || *line) {
            return arguments_error(p, c, " takes one or three arguments");
        }
        return c->AP_TAKE3(&cmd, dconf, w, *w2 ? w2 : NULL, *w3 ? w3 : NULL);
    case TAKE_ARGV: {
        char *argv[16];
        int argc = 0;

        while (argc < 16 && *(w = ap_getword_conf(p, &line))) {
            argv[argc++] = (char *)w;
        }
        return *line ? arguments_error(p, c, " takes at most 16 arguments")
                     : c->AP_TAKE_ARGV(&cmd, dconf, argc, argv);
    }
    case FLAG:
        w = ap_getword_conf(p, &line);
        if (strcasecmp(w, "on") && strcasecmp(w, "off")) {
            return apr_pstrcat(p, c->name, " must be On or Off", NULL);
        }
        return c->AP_FLAG(&cmd, dconf, strcasecmp(w, "off") != 0);
    case ITERATE:
        if (!*(w = ap_getword_conf(p, &line))) {
            return arguments_error(p, c, " requires at least one argument");
        }
        for (; *w && !err; w = ap_getword_conf(p, &line)) {
            err = c->AP_TAKE1(&cmd, dconf, w);
        }
        return err;
    default:
        return apr_pstrcat(p, c->name, ": its kind of arguments is not faked", NULL);
    }
}

/* Of the contexts, the fake tells .htaccess apart only. */
const char *ap_check_cmd_context(cmd_parms *cmd, unsigned forbidden)
{
    return (forbidden & NOT_IN_HTACCESS) && cmd->override == FAKE_IN_HTACCESS
        ? apr_pstrcat(cmd->pool, cmd->cmd->name, " cannot occur within htaccess files", NULL)
        : NULL;
}

const char *ap_set_flag_slot(cmd_parms *cmd, void *struct_ptr, int arg)
{
    *(int *)((char *)struct_ptr + (apr_uintptr_t)cmd->info) = arg ? 1 : 0;
    return NULL;
}

const char *ap_set_string_slot(cmd_parms *cmd, void *struct_ptr, const char *arg)
{
    *(const char **)((char *)struct_ptr + (apr_uintptr_t)cmd->info) = arg;
    return NULL;
}

char *ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    char *path;

    return apr_filepath_merge(&path, fake_httpd.server_root, fname, APR_FILEPATH_TRUENAME,
                              p) == APR_SUCCESS ? path : NULL;
}

/* Any module named in fake_httpd.linked: the module only asks whether it is. */
module *ap_find_linked_module(const char *name)
{
    static module linked;
    const char *const *m;

    for (m = fake_httpd.linked; m && *m; m++) {
        if (!strcmp(*m, name)) {
            return &linked;
        }
    }
    return NULL;
}

/* The real start: the second pass over the configuration. */
int ap_state_query(int query)
{
    switch (query) {
    case AP_SQ_MAIN_STATE:
        return AP_SQ_MS_CREATE_CONFIG;
    case AP_SQ_RUN_MODE:
        return AP_SQ_RM_NORMAL;
    default:
        return AP_SQ_NOT_SUPPORTED;
    }
}

/* ---- requests ----------------------------------------------------------------- */

static int method_number(const char *method)
{
    static const struct {
        const char *name;
        int number;
    } methods[] = {
        { "GET", M_GET }, { "HEAD", M_GET }, { "POST", M_POST }, { "PUT", M_PUT },
        { "DELETE", M_DELETE }, { "OPTIONS", M_OPTIONS }, { NULL, M_INVALID }
    };
    int i = 0;

    while (methods[i].name && strcmp(methods[i].name, method)) {
        i++;
    }
    return methods[i].number;
}

/* What httpd's ap_parse_uri makes of a request target. */
static void parse_target(request_rec *r, const char *target)
{
    r->unparsed_uri = apr_pstrdup(r->pool, target);
    /* a path, not a network-path reference */
    while (target[0] == '/' && target[1] == '/') {
        target++;
    }
    if (apr_uri_parse(r->pool, target, &r->parsed_uri) != APR_SUCCESS) {
        return;
    }
    if (r->parsed_uri.scheme && !strcasecmp(r->parsed_uri.scheme, ap_http_scheme(r))) {
        r->hostname = r->parsed_uri.hostname;
    }
    r->args = r->parsed_uri.query;
    r->uri = r->parsed_uri.path ? r->parsed_uri.path : apr_pstrdup(r->pool, "/");
}

static request_rec *new_request(conn_rec *c, server_rec *s, void *dconf, const char *method,
                                const char *target)
{
    void *defaults = ap_get_module_config(s->lookup_defaults, &authproxy_module);
    apr_pool_t *p;
    request_rec *r;

    apr_pool_create(&p, c->pool);
    r = apr_pcalloc(p, sizeof(*r));
    r->pool = p;
    r->connection = c;
    r->server = s;
    r->method = method;
    r->method_number = method_number(method);
    r->header_only = !strcmp(method, "HEAD");
    r->headers_in = apr_table_make(p, 8);
    r->headers_out = apr_table_make(p, 8);
    r->err_headers_out = apr_table_make(p, 4);
    r->notes = apr_table_make(p, 4);
    r->subprocess_env = apr_table_make(p, 8);
    r->request_config = config_vector(p);
    r->per_dir_config = config_vector(p);
    ap_set_module_config(r->per_dir_config, &authproxy_module,
                         dconf ? authproxy_module.merge_dir_config(p, defaults, dconf) : defaults);
    ((void **)r->per_dir_config)[CORE_SLOT] = apr_pcalloc(p, sizeof(core_dir_t));
    parse_target(r, target);
    return r;
}

request_rec *fake_request(apr_pool_t *p, server_rec *s, void *dconf, const char *method,
                          const char *target)
{
    conn_rec *c = apr_pcalloc(p, sizeof(*c));

    apr_pool_create(&c->pool, p);
    c->base_server = s;
    c->conn_config = config_vector(c->pool);
    return new_request(c, s, dconf, method, target);
}

request_rec *fake_subrequest(request_rec *r, void *dconf, const char *target)
{
    request_rec *sub = new_request(r->connection, r->server, dconf, "GET", target);

    sub->hostname = r->hostname;
    sub->headers_in = r->headers_in;
    sub->subprocess_env = apr_table_copy(sub->pool, r->subprocess_env);
    sub->main = r;
    return sub;
}

request_rec *fake_internal_redirect(request_rec *r, void *dconf, const char *target)
{
    request_rec *next = new_request(r->connection, r->server, dconf, r->method, target);

    next->headers_in = r->headers_in;
    next->err_headers_out = r->err_headers_out;
    next->hostname = r->hostname;
    next->prev = r;
    r->next = next;
    return next;
}

void fake_auth(request_rec *r, const char *type, const char *name)
{
    core_dir_t *core = ((void **)r->per_dir_config)[CORE_SLOT];

    core->auth_type = type;
    core->auth_name = name;
}

const char *ap_auth_type(request_rec *r)
{
    return ((core_dir_t *)((void **)r->per_dir_config)[CORE_SLOT])->auth_type;
}

const char *ap_auth_name(request_rec *r)
{
    return ((core_dir_t *)((void **)r->per_dir_config)[CORE_SLOT])->auth_name;
}

/* UseCanonicalName Off: the client's name for the server, else ServerName. */
const char *ap_get_server_name(request_rec *r)
{
    return r->hostname ? r->hostname : r->server->server_hostname;
}

apr_port_t ap_get_server_port(const request_rec *r)
{
    return r->parsed_uri.port_str ? r->parsed_uri.port
           : r->server->port ? r->server->port : ap_default_port(r);
}

/* No mod_ssl here: every connection is plain http. */
const char *ap_run_http_scheme(const request_rec *r)
{
    return "http";
}

apr_port_t ap_run_default_port(const request_rec *r)
{
    return 80;
}

apr_socket_t *ap_get_conn_socket(conn_rec *c)
{
    return NULL;
}

/* The auth_checker hooks: the module's own first (it runs this very
 * evaluation, and must stand aside while it does), then mod_authz_core's
 * verdict. */
int ap_run_auth_checker(request_rec *r)
{
    int status = fake_httpd.check_authz(r);

    return status != DECLINED ? status : fake_httpd.require_status;
}

/* The note_auth_failure hooks for the request's AuthType: the module's is
 * the only one here. */
void ap_note_auth_failure(request_rec *r)
{
    fake_httpd.note_auth_failure(r, ap_auth_type(r));
}

/* ---- strings and regular expressions ------------------------------------------ */

/* The same escapes as httpd's (and APR's): all but letters, digits and
 * ".-*_", lower-case hex, space as '+'. */
char *ap_escape_urlencoded(apr_pool_t *p, const char *s)
{
    return apr_pstrdup(p, apr_pescape_urlencoded(p, s));
}

char *ap_strcasestr(const char *s1, const char *s2)
{
    apr_size_t len = strlen(s2);

    for (;; s1++) {
        if (!strncasecmp(s1, s2, len)) {
            return (char *)s1;
        }
        if (!*s1) {
            return NULL;
        }
    }
}

void ap_str_tolower(char *s)
{
    for (; *s; s++) {
        *s = (char)apr_tolower(*s);
    }
}

/* 0 when `str` matches the wildcard pattern ('*', '?'), ignoring case. */
int ap_strcasecmp_match(const char *str, const char *expected)
{
    for (; *expected; str++, expected++) {
        if (*expected == '*') {
            for (; *str; str++) {
                if (!ap_strcasecmp_match(str, expected + 1)) {
                    return 0;
                }
            }
            return ap_strcasecmp_match(str, expected + 1);
        }
        if (!*str || (*expected != '?' && apr_tolower(*str) != apr_tolower(*expected))) {
            return 1;
        }
    }
    return *str != '\0';
}

static apr_status_t free_regex(void *data)
{
    regfree(data);
    return APR_SUCCESS;
}

/* httpd compiles with PCRE; POSIX extended expressions are the same for the
 * patterns these tests use. The module passes AP_REG_EXTENDED (0) only. */
ap_regex_t *ap_pregcomp(apr_pool_t *p, const char *pattern, int cflags)
{
    ap_regex_t *preg = apr_pcalloc(p, sizeof(*preg));
    regex_t *re = apr_pcalloc(p, sizeof(*re));

    if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        return NULL;
    }
    apr_pool_cleanup_register(p, re, free_regex, apr_pool_cleanup_null);
    preg->re_pcre = re;
    preg->re_nsub = re->re_nsub;
    return preg;
}

/* Without captures, which the module never asks for. */
int ap_regexec(const ap_regex_t *preg, const char *string, apr_size_t nmatch,
               ap_regmatch_t *pmatch, int eflags)
{
    return regexec(preg->re_pcre, string, 0, NULL, 0) == 0 ? 0 : AP_REG_NOMATCH;
}

/* Without captures (ap_regexec above sets none): the substitution as it is,
 * but for the length limit httpd's applies. */
apr_status_t ap_pregsub_ex(apr_pool_t *p, char **result, const char *input,
                           const char *source, apr_size_t nmatch, ap_regmatch_t pmatch[],
                           apr_size_t maxlen)
{
    if (strlen(input) >= maxlen) {
        *result = NULL;
        return APR_ENOMEM;
    }
    *result = apr_pstrdup(p, input);
    return APR_SUCCESS;
}
