/* libFuzzer target for papi_procstatus_parse, the reader of /proc/<pid>/status (whose Name line a
 * process sets itself). An accepted text must carry a positive pid and a uid, and never be read
 * past len (the input is copied to exactly its size). */
#include "papi_fuzz.h"
#include "papi_procstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    papi_procstatus st;
    char *in = malloc(size ? size : 1);

    CHECK(in != NULL);
    memcpy(in, data, size);
    if (papi_procstatus_parse(in, size, &st)) {
        CHECK(st.pid >= 1 && st.uid >= 0 && st.rss >= -1);
        CHECK(size > 0 && in[size - 1] == '\n');
    }
    free(in);
    return 0;
}
