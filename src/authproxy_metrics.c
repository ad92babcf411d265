/* SPDX-License-Identifier: Apache-2.0 */
/* What the module did, per VirtualHost, for operators: counters in one shared
 * memory segment sized at startup (each VirtualHost with an upstream has a
 * slot; children add to it with atomic increments, no lock), read by the
 * authproxy-metrics handler (Prometheus text format) and by server-status.
 * A restart makes a new segment: the totals start again, as Prometheus
 * expects of counters. */
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>

#include "authproxy.h"
#include "authproxy_config.h"
#include "authproxy_metrics.h"

#define HANDLER "authproxy-metrics"

static const char *const anonymous_names[] = {
    "no_cookie", "bad_cookie", "invalid_token", "expired", "no_session", "upstream_error",
    "revoked", "revocation_unavailable"
};
/* A refused Bearer token's reasons: those a token can have, from invalid_token on. */
#define BEARER_FIRST AUTHPROXY_ANONYMOUS_INVALID_TOKEN
#define BEARER_REASONS (AUTHPROXY_ANONYMOUS_REASONS - BEARER_FIRST)
static const char *const kind_names[] = { "route", "session", "refresh" };
static const char *const code_names[] = { "2xx", "3xx", "4xx", "5xx", "error" };
static const char *const lookup_names[] = { "hit", "miss", "error" };
static const char *const assertion_names[] = { "signed", "reused", "error" };
static const char *const limited_names[] = { "ip", "user" };
static const char *const decision_names[] = { "granted", "denied", "redirect", "unauthorized" };
/* Upper bounds of the latency buckets, in seconds (+Inf follows). */
static const double bucket_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define BUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]) + 1)
#define CODES (sizeof(code_names) / sizeof(code_names[0]))

struct authproxy_metrics {
    apr_uint64_t sessions[AUTHPROXY_SOURCES];
    apr_uint64_t anonymous[AUTHPROXY_ANONYMOUS_REASONS];
    apr_uint64_t bearer_refused[BEARER_REASONS];
    apr_uint64_t upstream[AUTHPROXY_KINDS][CODES];
    apr_uint64_t bucket[AUTHPROXY_KINDS][BUCKETS];   /* each bucket alone, summed when read */
    apr_uint64_t micros[AUTHPROXY_KINDS];
    apr_uint64_t lookups[AUTHPROXY_LOOKUPS];
    apr_uint64_t decisions[AUTHPROXY_DECISIONS];
    apr_uint64_t assertions[AUTHPROXY_ASSERTION_RESULTS];
    apr_uint64_t signin_limited[AUTHPROXY_LIMITED_KEYS];
};

/* The VirtualHosts with a slot, in server order: the handler and
 * server-status read those their request may see (shown()). */
typedef struct {
    const char *vhost;          /* ServerName:port, the label */
    const char *upstream;
    const server_rec *server;   /* the first of its servers */
    authproxy_metrics_t *slot;
} vhost_t;

static apr_array_header_t *vhosts;

/* Slots one cache line apart, so VirtualHosts do not share one. */
static apr_size_t slot_size(void)
{
    return (sizeof(authproxy_metrics_t) + 63) & ~(apr_size_t)63;
}

static vhost_t *vhost_named(const char *name)
{
    int i;

    for (i = 0; i < vhosts->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(vhosts, i, vhost_t).vhost, name)) {
            return &APR_ARRAY_IDX(vhosts, i, vhost_t);
        }
    }
    return NULL;
}

static int same_names(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    if ((a ? a->nelts : 0) != (b ? b->nelts : 0)) {
        return 0;
    }
    for (i = 0; a && i < a->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(a, i, const char *), APR_ARRAY_IDX(b, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

/* Two servers of one label are one site (the main server and a VirtualHost
 * it names, one name on two addresses) when they answer to the same names
 * for the same deployment; VirtualHosts without a ServerName of their own
 * take the main server's, and two tenants must not share a series. */
static int same_site(const server_rec *a, const server_rec *b)
{
    return !strcmp(authproxy_sconf(a)->cache_scope, authproxy_sconf(b)->cache_scope)
           && same_names(a->names, b->names) && same_names(a->wild_names, b->wild_names);
}

int authproxy_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                  server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;
    server_rec *v;
    char *base;
    int n = 0;

    vhosts = apr_array_make(pconf, 4, sizeof(vhost_t));
    for (v = s; v; v = v->next) {
        n += authproxy_sconf(v)->upstream != NULL;
    }
    if (!n) {
        return OK;
    }
    rv = apr_shm_create(&shm, slot_size() * n, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, AUTHPROXY_LOGNO(025)
                     "no shared memory for the metrics");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    base = apr_shm_baseaddr_get(shm);
    memset(base, 0, slot_size() * n);
    for (v = s; v; v = v->next) {
        authproxy_server_conf *conf = authproxy_sconf(v);
        const char *name;
        vhost_t *vh;

        if (!conf->upstream) {
            continue;
        }
        name = authproxy_server_name(pconf, v);
        if ((vh = vhost_named(name)) && same_site(vh->server, v)) {
            conf->metrics = vh->slot;
            continue;
        }
        if (vh) {
            /* another site under the same label: where it is defined tells it apart */
            name = apr_psprintf(pconf, "%s (%s:%d)", name, v->defn_name ? v->defn_name : "",
                                v->defn_line_number);
        }
        vh = apr_array_push(vhosts);
        vh->vhost = name;
        vh->upstream = conf->upstream;
        vh->server = v;
        vh->slot = (authproxy_metrics_t *)(base + slot_size() * (vhosts->nelts - 1));
        conf->metrics = vh->slot;
    }
    return OK;
}

/* A request sees its own VirtualHost's series (those of every server of its
 * name), all of them where its server says AuthProxyMetricsScope all: a
 * handler set in one tenant's .htaccess shows no other tenant's. */
static int shown(const request_rec *r, const vhost_t *vh)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);

    return authproxy_metrics_scope(conf) == AUTHPROXY_METRICS_ALL || vh->slot == conf->metrics;
}

void authproxy_metrics_resolved(const authproxy_server_conf *conf, const authproxy_request_t *req)
{
    authproxy_metrics_t *m = conf->metrics;

    if (!m) {
        return;
    }
    apr_atomic_inc64(req->session ? &m->sessions[req->source] : &m->anonymous[req->anonymous]);
    /* within the reasons a token has, whatever the resolver's paths become */
    if (!req->session && req->bearer && req->anonymous >= BEARER_FIRST) {
        apr_atomic_inc64(&m->bearer_refused[req->anonymous - BEARER_FIRST]);
    }
}

void authproxy_metrics_upstream(const authproxy_server_conf *conf, authproxy_kind_e kind,
                                int status, apr_interval_time_t took)
{
    authproxy_metrics_t *m = conf->metrics;
    unsigned code = status >= 200 && status < 600 ? (unsigned)(status / 100 - 2) : CODES - 1;
    apr_size_t b;

    if (!m) {
        return;
    }
    apr_atomic_inc64(&m->upstream[kind][status < 200 ? CODES - 1 : code]);
    if (took < 0) {
        return;
    }
    for (b = 0; b < BUCKETS - 1 && (double)took / APR_USEC_PER_SEC > bucket_bounds[b]; b++) {
    }
    apr_atomic_inc64(&m->bucket[kind][b]);
    apr_atomic_add64(&m->micros[kind], (apr_uint64_t)took);
}

void authproxy_metrics_lookup(const authproxy_server_conf *conf, authproxy_lookup_e result)
{
    authproxy_metrics_t *m = conf->metrics;

    if (m) {
        apr_atomic_inc64(&m->lookups[result]);
    }
}

void authproxy_metrics_assertion(const authproxy_server_conf *conf,
                                 authproxy_assertion_result_e result)
{
    authproxy_metrics_t *m = conf->metrics;

    if (m) {
        apr_atomic_inc64(&m->assertions[result]);
    }
}

void authproxy_metrics_signin_limited(const authproxy_server_conf *conf, authproxy_limited_e by)
{
    authproxy_metrics_t *m = conf->metrics;

    if (m) {
        apr_atomic_inc64(&m->signin_limited[by]);
    }
}

void authproxy_metrics_decision(request_rec *r, authproxy_decision_e decision)
{
    authproxy_request_t *req = authproxy_request(authproxy_original(r));
    authproxy_metrics_t *m = authproxy_sconf(r->server)->metrics;

    /* once per request, however many subrequests and redirects ask */
    if (m && !req->decided) {
        req->decided = 1;
        apr_atomic_inc64(&m->decisions[decision]);
    }
}

/* A label value, escaped as the exposition format wants. */
static const char *label(apr_pool_t *p, const char *value)
{
    const char *c;
    char *out = apr_palloc(p, 2 * strlen(value) + 1), *o = out;

    for (c = value; *c; c++) {
        if (*c == '\\' || *c == '"') {
            *o++ = '\\';
            *o++ = *c;
        }
        else if (*c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

static void family_head(request_rec *r, const char *name, const char *help, const char *type)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One counter family: each VirtualHost's value for each label value, the
 * counters at `offset` in a slot. */
static void family(request_rec *r, const char *name, const char *help, const char *label_name,
                   const char *const *values, int n, apr_size_t offset)
{
    int v, i;

    family_head(r, name, help, "counter");
    for (v = 0; v < vhosts->nelts; v++) {
        vhost_t *vh = &APR_ARRAY_IDX(vhosts, v, vhost_t);

        if (!shown(r, vh)) {
            continue;
        }
        for (i = 0; i < n; i++) {
            ap_rprintf(r, "%s{vhost=\"%s\",%s=\"%s\"} %" APR_UINT64_T_FMT "\n", name,
                       label(r->pool, vh->vhost), label_name, values[i],
                       apr_atomic_read64((apr_uint64_t *)((char *)vh->slot + offset) + i));
        }
    }
}

static void upstream_family(request_rec *r)
{
    static const char name[] = "authproxy_upstream_requests_total";
    int v, k;
    unsigned c;

    family_head(r, name, "Requests to the upstream by kind and status class.", "counter");
    for (v = 0; v < vhosts->nelts; v++) {
        vhost_t *vh = &APR_ARRAY_IDX(vhosts, v, vhost_t);

        if (!shown(r, vh)) {
            continue;
        }
        for (k = 0; k < AUTHPROXY_KINDS; k++) {
            for (c = 0; c < CODES; c++) {
                ap_rprintf(r, "%s{vhost=\"%s\",kind=\"%s\",code=\"%s\"} %" APR_UINT64_T_FMT
                           "\n", name, label(r->pool, vh->vhost), kind_names[k], code_names[c],
                           apr_atomic_read64(&vh->slot->upstream[k][c]));
            }
        }
    }
}

static void latency_family(request_rec *r)
{
    static const char name[] = "authproxy_upstream_request_seconds";
    int v, k;
    apr_size_t b;

    family_head(r, name, "Time of the upstream's /session answers, by kind.", "histogram");
    for (v = 0; v < vhosts->nelts; v++) {
        vhost_t *vh = &APR_ARRAY_IDX(vhosts, v, vhost_t);
        const char *vhost = label(r->pool, vh->vhost);

        if (!shown(r, vh)) {
            continue;
        }
        for (k = AUTHPROXY_KIND_SESSION; k < AUTHPROXY_KINDS; k++) {
            apr_uint64_t total = 0;

            for (b = 0; b < BUCKETS; b++) {
                total += apr_atomic_read64(&vh->slot->bucket[k][b]);
                ap_rprintf(r, "%s_bucket{vhost=\"%s\",kind=\"%s\",le=\"%s\"} %"
                           APR_UINT64_T_FMT "\n", name, vhost, kind_names[k],
                           b < BUCKETS - 1 ? apr_psprintf(r->pool, "%g", bucket_bounds[b])
                                           : "+Inf", total);
            }
            ap_rprintf(r, "%s_sum{vhost=\"%s\",kind=\"%s\"} %.6f\n", name, vhost, kind_names[k],
                       (double)apr_atomic_read64(&vh->slot->micros[k]) / APR_USEC_PER_SEC);
            ap_rprintf(r, "%s_count{vhost=\"%s\",kind=\"%s\"} %" APR_UINT64_T_FMT "\n", name,
                       vhost, kind_names[k], total);
        }
    }
}

static int authproxy_metrics_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, HANDLER) != 0) {
        return DECLINED;
    }
    /* what a 405 names in Allow (httpd reads the method list, not r->allowed;
     * HEAD comes with GET) */
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;
    }
    family(r, "authproxy_sessions_total", "Requests that resolved to a session, by source.",
           "source", authproxy_source_names, AUTHPROXY_SOURCES, APR_OFFSETOF(authproxy_metrics_t, sessions));
    family(r, "authproxy_anonymous_total", "Requests that resolved to no session, by reason.",
           "reason", anonymous_names, AUTHPROXY_ANONYMOUS_REASONS, APR_OFFSETOF(authproxy_metrics_t, anonymous));
    family(r, "authproxy_bearer_refused_total", "Bearer tokens that resolved to no session, "
           "by reason.", "reason", anonymous_names + BEARER_FIRST, BEARER_REASONS,
           APR_OFFSETOF(authproxy_metrics_t, bearer_refused));
    upstream_family(r);
    latency_family(r);
    family(r, "authproxy_cache_lookups_total", "Lookups of /session answers in the cache.",
           "result", lookup_names, AUTHPROXY_LOOKUPS, APR_OFFSETOF(authproxy_metrics_t, lookups));
    family(r, "authproxy_authz_total", "AuthType authjs decisions, once per request.",
           "decision", decision_names, AUTHPROXY_DECISIONS, APR_OFFSETOF(authproxy_metrics_t, decisions));
    family(r, "authproxy_assertions_total", "X-Authjs-Assertion for proxied backends: signed, "
           "a child's reused, or none made.", "result", assertion_names,
           AUTHPROXY_ASSERTION_RESULTS, APR_OFFSETOF(authproxy_metrics_t, assertions));
    family(r, "authproxy_signin_limited_total", "Sign-ins refused with 429 by "
           "AuthProxySignInLimit, by what was over the limit.", "by", limited_names,
           AUTHPROXY_LIMITED_KEYS, APR_OFFSETOF(authproxy_metrics_t, signin_limited));
    return OK;
}

/* One line of counts for server-status: "local=3 cache=0 ...". */
static const char *counts(apr_pool_t *p, const char *const *names, apr_uint64_t *values, int n)
{
    const char *line = "";
    int i;

    for (i = 0; i < n; i++) {
        line = apr_psprintf(p, "%s%s%s=%" APR_UINT64_T_FMT, line, i ? " " : "", names[i],
                            apr_atomic_read64(&values[i]));
    }
    return line;
}

/* The rows of a VirtualHost's counts in server-status. */
#define STATUS_ROWS 6

static int authproxy_metrics_status(request_rec *r, int flags)
{
    int v, k, n = 0;

    if (flags & AP_STATUS_SHORT) {
        ap_rputs("AuthProxyVersion: " AUTHPROXY_VERSION "\n", r);
    }
    else {
        ap_rputs("<hr />\n<h2>AuthProxy " AUTHPROXY_VERSION "</h2>\n", r);
    }
    for (v = 0; v < vhosts->nelts; v++) {
        vhost_t *vh = &APR_ARRAY_IDX(vhosts, v, vhost_t);
        authproxy_metrics_t *m = vh->slot;
        const char *rows[STATUS_ROWS][2];
        const char *upstream = "";
        int i;

        if (!shown(r, vh)) {
            continue;
        }
        for (k = 0; k < AUTHPROXY_KINDS; k++) {
            const char *kind = apr_pstrcat(r->pool, kind_names[k], "_", NULL);
            unsigned c;

            for (c = 0; c < CODES; c++) {
                upstream = apr_psprintf(r->pool, "%s%s%s%s=%" APR_UINT64_T_FMT, upstream,
                                        *upstream ? " " : "", kind, code_names[c],
                                        apr_atomic_read64(&m->upstream[k][c]));
            }
        }
        rows[0][0] = "Sessions";
        rows[0][1] = counts(r->pool, authproxy_source_names, m->sessions, AUTHPROXY_SOURCES);
        rows[1][0] = "Anonymous";
        rows[1][1] = counts(r->pool, anonymous_names, m->anonymous, AUTHPROXY_ANONYMOUS_REASONS);
        rows[2][0] = "BearerRefused";
        rows[2][1] = counts(r->pool, anonymous_names + BEARER_FIRST, m->bearer_refused,
                            BEARER_REASONS);
        rows[3][0] = "Upstream";
        rows[3][1] = upstream;
        rows[4][0] = "CacheLookups";
        rows[4][1] = counts(r->pool, lookup_names, m->lookups, AUTHPROXY_LOOKUPS);
        rows[5][0] = "Authz";
        rows[5][1] = counts(r->pool, decision_names, m->decisions, AUTHPROXY_DECISIONS);
        if (flags & AP_STATUS_SHORT) {
            /* numbered among those shown */
            ap_rprintf(r, "AuthProxyVHost%d: %s %s\n", n, vh->vhost, vh->upstream);
            for (i = 0; i < STATUS_ROWS; i++) {
                ap_rprintf(r, "AuthProxyVHost%d%s: %s\n", n, rows[i][0], rows[i][1]);
            }
            n++;
            continue;
        }
        ap_rprintf(r, "<h3>%s &rarr; %s</h3>\n<table border=\"0\">\n",
                   ap_escape_html(r->pool, vh->vhost), ap_escape_html(r->pool, vh->upstream));
        for (i = 0; i < STATUS_ROWS; i++) {
            ap_rprintf(r, "<tr><th align=\"left\">%s</th><td>%s</td></tr>\n", rows[i][0],
                       rows[i][1]);
        }
        ap_rputs("</table>\n", r);
    }
    return OK;
}

void authproxy_metrics_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(authproxy_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, authproxy_metrics_status, NULL, NULL, APR_HOOK_MIDDLE);
}
