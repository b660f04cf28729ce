/* An incremental, strict HTTP/1.x response reader.
 *
 * The reader is a small state machine. Framing lines (status line, headers, chunk sizes, the CRLF
 * after chunk data, trailers) are gathered in a line buffer up to their LF and then checked as a
 * whole; body bytes are copied straight into the body buffer. Each step consumes at least one byte
 * or ends the parse, so feeding always makes progress. Budgets are checked before bytes are
 * stored, so nothing beyond a limit is ever kept. */
#include "papi_http.h"
#include "papi_chars.h"
#include "papi_buf.h"

#include <apr_cstr.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <string.h>

const papi_http_limits papi_http_default_limits = {
    16 * 1024,          /* max_header_bytes */
    64,                 /* max_headers */
    8 * 1024 * 1024     /* max_body */
};

/* A chunk-size line (size plus ignored extensions) may not be longer than this. */
#define CHUNK_LINE_MAX 4096

/* First allocation for a body whose length is not known in advance. */
#define UNKNOWN_BODY_INITIAL 4096

/* Interim (1xx) answers read before the final one; one more is an error, so a peer cannot keep
 * the reader busy with them (each costs header budget too). */
#define INTERIM_MAX 8

typedef enum {
    PHASE_STATUS_LINE,
    PHASE_HEADERS,
    PHASE_BODY_LENGTH,      /* a Content-Length body, to_read bytes to go */
    PHASE_BODY_CLOSE,       /* a body that ends with the stream */
    PHASE_CHUNK_SIZE,
    PHASE_CHUNK_DATA,       /* to_read bytes of the current chunk to go */
    PHASE_CHUNK_END,        /* the line break after chunk data */
    PHASE_TRAILERS,
    PHASE_DONE,
    PHASE_ERROR
} parse_phase;

struct papi_http_parser {
    apr_pool_t *pool;
    papi_http_limits limits;
    int head_request;
    parse_phase phase;
    papi_http_error_kind error_kind;
    const char *error;
    papi_http_response resp;
    papi_buf *line;             /* the framing line being gathered */
    apr_size_t header_budget;   /* bytes left for status line, header lines and trailers */
    apr_size_t line_budget;     /* bytes left for the current chunk framing line */
    int field_count;            /* header lines and trailer lines seen */
    papi_buf *body;             /* NULL until a body is expected */
    apr_size_t to_read;
    int ended_by_close;         /* the body ended with the stream */
    int interim;                /* interim (1xx) answers read and dropped */
};

/* ---- Small helpers ---- */

static int papi_fail(papi_http_parser *ps, papi_http_error_kind kind, const char *why)
{
    ps->phase = PHASE_ERROR;
    ps->error_kind = kind;
    ps->error = why;
    return 0;
}

static int papi_finished(const papi_http_parser *ps)
{
    return ps->phase == PHASE_DONE || ps->phase == PHASE_ERROR;
}

static papi_http_state papi_current_state(const papi_http_parser *ps)
{
    if (ps->phase == PHASE_DONE)
        return PAPI_HTTP_DONE;
    return ps->phase == PHASE_ERROR ? PAPI_HTTP_ERROR : PAPI_HTTP_MORE;
}

static int papi_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 7230 tchar. */
static int papi_is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || papi_is_digit(c)
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A decimal number of digits only; 0 when it is empty, has anything else, or overflows. */
static int papi_parse_decimal(const char *s, apr_uint64_t *out)
{
    apr_uint64_t v = 0;

    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        if (!papi_is_digit(*s) || v > (APR_UINT64_MAX - (apr_uint64_t)(*s - '0')) / 10)
            return 0;
        v = v * 10 + (apr_uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

/* ---- Lines ---- */

/* Every framing line may hold visible bytes, obs-text, SP and HTAB; nothing else. */
static int papi_check_line_bytes(papi_http_parser *ps, const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\r')
            return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "bare CR in the response framing");
        if (c == '\0')
            return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "NUL byte in the response framing");
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "control character in the response framing");
    }
    return 1;
}

/* Strips the line's LF or CRLF, then checks what is left. */
static int papi_end_line(papi_http_parser *ps)
{
    papi_buf *l = ps->line;

    l->len--;
    if (l->len > 0 && l->data[l->len - 1] == '\r')
        l->len--;
    l->data[l->len] = '\0';
    return papi_check_line_bytes(ps, l->data, l->len);
}

static void papi_reset_line(papi_http_parser *ps)
{
    ps->line->len = 0;
    ps->line->data[0] = '\0';
}

static int papi_in_header_block(const papi_http_parser *ps)
{
    return ps->phase == PHASE_STATUS_LINE || ps->phase == PHASE_HEADERS
           || ps->phase == PHASE_TRAILERS;
}

/* ---- Status line and header fields ---- */

/* Checks the start of a status line that may not be complete yet, so that a peer that is not
 * speaking HTTP at all is refused at once rather than when the header limit runs out. */
static int papi_check_status_prefix(papi_http_parser *ps, const char *s, apr_size_t n)
{
    static const char expected[] = "HTTP/1.";

    if (memcmp(s, expected, n < 5 ? n : 5) != 0)
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "not an HTTP response");
    if (memcmp(s, expected, n < 7 ? n : 7) != 0)
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "malformed status line");
    return 1;
}

/* HTTP/1.<digit> SP 3DIGIT [ SP reason ] */
static int papi_parse_status_line(papi_http_parser *ps, const char *s, apr_size_t n)
{
    if (!papi_check_status_prefix(ps, s, n))
        return 0;
    if (n < 12 || !papi_is_digit(s[7]) || s[8] != ' '
        || s[9] < '1' || s[9] > '9' || !papi_is_digit(s[10]) || !papi_is_digit(s[11])
        || (n > 12 && s[12] != ' '))
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "malformed status line");
    ps->resp.minor_version = s[7] - '0';
    ps->resp.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    ps->resp.reason = n > 12 ? apr_pstrmemdup(ps->pool, s + 13, n - 13) : "";
    /* What would follow is another protocol, which nothing here speaks. */
    if (ps->resp.status == 101)
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "101 Switching Protocols refused: this client "
                         "never upgrades a connection");
    return 1;
}

/* name ":" OWS value OWS; the name must be a token directly followed by the colon. */
static int papi_parse_field(papi_http_parser *ps, const char *s, apr_size_t n,
                            papi_http_header *out)
{
    apr_size_t name_len = 0, start, end;

    if (papi_is_blank(s[0]))
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "obsolete header line folding");
    while (name_len < n && papi_is_token_char(s[name_len]))
        name_len++;
    if (name_len == 0 || name_len == n || s[name_len] != ':')
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "malformed header name");
    if (++ps->field_count > ps->limits.max_headers)
        return papi_fail(ps, PAPI_HTTP_ERR_TOO_LARGE, "too many header fields");
    start = name_len + 1;
    end = n;
    while (start < end && papi_is_blank(s[start]))
        start++;
    while (end > start && papi_is_blank(s[end - 1]))
        end--;
    out->name = apr_pstrmemdup(ps->pool, s, name_len);
    out->value = apr_pstrmemdup(ps->pool, s + start, end - start);
    return 1;
}

/* ---- Framing ---- */

static void papi_finish(papi_http_parser *ps)
{
    ps->phase = PHASE_DONE;
}

static int papi_response_has_body(const papi_http_parser *ps)
{
    int status = ps->resp.status;

    return !ps->head_request && status != 204 && status != 304;
}

/* Reads Content-Length and Transfer-Encoding. Both are checked even when the response has no
 * body: a peer that gets them wrong is not trusted with anything else either. */
static int papi_read_framing(papi_http_parser *ps, int *chunked, int *has_length,
                             apr_uint64_t *length)
{
    const papi_http_header *h = (const papi_http_header *)ps->resp.headers->elts;
    int i;

    *chunked = *has_length = 0;
    *length = 0;
    for (i = 0; i < ps->resp.headers->nelts; i++) {
        if (apr_cstr_casecmp(h[i].name, "Content-Length") == 0) {
            apr_uint64_t v;

            if (!papi_parse_decimal(h[i].value, &v))
                return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "invalid Content-Length");
            if (*has_length && v != *length)
                return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "conflicting Content-Length headers");
            *has_length = 1;
            *length = v;
        } else if (apr_cstr_casecmp(h[i].name, "Transfer-Encoding") == 0) {
            if (*chunked || apr_cstr_casecmp(h[i].value, "chunked") != 0)
                return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "unsupported Transfer-Encoding");
            *chunked = 1;
        }
    }
    /* RFC 7230 3.3.3: both at once is how smuggling starts, so refuse rather than pick one. */
    if (*chunked && *has_length)
        return papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "both Transfer-Encoding and Content-Length");
    return 1;
}

static void papi_enter_chunk_line(papi_http_parser *ps, parse_phase phase)
{
    ps->phase = phase;
    ps->line_budget = CHUNK_LINE_MAX;
}

static void papi_start_unknown_length_body(papi_http_parser *ps)
{
    apr_size_t max = ps->limits.max_body;

    ps->body = papi_buf_make(ps->pool, max < UNKNOWN_BODY_INITIAL ? max + 1 : UNKNOWN_BODY_INITIAL);
}

/* An interim answer (100 Continue, 102 Processing, 103 Early Hints, ...) says nothing about the
 * request's outcome: it is dropped, headers and all, and the final answer read after it. The
 * header budget is not renewed: everything before the final body counts against it. */
static void papi_end_of_interim(papi_http_parser *ps)
{
    if (++ps->interim > INTERIM_MAX) {
        papi_fail(ps, PAPI_HTTP_ERR_TOO_LARGE, "more than " APR_STRINGIFY(INTERIM_MAX)
                  " interim (1xx) answers");
        return;
    }
    ps->resp.status = 0;
    ps->resp.reason = "";
    apr_array_clear(ps->resp.headers);
    ps->phase = PHASE_STATUS_LINE;
}

static void papi_end_of_headers(papi_http_parser *ps)
{
    int chunked, has_length;
    apr_uint64_t length;

    if (!papi_read_framing(ps, &chunked, &has_length, &length))
        return;
    if (ps->resp.status < 200) {
        papi_end_of_interim(ps);
    } else if (!papi_response_has_body(ps)) {
        papi_finish(ps);
    } else if (chunked) {
        papi_start_unknown_length_body(ps);
        papi_enter_chunk_line(ps, PHASE_CHUNK_SIZE);
    } else if (has_length) {
        if (length > ps->limits.max_body || length >= APR_SIZE_MAX) {
            papi_fail(ps, PAPI_HTTP_ERR_TOO_LARGE, "Content-Length exceeds the body size limit");
        } else if (length == 0) {
            papi_finish(ps);
        } else {
            /* The size is known and within the limit: one allocation, never regrown. */
            ps->body = papi_buf_make(ps->pool, (apr_size_t)length + 1);
            ps->to_read = (apr_size_t)length;
            ps->phase = PHASE_BODY_LENGTH;
        }
    } else {
        papi_start_unknown_length_body(ps);
        ps->phase = PHASE_BODY_CLOSE;
    }
}

/* chunk-size [ BWS ";" chunk-ext ]; the extensions are ignored. */
static void papi_on_chunk_size_line(papi_http_parser *ps, const char *s, apr_size_t n)
{
    apr_uint64_t size = 0;
    apr_size_t i = 0, digits_end;

    for (; i < n && papi_hex_value(s[i]) >= 0; i++) {
        if (size > (APR_UINT64_MAX >> 4)) {
            papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "chunk size out of range");
            return;
        }
        size = (size << 4) | (apr_uint64_t)papi_hex_value(s[i]);
    }
    if (i == 0) {
        papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "invalid chunk size");
        return;
    }
    /* Blanks may only come before an extension. */
    digits_end = i;
    while (i < n && papi_is_blank(s[i]))
        i++;
    if ((i < n && s[i] != ';') || (i == n && i != digits_end)) {
        papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "invalid chunk size");
        return;
    }
    if (size == 0) {
        ps->phase = PHASE_TRAILERS;
    } else if (size > ps->limits.max_body - ps->body->len) {
        papi_fail(ps, PAPI_HTTP_ERR_TOO_LARGE, "chunked body exceeds the body size limit");
    } else {
        ps->to_read = (apr_size_t)size;
        ps->phase = PHASE_CHUNK_DATA;
    }
}

static void papi_on_header_line(papi_http_parser *ps, const char *s, apr_size_t n)
{
    papi_http_header field;

    if (n == 0)
        papi_end_of_headers(ps);
    else if (papi_parse_field(ps, s, n, &field))
        *(papi_http_header *)apr_array_push(ps->resp.headers) = field;
}

/* Trailers are checked like headers, then dropped: nothing here needs them. */
static void papi_on_trailer_line(papi_http_parser *ps, const char *s, apr_size_t n)
{
    papi_http_header field;

    if (n == 0)
        papi_finish(ps);
    else
        papi_parse_field(ps, s, n, &field);
}

static void papi_on_line(papi_http_parser *ps)
{
    const char *s = ps->line->data;
    apr_size_t n = ps->line->len;

    switch (ps->phase) {
    case PHASE_STATUS_LINE:
        if (papi_parse_status_line(ps, s, n))
            ps->phase = PHASE_HEADERS;
        break;
    case PHASE_HEADERS:
        papi_on_header_line(ps, s, n);
        break;
    case PHASE_CHUNK_SIZE:
        papi_on_chunk_size_line(ps, s, n);
        break;
    case PHASE_CHUNK_END:
        if (n != 0)
            papi_fail(ps, PAPI_HTTP_ERR_SYNTAX, "chunk data longer than its size");
        else
            papi_enter_chunk_line(ps, PHASE_CHUNK_SIZE);
        break;
    case PHASE_TRAILERS:
        papi_on_trailer_line(ps, s, n);
        break;
    default:
        break;
    }
}

/* ---- Steps: each consumes at least one byte ---- */

/* Checks the start of the status line as gathered so far plus n new bytes, before any limit, so
 * that the verdict does not depend on how the bytes were split into feeds. */
static int papi_check_status_start(papi_http_parser *ps, const char *data, apr_size_t n)
{
    char start[7];
    apr_size_t have = ps->line->len < sizeof(start) ? ps->line->len : sizeof(start);
    apr_size_t take = n < sizeof(start) - have ? n : sizeof(start) - have;

    memcpy(start, ps->line->data, have);
    memcpy(start + have, data, take);
    return papi_check_status_prefix(ps, start, have + take);
}

static apr_size_t papi_take_line_bytes(papi_http_parser *ps, const char *data, apr_size_t len)
{
    const char *lf = memchr(data, '\n', len);
    apr_size_t n = lf ? (apr_size_t)(lf - data) + 1 : len;
    int header = papi_in_header_block(ps);
    apr_size_t *budget = header ? &ps->header_budget : &ps->line_budget;

    /* Only the bytes within the budget are judged: after interim answers a status line may
     * start with little of it left, and the verdict must not depend on the split either way. */
    if (ps->phase == PHASE_STATUS_LINE
        && !papi_check_status_start(ps, data, n < *budget ? n : *budget))
        return n;
    if (n > *budget) {
        papi_fail(ps, PAPI_HTTP_ERR_TOO_LARGE,
                  header ? "response header exceeds the size limit" : "chunk size line too long");
        return n;
    }
    *budget -= n;
    papi_buf_add(ps->line, data, n);
    if (lf) {
        if (papi_end_line(ps))
            papi_on_line(ps);
        papi_reset_line(ps);
    }
    return n;
}

/* Bytes of a Content-Length body or of a chunk. */
static apr_size_t papi_take_counted_body(papi_http_parser *ps, const char *data, apr_size_t len)
{
    apr_size_t n = len < ps->to_read ? len : ps->to_read;

    papi_buf_add(ps->body, data, n);
    ps->to_read -= n;
    if (ps->to_read == 0) {
        if (ps->phase == PHASE_BODY_LENGTH)
            papi_finish(ps);
        else
            papi_enter_chunk_line(ps, PHASE_CHUNK_END);
    }
    return n;
}

static apr_size_t papi_take_close_body(papi_http_parser *ps, const char *data, apr_size_t len)
{
    if (len > ps->limits.max_body - ps->body->len) {
        papi_fail(ps, PAPI_HTTP_ERR_TOO_LARGE, "body exceeds the body size limit");
        return len;
    }
    papi_buf_add(ps->body, data, len);
    return len;
}

static apr_size_t papi_step(papi_http_parser *ps, const char *data, apr_size_t len)
{
    switch (ps->phase) {
    case PHASE_BODY_LENGTH:
    case PHASE_CHUNK_DATA:
        return papi_take_counted_body(ps, data, len);
    case PHASE_BODY_CLOSE:
        return papi_take_close_body(ps, data, len);
    default:
        return papi_take_line_bytes(ps, data, len);
    }
}

/* ---- Public interface ---- */

papi_http_parser *papi_http_parser_make(apr_pool_t *p, const papi_http_limits *limits,
                                        int head_request)
{
    papi_http_parser *ps = apr_pcalloc(p, sizeof(*ps));

    ps->pool = p;
    ps->limits = limits ? *limits : papi_http_default_limits;
    ps->head_request = head_request;
    ps->phase = PHASE_STATUS_LINE;
    ps->header_budget = ps->limits.max_header_bytes;
    ps->line = papi_buf_make(p, 256);
    ps->resp.reason = "";
    ps->resp.headers = apr_array_make(p, 16, sizeof(papi_http_header));
    ps->resp.body = apr_pcalloc(p, 1);
    return ps;
}

papi_http_state papi_http_parser_feed(papi_http_parser *ps, const char *data, apr_size_t len,
                                      apr_size_t *consumed)
{
    apr_size_t pos = 0;

    while (pos < len && !papi_finished(ps))
        pos += papi_step(ps, data + pos, len - pos);
    if (consumed)
        *consumed = pos;
    return papi_current_state(ps);
}

static const char *papi_truncation_reason(const papi_http_parser *ps)
{
    switch (ps->phase) {
    case PHASE_STATUS_LINE:
        if (ps->line->len > 0)
            return "connection closed within the status line";
        return ps->interim ? "connection closed after an interim (1xx) answer, before the final one"
                           : "connection closed before the response";
    case PHASE_HEADERS:
        return "connection closed within the response header";
    case PHASE_BODY_LENGTH:
        return "connection closed before the end of the body (Content-Length)";
    default:
        return "connection closed within the chunked body";
    }
}

papi_http_state papi_http_parser_eof(papi_http_parser *ps)
{
    if (ps->phase == PHASE_BODY_CLOSE) {
        ps->ended_by_close = 1;
        papi_finish(ps);
    }
    else if (!papi_finished(ps))
        papi_fail(ps, PAPI_HTTP_ERR_TRUNCATED, papi_truncation_reason(ps));
    return papi_current_state(ps);
}

papi_http_error_kind papi_http_parser_error_kind(const papi_http_parser *ps)
{
    return ps->error_kind;
}

const char *papi_http_parser_error(const papi_http_parser *ps)
{
    return ps->error;
}

papi_http_response *papi_http_parser_response(papi_http_parser *ps)
{
    /* The body buffer may have moved since the last call. */
    if (ps->body) {
        ps->resp.body = ps->body->data;
        ps->resp.body_len = ps->body->len;
    }
    return &ps->resp;
}

/* One of the comma-separated tokens of a header value is token (case-insensitive). */
static int papi_has_token(const char *value, const char *token)
{
    apr_size_t n = strlen(token);

    while (*value) {
        apr_size_t len;
        while (*value == ',' || papi_is_blank(*value))
            value++;
        len = strcspn(value, ",");
        while (len > 0 && papi_is_blank(value[len - 1]))
            len--;
        if (len == n && apr_cstr_casecmpn(value, token, n) == 0)
            return 1;
        value += strcspn(value, ",");
    }
    return 0;
}

int papi_http_parser_reusable(const papi_http_parser *ps)
{
    const papi_http_header *h = (const papi_http_header *)ps->resp.headers->elts;
    int i;

    /* After an interim answer the peer may still be in a state nobody asked for (a 100 Continue
     * with no body sent): a fresh connection costs less than finding out. */
    if (ps->phase != PHASE_DONE || ps->ended_by_close || ps->resp.minor_version < 1
        || ps->interim > 0)
        return 0;
    for (i = 0; i < ps->resp.headers->nelts; i++)
        if (apr_cstr_casecmp(h[i].name, "Connection") == 0 && papi_has_token(h[i].value, "close"))
            return 0;
    return 1;
}

papi_http_response *papi_http_response_copy(apr_pool_t *p, const papi_http_response *resp)
{
    papi_http_response *out = apr_pmemdup(p, resp, sizeof(*resp));
    int i;

    out->reason = apr_pstrdup(p, resp->reason);
    out->headers = apr_array_copy(p, resp->headers);
    for (i = 0; i < out->headers->nelts; i++) {
        papi_http_header *h = &APR_ARRAY_IDX(out->headers, i, papi_http_header);
        h->name = apr_pstrdup(p, h->name);
        h->value = apr_pstrdup(p, h->value);
    }
    out->body = apr_pstrmemdup(p, resp->body, resp->body_len);
    return out;
}

const char *papi_http_header_get(const papi_http_response *resp, const char *name)
{
    const papi_http_header *h = (const papi_http_header *)resp->headers->elts;
    int i;

    for (i = 0; i < resp->headers->nelts; i++)
        if (apr_cstr_casecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}
