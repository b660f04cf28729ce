/* A growable byte buffer. The bytes live in malloc'd memory, not in the pool: a pool never gives
 * memory back before it is cleared, so regrowing inside it would keep every old copy alive. A pool
 * cleanup frees the bytes when the pool is cleared or destroyed. */
#include "papi_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAPI_BUF_MIN_CAP 64

static apr_status_t papi_buf_cleanup(void *data)
{
    papi_buf *b = data;

    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    return APR_SUCCESS;
}

/* Like APR, treat running out of memory as fatal rather than as an error to report. */
static void *papi_checked_realloc(void *old, apr_size_t size)
{
    void *p = realloc(old, size);

    if (p == NULL)
        abort();
    return p;
}

/* Makes room for n more bytes plus the terminating NUL, doubling so appends cost O(1) amortised. */
static void papi_buf_reserve(papi_buf *b, apr_size_t n)
{
    apr_size_t need, cap;

    if (n < b->cap - b->len)
        return;
    if (n > APR_SIZE_MAX - b->len - 1)
        abort();
    need = b->len + n + 1;
    cap = b->cap;
    while (cap < need)
        cap = cap > APR_SIZE_MAX / 2 ? need : cap * 2;
    b->data = papi_checked_realloc(b->data, cap);
    b->cap = cap;
}

papi_buf *papi_buf_make(apr_pool_t *p, apr_size_t initial)
{
    papi_buf *b = apr_pcalloc(p, sizeof(*b));

    b->cap = initial < PAPI_BUF_MIN_CAP ? PAPI_BUF_MIN_CAP : initial;
    b->data = papi_checked_realloc(NULL, b->cap);
    b->data[0] = '\0';
    apr_pool_cleanup_register(p, b, papi_buf_cleanup, apr_pool_cleanup_null);
    return b;
}

void papi_buf_add(papi_buf *b, const void *data, apr_size_t n)
{
    if (n == 0)
        return;
    papi_buf_reserve(b, n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void papi_buf_puts(papi_buf *b, const char *s)
{
    papi_buf_add(b, s, strlen(s));
}

void papi_buf_putc(papi_buf *b, char c)
{
    papi_buf_add(b, &c, 1);
}

void papi_buf_printf(papi_buf *b, const char *fmt, ...)
{
    va_list ap, retry;
    int n;

    /* First try in the room there is; most calls fit, so most calls format once. */
    va_start(ap, fmt);
    va_copy(retry, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (apr_size_t)n >= b->cap - b->len) {
        papi_buf_reserve(b, (apr_size_t)n);
        n = vsnprintf(b->data + b->len, (apr_size_t)n + 1, fmt, retry);
    }
    va_end(retry);
    if (n < 0) {
        /* An encoding error wrote an unknown amount: keep the old contents. */
        b->data[b->len] = '\0';
        return;
    }
    b->len += (apr_size_t)n;
}

void papi_buf_stream(papi_buf *b, papi_buf_sink *sink, void *ctx, apr_size_t at)
{
    b->sink = sink;
    b->sink_ctx = ctx;
    b->sink_at = at;
}

void papi_buf_cut(papi_buf *b)
{
    if (b->sink == NULL || b->len < b->sink_at)
        return;
    b->sink(b->sink_ctx, b->data, b->len);
    b->len = 0;
    b->data[0] = '\0';
}

void papi_buf_uint64(papi_buf *b, apr_uint64_t u)
{
    char text[24];
    int i = sizeof(text);

    do
        text[--i] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    papi_buf_add(b, text + i, sizeof(text) - i);
}

void papi_buf_int64(papi_buf *b, apr_int64_t v)
{
    if (v < 0)
        papi_buf_putc(b, '-');
    papi_buf_uint64(b, v < 0 ? -(apr_uint64_t)v : (apr_uint64_t)v);
}
