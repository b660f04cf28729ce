/* An incremental, strict reader of one HTTP/1.x response, as a Passenger core (or an impostor)
 * sends it. Bytes are fed as they arrive; the reader says when the response is complete. Every
 * limit breach and every framing error is an error with a reason, never a crash or a hang.
 *
 * Interim answers (1xx) before the final one are read and dropped: the response is the final
 * one. At most 8 are read (one more is a TOO_LARGE error), they count against the header limits,
 * and 101 Switching Protocols is a SYNTAX error: nothing here ever asks for an upgrade. */
#ifndef PAPI_HTTP_H
#define PAPI_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct papi_http_limits {
    apr_size_t max_header_bytes;    /* status line + all header lines, with their line ends and
                                     * the blank line; trailers count here too */
    int max_headers;                /* header lines, trailer lines included */
    apr_size_t max_body;
} papi_http_limits;

/* Defaults: 16 KiB of header, 64 headers, 8 MiB of body. */
extern const papi_http_limits papi_http_default_limits;

typedef struct papi_http_header {
    const char *name;   /* as received */
    const char *value;  /* leading and trailing blanks removed */
} papi_http_header;

typedef struct papi_http_response {
    int minor_version;              /* HTTP/1.<minor> */
    int status;                     /* 200..999 once complete (interim answers are dropped) */
    const char *reason;             /* may be "" */
    apr_array_header_t *headers;    /* papi_http_header, in the order received */
    char *body;                     /* NUL-terminated after body_len; "" when there is none */
    apr_size_t body_len;
} papi_http_response;

typedef enum {
    PAPI_HTTP_MORE,     /* feed more bytes (or call papi_http_parser_eof at end of stream) */
    PAPI_HTTP_DONE,     /* the response is complete; later bytes are not consumed */
    PAPI_HTTP_ERROR     /* see papi_http_parser_error */
} papi_http_state;

typedef enum {
    PAPI_HTTP_ERR_NONE = 0,
    PAPI_HTTP_ERR_SYNTAX,       /* malformed status line, header, chunk size, framing */
    PAPI_HTTP_ERR_TOO_LARGE,    /* a limit was passed */
    PAPI_HTTP_ERR_TRUNCATED     /* end of stream before the response was complete */
} papi_http_error_kind;

typedef struct papi_http_parser papi_http_parser;

/* head_request: the request was HEAD, so the response has no body whatever it says. */
papi_http_parser *papi_http_parser_make(apr_pool_t *p, const papi_http_limits *limits,
                                        int head_request);

/* Consumes bytes of data; *consumed (may be NULL) says how many were used (fewer than len only
 * when the response completed before the end of data). Once DONE or ERROR, further calls return
 * the same state and consume nothing. */
papi_http_state papi_http_parser_feed(papi_http_parser *ps, const char *data, apr_size_t len,
                                      apr_size_t *consumed);

/* The peer closed the stream: completes a close-delimited body, otherwise a TRUNCATED error
 * unless already DONE. */
papi_http_state papi_http_parser_eof(papi_http_parser *ps);

papi_http_error_kind papi_http_parser_error_kind(const papi_http_parser *ps);
const char *papi_http_parser_error(const papi_http_parser *ps);    /* NULL when none */

/* The response so far; complete once DONE. */
papi_http_response *papi_http_parser_response(papi_http_parser *ps);

/* The response is complete, framed by its length (not by the end of the stream), HTTP/1.1,
 * without Connection: close, and came without interim answers: the connection may carry another
 * request. Bytes fed after the end of the response are the caller's to judge
 * (papi_http_parser_feed's consumed). */
int papi_http_parser_reusable(const papi_http_parser *ps);

/* A deep copy of resp in p. */
papi_http_response *papi_http_response_copy(apr_pool_t *p, const papi_http_response *resp);

/* The value of the first header named name (case-insensitive), or NULL. */
const char *papi_http_header_get(const papi_http_response *resp, const char *name);

#endif
