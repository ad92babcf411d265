/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as the traceparent header a client sends
 * (AuthProxyTraceParent). What is taken is the header's own trace id; what
 * goes out for it is a version 00 traceparent that reads back as the same
 * trace; nothing else ever is. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "authproxy_util.h"
#include "fuzz_pool.h"

/* 32 lower-hex digits, not all zeros */
static int trace_id_ok(const char *id)
{
    return strlen(id) == AUTHPROXY_TRACE_ID_HEX
           && strspn(id, "0123456789abcdef") == AUTHPROXY_TRACE_ID_HEX
           && strspn(id, "0") < AUTHPROXY_TRACE_ID_HEX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char span[AUTHPROXY_SPAN_ID_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    authproxy_trace_t trace, again;
    const char *value, *made;
    apr_pool_t *p;

    apr_pool_create(&p, fuzz_pool);
    value = apr_pstrmemdup(p, (const char *)data, size);
    if (authproxy_traceparent_parse(value, &trace)) {
        /* the header's own id, from where version 00 has it */
        if (!trace_id_ok(trace.trace_id) || strlen(value) < 55
            || strncmp(value + 3, trace.trace_id, AUTHPROXY_TRACE_ID_HEX) != 0
            || !strncmp(value, "ff", 2)
            || (strlen(value) > 55 && (!strncmp(value, "00", 2) || value[55] != '-'))) {
            abort();
        }
        made = authproxy_traceparent_make(p, &trace, span);
        if (!made || strlen(made) != 55 || strncmp(made, "00-", 3) != 0
            || !authproxy_traceparent_parse(made, &again)
            || strcmp(again.trace_id, trace.trace_id) != 0 || again.sampled != trace.sampled) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
