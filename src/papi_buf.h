/* A growable byte buffer that lives as long as its pool: answers are built here, then written
 * by the httpd glue in one go, or, for a buffer given a sink, handed on in pieces as they are
 * made (papi_buf_stream, papi_buf_cut) so that a large answer never sits in memory whole. */
#ifndef PAPI_BUF_H
#define PAPI_BUF_H

#include <apr_pools.h>

/* Where a streamed buffer's bytes go: what was written since the last call, in order. */
typedef void papi_buf_sink(void *ctx, const char *data, apr_size_t len);

typedef struct papi_buf {
    char *data;         /* always NUL-terminated after len */
    apr_size_t len;
    apr_size_t cap;
    papi_buf_sink *sink;    /* NULL: everything stays here */
    void *sink_ctx;
    apr_size_t sink_at;     /* hand on at a cut once len reaches this */
} papi_buf;

/* An empty buffer whose memory is freed when pool p is cleared. */
papi_buf *papi_buf_make(apr_pool_t *p, apr_size_t initial);

void papi_buf_add(papi_buf *b, const void *data, apr_size_t n);
void papi_buf_puts(papi_buf *b, const char *s);
void papi_buf_putc(papi_buf *b, char c);
void papi_buf_printf(papi_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A number in decimal, as printf's %llu and %lld write it, without printf's cost: a large
 * view writes some 400,000 of them. */
void papi_buf_uint64(papi_buf *b, apr_uint64_t u);
void papi_buf_int64(papi_buf *b, apr_int64_t v);

/* From now on, at every papi_buf_cut where at least at bytes are held, they are handed to
 * sink(ctx, ...) and the buffer starts empty again. What is left at the end is the caller's to
 * hand on (b->data, b->len). */
void papi_buf_stream(papi_buf *b, papi_buf_sink *sink, void *ctx, apr_size_t at);

/* A place where the answer may be cut (after a whole process, sample or row: writers that look
 * back at the last byte never look across one). Nothing happens without a sink. */
void papi_buf_cut(papi_buf *b);

#endif
