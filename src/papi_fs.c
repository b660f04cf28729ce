#include "papi_fs.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int papi_fs_open_dir(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

mode_t papi_fs_type(int dirfd, const char *name, uid_t *owner)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    if (owner)
        *owner = st.st_uid;
    return st.st_mode & S_IFMT;
}

/* Why an opened file fails rules, or NULL. */
static const char *papi_fs_check(apr_pool_t *p, const struct stat *st, const papi_fs_rules *rules)
{
    if (!S_ISREG(st->st_mode))
        return "not a regular file";
    if (rules->owner != PAPI_FS_ANY_OWNER && st->st_uid != rules->owner)
        return apr_psprintf(p, "owned by uid %ld, expected uid %ld",
                            (long)st->st_uid, (long)rules->owner);
    if (st->st_mode & rules->forbidden_mode)
        return apr_psprintf(p, "too open (mode %04o)", (unsigned)(st->st_mode & 07777));
    if (rules->single_link && st->st_nlink != 1)
        return "hard-linked (more than one link)";
    if ((apr_size_t)st->st_size > rules->max_size)
        return apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", rules->max_size);
    return NULL;
}

const char *papi_fs_read(apr_pool_t *p, int dirfd, const char *name, const papi_fs_rules *rules,
                         char **data, apr_size_t *len)
{
    struct stat st;
    const char *why;
    apr_size_t got = 0;
    char *buf;
    /* O_NONBLOCK: a FIFO planted where a file should be must not hang us before fstat. */
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        if (errno == ENOENT)
            return "missing";
        if (errno == ELOOP)
            return "a symbolic link";
        return apr_psprintf(p, "unreadable (%s)", apr_strerror(APR_FROM_OS_ERROR(errno),
                            apr_palloc(p, 120), 120));
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return "unreadable (fstat failed)";
    }
    if ((why = papi_fs_check(p, &st, rules)) != NULL) {
        close(fd);
        return why;
    }
    /* Read one byte more than allowed, so a file that grew after fstat is still caught. */
    buf = apr_palloc(p, rules->max_size + 2);
    for (;;) {
        ssize_t n = read(fd, buf + got, rules->max_size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return "unreadable (read failed)";
        }
        if (n == 0)
            break;
        got += (apr_size_t)n;
        if (got > rules->max_size) {
            close(fd);
            return apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", rules->max_size);
        }
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return NULL;
}
