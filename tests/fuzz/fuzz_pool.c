/* SPDX-License-Identifier: Apache-2.0 */
/* The start of the fuzz targets that need only APR and a pool: each input
 * works in a subpool of fuzz_pool. */
#include "fuzz_pool.h"

apr_pool_t *fuzz_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&fuzz_pool, NULL);
    return 0;
}
