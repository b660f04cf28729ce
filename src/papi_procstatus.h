/* A process's resident memory, from /proc/<pid>/status, for the costs of requests (the
 * X-Passenger-Api-Rss-* headers, health.json) and the memory history (papi_rsshist). The pid
 * always comes from a trusted instance's pool.xml, never from request data; the file is opened
 * below /proc/<pid> without following a link, and its numbers count only while the process is
 * still the one pool.xml names (its pid and its owner's uid unchanged). */
#ifndef PAPI_PROCSTATUS_H
#define PAPI_PROCSTATUS_H

#include <apr_pools.h>

/* Where the kernel shows processes; tests give a directory of their own. */
#define PAPI_PROC_ROOT "/proc"

/* What is read of /proc/<pid>/status. */
typedef struct papi_procstatus {
    apr_int64_t pid;            /* "Pid:" */
    apr_int64_t uid;            /* "Uid:", the real one */
    apr_int64_t rss;            /* "VmRSS:", kB; -1 when not given (a zombie, a kernel thread) */
} papi_procstatus;

/* Parses the text of /proc/<pid>/status: lines "Name:<tab>value", each key once; Pid and Uid
 * required, numbers decimal without sign, VmRSS in " kB". 1 with *st set, 0 when it is not such
 * a text. */
int papi_procstatus_parse(const char *text, apr_size_t len, papi_procstatus *st);

/* Reads file (a plain name) of process pid below proc into buf (at most size bytes, not
 * terminated): through the directory proc/<pid> opened without following a link, the file
 * without following one either and without blocking. The bytes read, or -1; *owner (when not
 * NULL) the directory's owner, the process's. */
long papi_proc_read(apr_pool_t *p, const char *proc, apr_int64_t pid, const char *file,
                    char *buf, apr_size_t size, uid_t *owner);

/* The resident memory of process pid in kB, when it is still owned by uid (its real uid); -1
 * when it cannot be told (gone, another owner, unreadable, not a status text). */
apr_int64_t papi_procstatus_rss(apr_pool_t *p, const char *proc, apr_int64_t pid,
                                apr_int64_t uid);

#endif
