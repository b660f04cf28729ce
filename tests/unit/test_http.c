/* Unit tests for papi_http, the incremental HTTP/1.x response reader. */
#include "papi_test.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "papi_buf.h"
#include "papi_http.h"

/* Captured core API responses; relative to the repository root, where the tests are run. */
#define DEFAULT_SAMPLES_DIR "tests/samples"

typedef struct parsed {
    papi_http_parser *ps;
    papi_http_state state;
    apr_size_t consumed;
    papi_http_response *resp;
} parsed;

/* Feeds data in pieces of at most piece bytes (0: all at once) until the parser stops asking
 * for more or the data runs out, checking the feed contract on the way. */
static parsed feed_pieces(apr_pool_t *p, const char *data, apr_size_t len, apr_size_t piece,
                          const papi_http_limits *limits, int head)
{
    parsed r = { papi_http_parser_make(p, limits, head), PAPI_HTTP_MORE, 0, NULL };

    while (r.consumed < len && r.state == PAPI_HTTP_MORE) {
        apr_size_t left = len - r.consumed;
        apr_size_t n = piece && piece < left ? piece : left, used = (apr_size_t)-1;

        r.state = papi_http_parser_feed(r.ps, data + r.consumed, n, &used);
        assert_true(used <= n);
        if (r.state == PAPI_HTTP_MORE)
            assert_int_equal(used, n);
        r.consumed += used;
    }
    r.resp = papi_http_parser_response(r.ps);
    return r;
}

/* The same, then end of stream if the parser still wants more. */
static parsed feed_then_eof(apr_pool_t *p, const char *data, apr_size_t len, apr_size_t piece,
                            const papi_http_limits *limits, int head)
{
    parsed r = feed_pieces(p, data, len, piece, limits, head);

    if (r.state == PAPI_HTTP_MORE)
        r.state = papi_http_parser_eof(r.ps);
    r.resp = papi_http_parser_response(r.ps);
    return r;
}

#define LIT(s) (s), (sizeof(s) - 1)

static void assert_error(parsed r, papi_http_error_kind kind)
{
    assert_int_equal(r.state, PAPI_HTTP_ERROR);
    assert_int_equal(papi_http_parser_error_kind(r.ps), kind);
    assert_non_null(papi_http_parser_error(r.ps));
}

static void assert_done_with_body(parsed r, const char *body, apr_size_t body_len)
{
    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_int_equal(papi_http_parser_error_kind(r.ps), PAPI_HTTP_ERR_NONE);
    assert_null(papi_http_parser_error(r.ps));
    assert_int_equal(r.resp->body_len, body_len);
    assert_memory_equal(r.resp->body, body, body_len);
    assert_int_equal(r.resp->body[body_len], '\0');
}

/* A response head with the given headers, CRLF-terminated, blank line included. */
static char *head_with(apr_pool_t *p, const char *status_line, const char *headers)
{
    return apr_pstrcat(p, status_line, "\r\n", headers, "\r\n", NULL);
}

/* ---- Content-Length ---- */

#define CL_RESPONSE "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

static void test_content_length(void **state)
{
    parsed r = feed_pieces(*state, LIT(CL_RESPONSE), 0, NULL, 0);
    const papi_http_header *h;

    assert_done_with_body(r, "hello", 5);
    assert_int_equal(r.consumed, sizeof(CL_RESPONSE) - 1);
    assert_int_equal(r.resp->minor_version, 1);
    assert_int_equal(r.resp->status, 200);
    assert_string_equal(r.resp->reason, "OK");
    assert_int_equal(r.resp->headers->nelts, 2);
    h = (const papi_http_header *)r.resp->headers->elts;
    assert_string_equal(h[0].name, "Content-Type");
    assert_string_equal(h[0].value, "text/plain");
    assert_string_equal(h[1].name, "Content-Length");
    assert_string_equal(h[1].value, "5");
}

static void test_content_length_one_byte_at_a_time(void **state)
{
    papi_http_parser *ps = papi_http_parser_make(*state, NULL, 0);
    const char *data = CL_RESPONSE;
    apr_size_t len = sizeof(CL_RESPONSE) - 1, i, used;

    for (i = 0; i + 1 < len; i++) {
        assert_int_equal(papi_http_parser_feed(ps, data + i, 1, &used), PAPI_HTTP_MORE);
        assert_int_equal(used, 1);
    }
    assert_int_equal(papi_http_parser_feed(ps, data + i, 1, &used), PAPI_HTTP_DONE);
    assert_int_equal(used, 1);
    assert_int_equal(papi_http_parser_response(ps)->body_len, 5);
    assert_string_equal(papi_http_parser_response(ps)->body, "hello");
}

static void test_content_length_zero(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, NULL, 0);

    assert_done_with_body(r, "", 0);
}

static void test_same_content_length_twice_accepted(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                       "content-length: 003\r\n\r\nabc"), 0, NULL, 0);

    assert_done_with_body(r, "abc", 3);
}

static void test_body_bytes_kept_verbatim(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\na\0b\r\nc\r"),
                           0, NULL, 0);

    assert_done_with_body(r, "a\0b\r\nc\r", 7);
}

static void test_bare_lf_line_endings(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.0 201 Created\nContent-Length: 2\n\nok"), 0, NULL, 0);

    assert_done_with_body(r, "ok", 2);
    assert_int_equal(r.resp->minor_version, 0);
    assert_int_equal(r.resp->status, 201);
    assert_string_equal(r.resp->reason, "Created");
}

static void test_status_line_variants(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"), 0, NULL, 0);

    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_int_equal(r.resp->status, 404);
    assert_string_equal(r.resp->reason, "");

    r = feed_pieces(*state, LIT("HTTP/1.1 999 \r\nContent-Length: 0\r\n\r\n"), 0, NULL, 0);
    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_int_equal(r.resp->status, 999);
    assert_string_equal(r.resp->reason, "");

    r = feed_pieces(*state, LIT("HTTP/1.1 500 Internal  Server\tError\xE9\r\nContent-Length: 0\r\n\r\n"),
                    0, NULL, 0);
    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_string_equal(r.resp->reason, "Internal  Server\tError\xE9");
}

static void test_header_values_trimmed_and_get_case_insensitive(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\n"
                                       "X-MiXeD:  \t a  b \t \r\n"
                                       "X-Empty:\r\n"
                                       "X-Dup: first\r\n"
                                       "x-dup: second\r\n"
                                       "Content-Length: 0\r\n\r\n"), 0, NULL, 0);
    const papi_http_header *h;

    assert_int_equal(r.state, PAPI_HTTP_DONE);
    h = (const papi_http_header *)r.resp->headers->elts;
    assert_string_equal(h[0].name, "X-MiXeD");      /* the name as received */
    assert_string_equal(papi_http_header_get(r.resp, "x-mixed"), "a  b");
    assert_string_equal(papi_http_header_get(r.resp, "X-MIXED"), "a  b");
    assert_string_equal(papi_http_header_get(r.resp, "X-Empty"), "");
    assert_string_equal(papi_http_header_get(r.resp, "X-DUP"), "first");
    assert_null(papi_http_header_get(r.resp, "X-Missing"));
    assert_null(papi_http_header_get(r.resp, "X-Mixe"));
}

/* ---- Close-delimited ---- */

static void test_close_delimited(void **state)
{
    papi_http_parser *ps = papi_http_parser_make(*state, NULL, 0);
    apr_size_t used;

    assert_int_equal(papi_http_parser_feed(ps, LIT("HTTP/1.0 200 OK\r\nX: y\r\n\r\nabc"), &used),
                     PAPI_HTTP_MORE);
    assert_int_equal(used, 28);
    assert_int_equal(papi_http_parser_feed(ps, LIT("def"), &used), PAPI_HTTP_MORE);
    /* The response so far is visible before the end. */
    assert_int_equal(papi_http_parser_response(ps)->body_len, 6);
    assert_int_equal(papi_http_parser_eof(ps), PAPI_HTTP_DONE);
    assert_string_equal(papi_http_parser_response(ps)->body, "abcdef");
}

static void test_close_delimited_empty_body(void **state)
{
    parsed r = feed_then_eof(*state, LIT("HTTP/1.1 200 OK\r\nX: y\r\n\r\n"), 0, NULL, 0);

    assert_done_with_body(r, "", 0);
}

/* ---- Chunked ---- */

#define CHUNKED_RESPONSE                                                \
    "HTTP/1.1 200 OK\r\n"                                               \
    "Transfer-Encoding: chunked\r\n"                                    \
    "Content-Type: text/plain\r\n"                                      \
    "\r\n"                                                              \
    "5;name=value;other=\"quoted\"\r\n"                                 \
    "hello\r\n"                                                         \
    "6 ; x\r\n"                                                         \
    " world\r\n"                                                        \
    "00a\r\n"                                                           \
    "0123456789\r\n"                                                    \
    "B\r\n"                                                             \
    "\r\nABCDEFGHI\r\n"                                                 \
    "0;last\r\n"                                                        \
    "X-Trailer: yes\r\n"                                                \
    "Other: 1\r\n"                                                      \
    "\r\n"

#define CHUNKED_BODY "hello world0123456789\r\nABCDEFGHI"

static void assert_chunked_result(parsed r)
{
    assert_done_with_body(r, CHUNKED_BODY, sizeof(CHUNKED_BODY) - 1);
    assert_int_equal(r.consumed, sizeof(CHUNKED_RESPONSE) - 1);
    /* Trailers are read but not kept. */
    assert_int_equal(r.resp->headers->nelts, 2);
    assert_null(papi_http_header_get(r.resp, "X-Trailer"));
}

static void test_chunked(void **state)
{
    assert_chunked_result(feed_pieces(*state, LIT(CHUNKED_RESPONSE), 0, NULL, 0));
}

static void test_chunked_one_byte_at_a_time(void **state)
{
    assert_chunked_result(feed_pieces(*state, LIT(CHUNKED_RESPONSE), 1, NULL, 0));
}

static void test_chunked_split_at_every_boundary(void **state)
{
    const char *data = CHUNKED_RESPONSE "HTTP/1.1 200 OK\r\n";
    apr_size_t len = strlen(data), want = sizeof(CHUNKED_RESPONSE) - 1, k;

    for (k = 1; k < len; k++) {
        apr_pool_t *sub;
        papi_http_parser *ps;
        papi_http_state st;
        apr_size_t used1, used2 = 0;

        assert_int_equal(apr_pool_create(&sub, *state), APR_SUCCESS);
        ps = papi_http_parser_make(sub, NULL, 0);
        st = papi_http_parser_feed(ps, data, k, &used1);
        if (st == PAPI_HTTP_MORE)
            st = papi_http_parser_feed(ps, data + k, len - k, &used2);
        assert_int_equal(st, PAPI_HTTP_DONE);
        assert_int_equal(used1 + used2, want);
        assert_int_equal(papi_http_parser_response(ps)->body_len, sizeof(CHUNKED_BODY) - 1);
        assert_memory_equal(papi_http_parser_response(ps)->body, CHUNKED_BODY,
                            sizeof(CHUNKED_BODY) - 1);
        apr_pool_destroy(sub);
    }
}

static void test_chunked_bare_lf(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n"
                                       "3\nabc\n0\n\n"), 0, NULL, 0);

    assert_done_with_body(r, "abc", 3);
}

static void test_chunked_large_body_grows(void **state)
{
    papi_buf *in = papi_buf_make(*state, 0);
    parsed r;
    int i;

    papi_buf_puts(in, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (i = 0; i < 3000; i++) {
        papi_buf_puts(in, "64\r\n");
        papi_buf_printf(in, "%0100d\r\n", i);
    }
    papi_buf_puts(in, "0\r\n\r\n");
    r = feed_pieces(*state, in->data, in->len, 4093, NULL, 0);
    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_int_equal(r.resp->body_len, 300000);
    assert_memory_equal(r.resp->body + 299900, "0000000000", 10);
    assert_memory_equal(r.resp->body + 300000 - 4, "2999", 4);
}

/* ---- Truncation ---- */

static void test_truncated(void **state)
{
    static const char *const inputs[] = {
        "",
        "HTTP/1.1 20",
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nContent-Le",
        "HTTP/1.1 200 OK\r\nX: y\r",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: 1\r\n",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        parsed r = feed_pieces(*state, inputs[i], strlen(inputs[i]), 0, NULL, 0);

        if (r.state != PAPI_HTTP_MORE)
            fail_msg("input %u: state %d before eof", (unsigned)i, r.state);
        r.state = papi_http_parser_eof(r.ps);
        assert_error(r, PAPI_HTTP_ERR_TRUNCATED);
    }
}

static void test_truncated_body_keeps_what_arrived(void **state)
{
    parsed r = feed_then_eof(*state, LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
                             0, NULL, 0);

    assert_error(r, PAPI_HTTP_ERR_TRUNCATED);
    assert_int_equal(r.resp->status, 200);
    assert_int_equal(r.resp->body_len, 5);
    assert_string_equal(r.resp->body, "hello");
}

/* ---- Limits ---- */

/* A head of exactly total bytes: status line, Content-Length: 0, one padding header. */
static char *head_of_size(apr_pool_t *p, apr_size_t total)
{
    const char *fixed = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: \r\n\r\n";
    apr_size_t pad = total - strlen(fixed);
    char *value = apr_palloc(p, pad + 1);

    memset(value, 'v', pad);
    value[pad] = '\0';
    return apr_pstrcat(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: ", value, "\r\n\r\n", NULL);
}

static void test_header_bytes_limit_is_inclusive(void **state)
{
    papi_http_limits lim = { 64, 64, 1024 };
    char *at = head_of_size(*state, 64), *over = head_of_size(*state, 65);

    assert_int_equal(strlen(at), 64);
    assert_int_equal(feed_pieces(*state, at, 64, 0, &lim, 0).state, PAPI_HTTP_DONE);
    assert_error(feed_pieces(*state, over, 65, 0, &lim, 0), PAPI_HTTP_ERR_TOO_LARGE);
    assert_error(feed_pieces(*state, over, 65, 1, &lim, 0), PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_header_limit_hit_without_line_end(void **state)
{
    papi_http_limits lim = { 64, 64, 1024 };
    papi_http_parser *ps = papi_http_parser_make(*state, &lim, 0);
    apr_size_t i, used;

    assert_int_equal(papi_http_parser_feed(ps, LIT("HTTP/1.1 200 OK\r\nX: "), &used), PAPI_HTTP_MORE);
    for (i = 20; i < 64; i++)
        assert_int_equal(papi_http_parser_feed(ps, "a", 1, &used), PAPI_HTTP_MORE);
    /* The 65th byte is refused at once; no line end is waited for. */
    assert_int_equal(papi_http_parser_feed(ps, "a", 1, &used), PAPI_HTTP_ERROR);
    assert_int_equal(papi_http_parser_error_kind(ps), PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_default_header_limit(void **state)
{
    char *value = apr_palloc(*state, 17000);
    char *in;

    memset(value, 'v', 16999);
    value[16999] = '\0';
    in = head_with(*state, "HTTP/1.1 200 OK", apr_pstrcat(*state, "X: ", value, "\r\n", NULL));
    assert_error(feed_pieces(*state, in, strlen(in), 1000, NULL, 0), PAPI_HTTP_ERR_TOO_LARGE);
}

static char *n_headers(apr_pool_t *p, int n)
{
    papi_buf *b = papi_buf_make(p, 0);
    int i;

    papi_buf_puts(b, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    for (i = 1; i < n; i++)
        papi_buf_printf(b, "X-%d: %d\r\n", i, i);
    papi_buf_puts(b, "\r\n");
    return apr_pstrdup(p, b->data);
}

static void test_header_count_limit(void **state)
{
    papi_http_limits lim = { 16384, 3, 1024 };
    char *three = n_headers(*state, 3), *four = n_headers(*state, 4);
    char *sixty_four = n_headers(*state, 64), *sixty_five = n_headers(*state, 65);
    parsed r = feed_pieces(*state, three, strlen(three), 0, &lim, 0);

    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_int_equal(r.resp->headers->nelts, 3);
    assert_error(feed_pieces(*state, four, strlen(four), 0, &lim, 0), PAPI_HTTP_ERR_TOO_LARGE);
    assert_int_equal(feed_pieces(*state, sixty_four, strlen(sixty_four), 0, NULL, 0).state,
                     PAPI_HTTP_DONE);
    assert_error(feed_pieces(*state, sixty_five, strlen(sixty_five), 0, NULL, 0),
                 PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_trailers_count_against_header_limits(void **state)
{
    papi_http_limits few = { 16384, 3, 1024 }, small = { 80, 64, 1024 };
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";
    char *two = apr_pstrcat(*state, head, "T1: 1\r\nT2: 2\r\n\r\n", NULL);
    char *three = apr_pstrcat(*state, head, "T1: 1\r\nT2: 2\r\nT3: 3\r\n\r\n", NULL);
    char *long_one = apr_pstrcat(*state, head, "T1: 0123456789012345678901234567890123\r\n\r\n", NULL);

    assert_int_equal(feed_pieces(*state, two, strlen(two), 0, &few, 0).state, PAPI_HTTP_DONE);
    assert_error(feed_pieces(*state, three, strlen(three), 0, &few, 0), PAPI_HTTP_ERR_TOO_LARGE);
    assert_error(feed_pieces(*state, long_one, strlen(long_one), 0, &small, 0),
                 PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_chunk_size_line_too_long(void **state)
{
    char *ext = apr_palloc(*state, 5001);
    char *in;

    memset(ext, 'e', 5000);
    ext[5000] = '\0';
    in = apr_pstrcat(*state, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;", ext,
                     "\r\na\r\n0\r\n\r\n", NULL);
    assert_error(feed_pieces(*state, in, strlen(in), 0, NULL, 0), PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_content_length_body_limit(void **state)
{
    papi_http_limits lim = { 16384, 64, 10 };
    papi_http_parser *ps = papi_http_parser_make(*state, &lim, 0);

    /* Refused from the header alone, before any body byte arrives. */
    assert_int_equal(papi_http_parser_feed(ps, LIT("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"),
                                           NULL), PAPI_HTTP_ERROR);
    assert_int_equal(papi_http_parser_error_kind(ps), PAPI_HTTP_ERR_TOO_LARGE);
    assert_done_with_body(feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                                                  "0123456789"), 0, &lim, 0), "0123456789", 10);
}

static void test_content_length_body_allocated_once(void **state)
{
    papi_buf *in = papi_buf_make(*state, 0);
    papi_http_parser *ps = papi_http_parser_make(*state, NULL, 0);
    const char *first;
    int i;

    papi_buf_puts(in, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    for (i = 0; i < 100000; i++)
        papi_buf_putc(in, (char)('a' + i % 26));
    assert_int_equal(papi_http_parser_feed(ps, in->data, in->len - 99999, NULL), PAPI_HTTP_MORE);
    first = papi_http_parser_response(ps)->body;
    for (i = 1; i < 100000; i += 1000)
        papi_http_parser_feed(ps, in->data + in->len - 100000 + i,
                              (apr_size_t)(i + 1000 <= 100000 ? 1000 : 100000 - i), NULL);
    assert_int_equal(papi_http_parser_feed(ps, "", 0, NULL), PAPI_HTTP_DONE);
    /* Never moved: the buffer was sized from Content-Length up front. */
    assert_ptr_equal(papi_http_parser_response(ps)->body, first);
    assert_memory_equal(papi_http_parser_response(ps)->body, in->data + in->len - 100000, 100000);
}

static void test_close_delimited_body_limit(void **state)
{
    papi_http_limits lim = { 16384, 64, 10 };
    papi_http_parser *ps = papi_http_parser_make(*state, &lim, 0);

    assert_done_with_body(feed_then_eof(*state, LIT("HTTP/1.1 200 OK\r\n\r\n0123456789"), 3, &lim, 0),
                          "0123456789", 10);
    assert_int_equal(papi_http_parser_feed(ps, LIT("HTTP/1.1 200 OK\r\n\r\n01234"), NULL),
                     PAPI_HTTP_MORE);
    assert_int_equal(papi_http_parser_feed(ps, LIT("56789X"), NULL), PAPI_HTTP_ERROR);
    assert_int_equal(papi_http_parser_error_kind(ps), PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_chunked_body_limit(void **state)
{
    papi_http_limits lim = { 16384, 64, 10 };
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    char *at = apr_pstrcat(*state, head, "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n", NULL);
    char *over = apr_pstrcat(*state, head, "6\r\n012345\r\n5\r\n", NULL);

    assert_done_with_body(feed_pieces(*state, at, strlen(at), 0, &lim, 0), "0123456789", 10);
    /* Refused at the size line of the chunk that would pass the limit. */
    assert_error(feed_pieces(*state, over, strlen(over), 0, &lim, 0), PAPI_HTTP_ERR_TOO_LARGE);
}

static void test_default_body_limit(void **state)
{
    apr_size_t max = 8 * 1024 * 1024;
    char *in = malloc(max + 100);
    apr_size_t head_len;
    parsed r;

    assert_non_null(in);
    head_len = (apr_size_t)sprintf(in, "HTTP/1.1 200 OK\r\nContent-Length: %lu\r\n\r\n",
                                   (unsigned long)max);
    memset(in + head_len, 'b', max + 1);
    r = feed_pieces(*state, in, head_len + max, 65536, NULL, 0);
    assert_int_equal(r.state, PAPI_HTTP_DONE);
    assert_int_equal(r.resp->body_len, max);

    assert_error(feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\nContent-Length: 8388609\r\n\r\n"),
                             0, NULL, 0), PAPI_HTTP_ERR_TOO_LARGE);

    head_len = (apr_size_t)sprintf(in, "HTTP/1.1 200 OK\r\n\r\n");
    memset(in + head_len, 'b', max + 1);
    assert_error(feed_pieces(*state, in, head_len + max + 1, 65536, NULL, 0),
                 PAPI_HTTP_ERR_TOO_LARGE);
    free(in);
}

/* ---- Garbage ---- */

typedef struct bad_case {
    const char *name;
    const char *data;
    apr_size_t len;
    papi_http_error_kind kind;
} bad_case;

#define BAD(name, lit, kind) { name, lit, sizeof(lit) - 1, kind }
#define HEAD200 "HTTP/1.1 200 OK\r\n"
#define CHUNKED_HEAD HEAD200 "Transfer-Encoding: chunked\r\n\r\n"
#define SYNTAX PAPI_HTTP_ERR_SYNTAX

static const bad_case bad_cases[] = {
    /* Not HTTP, or a bad status line. */
    BAD("ssh banner", "SSH-2.0-OpenSSH_9.2\r\n", SYNTAX),
    BAD("html", "<html><body>hi</body></html>\n", SYNTAX),
    BAD("leading blank line", "\r\nHTTP/1.1 200 OK\r\n\r\n", SYNTAX),
    BAD("lower-case protocol", "http/1.1 200 OK\r\n\r\n", SYNTAX),
    BAD("HTTP/2", "HTTP/2 200 OK\r\n\r\n", SYNTAX),
    BAD("HTTP/1.x", "HTTP/1.x 200 OK\r\n\r\n", SYNTAX),
    BAD("HTTP/1.10", "HTTP/1.10 200 OK\r\n\r\n", SYNTAX),
    BAD("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", SYNTAX),
    BAD("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", SYNTAX),
    BAD("status below 100", "HTTP/1.1 099 Low\r\n\r\n", SYNTAX),
    BAD("letter in status", "HTTP/1.1 2a0 OK\r\n\r\n", SYNTAX),
    BAD("no space after status", "HTTP/1.1 200OK\r\n\r\n", SYNTAX),
    BAD("two spaces before status", "HTTP/1.1  200 OK\r\n\r\n", SYNTAX),
    BAD("no status", "HTTP/1.1\r\n\r\n", SYNTAX),
    BAD("control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", SYNTAX),
    /* Bad header lines. */
    BAD("space in name", HEAD200 "Bad Name: x\r\n\r\n", SYNTAX),
    BAD("quote in name", HEAD200 "Bad\"Name: x\r\n\r\n", SYNTAX),
    BAD("empty name", HEAD200 ": x\r\n\r\n", SYNTAX),
    BAD("no colon", HEAD200 "NoColon\r\n\r\n", SYNTAX),
    BAD("space before colon", HEAD200 "Name : x\r\n\r\n", SYNTAX),
    BAD("tab before colon", HEAD200 "Name\t: x\r\n\r\n", SYNTAX),
    BAD("non-ASCII name", HEAD200 "N\xC3\xA1me: x\r\n\r\n", SYNTAX),
    BAD("obs-fold space", HEAD200 "X-A: a\r\n b\r\n\r\n", SYNTAX),
    BAD("obs-fold tab", HEAD200 "X-A: a\r\n\tb\r\n\r\n", SYNTAX),
    BAD("first header indented", HEAD200 " X-A: a\r\n\r\n", SYNTAX),
    BAD("bare CR in value", HEAD200 "X-A: a\rb\r\n\r\n", SYNTAX),
    BAD("bare CR in status line", "HTTP/1.1 200 OK\r\r\n\r\n", SYNTAX),
    BAD("CR CR LF", HEAD200 "X-A: a\r\r\n\r\n", SYNTAX),
    BAD("bare CR as blank line", HEAD200 "X-A: a\r\n\r\r\n", SYNTAX),
    BAD("NUL in value", HEAD200 "X-A: a\0b\r\n\r\n", SYNTAX),
    BAD("NUL in name", HEAD200 "X-\0A: b\r\n\r\n", SYNTAX),
    BAD("escape in value", HEAD200 "X-A: \x1b[31mred\r\n\r\n", SYNTAX),
    BAD("DEL in value", HEAD200 "X-A: a\x7f\r\n\r\n", SYNTAX),
    /* Bad Content-Length. */
    BAD("conflicting lengths", HEAD200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", SYNTAX),
    BAD("negative length", HEAD200 "Content-Length: -1\r\n\r\n", SYNTAX),
    BAD("plus sign", HEAD200 "Content-Length: +5\r\n\r\nhello", SYNTAX),
    BAD("two numbers", HEAD200 "Content-Length: 5 5\r\n\r\nhello", SYNTAX),
    BAD("length list", HEAD200 "Content-Length: 5,5\r\n\r\nhello", SYNTAX),
    BAD("hex length", HEAD200 "Content-Length: 0x10\r\n\r\n", SYNTAX),
    BAD("trailing letter", HEAD200 "Content-Length: 5a\r\n\r\nhello", SYNTAX),
    BAD("empty length", HEAD200 "Content-Length: \r\n\r\n", SYNTAX),
    BAD("2^64 length", HEAD200 "Content-Length: 18446744073709551616\r\n\r\n", SYNTAX),
    BAD("huge length", HEAD200 "Content-Length: 99999999999999999999999999\r\n\r\n", SYNTAX),
    BAD("2^64-1 length", HEAD200 "Content-Length: 18446744073709551615\r\n\r\n",
        PAPI_HTTP_ERR_TOO_LARGE),
    /* Transfer-Encoding other than chunked alone. */
    BAD("gzip", HEAD200 "Transfer-Encoding: gzip\r\n\r\n", SYNTAX),
    BAD("identity", HEAD200 "Transfer-Encoding: identity\r\n\r\n", SYNTAX),
    BAD("gzip, chunked", HEAD200 "Transfer-Encoding: gzip, chunked\r\n\r\n", SYNTAX),
    BAD("chunked, gzip", HEAD200 "Transfer-Encoding: chunked, gzip\r\n\r\n", SYNTAX),
    BAD("chunked with parameter", HEAD200 "Transfer-Encoding: chunked;q=1\r\n\r\n", SYNTAX),
    BAD("empty coding", HEAD200 "Transfer-Encoding: \r\n\r\n", SYNTAX),
    BAD("chunked twice", HEAD200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        SYNTAX),
    BAD("chunked and length", HEAD200 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        SYNTAX),
    /* Bad chunked framing. */
    BAD("chunk size not hex", CHUNKED_HEAD "xyz\r\n", SYNTAX),
    BAD("chunk size empty", CHUNKED_HEAD "\r\n", SYNTAX),
    BAD("chunk size negative", CHUNKED_HEAD "-1\r\n", SYNTAX),
    BAD("chunk size 0x", CHUNKED_HEAD "0x5\r\nhello\r\n0\r\n\r\n", SYNTAX),
    BAD("chunk size trailing blank", CHUNKED_HEAD "5 \r\nhello\r\n0\r\n\r\n", SYNTAX),
    BAD("chunk size overflow", CHUNKED_HEAD "10000000000000000\r\n", SYNTAX),
    BAD("chunk size huge", CHUNKED_HEAD "FFFFFFFFFFFFFFFF\r\n", PAPI_HTTP_ERR_TOO_LARGE),
    BAD("chunk longer than size", CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n", SYNTAX),
    BAD("bare CR in chunk line", CHUNKED_HEAD "5;a\rb\r\nhello\r\n0\r\n\r\n", SYNTAX),
    BAD("bad trailer", CHUNKED_HEAD "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n", SYNTAX),
    BAD("folded trailer", CHUNKED_HEAD "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n", SYNTAX),
};

static void test_garbage(void **state)
{
    apr_size_t i;

    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *c = &bad_cases[i];
        apr_size_t piece;

        /* The same verdict whole and byte by byte. */
        for (piece = 0; piece <= 1; piece++) {
            parsed r = feed_then_eof(*state, c->data, c->len, piece, NULL, 0);

            if (r.state != PAPI_HTTP_ERROR || papi_http_parser_error_kind(r.ps) != c->kind
                || papi_http_parser_error(r.ps) == NULL)
                fail_msg("%s (piece %u): state %d kind %d, want error kind %d", c->name,
                         (unsigned)piece, r.state, papi_http_parser_error_kind(r.ps), c->kind);
        }
    }
}

static void test_error_messages_name_the_problem(void **state)
{
    static const bad_case cases[] = {
        BAD("folding", HEAD200 "X-A: a\r\n b\r\n\r\n", SYNTAX),
        BAD("bare CR", HEAD200 "X-A: a\rb\r\n\r\n", SYNTAX),
        BAD("NUL", HEAD200 "X-A: a\0b\r\n\r\n", SYNTAX),
        BAD("not an HTTP response", "SSH-2.0-OpenSSH_9.2\r\n", SYNTAX),
        BAD("conflicting", HEAD200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", SYNTAX),
    };
    apr_size_t i;

    /* Here the case name is a phrase the error message must contain. */
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parsed r = feed_pieces(*state, cases[i].data, cases[i].len, 0, NULL, 0);

        assert_error(r, cases[i].kind);
        if (strstr(papi_http_parser_error(r.ps), cases[i].name) == NULL)
            fail_msg("error \"%s\" does not say \"%s\"", papi_http_parser_error(r.ps),
                     cases[i].name);
    }
}

static void test_not_http_refused_before_line_end(void **state)
{
    papi_http_parser *ps = papi_http_parser_make(*state, NULL, 0);

    /* A peer speaking something else may never send a line end: do not wait for one. */
    assert_int_equal(papi_http_parser_feed(ps, LIT("HTT"), NULL), PAPI_HTTP_MORE);
    assert_int_equal(papi_http_parser_feed(ps, LIT("X"), NULL), PAPI_HTTP_ERROR);
    assert_int_equal(papi_http_parser_error_kind(ps), PAPI_HTTP_ERR_SYNTAX);
}

/* ---- Responses without a body ---- */

static void test_head_with_content_length(void **state)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: 87664\r\n\r\n";
    char *in = apr_pstrcat(*state, head, "HTTP/1.1 200 OK\r\n", NULL);
    parsed r = feed_pieces(*state, in, strlen(in), 0, NULL, 1);

    assert_done_with_body(r, "", 0);
    assert_int_equal(r.consumed, strlen(head));
    assert_string_equal(papi_http_header_get(r.resp, "content-length"), "87664");
    /* Without HEAD the same head announces a body. */
    assert_int_equal(feed_pieces(*state, in, strlen(in), 0, NULL, 0).state, PAPI_HTTP_MORE);
}

static void test_head_ignores_chunked(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n"),
                           0, NULL, 1);

    assert_done_with_body(r, "", 0);
    assert_int_equal(r.consumed, sizeof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") - 1);
}

static void test_statuses_without_body(void **state)
{
    static const char *const heads[] = {
        "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        char *in = apr_pstrcat(*state, heads[i], "hello", NULL);
        parsed r = feed_pieces(*state, in, strlen(in), 0, NULL, 0);

        assert_done_with_body(r, "", 0);
        assert_int_equal(r.consumed, strlen(heads[i]));
    }
}

/* ---- Interim (1xx) answers ---- */

#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

static void assert_final_after_interim(parsed r, apr_size_t len)
{
    assert_done_with_body(r, "hello", 5);
    assert_int_equal(r.consumed, len);
    assert_int_equal(r.resp->status, 200);
    assert_string_equal(r.resp->reason, "OK");
    /* After an interim answer the connection is never used again. */
    assert_false(papi_http_parser_reusable(r.ps));
}

static void test_continue_then_final(void **state)
{
    const char *in = CONTINUE CL_RESPONSE;
    apr_size_t piece;

    for (piece = 0; piece <= 7; piece++)
        assert_final_after_interim(feed_pieces(*state, in, strlen(in), piece, NULL, 0), strlen(in));
    /* The same for HEAD, where the final answer has no body. */
    {
        parsed r = feed_pieces(*state, LIT(CONTINUE "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
                               0, NULL, 1);
        assert_done_with_body(r, "", 0);
        assert_int_equal(r.resp->status, 200);
    }
}

static void test_several_interim_answers(void **state)
{
    const char *in = CONTINUE "HTTP/1.1 102 Processing\r\n\r\n" "HTTP/1.1 199\r\n\r\n"
                     "HTTP/1.1 100 Continue\n\n" CL_RESPONSE;
    const char *after = "HTTP/1.1 404 Not Found\r\n";
    char *both = apr_pstrcat(*state, in, after, NULL);

    assert_final_after_interim(feed_pieces(*state, in, strlen(in), 0, NULL, 0), strlen(in));
    assert_final_after_interim(feed_pieces(*state, in, strlen(in), 1, NULL, 0), strlen(in));
    /* Bytes after the final answer stay unread, as after any answer. */
    assert_int_equal(feed_pieces(*state, both, strlen(both), 0, NULL, 0).consumed, strlen(in));
}

static void test_early_hints_headers_are_dropped(void **state)
{
    parsed r = feed_pieces(*state, LIT("HTTP/1.1 103 Early Hints\r\n"
                                       "Link: </style.css>; rel=preload; as=style\r\n"
                                       "X-Hint: 1\r\n\r\n" CL_RESPONSE), 0, NULL, 0);

    assert_done_with_body(r, "hello", 5);
    assert_int_equal(r.resp->status, 200);
    /* Only the final answer's headers. */
    assert_int_equal(r.resp->headers->nelts, 2);
    assert_null(papi_http_header_get(r.resp, "Link"));
    assert_null(papi_http_header_get(r.resp, "X-Hint"));
    assert_string_equal(papi_http_header_get(r.resp, "Content-Type"), "text/plain");
}

static void test_switching_protocols_refused(void **state)
{
    static const char *const inputs[] = {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        CONTINUE "HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello",
        "HTTP/1.1 101\r\n",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        parsed r = feed_then_eof(*state, inputs[i], strlen(inputs[i]), 0, NULL, 0);

        assert_error(r, PAPI_HTTP_ERR_SYNTAX);
        assert_non_null(strstr(papi_http_parser_error(r.ps), "101 Switching Protocols refused"));
        assert_false(papi_http_parser_reusable(r.ps));
    }
}

static void test_interim_then_garbage_or_nothing(void **state)
{
    parsed r = feed_then_eof(*state, LIT(CONTINUE "SSH-2.0-OpenSSH_9.2\r\n"), 0, NULL, 0);

    assert_error(r, PAPI_HTTP_ERR_SYNTAX);
    assert_string_equal(papi_http_parser_error(r.ps), "not an HTTP response");
    r = feed_then_eof(*state, LIT(CONTINUE "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                                  "Content-Length: 2\r\n\r\n"), 0, NULL, 0);
    assert_error(r, PAPI_HTTP_ERR_SYNTAX);
    /* An interim answer and then the end: no answer at all. */
    r = feed_then_eof(*state, LIT(CONTINUE), 0, NULL, 0);
    assert_error(r, PAPI_HTTP_ERR_TRUNCATED);
    assert_non_null(strstr(papi_http_parser_error(r.ps), "interim"));
    /* A malformed interim answer is as bad as a malformed final one. */
    r = feed_then_eof(*state, LIT("HTTP/1.1 100 Continue\r\nbad header\r\n\r\n" CL_RESPONSE),
                      0, NULL, 0);
    assert_error(r, PAPI_HTTP_ERR_SYNTAX);
    r = feed_then_eof(*state, LIT("HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\n"
                                  CL_RESPONSE), 0, NULL, 0);
    assert_error(r, PAPI_HTTP_ERR_SYNTAX);
}

/* n interim answers, then CL_RESPONSE. */
static char *interims(apr_pool_t *p, int n)
{
    papi_buf *b = papi_buf_make(p, 0);
    int i;

    for (i = 0; i < n; i++)
        papi_buf_puts(b, CONTINUE);
    papi_buf_puts(b, CL_RESPONSE);
    return b->data;
}

static void test_interim_answers_are_capped(void **state)
{
    char *eight = interims(*state, 8), *nine = interims(*state, 9);
    char *many = interims(*state, 100000);
    parsed r;

    r = feed_pieces(*state, eight, strlen(eight), 0, NULL, 0);
    assert_final_after_interim(r, strlen(eight));
    r = feed_pieces(*state, nine, strlen(nine), 0, NULL, 0);
    assert_error(r, PAPI_HTTP_ERR_TOO_LARGE);
    assert_non_null(strstr(papi_http_parser_error(r.ps), "interim (1xx) answers"));
    /* An endless stream of them: refused after the ninth, the rest never looked at. */
    r = feed_pieces(*state, many, strlen(many), 0, NULL, 0);
    assert_error(r, PAPI_HTTP_ERR_TOO_LARGE);
    assert_int_equal(r.consumed, 9 * strlen(CONTINUE));
}

static void test_interim_answers_count_against_the_header_limits(void **state)
{
    papi_http_limits bytes = { 2 * (sizeof(CONTINUE) - 1) + 40, 64, 1024 };
    papi_http_limits lines = { 4096, 3, 1024 };
    const char *hints = "HTTP/1.1 103 Early Hints\r\nLink: <a>\r\nLink: <b>\r\n\r\n";
    char *in = apr_pstrcat(*state, hints, CL_RESPONSE, NULL);

    assert_error(feed_pieces(*state, LIT(CONTINUE CONTINUE CL_RESPONSE), 0, &bytes, 0),
                 PAPI_HTTP_ERR_TOO_LARGE);
    assert_error(feed_pieces(*state, in, strlen(in), 0, &lines, 0), PAPI_HTTP_ERR_TOO_LARGE);
    /* The budget spent exactly by an interim answer: whatever comes next is too much, whole or
     * byte by byte, even when it is not HTTP. */
    bytes.max_header_bytes = sizeof(CONTINUE) - 1;
    assert_error(feed_pieces(*state, LIT(CONTINUE "HTTP?1.1 200\r\n"), 0, &bytes, 0),
                 PAPI_HTTP_ERR_TOO_LARGE);
    assert_error(feed_pieces(*state, LIT(CONTINUE "HTTP?1.1 200\r\n"), 1, &bytes, 0),
                 PAPI_HTTP_ERR_TOO_LARGE);
}

/* ---- Pipelining and the end of a parse ---- */

static void test_pipelined_bytes_not_consumed(void **state)
{
    const char *first = CL_RESPONSE;
    const char *second = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNot found";
    char *both = apr_pstrcat(*state, first, CHUNKED_RESPONSE, second, NULL);
    apr_size_t len = strlen(both), off;
    parsed r;

    r = feed_pieces(*state, both, len, 0, NULL, 0);
    assert_done_with_body(r, "hello", 5);
    off = r.consumed;
    assert_int_equal(off, strlen(first));

    r = feed_pieces(*state, both + off, len - off, 0, NULL, 0);
    assert_chunked_result(r);
    off += r.consumed;

    r = feed_pieces(*state, both + off, len - off, 0, NULL, 0);
    assert_done_with_body(r, "Not found", 9);
    assert_int_equal(r.resp->status, 404);
    assert_int_equal(off + r.consumed, len);
}

static void test_finished_parser_stays_put(void **state)
{
    papi_http_parser *ps = papi_http_parser_make(*state, NULL, 0);
    apr_size_t used = 99;

    assert_null(papi_http_parser_error(ps));
    assert_int_equal(papi_http_parser_error_kind(ps), PAPI_HTTP_ERR_NONE);
    assert_int_equal(papi_http_parser_feed(ps, LIT(CL_RESPONSE), NULL), PAPI_HTTP_DONE);
    assert_int_equal(papi_http_parser_feed(ps, LIT("HTTP/1.1 200 OK\r\n"), &used), PAPI_HTTP_DONE);
    assert_int_equal(used, 0);
    assert_int_equal(papi_http_parser_eof(ps), PAPI_HTTP_DONE);
    assert_string_equal(papi_http_parser_response(ps)->body, "hello");

    ps = papi_http_parser_make(*state, NULL, 0);
    assert_int_equal(papi_http_parser_feed(ps, LIT("garbage\r\n"), NULL), PAPI_HTTP_ERROR);
    used = 99;
    assert_int_equal(papi_http_parser_feed(ps, LIT(CL_RESPONSE), &used), PAPI_HTTP_ERROR);
    assert_int_equal(used, 0);
    assert_int_equal(papi_http_parser_eof(ps), PAPI_HTTP_ERROR);
    assert_int_equal(papi_http_parser_error_kind(ps), PAPI_HTTP_ERR_SYNTAX);
}

static void test_empty_feed(void **state)
{
    papi_http_parser *ps = papi_http_parser_make(*state, NULL, 0);
    apr_size_t used = 99;
    papi_http_response *resp;

    assert_int_equal(papi_http_parser_feed(ps, "", 0, &used), PAPI_HTTP_MORE);
    assert_int_equal(used, 0);
    resp = papi_http_parser_response(ps);
    assert_int_equal(resp->status, 0);
    assert_int_equal(resp->headers->nelts, 0);
    assert_string_equal(resp->body, "");
    assert_int_equal(resp->body_len, 0);
}

/* ---- Whether the connection can carry another request ---- */

static void test_reusable_only_when_framed_and_not_closed(void **state)
{
    apr_pool_t *p = *state;
    static const struct {
        const char *response;
        int head;
        int reusable;
    } cases[] = {
        { CL_RESPONSE, 0, 1 },
        { "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 0, 1 },
        { "HTTP/1.1 204 No Content\r\n\r\n", 0, 1 },
        { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1, 1 },
        { CHUNKED_RESPONSE, 0, 1 },
        { "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", 0, 0 },
        { "HTTP/1.1 200 OK\r\nconnection: Keep-Alive, CLOSE\r\nContent-Length: 5\r\n\r\nhello", 0, 0 },
        { "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 0, 0 },
        { "HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", 0, 1 },
        { "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 0 },
        { "HTTP/1.1 200 OK\r\n\r\nends with the stream", 0, 0 },
        { CONTINUE CL_RESPONSE, 0, 0 },
        { "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0, 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parsed r = feed_then_eof(p, cases[i].response, strlen(cases[i].response), 0, NULL,
                                 cases[i].head);
        assert_int_equal(r.state, PAPI_HTTP_DONE);
        if (papi_http_parser_reusable(r.ps) != cases[i].reusable)
            fail_msg("case %zu: reusable should be %d", i, cases[i].reusable);
    }
    /* Not before the answer is complete, nor after a bad one. */
    {
        papi_http_parser *ps = papi_http_parser_make(p, NULL, 0);
        assert_int_equal(papi_http_parser_feed(ps, LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"),
                                               NULL), PAPI_HTTP_MORE);
        assert_false(papi_http_parser_reusable(ps));
        ps = papi_http_parser_make(p, NULL, 0);
        assert_int_equal(papi_http_parser_feed(ps, LIT("garbage\r\n"), NULL), PAPI_HTTP_ERROR);
        assert_false(papi_http_parser_reusable(ps));
    }
}

/* ---- Real responses captured from a Passenger core ---- */

typedef struct sample {
    const char *file;
    int status;
    const char *content_type;
    apr_size_t content_length;
    apr_size_t captured_body;   /* less than content_length when the capture was cut short */
} sample;

static const sample samples[] = {
    { "core_GET_backtraces.txt.http", 200, "text/plain", 2652, 2652 },
    { "core_GET_config.json.head.http", 200, "application/json", 87664, 3871 },
    { "core_GET_gc.json_405.http", 405, "text/html; charset=UTF-8", 18, 18 },
    { "core_GET_info.json.http", 200, "application/json", 179, 179 },
    { "core_GET_nope.http", 404, "text/html; charset=UTF-8", 9, 9 },
    { "core_GET_ping.json.http", 200, "application/json", 18, 18 },
    { "core_GET_pool.json.http", 200, "application/json", 2437, 2437 },
    { "core_GET_pool.txt.http", 200, "text/plain", 504, 504 },
    { "core_GET_pool.txt_malformed_query_500.http", 500, "text/html; charset=UTF-8", 124, 124 },
    { "core_GET_pool.txt_verbose_true.http", 200, "text/plain", 652, 652 },
    { "core_GET_pool.xml.http", 200, "text/xml", 3916, 3916 },
    { "core_GET_pool.xml_401_www-data.http", 401, "text/html; charset=UTF-8", 12, 12 },
    { "core_GET_pool.xml_secrets_true.http", 200, "text/xml", 5010, 5010 },
    { "core_GET_server.json.http", 200, "application/json", 3213, 3213 },
    { "core_GET_server.json_in_flight.http", 200, "application/json", 8846, 8846 },
};

static const char *samples_dir(void)
{
    const char *dir = getenv("PAPI_SAMPLES_DIR");

    return dir ? dir : DEFAULT_SAMPLES_DIR;
}

static char *read_sample(apr_pool_t *p, const char *path, apr_size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;

    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root, or set PAPI_SAMPLES_DIR)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    data = apr_palloc(p, (apr_size_t)size);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (apr_size_t)size;
    return data;
}

static void check_sample(apr_pool_t *p, const sample *s, const char *data, apr_size_t len,
                         apr_size_t piece)
{
    parsed r = feed_pieces(p, data, len, piece, NULL, 0);
    int complete = s->captured_body == s->content_length;

    assert_int_equal(r.state, complete ? PAPI_HTTP_DONE : PAPI_HTTP_MORE);
    assert_int_equal(r.consumed, len);
    assert_int_equal(r.resp->minor_version, 1);
    assert_int_equal(r.resp->status, s->status);
    assert_string_equal(papi_http_header_get(r.resp, "Content-Type"), s->content_type);
    assert_string_equal(papi_http_header_get(r.resp, "content-type"), s->content_type);
    assert_string_equal(papi_http_header_get(r.resp, "CONTENT-TYPE"), s->content_type);
    assert_string_equal(papi_http_header_get(r.resp, "Status"),
                        apr_psprintf(p, "%d %s", s->status, r.resp->reason));
    assert_int_equal(apr_atoi64(papi_http_header_get(r.resp, "content-length")), s->content_length);
    assert_int_equal(r.resp->body_len, s->captured_body);
    /* The body is the capture's tail, byte for byte. */
    assert_memory_equal(r.resp->body, data + len - s->captured_body, s->captured_body);
    if (!complete)
        assert_int_equal(papi_http_parser_eof(r.ps), PAPI_HTTP_ERROR);
}

static void test_real_samples(void **state)
{
    apr_size_t i;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const char *path = apr_pstrcat(*state, samples_dir(), "/", samples[i].file, NULL);
        apr_size_t len;
        char *data = read_sample(*state, path, &len);

        check_sample(*state, &samples[i], data, len, 0);
        check_sample(*state, &samples[i], data, len, 1);
        check_sample(*state, &samples[i], data, len, 7);
    }
}

static void test_every_sample_is_covered(void **state)
{
    const char *pattern = apr_pstrcat(*state, samples_dir(), "/core_GET_*.http", NULL);
    glob_t g;
    size_t i, j;

    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= sizeof(samples) / sizeof(samples[0]));
    for (i = 0; i < g.gl_pathc; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        int known = 0;

        for (j = 0; j < sizeof(samples) / sizeof(samples[0]); j++)
            known |= strcmp(base, samples[j].file) == 0;
        if (!known)
            fail_msg("sample %s has no expectations in test_http.c", base);
    }
    globfree(&g);
}

PAPI_TEST_MAIN(
    PAPI_TEST(test_content_length),
    PAPI_TEST(test_content_length_one_byte_at_a_time),
    PAPI_TEST(test_content_length_zero),
    PAPI_TEST(test_same_content_length_twice_accepted),
    PAPI_TEST(test_body_bytes_kept_verbatim),
    PAPI_TEST(test_bare_lf_line_endings),
    PAPI_TEST(test_status_line_variants),
    PAPI_TEST(test_header_values_trimmed_and_get_case_insensitive),
    PAPI_TEST(test_close_delimited),
    PAPI_TEST(test_close_delimited_empty_body),
    PAPI_TEST(test_chunked),
    PAPI_TEST(test_chunked_one_byte_at_a_time),
    PAPI_TEST(test_chunked_split_at_every_boundary),
    PAPI_TEST(test_chunked_bare_lf),
    PAPI_TEST(test_chunked_large_body_grows),
    PAPI_TEST(test_truncated),
    PAPI_TEST(test_truncated_body_keeps_what_arrived),
    PAPI_TEST(test_header_bytes_limit_is_inclusive),
    PAPI_TEST(test_header_limit_hit_without_line_end),
    PAPI_TEST(test_default_header_limit),
    PAPI_TEST(test_header_count_limit),
    PAPI_TEST(test_trailers_count_against_header_limits),
    PAPI_TEST(test_chunk_size_line_too_long),
    PAPI_TEST(test_content_length_body_limit),
    PAPI_TEST(test_content_length_body_allocated_once),
    PAPI_TEST(test_close_delimited_body_limit),
    PAPI_TEST(test_chunked_body_limit),
    PAPI_TEST(test_default_body_limit),
    PAPI_TEST(test_garbage),
    PAPI_TEST(test_error_messages_name_the_problem),
    PAPI_TEST(test_not_http_refused_before_line_end),
    PAPI_TEST(test_head_with_content_length),
    PAPI_TEST(test_head_ignores_chunked),
    PAPI_TEST(test_statuses_without_body),
    PAPI_TEST(test_continue_then_final),
    PAPI_TEST(test_several_interim_answers),
    PAPI_TEST(test_early_hints_headers_are_dropped),
    PAPI_TEST(test_switching_protocols_refused),
    PAPI_TEST(test_interim_then_garbage_or_nothing),
    PAPI_TEST(test_interim_answers_are_capped),
    PAPI_TEST(test_interim_answers_count_against_the_header_limits),
    PAPI_TEST(test_pipelined_bytes_not_consumed),
    PAPI_TEST(test_finished_parser_stays_put),
    PAPI_TEST(test_reusable_only_when_framed_and_not_closed),
    PAPI_TEST(test_empty_feed),
    PAPI_TEST(test_real_samples),
    PAPI_TEST(test_every_sample_is_covered))
