#include "papi_redact.h"
#include "papi_buf.h"

#include <string.h>

/* Passenger writes pool.xml on one line with plain tags and escapes '<' in every value, so a tag
 * can be found as text (reference/passenger-api.md §4). */
static const char *papi_find(const char *s, const char *end, const char *needle)
{
    apr_size_t n = strlen(needle);

    for (; s + n <= end; s++) {
        s = memchr(s, needle[0], (apr_size_t)(end - s));
        if (!s || s + n > end)
            return NULL;
        if (!memcmp(s, needle, n))
            return s;
    }
    return NULL;
}

static const char *const papi_secret_open[] = { "<api_key>", "<secret>", "<sockets>" };
static const char *const papi_secret_close[] = { "</api_key>", "</secret>", "</sockets>" };

/* The first secret-bearing element at or after s, in one pass over its '<'s: its start and
 * which one. */
static const char *papi_next_secret(const char *s, const char *end, int *which)
{
    int i;

    while ((s = memchr(s, '<', (apr_size_t)(end - s))) != NULL) {
        for (i = 0; i < 3; i++) {
            apr_size_t n = strlen(papi_secret_open[i]);
            if ((apr_size_t)(end - s) >= n && !memcmp(s, papi_secret_open[i], n)) {
                *which = i;
                return s;
            }
        }
        s++;
    }
    return NULL;
}

static void papi_redact_xml(papi_buf *b, const char *s, const char *end)
{
    const char *at;
    int which = 0;

    while ((at = papi_next_secret(s, end, &which)) != NULL) {
        const char *stop = papi_find(at, end, papi_secret_close[which]);
        papi_buf_add(b, s, (apr_size_t)(at - s));
        if (!stop)
            return;
        if (which < 2) {
            papi_buf_puts(b, papi_secret_open[which]);
            papi_buf_puts(b, PAPI_REDACTED);
            papi_buf_puts(b, papi_secret_close[which]);
        }
        s = stop + strlen(papi_secret_close[which]);
    }
    papi_buf_add(b, s, (apr_size_t)(end - s));
}

/* "    Password: key" or "    URL     : http://..." (pool.txt verbose): label, blanks, colon. */
static int papi_secret_line(const char *line, const char *eol, const char **colon)
{
    static const char *const labels[] = { "Password", "URL" };
    int i;

    while (line < eol && *line == ' ')
        line++;
    for (i = 0; i < 2; i++) {
        apr_size_t n = strlen(labels[i]);
        const char *c = line + n;
        if ((apr_size_t)(eol - line) < n || memcmp(line, labels[i], n))
            continue;
        while (c < eol && *c == ' ')
            c++;
        if (c < eol && *c == ':') {
            *colon = c;
            return 1;
        }
    }
    return 0;
}

static void papi_redact_text(papi_buf *b, const char *s, const char *end)
{
    while (s < end) {
        const char *eol = memchr(s, '\n', (apr_size_t)(end - s)), *colon;
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (papi_secret_line(s, eol, &colon)) {
            papi_buf_add(b, s, (apr_size_t)(colon + 1 - s));
            papi_buf_puts(b, " " PAPI_REDACTED);
            papi_buf_add(b, eol, (apr_size_t)(next - eol));
        }
        else
            papi_buf_add(b, s, (apr_size_t)(next - s));
        s = next;
    }
}

const char *papi_redact(apr_pool_t *p, const char *core_path, const char *body, apr_size_t len,
                        apr_size_t *out_len)
{
    papi_buf *b;

    *out_len = len;
    if (strcmp(core_path, "/pool.xml") && strcmp(core_path, "/pool.txt"))
        return body;
    b = papi_buf_make(p, len + 64);
    if (!strcmp(core_path, "/pool.xml"))
        papi_redact_xml(b, body, body + len);
    else
        papi_redact_text(b, body, body + len);
    *out_len = b->len;
    return b->data;
}
