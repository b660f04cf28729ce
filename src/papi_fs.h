/* Reading files from directories that someone else may control (a shared /tmp registry): every
 * open is relative to an already-checked directory, never follows a link, never blocks on a FIFO,
 * and the opened file is checked (type, owner, mode, links, size) before one byte is read. */
#ifndef PAPI_FS_H
#define PAPI_FS_H

#include <apr_pools.h>
#include <sys/types.h>

#define PAPI_FS_ANY_OWNER ((uid_t)-1)

typedef struct papi_fs_rules {
    uid_t owner;            /* the file must belong to this uid (PAPI_FS_ANY_OWNER: any) */
    mode_t forbidden_mode;  /* none of these permission bits may be set (e.g. 0022, 0077) */
    int single_link;        /* refuse a file with more than one hard link */
    apr_size_t max_size;    /* refuse anything larger */
} papi_fs_rules;

/* Opens directory name inside dirfd (AT_FDCWD for an absolute name) without following a link in
 * its last component. Returns the fd, or -1 with errno set. */
int papi_fs_open_dir(int dirfd, const char *name);

/* Reads regular file name inside dirfd under rules into pool memory (NUL-terminated).
 * Returns NULL, or why the file was refused, to follow "<name> is ": "missing", "a symbolic link",
 * "owned by uid 5, expected uid 0", ... */
const char *papi_fs_read(apr_pool_t *p, int dirfd, const char *name, const papi_fs_rules *rules,
                         char **data, apr_size_t *len);

/* What is at name inside dirfd, without following a link: S_IFREG, S_IFDIR, ... or 0 if nothing.
 * *owner, when not NULL, receives its owner. */
mode_t papi_fs_type(int dirfd, const char *name, uid_t *owner);

#endif
