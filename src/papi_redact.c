#include "papi_redact.h"
#include "papi_buf.h"
#include "papi_chars.h"

#include <string.h>

/* Passenger writes pool.xml on one line with plain tags and escapes '<' in every value, so a tag
 * can be found as text (tests/samples/core_GET_pool.xml_secrets_true.http is a real one). */
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

/* The elements read-only mode never shows: the group API key wherever it is, and each process's
 * sticky session id (which routes an end user's session to that process), both replaced by
 * PAPI_REDACTED; each process's sockets, removed altogether. */
static const struct {
    const char *open, *close;
    int kept;                   /* the element stays, its text replaced */
} papi_secret_elements[] = {
    { "<api_key>", "</api_key>", 1 },
    { "<secret>", "</secret>", 1 },
    { "<sticky_session_id>", "</sticky_session_id>", 1 },
    { "<sockets>", "</sockets>", 0 },
};

#define PAPI_SECRET_ELEMENTS (sizeof(papi_secret_elements) / sizeof(papi_secret_elements[0]))

/* The first secret-bearing element at or after s, in one pass over its '<'s: its start and
 * which one. */
static const char *papi_next_secret(const char *s, const char *end, apr_size_t *which)
{
    apr_size_t i;

    while ((s = memchr(s, '<', (apr_size_t)(end - s))) != NULL) {
        for (i = 0; i < PAPI_SECRET_ELEMENTS; i++) {
            apr_size_t n = strlen(papi_secret_elements[i].open);
            if ((apr_size_t)(end - s) >= n && !memcmp(s, papi_secret_elements[i].open, n)) {
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
    apr_size_t which = 0;

    while ((at = papi_next_secret(s, end, &which)) != NULL) {
        const char *close = papi_secret_elements[which].close;
        const char *stop = papi_find(at, end, close);
        papi_buf_add(b, s, (apr_size_t)(at - s));
        if (!stop)
            return;
        if (papi_secret_elements[which].kept) {
            papi_buf_puts(b, papi_secret_elements[which].open);
            papi_buf_puts(b, PAPI_REDACTED);
            papi_buf_puts(b, close);
        }
        s = stop + strlen(close);
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

/* ---- server.json ----
 *
 * Passenger's server.json (ServerKit's state inspection) lists every request in flight, under
 * thread<N>.active_clients (and disconnected_clients).<client>.current_request: "path" is the
 * request target as the end user sent it, query string included, and "sticky_session_id" the
 * process their session is bound to. Wherever a member of either name is, its value is scrubbed:
 * the text after a path's first '?' becomes PAPI_REDACTED, a sticky session id the string
 * PAPI_REDACTED. Everything else is copied byte for byte (numbers keep their digits, the layout
 * stays), so valid JSON stays valid JSON of the same shape. */

typedef enum { PAPI_MEMBER_OTHER, PAPI_MEMBER_PATH, PAPI_MEMBER_STICKY } papi_member;

static int papi_json_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* What ends a number or literal besides a blank. */
static int papi_json_stop(char c)
{
    return c == ',' || c == '}' || c == ']';
}

/* Past the closing quote of the string whose opening quote is at s, or NULL if it never closes. */
static const char *papi_json_string_end(const char *s, const char *end)
{
    const char *c = s + 1;

    while (c < end) {
        if (*c == '"')
            return c + 1;
        c += (*c == '\\' && end - c > 1) ? 2 : 1;
    }
    return NULL;
}

/* Past the value that starts at s: a string, an object or array with all it holds, or a number
 * or literal (up to what ends it). NULL when a string or container never closes. */
static const char *papi_json_value_end(const char *s, const char *end)
{
    apr_size_t depth = 0;

    if (*s != '"' && *s != '{' && *s != '[') {
        while (s < end && !papi_json_blank(*s) && !papi_json_stop(*s))
            s++;
        return s;
    }
    do {
        if (*s == '"') {
            if (!(s = papi_json_string_end(s, end)))
                return NULL;
            continue;
        }
        if (*s == '{' || *s == '[')
            depth++;
        else if (*s == '}' || *s == ']')
            depth--;
        s++;
    } while (depth > 0 && s < end);
    return depth == 0 ? s : NULL;
}

/* The escape at c (before stop) as one character: \uXXXX, or a backslash and the character;
 * sets *len to the escape's length. -1 when it is cut short. */
static long papi_json_escape(const char *c, const char *stop, apr_size_t *len)
{
    long v = 0;
    int i;

    if (stop - c < 2)
        return -1;
    *len = 2;
    if (c[1] != 'u')
        return (unsigned char)c[1];
    if (stop - c < 6)
        return -1;
    for (i = 2; i < 6; i++) {
        int h = papi_hex_value(c[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    *len = 6;
    return v;
}

/* The string text c..stop (between the quotes) says name, its escapes decoded. */
static int papi_json_text_is(const char *c, const char *stop, const char *name)
{
    for (; *name; name++) {
        apr_size_t len = 1;
        long v = c < stop ? (unsigned char)*c : -1;
        if (v == '\\')
            v = papi_json_escape(c, stop, &len);
        if (v != (unsigned char)*name)
            return 0;
        c += len;
    }
    return c == stop;
}

/* Which member the string s..close (quotes included) names, if it is a name (a colon follows). */
static papi_member papi_json_member(const char *s, const char *close, const char *end)
{
    const char *after = close;

    while (after < end && papi_json_blank(*after))
        after++;
    if (after == end || *after != ':')
        return PAPI_MEMBER_OTHER;
    if (papi_json_text_is(s + 1, close - 1, "path"))
        return PAPI_MEMBER_PATH;
    if (papi_json_text_is(s + 1, close - 1, "sticky_session_id"))
        return PAPI_MEMBER_STICKY;
    return PAPI_MEMBER_OTHER;
}

/* Where the query starts in the string text c..stop (between the quotes): a '?' or its escape
 * \u003f, found escape by escape; NULL when there is none. */
static const char *papi_json_query(const char *c, const char *stop)
{
    while (c < stop) {
        apr_size_t len = 1;
        long v = (unsigned char)*c;
        if (v == '\\')
            v = papi_json_escape(c, stop, &len);
        if (v == '?')
            return c;
        c += len;
    }
    return NULL;
}

/* A path's string s..close with what follows its '?' replaced. */
static void papi_json_path(papi_buf *b, const char *s, const char *close)
{
    const char *query = papi_json_query(s + 1, close - 1);

    if (!query) {
        papi_buf_add(b, s, (apr_size_t)(close - s));
        return;
    }
    papi_buf_add(b, s, (apr_size_t)(query - s));
    papi_buf_puts(b, "?" PAPI_REDACTED "\"");
}

/* A string or value that never ends ends the answer where it starts: what cannot be read cannot
 * be shown. */
static void papi_redact_json(papi_buf *b, const char *s, const char *end)
{
    papi_member pending = PAPI_MEMBER_OTHER;      /* whose value comes next */

    while (s < end) {
        const char *next;
        if (papi_json_blank(*s) || *s == ':') {
            papi_buf_putc(b, *s++);
            continue;
        }
        if (pending == PAPI_MEMBER_STICKY && !papi_json_stop(*s)) {
            if (!(next = papi_json_value_end(s, end)))
                return;
            papi_buf_puts(b, "\"" PAPI_REDACTED "\"");
        } else if (*s == '"') {
            if (!(next = papi_json_string_end(s, end)))
                return;
            if (pending == PAPI_MEMBER_PATH)
                papi_json_path(b, s, next);
            else
                papi_buf_add(b, s, (apr_size_t)(next - s));
        } else {
            next = s + 1;
            papi_buf_putc(b, *s);
        }
        pending = *s == '"' && pending == PAPI_MEMBER_OTHER ? papi_json_member(s, next, end)
                                                           : PAPI_MEMBER_OTHER;
        s = next;
    }
}

const char *papi_redact(apr_pool_t *p, const char *core_path, const char *body, apr_size_t len,
                        apr_size_t *out_len)
{
    papi_buf *b;

    *out_len = len;
    if (strcmp(core_path, "/pool.xml") && strcmp(core_path, "/pool.txt")
        && strcmp(core_path, "/server.json"))
        return body;
    b = papi_buf_make(p, len + 64);
    if (!strcmp(core_path, "/pool.xml"))
        papi_redact_xml(b, body, body + len);
    else if (!strcmp(core_path, "/pool.txt"))
        papi_redact_text(b, body, body + len);
    else
        papi_redact_json(b, body, body + len);
    *out_len = b->len;
    return b->data;
}

/* s[0..*len) with every occurrence of secret replaced, or s itself when there is none. */
static char *papi_replace_all(apr_pool_t *p, char *s, apr_size_t *len, const char *secret)
{
    apr_size_t n = strlen(secret), at = 0;
    papi_buf *out = NULL;
    const char *hit;

    if (!n)
        return s;
    while ((hit = memmem(s + at, *len - at, secret, n)) != NULL) {
        if (!out)
            out = papi_buf_make(p, *len + 16);
        papi_buf_add(out, s + at, (apr_size_t)(hit - s) - at);
        papi_buf_puts(out, PAPI_REDACTED);
        at = (apr_size_t)(hit - s) + n;
    }
    if (!out)
        return s;
    papi_buf_add(out, s + at, *len - at);
    *len = out->len;
    return out->data;
}

void papi_redact_secret(apr_pool_t *p, papi_http_response *resp, const char *secret)
{
    int i;

    resp->body = papi_replace_all(p, resp->body, &resp->body_len, secret);
    for (i = 0; i < resp->headers->nelts; i++) {
        papi_http_header *h = &APR_ARRAY_IDX(resp->headers, i, papi_http_header);
        apr_size_t n = strlen(h->value);
        h->value = papi_replace_all(p, (char *)h->value, &n, secret);
    }
}
