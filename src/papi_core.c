#include "papi_core.h"

#include <apr_base64.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

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
        rv = papi_socket_peer_uid(*sock, peer_uid);
    if (rv != APR_SUCCESS)
        apr_socket_close(*sock);
    return rv;
}

/* The request is assembled in one allocation; the sender wipes it when done (it carries the
 * password), and the pieces that held the credential are wiped here. */
char *papi_core_request_text(apr_pool_t *p, const papi_core_request *req, apr_size_t *len)
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
                                    "\r\n", req->method, req->path,
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

void papi_core_exchange(apr_pool_t *p, papi_exchange *x, const char *socket_path, uid_t owner,
                        const papi_core_request *req, apr_time_t deadline,
                        const papi_http_limits *limits)
{
    papi_exchange_unix(x, socket_path, owner);
    x->peer = "the core";
    x->request = papi_core_request_text(p, req, &x->request_len);
    x->limits = limits;
    x->head = !strcmp(req->method, "HEAD");
    x->deadline = deadline;
}

void papi_core_call(apr_pool_t *p, const char *socket_path, uid_t owner,
                    const papi_core_request *req, apr_time_t deadline,
                    const papi_http_limits *limits, papi_exchange_result *res)
{
    papi_exchange x;

    papi_core_exchange(p, &x, socket_path, owner, req, deadline, limits);
    papi_exchange_run(p, &x, 1);
    *res = x.res;
}

const papi_http_response *papi_core_405(apr_pool_t *p)
{
    static const char body[] = "Method not allowed";
    papi_http_response *resp = apr_pcalloc(p, sizeof(*resp));
    char date[40];
    time_t now = time(NULL);
    struct tm tm;

    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime_r(&now, &tm));
    resp->minor_version = 1;
    resp->status = 405;
    resp->reason = "Method Not Allowed";
    resp->headers = apr_array_make(p, 5, sizeof(papi_http_header));
    APR_ARRAY_PUSH(resp->headers, papi_http_header) =
        (papi_http_header){ "Status", "405 Method Not Allowed" };
    APR_ARRAY_PUSH(resp->headers, papi_http_header) =
        (papi_http_header){ "Content-Type", "text/html; charset=UTF-8" };
    APR_ARRAY_PUSH(resp->headers, papi_http_header) =
        (papi_http_header){ "Date", apr_pstrdup(p, date) };
    APR_ARRAY_PUSH(resp->headers, papi_http_header) =
        (papi_http_header){ "Content-Length", apr_itoa(p, (int)sizeof(body) - 1) };
    APR_ARRAY_PUSH(resp->headers, papi_http_header) =
        (papi_http_header){ "Cache-Control", "no-cache, no-store, must-revalidate" };
    resp->body = apr_pstrdup(p, body);
    resp->body_len = sizeof(body) - 1;
    return resp;
}
