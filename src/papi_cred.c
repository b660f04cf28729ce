#include "papi_cred.h"
#include "papi_core.h"
#include "papi_fs.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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

const char *papi_cred_read(apr_pool_t *p, const char *registry, const char *dirname, uid_t owner,
                           papi_cred_level level, const char **password)
{
    /* In a root-owned directory only root creates files, and Passenger may chown them to its
     * default user; anywhere else the file must be the directory owner's own. */
    papi_fs_rules rules = { owner == 0 ? PAPI_FS_ANY_OWNER : owner, 0077, 1, PAPI_PASSWORD_MAX };
    const char *file = papi_cred_files[level], *why;
    char *data;
    apr_size_t len;
    uid_t dir_owner;
    int regfd = open(registry, O_RDONLY | O_DIRECTORY | O_CLOEXEC), dirfd;

    if (regfd < 0)
        return "the registry directory cannot be opened";
    dirfd = papi_fs_open_dir(regfd, dirname);
    close(regfd);
    if (dirfd < 0)
        return "the instance directory cannot be opened";
    if (papi_fs_type(dirfd, ".", &dir_owner) != S_IFDIR || dir_owner != owner) {
        close(dirfd);
        return "the instance directory changed owner";
    }
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

static int papi_in_list(const apr_array_header_t *list, const char *s)
{
    int i;

    for (i = 0; i < list->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0)
            return 1;
    return 0;
}

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
        || !papi_in_list(papi_registry_expand(p, cfg->patterns, NULL), registry))
        return "NO not an instance in a configured registry";
    inst = papi_instance_inspect(p, registry, dirname, &cfg->trust);
    if (inst->state != PAPI_INST_GOOD)
        return apr_pstrcat(p, "NO instance is ", papi_inst_state_name(inst->state), NULL);
    if ((why = papi_cred_read(p, registry, dirname, inst->owner, level, &password)) != NULL)
        return apr_pstrcat(p, "NO ", why, NULL);
    return apr_pstrcat(p, "OK ", password, NULL);
}

static int papi_peer_is(int fd, uid_t uid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == uid;
}

/* One line, read within the socket's receive timeout; NULL if none came whole. */
static char *papi_read_line(int fd, char *buf, apr_size_t size)
{
    apr_size_t got = 0;

    while (got < size - 1) {
        ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
        char *nl;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        got += (apr_size_t)n;
        buf[got] = '\0';
        if ((nl = memchr(buf, '\n', got)) != NULL) {
            *nl = '\0';
            return buf;
        }
    }
    return NULL;
}

static void papi_cred_serve_one(apr_pool_t *p, const papi_cred_config *cfg, int fd)
{
    struct timeval tv = { 1, 0 };
    char line[PAPI_CRED_LINE_MAX];
    const char *answer;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (!papi_peer_is(fd, cfg->client_uid) || !papi_read_line(fd, line, sizeof(line)))
        return;
    answer = apr_pstrcat(p, papi_cred_answer(p, cfg, line), "\n", NULL);
    (void)send(fd, answer, strlen(answer), MSG_NOSIGNAL);
    explicit_bzero((char *)answer, strlen(answer));
}

void papi_cred_serve(int listen_fd, const papi_cred_config *cfg)
{
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    while (getppid() == cfg->parent_pid) {
        struct pollfd pfd = { listen_fd, POLLIN, 0 };
        int fd;
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        papi_cred_serve_one(p, cfg, fd);
        close(fd);
        apr_pool_clear(p);
    }
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
    const char *line = apr_psprintf(p, PAPI_CRED_PROTO " %s %s %s\n",
                                    level == PAPI_CRED_FULL ? "full" : "ro", registry, dirname);

    if (strlen(line) > PAPI_CRED_LINE_MAX - 1)
        return "the instance path is too long";
    if ((rv = papi_cred_connect(p, socket_path, deadline, &sock)) != APR_SUCCESS)
        return apr_pstrcat(p, "cannot reach the credential helper: ",
                           apr_strerror(rv, err, sizeof(err)), NULL);
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
    if (!memchr(answer, '\n', got))
        return APR_STATUS_IS_TIMEUP(rv) ? "the credential helper did not answer in time"
                                        : "the credential helper gave no answer";
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
