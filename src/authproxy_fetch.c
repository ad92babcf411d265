/* SPDX-License-Identifier: Apache-2.0 */
/* GET <upstream>/session with libcurl, for database sessions and for JWT
 * sessions without a local secret; the readiness probe's GET of /providers
 * goes the same way (authproxy_fetch_get).
 *
 * Each child keeps a pool of easy handles: a handle keeps its connections
 * alive, so most fetches reuse a connection to the upstream. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <curl/curl.h>
#include <http_protocol.h>

#include "authproxy_fetch.h"
#include "authproxy_headers.h"
#include "authproxy_identity.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"
#include "authproxy_trace.h"

typedef struct {
    apr_thread_mutex_t *mutex;
    apr_array_header_t *idle;      /* of CURL * */
} handle_pool_t;

static handle_pool_t handles;

typedef struct {
    char *data;
    apr_size_t len, cap;
    int too_large;
    apr_pool_t *pool;
} body_t;

static apr_status_t release_handles(void *unused)
{
    int i;

    for (i = 0; i < handles.idle->nelts; i++) {
        curl_easy_cleanup(APR_ARRAY_IDX(handles.idle, i, CURL *));
    }
    handles.idle->nelts = 0;
    curl_global_cleanup();
    return APR_SUCCESS;
}

static void authproxy_fetch_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, AUTHPROXY_LOGNO(012)
                     "libcurl did not initialise: upstream /session fetches will fail");
    }
    if ((rv = apr_thread_mutex_create(&handles.mutex, APR_THREAD_MUTEX_DEFAULT, p))
        != APR_SUCCESS) {
        /* no pool then: each fetch makes a handle of its own, and frees it */
        handles.mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, AUTHPROXY_LOGNO(013)
                     "no mutex for the child's libcurl handles: /session fetches keep no "
                     "connection alive");
    }
    handles.idle = apr_array_make(p, 16, sizeof(CURL *));
    apr_pool_cleanup_register(p, NULL, release_handles, apr_pool_cleanup_null);
}

static CURL *take_handle(void)
{
    CURL *h = NULL;

    if (handles.mutex) {
        apr_thread_mutex_lock(handles.mutex);
        if (handles.idle->nelts > 0) {
            h = APR_ARRAY_IDX(handles.idle, --handles.idle->nelts, CURL *);
        }
        apr_thread_mutex_unlock(handles.mutex);
    }
    if (h) {
        curl_easy_reset(h);   /* keeps the handle's live connections */
        return h;
    }
    return curl_easy_init();
}

static void give_back(CURL *h)
{
    if (!handles.mutex) {
        curl_easy_cleanup(h);
        return;
    }
    apr_thread_mutex_lock(handles.mutex);
    APR_ARRAY_PUSH(handles.idle, CURL *) = h;
    apr_thread_mutex_unlock(handles.mutex);
}

static size_t collect(char *chunk, size_t size, size_t n, void *userdata)
{
    body_t *body = userdata;
    apr_size_t len = size * n;

    if (body->len + len > AUTHJS_SESSION_MAX_ANSWER) {
        body->too_large = 1;
        return 0;   /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (body->len + len > body->cap) {
        apr_size_t cap = body->cap ? body->cap * 2 : 1024;
        char *grown;

        while (cap < body->len + len) {
            cap *= 2;
        }
        grown = apr_palloc(body->pool, cap);
        if (body->len) {
            memcpy(grown, body->data, body->len);
        }
        body->data = grown;
        body->cap = cap;
    }
    memcpy(body->data + body->len, chunk, len);
    body->len += len;
    return len;
}

/* A session cookie in chunks of 4 KiB, and the removal of as many stale
 * chunks: more Set-Cookie headers than that are not Auth.js's, and are
 * dropped. */
#define MAX_SET_COOKIES (2 * AUTHJS_COOKIE_MAX_CHUNKS + 2)
#define MAX_SET_COOKIE_BYTES (AUTHJS_COOKIE_MAX_CHUNKS * 4096 + 4096)

typedef struct {
    apr_array_header_t *values;
    apr_size_t bytes;
} set_cookies_t;

/* Keeps the answer's Set-Cookie values where the caller wants them. */
static size_t collect_set_cookie(char *line, size_t size, size_t n, void *userdata)
{
    static const char name[] = "Set-Cookie:";
    set_cookies_t *set_cookies = userdata;
    apr_size_t len = size * n;
    const char *value = line + sizeof(name) - 1, *end = line + len;

    if (len <= sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1) != 0
        || set_cookies->values->nelts >= MAX_SET_COOKIES
        || set_cookies->bytes + len > MAX_SET_COOKIE_BYTES) {
        return len;
    }
    set_cookies->bytes += len;
    while (value < end && (*value == ' ' || *value == '\t')) {
        value++;
    }
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) {
        end--;
    }
    APR_ARRAY_PUSH(set_cookies->values, const char *) =
        apr_pstrmemdup(set_cookies->values->pool, value, end - value);
    return len;
}

/* The request a fetch sends, and the first part of it that could not be
 * set: it goes out whole or not at all, never without, say, its timeout, its
 * TLS verification or an AuthProxyHeader. */
typedef struct {
    CURL *h;
    struct curl_slist *headers;
    apr_pool_t *pool;
    CURLcode rc;
    const char *failed;            /* the option or header that failed */
} outgoing_t;

static void outgoing_result(outgoing_t *out, CURLcode rc, const char *part)
{
    if (rc != CURLE_OK && out->rc == CURLE_OK) {
        out->rc = rc;
        out->failed = part;
    }
}

#define SET_OPTION(out, option, value) \
    outgoing_result(out, curl_easy_setopt((out)->h, option, value), #option)

static void header_add(void *ctx, const char *name, const char *value)
{
    outgoing_t *out = ctx;
    struct curl_slist *list = curl_slist_append(out->headers,
                                                apr_pstrcat(out->pool, name, ": ", value, NULL));

    /* a failed append leaves the list as it was */
    if (list) {
        out->headers = list;
    }
    else {
        outgoing_result(out, CURLE_OUT_OF_MEMORY, name);
    }
}

/* What every request to the upstream carries and how it goes: Accept and
 * the headers the routes send, straight to the upstream, no redirect
 * followed, TLS verified, within AuthProxyTimeout, the body collected up to
 * its limit. Headers added before this go out first. */
static void prepare(outgoing_t *out, const authproxy_server_conf *conf,
                    const authproxy_origin_t *origin, const char *url, body_t *body,
                    char *errbuf)
{
    long timeout_ms = authproxy_timeout(conf) * 1000L;

    header_add(out, "Accept", "application/json");
    authproxy_upstream_headers(conf, origin, header_add, out);
    SET_OPTION(out, CURLOPT_URL, url);
    SET_OPTION(out, CURLOPT_HTTPGET, 1L);
    SET_OPTION(out, CURLOPT_HTTPHEADER, out->headers);
    SET_OPTION(out, CURLOPT_PROTOCOLS_STR, "http,https");
    /* straight to the upstream, as mod_proxy's routes go: never through a
     * proxy named in httpd's environment (http_proxy, ALL_PROXY), which would
     * see every session cookie and could answer for the upstream */
    SET_OPTION(out, CURLOPT_PROXY, "");
    SET_OPTION(out, CURLOPT_FOLLOWLOCATION, 0L);
    SET_OPTION(out, CURLOPT_NOSIGNAL, 1L);
    SET_OPTION(out, CURLOPT_TIMEOUT_MS, timeout_ms);
    SET_OPTION(out, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SET_OPTION(out, CURLOPT_SSL_VERIFYPEER, 1L);
    SET_OPTION(out, CURLOPT_SSL_VERIFYHOST, 2L);
    if (conf->ca_file) {
        SET_OPTION(out, CURLOPT_CAINFO, conf->ca_file);
    }
    SET_OPTION(out, CURLOPT_USERAGENT, "mod_authproxy");
    SET_OPTION(out, CURLOPT_WRITEFUNCTION, collect);
    SET_OPTION(out, CURLOPT_WRITEDATA, body);
    SET_OPTION(out, CURLOPT_ERRORBUFFER, errbuf);
}

/* Sends the request, if it was set up whole, and lets go of the handle:
 * libcurl's code, and the answer's status where one came. */
static CURLcode perform(outgoing_t *out, long *status)
{
    CURLcode rc = out->rc;

    if (rc == CURLE_OK) {
        rc = curl_easy_perform(out->h);
        if (rc == CURLE_OK) {
            rc = curl_easy_getinfo(out->h, CURLINFO_RESPONSE_CODE, status);
        }
    }
    /* unchecked: should the handle keep pointing at the freed list, the reset
     * of its next use lets go of it */
    curl_easy_setopt(out->h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(out->headers);
    give_back(out->h);
    return rc;
}

apr_status_t authproxy_fetch_session(request_rec *r, const authproxy_identity_t *id,
                                     const authjs_session_t **session,
                                     apr_array_header_t *set_cookies)
{
    const authproxy_server_conf *conf = id->conf;
    authjs_session_t *found;
    set_cookies_t kept = { set_cookies, 0 };
    outgoing_t out = { take_handle(), NULL, r->pool, CURLE_OK, NULL };
    body_t body = { NULL, 0, 0, 0, r->pool };
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *why = NULL, *traceparent;
    long status = 0;
    CURLcode rc;
    apr_time_t started;

    *session = NULL;
    if (!out.h) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(014)
                      "no libcurl handle for %s", conf->session_url);
        return APR_EGENERAL;
    }
    header_add(&out, "Cookie", id->cookie.pairs);
    if ((traceparent = authproxy_trace_parent(r, conf))) {
        header_add(&out, "traceparent", traceparent);
    }
    prepare(&out, conf, id->origin, conf->session_url, &body, errbuf);
    if (set_cookies) {
        SET_OPTION(&out, CURLOPT_HEADERFUNCTION, collect_set_cookie);
        SET_OPTION(&out, CURLOPT_HEADERDATA, &kept);
    }
    started = apr_time_now();
    rc = perform(&out, &status);
    if (out.rc == CURLE_OK) {
        /* a refresh is the fetch that wants the cookies */
        authproxy_metrics_upstream(conf, set_cookies ? AUTHPROXY_KIND_REFRESH
                                                  : AUTHPROXY_KIND_SESSION,
                                   rc == CURLE_OK ? (int)status : 0, apr_time_now() - started);
    }

    if (out.rc != CURLE_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(015)
                      "upstream %s: cannot set %s (%s): no session", conf->session_url, out.failed,
                      curl_easy_strerror(out.rc));
        return APR_EGENERAL;
    }
    if (body.too_large) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(016)
                      "upstream %s answered with more than %d KiB: no session", conf->session_url,
                      AUTHJS_SESSION_MAX_ANSWER / 1024);
        return APR_EGENERAL;
    }
    if (rc != CURLE_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(017)
                      "upstream %s failed: %s: no session", conf->session_url,
                      *errbuf ? errbuf : curl_easy_strerror(rc));
        return APR_EGENERAL;
    }
    if (status != 200) {
        ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_ERR : APLOG_DEBUG, 0, r,
                      AUTHPROXY_LOGNO(018) "upstream %s answered %ld: no session",
                      conf->session_url, status);
        return APR_EGENERAL;
    }
    why = authjs_session_from_answer(r->pool, body.data ? body.data : "", body.len,
                                     apr_time_now(), &found);
    *session = found;
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(019)
                      "upstream %s: %s: no session", conf->session_url, why);
    }
    return APR_SUCCESS;
}

const char *authproxy_fetch_get(request_rec *r, const authproxy_server_conf *conf,
                                const char *url, long *status, const char **body,
                                apr_size_t *len)
{
    outgoing_t out = { take_handle(), NULL, r->pool, CURLE_OK, NULL };
    body_t answer = { NULL, 0, 0, 0, r->pool };
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;

    *status = 0;
    *body = NULL;
    *len = 0;
    if (!out.h) {
        return "no libcurl handle";
    }
    prepare(&out, conf, authproxy_public_origin(r), url, &answer, errbuf);
    rc = perform(&out, status);
    if (out.rc != CURLE_OK) {
        return apr_psprintf(r->pool, "cannot set %s", out.failed);
    }
    if (answer.too_large) {
        return apr_psprintf(r->pool, "answer larger than %d KiB",
                            AUTHJS_SESSION_MAX_ANSWER / 1024);
    }
    if (rc != CURLE_OK) {
        /* libcurl's text for the code, which names no host or URL */
        return curl_easy_strerror(rc);
    }
    *body = answer.data ? answer.data : "";
    *len = answer.len;
    return NULL;
}

void authproxy_fetch_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(authproxy_fetch_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
