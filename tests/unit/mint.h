/* SPDX-License-Identifier: Apache-2.0 */
/* Real tokens for the unit tests, minted by Auth.js's own encode() through
 * tests/upstream/mint.mjs (one node process for a whole batch). */
#ifndef TEST_MINT_H
#define TEST_MINT_H

#include <apr_pools.h>

/* Mints one token per JSON request line (see mint.mjs); returns the answer
 * lines in order, or aborts the test run when node cannot be run. */
char **mint_batch(apr_pool_t *p, const char *const *requests, int n);

#endif
