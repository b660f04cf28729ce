#include "papi_registry.h"
#include "papi_fs.h"

#include <apr_fnmatch.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAPI_PROPERTIES_MAX (64 * 1024)
#define PAPI_PID_FILE_MAX 32
#define PAPI_STRUCTURE_MAJOR 4

static const char *const papi_state_names[] = {
    "good", "not_finalized", "corrupted", "unsupported", "stale", "untrusted"
};

const char *papi_inst_state_name(papi_inst_state state)
{
    return papi_state_names[state];
}

static int papi_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int papi_alnum_run(const char *s, apr_size_t max)
{
    apr_size_t n = 0;

    for (; s[n]; n++)
        if (!papi_is_alnum(s[n]) || n >= max)
            return 0;
    return n > 0;
}

int papi_instance_dirname_ok(const char *dirname)
{
    static const char prefix[] = "passenger.";

    return strncmp(dirname, prefix, sizeof(prefix) - 1) == 0
        && papi_alnum_run(dirname + sizeof(prefix) - 1,
                          PAPI_INSTANCE_DIRNAME_MAX - (sizeof(prefix) - 1));
}

int papi_instance_name_ok(const char *name)
{
    return papi_alnum_run(name, 64);
}

/* ---- registry patterns ------------------------------------------------------------------------ */

static int papi_has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

const char *papi_registry_pattern_error(apr_pool_t *p, const char *pattern)
{
    const char *seg;
    apr_size_t len = strlen(pattern);

    if (pattern[0] != '/')
        return apr_psprintf(p, "'%s' is not an absolute path", pattern);
    for (seg = pattern; seg; seg = strchr(seg + 1, '/'))
        if (strncmp(seg, "/..", 3) == 0 && (seg[3] == '/' || seg[3] == '\0'))
            return apr_psprintf(p, "'%s' contains a '..' segment", pattern);
    if (strchr(pattern, '\\'))
        return apr_psprintf(p, "'%s' contains a backslash", pattern);
    if (len + PAPI_CORE_SOCKET_SUFFIX_MAX > PAPI_SUN_PATH_MAX)
        return apr_psprintf(p, "'%s' is too long: Passenger's socket paths below it would pass the "
                            "%d-byte limit of a Unix socket address; use a directory of at most "
                            "%d characters", pattern, PAPI_SUN_PATH_MAX + 1,
                            (int)(PAPI_SUN_PATH_MAX - PAPI_CORE_SOCKET_SUFFIX_MAX));
    return NULL;
}

const char *papi_registry_dir_warning(apr_pool_t *p, const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    if (st.st_uid != 0)
        return apr_psprintf(p, "registry directory %s is owned by uid %ld, not root: that user can "
                            "rename or replace instance directories in it. Instances there are "
                            "still checked one by one, but prefer a directory only root can write, "
                            "such as /var/run/passenger-instreg", dir, (long)st.st_uid);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return apr_psprintf(p, "registry directory %s (mode %04o) is writable by others without the "
                            "sticky bit: anyone can rename or replace instance directories in it. "
                            "Instances there are still checked one by one, but prefer a directory "
                            "only root can write, such as /var/run/passenger-instreg", dir,
                            (unsigned)(st.st_mode & 07777));
    return NULL;
}

int papi_list_has(const apr_array_header_t *list, const char *s)
{
    int i;

    for (i = 0; i < list->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0)
            return 1;
    return 0;
}

void papi_list_add_unique(apr_array_header_t *list, const char *s)
{
    if (!papi_list_has(list, s))
        APR_ARRAY_PUSH(list, const char *) = s;
}

static const char *papi_clean_dir(apr_pool_t *p, const char *dir)
{
    apr_size_t len = strlen(dir);

    while (len > 1 && dir[len - 1] == '/')
        len--;
    return apr_pstrmemdup(p, dir, len);
}

apr_array_header_t *papi_registry_default_patterns(apr_pool_t *p)
{
    apr_array_header_t *list = apr_array_make(p, 4, sizeof(const char *));
    const char *env = getenv("PASSENGER_INSTANCE_REGISTRY_DIR");

    if (env && *env) {
        papi_list_add_unique(list, papi_clean_dir(p, env));
        return list;
    }
    env = getenv("TMPDIR");
    if (env && *env)
        papi_list_add_unique(list, papi_clean_dir(p, env));
    papi_list_add_unique(list, "/tmp");
    papi_list_add_unique(list, "/var/run/passenger-instreg");
    return list;
}

static int papi_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Real directories (not links) in dir whose names match the glob component. */
static void papi_glob_level(apr_pool_t *p, const char *dir, const char *component,
                            apr_array_header_t *out)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;
    int first = out->nelts;

    if (apr_dir_open(&d, *dir ? dir : "/", p) != APR_SUCCESS)
        return;
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)) == APR_SUCCESS
           || rv == APR_INCOMPLETE) {
        if (fi.filetype != APR_DIR || !strcmp(fi.name, ".") || !strcmp(fi.name, ".."))
            continue;
        if (apr_fnmatch(component, fi.name, APR_FNM_PERIOD) == APR_SUCCESS)
            APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p, dir, "/", fi.name, NULL);
    }
    apr_dir_close(d);
    qsort(out->elts + first * out->elt_size, out->nelts - first, out->elt_size, papi_cmp_str);
}

/* Expands one pattern, component by component; literal components are taken as they are. */
static void papi_expand_pattern(apr_pool_t *p, const char *pattern, apr_array_header_t *out)
{
    apr_array_header_t *cur = apr_array_make(p, 1, sizeof(const char *));
    char *rest = apr_pstrdup(p, pattern), *last, *comp;
    int i;

    APR_ARRAY_PUSH(cur, const char *) = "";
    for (comp = apr_strtok(rest, "/", &last); comp; comp = apr_strtok(NULL, "/", &last)) {
        apr_array_header_t *next = apr_array_make(p, cur->nelts, sizeof(const char *));
        for (i = 0; i < cur->nelts; i++) {
            const char *base = APR_ARRAY_IDX(cur, i, const char *);
            if (papi_has_glob(comp))
                papi_glob_level(p, base, comp, next);
            else
                APR_ARRAY_PUSH(next, const char *) = apr_pstrcat(p, base, "/", comp, NULL);
        }
        cur = next;
    }
    for (i = 0; i < cur->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(cur, i, const char *);
        papi_list_add_unique(out, *dir ? dir : "/");
    }
}

apr_array_header_t *papi_registry_expand(apr_pool_t *p, const apr_array_header_t *patterns,
                                         const char *narrow)
{
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(const char *)), *kept;
    int i;

    for (i = 0; i < patterns->nelts; i++)
        papi_expand_pattern(p, APR_ARRAY_IDX(patterns, i, const char *), all);
    if (!narrow)
        return all;
    narrow = papi_clean_dir(p, narrow);
    kept = apr_array_make(p, all->nelts, sizeof(const char *));
    for (i = 0; i < all->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(all, i, const char *);
        if (apr_fnmatch(narrow, dir, APR_FNM_PATHNAME | APR_FNM_PERIOD) == APR_SUCCESS)
            APR_ARRAY_PUSH(kept, const char *) = dir;
    }
    return kept;
}

/* ---- one instance ----------------------------------------------------------------------------- */

apr_status_t papi_json_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

int papi_trust_has(const papi_trust *trust, uid_t uid)
{
    int i;

    for (i = 0; i < trust->count; i++)
        if (trust->uids[i] == uid)
            return 1;
    return 0;
}

/* Why properties.json is not what Passenger's admin tools accept, or NULL (instance.rb). */
static const char *papi_properties_error(json_t *props)
{
    json_t *dir = json_object_get(props, "instance_dir");
    json_t *name = json_object_get(props, "name");
    json_t *sw = json_object_get(props, "server_software");

    if (!json_is_object(dir))
        return "properties.json has no instance_dir object";
    if (!json_is_integer(json_object_get(dir, "major_version"))
        || !json_is_integer(json_object_get(dir, "minor_version")))
        return "properties.json has no integer major_version/minor_version";
    if (!json_is_string(name) || !json_string_length(name))
        return "properties.json has no name";
    if (!papi_instance_name_ok(json_string_value(name)))
        return "properties.json's name is not 1-64 letters and digits";
    if (!json_is_string(sw) || !json_string_length(sw))
        return "properties.json has no server_software";
    if (!json_is_integer(json_object_get(props, "watchdog_pid")))
        return "properties.json has no integer watchdog_pid";
    return NULL;
}

const char *papi_properties_parse(apr_pool_t *p, const char *text, apr_size_t len, json_t **props,
                                  const char **name)
{
    json_error_t jerr;
    const char *why;

    *props = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*props)
        return apr_psprintf(p, "properties.json is not valid JSON (%s)", jerr.text);
    apr_pool_cleanup_register(p, *props, papi_json_cleanup, apr_pool_cleanup_null);
    if (!json_is_object(*props))
        return "properties.json is not a JSON object";
    if ((why = papi_properties_error(*props)) != NULL)
        return why;
    *name = apr_pstrdup(p, json_string_value(json_object_get(*props, "name")));
    return NULL;
}

static const char *papi_read_properties(apr_pool_t *p, papi_instance *inst, int dirfd)
{
    papi_fs_rules rules = { inst->owner, 0022, 0, PAPI_PROPERTIES_MAX };
    char *text;
    apr_size_t len;
    const char *why = papi_fs_read(p, dirfd, "properties.json", &rules, &text, &len);

    if (why)
        return apr_pstrcat(p, "properties.json is ", why, NULL);
    return papi_properties_parse(p, text, len, &inst->properties, &inst->name);
}

/* The lock file in dirfd, if it is a regular file of owner; -1 otherwise. */
static int papi_lock_open(int dirfd, uid_t owner)
{
    struct stat st;
    int fd = openat(dirfd, "lock", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != owner)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* flock, as the watchdog uses, never fcntl: the two do not see each other on Linux. A shared
 * non-blocking probe cannot be mistaken for the watchdog by another probe. */
int papi_lock_fd_held(int fd)
{
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return 0;
    }
    return errno == EWOULDBLOCK;
}

static int papi_lock_held(int dirfd, uid_t owner)
{
    int fd = papi_lock_open(dirfd, owner), held = papi_lock_fd_held(fd);

    if (fd >= 0)
        close(fd);
    return held;
}

static long papi_read_pid(apr_pool_t *p, int dirfd, const char *file, uid_t owner)
{
    papi_fs_rules rules = { owner, 0022, 0, PAPI_PID_FILE_MAX };
    char *text, *end;
    apr_size_t len;
    long pid;

    if (papi_fs_read(p, dirfd, file, &rules, &text, &len) || !len)
        return -1;
    errno = 0;
    pid = strtol(text, &end, 10);
    if (errno || pid <= 0 || end == text || (*end && *end != '\n'))
        return -1;
    return pid;
}

/* Classification once the directory itself is open and trusted. */
static void papi_classify(apr_pool_t *p, papi_instance *inst, int dirfd)
{
    json_int_t major;
    const char *why;

    switch (papi_fs_type(dirfd, "creation_finalized", NULL)) {
    case 0:
        inst->state = PAPI_INST_NOT_FINALIZED;
        inst->reason = "creation_finalized is missing: Passenger has not finished starting";
        return;
    case S_IFREG:
        break;
    default:
        inst->state = PAPI_INST_CORRUPTED;
        inst->reason = "creation_finalized is not a regular file";
        return;
    }
    if ((why = papi_read_properties(p, inst, dirfd)) != NULL) {
        inst->state = PAPI_INST_CORRUPTED;
        inst->reason = why;
        return;
    }
    major = json_integer_value(json_object_get(json_object_get(inst->properties, "instance_dir"),
                                               "major_version"));
    if (major != PAPI_STRUCTURE_MAJOR) {
        inst->state = PAPI_INST_UNSUPPORTED;
        inst->reason = apr_psprintf(p, "instance directory structure version %ld is not supported "
                                    "(only %d)", (long)major, PAPI_STRUCTURE_MAJOR);
        return;
    }
    if (papi_fs_type(dirfd, "lock", NULL) != S_IFREG || papi_fs_type(dirfd, "agents.s", NULL) != S_IFDIR
        || papi_fs_type(dirfd, "apps.s", NULL) != S_IFDIR) {
        inst->state = PAPI_INST_CORRUPTED;
        inst->reason = "lock, agents.s or apps.s is missing or of the wrong type";
        return;
    }
    if (!papi_lock_held(dirfd, inst->owner)) {
        inst->state = PAPI_INST_STALE;
        inst->reason = "its lock is not held: the Passenger watchdog is gone";
        return;
    }
    inst->core_pid = papi_read_pid(p, dirfd, "core.pid", inst->owner);
    inst->state = PAPI_INST_GOOD;
}

papi_instance *papi_instance_inspect(apr_pool_t *p, const char *registry, const char *dirname,
                                     const papi_trust *trust)
{
    papi_instance *inst = apr_pcalloc(p, sizeof(*inst));
    struct stat st;
    int regfd, dirfd;

    inst->registry = registry;
    inst->dirname = dirname;
    inst->path = apr_pstrcat(p, registry, strcmp(registry, "/") ? "/" : "", dirname, NULL);
    inst->core_pid = -1;
    inst->state = PAPI_INST_UNTRUSTED;

    regfd = open(registry, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dirfd = regfd < 0 ? -1 : papi_fs_open_dir(regfd, dirname);
    if (regfd >= 0)
        close(regfd);
    if (dirfd < 0) {
        inst->reason = errno == ELOOP || errno == ENOTDIR ? "not a directory (or a symbolic link)"
                       : "cannot be opened";
        return inst;
    }
    if (fstat(dirfd, &st) != 0) {
        inst->reason = "cannot be inspected";
    }
    else {
        inst->owner = st.st_uid;
        inst->dev = st.st_dev;
        inst->ino = st.st_ino;
        if (!papi_trust_has(trust, st.st_uid))
            inst->reason = apr_psprintf(p, "owned by uid %ld, which is not a trusted owner "
                                        "(PassengerApiTrustedOwner)", (long)st.st_uid);
        else if (st.st_mode & 0022)
            inst->reason = "writable by group or others";
        else
            papi_classify(p, inst, dirfd);
    }
    close(dirfd);
    return inst;
}

int papi_instance_lock_open(const papi_instance *inst)
{
    int dirfd = open(inst->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd;

    if (dirfd < 0)
        return -1;
    fd = papi_lock_open(dirfd, inst->owner);
    close(dirfd);
    return fd;
}

const char *papi_instance_core_socket(apr_pool_t *p, const papi_instance *inst)
{
    const char *path = apr_pstrcat(p, inst->path, "/agents.s/core_api", NULL);

    return strlen(path) > PAPI_SUN_PATH_MAX ? NULL : path;
}

/* ---- a whole registry ------------------------------------------------------------------------- */

apr_array_header_t *papi_registry_list(apr_pool_t *p, const char *registry,
                                       apr_array_header_t *notes)
{
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;

    if ((rv = apr_dir_open(&d, registry, p)) != APR_SUCCESS) {
        if (notes) {
            char err[120];
            APR_ARRAY_PUSH(notes, const char *) = apr_psprintf(p, "registry directory %s: %s",
                registry, apr_strerror(rv, err, sizeof(err)));
        }
        return NULL;
    }
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)) == APR_SUCCESS
           || rv == APR_INCOMPLETE) {
        /* Directories and links to anything (reported untrusted); plain files are not candidates. */
        if ((fi.filetype == APR_DIR || fi.filetype == APR_LNK) && papi_instance_dirname_ok(fi.name))
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, fi.name);
    }
    apr_dir_close(d);
    qsort(names->elts, names->nelts, names->elt_size, papi_cmp_str);
    return names;
}

apr_array_header_t *papi_registry_scan(apr_pool_t *p, const apr_array_header_t *registries,
                                       const papi_trust *trust, apr_array_header_t *notes)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(papi_instance *));
    int i;

    for (i = 0; i < registries->nelts; i++) {
        const char *registry = APR_ARRAY_IDX(registries, i, const char *);
        apr_array_header_t *names = papi_registry_list(p, registry, notes);
        int j;
        for (j = 0; names && j < names->nelts; j++)
            APR_ARRAY_PUSH(out, papi_instance *) =
                papi_instance_inspect(p, registry, APR_ARRAY_IDX(names, j, const char *), trust);
    }
    return out;
}
