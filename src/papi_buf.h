/* A growable byte buffer that lives as long as its pool: answers are built here, then written
 * by the httpd glue in one go. */
#ifndef PAPI_BUF_H
#define PAPI_BUF_H

#include <apr_pools.h>

typedef struct papi_buf {
    char *data;         /* always NUL-terminated after len */
    apr_size_t len;
    apr_size_t cap;
} papi_buf;

/* An empty buffer whose memory is freed when pool p is cleared. */
papi_buf *papi_buf_make(apr_pool_t *p, apr_size_t initial);

void papi_buf_add(papi_buf *b, const void *data, apr_size_t n);
void papi_buf_puts(papi_buf *b, const char *s);
void papi_buf_putc(papi_buf *b, char c);
void papi_buf_printf(papi_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
