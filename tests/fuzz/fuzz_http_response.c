/* libFuzzer target for papi_http. The first input byte picks how the rest is fed (piece size),
 * whether the request was HEAD, and whether small limits apply. Besides the sanitizers, every
 * input is parsed twice, in pieces and in one go, and both parses must agree: the verdict may not
 * depend on how the bytes arrived. */
#include <string.h>

#include "papi_fuzz.h"
#include "papi_http.h"

typedef struct outcome {
    papi_http_parser *ps;
    papi_http_state state;
    apr_size_t consumed;
} outcome;

/* Checks what a finished parser reports against its state. */
static void check_finished(const outcome *o)
{
    papi_http_response *resp = papi_http_parser_response(o->ps);

    CHECK(o->state != PAPI_HTTP_MORE);
    CHECK(resp->body != NULL && resp->body[resp->body_len] == '\0');
    CHECK(resp->reason != NULL && resp->headers != NULL);
    if (o->state == PAPI_HTTP_DONE) {
        CHECK(papi_http_parser_error_kind(o->ps) == PAPI_HTTP_ERR_NONE);
        CHECK(papi_http_parser_error(o->ps) == NULL);
        /* Interim answers are dropped and 101 refused: a finished answer is a final one. */
        CHECK(resp->status >= 200 && resp->status <= 999);
        /* A connection is reused only after an HTTP/1.1 answer. */
        CHECK(!papi_http_parser_reusable(o->ps) || resp->minor_version >= 1);
    } else {
        CHECK(papi_http_parser_error_kind(o->ps) != PAPI_HTTP_ERR_NONE);
        CHECK(papi_http_parser_error(o->ps) != NULL);
        CHECK(!papi_http_parser_reusable(o->ps));
    }
}

/* Feeds data in pieces of at most piece bytes (0: at once), then ends the stream. */
static outcome parse(apr_pool_t *p, const char *data, size_t len, size_t piece,
                     const papi_http_limits *limits, int head)
{
    outcome o = { papi_http_parser_make(p, limits, head), PAPI_HTTP_MORE, 0 };
    apr_size_t used;

    while (o.consumed < len && o.state == PAPI_HTTP_MORE) {
        size_t left = len - o.consumed, n = piece && piece < left ? piece : left;

        o.state = papi_http_parser_feed(o.ps, data + o.consumed, n, &used);
        CHECK(used <= n);
        CHECK(o.state != PAPI_HTTP_MORE || used == n);
        o.consumed += used;
    }
    if (o.state == PAPI_HTTP_MORE)
        o.state = papi_http_parser_eof(o.ps);
    check_finished(&o);
    /* A finished parser takes nothing more. */
    CHECK(papi_http_parser_feed(o.ps, "HTTP/1.1 200 OK\r\n", 17, &used) == o.state && used == 0);
    CHECK(papi_http_parser_eof(o.ps) == o.state);
    return o;
}

static void check_same(const outcome *a, const outcome *b)
{
    papi_http_response *ra = papi_http_parser_response(a->ps);
    papi_http_response *rb = papi_http_parser_response(b->ps);

    CHECK(a->state == b->state);
    CHECK(papi_http_parser_error_kind(a->ps) == papi_http_parser_error_kind(b->ps));
    if (a->state != PAPI_HTTP_DONE)
        return;
    CHECK(a->consumed == b->consumed);
    CHECK(papi_http_parser_reusable(a->ps) == papi_http_parser_reusable(b->ps));
    CHECK(ra->status == rb->status && ra->minor_version == rb->minor_version);
    CHECK(strcmp(ra->reason, rb->reason) == 0);
    CHECK(ra->headers->nelts == rb->headers->nelts);
    CHECK(ra->body_len == rb->body_len && memcmp(ra->body, rb->body, ra->body_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const papi_http_limits small = { 256, 8, 1024 };
    apr_pool_t *p;
    unsigned int ctl;
    outcome pieces, whole;

    if (size == 0)
        return 0;
    ctl = data[0];
    data++;
    size--;
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    pieces = parse(p, (const char *)data, size, (ctl & 0x1F) + 1, (ctl & 0x80) ? &small : NULL,
                   (ctl & 0x40) != 0);
    whole = parse(p, (const char *)data, size, 0, (ctl & 0x80) ? &small : NULL, (ctl & 0x40) != 0);
    check_same(&pieces, &whole);
    apr_pool_destroy(p);
    return 0;
}
