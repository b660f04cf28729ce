/* What every fuzz target shares: APR set up once, a root pool (each input gets a sub-pool of it),
 * and CHECK, which turns a broken invariant into a crash libFuzzer keeps. */
#ifndef PAPI_FUZZ_H
#define PAPI_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS)
        abort();
    return 0;
}

#endif
