/* A forked fake server for the unit tests: a child listening on a Unix socket or on 127.0.0.1,
 * running the test's callback, and always killed and reaped with the test's pool, also when an
 * assertion cut the test short. Include after papi_test.h. */
#ifndef PAPI_FAKESERVER_H
#define PAPI_FAKESERVER_H

#include <apr_network_io.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct papi_fake_server {
    const char *path;   /* its Unix socket, or NULL when on TCP */
    apr_port_t port;    /* its port on 127.0.0.1, when on TCP */
    pid_t pid;
    int report;         /* read end of what the server reports (papi_fake_server_received) */
} papi_fake_server;

/* The child's work: serve lfd, writing what the test should see to report. It may return (the
 * child then exits) or run until killed. */
typedef void (*papi_fake_serve_fn)(int lfd, int report, void *baton);

/* Listening on path, or on an ephemeral port of 127.0.0.1 (*port) when path is NULL. */
static inline int papi_fake_server_listen(const char *path, apr_port_t *port)
{
    int lfd;

    if (path) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        strcpy(addr.sun_path, path);
        if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 4))
            _exit(3);
    }
    else {
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(addr);
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 4)
            || getsockname(lfd, (struct sockaddr *)&addr, &len))
            _exit(3);
        *port = ntohs(addr.sin_port);
    }
    return lfd;
}

/* Registered on the test's pool: the server ends with the test, however the test ends. */
static inline apr_status_t papi_fake_server_kill(void *data)
{
    pid_t pid = (pid_t)(intptr_t)data;

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return APR_SUCCESS;
}

static inline apr_status_t papi_fake_server_close_report(void *data)
{
    close((int)(intptr_t)data);
    return APR_SUCCESS;
}

/* Forks a server on path (or on TCP when path is NULL) that runs serve(lfd, report, baton), and
 * returns once it listens. uid, when neither 0 nor ours, is taken before listening, so that
 * SO_PEERCRED and the kernel's tables show it as the listener's owner. */
static inline papi_fake_server papi_fake_server_start(apr_pool_t *p, const char *path, uid_t uid,
                                                      papi_fake_serve_fn serve, void *baton)
{
    papi_fake_server s = { path, 0, 0, -1 };
    int report[2], ready[2];

    assert_int_equal(pipe(report), 0);
    assert_int_equal(pipe(ready), 0);
    if ((s.pid = fork()) == 0) {
        int lfd;
        /* A crash here must end this process, not resume the test run in it (cmocka's handlers). */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        close(report[0]);
        close(ready[0]);
        if (uid && uid != getuid() && setuid(uid) != 0)
            _exit(2);
        lfd = papi_fake_server_listen(path, &s.port);
        (void)!write(ready[1], &s.port, sizeof(s.port));
        close(ready[1]);
        serve(lfd, report[1], baton);
        _exit(0);
    }
    apr_pool_cleanup_register(p, (void *)(intptr_t)s.pid, papi_fake_server_kill,
                              apr_pool_cleanup_null);
    close(report[1]);
    close(ready[1]);
    s.report = report[0];
    apr_pool_cleanup_register(p, (void *)(intptr_t)s.report, papi_fake_server_close_report,
                              apr_pool_cleanup_null);
    assert_int_equal(read(ready[0], &s.port, sizeof(s.port)), sizeof(s.port));
    close(ready[0]);
    return s;
}

/* Ends and reaps the server now, for a test that needs it gone before it ends: once, since the
 * pool's cleanup for it goes with it. */
static inline void papi_fake_server_stop(apr_pool_t *p, const papi_fake_server *s)
{
    apr_pool_cleanup_run(p, (void *)(intptr_t)s->pid, papi_fake_server_kill);
}

/* Everything the server reported, read until it closed its end (it ended, or closed report). */
static inline const char *papi_fake_server_received(apr_pool_t *p, const papi_fake_server *s)
{
    char buf[4096];
    size_t got = 0;
    ssize_t n;

    while (got < sizeof(buf) - 1 && (n = read(s->report, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    return apr_pstrdup(p, buf);
}

#endif
