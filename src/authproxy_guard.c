/* SPDX-License-Identifier: Apache-2.0 */
/* A route's answer guard: the AUTHPROXY_GUARD input filter on the upstream
 * connection, armed by mod_proxy's create_req hook for each route's answer.
 * mod_proxy_http reads the answer through it; the route (authproxy_route.c)
 * maps a timeout it notes to 504. */
#include <mod_proxy.h>

#include "authproxy.h"
#include "authproxy_config.h"
#include "authproxy_guard.h"

/* What mod_proxy leaves unbounded in an upstream's answer, bounded for the
 * routes: its timeout holds for each read, so an upstream that drips its
 * answer a byte at a time could hold a route for ever; it takes any number
 * of header lines, so an endless head could take a child's memory; and it
 * takes a first line that is not HTTP for an HTTP/0.9 answer. So a route's
 * answer must come whole within AuthProxyTimeout of its request, with a head
 * of at most AUTHPROXY_MAX_ANSWER_HEAD bytes that starts with an HTTP/1.x
 * status line. The guard sits on the upstream connection and holds for the
 * answer being read; it stands down (deadline 0) for a request that is not a
 * route but shares mod_proxy's worker. */
typedef struct authproxy_answer_guard {
    apr_time_t deadline;
    apr_size_t head_bytes;          /* of the answer's head read so far */
    int head_done;                  /* its empty line has been read */
    authproxy_request_t *route;     /* whose answer it is, told of a timeout */
    apr_bucket_brigade *piece;      /* of a line, made once: the connection's pool lasts */
} answer_guard_t;

/* Auth.js sets a few cookies: a head this size is no Auth.js answer. */
#define AUTHPROXY_MAX_ANSWER_HEAD (256 * 1024)

static apr_size_t brigade_bytes(apr_bucket_brigade *bb)
{
    apr_off_t len = 0;

    apr_brigade_length(bb, 0, &len);
    return len > 0 ? (apr_size_t)len : 0;
}

/* The line just read (the last `len` bytes of bb) as the head goes. */
static apr_status_t check_head_line(ap_filter_t *f, answer_guard_t *g, apr_bucket_brigade *bb,
                                    apr_size_t len)
{
    char first[8] = "";
    apr_size_t got = sizeof(first);

    if (g->head_done || len == 0) {
        return APR_SUCCESS;
    }
    apr_brigade_flatten(bb, first, &got);
    if (got <= 2 && (first[0] == '\n' || (first[0] == '\r' && first[1] == '\n'))) {
        /* a stray line end before the status line, or the end of the head */
        g->head_done = g->head_bytes > 0;
        return APR_SUCCESS;
    }
    if (g->head_bytes == 0 && (got < 7 || memcmp(first, "HTTP/1.", 7) != 0)) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, f->c, AUTHPROXY_LOGNO(022)
                      "upstream answer is not HTTP/1.x");
        return APR_EGENERAL;
    }
    g->head_bytes += len;
    if (g->head_bytes > AUTHPROXY_MAX_ANSWER_HEAD) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, f->c, AUTHPROXY_LOGNO(023)
                      "upstream answer's head passed %d bytes", AUTHPROXY_MAX_ANSWER_HEAD);
        return APR_ENOSPC;
    }
    return APR_SUCCESS;
}

/* The last byte of the brigade is a line's end. */
static int ends_a_line(apr_bucket_brigade *bb)
{
    apr_bucket *last = APR_BRIGADE_LAST(bb);
    const char *data;
    apr_size_t len;

    if (last == APR_BRIGADE_SENTINEL(bb) || !APR_BUCKET_IS_METADATA(last)) {
        return last != APR_BRIGADE_SENTINEL(bb)
               && apr_bucket_read(last, &data, &len, APR_BLOCK_READ) == APR_SUCCESS
               && len > 0 && data[len - 1] == '\n';
    }
    return 1;
}

/* A line, read in as many non-blocking pieces as it comes in (the core reads
 * a whole line in one call, a recv() at a time, each with the full timeout),
 * waiting at most until the deadline. */
static apr_status_t read_line_before(ap_filter_t *f, const answer_guard_t *g,
                                     apr_socket_t *sock, apr_interval_time_t timeout,
                                     apr_bucket_brigade *bb, apr_read_type_e block,
                                     apr_off_t readbytes)
{
    apr_bucket_brigade *piece = g->piece;
    apr_time_t deadline = g->deadline;
    apr_interval_time_t left;
    apr_size_t got = brigade_bytes(bb);
    apr_status_t rv;

    for (;;) {
        rv = ap_get_brigade(f->next, piece, AP_MODE_GETLINE, APR_NONBLOCK_READ, readbytes);
        /* nothing yet (mod_ssl says so, the core returns nothing) */
        if (APR_STATUS_IS_EAGAIN(rv)) {
            rv = APR_SUCCESS;
        }
        if (rv != APR_SUCCESS) {
            apr_brigade_cleanup(piece);
            return APR_BRIGADE_EMPTY(bb) ? rv : APR_SUCCESS;
        }
        /* counted piece by piece: a line dripped a byte at a time is as many
         * buckets, which measuring bb each time would walk again and again */
        got += brigade_bytes(piece);
        APR_BRIGADE_CONCAT(bb, piece);
        if (block == APR_NONBLOCK_READ || ends_a_line(bb) || got >= (apr_size_t)HUGE_STRING_LEN) {
            return APR_SUCCESS;
        }
        left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        /* wait for more through the filters below, not on the socket: mod_ssl
         * may hold what it has read (with TLS 1.3 it reads the answer along
         * with the session tickets), and the socket would stay silent */
        apr_socket_timeout_set(sock, timeout >= 0 && timeout < left ? timeout : left);
        rv = ap_get_brigade(f->next, piece, AP_MODE_SPECULATIVE, APR_BLOCK_READ, 1);
        apr_brigade_cleanup(piece);
        apr_socket_timeout_set(sock, timeout);
        if (rv != APR_SUCCESS) {
            /* the end of the answer ends the line read so far */
            return APR_STATUS_IS_EOF(rv) && !APR_BRIGADE_EMPTY(bb) ? APR_SUCCESS : rv;
        }
    }
}

static apr_status_t guarded_read(ap_filter_t *f, answer_guard_t *g, apr_socket_t *sock,
                                 apr_bucket_brigade *bb, ap_input_mode_t mode,
                                 apr_read_type_e block, apr_off_t readbytes)
{
    apr_interval_time_t timeout, left = g->deadline - apr_time_now();
    apr_size_t before;
    apr_status_t rv;

    if (left <= 0) {
        return APR_TIMEUP;
    }
    /* for this read only: mod_proxy sets a socket's timeout once, as it connects */
    apr_socket_timeout_get(sock, &timeout);
    if (mode != AP_MODE_GETLINE) {
        apr_socket_timeout_set(sock, timeout >= 0 && timeout < left ? timeout : left);
        rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
        apr_socket_timeout_set(sock, timeout);
        return rv;
    }
    before = brigade_bytes(bb);
    rv = read_line_before(f, g, sock, timeout, bb, block, readbytes);
    return rv == APR_SUCCESS ? check_head_line(f, g, bb, brigade_bytes(bb) - before) : rv;
}

static apr_status_t authproxy_guard_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                           ap_input_mode_t mode, apr_read_type_e block,
                                           apr_off_t readbytes)
{
    answer_guard_t *g = f->ctx;
    apr_socket_t *sock = ap_get_conn_socket(f->c);
    apr_status_t rv;

    if (!g->deadline || !sock) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    rv = guarded_read(f, g, sock, bb, mode, block, readbytes);
    /* mod_proxy notes a timeout of the status line only: one in the headers
     * or the body is a 504 too */
    if (APR_STATUS_IS_TIMEUP(rv) && g->route) {
        g->route->upstream_timed_out = 1;
    }
    return rv;
}

/* The guard, and the route it was armed for. */
typedef struct {
    answer_guard_t *guard;
    authproxy_request_t *route;
} armed_t;

/* A route's request ends: the guard must not tell it of anything after. Its
 * pool can go after the next route has armed the guard (the upstream
 * connection goes back to mod_proxy first), so only its own route is let go. */
static apr_status_t disarm(void *data)
{
    const armed_t *armed = data;

    if (armed->guard->route == armed->route) {
        armed->guard->route = NULL;
    }
    return APR_SUCCESS;
}

/* mod_proxy_http calls this as it starts to read an answer from `backend`'s
 * connection, after the request went out. */
static int authproxy_guard_proxy_create_req(request_rec *r, request_rec *backend)
{
    conn_rec *c = backend->connection;
    authproxy_connection_t *conn = authproxy_connection(c);
    answer_guard_t *g = conn->guard;
    armed_t *armed;

    if (!authproxy_is_route(r)) {
        if (g) {
            g->deadline = 0;
            g->route = NULL;
        }
        return OK;
    }
    if (!g) {
        g = apr_pcalloc(c->pool, sizeof(*g));
        g->piece = apr_brigade_create(c->pool, c->bucket_alloc);
        conn->guard = g;
        ap_add_input_filter(AUTHPROXY_GUARD_FILTER, g, NULL, c);
        /* the answer is read through the filters as they were when it began */
        backend->input_filters = backend->proto_input_filters = c->input_filters;
    }
    g->deadline = apr_time_now()
                  + apr_time_from_sec(authproxy_timeout(authproxy_sconf(r->server)));
    g->head_bytes = 0;
    g->head_done = 0;
    armed = apr_palloc(r->pool, sizeof(*armed));
    armed->guard = g;
    armed->route = g->route = authproxy_request(r);
    apr_pool_cleanup_register(r->pool, armed, disarm, apr_pool_cleanup_null);
    return OK;
}

void authproxy_guard_register_hooks(apr_pool_t *p)
{
    APR_OPTIONAL_HOOK(proxy, create_req, authproxy_guard_proxy_create_req, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_register_input_filter(AUTHPROXY_GUARD_FILTER, authproxy_guard_filter, NULL,
                             AP_FTYPE_CONNECTION);
}
