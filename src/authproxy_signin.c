/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxySignInLimit: Auth.js has no limit of sign-in attempts, so its
 * Credentials and e-mail providers can be brute-forced, or used to flood
 * inboxes, through every app that forwards them. This file counts failed
 * sign-ins, read from the upstream's answers, and refuses a client or an
 * identifier over the limit with 429 before its sign-in is forwarded.
 *
 * A sign-in is a POST to <prefix>/callback/<provider> or
 * <prefix>/signin/<provider>. It fails when the answer says so
 * (error=CredentialsSignin in its Location or JSON url) or sends an e-mail
 * (verify-request?type=email); it succeeds when the answer sets the session
 * cookie, which clears the count of the address that sent it (only that:
 * never an identifier's, which the answer does not confirm, and never by
 * anything the client says of itself).
 *
 * Counts are named records of the shared cache (authproxy_cache.c), one per
 * client address (an IPv6 client's /64) or keyed hash of an identifier, in
 * the deployment's cache scope: every server in front of one Auth.js
 * deployment that shares the cache counts together. A record holds
 * "<count> <end>": failures since a period began and when it ends, or, at
 * the limit, when the ban ends; it expires then. socache has no atomic
 * increment: failures at the same moment on two servers may count once, so
 * the limit is approximate by the number of sign-ins in flight. A cache that
 * cannot be read limits nothing (the cache logs it). */
#include <apr_encode.h>
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authjs_signin.h"
#include "authjs_token.h"
#include "authproxy_cache.h"
#include "authproxy_config.h"
#include "authproxy_metrics.h"
#include "authproxy_origin.h"
#include "authproxy_signin.h"

#define BODY_FILTER "AUTHPROXY_SIGNIN_BODY"
#define ANSWER_FILTER "AUTHPROXY_SIGNIN_ANSWER"
/* The largest sign-in body read for its identifier: a form with room to spare. */
#define MAX_BODY 16384
/* The largest JSON answer read for its url: Auth.js's {"url": ...} is short. */
#define MAX_ANSWER 8192

/* The named records' purposes (authproxy_cache_get_named). */
#define BY_ADDRESS "signin-ip"
#define BY_IDENTIFIER "signin-user"
/* What a sign-in does when its counts cannot be read (the cache's log line). */
#define UNKNOWN "sign-in not limited"
/* HKDF's info for the identifiers' hashing key */
#define KEY_INFO "mod_authproxy sign-in counts"

/* One count a sign-in is under. */
typedef struct {
    const char *purpose;
    const char *name;
    authproxy_limited_e by;
    const char *shown;             /* for the log: an address, a hash's start */
} count_t;

/* A forwarded sign-in, for its answer's filter. */
typedef struct {
    apr_array_header_t *counts;    /* of count_t */
    apr_bucket_brigade *held;      /* a JSON answer, held until read whole */
} signin_t;

/* What a count's record says. */
typedef struct {
    apr_int64_t count;
    apr_int64_t end;               /* seconds since 1970 */
} tally_t;

/* A POST that Auth.js takes for a sign-in, its path's segments after the
 * prefix found as parseActionAndProviderId does (empty ones skipped):
 * callback/<provider> (Credentials answer there) or signin/<provider>
 * (e-mail providers send there). */
static int is_signin(request_rec *r, const authproxy_server_conf *conf)
{
    long rest = authproxy_path_match(authproxy_local_path(conf), r->uri);
    char *path, *state, *action;

    if (r->method_number != M_POST || rest < 0) {
        return 0;
    }
    path = apr_pstrdup(r->pool, r->uri + rest);
    action = apr_strtok(path, "/", &state);
    return action && (!strcmp(action, "callback") || !strcmp(action, "signin"))
           && apr_strtok(NULL, "/", &state) && !apr_strtok(NULL, "/", &state);
}

/* The client's address as httpd has it (mod_remoteip's where it runs); an
 * IPv6 client by its /64, which one host usually holds whole. */
static const char *address_of(request_rec *r)
{
#if APR_HAVE_IPV6
    const apr_sockaddr_t *sa = r->useragent_addr;

    if (sa && sa->family == APR_INET6) {
        const unsigned char *b = (const unsigned char *)&sa->sa.sin6.sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&sa->sa.sin6.sin6_addr)) {
            return apr_psprintf(r->pool, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
        }
        return apr_psprintf(r->pool, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", b[0], b[1],
                            b[2], b[3], b[4], b[5], b[6], b[7]);
    }
#endif
    return r->useragent_ip;
}

/* An identifier's HMAC-SHA256 under a key of the upstream's first secret, in hex:
 * the cache holds no addresses, and nobody without the secret can tell
 * whose count a record is. NULL when OpenSSL fails. */
static const char *keyed_hash(request_rec *r, const authproxy_server_conf *conf, const char *id)
{
    const char *secret = APR_ARRAY_IDX(conf->secrets, 0, const char *);
    unsigned char key[32], mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    /* a key of the secret's own for this use: what lands in a shared cache
     * is never a MAC under the key Auth.js's tokens come from */
    if (!authjs_hkdf_sha256(secret, "", KEY_INFO, key, sizeof(key))
        || !HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)id, strlen(id), mac,
                 &len)) {
        return NULL;
    }
    return apr_pencode_base16_binary(r->pool, mac, len, APR_ENCODE_LOWER, NULL);
}

static void add_count(apr_array_header_t *counts, const char *purpose, const char *name,
                      authproxy_limited_e by, const char *shown)
{
    count_t *c = apr_array_push(counts);

    c->purpose = purpose;
    c->name = name;
    c->by = by;
    c->shown = shown;
}

/* Hands the body read before on to mod_proxy, as HTTP_IN would have: the
 * upstream gets it unchanged. */
static apr_status_t body_filter(ap_filter_t *f, apr_bucket_brigade *bb, ap_input_mode_t mode,
                                apr_read_type_e block, apr_off_t readbytes)
{
    apr_bucket_brigade *kept = f->ctx;
    apr_bucket *after;
    apr_status_t rv;

    if (mode != AP_MODE_READBYTES || APR_BRIGADE_EMPTY(kept)) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    if ((rv = apr_brigade_partition(kept, readbytes, &after)) != APR_SUCCESS
        && rv != APR_INCOMPLETE) {
        return rv;
    }
    while (!APR_BRIGADE_EMPTY(kept) && APR_BRIGADE_FIRST(kept) != after) {
        apr_bucket *b = APR_BRIGADE_FIRST(kept);

        APR_BUCKET_REMOVE(b);
        APR_BRIGADE_INSERT_TAIL(bb, b);
    }
    return APR_SUCCESS;
}

/* The body, read whole (at most MAX_BODY bytes) and kept for mod_proxy;
 * OK, or the status the request gets. */
static int read_body(request_rec *r, const char **text, apr_size_t *len)
{
    apr_bucket_brigade *kept = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    const char *length = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t total = 0, got;
    char *flat;
    int eos = 0;

    if (length && (apr_atoi64(length) > MAX_BODY || apr_atoi64(length) < 0)) {
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    while (!eos) {
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);
        apr_bucket *b;

        if (rv != APR_SUCCESS) {
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        if (APR_BRIGADE_EMPTY(bb)) {
            return HTTP_BAD_REQUEST;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
            eos = eos || APR_BUCKET_IS_EOS(b);
            if ((rv = apr_bucket_setaside(b, r->pool)) != APR_SUCCESS && rv != APR_ENOTIMPL) {
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        apr_brigade_length(bb, 1, &got);
        APR_BRIGADE_CONCAT(kept, bb);
        if ((total += got) > MAX_BODY) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    *len = (apr_size_t)total;
    flat = apr_palloc(r->pool, *len + 1);
    apr_brigade_flatten(kept, flat, len);
    flat[*len] = '\0';
    *text = flat;
    ap_add_input_filter(BODY_FILTER, kept, r, r->connection);
    return OK;
}

/* The record of a count; a status other than success or not-found is the
 * cache's failure (logged there). */
static apr_status_t read_tally(request_rec *r, const authproxy_server_conf *conf,
                               const count_t *c, tally_t *t)
{
    const char *value;
    char *end;
    apr_status_t rv = authproxy_cache_get_named(conf, r->server, r->pool, c->purpose, c->name,
                                                UNKNOWN, &value);

    t->count = t->end = 0;
    if (rv == APR_SUCCESS) {
        apr_int64_t latest = apr_time_sec(apr_time_now()) + AUTHPROXY_MAX_SIGNIN_SECONDS;

        /* whatever else wrote it: a count within the limits, an end no later
         * than a period or ban could be */
        t->count = apr_strtoi64(value, &end, 10);
        t->end = *end == ' ' ? apr_strtoi64(end + 1, NULL, 10) : 0;
        t->count = t->count < 0 ? 0 : t->count > AUTHPROXY_MAX_SIGNIN_LIMIT
                                      ? AUTHPROXY_MAX_SIGNIN_LIMIT : t->count;
        t->end = t->end < 0 ? 0 : t->end > latest ? latest : t->end;
    }
    return rv;
}

static int answer_429(request_rec *r, const count_t *c, apr_time_t left)
{
    authproxy_metrics_signin_limited(authproxy_sconf(r->server), c->by);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(090)
                  "sign-in refused (429): %s is over %s for %" APR_TIME_T_FMT " s more",
                  c->shown, AUTHPROXY_DIR_SIGNIN_LIMIT, left);
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT, left));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_TOO_MANY_REQUESTS;
}

/* Before a sign-in is forwarded: refused with 429 while one of its counts
 * is banned, else forwarded with its counts noted for its answer. */
static int authproxy_signin_fixups(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    int limit = authproxy_signin_limit(conf), by = conf->signin_by, i, rc;
    apr_time_t now = apr_time_now(), longest = 0;
    const count_t *over = NULL;
    signin_t *signin;

    /* an internal redirect is a sign-in too (a RewriteRule of a pretty URL
     * in a per-directory context); an error page is fetched with GET */
    if (!limit || r->main || !authproxy_is_route(r) || !conf->cache || !is_signin(r, conf)) {
        return DECLINED;
    }
    signin = apr_pcalloc(r->pool, sizeof(*signin));
    signin->counts = apr_array_make(r->pool, 3, sizeof(count_t));
    if (by != AUTHPROXY_SIGNIN_BY_IP) {
        /* every Content-Type the upstream is sent, as it joins them */
        const char *type = apr_table_getm(r->pool, r->headers_in, "Content-Type");
        const char *body = NULL, *name, *why;
        apr_size_t len = 0;
        apr_array_header_t *ids = NULL;

        if ((why = authjs_signin_unreadable(r->pool, type,
                                            apr_table_getm(r->pool, r->headers_in,
                                                           "Content-Encoding")))) {
            rc = HTTP_UNSUPPORTED_MEDIA_TYPE;
        }
        else if ((rc = read_body(r, &body, &len)) != OK) {
            why = apr_psprintf(r->pool, "its body could not be read whole within %d bytes",
                               MAX_BODY);
        }
        else if (!(ids = authjs_signin_identifiers(r->pool, type, body, len, &why))) {
            rc = HTTP_BAD_REQUEST;
        }
        if (why) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(091)
                          "sign-in refused (%d): %s (%s)", rc, why,
                          AUTHPROXY_DIR_SIGNIN_LIMIT);
            return rc;
        }
        for (i = 0; i < ids->nelts; i++) {
            if (!(name = keyed_hash(r, conf, APR_ARRAY_IDX(ids, i, const char *)))) {
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            add_count(signin->counts, BY_IDENTIFIER, name, AUTHPROXY_LIMITED_USER,
                      apr_pstrcat(r->pool, "the identifier hashed ",
                                  apr_pstrmemdup(r->pool, name, 12), "...", NULL));
        }
        /* a body that names no identifier (an OAuth callback's, or one of a
         * type Auth.js does not read) is counted by its address: never
         * uncounted, and never under one count that anyone could exhaust */
        if (!ids->nelts) {
            by = AUTHPROXY_SIGNIN_BY_BOTH;
        }
    }
    if (by != AUTHPROXY_SIGNIN_BY_USER) {
        const char *address = address_of(r);

        add_count(signin->counts, BY_ADDRESS, address, AUTHPROXY_LIMITED_IP, address);
    }
    for (i = 0; i < signin->counts->nelts; i++) {
        const count_t *c = &APR_ARRAY_IDX(signin->counts, i, count_t);
        tally_t t;
        apr_time_t end;

        if (read_tally(r, conf, c, &t) != APR_SUCCESS || t.count < limit) {
            continue;
        }
        end = apr_time_from_sec(t.end);
        if (end > now && end - now > longest) {
            longest = end - now;
            over = c;
        }
    }
    if (over) {
        /* whole seconds, rounded up: a client that waits that long is let in */
        return answer_429(r, over, (longest + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
    }
    ap_add_output_filter(ANSWER_FILTER, signin, r, r->connection);
    return DECLINED;
}

/* One more failure for a count: a new period where the last one ended,
 * the ban at the limit (said once, by the server that counted it). */
static void count_failure(request_rec *r, const authproxy_server_conf *conf, const count_t *c)
{
    int limit = authproxy_signin_limit(conf);
    apr_int64_t now = apr_time_sec(apr_time_now());
    tally_t t;
    apr_status_t rv = read_tally(r, conf, c, &t);

    if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv)) {
        return;
    }
    if (t.end <= now) {
        t.count = 0;
        t.end = now + conf->signin_period;
    }
    /* a sign-in that was under way when the ban began does not lengthen it */
    if (t.count >= limit) {
        return;
    }
    if (++t.count == limit) {
        t.end = now + authproxy_signin_ban(conf);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(086)
                      "%s: %s failed to sign in %d times within %d s: its sign-ins get 429 "
                      "for %d s", AUTHPROXY_DIR_SIGNIN_LIMIT, c->shown, limit,
                      conf->signin_period, authproxy_signin_ban(conf));
    }
    authproxy_cache_put_named(conf, r->server, r->pool, c->purpose, c->name,
                              apr_psprintf(r->pool, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT,
                                           t.count, t.end),
                              apr_time_from_sec(t.end));
}

/* The answer signed the client in: it sets the session cookie. */
static int signed_in(request_rec *r)
{
    return authproxy_answer_sets_session_cookie(r, 1);
}

/* What the answer says: a sign-in counts as failed where it was refused or
 * sent an e-mail, or where its answer could not be read (`unread`) and
 * does not sign in: Auth.js's refusal is short (unless the client made its
 * origin long: a wildcard ServerAlias takes a Host of 8 KiB) and plain; a
 * sign-in clears the address's count. */
static void judge(request_rec *r, const signin_t *signin, const char *url, int unread)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    authjs_signin_outcome_e outcome = unread && !signed_in(r) ? AUTHJS_SIGNIN_REFUSED
                                                              : authjs_signin_outcome(url);
    int i;

    for (i = 0; i < signin->counts->nelts; i++) {
        const count_t *c = &APR_ARRAY_IDX(signin->counts, i, count_t);

        if (outcome != AUTHJS_SIGNIN_OTHER) {
            count_failure(r, conf, c);
        }
        else if (c->by == AUTHPROXY_LIMITED_IP && signed_in(r)) {
            authproxy_cache_remove_named(conf, r->server, r->pool, c->purpose, c->name);
        }
    }
}

/* A JSON answer (X-Auth-Return-Redirect) is held until it is whole, at most
 * MAX_ANSWER bytes, and read for its url; anything else is judged by its
 * Location at once. Everything passes on unchanged. */
static apr_status_t answer_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    signin_t *signin = f->ctx;
    const char *type = r->content_type;
    apr_off_t held = 0;
    apr_bucket *b;
    int whole;

    if (!signin->held) {
        const char *location = apr_table_get(r->headers_out, "Location");

        /* whatever the status: next-auth 4 answers {"url"} with 401 */
        if (location || !type || strncasecmp(type, "application/json", 16)) {
            judge(r, signin, location, 0);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        /* compressed though the module asked for no encoding: not read */
        if (apr_table_get(r->headers_out, "Content-Encoding")) {
            judge(r, signin, NULL, 1);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        signin->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
    }
    /* flushes are held too: mod_proxy sends one whenever the upstream pauses */
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb) && !APR_BUCKET_IS_EOS(b);
         b = APR_BUCKET_NEXT(b)) {
    }
    whole = b != APR_BRIGADE_SENTINEL(bb);
    if (ap_save_brigade(f, &signin->held, &bb, r->pool) != APR_SUCCESS
        || apr_brigade_length(signin->held, 1, &held) != APR_SUCCESS) {
        held = MAX_ANSWER + 1;
    }
    if (!whole && held <= MAX_ANSWER) {
        return APR_SUCCESS;
    }
    if (held <= MAX_ANSWER) {
        char *text;
        apr_size_t len;

        if (apr_brigade_pflatten(signin->held, &text, &len, r->pool) == APR_SUCCESS) {
            judge(r, signin, authjs_signin_answer_url(r->pool, text, len), 0);
        }
    }
    else {
        judge(r, signin, NULL, 1);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, signin->held);
}

void authproxy_signin_register_hooks(apr_pool_t *p)
{
    /* last: nothing is read of the body before the request is otherwise ready */
    ap_hook_fixups(authproxy_signin_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_register_input_filter(BODY_FILTER, body_filter, NULL, AP_FTYPE_RESOURCE);
    ap_register_output_filter(ANSWER_FILTER, answer_filter, NULL, AP_FTYPE_CONTENT_SET);
}
