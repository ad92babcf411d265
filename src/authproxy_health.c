/* SPDX-License-Identifier: Apache-2.0 */
/* SetHandler authproxy-health: whether this server can serve sessions, for
 * load balancers. 200 or 503 with {"upstream": ..., "cache": ..., "keys": ...}:
 * the upstream answers GET <target>/providers with a JSON object within
 * AuthProxyTimeout, the session cache stores and reads back a probe record,
 * the secret's keys decode a token made with them as Auth.js makes its own.
 *
 * A load balancer probes every second or more often, from several places:
 * each child keeps each server's last result for KEPT, and runs one probe
 * per server at a time; the others meanwhile take the last result, or wait
 * for the first one (never longer than AuthProxyTimeout). A probe is no
 * visitor: it resolves no session (authproxy_session_enabled), sends no
 * cookie upstream, and counts in no metric. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_escape.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <http_protocol.h>
#include <http_request.h>
#include <openssl/rand.h>

#include "authproxy_cache.h"
#include "authproxy_config.h"
#include "authproxy_fetch.h"
#include "authproxy_health.h"

/* How long a child answers with a result before it probes again: a change
 * shows within this (and AuthProxyTimeout for a silent upstream). */
#define KEPT apr_time_from_sec(1)
/* The probe record's purpose (authproxy_cache_put_named), and its lifetime:
 * each child writes one record per server, over and over. */
#define PURPOSE "health"
#define RECORD_LIFETIME apr_time_from_sec(10)
/* What a probe's token says, and how long it is valid. */
#define PROBE_SUB "authproxy-health"
#define PROBE_LIFETIME 60
#define REASON_MAX 96

typedef enum { PART_OFF, PART_OK, PART_DOWN } part_state_e;
enum { PART_UPSTREAM, PART_CACHE, PART_KEYS, PARTS };
static const char *const part_names[PARTS] = { "upstream", "cache", "keys" };
/* What a part that is not configured reports: no cache, no secret. */
static const char *const off_names[PARTS] = { "off", "off", "none" };

typedef struct {
    part_state_e state;
    char why[REASON_MAX];          /* for a part down: a short reason, no URL, no secret */
} part_t;

typedef struct {
    part_t parts[PARTS];
    apr_time_t at;                 /* when it was made; 0: none yet */
} result_t;

/* A server's results in a child. */
typedef struct {
    result_t last;
    int probing;                   /* a probe is under way */
    apr_time_t probe_began;
    const char *record;            /* its probe record's name: the child's and the server's */
} server_health_t;

static struct {
    apr_thread_mutex_t *mutex;     /* NULL: every probe runs its own checks */
    apr_thread_cond_t *done;       /* a probe has finished */
    apr_hash_t *servers;           /* conf -> server_health_t */
} child;

static void authproxy_health_child_init(apr_pool_t *p, server_rec *s)
{
    unsigned char id[8];
    const char *child_id;
    apr_status_t rv;

    child.servers = NULL;
    if ((rv = apr_thread_mutex_create(&child.mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&child.done, p)) != APR_SUCCESS) {
        child.mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(093)
                     "no mutex for the child's readiness results: each %s request "
                     "probes on its own", AUTHPROXY_HEALTH_HANDLER);
        return;
    }
    /* a name no other child, here or on another server sharing the cache,
     * writes its probe record under (pids repeat across machines) */
    if (RAND_bytes(id, sizeof(id)) != 1) {
        apr_time_t fallback = apr_time_now() ^ getpid();

        memcpy(id, &fallback, sizeof(id));
    }
    child_id = apr_pescape_hex(p, id, sizeof(id), 0);
    child.servers = apr_hash_make(p);
    for (; s; s = s->next) {
        authproxy_server_conf *conf = authproxy_sconf(s);
        server_health_t *sh;

        if (!conf->upstream || apr_hash_get(child.servers, &conf, sizeof(conf))) {
            continue;
        }
        sh = apr_pcalloc(p, sizeof(*sh));
        sh->record = apr_psprintf(p, "%s-%d", child_id, apr_hash_count(child.servers));
        apr_hash_set(child.servers, apr_pmemdup(p, &conf, sizeof(conf)), sizeof(conf), sh);
    }
}

static void down(part_t *part, const char *why)
{
    part->state = PART_DOWN;
    apr_cpystrn(part->why, why, sizeof(part->why));
}

/* GET <upstream><target>/providers: a 2xx with a JSON object, no redirect. */
static void probe_upstream(request_rec *r, const authproxy_server_conf *conf, part_t *part)
{
    const char *url = apr_pstrcat(r->pool, conf->upstream,
                                  authproxy_path_join(r->pool, authproxy_target_path(conf),
                                                      "/providers"), NULL);
    const char *body, *why;
    apr_size_t len;
    long status;
    json_t *answer;

    if ((why = authproxy_fetch_get(r, conf, url, &status, &body, &len))) {
        down(part, why);
        return;
    }
    if (status < 200 || status > 299) {
        down(part, apr_psprintf(r->pool, "answered %ld", status));
        return;
    }
    answer = json_loadb(body, len, 0, NULL);
    if (json_is_object(answer)) {
        part->state = PART_OK;
    }
    else {
        down(part, "the answer is not a JSON object");
    }
    json_decref(answer);
}

/* Stores this child's probe record and reads it back. */
static void probe_cache(request_rec *r, const authproxy_server_conf *conf,
                        const server_health_t *sh, part_t *part)
{
    const char *record = sh ? sh->record : "unshared", *value, *read;
    apr_status_t rv;

    if (!conf->cache) {
        return;
    }
    value = apr_psprintf(r->pool, "%" APR_TIME_T_FMT, apr_time_now());
    if (authproxy_cache_put_named(conf, r->server, r->pool, PURPOSE, record, value,
                                  apr_time_now() + RECORD_LIFETIME) != APR_SUCCESS) {
        down(part, "cannot store");
        return;
    }
    rv = authproxy_cache_get_named(conf, r->server, r->pool, PURPOSE, record,
                                   "the readiness probe fails", &read);
    if (rv != APR_SUCCESS) {
        down(part, APR_STATUS_IS_NOTFOUND(rv) ? "what it stored is not found" : "cannot read");
    }
    else if (strcmp(read, value)) {
        down(part, "reads another value than it stored");
    }
    else {
        part->state = PART_OK;
    }
}

/* A token of the newest secret's, for each cookie name of the server (http
 * and https origins), decoded as a visitor's would be. */
static void probe_keys(request_rec *r, const authproxy_server_conf *conf, part_t *part)
{
    apr_int64_t now = apr_time_sec(apr_time_now());
    const char *payload = apr_psprintf(r->pool, "{\"sub\":\"" PROBE_SUB "\",\"iat\":%"
                                       APR_INT64_T_FMT ",\"exp\":%" APR_INT64_T_FMT "}", now,
                                       now + PROBE_LIFETIME);
    int i;

    if (!conf->session_cookie[0].keyring) {
        return;
    }
    for (i = 0; i < 2; i++) {
        const authjs_keyring_t *ring = conf->session_cookie[i].keyring;
        unsigned char iv[AUTHJS_TOKEN_IV_LEN];
        const char *token, *why;
        authjs_token_status_e status;
        json_t *claims;
        const char *sub;
        int ours;

        if (RAND_bytes(iv, sizeof(iv)) != 1) {
            down(part, "no random bytes for an IV");
            return;
        }
        if ((why = authjs_token_encode(ring, payload, iv, r->pool, &token))) {
            down(part, why);
            return;
        }
        status = authjs_token_decode(ring, token, strlen(token), now, r->pool, &claims);
        if (status != AUTHJS_TOKEN_VALID) {
            down(part, apr_pstrcat(r->pool, "a token made with them does not decode: ",
                                   authjs_token_status_text(status), NULL));
            return;
        }
        sub = json_string_value(json_object_get(claims, "sub"));
        ours = sub && !strcmp(sub, PROBE_SUB);
        json_decref(claims);
        if (!ours) {
            down(part, "a token made with them decodes to other claims");
            return;
        }
    }
    part->state = PART_OK;
}

static void probe(request_rec *r, const authproxy_server_conf *conf, const server_health_t *sh,
                  result_t *out)
{
    memset(out, 0, sizeof(*out));
    probe_upstream(r, conf, &out->parts[PART_UPSTREAM]);
    probe_cache(r, conf, sh, &out->parts[PART_CACHE]);
    probe_keys(r, conf, &out->parts[PART_KEYS]);
    out->at = apr_time_now();
}

/* A part that went down is logged once per child, and once it is back,
 * with what the operator knows it by: the upstream, the cache setting. */
static void log_changes(request_rec *r, const authproxy_server_conf *conf,
                        const result_t *before, const result_t *now)
{
    const char *what[PARTS] = { conf->upstream, authproxy_cache_spec(conf),
                                AUTHPROXY_DIR_SECRET };
    int i;

    for (i = 0; i < PARTS; i++) {
        part_state_e was = before ? before->parts[i].state : PART_OK;

        if (now->parts[i].state == PART_DOWN && was != PART_DOWN) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(092)
                          "%s: %s (%s) is down: %s; 503 until it is back",
                          AUTHPROXY_HEALTH_HANDLER, part_names[i], what[i], now->parts[i].why);
        }
        else if (now->parts[i].state == PART_OK && was == PART_DOWN) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AUTHPROXY_LOGNO(095)
                          "%s: %s (%s) is back", AUTHPROXY_HEALTH_HANDLER, part_names[i],
                          what[i]);
        }
    }
}

/* While a probe is under way past AuthProxyTimeout, with no recent result,
 * the others know nothing: each part that is configured counts as down. */
static void unknown(const authproxy_server_conf *conf, result_t *out)
{
    memset(out, 0, sizeof(*out));
    down(&out->parts[PART_UPSTREAM], "no result yet: the probe under way takes longer");
    if (conf->cache) {
        down(&out->parts[PART_CACHE], "no result yet: the probe under way takes longer");
    }
    if (conf->session_cookie[0].keyring) {
        down(&out->parts[PART_KEYS], "no result yet: the probe under way takes longer");
    }
}

/* The server's result: the one kept if it is fresh; else this request
 * probes, unless another one does: then it takes the last result, where
 * that is no older than the probe under way can make it, or waits for the
 * probe's, at most AuthProxyTimeout from its start. */
static void current(request_rec *r, const authproxy_server_conf *conf, result_t *out)
{
    server_health_t *sh = child.servers ? apr_hash_get(child.servers, &conf, sizeof(conf)) : NULL;
    apr_interval_time_t timeout = apr_time_from_sec(authproxy_timeout(conf));
    apr_time_t now = apr_time_now(), deadline;
    result_t before;

    if (!sh) {
        probe(r, conf, NULL, out);
        log_changes(r, conf, NULL, out);
        return;
    }
    apr_thread_mutex_lock(child.mutex);
    for (;;) {
        if (sh->last.at
            && (now - sh->last.at < KEPT || (sh->probing && now - sh->last.at < KEPT + timeout))) {
            *out = sh->last;
            apr_thread_mutex_unlock(child.mutex);
            return;
        }
        if (!sh->probing) {
            break;
        }
        deadline = sh->probe_began + timeout;
        if (now >= deadline) {
            apr_thread_mutex_unlock(child.mutex);
            unknown(conf, out);
            return;
        }
        apr_thread_cond_timedwait(child.done, child.mutex, deadline - now);
        now = apr_time_now();
    }
    sh->probing = 1;
    sh->probe_began = now;
    before = sh->last;
    apr_thread_mutex_unlock(child.mutex);

    probe(r, conf, sh, out);
    log_changes(r, conf, before.at ? &before : NULL, out);

    apr_thread_mutex_lock(child.mutex);
    sh->last = *out;
    sh->probing = 0;
    apr_thread_cond_broadcast(child.done);
    apr_thread_mutex_unlock(child.mutex);
}

static int authproxy_health_handler(request_rec *r)
{
    const authproxy_server_conf *conf;
    json_t *answer, *reasons;
    result_t result;
    char *text;
    int i, ready = 1;

    if (!r->handler || strcmp(r->handler, AUTHPROXY_HEALTH_HANDLER)) {
        return DECLINED;
    }
    /* what a 405 names in Allow; HEAD comes with GET */
    ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    conf = authproxy_sconf(r->server);
    if (!conf->upstream) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(094)
                      "SetHandler %s in a server without %s: 404", AUTHPROXY_HEALTH_HANDLER,
                      AUTHPROXY_DIR_UPSTREAM);
        return HTTP_NOT_FOUND;
    }
    current(r, conf, &result);

    answer = json_object();
    reasons = json_object();
    for (i = 0; i < PARTS; i++) {
        const part_t *part = &result.parts[i];

        json_object_set_new(answer, part_names[i],
                            json_string(part->state == PART_OK ? "ok"
                                        : part->state == PART_DOWN ? "down" : off_names[i]));
        if (part->state == PART_DOWN) {
            ready = 0;
            json_object_set_new(reasons, part_names[i], json_string(part->why));
        }
    }
    if (json_object_size(reasons)) {
        json_object_set(answer, "reasons", reasons);
    }
    json_decref(reasons);
    text = json_dumps(answer, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(answer);

    r->status = ready ? HTTP_OK : HTTP_SERVICE_UNAVAILABLE;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (text && !r->header_only) {
        ap_rprintf(r, "%s\n", text);
    }
    free(text);
    return OK;
}

void authproxy_health_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(authproxy_health_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(authproxy_health_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
