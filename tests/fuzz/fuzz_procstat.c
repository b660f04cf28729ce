/* libFuzzer target for papi_procstat_parse, the reader of /proc/<pid>/stat, whose comm field the
 * process names itself (any byte, parentheses and spaces included). An accepted line must read
 * the same ppid and start time as a reference reading of its own (the fields after the last ')',
 * by sscanf), and never read past len (the input is copied to exactly its size). */
#include "papi_fuzz.h"
#include "papi_identity.h"

#include <stdio.h>

/* The 4th and 22nd fields of text (NUL-terminated), counted after the last ')'. */
static int reference(const char *text, long long *ppid, unsigned long long *start)
{
    const char *close = strrchr(text, ')');

    return close && sscanf(close + 1, " %*c %lld %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
                                      "%*s %*s %*s %*s %*s %*s %llu", ppid, start) == 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    papi_procstat st;
    long long ppid;
    unsigned long long start;
    char *in = malloc(size ? size : 1), *text;

    CHECK(in != NULL);
    memcpy(in, data, size);
    if (papi_procstat_parse(in, size, &st)) {
        CHECK(st.ppid >= 0 && st.ppid <= 0x7fffffff);
        /* No NUL can be in an accepted line's fields: the reference reads it as a string. */
        text = malloc(size + 1);
        CHECK(text != NULL);
        memcpy(text, in, size);
        text[size] = '\0';
        if (!memchr(in, 0, size)) {
            CHECK(reference(text, &ppid, &start));
            CHECK(ppid == st.ppid && start == st.start);
        }
        free(text);
    }
    free(in);
    return 0;
}
