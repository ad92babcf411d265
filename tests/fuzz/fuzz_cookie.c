/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as a Cookie header, found and stripped, and as an
 * Authorization header read for a Bearer token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "authjs_cookie.h"
#include "fuzz_pool.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    authjs_cookie_t cookie;
    const char *header;

    apr_pool_create(&p, fuzz_pool);
    header = apr_pstrmemdup(p, (const char *)data, size);
    if (authjs_cookie_find(p, header, "authjs.session-token", &cookie) == AUTHJS_COOKIE_FOUND
        && !*cookie.value) {
        abort();
    }
    /* once stripped, no session cookie is left to find, not even a broken one */
    if (authjs_cookie_find(p, authjs_cookie_strip(p, header, "authjs.session-token"),
                           "authjs.session-token", &cookie) != AUTHJS_COOKIE_NONE) {
        abort();
    }
    /* a Bearer token is never empty and holds nothing that could end or add
     * a cookie in the /session fetch's Cookie header */
    if (authjs_cookie_bearer(p, header, "authjs.session-token", &cookie) == AUTHJS_COOKIE_FOUND
        && (!*cookie.value || strcspn(cookie.value, " \t\r\n;,\"\\") != strlen(cookie.value))) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
