/* A fake core for the unit tests of what asks cores (papi_fanout, papi_view): a forked server on
 * an instance's agents.s/core_api that answers every request with one canned HTTP response and
 * reports what it received. */
#ifndef PAPI_FAKECORE_H
#define PAPI_FAKECORE_H

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

typedef struct papi_fake_core {
    pid_t pid;
    int report;     /* read end: every request head received, one after the other */
} papi_fake_core;

/* A whole HTTP response with body, framed by its length. */
static inline const char *papi_fake_answer(apr_pool_t *p, int status, const char *type,
                                           const char *body)
{
    const char *head = apr_psprintf(p, "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %"
                                    APR_SIZE_T_FMT "\r\n\r\n", status, type, strlen(body));

    return apr_pstrcat(p, head, body, NULL);
}

/* Listens on instance_dir/agents.s/core_api (in this process, so it is ready before the call),
 * and forks the server that answers each connection's request with answer, then closes it. */
static inline papi_fake_core papi_fake_core_start(apr_pool_t *p, const char *instance_dir,
                                                  const char *answer)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    papi_fake_core core = { -1, -1 };
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0), report[2];

    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/agents.s/core_api", instance_dir);
    assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(pipe(report), 0);
    if ((core.pid = fork()) == 0) {
        /* A failed assertion leaves the test without stopping it: it goes with the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(report[0]);
        for (;;) {
            char buf[8192];
            size_t got = 0;
            ssize_t n;
            int fd = accept(lfd, NULL, NULL);
            while (got < sizeof(buf) - 1
                   && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
                got += (size_t)n;
                buf[got] = '\0';
                if (strstr(buf, "\r\n\r\n"))
                    break;
            }
            (void)!write(report[1], buf, got);
            (void)!write(fd, answer, strlen(answer));
            close(fd);
        }
    }
    close(lfd);
    close(report[1]);
    core.report = report[0];
    return core;
}

/* Stops the server; returns everything it received. */
static inline const char *papi_fake_core_stop(apr_pool_t *p, papi_fake_core *core)
{
    char buf[65536];
    size_t got = 0;
    ssize_t n;

    kill(core->pid, SIGKILL);
    waitpid(core->pid, NULL, 0);
    while (got < sizeof(buf) - 1 && (n = read(core->report, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    close(core->report);
    return apr_pstrmemdup(p, buf, got);
}

#endif
