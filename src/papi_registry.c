#include "papi_registry.h"
#include "papi_fs.h"
#include "papi_log.h"

#include <apr_fnmatch.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

const papi_instance *papi_pick(const apr_array_header_t *instances, const char *name, int *matches)
{
    const papi_instance *picked = NULL;
    int i;

    *matches = 0;
    for (i = 0; i < instances->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(instances, i, const papi_instance *);
        if (inst->state != PAPI_INST_GOOD || strncmp(inst->name, name, strlen(name)))
            continue;
        if (!strcmp(inst->name, name)) {
            *matches = 1;
            return inst;
        }
        picked = inst;
        ++*matches;
    }
    return *matches == 1 ? picked : NULL;
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

/* What expanding one pattern may cost: directory entries looked at, over all its levels. A glob
 * over a directory anyone can fill, such as /tmp, stays as cheap however full it gets. */
#define PAPI_GLOB_ENTRIES_MAX 65536

/* Real directories (not links) in dir whose names match the glob component; *budget entries may
 * still be looked at (below 0: it ran out). dir is stamped in w first, through links (follow)
 * when it is the pattern's literal prefix. Running out is warned of once per process: a local
 * user who fills a directory must not be able to fill the error log too. */
static void papi_glob_level(apr_pool_t *p, const char *dir, const char *component,
                            apr_array_header_t *out, int *budget, int follow, papi_globwatch *w)
{
    static volatile int warned;
    const char *path = *dir ? dir : "/";
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;
    int first = out->nelts;

    if (*budget < 0)
        return;
    papi_globwatch_add(w, path, follow);
    if ((rv = apr_dir_open(&d, path, p)) != APR_SUCCESS) {
        papi_globwatch_failed(w, rv);
        return;
    }
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)) == APR_SUCCESS
           || rv == APR_INCOMPLETE) {
        if (--*budget < 0) {
            papi_log(PAPI_LOG_MARK, warned ? PAPI_LOG_INFO : PAPI_LOG_WARNING, 0, "a registry glob "
                     "reached %s after looking at %d entries: the rest are not looked at (logged "
                     "as a warning once per process)", path, PAPI_GLOB_ENTRIES_MAX);
            warned = 1;
            break;
        }
        if (fi.filetype != APR_DIR || !strcmp(fi.name, ".") || !strcmp(fi.name, ".."))
            continue;
        if (apr_fnmatch(component, fi.name, APR_FNM_PERIOD) == APR_SUCCESS)
            APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(p, dir, "/", fi.name, NULL);
    }
    /* The end of the directory, or a read that failed. */
    if (*budget >= 0 && !APR_STATUS_IS_ENOENT(rv))
        papi_globwatch_failed(w, rv);
    apr_dir_close(d);
    qsort(out->elts + first * out->elt_size, out->nelts - first, out->elt_size, papi_cmp_str);
}

/* base/comp is a real directory, not a link to one; base, whose entry that is, is stamped in w
 * first. */
static int papi_is_real_dir(apr_pool_t *p, const char *base, const char *comp, papi_globwatch *w)
{
    struct stat st;

    papi_globwatch_add(w, base, 0);
    if (lstat(apr_pstrcat(p, base, "/", comp, NULL), &st) != 0) {
        papi_globwatch_failed(w, APR_FROM_OS_ERROR(errno));
        return 0;
    }
    return S_ISDIR(st.st_mode);
}

/* Expands one pattern, component by component. Literal components are taken as they are up to
 * the first glob (the configuration wrote them: /var/run may be a link); below a glob, whoever
 * owns the directory it matched chose what is there, so a literal component must then be a real
 * directory too. */
void papi_registry_expand_pattern(apr_pool_t *p, const char *pattern, apr_array_header_t *out,
                                  papi_globwatch *w)
{
    apr_array_header_t *cur = apr_array_make(p, 1, sizeof(const char *));
    char *rest = apr_pstrdup(p, pattern), *last, *comp;
    int i, budget = PAPI_GLOB_ENTRIES_MAX, below_glob = 0;

    APR_ARRAY_PUSH(cur, const char *) = "";
    for (comp = apr_strtok(rest, "/", &last); comp; comp = apr_strtok(NULL, "/", &last)) {
        apr_array_header_t *next = apr_array_make(p, cur->nelts, sizeof(const char *));
        int glob = papi_has_glob(comp);
        for (i = 0; i < cur->nelts; i++) {
            const char *base = APR_ARRAY_IDX(cur, i, const char *);
            if (glob)
                papi_glob_level(p, base, comp, next, &budget, !below_glob, w);
            else if (!below_glob || papi_is_real_dir(p, base, comp, w))
                APR_ARRAY_PUSH(next, const char *) = apr_pstrcat(p, base, "/", comp, NULL);
        }
        below_glob |= glob;
        cur = next;
    }
    for (i = 0; i < cur->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(cur, i, const char *);
        papi_list_add_unique(out, *dir ? dir : "/");
    }
}

apr_array_header_t *papi_registry_match(apr_pool_t *p, const apr_array_header_t *dirs,
                                        const char *glob)
{
    apr_array_header_t *kept = apr_array_make(p, dirs->nelts + 1, sizeof(const char *));
    int i;

    glob = papi_clean_dir(p, glob);
    for (i = 0; i < dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);
        if (apr_fnmatch(glob, dir, APR_FNM_PATHNAME | APR_FNM_PERIOD) == APR_SUCCESS)
            APR_ARRAY_PUSH(kept, const char *) = dir;
    }
    return kept;
}

/* Appends to all those of dirs (each once already) that it does not hold yet. */
static void papi_list_merge(apr_array_header_t *all, const apr_array_header_t *dirs)
{
    int i, j, before = all->nelts;

    for (i = 0; i < dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);
        for (j = 0; j < before && strcmp(APR_ARRAY_IDX(all, j, const char *), dir); j++)
            ;
        if (j == before)
            APR_ARRAY_PUSH(all, const char *) = dir;
    }
}

/* papi_registry_expand, each glob through globs (NULL: uncached); a plain path reads nothing,
 * so it never goes through the cache. */
static apr_array_header_t *papi_expand_all(apr_pool_t *p, papi_globcache *globs,
                                           const apr_array_header_t *patterns, const char *narrow)
{
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(const char *));
    int i;

    for (i = 0; i < patterns->nelts; i++) {
        const char *pattern = APR_ARRAY_IDX(patterns, i, const char *);
        if (!globs || !papi_has_glob(pattern))
            papi_registry_expand_pattern(p, pattern, all, NULL);
        else
            papi_list_merge(all, papi_globcache_expand(globs, p, pattern,
                                                       papi_registry_expand_pattern));
    }
    return narrow ? papi_registry_match(p, all, narrow) : all;
}

apr_array_header_t *papi_registry_expand(apr_pool_t *p, const apr_array_header_t *patterns,
                                         const char *narrow)
{
    return papi_expand_all(p, NULL, patterns, narrow);
}

const char *papi_registry_override_parse(apr_pool_t *p, const apr_array_header_t *words,
                                         papi_override_mode *mode, apr_array_header_t **globs)
{
    static const char usage[] = "give off, on, or absolute globs of the directories the "
                                "X-Passenger-Instance-Registry-Dir header may name";
    const char *first = words->nelts ? APR_ARRAY_IDX(words, 0, const char *) : "", *why;
    int i;

    *globs = NULL;
    if (!strcasecmp(first, "off") || !strcasecmp(first, "on")) {
        if (words->nelts > 1)
            return apr_psprintf(p, "'%s' stands alone; %s", first, usage);
        *mode = strcasecmp(first, "on") ? PAPI_OVERRIDE_OFF : PAPI_OVERRIDE_NARROW;
        return NULL;
    }
    if (!words->nelts)
        return apr_psprintf(p, "takes off, on, or one or more absolute globs; %s", usage);
    *globs = apr_array_make(p, words->nelts, sizeof(const char *));
    for (i = 0; i < words->nelts; i++) {
        const char *glob = papi_clean_dir(p, APR_ARRAY_IDX(words, i, const char *));
        if (!strcasecmp(glob, "off") || !strcasecmp(glob, "on"))
            return apr_psprintf(p, "'%s' stands alone, not among globs; %s", glob, usage);
        if ((why = papi_registry_pattern_error(p, glob)) != NULL)
            return apr_psprintf(p, "%s; %s", why, usage);
        papi_list_add_unique(*globs, glob);
    }
    *mode = PAPI_OVERRIDE_REPLACE;
    return NULL;
}

const char *papi_registry_dir_parse(apr_pool_t *p, const char *word, const char **dir)
{
    *dir = papi_clean_dir(p, word);
    return papi_registry_pattern_error(p, *dir);
}

const char *papi_registry_header_error(apr_pool_t *p, const char *value)
{
    const char *c;

    for (c = value; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            return "it holds a character that is not printable ASCII";
    return papi_registry_pattern_error(p, value);
}

apr_array_header_t *papi_registry_for_request(apr_pool_t *p, const papi_registry_override *o,
                                              const char *header, const char **why)
{
    apr_array_header_t *dirs;

    *why = NULL;
    if (!header || o->mode == PAPI_OVERRIDE_OFF)
        return papi_expand_all(p, o->globs, o->configured, NULL);
    if ((*why = papi_registry_header_error(p, header)) != NULL)
        return NULL;
    if (o->mode == PAPI_OVERRIDE_NARROW)
        return papi_expand_all(p, o->globs, o->configured, header);
    dirs = papi_expand_all(p, o->globs, o->allowed, header);
    if (dirs->nelts > PAPI_OVERRIDE_DIRS_MAX) {
        papi_log(PAPI_LOG_MARK, PAPI_LOG_INFO, 0, "the registry header '%s' names %d "
                 "directories; only the first %d are scanned", header, dirs->nelts,
                 PAPI_OVERRIDE_DIRS_MAX);
        dirs->nelts = PAPI_OVERRIDE_DIRS_MAX;
    }
    return dirs;
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

int papi_instance_is_summary(const papi_instance *inst)
{
    return inst->more_untrusted > 0 || inst->more_uninspected > 0;
}

/* Why a directory is untrusted before anything in it is read, as a kind: a listing classifies
 * every entry of a registry and must not spend an allocation on each. */
typedef enum { PAPI_DISTRUST_NONE, PAPI_DISTRUST_TYPE, PAPI_DISTRUST_DEVICE, PAPI_DISTRUST_OWNER }
    papi_distrust_kind;

static papi_distrust_kind papi_distrust_of(const struct stat *reg, const struct stat *dir,
                                           const papi_trust *trust)
{
    if (!S_ISDIR(dir->st_mode))
        return PAPI_DISTRUST_TYPE;
    /* A mount point: whatever is mounted there (a user's FUSE file system) says who owns it. */
    if (dir->st_dev != reg->st_dev)
        return PAPI_DISTRUST_DEVICE;
    if (!papi_trust_has(trust, dir->st_uid))
        return PAPI_DISTRUST_OWNER;
    return PAPI_DISTRUST_NONE;
}

static const char *papi_distrust_reason(apr_pool_t *p, papi_distrust_kind kind, uid_t owner)
{
    switch (kind) {
    case PAPI_DISTRUST_TYPE:
        return "not a directory (or a symbolic link)";
    case PAPI_DISTRUST_DEVICE:
        return "on another device than its registry directory (a mount point, whose file system "
               "can claim any owner)";
    case PAPI_DISTRUST_OWNER:
        return apr_psprintf(p, "owned by uid %ld, which is not a trusted owner "
                            "(PassengerApiTrustedOwner)", (long)owner);
    default:
        return NULL;
    }
}

const char *papi_instance_distrust(apr_pool_t *p, const struct stat *reg, const struct stat *dir,
                                   const papi_trust *trust)
{
    return papi_distrust_reason(p, papi_distrust_of(reg, dir, trust), dir->st_uid);
}

/* A candidate not classified yet (untrusted until it is). */
static papi_instance *papi_instance_new(apr_pool_t *p, const char *registry, const char *dirname)
{
    papi_instance *inst = apr_pcalloc(p, sizeof(*inst));

    inst->registry = registry;
    inst->dirname = dirname;
    inst->path = apr_pstrcat(p, registry, strcmp(registry, "/") ? "/" : "", dirname, NULL);
    inst->core_pid = -1;
    inst->state = PAPI_INST_UNTRUSTED;
    return inst;
}

papi_instance *papi_instance_inspect(apr_pool_t *p, const char *registry, const char *dirname,
                                     const papi_trust *trust)
{
    papi_instance *inst = papi_instance_new(p, registry, dirname);
    struct stat reg, st;
    int regfd, dirfd;

    regfd = open(registry, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dirfd = regfd < 0 ? -1 : papi_fs_open_dir(regfd, dirname);
    if (dirfd < 0) {
        inst->reason = errno == ELOOP || errno == ENOTDIR ? "not a directory (or a symbolic link)"
                       : "cannot be opened";
        if (regfd >= 0)
            close(regfd);
        return inst;
    }
    if (fstat(regfd, &reg) != 0 || fstat(dirfd, &st) != 0) {
        inst->reason = "cannot be inspected";
    }
    else {
        inst->owner = st.st_uid;
        inst->dev = st.st_dev;
        inst->ino = st.st_ino;
        inst->reason = papi_instance_distrust(p, &reg, &st, trust);
        if (!inst->reason && (st.st_mode & 0022))
            inst->reason = "writable by group or others";
        if (!inst->reason)
            papi_classify(p, inst, dirfd);
    }
    close(dirfd);
    close(regfd);
    return inst;
}

int papi_instance_reopen(const papi_instance *inst)
{
    struct stat st;
    int fd = open(inst->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_dev != inst->dev || st.st_ino != inst->ino
        || st.st_uid != inst->owner) {
        close(fd);
        errno = ESTALE;
        return -1;
    }
    return fd;
}

int papi_instance_lock_open(const papi_instance *inst)
{
    int dirfd = papi_instance_reopen(inst), fd;

    if (dirfd < 0)
        return -1;
    fd = papi_lock_open(dirfd, inst->owner);
    close(dirfd);
    return fd;
}

int papi_instance_agents_open(apr_pool_t *p, const papi_instance *inst, const char **why)
{
    struct stat st;
    int dirfd = papi_instance_reopen(inst), fd;

    if (dirfd < 0) {
        char err[120];
        *why = errno == ESTALE ? "the instance directory was replaced after it was inspected"
                               : apr_pstrcat(p, "the instance directory cannot be opened (",
                                             apr_strerror(APR_FROM_OS_ERROR(errno), err,
                                                          sizeof(err)), ")", NULL);
        return -1;
    }
    fd = openat(dirfd, "agents.s", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dirfd);
    if (fd < 0) {
        *why = "agents.s cannot be opened (missing, or not a directory)";
        return -1;
    }
    if (fstat(fd, &st) != 0 || st.st_uid != inst->owner || (st.st_mode & 0022)) {
        close(fd);
        *why = "agents.s is not a directory of the instance's owner that only it can write";
        return -1;
    }
    return fd;
}

/* Whether this process can reach a descriptor's file through /proc/self/fd (not where /proc is
 * not mounted). Asked once: the answer does not change while the process lives. */
static int papi_proc_fd_usable(void)
{
    static volatile int usable = -1;

    if (usable < 0)
        usable = access("/proc/self/fd", X_OK) == 0;
    return usable;
}

const char *papi_instance_core_socket(apr_pool_t *p, const papi_instance *inst, int agents_fd)
{
    const char *path = agents_fd >= 0 && papi_proc_fd_usable()
                       ? apr_psprintf(p, "/proc/self/fd/%d/core_api", agents_fd)
                       : apr_pstrcat(p, inst->path, "/agents.s/core_api", NULL);

    return strlen(path) > PAPI_SUN_PATH_MAX ? NULL : path;
}

/* ---- a whole registry ------------------------------------------------------------------------- */

/* A candidate of a trusted owner, while its registry is listed. */
typedef struct papi_candidate {
    const char *name;
    uid_t uid;
    struct timespec ctime;
} papi_candidate;

/* Owners in uid order (root first), each one's most recently changed directories first. */
static int papi_cmp_candidate(const void *a, const void *b)
{
    const papi_candidate *x = a, *y = b;

    if (x->uid != y->uid)
        return x->uid < y->uid ? -1 : 1;
    if (x->ctime.tv_sec != y->ctime.tv_sec)
        return x->ctime.tv_sec > y->ctime.tv_sec ? -1 : 1;
    if (x->ctime.tv_nsec != y->ctime.tv_nsec)
        return x->ctime.tv_nsec > y->ctime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The candidates to inspect, in name order. When trusted owners have more than the bound, each
 * owner gets an equal share in turn, its most recently changed directories first (a running
 * instance is younger than the stale ones a crash left): no trusted owner, such as the httpd
 * User whose code others may get to run, can crowd out another's instances, least of all
 * root's. */
static apr_array_header_t *papi_pick_inspected(apr_pool_t *p, apr_array_header_t *cands)
{
    papi_candidate *c = (papi_candidate *)cands->elts;
    int n = cands->nelts, want = n < PAPI_REGISTRY_BOUND ? n : PAPI_REGISTRY_BOUND;
    int *start = apr_palloc(p, (n + 1) * sizeof(int)), owners = 0, round, i;
    apr_array_header_t *names = apr_array_make(p, want + 1, sizeof(const char *));

    qsort(c, n, sizeof(*c), papi_cmp_candidate);
    for (i = 0; i < n; i++)
        if (i == 0 || c[i].uid != c[i - 1].uid)
            start[owners++] = i;
    start[owners] = n;
    for (round = 0; names->nelts < want; round++)
        for (i = 0; i < owners && names->nelts < want; i++)
            if (start[i] + round < start[i + 1])
                APR_ARRAY_PUSH(names, const char *) = c[start[i] + round].name;
    qsort(names->elts, names->nelts, names->elt_size, papi_cmp_str);
    return names;
}

/* Where name would go among the refused entries kept (in name order), or -1 when the bound's
 * worth of names before it are kept already. */
static int papi_refused_slot(const apr_array_header_t *kept, const char *name)
{
    papi_instance *const *e = (papi_instance *const *)kept->elts;
    int lo = 0, hi = kept->nelts;

    if (kept->nelts == PAPI_REGISTRY_BOUND && strcmp(name, e[hi - 1]->dirname) > 0)
        return -1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(e[mid]->dirname, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Keeps inst at slot among the refused entries, the last one dropped when they are full. */
static void papi_refused_keep(apr_array_header_t *kept, int slot, papi_instance *inst)
{
    int moved = kept->nelts < PAPI_REGISTRY_BOUND ? kept->nelts - slot : kept->nelts - 1 - slot;
    papi_instance **e;

    if (kept->nelts < PAPI_REGISTRY_BOUND)
        apr_array_push(kept);
    e = (papi_instance **)kept->elts;
    memmove(&e[slot + 1], &e[slot], (apr_size_t)moved * sizeof(*e));
    e[slot] = inst;
}

/* One entry of the registry: a candidate of a trusted owner, or refused (the first ones in name
 * order kept with their reason, every one counted). */
static void papi_list_entry(apr_pool_t *p, const char *registry, const struct stat *reg,
                            const char *name, const struct stat *st, const papi_trust *trust,
                            apr_array_header_t *cands, apr_array_header_t *refused, int *n_refused)
{
    papi_distrust_kind kind = papi_distrust_of(reg, st, trust);
    papi_instance *inst;
    int slot;

    if (kind == PAPI_DISTRUST_NONE) {
        papi_candidate *c = apr_array_push(cands);
        c->name = apr_pstrdup(p, name);
        c->uid = st->st_uid;
        c->ctime = st->st_ctim;
        return;
    }
    ++*n_refused;
    if ((slot = papi_refused_slot(refused, name)) < 0)
        return;
    inst = papi_instance_new(p, registry, apr_pstrdup(p, name));
    inst->owner = st->st_uid;
    inst->dev = st->st_dev;
    inst->ino = st->st_ino;
    inst->reason = papi_distrust_reason(p, kind, st->st_uid);
    papi_refused_keep(refused, slot, inst);
}

/* Every passenger.* entry is looked at (one fstatat: a root-owned instance must be found however
 * many others there are, and readdir's order is no order), but only those of trusted owners on
 * the registry's own device are kept as candidates to inspect, up to the bound; the untrusted
 * ones are counted, and the first few in name order kept to be shown. */
papi_registry_listing *papi_registry_list(apr_pool_t *p, const char *registry,
                                          const papi_trust *trust, apr_array_header_t *notes)
{
    papi_registry_listing *l = apr_pcalloc(p, sizeof(*l));
    apr_array_header_t *cands = apr_array_make(p, 4, sizeof(papi_candidate));
    int fd = open(registry, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n_refused = 0;
    DIR *d = NULL;
    struct dirent *de;
    struct stat reg, st;

    if (fd < 0 || fstat(fd, &reg) != 0 || !(d = fdopendir(fd))) {
        char err[120];
        if (notes)
            APR_ARRAY_PUSH(notes, const char *) = apr_psprintf(p, "registry directory %s: %s",
                registry, apr_strerror(APR_FROM_OS_ERROR(errno), err, sizeof(err)));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    l->refused = apr_array_make(p, 4, sizeof(papi_instance *));
    while ((de = readdir(d)) != NULL) {
        /* Directories and links to anything (reported untrusted); plain files are not candidates. */
        if ((de->d_type != DT_DIR && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
            || !papi_instance_dirname_ok(de->d_name)
            || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0
            || !(S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
            continue;
        papi_list_entry(p, registry, &reg, de->d_name, &st, trust, cands, l->refused, &n_refused);
    }
    closedir(d);
    l->inspect = papi_pick_inspected(p, cands);
    l->more_trusted = cands->nelts - l->inspect->nelts;
    /* Inspected candidates first: what is left of the bound shows refused ones. */
    if (l->refused->nelts > PAPI_REGISTRY_BOUND - l->inspect->nelts)
        l->refused->nelts = PAPI_REGISTRY_BOUND - l->inspect->nelts;
    l->more_refused = n_refused - l->refused->nelts;
    return l;
}

static papi_instance *papi_registry_summary(apr_pool_t *p, const char *registry,
                                            const papi_registry_listing *l)
{
    papi_instance *inst = apr_pcalloc(p, sizeof(*inst));

    inst->registry = registry;
    inst->path = registry;
    inst->state = PAPI_INST_UNTRUSTED;
    inst->core_pid = -1;
    inst->more_untrusted = l->more_refused;
    inst->more_uninspected = l->more_trusted;
    inst->reason = apr_psprintf(p, "%d more passenger.* entries in this registry directory, beyond "
                                "the %d looked into: %d untrusted (owner, type or device), %d of "
                                "trusted owners not inspected", l->more_refused + l->more_trusted,
                                PAPI_REGISTRY_BOUND, l->more_refused, l->more_trusted);
    return inst;
}

void papi_registry_add(apr_pool_t *p, apr_array_header_t *out, const char *registry,
                       const papi_registry_listing *l, papi_inspect_fn *inspect, void *baton)
{
    apr_array_header_t *inspected = apr_array_make(p, l->inspect->nelts + 1,
                                                   sizeof(papi_instance *));
    int i = 0, j = 0;

    for (i = 0; i < l->inspect->nelts; i++)
        APR_ARRAY_PUSH(inspected, papi_instance *) =
            inspect(p, registry, APR_ARRAY_IDX(l->inspect, i, const char *), baton);
    i = 0;

    /* Both are in name order: merged. */
    while (i < inspected->nelts || j < l->refused->nelts) {
        papi_instance *a = i < inspected->nelts ? APR_ARRAY_IDX(inspected, i, papi_instance *) : NULL;
        papi_instance *b = j < l->refused->nelts ? APR_ARRAY_IDX(l->refused, j, papi_instance *)
                                                 : NULL;
        if (a && (!b || strcmp(a->dirname, b->dirname) < 0)) {
            APR_ARRAY_PUSH(out, papi_instance *) = a;
            i++;
        }
        else {
            APR_ARRAY_PUSH(out, papi_instance *) = b;
            j++;
        }
    }
    if (l->more_refused || l->more_trusted)
        APR_ARRAY_PUSH(out, papi_instance *) = papi_registry_summary(p, registry, l);
}

const char *papi_registry_overflow(apr_pool_t *p, const char *registry,
                                   const papi_registry_listing *l)
{
    if (!l->more_refused && !l->more_trusted)
        return NULL;
    return apr_psprintf(p, "registry directory %s holds more passenger.* entries than the %d looked "
                        "into: %d more of untrusted owners, links or mount points are only "
                        "counted, %d more of trusted owners are not inspected (each owner's most "
                        "recently changed ones are). Someone may be filling it: prefer a registry "
                        "directory only root can write", registry, PAPI_REGISTRY_BOUND,
                        l->more_refused, l->more_trusted);
}

static papi_instance *papi_inspect_plain(apr_pool_t *p, const char *registry, const char *dirname,
                                         void *trust)
{
    return papi_instance_inspect(p, registry, dirname, trust);
}

apr_array_header_t *papi_registry_scan(apr_pool_t *p, const apr_array_header_t *registries,
                                       const papi_trust *trust, apr_array_header_t *notes,
                                       apr_array_header_t *warnings)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(papi_instance *));
    int i;

    for (i = 0; i < registries->nelts; i++) {
        const char *registry = APR_ARRAY_IDX(registries, i, const char *), *why;
        papi_registry_listing *l = papi_registry_list(p, registry, trust, notes);

        if (!l)
            continue;
        papi_registry_add(p, out, registry, l, papi_inspect_plain, (void *)trust);
        if (warnings && (why = papi_registry_overflow(p, registry, l)) != NULL)
            APR_ARRAY_PUSH(warnings, const char *) = why;
    }
    return out;
}
