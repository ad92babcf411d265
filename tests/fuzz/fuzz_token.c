/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as a session token. The keyring is the one the
 * seed tokens were minted with, so mutations reach decryption and the claims. */
#include <stdint.h>
#include <stdlib.h>

#include <apr_general.h>

#include "authjs_token.h"

#define FUZZ_SECRET "fuzz-secret-0123456789abcdefghijklmnopqrstuv"

static apr_pool_t *pool;
static authjs_keyring_t *ring;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Debian's APR takes pool memory from mmap, which LeakSanitizer does not
 * scan: the keyring's OpenSSL objects are freed before its exit check. */
static void release(void)
{
    apr_pool_destroy(pool);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_array_header_t *secrets;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(secrets, const char *) = FUZZ_SECRET;
    if (authjs_keyring_create(pool, secrets, "authjs.session-token", &ring)) {
        abort();
    }
    atexit(release);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    json_t *claims = NULL;
    authjs_token_status_e status;

    apr_pool_create(&p, pool);
    /* now = 0: every seed's exp lies ahead, so valid ones get all the way through */
    status = authjs_token_decode(ring, (const char *)data, size, 0, p, &claims);
    if ((status == AUTHJS_TOKEN_VALID) != (claims != NULL) || !authjs_token_status_text(status)) {
        abort();
    }
    json_decref(claims);
    apr_pool_destroy(p);
    return 0;
}
