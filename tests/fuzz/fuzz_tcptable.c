/* libFuzzer target for Linux's socket tables (/proc/net/tcp, /proc/net/tcp6), which the module
 * reads before it sends a process its connect password. The first input byte sets the size of
 * the pieces the rest is fed in (as read(2) may cut it anywhere); the rest is a table. Every
 * entry the reader passes on must also be what papi_tcp_parse_line makes of its line alone, and
 * no piece size may change which entries there are. */
#include "papi_fuzz.h"
#include "papi_tcptable.h"

typedef struct seen {
    papi_tcp_entry entries[64];
    int n;
    unsigned long total;
} seen;

static int keep(const papi_tcp_entry *e, void *data)
{
    seen *s = data;

    CHECK(e->state >= 0 && e->state <= 0xff);
    CHECK(e->uid <= 0xFFFFFFFFUL);
    if (s->n < 64)
        s->entries[s->n++] = *e;
    s->total++;
    return 0;
}

static void read_table(const char *text, size_t n, size_t piece, seen *s, unsigned long *malformed)
{
    papi_tcp_reader rd;
    size_t at;

    memset(s, 0, sizeof(*s));
    papi_tcp_reader_init(&rd, keep, s);
    for (at = 0; at < n; at += piece)
        CHECK(!papi_tcp_reader_feed(&rd, text + at, at + piece <= n ? piece : n - at));
    papi_tcp_reader_end(&rd);
    *malformed = rd.malformed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static seen whole, cut;
    unsigned long bad_whole, bad_cut;
    const char *text;
    size_t n, piece, i;
    papi_tcp_entry e;
    char *copy;

    if (size == 0)
        return 0;
    piece = data[0] ? data[0] : 1;
    n = size - 1;
    /* An exact-size copy, so ASan sees any read past the end. */
    copy = malloc(n ? n : 1);
    CHECK(copy != NULL);
    memcpy(copy, data + 1, n);
    text = copy;
    read_table(text, n, n ? n : 1, &whole, &bad_whole);
    read_table(text, n, piece, &cut, &bad_cut);
    CHECK(whole.total == cut.total && bad_whole == bad_cut);
    CHECK(!memcmp(whole.entries, cut.entries, (size_t)whole.n * sizeof(whole.entries[0])));
    /* The first line alone, parsed directly, is the first entry the reader gave (when the first
     * line is short enough to be one). */
    for (i = 0; i < n && text[i] != '\n'; i++)
        ;
    if (i < 512 && papi_tcp_parse_line(text, i, &e)) {
        CHECK(whole.n > 0);
        CHECK(!memcmp(&e, &whole.entries[0], sizeof(e)));
    }
    free(copy);
    return 0;
}
