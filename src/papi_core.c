#include "papi_core.h"

#include <apr_base64.h>
#include <apr_network_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PAPI_RECV_CHUNK 16384

apr_status_t papi_socket_until(apr_socket_t *sock, apr_time_t deadline)
{
    apr_time_t left = deadline - apr_time_now();

    if (left <= 0)
        return APR_TIMEUP;
    return apr_socket_timeout_set(sock, left);
}

apr_status_t papi_socket_send_all(apr_socket_t *sock, const char *data, apr_size_t len,
                                  apr_time_t deadline)
{
    while (len > 0) {
        apr_size_t n = len;
        apr_status_t rv = papi_socket_until(sock, deadline);
        if (rv == APR_SUCCESS)
            rv = apr_socket_send(sock, data, &n);
        if (rv != APR_SUCCESS && n == 0)
            return rv;
        data += n;
        len -= n;
    }
    return APR_SUCCESS;
}

static apr_status_t papi_peer_uid(apr_socket_t *sock, uid_t *uid)
{
    apr_os_sock_t fd;
    struct ucred cred;
    socklen_t len = sizeof(cred);

    apr_os_sock_get(&fd, sock);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return APR_FROM_OS_ERROR(errno);
    *uid = cred.uid;
    return APR_SUCCESS;
}

apr_status_t papi_unix_connect(apr_pool_t *p, const char *path, apr_time_t deadline,
                               apr_socket_t **sock, uid_t *peer_uid)
{
    apr_sockaddr_t *sa;
    apr_status_t rv;

    /* APR would silently truncate a longer path and connect somewhere else. */
    if (strlen(path) > sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
        return APR_ENAMETOOLONG;
    if ((rv = apr_sockaddr_info_get(&sa, path, APR_UNIX, 0, 0, p)) != APR_SUCCESS
        || (rv = apr_socket_create(sock, APR_UNIX, SOCK_STREAM, 0, p)) != APR_SUCCESS)
        return rv;
    if ((rv = papi_socket_until(*sock, deadline)) == APR_SUCCESS
        && (rv = apr_socket_connect(*sock, sa)) == APR_SUCCESS)
        rv = papi_peer_uid(*sock, peer_uid);
    if (rv != APR_SUCCESS)
        apr_socket_close(*sock);
    return rv;
}

/* The request is assembled in one allocation; the caller wipes it once sent (it carries the
 * password), and the pieces that held the credential are wiped here. */
const char *papi_core_request_text(apr_pool_t *p, const papi_core_request *req, apr_size_t *len)
{
    char *plain = NULL, *coded = NULL, *text;
    const char *framing = "";
    apr_size_t head;

    if (req->user) {
        plain = apr_pstrcat(p, req->user, ":", req->password, NULL);
        coded = apr_palloc(p, apr_base64_encode_len(strlen(plain)));
        apr_base64_encode(coded, plain, strlen(plain));
        explicit_bzero(plain, strlen(plain));
    }
    if (req->body)
        framing = apr_psprintf(p, "Content-Type: %s\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n",
                               req->content_type ? req->content_type : "application/json",
                               req->body_len);
    head = strlen(req->method) + strlen(req->path) + strlen(framing) + (coded ? strlen(coded) : 0)
           + 128;
    text = apr_palloc(p, head + req->body_len + 1);
    *len = (apr_size_t)apr_snprintf(text, head, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%s%s"
                                    "Connection: close\r\n\r\n", req->method, req->path,
                                    coded ? "Authorization: Basic " : "", coded ? coded : "",
                                    coded ? "\r\n" : "", framing);
    if (coded)
        explicit_bzero(coded, strlen(coded));
    if (req->body) {
        memcpy(text + *len, req->body, req->body_len);
        *len += req->body_len;
    }
    text[*len] = '\0';
    return text;
}

static void papi_fail(papi_core_result *res, apr_status_t rv, apr_pool_t *p, const char *what)
{
    char err[120];

    res->failure = APR_STATUS_IS_TIMEUP(rv) ? 504 : 502;
    res->error = APR_STATUS_IS_TIMEUP(rv)
        ? apr_pstrcat(p, "deadline passed while ", what, NULL)
        : apr_pstrcat(p, what, " failed: ", apr_strerror(rv, err, sizeof(err)), NULL);
}

/* Reads until the parser has a whole answer, the peer closes, or the deadline passes. */
static void papi_read_answer(apr_pool_t *p, apr_socket_t *sock, papi_http_parser *ps,
                             const papi_http_limits *limits, apr_time_t deadline,
                             papi_core_result *res)
{
    char *buf = apr_palloc(p, PAPI_RECV_CHUNK);
    papi_http_state st = PAPI_HTTP_MORE;

    while (st == PAPI_HTTP_MORE) {
        apr_size_t n = PAPI_RECV_CHUNK;
        apr_status_t rv = papi_socket_until(sock, deadline);
        if (rv == APR_SUCCESS)
            rv = apr_socket_recv(sock, buf, &n);
        if (n > 0)
            st = papi_http_parser_feed(ps, buf, n, NULL);
        if (st != PAPI_HTTP_MORE)
            break;
        if (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && n == 0))
            st = papi_http_parser_eof(ps);
        else if (rv != APR_SUCCESS) {
            papi_fail(res, rv, p, "reading the answer");
            return;
        }
    }
    if (st == PAPI_HTTP_ERROR) {
        res->failure = 502;
        res->error = papi_http_parser_error_kind(ps) == PAPI_HTTP_ERR_TOO_LARGE
            ? apr_psprintf(p, "answer too large: %s (limits: %" APR_SIZE_T_FMT " bytes of body, "
                           "%" APR_SIZE_T_FMT " bytes and %d lines of header)",
                           papi_http_parser_error(ps), limits->max_body, limits->max_header_bytes,
                           limits->max_headers)
            : apr_pstrcat(p, "bad answer: ", papi_http_parser_error(ps), NULL);
        return;
    }
    res->resp = papi_http_parser_response(ps);
}

void papi_core_call(apr_pool_t *p, const char *socket_path, uid_t owner,
                    const papi_core_request *req, apr_time_t deadline,
                    const papi_http_limits *limits, papi_core_result *res)
{
    apr_socket_t *sock;
    apr_status_t rv;
    apr_size_t len;
    uid_t peer;
    const char *text;

    memset(res, 0, sizeof(*res));
    if ((rv = papi_unix_connect(p, socket_path, deadline, &sock, &peer)) != APR_SUCCESS) {
        papi_fail(res, rv, p, "connecting to the core");
        return;
    }
    /* Anyone can bind a socket in a shared registry: only the instance's owner or root may
     * receive a password. */
    if (peer != owner && peer != 0) {
        res->failure = 502;
        res->error = apr_psprintf(p, "the core socket is served by uid %ld, not by the instance's "
                                  "owner (uid %ld): not sending credentials", (long)peer, (long)owner);
        apr_socket_close(sock);
        return;
    }
    text = papi_core_request_text(p, req, &len);
    rv = papi_socket_send_all(sock, text, len, deadline);
    explicit_bzero((char *)text, len);     /* it carries the password */
    if (rv != APR_SUCCESS)
        papi_fail(res, rv, p, "sending the request");
    else
        papi_read_answer(p, sock, papi_http_parser_make(p, limits, !strcmp(req->method, "HEAD")),
                         limits ? limits : &papi_http_default_limits, deadline, res);
    apr_socket_close(sock);
}
