/* libFuzzer target for papi_inflight_parse, the reader of a core's server.json. An accepted answer
 * gives requests with a method and a path, a process id that is 0 or positive, longest-running
 * first (unknown ages last), never more than PAPI_INFLIGHT_MAX, and a total no smaller than what
 * was kept. */
#include "papi_fuzz.h"
#include "papi_inflight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *reqs;
    char *in = malloc(size ? size : 1);
    int total, i;

    CHECK(in != NULL);
    memcpy(in, data, size);
    apr_pool_create(&p, root);
    if (!papi_inflight_parse(p, in, size, &reqs, &total)) {
        CHECK(reqs->nelts <= PAPI_INFLIGHT_MAX && total >= reqs->nelts);
        for (i = 0; i < reqs->nelts; i++) {
            const papi_inflight *r = &APR_ARRAY_IDX(reqs, i, papi_inflight);
            CHECK(r->method && r->path && r->pid >= 0 && r->age >= -1);
            if (i)
                CHECK(APR_ARRAY_IDX(reqs, i - 1, papi_inflight).age >= r->age);
        }
    }
    apr_pool_destroy(p);
    free(in);
    return 0;
}
