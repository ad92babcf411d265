/* SPDX-License-Identifier: Apache-2.0 */
/* The entry points libFuzzer (and tests/fuzz/replay.c) call, and the pool of
 * the targets that fuzz_pool.c starts. */
#ifndef FUZZ_POOL_H
#define FUZZ_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <apr_general.h>
#include <apr_pools.h>

extern apr_pool_t *fuzz_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
