/* Times the two owner checks of papi_tcptable (built and run by bench/tcp_owner.py, which fills
 * the host with sockets first): a listener of our own on 127.0.0.1, then per round the check
 * before connecting, a connection, and the check of its other end (looked up again as the
 * exchange does while the handshake completes). Prints one line of figures in microseconds:
 *     listeners <median> <max> peer <median> <max> rounds <n> */
#include "papi_tcptable.h"

#include <apr_general.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *name, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), by_value);
    printf("%s %.0f %.0f ", name, t[n / 2], t[n - 1]);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 30, i, lfd;
    double *listen_t, *peer_t;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    apr_pool_t *p;

    if (rounds < 1 || apr_initialize() != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS)
        return 2;
    listen_t = calloc((size_t)rounds, sizeof(double));
    peer_t = calloc((size_t)rounds, sizeof(double));
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (!listen_t || !peer_t || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 64)
        || getsockname(lfd, (struct sockaddr *)&a, &len))
        return 2;
    for (i = 0; i < rounds; i++) {
        papi_tcp_check c = { .ip = a.sin_addr, .port = ntohs(a.sin_port), .owner = getuid() };
        struct sockaddr_in me;
        socklen_t melen = sizeof(me);
        double t0 = now_us();
        int fd, pass, afd;
        papi_tcp_check_listeners(p, &c, 1);
        listen_t[i] = now_us() - t0;
        if (c.why) {
            fprintf(stderr, "listener check: %s\n", c.why);
            return 1;
        }
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a))
            || getsockname(fd, (struct sockaddr *)&me, &melen))
            return 2;
        c.local_ip = me.sin_addr;
        c.local_port = ntohs(me.sin_port);
        t0 = now_us();
        for (pass = 0; pass < 5; pass++) {
            papi_tcp_check_peers(p, &c, 1);
            if (c.found || c.why)
                break;
            usleep(1000);
        }
        peer_t[i] = now_us() - t0;
        if (!c.found || c.why) {
            fprintf(stderr, "peer check: %s\n", c.why ? c.why : "not found");
            return 1;
        }
        close(fd);
        if ((afd = accept(lfd, NULL, NULL)) >= 0)
            close(afd);
        apr_pool_clear(p);
    }
    report("listeners", listen_t, rounds);
    report("peer", peer_t, rounds);
    printf("rounds %d\n", rounds);
    return 0;
}
