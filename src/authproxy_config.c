/* SPDX-License-Identifier: Apache-2.0 */
/* Server configuration: create, merge, directive handlers, startup checks. */
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <http_core.h>

#include "authproxy.h"
#include "authproxy_config.h"
#include "authproxy_origin.h"

const char *authproxy_local_path(const authproxy_server_conf *conf)
{
    return conf->local_path ? conf->local_path : AUTHPROXY_DEFAULT_LOCAL_PATH;
}

const char *authproxy_target_path(const authproxy_server_conf *conf)
{
    return conf->target_path ? conf->target_path : authproxy_local_path(conf);
}

int authproxy_timeout(const authproxy_server_conf *conf)
{
    return conf->timeout != AUTHPROXY_UNSET ? conf->timeout : AUTHPROXY_DEFAULT_TIMEOUT;
}

int authproxy_preserve_host(const authproxy_server_conf *conf)
{
    return conf->preserve_host == 1;
}

const char *authproxy_cookie_name(const authproxy_server_conf *conf)
{
    return conf->cookie_name ? conf->cookie_name : AUTHPROXY_DEFAULT_COOKIE;
}

int authproxy_strategy(const authproxy_server_conf *conf)
{
    return conf->strategy != AUTHPROXY_UNSET ? conf->strategy : AUTHPROXY_STRATEGY_JWT;
}

const char *authproxy_cache_spec(const authproxy_server_conf *conf)
{
    return conf->cache_spec ? conf->cache_spec : AUTHPROXY_DEFAULT_CACHE;
}

int authproxy_cache_ttl(const authproxy_server_conf *conf)
{
    return conf->cache_ttl != AUTHPROXY_UNSET ? conf->cache_ttl : AUTHPROXY_DEFAULT_CACHE_TTL;
}

int authproxy_session_refresh(const authproxy_server_conf *conf)
{
    return conf->refresh != AUTHPROXY_UNSET ? conf->refresh : 0;
}

int authproxy_metrics_scope(const authproxy_server_conf *conf)
{
    return conf->metrics_scope != AUTHPROXY_UNSET ? conf->metrics_scope : AUTHPROXY_METRICS_VHOST;
}

int authproxy_revocation(const authproxy_server_conf *conf)
{
    return conf->revocation == 1;
}

int authproxy_revocation_unavailable(const authproxy_server_conf *conf)
{
    return conf->revocation_unavailable != AUTHPROXY_UNSET ? conf->revocation_unavailable
                                                           : AUTHPROXY_UNAVAILABLE_OPEN;
}

int authproxy_signin_limit(const authproxy_server_conf *conf)
{
    return conf->signin_limit != AUTHPROXY_UNSET ? conf->signin_limit : 0;
}

int authproxy_signin_ban(const authproxy_server_conf *conf)
{
    return conf->signin_ban != AUTHPROXY_UNSET ? conf->signin_ban : conf->signin_period;
}

int authproxy_cache_negative_ttl(const authproxy_server_conf *conf)
{
    return conf->cache_negative_ttl != AUTHPROXY_UNSET ? conf->cache_negative_ttl
                                                        : AUTHPROXY_DEFAULT_CACHE_NEGATIVE_TTL;
}

int authproxy_unauth_action(const authproxy_dir_conf *dconf)
{
    return dconf->unauth_action != AUTHPROXY_UNSET ? dconf->unauth_action
                                                   : AUTHPROXY_UNAUTH_REDIRECT;
}

int authproxy_preflight(const authproxy_dir_conf *dconf)
{
    return dconf->preflight != AUTHPROXY_UNSET ? dconf->preflight : AUTHPROXY_PREFLIGHT_PASS;
}

int authproxy_trace_mode(const authproxy_server_conf *conf)
{
    return conf->trace_mode != AUTHPROXY_UNSET ? conf->trace_mode : AUTHPROXY_TRACE_OFF;
}

const char *authproxy_remote_user_claim(const authproxy_dir_conf *dconf)
{
    return dconf->remote_user_claim ? dconf->remote_user_claim : "email";
}

int authproxy_header_encoding(const authproxy_dir_conf *dconf)
{
    return dconf->header_encoding != AUTHPROXY_UNSET ? dconf->header_encoding
                                                     : AUTHPROXY_ENCODING_RAW;
}

int authproxy_pass_headers(const authproxy_dir_conf *dconf)
{
    return dconf->pass_headers == 1;
}

int authproxy_pass_token(const authproxy_dir_conf *dconf)
{
    return dconf->pass_token == 1;
}

int authproxy_strip_cookie(const authproxy_dir_conf *dconf)
{
    return dconf->strip_cookie == 1;
}

int authproxy_bearer(const authproxy_dir_conf *dconf)
{
    return dconf->bearer == 1;
}

int authproxy_strip_bearer(const authproxy_dir_conf *dconf)
{
    return dconf->strip_bearer == 1;
}

int authproxy_assertion(const authproxy_dir_conf *dconf)
{
    return dconf->assertion == 1;
}

int authproxy_assertion_lifetime(const authproxy_server_conf *conf)
{
    return conf->assertion_lifetime != AUTHPROXY_UNSET ? conf->assertion_lifetime
                                                       : AUTHPROXY_MAX_ASSERTION_LIFETIME;
}

int authproxy_session_enabled(const request_rec *r)
{
    /* this module's handlers (authproxy-health, -metrics, -jwks, -revoke)
     * answer machines, not visitors, whatever cookie they carry */
    return authproxy_sconf(r->server)->upstream && authproxy_dconf(r)->session != 0
           && !(r->handler && !strncmp(r->handler, "authproxy-", sizeof("authproxy-") - 1));
}

void *authproxy_create_server_conf(apr_pool_t *p, server_rec *s)
{
    authproxy_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->timeout = AUTHPROXY_UNSET;
    conf->preserve_host = AUTHPROXY_UNSET;
    conf->strategy = AUTHPROXY_UNSET;
    conf->cache_ttl = AUTHPROXY_UNSET;
    conf->cache_negative_ttl = AUTHPROXY_UNSET;
    conf->refresh = AUTHPROXY_UNSET;
    conf->metrics_scope = AUTHPROXY_UNSET;
    conf->revocation = AUTHPROXY_UNSET;
    conf->revocation_unavailable = AUTHPROXY_UNSET;
    conf->assertion_lifetime = AUTHPROXY_UNSET;
    conf->trace_mode = AUTHPROXY_UNSET;
    conf->signin_limit = AUTHPROXY_UNSET;
    conf->signin_ban = AUTHPROXY_UNSET;
    return conf;
}

void *authproxy_create_dir_conf(apr_pool_t *p, char *dir)
{
    authproxy_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->session = AUTHPROXY_UNSET;
    conf->pass_headers = AUTHPROXY_UNSET;
    conf->pass_token = AUTHPROXY_UNSET;
    conf->strip_cookie = AUTHPROXY_UNSET;
    conf->bearer = AUTHPROXY_UNSET;
    conf->strip_bearer = AUTHPROXY_UNSET;
    conf->unauth_action = AUTHPROXY_UNSET;
    conf->preflight = AUTHPROXY_UNSET;
    conf->header_encoding = AUTHPROXY_UNSET;
    conf->assertion = AUTHPROXY_UNSET;
    return conf;
}

#define MERGE_PTR(field) MERGE_PTR_FROM(base, field)
#define MERGE_INT(field) MERGE_INT_FROM(base, field)
#define MERGE_PTR_FROM(parent, field) (add->field ? add->field : (parent)->field)
#define MERGE_INT_FROM(parent, field) \
    (add->field != AUTHPROXY_UNSET ? add->field : (parent)->field)

/* A VirtualHost that sets its own upstream or target prefix names another
 * Auth.js deployment than the main server's. */
static int names_own_deployment(const authproxy_server_conf *add)
{
    return add->upstream || add->target_path;
}

void *authproxy_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const authproxy_server_conf *base = basev, *add = addv;
    authproxy_server_conf *conf = apr_pcalloc(p, sizeof(*conf));
    /* One deployment's settings are inherited together or not at all: the
     * main server's secret would accept its tokens here, its API key and
     * public origin would go to another upstream. A VirtualHost that names
     * its own deployment is its own parent for them (so each takes its
     * default unless set here); the upstream origin alone is kept for a
     * VirtualHost that names another prefix on it. */
    const authproxy_server_conf *deployment = names_own_deployment(add) ? add : base;
    /* one directive's settings, taken together */
    const authproxy_server_conf *limit = add->signin_limit != AUTHPROXY_UNSET ? add : base;

    if (add->upstream) {
        conf->upstream = add->upstream;
        conf->upstream_host = add->upstream_host;
        conf->upstream_is_tls = add->upstream_is_tls;
    }
    else {
        conf->upstream = base->upstream;
        conf->upstream_host = base->upstream_host;
        conf->upstream_is_tls = base->upstream_is_tls;
    }
    conf->own_deployment = names_own_deployment(add);
    conf->local_path = MERGE_PTR(local_path);
    conf->target_path = MERGE_PTR_FROM(deployment, target_path);
    conf->headers = MERGE_PTR_FROM(deployment, headers);
    conf->timeout = MERGE_INT(timeout);
    conf->preserve_host = MERGE_INT(preserve_host);
    conf->cookie_name = MERGE_PTR_FROM(deployment, cookie_name);
    conf->secrets = MERGE_PTR_FROM(deployment, secrets);
    conf->strategy = MERGE_INT_FROM(deployment, strategy);
    conf->ca_file = MERGE_PTR_FROM(deployment, ca_file);
    conf->cache_spec = MERGE_PTR(cache_spec);
    conf->cache_ttl = MERGE_INT(cache_ttl);
    conf->cache_negative_ttl = MERGE_INT(cache_negative_ttl);
    conf->public_origin = MERGE_PTR_FROM(deployment, public_origin);
    conf->refresh = MERGE_INT(refresh);
    conf->metrics_scope = MERGE_INT(metrics_scope);
    conf->revocation = MERGE_INT(revocation);
    conf->revocation_unavailable = MERGE_INT(revocation_unavailable);
    conf->assertion_keys = MERGE_PTR(assertion_keys);
    conf->assertion_lifetime = MERGE_INT(assertion_lifetime);
    conf->trace_mode = MERGE_INT(trace_mode);
    conf->signin_limit = limit->signin_limit;
    conf->signin_period = limit->signin_period;
    conf->signin_ban = limit->signin_ban;
    conf->signin_by = limit->signin_by;
    conf->assertion_on_at = MERGE_PTR(assertion_on_at);
    return conf;
}

/* The parent's entries, then the child's; either alone as it is. */
static apr_array_header_t *append(apr_pool_t *p, apr_array_header_t *parent,
                                  apr_array_header_t *child)
{
    if (!parent || !child) {
        return child ? child : parent;
    }
    return apr_array_append(p, parent, child);
}

void *authproxy_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const authproxy_dir_conf *base = basev, *add = addv;
    authproxy_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->session = MERGE_INT(session);
    conf->pass_headers = MERGE_INT(pass_headers);
    conf->pass_token = MERGE_INT(pass_token);
    conf->strip_cookie = MERGE_INT(strip_cookie);
    conf->bearer = MERGE_INT(bearer);
    conf->strip_bearer = MERGE_INT(strip_bearer);
    conf->unauth_action = MERGE_INT(unauth_action);
    conf->preflight = MERGE_INT(preflight);
    /* the claim and the part taken of it go together */
    conf->remote_user_claim = MERGE_PTR(remote_user_claim);
    conf->remote_user_regex = add->remote_user_claim ? add->remote_user_regex
                                                     : base->remote_user_regex;
    conf->remote_user_subst = add->remote_user_claim ? add->remote_user_subst
                                                     : base->remote_user_subst;
    /* a directory's entries come after those it inherits: its own decide
     * (the last match wins), and an inherited header is never left to the
     * client */
    conf->publish_claims = append(p, base->publish_claims, add->publish_claims);
    conf->claim_headers = append(p, base->claim_headers, add->claim_headers);
    conf->header_encoding = MERGE_INT(header_encoding);
    conf->assertion = MERGE_INT(assertion);
    conf->assertion_audience = MERGE_PTR(assertion_audience);
    return conf;
}

static const char *cmd_upstream(cmd_parms *cmd, void *dconf, const char *arg)
{
    authproxy_server_conf *conf = authproxy_sconf(cmd->server);
    apr_uri_t uri;
    int is_http, is_https;

    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute http:// or https:// URL",
                            cmd->cmd->name, arg);
    }
    is_http = !strcasecmp(uri.scheme, "http");
    is_https = !strcasecmp(uri.scheme, "https");
    if (!is_http && !is_https) {
        return apr_psprintf(cmd->pool, "%s: '%s' has the scheme '%s'; only http and https "
                            "are supported", cmd->cmd->name, arg, uri.scheme);
    }
    if (!uri.hostname || !*uri.hostname) {
        return apr_psprintf(cmd->pool, "%s: '%s' names no host", cmd->cmd->name, arg);
    }
    if (uri.user || uri.password) {
        return apr_psprintf(cmd->pool, "%s: '%s' carries credentials; send them with %s "
                            "instead", cmd->cmd->name, arg, AUTHPROXY_DIR_HEADER);
    }
    if (uri.query || uri.fragment) {
        return apr_psprintf(cmd->pool, "%s: '%s' has a query or fragment; give the origin "
                            "only (scheme://host[:port])", cmd->cmd->name, arg);
    }
    if (uri.path && *uri.path && strcmp(uri.path, "/") != 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' has the path '%s'; give the origin only "
                            "(scheme://host[:port]) and set the upstream prefix with %s %s",
                            cmd->cmd->name, arg, uri.path, AUTHPROXY_DIR_TARGET_PATH,
                            authproxy_path_normalize(cmd->pool, uri.path));
    }
    if (uri.port_str && (!*uri.port_str || uri.port == 0)) {
        return apr_psprintf(cmd->pool, "%s: '%s' has an invalid port", cmd->cmd->name, arg);
    }
    conf->upstream = apr_pstrcat(cmd->pool, is_https ? "https" : "http", "://",
                                 uri.hostinfo, NULL);
    ap_str_tolower((char *)conf->upstream);
    conf->upstream_host = apr_pstrdup(cmd->pool, uri.hostname);
    conf->upstream_is_tls = is_https;
    return NULL;
}

static const char *cmd_public_origin(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_uri_t uri;

    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme
        || (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https"))) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an http:// or https:// origin",
                            cmd->cmd->name, arg);
    }
    if (!uri.hostname || !*uri.hostname || uri.user || uri.password || uri.query
        || uri.fragment || (uri.path && *uri.path && strcmp(uri.path, "/") != 0)
        || (uri.port_str && (!*uri.port_str || uri.port == 0))) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be an origin only: scheme://host[:port], "
                            "no path, query or credentials", cmd->cmd->name, arg);
    }
    authproxy_sconf(cmd->server)->public_origin =
        authproxy_origin_make(cmd->pool, uri.scheme, uri.hostname, uri.port);
    return NULL;
}

static const char *check_path(cmd_parms *cmd, const char *arg, const char **out)
{
    if (!authproxy_path_is_clean(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a plain URL path (no spaces, control "
                            "characters, '?', '#', '.' or '..' segments)", cmd->cmd->name, arg);
    }
    *out = authproxy_path_normalize(cmd->pool, arg);
    return NULL;
}

static const char *cmd_local_path(cmd_parms *cmd, void *dconf, const char *arg)
{
    return check_path(cmd, arg, &authproxy_sconf(cmd->server)->local_path);
}

static const char *cmd_target_path(cmd_parms *cmd, void *dconf, const char *arg)
{
    return check_path(cmd, arg, &authproxy_sconf(cmd->server)->target_path);
}

static const char *cmd_header(cmd_parms *cmd, void *dconf, const char *name,
                              const char *value)
{
    authproxy_server_conf *conf = authproxy_sconf(cmd->server);
    authproxy_header_t *h;

    if (!authproxy_header_name_valid(name)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid header name",
                            cmd->cmd->name, name);
    }
    if (authproxy_header_is_reserved(name)) {
        return apr_psprintf(cmd->pool, "%s: the header '%s' describes the connection or the "
                            "message framing and cannot be set", cmd->cmd->name, name);
    }
    if (!authproxy_header_value_valid(value)) {
        return apr_psprintf(cmd->pool, "%s %s: the value holds a control character "
                            "(CR, LF, NUL, ...)", cmd->cmd->name, name);
    }
    if (!conf->headers) {
        conf->headers = apr_array_make(cmd->pool, 2, sizeof(authproxy_header_t));
    }
    h = apr_array_push(conf->headers);
    h->name = name;
    h->value = value;
    return NULL;
}

/* A whole number of seconds from min to max, or an error naming the directive. */
static const char *seconds(cmd_parms *cmd, const char *arg, int min, int max, int *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (end == arg || *end || n < min || n > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole number of seconds from %d "
                            "to %d", cmd->cmd->name, arg, min, max);
    }
    *out = (int)n;
    return NULL;
}

static const char *cmd_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    return seconds(cmd, arg, 1, AUTHPROXY_MAX_TIMEOUT, &authproxy_sconf(cmd->server)->timeout);
}

static const char *cmd_preserve_host(cmd_parms *cmd, void *dconf, int flag)
{
    authproxy_sconf(cmd->server)->preserve_host = flag;
    return NULL;
}

static const char *cmd_cookie_name(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (!authproxy_header_name_valid(arg) || strchr(arg, '=')) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid cookie name",
                            cmd->cmd->name, arg);
    }
    authproxy_sconf(cmd->server)->cookie_name = arg;
    return NULL;
}

/* Startup runs the configuration twice; say warnings once (or under -t). */
static int should_warn(void)
{
    return ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL
           || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
}

/* A secret file holds the secret alone: larger ones are refused. */
#define SECRET_FILE_MAX 4096

/* The secret in a file, without its trailing line end: never echoed back. */
static const char *read_secret_file(cmd_parms *cmd, const char *path, const char **secret)
{
    const char *full = ap_server_root_relative(cmd->pool, path);
    apr_file_t *file;
    char buf[SECRET_FILE_MAX + 1];
    apr_size_t len = 0;
    apr_status_t rv;

    if (!full) {
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'", cmd->cmd->name, path);
    }
    rv = apr_file_open(&file, full, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(file, buf, sizeof(buf) - 1, &len);
        apr_file_close(file);
        rv = (rv == APR_EOF) ? APR_SUCCESS : rv;
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot read file:%s: %pm",
                            cmd->cmd->name, full, &rv);
    }
    if (len == sizeof(buf) - 1) {
        return apr_psprintf(cmd->pool, "%s: file:%s is larger than %d KiB; it should hold "
                            "only the secret", cmd->cmd->name, full, SECRET_FILE_MAX / 1024);
    }
    while (len > 0 && apr_isspace(buf[len - 1])) {
        len--;
    }
    if (len == 0 || memchr(buf, '\0', len)) {
        return apr_psprintf(cmd->pool, "%s: file:%s holds no usable secret (empty, or a "
                            "NUL byte)", cmd->cmd->name, full);
    }
    *secret = apr_pstrmemdup(cmd->pool, buf, len);
    memset(buf, 0, sizeof(buf));
    return NULL;
}

static const char *cmd_secret(cmd_parms *cmd, void *dconf, const char *arg)
{
    authproxy_server_conf *conf = authproxy_sconf(cmd->server);
    const char *secret = arg, *err, *in, *what;
    const char *file = cmd->directive ? cmd->directive->filename : "-";
    int line = cmd->directive ? cmd->directive->line_num : 0;

    if (!strncmp(arg, "file:", 5) && (err = read_secret_file(cmd, arg + 5, &secret))) {
        return err;
    }
    if (!*secret) {
        return apr_psprintf(cmd->pool, "%s: a secret cannot be empty", cmd->cmd->name);
    }
    /* a file's secret is named by its path, any other by its place */
    in = secret == arg ? "" : "in ";
    what = secret == arg ? "given" : arg;
    if ((err = authjs_secret_weakness(secret)) && should_warn()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server, AUTHPROXY_LOGNO(069)
                     "%s (%s:%d): the secret %s%s %s: whoever guesses it can make session "
                     "tokens; make one of at least %d random bytes (as npx auth secret or "
                     "openssl rand -base64 33 do) and set it on the upstream and here",
                     cmd->cmd->name, file, line, in, what, err, AUTHJS_SECRET_MIN_LEN);
    }
    if ((err = authjs_secret_misshapen(secret)) && should_warn()) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server, AUTHPROXY_LOGNO(074)
                     "%s (%s:%d): the secret %s%s %s: it is taken whole, so no token the "
                     "upstream makes with the value alone decodes here; give the value alone",
                     cmd->cmd->name, file, line, in, what, err);
    }
    if (!conf->secrets) {
        conf->secrets = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->secrets, const char *) = secret;
    return NULL;
}

/* The keyword `arg` names, as its place in `words` (the enum's order), or an
 * error naming the directive and what it takes (`expected`). */
static const char *one_of(cmd_parms *cmd, const char *arg, const char *const *words,
                          const char *expected, int *out)
{
    int i;

    for (i = 0; words[i]; i++) {
        if (!strcasecmp(arg, words[i])) {
            *out = i;
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "%s: '%s' is %s", cmd->cmd->name, arg, expected);
}

static const char *cmd_strategy(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_strategy_e */
    static const char *const words[] = { "jwt", "database", NULL };

    return one_of(cmd, arg, words, "neither jwt nor database",
                  &authproxy_sconf(cmd->server)->strategy);
}

static const char *cmd_ca_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_finfo_t finfo;

    if (!path || apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a readable file",
                            cmd->cmd->name, arg);
    }
    authproxy_sconf(cmd->server)->ca_file = path;
    return NULL;
}

static const char *cmd_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *name = arg, *colon = ap_strchr_c(arg, ':');

    if (colon) {
        name = apr_pstrmemdup(cmd->temp_pool, arg, colon - arg);
    }
    if (strcasecmp(arg, "none") != 0 && !*name) {
        return apr_psprintf(cmd->pool, "%s: '%s' names no cache provider", cmd->cmd->name, arg);
    }
    authproxy_sconf(cmd->server)->cache_spec = arg;
    return NULL;
}

static const char *cmd_cache_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    return seconds(cmd, arg, 1, AUTHPROXY_MAX_CACHE_TTL, &authproxy_sconf(cmd->server)->cache_ttl);
}

static const char *cmd_session_refresh(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (!strcasecmp(arg, "Off")) {
        authproxy_sconf(cmd->server)->refresh = 0;
        return NULL;
    }
    if (seconds(cmd, arg, 1, AUTHPROXY_MAX_REFRESH, &authproxy_sconf(cmd->server)->refresh)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is neither Off nor a whole number of seconds "
                            "from 1 to %d", cmd->cmd->name, arg, AUTHPROXY_MAX_REFRESH);
    }
    return NULL;
}

static const char *cmd_cache_negative_ttl(cmd_parms *cmd, void *dconf, const char *arg)
{
    return seconds(cmd, arg, 0, AUTHPROXY_MAX_CACHE_TTL,
                   &authproxy_sconf(cmd->server)->cache_negative_ttl);
}

static const char *cmd_metrics_scope(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_metrics_scope_e */
    static const char *const words[] = { "vhost", "all", NULL };

    return one_of(cmd, arg, words, "neither vhost nor all",
                  &authproxy_sconf(cmd->server)->metrics_scope);
}

static const char *cmd_revocation(cmd_parms *cmd, void *dconf, int flag)
{
    authproxy_sconf(cmd->server)->revocation = flag;
    return NULL;
}

static const char *cmd_revocation_unavailable(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_unavailable_e */
    static const char *const words[] = { "open", "closed", NULL };

    return one_of(cmd, arg, words, "neither open nor closed",
                  &authproxy_sconf(cmd->server)->revocation_unavailable);
}

/* AuthProxySignInLimit N PERIOD [ban SECONDS] [by ip|user|both], or Off. */
static const char *cmd_signin_limit(cmd_parms *cmd, void *dconf, int argc, char *const argv[])
{
    /* authproxy_signin_by_e */
    static const char *const words[] = { "ip", "user", "both", NULL };
    authproxy_server_conf *conf = authproxy_sconf(cmd->server);
    int i, j, ban = AUTHPROXY_UNSET, by = AUTHPROXY_SIGNIN_BY_IP, limit, period;
    const char *err;

    if (argc == 1 && !strcasecmp(argv[0], "Off")) {
        conf->signin_limit = 0;
        return NULL;
    }
    if (argc < 2) {
        return apr_psprintf(cmd->pool, "%s: give N PERIOD [ban SECONDS] [by ip|user|both], "
                            "or Off", cmd->cmd->name);
    }
    if (seconds(cmd, argv[0], 1, AUTHPROXY_MAX_SIGNIN_LIMIT, &limit)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of failed sign-ins from 1 "
                            "to %d", cmd->cmd->name, argv[0], AUTHPROXY_MAX_SIGNIN_LIMIT);
    }
    if ((err = seconds(cmd, argv[1], 1, AUTHPROXY_MAX_SIGNIN_SECONDS, &period))) {
        return err;
    }
    for (i = 2; i < argc; i += 2) {
        if (i + 1 == argc) {
            return apr_psprintf(cmd->pool, "%s: '%s' wants a value after it", cmd->cmd->name,
                                argv[i]);
        }
        /* "by user ... by ip" would quietly be the last */
        for (j = 2; j < i; j += 2) {
            if (!strcasecmp(argv[i], argv[j])) {
                return apr_psprintf(cmd->pool, "%s: '%s' is given twice", cmd->cmd->name,
                                    argv[i]);
            }
        }
        if (!strcasecmp(argv[i], "ban")) {
            err = seconds(cmd, argv[i + 1], 1, AUTHPROXY_MAX_SIGNIN_SECONDS, &ban);
        }
        else if (!strcasecmp(argv[i], "by")) {
            err = one_of(cmd, argv[i + 1], words, "not ip, user or both", &by);
        }
        else {
            err = apr_psprintf(cmd->pool, "%s: '%s' is neither ban nor by", cmd->cmd->name,
                               argv[i]);
        }
        if (err) {
            return err;
        }
    }
    conf->signin_limit = limit;
    conf->signin_period = period;
    conf->signin_ban = ban;
    conf->signin_by = by;
    return NULL;
}

static const char *cmd_assertion(cmd_parms *cmd, void *dconf, int flag)
{
    authproxy_server_conf *conf = authproxy_sconf(cmd->server);

    ((authproxy_dir_conf *)dconf)->assertion = flag;
    /* .htaccess is read per request: its server's keys are checked at startup */
    if (flag && !conf->assertion_on_at && !ap_check_cmd_context(cmd, NOT_IN_HTACCESS)) {
        conf->assertion_on_at = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                             cmd->directive->line_num);
    }
    return NULL;
}

/* Read at startup (authproxy_assertion_check_config), as root: the path only here. */
static const char *cmd_assertion_key(cmd_parms *cmd, void *dconf, const char *arg)
{
    authproxy_server_conf *conf = authproxy_sconf(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path) {
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'", cmd->cmd->name, arg);
    }
    if (!conf->assertion_keys) {
        conf->assertion_keys = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(conf->assertion_keys, const char *) = path;
    return NULL;
}

static const char *cmd_assertion_lifetime(cmd_parms *cmd, void *dconf, const char *arg)
{
    return seconds(cmd, arg, 1, AUTHPROXY_MAX_ASSERTION_LIFETIME,
                   &authproxy_sconf(cmd->server)->assertion_lifetime);
}

static const char *cmd_assertion_audience(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (!*arg || !authproxy_header_value_valid(arg)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is empty or holds control characters",
                            cmd->cmd->name, arg);
    }
    ((authproxy_dir_conf *)dconf)->assertion_audience = arg;
    return NULL;
}

static const char *cmd_unauth_action(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_unauth_e */
    static const char *const words[] = { "redirect", "401", "pass", NULL };

    return one_of(cmd, arg, words, "not redirect, 401 or pass",
                  &((authproxy_dir_conf *)dconf)->unauth_action);
}

static const char *cmd_preflight(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_preflight_e */
    static const char *const words[] = { "pass", "auth", NULL };

    return one_of(cmd, arg, words, "neither pass nor auth",
                  &((authproxy_dir_conf *)dconf)->preflight);
}

static const char *cmd_trace_parent(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_trace_e */
    static const char *const words[] = { "off", "propagate", "generate", NULL };

    return one_of(cmd, arg, words, "not off, propagate or generate",
                  &authproxy_sconf(cmd->server)->trace_mode);
}

/* What is wrong with a substitution for a regular expression of `groups`
 * groups (ap_pregsub's $0 to $9 and \\0 to \\9): naming a group the
 * expression lacks; NULL when nothing. (httpd refuses an empty one: a
 * TAKE13 directive's third argument is never empty.) */
static const char *substitution_fault(const char *subst, apr_size_t groups)
{
    const char *c;

    for (c = subst; *c; c++) {
        if ((*c == '$' || *c == '\\') && apr_isdigit(c[1])) {
            if ((apr_size_t)(c[1] - '0') > groups) {
                return "names a group the expression does not have";
            }
            c++;
        }
        else if (*c == '\\' && c[1]) {
            c++;
        }
    }
    return NULL;
}

static const char *cmd_remote_user_claim(cmd_parms *cmd, void *dconfv, const char *claim,
                                         const char *regex, const char *subst)
{
    authproxy_dir_conf *dconf = dconfv;
    ap_regex_t *compiled = NULL;
    const char *why;

    if (!*claim) {
        return apr_psprintf(cmd->pool, "%s: the claim's name is empty", cmd->cmd->name);
    }
    if (regex && !subst) {
        return apr_psprintf(cmd->pool, "%s %s %s: give the substitution too (CLAIM REGEX "
                            "SUBSTITUTION, e.g. $1)", cmd->cmd->name, claim, regex);
    }
    if (regex && !(compiled = ap_pregcomp(cmd->pool, regex, AP_REG_EXTENDED))) {
        return apr_psprintf(cmd->pool, "%s %s: '%s' is not a valid regular expression",
                            cmd->cmd->name, claim, regex);
    }
    if (compiled && (why = substitution_fault(subst, compiled->re_nsub))) {
        return apr_psprintf(cmd->pool, "%s %s %s: the substitution '%s' %s: every user would "
                            "get 403", cmd->cmd->name, claim, regex, subst, why);
    }
    dconf->remote_user_claim = claim;
    dconf->remote_user_regex = compiled;
    dconf->remote_user_subst = regex ? subst : NULL;
    return NULL;
}

static const char *cmd_publish_claims(cmd_parms *cmd, void *dconfv, const char *arg)
{
    authproxy_dir_conf *dconf = dconfv;
    authproxy_claim_rule_t *rule;

    if ((arg[0] != '+' && arg[0] != '-') || !arg[1]) {
        return apr_psprintf(cmd->pool, "%s: '%s' is neither +NAME (publish) nor -NAME "
                            "(withhold); NAME may be a shell-style pattern", cmd->cmd->name, arg);
    }
    if (!dconf->publish_claims) {
        dconf->publish_claims = apr_array_make(cmd->pool, 4, sizeof(authproxy_claim_rule_t));
    }
    rule = apr_array_push(dconf->publish_claims);
    rule->publish = arg[0] == '+';
    rule->pattern = arg + 1;
    return NULL;
}

static const char *cmd_claim_header(cmd_parms *cmd, void *dconfv, const char *name,
                                    const char *claim)
{
    authproxy_dir_conf *dconf = dconfv;
    authproxy_claim_header_t *h;
    char *dashed, *c;

    if (!authproxy_header_name_valid(name)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid header name",
                            cmd->cmd->name, name);
    }
    dashed = apr_pstrdup(cmd->temp_pool, name);
    for (c = dashed; *c; c++) {
        *c = *c == '_' ? '-' : *c;
    }
    if (authproxy_header_is_reserved(dashed) || authproxy_header_is_authjs(name)
        || authproxy_header_same(name, "Cookie") || authproxy_header_same(name, "Authorization")
        || authproxy_header_same(name, "Proxy-Authorization")) {
        return apr_psprintf(cmd->pool, "%s: the header '%s' cannot be set from a claim (it "
                            "describes the connection or the message, is this module's "
                            "X-Authjs-*, or carries credentials)", cmd->cmd->name, name);
    }
    if (!*claim) {
        return apr_psprintf(cmd->pool, "%s %s: the claim's name is empty", cmd->cmd->name, name);
    }
    if (!dconf->claim_headers) {
        dconf->claim_headers = apr_array_make(cmd->pool, 2, sizeof(authproxy_claim_header_t));
    }
    h = apr_array_push(dconf->claim_headers);
    h->name = name;
    h->claim = claim;
    return NULL;
}

static const char *cmd_header_encoding(cmd_parms *cmd, void *dconf, const char *arg)
{
    /* authproxy_encoding_e */
    static const char *const words[] = { "raw", "base64url", NULL };

    return one_of(cmd, arg, words, "neither raw nor base64url",
                  &((authproxy_dir_conf *)dconf)->header_encoding);
}

/* The module record takes this table; the handlers above are its only users. */
const command_rec authproxy_cmds[] = {
    AP_INIT_TAKE1(AUTHPROXY_DIR_UPSTREAM, cmd_upstream, NULL, RSRC_CONF,
                  "Origin (http[s]://host[:port]) of the upstream Auth.js server; "
                  "turns the module on for this server"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_LOCAL_PATH, cmd_local_path, NULL, RSRC_CONF,
                  "Local prefix of the Auth.js routes (default " AUTHPROXY_DEFAULT_LOCAL_PATH ")"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_TARGET_PATH, cmd_target_path, NULL, RSRC_CONF,
                  "Prefix of the Auth.js routes on the upstream (default: the local prefix)"),
    AP_INIT_TAKE2(AUTHPROXY_DIR_HEADER, cmd_header, NULL, RSRC_CONF,
                  "Header name and value added to every upstream request; repeatable"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_TIMEOUT, cmd_timeout, NULL, RSRC_CONF,
                  "Seconds to connect to and hear from the upstream (default "
                  AUTHPROXY_STR(AUTHPROXY_DEFAULT_TIMEOUT) ")"),
    AP_INIT_FLAG(AUTHPROXY_DIR_PRESERVE_HOST, cmd_preserve_host, NULL, RSRC_CONF,
                 "Send the client's Host to the upstream instead of the upstream's own "
                 "(default Off)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_PUBLIC_ORIGIN, cmd_public_origin, NULL, RSRC_CONF,
                  "The app's origin (http[s]://host[:port]) as the upstream is told it, "
                  "e.g. behind a TLS-terminating load balancer (default: from ServerName)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_COOKIE_NAME, cmd_cookie_name, NULL, RSRC_CONF,
                  "Name of the Auth.js session cookie, as on the upstream "
                  "(default " AUTHPROXY_DEFAULT_COOKIE ")"),
    AP_INIT_ITERATE(AUTHPROXY_DIR_SECRET, cmd_secret, NULL, RSRC_CONF,
                    "The upstream's AUTH_SECRET, newest first; file:/path reads one from a file"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_STRATEGY, cmd_strategy, NULL, RSRC_CONF,
                  "jwt or database, as on the upstream (default jwt)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CA_FILE, cmd_ca_file, NULL, RSRC_CONF,
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
    AP_INIT_FLAG(AUTHPROXY_DIR_BEARER, ap_set_flag_slot,
                 (void *)APR_OFFSETOF(authproxy_dir_conf, bearer), OR_AUTHCFG | RSRC_CONF,
                 "Where no session cookie comes, take an Authorization: Bearer token for it "
                 "(default Off)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_STRIP_BEARER, ap_set_flag_slot,
                 (void *)APR_OFFSETOF(authproxy_dir_conf, strip_bearer), OR_AUTHCFG | RSRC_CONF,
                 "Remove the Authorization header before the backend once the session came "
                 "from it (default Off)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CACHE, cmd_cache, NULL, RSRC_CONF,
                  "none, or the socache provider[:args] keeping /session answers "
                  "(default " AUTHPROXY_DEFAULT_CACHE ")"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CACHE_TTL, cmd_cache_ttl, NULL, RSRC_CONF,
                  "Seconds a /session answer is kept (default "
                  AUTHPROXY_STR(AUTHPROXY_DEFAULT_CACHE_TTL) ")"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_CACHE_NEG_TTL, cmd_cache_negative_ttl, NULL,
                  RSRC_CONF, "Seconds a 'no session' answer is kept (default "
                  AUTHPROXY_STR(AUTHPROXY_DEFAULT_CACHE_NEGATIVE_TTL) ")"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_REFRESH, cmd_session_refresh, NULL, RSRC_CONF,
                  "Off, or the age in seconds at which a session is refreshed through the "
                  "upstream's /session (default Off)"),
    /* server config only: a tenant's .htaccess may set the handler, never widen it */
    AP_INIT_TAKE1(AUTHPROXY_DIR_METRICS_SCOPE, cmd_metrics_scope, NULL, RSRC_CONF,
                  "vhost: the metrics handler and server-status show this VirtualHost's "
                  "counters; all: every VirtualHost's (default vhost)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_REVOCATION, cmd_revocation, NULL, RSRC_CONF,
                 "Revoke a token signed out through the routes, and take revocations "
                 "(SetHandler authproxy-revoke), on every server sharing the session cache "
                 "(default Off)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_REVOCATION_UNAVAILABLE, cmd_revocation_unavailable, NULL,
                  RSRC_CONF, "What a signed-in request gets while revocations cannot be read: "
                  "open (served) or closed (503) (default open)"),
    AP_INIT_TAKE_ARGV(AUTHPROXY_DIR_SIGNIN_LIMIT, cmd_signin_limit, NULL, RSRC_CONF,
                      "N PERIOD [ban SECONDS] [by ip|user|both]: after N failed sign-ins in "
                      "PERIOD seconds, sign-ins get 429 for SECONDS (default PERIOD), counted "
                      "by client address (default), identifier or both; or Off (default)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_UNAUTH_ACTION, cmd_unauth_action, NULL,
                  OR_AUTHCFG | RSRC_CONF,
                  "What an anonymous visitor gets with AuthType authjs: redirect (browsers "
                  "to sign in, others 401), 401, or pass (default redirect)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_PREFLIGHT, cmd_preflight, NULL, OR_AUTHCFG | RSRC_CONF,
                  "What a CORS preflight (OPTIONS with Origin and Access-Control-Request-"
                  "Method) gets with AuthType authjs: pass (to the application, no session "
                  "asked) or auth (as any request) (default pass)"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_TRACE_PARENT, cmd_trace_parent, NULL, RSRC_CONF,
                  "off, propagate (the request's W3C traceparent goes with the module's calls "
                  "to the upstream) or generate (that, else a new one) (default off)"),
    AP_INIT_TAKE13(AUTHPROXY_DIR_USER_CLAIM, cmd_remote_user_claim, NULL,
                   OR_AUTHCFG | RSRC_CONF,
                   "Claim that becomes REMOTE_USER (default email, else the id), optionally "
                   "followed by a regular expression and the substitution that makes the "
                   "user name of it"),
    AP_INIT_ITERATE(AUTHPROXY_DIR_PUBLISH_CLAIMS, cmd_publish_claims, NULL,
                    OR_AUTHCFG | RSRC_CONF,
                    "+NAME publishes, -NAME withholds the claims NAME (a shell-style pattern) "
                    "names; the last entry that matches decides (default: credentials such "
                    "as accessToken withheld, every other claim published)"),
    AP_INIT_TAKE2(AUTHPROXY_DIR_CLAIM_HEADER, cmd_claim_header, NULL, OR_AUTHCFG | RSRC_CONF,
                  "Request header set to a claim of the signed-in visitor (the client's "
                  "copies removed); repeatable"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_HEADER_ENCODING, cmd_header_encoding, NULL,
                  OR_AUTHCFG | RSRC_CONF,
                  "How AuthProxyClaimHeader values are written: raw or base64url (default raw)"),
    AP_INIT_FLAG(AUTHPROXY_DIR_ASSERTION, cmd_assertion, NULL, OR_AUTHCFG | RSRC_CONF,
                 "Send a proxied backend the session as a signed JWT in X-Authjs-Assertion "
                 "(default Off)"),
    /* not in .htaccess: a tenant would have its visitors' assertions made
     * out to another backend, then sent to its own */
    AP_INIT_TAKE1(AUTHPROXY_DIR_ASSERTION_AUDIENCE, cmd_assertion_audience, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "The assertions' aud (default: the proxied backend's origin); not in "
                  ".htaccess"),
    /* server config only: a key file is read as root */
    AP_INIT_ITERATE(AUTHPROXY_DIR_ASSERTION_KEY, cmd_assertion_key, NULL, RSRC_CONF,
                    "PEM private key (EC P-256 or Ed25519) signing assertions; repeatable, "
                    "the first signs, all are in the authproxy-jwks key set"),
    AP_INIT_TAKE1(AUTHPROXY_DIR_ASSERTION_LIFETIME, cmd_assertion_lifetime, NULL, RSRC_CONF,
                  "Seconds from an assertion's iat to its exp (1 to "
                  AUTHPROXY_STR(AUTHPROXY_MAX_ASSERTION_LIFETIME) ", default "
                  AUTHPROXY_STR(AUTHPROXY_MAX_ASSERTION_LIFETIME) ")"),
    { 0 }
};

static int require_module(server_rec *s, const char *file, const char *mod, const char *why)
{
    if (ap_find_linked_module(file)) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(005)
                 "%s %s (%s:%d) %s, but %s is not loaded: enable it with 'a2enmod %s' (or "
                 "LoadModule %s_module)", AUTHPROXY_DIR_UPSTREAM, authproxy_sconf(s)->upstream,
                 s->server_hostname, s->port, why, file, mod, mod);
    return HTTP_INTERNAL_SERVER_ERROR;
}

const char *authproxy_server_name(apr_pool_t *p, const server_rec *s)
{
    apr_port_t port = s->port ? s->port : s->addrs ? s->addrs->host_port : 0;
    const char *name = s->server_hostname ? s->server_hostname : "";

    return port ? apr_psprintf(p, "%s:%u", name, (unsigned)port) : name;
}

/* A directive's name, after the others in `list`, where the main server set
 * it and this VirtualHost did not. */
static const char *unset_here(apr_pool_t *p, const char *list, int main_set, int set_here,
                              const char *directive)
{
    if (!main_set || set_here) {
        return list;
    }
    return *list ? apr_pstrcat(p, list, ", ", directive, NULL) : directive;
}

/* A VirtualHost that names its own deployment inherits none of the main
 * server's settings for its deployment (authproxy_merge_server_conf): an
 * operator who relied on them learns here what to set. */
static void warn_not_inherited(apr_pool_t *p, server_rec *s, const authproxy_server_conf *conf,
                               const authproxy_server_conf *main_conf)
{
    const char *list = "";

    /* unset here, it names its own upstream: the main server's prefix is on
     * another one */
    list = unset_here(p, list, main_conf->target_path != NULL, conf->target_path != NULL,
                      AUTHPROXY_DIR_TARGET_PATH);
    list = unset_here(p, list, main_conf->secrets != NULL, conf->secrets != NULL,
                      AUTHPROXY_DIR_SECRET);
    list = unset_here(p, list, main_conf->headers != NULL, conf->headers != NULL,
                      AUTHPROXY_DIR_HEADER);
    list = unset_here(p, list, main_conf->strategy != AUTHPROXY_UNSET,
                      conf->strategy != AUTHPROXY_UNSET, AUTHPROXY_DIR_STRATEGY);
    list = unset_here(p, list, main_conf->cookie_name != NULL, conf->cookie_name != NULL,
                      AUTHPROXY_DIR_COOKIE_NAME);
    list = unset_here(p, list, main_conf->ca_file != NULL, conf->ca_file != NULL,
                      AUTHPROXY_DIR_CA_FILE);
    list = unset_here(p, list, main_conf->public_origin != NULL, conf->public_origin != NULL,
                      AUTHPROXY_DIR_PUBLIC_ORIGIN);
    if (*list) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, AUTHPROXY_LOGNO(006)
                     "%s names an Auth.js deployment of its own (%s %s, %s %s), so it does not "
                     "inherit the main server's %s: set those that deployment needs in this "
                     "VirtualHost", authproxy_server_name(p, s), AUTHPROXY_DIR_UPSTREAM,
                     conf->upstream, AUTHPROXY_DIR_TARGET_PATH, authproxy_target_path(conf), list);
    }
}

/* The main server's public origin, inherited by a VirtualHost of the same
 * deployment that goes by other names, tells the upstream another site's
 * origin (its sign-in pages and redirects would lead there). */
static void warn_foreign_origin(apr_pool_t *p, server_rec *s, const authproxy_server_conf *conf,
                                const authproxy_server_conf *main_conf)
{
    char *host = NULL, *scope;
    apr_port_t port;

    if (!conf->public_origin || conf->public_origin != main_conf->public_origin) {
        return;
    }
    apr_parse_addr_port(&host, &scope, &port, conf->public_origin->hostport, p);
    if (!host || !authproxy_server_named(s, host)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, AUTHPROXY_LOGNO(007)
                     "%s inherits the main server's %s %s, whose host is not its ServerName or a "
                     "ServerAlias: the upstream is told another site's origin; set %s in this "
                     "VirtualHost", authproxy_server_name(p, s), AUTHPROXY_DIR_PUBLIC_ORIGIN,
                     conf->public_origin->origin, AUTHPROXY_DIR_PUBLIC_ORIGIN);
    }
}

/* AuthProxyHeader traceparent beside AuthProxyTraceParent: the /session
 * fetch would carry two, which the W3C specification makes no trace at all. */
static int traceparent_twice(const authproxy_server_conf *conf)
{
    int i;

    for (i = 0; authproxy_trace_mode(conf) != AUTHPROXY_TRACE_OFF && conf->headers
                && i < conf->headers->nelts; i++) {
        if (authproxy_header_same(APR_ARRAY_IDX(conf->headers, i, authproxy_header_t).name,
                                  "traceparent")) {
            return 1;
        }
    }
    return 0;
}

int authproxy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    server_rec *main_server = s;
    const authproxy_server_conf *main_conf = authproxy_sconf(s);

    for (; s; s = s->next) {
        authproxy_server_conf *conf = authproxy_sconf(s);

        if (!conf->upstream) {
            continue;
        }
        if (require_module(s, "mod_proxy.c", "proxy", "forwards through mod_proxy") != OK
            || require_module(s, "mod_proxy_http.c", "proxy_http",
                              "speaks HTTP to the upstream") != OK
            || (conf->upstream_is_tls
                && require_module(s, "mod_ssl.c", "ssl", "uses TLS to the upstream") != OK)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!conf->upstream_is_tls && !authproxy_host_is_loopback(conf->upstream_host)
            && should_warn()) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, AUTHPROXY_LOGNO(008)
                         "%s %s (%s:%d) is plaintext http:// on a host that is not loopback: "
                         "session cookies and tokens cross the network in clear; use https://",
                         AUTHPROXY_DIR_UPSTREAM, conf->upstream, s->server_hostname, s->port);
        }
        if ((authproxy_session_refresh(conf) || authproxy_revocation(conf))
            && !strcasecmp(authproxy_cache_spec(conf), "none")) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(009)
                         "%s needs a session cache to remember refreshes and sign-outs, but %s is "
                         "none (%s:%d)", authproxy_revocation(conf) ? AUTHPROXY_DIR_REVOCATION
                         : AUTHPROXY_DIR_REFRESH, AUTHPROXY_DIR_CACHE,
                         s->server_hostname, s->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (traceparent_twice(conf)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(072)
                         "%s and %s traceparent (%s:%d): the upstream would get two "
                         "traceparent headers; drop the %s", AUTHPROXY_DIR_TRACE_PARENT,
                         AUTHPROXY_DIR_HEADER, s->server_hostname, s->port, AUTHPROXY_DIR_HEADER);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (authproxy_signin_limit(conf) && !strcasecmp(authproxy_cache_spec(conf), "none")) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(087)
                         "%s counts failed sign-ins in the session cache, but %s is none (%s:%d)",
                         AUTHPROXY_DIR_SIGNIN_LIMIT, AUTHPROXY_DIR_CACHE, s->server_hostname,
                         s->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (authproxy_signin_limit(conf) && conf->signin_by != AUTHPROXY_SIGNIN_BY_IP
            && !conf->secrets) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(088)
                         "%s by user or both keys the identifiers' hashes with the "
                         "upstream's secret, so that the cache holds no e-mail addresses, but "
                         "%s is not set (%s:%d): set it, or count by ip",
                         AUTHPROXY_DIR_SIGNIN_LIMIT, AUTHPROXY_DIR_SECRET, s->server_hostname,
                         s->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (authproxy_revocation(conf) && !strncasecmp(authproxy_cache_spec(conf), "shmcb", 5)
            && should_warn()) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, AUTHPROXY_LOGNO(065)
                         "%s On keeps revocations in %s %s, which every restart (a graceful one "
                         "too: logrotate's) makes anew: a revoked token is taken again after it, "
                         "until it expires; use memcache or redis (%s:%d)",
                         AUTHPROXY_DIR_REVOCATION, AUTHPROXY_DIR_CACHE,
                         authproxy_cache_spec(conf), s->server_hostname, s->port);
        }
        if (s != main_server && should_warn()) {
            if (conf->own_deployment) {
                warn_not_inherited(ptemp, s, conf, main_conf);
            }
            else {
                warn_foreign_origin(ptemp, s, conf, main_conf);
            }
        }
    }
    return OK;
}

/* A field of the cache scope: its length first, so no two settings run
 * into each other. */
static const char *scope_field(apr_pool_t *p, const char *scope, const char *field)
{
    return apr_psprintf(p, "%s%" APR_SIZE_T_FMT ":%s", scope, strlen(field), field);
}

/* What a /session answer depends on besides the request's origin and cookie:
 * where it is asked, how, and with which configured headers (a tenant or an
 * API key can make the same upstream answer for another user base). */
static const char *cache_scope_of(apr_pool_t *p, const authproxy_server_conf *conf)
{
    const char *scope = scope_field(p, "", conf->upstream);
    int i;

    scope = scope_field(p, scope, authproxy_target_path(conf));
    scope = scope_field(p, scope, authproxy_strategy(conf) == AUTHPROXY_STRATEGY_JWT
                                  ? "jwt" : "database");
    scope = scope_field(p, scope, authproxy_preserve_host(conf) ? "host" : "");
    for (i = 0; conf->headers && i < conf->headers->nelts; i++) {
        const authproxy_header_t *h = &APR_ARRAY_IDX(conf->headers, i, authproxy_header_t);

        scope = scope_field(p, scope_field(p, scope, h->name), h->value);
    }
    return scope;
}

/* Auth.js puts __Secure- before its default names on https origins; a name
 * configured with a prefix of its own is taken as it is everywhere. */
static const char *secure_cookie_name(apr_pool_t *p, const char *name)
{
    if (!strncmp(name, AUTHJS_COOKIE_SECURE_PREFIX, sizeof(AUTHJS_COOKIE_SECURE_PREFIX) - 1)
        || !strncmp(name, "__Host-", 7)) {
        return name;
    }
    return apr_pstrcat(p, AUTHJS_COOKIE_SECURE_PREFIX, name, NULL);
}

/* Keys and URLs are worked out once here, never per request. */
int authproxy_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                 server_rec *s)
{
    ap_add_version_component(pconf, "mod_authproxy/" AUTHPROXY_VERSION);
    /* once per start, not on the first of the two passes over the configuration */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, AUTHPROXY_LOGNO(010)
                     "mod_authproxy %s", AUTHPROXY_VERSION);
    }
    for (; s; s = s->next) {
        authproxy_server_conf *conf = authproxy_sconf(s);
        const char *name = authproxy_cookie_name(conf), *err = NULL;
        apr_uri_t uri;

        if (!conf->upstream) {
            continue;
        }
        conf->session_url = apr_pstrcat(pconf, conf->upstream,
                                        authproxy_path_join(pconf, authproxy_target_path(conf),
                                                            "/session"), NULL);
        /* the origin the directive parsed and wrote */
        apr_uri_parse(ptemp, conf->upstream, &uri);
        conf->upstream_hostport =
            authproxy_origin_make(pconf, uri.scheme, uri.hostname, uri.port)->hostport;
        conf->session_cookie[0].name = name;
        conf->session_cookie[1].name = secure_cookie_name(pconf, name);
        conf->cache_scope = cache_scope_of(pconf, conf);
        if (!conf->secrets || authproxy_strategy(conf) != AUTHPROXY_STRATEGY_JWT) {
            continue;
        }
        /* the key's salt is the cookie's name */
        err = authjs_keyring_create(pconf, conf->secrets, name, &conf->session_cookie[0].keyring);
        if (!err && conf->session_cookie[1].name == name) {
            conf->session_cookie[1].keyring = conf->session_cookie[0].keyring;
        }
        else if (!err) {
            err = authjs_keyring_create(pconf, conf->secrets, conf->session_cookie[1].name,
                                        &conf->session_cookie[1].keyring);
        }
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(011)
                         "%s: %s", AUTHPROXY_DIR_SECRET, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}
