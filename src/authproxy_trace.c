/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxyTraceParent: a trace in the upstream links to the page whose
 * request made the module ask it. The client's traceparent is read strictly
 * (authproxy_traceparent_parse) and never sent on as it came: the call goes
 * out in a span of the module's, with the trace id and the sampled flag it
 * came with. The client's tracestate is not sent: it is the client's to
 * write, and the upstream is an authentication server that needs none of it.
 *
 * The single flight (authproxy_flight.c) shares one fetch among concurrent
 * requests of one cookie: the fetch carries the trace of the request that
 * made it; those that waited for its answer made no call, and carry none. */
#include <apr_encode.h>
#include <apr_strings.h>
#include <http_request.h>
#include <openssl/rand.h>

#include "authproxy_config.h"
#include "authproxy_trace.h"

#define TRACE_HEADER "traceparent"
#define TRACE_VAR "AUTHPROXY_TRACEPARENT"

/* A new trace, sampled: the request asked for a trace to be started, and the
 * access log (AUTHPROXY_TRACEPARENT) records its id. 0 when OpenSSL has no
 * random bytes. */
static int new_trace(apr_pool_t *p, authproxy_trace_t *trace)
{
    unsigned char id[AUTHPROXY_TRACE_ID_HEX / 2];
    const char *hex;

    if (RAND_bytes(id, sizeof(id)) != 1
        || !(hex = apr_pencode_base16_binary(p, id, sizeof(id), APR_ENCODE_LOWER, NULL))) {
        return 0;
    }
    apr_cpystrn(trace->trace_id, hex, sizeof(trace->trace_id));
    trace->sampled = 1;
    return 1;
}

/* The request's traceparent, or NULL: worked out once. */
static const char *make(request_rec *r, const authproxy_server_conf *conf)
{
    int mode = authproxy_trace_mode(conf);
    unsigned char span[AUTHPROXY_SPAN_ID_BYTES];
    authproxy_trace_t trace;
    const char *traceparent = NULL;

    if (mode == AUTHPROXY_TRACE_OFF) {
        return NULL;
    }
    if (!authproxy_traceparent_parse(apr_table_get(r->headers_in, TRACE_HEADER), &trace)
        && (mode != AUTHPROXY_TRACE_GENERATE || !new_trace(r->pool, &trace))) {
        return NULL;
    }
    /* the span's id is made anew: an all-zero one (2^-64) is no span, and
     * the call goes without */
    if (RAND_bytes(span, sizeof(span)) == 1) {
        traceparent = authproxy_traceparent_make(r->pool, &trace, span);
    }
    if (!traceparent) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, AUTHPROXY_LOGNO(071)
                      "%s: no random bytes for a trace or span id: the call to the upstream "
                      "goes without a traceparent", AUTHPROXY_DIR_TRACE_PARENT);
    }
    return traceparent;
}

const char *authproxy_trace_parent(request_rec *r, const authproxy_server_conf *conf)
{
    authproxy_request_t *req = authproxy_request(authproxy_original(r));

    if (!req->trace_made) {
        req->trace_made = 1;
        if ((req->traceparent = make(r, conf))) {
            apr_table_setn(r->subprocess_env, TRACE_VAR, req->traceparent);
        }
    }
    return req->traceparent;
}

/* An internal redirect's target (an ErrorDocument, a RewriteRule in
 * .htaccess, a CGI's local Location) starts with the variable renamed
 * REDIRECT_*, and a call made on a later pass set it on the first: each
 * pass gets the request's own, for its application and for the access log,
 * which reads the last pass. Last, after the refresh. */
static int authproxy_trace_fixups(request_rec *r)
{
    const char *traceparent = authproxy_request(authproxy_original(r))->traceparent;

    if (traceparent) {
        apr_table_setn(r->subprocess_env, TRACE_VAR, traceparent);
    }
    return DECLINED;
}

void authproxy_trace_register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(authproxy_trace_fixups, NULL, NULL, APR_HOOK_LAST);
}
