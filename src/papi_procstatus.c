#include "papi_procstatus.h"
#include "papi_fs.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A status text is about 1.5 kB; one that fills this is refused rather than read in part. */
#define PAPI_PROCSTATUS_MAX 8192

/* The decimal number s[0..n), without sign, at most 18 digits; -1 when it is not one. */
static apr_int64_t papi_procstatus_number(const char *s, apr_size_t n)
{
    apr_int64_t v = 0;
    apr_size_t i;

    if (n == 0 || n > 18)
        return -1;
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The value of a line: what follows "Key:" and its blanks. */
static const char *papi_procstatus_skip(const char *s, const char *end)
{
    while (s < end && (*s == '\t' || *s == ' '))
        s++;
    return s;
}

/* The number the value v..end starts with; *after is where its digits end. */
static apr_int64_t papi_procstatus_first(const char *v, const char *end, const char **after)
{
    const char *e = v;

    while (e < end && apr_isdigit(*e))
        e++;
    *after = e;
    return papi_procstatus_number(v, (apr_size_t)(e - v));
}

int papi_procstatus_parse(const char *text, apr_size_t len, papi_procstatus *st)
{
    const char *s = text, *end = text + len, *eol, *colon, *v, *after;
    int seen_pid = 0, seen_uid = 0, seen_rss = 0;

    st->pid = st->uid = st->rss = -1;
    while (s < end) {
        eol = memchr(s, '\n', (apr_size_t)(end - s));
        if (!eol)
            return 0;               /* the kernel ends every line; a cut text is refused */
        colon = memchr(s, ':', (apr_size_t)(eol - s));
        if (!colon || colon == s)
            return 0;
        v = papi_procstatus_skip(colon + 1, eol);
        if (colon - s == 3 && !memcmp(s, "Pid", 3)) {
            if (seen_pid++ || (st->pid = papi_procstatus_number(v, (apr_size_t)(eol - v))) < 1)
                return 0;
        }
        else if (colon - s == 3 && !memcmp(s, "Uid", 3)) {
            /* Real, effective, saved and filesystem uids: the real one is the owner's. */
            if (seen_uid++ || (st->uid = papi_procstatus_first(v, eol, &after)) < 0
                || (after < eol && *after != '\t'))
                return 0;
        }
        else if (colon - s == 5 && !memcmp(s, "VmRSS", 5)) {
            if (seen_rss++ || (st->rss = papi_procstatus_first(v, eol, &after)) < 0
                || eol - after != 3 || memcmp(after, " kB", 3))
                return 0;
        }
        s = eol + 1;
    }
    return seen_pid && seen_uid;
}

long papi_proc_read(apr_pool_t *p, const char *proc, apr_int64_t pid, const char *file,
                    char *buf, apr_size_t size, uid_t *owner)
{
    struct stat sb;
    ssize_t n = -1;
    int dfd, fd;

    if (pid < 1 || pid > APR_INT32_MAX)
        return -1;
    dfd = papi_fs_open_dir(AT_FDCWD, apr_psprintf(p, "%s/%" APR_INT64_T_FMT, proc, pid));
    if (dfd < 0)
        return -1;
    if (fstat(dfd, &sb) == 0
        && (fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
        n = read(fd, buf, size);
        close(fd);
        if (owner)
            *owner = sb.st_uid;
    }
    close(dfd);
    return (long)n;
}

apr_int64_t papi_procstatus_rss(apr_pool_t *p, const char *proc, apr_int64_t pid,
                                apr_int64_t uid)
{
    char buf[PAPI_PROCSTATUS_MAX];
    papi_procstatus st;
    long n;

    if (uid < 0)
        return -1;
    n = papi_proc_read(p, proc, pid, "status", buf, sizeof(buf), NULL);
    if (n <= 0 || n >= PAPI_PROCSTATUS_MAX || !papi_procstatus_parse(buf, (apr_size_t)n, &st))
        return -1;
    /* The pid reused by another user's process since pool.xml was read is not ours to show. */
    return st.pid == pid && st.uid == uid ? st.rss : -1;
}
