#include "papi_direct.h"
#include "papi_buf.h"
#include "papi_chars.h"

#include <apr_strings.h>
#include <strings.h>
#include <string.h>

int papi_direct_find(const apr_array_header_t *views, apr_int64_t pid, papi_direct_target *t)
{
    int i;

    for (i = 0; i < views->nelts; i++) {
        t->view = &APR_ARRAY_IDX(views, i, papi_view);
        if ((t->group = papi_view_find(t->view, pid, &t->proc)) != NULL)
            return 1;
    }
    return 0;
}

/* A dotted-quad in 127.0.0.0/8, the only hosts a process's HTTP socket is reached on: the address
 * comes from the pool, and the module must never be made to connect elsewhere. */
static int papi_is_loopback_ipv4(const char *s)
{
    int parts = 0;

    if (strncmp(s, "127.", 4))
        return 0;
    while (*s) {
        int digits = 0, value = 0;
        while (papi_is_digit(*s) && digits < 4) {
            value = value * 10 + (*s++ - '0');
            digits++;
        }
        if (!digits || digits > 3 || value > 255)
            return 0;
        parts++;
        if (!*s)
            break;
        if (*s++ != '.')
            return 0;
    }
    return parts == 4;
}

/* "tcp://<ipv4>:<port>" into ip and port; 0 if it is not that. */
static int papi_parse_tcp(apr_pool_t *p, const char *address, const char **ip, apr_port_t *port)
{
    const char *host, *colon;
    char *end;
    apr_int64_t n;

    if (strncmp(address, "tcp://", 6))
        return 0;
    host = address + 6;
    if (!(colon = strrchr(host, ':')) || colon == host || !papi_is_digit(colon[1]))
        return 0;
    n = apr_strtoi64(colon + 1, &end, 10);
    if (*end || n < 1 || n > 65535)
        return 0;
    *ip = apr_pstrmemdup(p, host, colon - host);
    *port = (apr_port_t)n;
    return 1;
}

const char *papi_direct_contact_error(apr_pool_t *p, const papi_procpool_process *proc)
{
    const char *life = proc->life_status ? proc->life_status : "(not given)";
    const char *enabled = proc->enabled ? proc->enabled : "(not given)";

    if (!strcmp(life, "ALIVE") && !strcmp(enabled, "ENABLED"))
        return NULL;
    return apr_psprintf(p, "process %" APR_INT64_T_FMT " is %s and %s in pool.xml: only a process "
                        "that is ALIVE and ENABLED is contacted (another may have its port by now)",
                        proc->pid, life, enabled);
}

const char *papi_direct_socket(apr_pool_t *p, const papi_procpool_process *proc, papi_exchange *x)
{
    const char *seen = NULL, *ip;
    apr_port_t port;
    int i;

    for (i = 0; i < proc->sockets->nelts; i++) {
        const papi_procpool_socket *s =
            APR_ARRAY_IDX(proc->sockets, i, const papi_procpool_socket *);
        if (!s->protocol || strcmp(s->protocol, "http") || !s->address)
            continue;
        if (papi_parse_tcp(p, s->address, &ip, &port) && papi_is_loopback_ipv4(ip)) {
            papi_exchange_tcp(x, ip, port);
            x->peer = apr_psprintf(p, "process %" APR_INT64_T_FMT, proc->pid);
            return NULL;
        }
        seen = s->address;
    }
    if (seen)
        return apr_psprintf(p, "process %" APR_INT64_T_FMT "'s HTTP socket is %s, not a loopback "
                            "TCP address this module connects to", proc->pid,
                            strncmp(seen, "unix:", 5) ? "elsewhere" : "a Unix socket");
    if (!proc->sockets->nelts)
        return apr_psprintf(p, "Passenger lists no socket for process %" APR_INT64_T_FMT,
                            proc->pid);
    return apr_psprintf(p, "process %" APR_INT64_T_FMT " has no HTTP socket: its app speaks "
                        "Passenger's session protocol only", proc->pid);
}

const char *papi_direct_require_owner(apr_pool_t *p, const papi_procpool_group *group,
                                      papi_exchange *x)
{
    /* (uid_t)-1 is no user: it means "unchanged" to the system calls. */
    if (group->uid == PAPI_PROCPOOL_NONE || group->uid < 0 || group->uid >= (apr_int64_t)(uid_t)-1)
        return apr_pstrcat(p, "pool.xml gives no uid for the app group of ", x->peer ? x->peer
                           : "the process", ": who may listen on its port cannot be checked", NULL);
    x->owner = (uid_t)group->uid;
    x->check_tcp_owner = 1;
    return NULL;
}

/* RFC 3986 pchar, '/' and '?' (and '%' for escapes, checked below): nothing that could end the
 * request line or start a fragment. */
static int papi_target_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || papi_is_digit(c)
           || strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

const char *papi_direct_target_error(const char *target)
{
    const char *c;

    if (target[0] != '/')
        return "the path sent to a process starts with /";
    for (c = target; *c; c++) {
        if (!papi_target_char(*c))
            return "the path sent to a process has a character that must be percent-encoded";
        if (*c == '%' && (papi_hex_value(c[1]) < 0 || papi_hex_value(c[2]) < 0))
            return "the path sent to a process has a '%' that starts no escape";
    }
    return NULL;
}

static int papi_in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (!strcasecmp(name, *list))
            return 1;
    return 0;
}

int papi_direct_header_passed(const char *name)
{
    static const char *const passed[] = {
        "Accept", "Accept-Language", "Cache-Control", "Content-Type", "If-Match",
        "If-Modified-Since", "If-None-Match", "If-Unmodified-Since", "Pragma", "User-Agent",
        "X-Request-Id", NULL
    };

    return papi_in_list(name, passed);
}

int papi_direct_header_relayed(const char *name)
{
    static const char *const relayed[] = {
        "Content-Language", "ETag", "Last-Modified", "Retry-After", "X-Request-Id", NULL
    };

    return papi_in_list(name, relayed);
}

void papi_direct_request_text(apr_pool_t *p, const papi_direct_request *req, papi_exchange *x)
{
    papi_buf *rest = papi_buf_make(p, 512 + req->body_len);
    const char *start = apr_psprintf(p, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n"
                                     "X-Passenger-Connect-Password: ", req->method, req->target,
                                     x->ip ? x->ip : "127.0.0.1", (unsigned)x->port);
    apr_size_t n1 = strlen(start), n2 = strlen(req->password);
    int i;

    papi_buf_puts(rest, "\r\n");
    for (i = 0; req->headers && i < req->headers->nelts; i++) {
        const papi_http_header *h = &APR_ARRAY_IDX(req->headers, i, papi_http_header);
        if (papi_direct_header_passed(h->name))
            papi_buf_printf(rest, "%s: %s\r\n", h->name, h->value);
    }
    /* No Content-Length without a body: Passenger's Ruby loader (6.0.x) then waits for one that
     * never comes; with none it reads an empty body. */
    if (req->body_len)
        papi_buf_printf(rest, "Content-Length: %" APR_SIZE_T_FMT "\r\n", req->body_len);
    papi_buf_puts(rest, "\r\n");
    if (req->body_len)
        papi_buf_add(rest, req->body, req->body_len);
    /* The password is copied once, into the text the exchange wipes after sending. */
    x->request_len = n1 + n2 + rest->len;
    x->request = apr_palloc(p, x->request_len);
    memcpy(x->request, start, n1);
    memcpy(x->request + n1, req->password, n2);
    memcpy(x->request + n1 + n2, rest->data, rest->len);
    x->head = !strcmp(req->method, "HEAD");
}

const char *papi_direct_prepare(apr_pool_t *p, const papi_procpool_group *group,
                                const papi_procpool_process *proc, const papi_direct_request *req,
                                const papi_http_limits *limits, apr_time_t deadline,
                                papi_exchange *x, int *status)
{
    papi_direct_request sent = *req;
    const char *why;

    *status = 503;
    if ((why = papi_direct_contact_error(p, proc)) != NULL)
        return why;
    *status = 501;
    if ((why = papi_direct_socket(p, proc, x)) != NULL)
        return why;
    *status = 502;
    if ((why = papi_direct_require_owner(p, group, x)) != NULL)
        return why;
    if (!group->api_key)
        return "pool.xml gave no connect password for the process's app group";
    *status = 0;
    sent.password = group->api_key;
    papi_direct_request_text(p, &sent, x);
    x->limits = limits;
    x->deadline = deadline;
    return NULL;
}
