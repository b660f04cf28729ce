/* A fake core for the unit tests of what asks cores (papi_fanout, papi_view): a fake server
 * (papi_fakeserver.h) on an instance's agents.s/core_api that answers every request with one
 * canned HTTP response and reports each request's head. Include after papi_test.h. */
#ifndef PAPI_FAKECORE_H
#define PAPI_FAKECORE_H

#include "papi_fakeserver.h"

typedef papi_fake_server papi_fake_core;

/* A whole HTTP response with body, framed by its length. */
static inline const char *papi_fake_answer(apr_pool_t *p, int status, const char *type,
                                           const char *body)
{
    const char *head = apr_psprintf(p, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %"
                                    APR_SIZE_T_FMT "\r\n\r\n", status, type, strlen(body));

    return apr_pstrcat(p, head, body, NULL);
}

/* Each connection: its request's head reported, the canned answer (baton) sent, then closed. */
static void papi_fake_core_serve(int lfd, int report, void *baton)
{
    const char *answer = baton;

    for (;;) {
        char buf[8192];
        size_t got = 0;
        ssize_t n;
        int fd = accept(lfd, NULL, NULL);

        while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        (void)!write(report, buf, got);
        (void)!write(fd, answer, strlen(answer));
        close(fd);
    }
}

static inline papi_fake_core papi_fake_core_start(apr_pool_t *p, const char *instance_dir,
                                                  const char *answer)
{
    return papi_fake_server_start(p, apr_pstrcat(p, instance_dir, "/agents.s/core_api", NULL), 0,
                                  papi_fake_core_serve, (void *)answer);
}

/* Stops the core; returns every request head it received. */
static inline const char *papi_fake_core_stop(apr_pool_t *p, papi_fake_core *core)
{
    papi_fake_server_stop(p, core);
    return papi_fake_server_received(p, core);
}

#endif
