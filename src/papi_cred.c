#include "papi_cred.h"
#include "papi_log.h"
#include "papi_core.h"
#include "papi_fs.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAPI_CRED_PROTO "PAPI-CRED/1"
#define PAPI_CRED_LINE_MAX 1024
#define PAPI_PASSWORD_MAX 256
/* How long a child waits for a helper that is being (re)started. */
#define PAPI_CRED_RETRY_FOR apr_time_from_sec(2)

static const char *const papi_cred_files[] = { "read_only_admin_password.txt",
                                               "full_admin_password.txt" };

const char *papi_cred_user(papi_cred_level level)
{
    return level == PAPI_CRED_FULL ? "admin" : "ro_admin";
}

static apr_status_t papi_wipe(void *secret)
{
    explicit_bzero(secret, strlen(secret));
    return APR_SUCCESS;
}

void papi_cred_wipe_later(apr_pool_t *p, const char *secret)
{
    apr_pool_cleanup_register(p, secret, papi_wipe, apr_pool_cleanup_null);
}

/* Passenger writes 24 alphanumerics; accept any printable ASCII, never CR, LF or NUL. */
static const char *papi_password_error(const char *pw, apr_size_t len)
{
    apr_size_t i;

    if (len == 0)
        return "the password file is empty";
    for (i = 0; i < len; i++)
        if (pw[i] < 0x21 || pw[i] > 0x7e)
            return "the password file holds a character a password cannot have";
    return NULL;
}

const char *papi_cred_read(apr_pool_t *p, const papi_instance *inst, papi_cred_level level,
                           const char **password)
{
    /* In a root-owned directory only root creates files, and Passenger may chown them to its
     * default user; anywhere else the file must be the directory owner's own. */
    papi_fs_rules rules = { inst->owner == 0 ? PAPI_FS_ANY_OWNER : inst->owner, 0077, 1,
                            PAPI_PASSWORD_MAX };
    const char *file = papi_cred_files[level], *why;
    char *data;
    apr_size_t len;
    /* The very directory that was inspected (device, inode and owner), not whatever has its
     * name by now. */
    int dirfd = papi_instance_reopen(inst);

    if (dirfd < 0)
        return errno == ESTALE ? "the instance directory was replaced or changed owner since it was "
                                 "inspected"
                               : "the instance directory cannot be opened";
    why = papi_fs_read(p, dirfd, file, &rules, &data, &len);
    close(dirfd);
    if (why)
        return apr_pstrcat(p, file, " is ", why, NULL);
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    papi_cred_wipe_later(p, data);
    if ((why = papi_password_error(data, len)) != NULL)
        return why;
    *password = data;
    return NULL;
}

/* ---- the helper ---- */

const char *papi_cred_answer(apr_pool_t *p, const papi_cred_config *cfg, const char *line)
{
    char *copy = apr_pstrdup(p, line), *last;
    const char *proto = apr_strtok(copy, " ", &last);
    const char *level_s = apr_strtok(NULL, " ", &last);
    const char *registry = apr_strtok(NULL, " ", &last);
    const char *dirname = apr_strtok(NULL, " ", &last);
    const char *why, *password;
    papi_cred_level level;
    papi_instance *inst;

    if (!proto || strcmp(proto, PAPI_CRED_PROTO) || !dirname || apr_strtok(NULL, " ", &last))
        return "NO malformed request";
    if (!strcmp(level_s, "ro"))
        level = PAPI_CRED_RO;
    else if (!strcmp(level_s, "full") && cfg->allow_full)
        level = PAPI_CRED_FULL;
    else
        return "NO that access level is not configured";
    /* Only a directory this helper's own configuration yields, never a path taken on trust. */
    if (!papi_instance_dirname_ok(dirname)
        || !papi_list_has(papi_registry_expand(p, cfg->patterns, NULL), registry))
        return "NO not an instance in a configured registry";
    inst = papi_instance_inspect(p, registry, dirname, &cfg->trust);
    if (inst->state != PAPI_INST_GOOD)
        return apr_pstrcat(p, "NO instance is ", papi_inst_state_name(inst->state), NULL);
    if ((why = papi_cred_read(p, inst, level, &password)) != NULL)
        return apr_pstrcat(p, "NO ", why, NULL);
    return apr_pstrcat(p, "OK ", password, NULL);
}

static int papi_peer_is(int fd, uid_t uid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == uid;
}

/* One client of the helper: its request line as it arrives, and how long it may take. */
typedef struct papi_cred_client {
    int fd;                         /* -1: a free slot */
    apr_time_t deadline;
    apr_size_t got;
    char line[PAPI_CRED_LINE_MAX];
} papi_cred_client;

#define PAPI_CRED_CLIENTS 32
#define PAPI_CRED_CLIENT_TIME apr_time_from_sec(1)

static void papi_client_close(papi_cred_client *c)
{
    close(c->fd);
    explicit_bzero(c->line, sizeof(c->line));
    c->fd = -1;
}

/* Reads what has arrived; once the line is whole, answers it and closes. */
static void papi_client_read(apr_pool_t *p, const papi_cred_config *cfg, papi_cred_client *c)
{
    ssize_t n = recv(c->fd, c->line + c->got, sizeof(c->line) - 1 - c->got, MSG_DONTWAIT);
    char *nl;
    const char *answer;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        papi_client_close(c);
        return;
    }
    c->got += (apr_size_t)n;
    c->line[c->got] = '\0';
    if (!(nl = memchr(c->line, '\n', c->got))) {
        if (c->got == sizeof(c->line) - 1)
            papi_client_close(c);
        return;
    }
    *nl = '\0';
    answer = apr_pstrcat(p, papi_cred_answer(p, cfg, c->line), "\n", NULL);
    /* One short line into an empty socket buffer: it does not block. */
    (void)send(c->fd, answer, strlen(answer), MSG_NOSIGNAL | MSG_DONTWAIT);
    explicit_bzero((char *)answer, strlen(answer));
    papi_client_close(c);
    apr_pool_clear(p);
}

static void papi_client_accept(int listen_fd, const papi_cred_config *cfg,
                               papi_cred_client *clients)
{
    int i, fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0)
        return;
    if (!papi_peer_is(fd, cfg->client_uid)) {
        close(fd);
        return;
    }
    for (i = 0; i < PAPI_CRED_CLIENTS; i++)
        if (clients[i].fd < 0) {
            clients[i].fd = fd;
            clients[i].got = 0;
            clients[i].deadline = apr_time_now() + PAPI_CRED_CLIENT_TIME;
            return;
        }
    close(fd);      /* every slot busy: the asker retries or reports it */
}

/* Many clients at once, each bounded in time, so no slow or hostile one holds up the others. */
void papi_cred_serve(int listen_fd, const papi_cred_config *cfg)
{
    papi_cred_client clients[PAPI_CRED_CLIENTS];
    struct pollfd pfds[PAPI_CRED_CLIENTS + 1];
    apr_pool_t *p;
    int i;

    for (i = 0; i < PAPI_CRED_CLIENTS; i++)
        clients[i].fd = -1;
    apr_pool_create(&p, NULL);
    while (getppid() == cfg->parent_pid) {
        apr_time_t now = apr_time_now();
        pfds[0] = (struct pollfd){ listen_fd, POLLIN, 0 };
        for (i = 0; i < PAPI_CRED_CLIENTS; i++) {
            if (clients[i].fd >= 0 && now > clients[i].deadline)
                papi_client_close(&clients[i]);
            pfds[i + 1] = (struct pollfd){ clients[i].fd, POLLIN, 0 };
        }
        if (poll(pfds, PAPI_CRED_CLIENTS + 1, 200) <= 0)
            continue;
        for (i = 0; i < PAPI_CRED_CLIENTS; i++)
            if (clients[i].fd >= 0 && pfds[i + 1].revents)
                papi_client_read(p, cfg, &clients[i]);
        if (pfds[0].revents & POLLIN)
            papi_client_accept(listen_fd, cfg, clients);
    }
    for (i = 0; i < PAPI_CRED_CLIENTS; i++)
        if (clients[i].fd >= 0)
            papi_client_close(&clients[i]);
    apr_pool_destroy(p);
}

/* ---- asking ---- */

static apr_status_t papi_cred_connect(apr_pool_t *p, const char *socket_path, apr_time_t deadline,
                                      apr_socket_t **sock)
{
    apr_time_t give_up = apr_time_now() + PAPI_CRED_RETRY_FOR;
    apr_interval_time_t pause = apr_time_from_msec(20);
    uid_t peer;

    if (give_up > deadline)
        give_up = deadline;
    for (;;) {
        apr_status_t rv = papi_unix_connect(p, socket_path, deadline, sock, &peer);
        if (rv == APR_SUCCESS) {
            if (peer == 0)
                return APR_SUCCESS;
            apr_socket_close(*sock);
            return APR_EACCES;
        }
        /* The helper is being restarted, or the parent has not started it yet. */
        if (!(APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ECONNREFUSED(rv) || APR_STATUS_IS_EAGAIN(rv))
            || apr_time_now() + pause > give_up)
            return rv;
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, rv, "credential helper not reachable yet: "
                 "again in %d ms", (int)apr_time_msec(pause));
        apr_sleep(pause);
        pause *= 2;
    }
}

const char *papi_cred_ask(apr_pool_t *p, const char *socket_path, papi_cred_level level,
                          const char *registry, const char *dirname, apr_time_t deadline,
                          const char **password)
{
    apr_socket_t *sock;
    apr_status_t rv;
    char answer[PAPI_CRED_LINE_MAX], err[120];
    apr_size_t got = 0;
    apr_time_t give_up = apr_time_now() + PAPI_CRED_RETRY_FOR;
    apr_interval_time_t pause = apr_time_from_msec(20);
    const char *line = apr_psprintf(p, PAPI_CRED_PROTO " %s %s %s\n",
                                    level == PAPI_CRED_FULL ? "full" : "ro", registry, dirname);

    if (strlen(line) > PAPI_CRED_LINE_MAX - 1)
        return "the instance path is too long";
    if (give_up > deadline)
        give_up = deadline;
    for (;;) {
        if ((rv = papi_cred_connect(p, socket_path, deadline, &sock)) != APR_SUCCESS)
            return apr_pstrcat(p, "cannot reach the credential helper: ",
                               apr_strerror(rv, err, sizeof(err)), NULL);
        got = 0;
        rv = papi_socket_send_all(sock, line, strlen(line), deadline);
        while (rv == APR_SUCCESS && got < sizeof(answer) - 1 && !memchr(answer, '\n', got)) {
            apr_size_t n = sizeof(answer) - 1 - got;
            if ((rv = papi_socket_until(sock, deadline)) == APR_SUCCESS)
                rv = apr_socket_recv(sock, answer + got, &n);
            got += n;
            if (APR_STATUS_IS_EOF(rv))
                break;
        }
        apr_socket_close(sock);
        answer[got] = '\0';
        if (memchr(answer, '\n', got))
            break;
        /* Closed without a word: the helper was stopped under us (a graceful restart stops the
         * old one), and its successor answers the same question. */
        if (got || APR_STATUS_IS_TIMEUP(rv) || apr_time_now() + pause > give_up)
            return APR_STATUS_IS_TIMEUP(rv) ? "the credential helper did not answer in time"
                                            : "the credential helper gave no answer";
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "credential helper closed without an answer "
                 "(a restart?): asking again in %d ms", (int)apr_time_msec(pause));
        apr_sleep(pause);
        pause *= 2;
    }
    *strchr(answer, '\n') = '\0';
    if (strncmp(answer, "OK ", 3) == 0) {
        *password = apr_pstrdup(p, answer + 3);
        papi_cred_wipe_later(p, *password);
        explicit_bzero(answer, sizeof(answer));
        return NULL;
    }
    return apr_pstrcat(p, "the credential helper refused: ",
                       strncmp(answer, "NO ", 3) == 0 ? answer + 3 : "(garbled answer)", NULL);
}
