/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as an upstream /session answer, then flattened. */
#include <stdint.h>

#include <apr_general.h>

#include "authjs_session.h"
#include "fuzz_pool.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    authjs_session_t *s;
    const char *why;

    apr_pool_create(&p, fuzz_pool);
    /* now = 0: every parsable expires lies ahead, so valid answers go all the way */
    why = authjs_session_from_answer(p, (const char *)data, size, 0, &s);
    if ((why == NULL) != (s != NULL)) {
        abort();
    }
    if (s) {
        authjs_session_vars(p, s, apr_table_make(p, 8));
    }
    apr_pool_destroy(p);
    return 0;
}
