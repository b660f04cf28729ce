/* Finding Passenger instances: expanding the configured registry directories (paths and globs) and
 * classifying every passenger.* directory in them the way Passenger's own admin tools do, plus the
 * checks a shared /tmp needs (owner, links). Nothing in a registry is ever changed. */
#ifndef PAPI_REGISTRY_H
#define PAPI_REGISTRY_H

#include "papi_globcache.h"

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Longest AF_UNIX path (sun_path less its NUL), and the longest instance directory name we accept. */
#define PAPI_SUN_PATH_MAX 107
#define PAPI_INSTANCE_DIRNAME_MAX 42
/* What an instance adds to its registry's path to reach the core socket, at the longest. */
#define PAPI_CORE_SOCKET_SUFFIX_MAX (1 + PAPI_INSTANCE_DIRNAME_MAX + sizeof("/agents.s/core_api") - 1)

/* How many entries of one registry directory are looked into, at the most: candidates of trusted
 * owners inspected (opened, their files read, their lock probed), and entries shown one by one in
 * instances.json. Anyone can fill a shared /tmp with passenger.* directories; beyond this bound
 * they are counted, never read, so a local user cannot make every answer huge or slow. Listing
 * the registry still looks at every passenger.* entry, but only with one fstatat each (type,
 * device, owner): an entry of an untrusted owner is never opened, so it can never take a trusted
 * instance's place within the bound (see papi_registry_list). */
#define PAPI_REGISTRY_BOUND 64

typedef enum {
    PAPI_INST_GOOD,
    PAPI_INST_NOT_FINALIZED,
    PAPI_INST_CORRUPTED,
    PAPI_INST_UNSUPPORTED,
    PAPI_INST_STALE,
    PAPI_INST_UNTRUSTED
} papi_inst_state;

typedef struct papi_trust {
    const uid_t *uids;      /* owners whose instance directories are trusted */
    int count;
} papi_trust;

/* uid is one of trust's owners. */
int papi_trust_has(const papi_trust *trust, uid_t uid);

/* A pool cleanup that drops one reference to a json_t. */
apr_status_t papi_json_cleanup(void *json);

typedef struct papi_instance {
    const char *registry;   /* the registry directory it was found in */
    const char *dirname;    /* passenger.XXXXXXX */
    const char *path;       /* registry/dirname */
    papi_inst_state state;
    const char *reason;     /* why it is not good; NULL when good */
    uid_t owner;            /* owner of the instance directory */
    dev_t dev;              /* the directory's identity (0 when it could not be opened) */
    ino_t ino;
    json_t *properties;     /* properties.json as written (an object), or NULL; freed with the pool */
    const char *name;       /* properties' name, or NULL */
    long core_pid;          /* from core.pid, or -1 */
    const char *json;       /* papi_answer_instance's text, made once when it was inspected (what
                             * it is made of is what the cache revalidates); NULL: per answer */
    /* A summary entry (one of these > 0; dirname NULL, path its registry's, state untrusted so
     * that it is never asked) stands for the candidates of its registry beyond
     * PAPI_REGISTRY_BOUND: how many were untrusted, and how many of trusted owners were left
     * uninspected. Both 0 for any other entry. */
    int more_untrusted;
    int more_uninspected;
} papi_instance;

/* inst stands for its registry's candidates beyond the bound, not for one directory. */
int papi_instance_is_summary(const papi_instance *inst);

const char *papi_inst_state_name(papi_inst_state state);

/* Lists of strings (registry directories, patterns): membership, and adding without duplicates. */
int papi_list_has(const apr_array_header_t *list, const char *s);
void papi_list_add_unique(apr_array_header_t *list, const char *s);

/* Why pattern cannot be a registry directory (relative, "..", too long for a socket path, ...),
 * or NULL when it can. */
const char *papi_registry_pattern_error(apr_pool_t *p, const char *pattern);

/* Why the registry directory dir is unsafe to trust (not owned by root, or writable by others
 * without the sticky bit: someone else can rename or replace instance directories in it), or NULL. */
const char *papi_registry_dir_warning(apr_pool_t *p, const char *dir);

/* Passenger's own search list: $PASSENGER_INSTANCE_REGISTRY_DIR alone if set, else $TMPDIR, /tmp,
 * /var/run/passenger-instreg (duplicates removed). */
apr_array_header_t *papi_registry_default_patterns(apr_pool_t *p);

/* The directories the patterns name now, in pattern order (glob matches sorted), without
 * duplicates. A glob component matches real directories only, never links, and a literal
 * component below one must be a real directory too; a pattern's expansion looks at 65536
 * directory entries at the most. With narrow (a glob from a request), only those it matches
 * (papi_registry_match). */
apr_array_header_t *papi_registry_expand(apr_pool_t *p, const apr_array_header_t *patterns,
                                         const char *narrow);

/* One pattern's directories, as papi_registry_expand finds them, appended to dirs (each once),
 * with every directory whose contents it consults stamped in w (NULL: none; papi_globcache). */
void papi_registry_expand_pattern(apr_pool_t *p, const char *pattern, apr_array_header_t *dirs,
                                  papi_globwatch *w);

/* Those of dirs that glob (trailing slashes ignored) matches as a whole path: '*', '?' and
 * brackets never match a '/' nor a leading '.'. Only ever a subset of dirs: a request's glob is
 * matched against what the configuration yields, never against the filesystem. */
apr_array_header_t *papi_registry_match(apr_pool_t *p, const apr_array_header_t *dirs,
                                        const char *glob);

/* A PassengerApiRegistryDir word as *dir (trailing slashes dropped); what is wrong with it (as
 * papi_registry_pattern_error says), or NULL. */
const char *papi_registry_dir_parse(apr_pool_t *p, const char *word, const char **dir);

/* Why the registry header's value cannot be used (not printable ASCII, or as
 * papi_registry_pattern_error says), or NULL. */
const char *papi_registry_header_error(apr_pool_t *p, const char *value);

/* PassengerApiRegistryOverride: what the X-Passenger-Instance-Registry-Dir header does. */
typedef enum {
    PAPI_OVERRIDE_OFF,      /* nothing: the configured registries apply */
    PAPI_OVERRIDE_NARROW,   /* on: its glob keeps only the configured registries it matches */
    PAPI_OVERRIDE_REPLACE   /* GLOB...: its value replaces the configured registries, as in
                             * PassengerAPI, within the directories the GLOBs name */
} papi_override_mode;

typedef struct papi_registry_override {
    papi_override_mode mode;
    const apr_array_header_t *configured;   /* PassengerApiRegistryDir's patterns (or defaults) */
    const apr_array_header_t *allowed;      /* PassengerApiRegistryOverride's GLOBs (REPLACE) */
    papi_globcache *globs;                  /* this process's expansions of both's globs, or NULL:
                                             * expanded at every request */
} papi_registry_override;

/* PassengerApiRegistryOverride's words: off or on alone, or absolute globs of directories (each as
 * papi_registry_pattern_error requires, trailing slashes dropped, duplicates once). NULL with
 * *mode and *globs (NULL unless PAPI_OVERRIDE_REPLACE) set, or why not. */
const char *papi_registry_override_parse(apr_pool_t *p, const apr_array_header_t *words,
                                         papi_override_mode *mode, apr_array_header_t **globs);

/* How many registries a replacing header may name at the most; the first ones are kept. */
#define PAPI_OVERRIDE_DIRS_MAX 256

/* The registry directories one request may see, given its header's value (NULL: none): the
 * configured ones; with a header, narrowed or replaced as o->mode says. An allowed glob is
 * expanded, then matched against the header's; a header that matches nothing allowed names no
 * registry at all. NULL with *why when the header's value is unusable. */
apr_array_header_t *papi_registry_for_request(apr_pool_t *p, const papi_registry_override *o,
                                              const char *header, const char **why);

/* What listing one registry directory found, bounded whatever it holds. */
typedef struct papi_registry_listing {
    apr_array_header_t *inspect;    /* dirnames (const char *) of the candidates to inspect: real
                                     * directories of trusted owners on the registry's device, at
                                     * most PAPI_REGISTRY_BOUND, in name order */
    apr_array_header_t *refused;    /* papi_instance *: candidates untrusted from what fstatat
                                     * shows, in name order, as many as the bound leaves room for */
    int more_refused;               /* untrusted candidates beyond those */
    int more_trusted;               /* candidates of trusted owners beyond the bound */
} papi_registry_listing;

/* Lists the passenger.* candidates (directories and links) of one registry directory: one
 * fstatat each, nothing opened. NULL when it cannot be read, with why appended to notes
 * (const char *) when not NULL. */
papi_registry_listing *papi_registry_list(apr_pool_t *p, const char *registry,
                                          const papi_trust *trust, apr_array_header_t *notes);

/* How a scan classifies one candidate to inspect (papi_instance_inspect, or the cache's). */
typedef papi_instance *papi_inspect_fn(apr_pool_t *p, const char *registry, const char *dirname,
                                       void *baton);

/* A registry's entries for an answer, appended to out: listing->inspect classified by inspect,
 * and listing->refused, in name order, then the registry's summary entry when the listing left
 * candidates out. */
void papi_registry_add(apr_pool_t *p, apr_array_header_t *out, const char *registry,
                       const papi_registry_listing *listing, papi_inspect_fn *inspect,
                       void *baton);

/* The warning for a registry whose listing left candidates out, or NULL. */
const char *papi_registry_overflow(apr_pool_t *p, const char *registry,
                                   const papi_registry_listing *listing);

/* Every passenger.* candidate in the registry directories, in registry order then name order,
 * bounded per registry as papi_registry_add says. Problems with a registry directory itself
 * (missing, unreadable) are appended to notes, and registries beyond the bound to warnings
 * (const char *), each when not NULL. */
apr_array_header_t *papi_registry_scan(apr_pool_t *p, const apr_array_header_t *registries,
                                       const papi_trust *trust, apr_array_header_t *notes,
                                       apr_array_header_t *warnings);

/* Why a directory (as lstat or fstat shows it: dir) found in a registry directory (reg) is untrusted
 * before anything in it is read: not a directory, on another device than its registry (a mount
 * point: a FUSE file system can claim any owner), or of an owner trust does not name. NULL when
 * none of these holds. */
const char *papi_instance_distrust(apr_pool_t *p, const struct stat *reg, const struct stat *dir,
                                   const papi_trust *trust);

/* Parses properties.json text as Passenger's admin tools accept it (an object with instance_dir's
 * integer major/minor version, a name of 1-64 letters and digits, server_software, an integer
 * watchdog_pid). Returns NULL with *props (freed with p) and *name set, or why not. */
const char *papi_properties_parse(apr_pool_t *p, const char *text, apr_size_t len, json_t **props,
                                  const char **name);

/* Classifies one candidate; dirname must pass papi_instance_dirname_ok. */
papi_instance *papi_instance_inspect(apr_pool_t *p, const char *registry, const char *dirname,
                                     const papi_trust *trust);

int papi_instance_dirname_ok(const char *dirname);

/* The first line of defence for instance names from requests: 1-64 of [A-Za-z0-9]. */
int papi_instance_name_ok(const char *name);

/* The good instance among instances named name, or else the only good one whose name starts with
 * it (names are long and random: a prefix is what people type); NULL when there is none, or
 * several (*matches says how many). */
const papi_instance *papi_pick(const apr_array_header_t *instances, const char *name, int *matches);

/* The instance's directory opened again (O_PATH) from its path, if it is still the very one
 * that was inspected: the same device, inode and owner. -1 otherwise (errno ESTALE when another
 * directory now has its name). Whatever is read or reached in an instance after its inspection
 * goes through such a descriptor, never through its path again. */
int papi_instance_reopen(const papi_instance *inst);

/* The lock file of an instance found good or stale, open (a regular file of the instance's
 * owner, in the very directory inspected), or -1: whether the watchdog still holds it is the one
 * thing that changes without a trace in the directory's change times when the watchdog dies. */
int papi_instance_lock_open(const papi_instance *inst);

/* Whether someone (the watchdog) holds the lock open at fd; 0 for fd -1. */
int papi_lock_fd_held(int fd);

/* The instance's agents.s, opened (O_PATH) from the very directory inspected and checked: a real
 * directory of the instance's owner that no one else can write. -1 with *why otherwise. Its core
 * socket is reached through it (papi_instance_core_socket), so a directory renamed and replaced
 * after the inspection cannot put another socket in its place. */
int papi_instance_agents_open(apr_pool_t *p, const papi_instance *inst, const char **why);

/* The address of the instance's core API socket: through agents_fd (from
 * papi_instance_agents_open) as /proc/self/fd/<agents_fd>/core_api, which resolves within the
 * directory checked whatever its path names now; by its path only where /proc is not mounted.
 * NULL if it would not fit in sun_path. */
const char *papi_instance_core_socket(apr_pool_t *p, const papi_instance *inst, int agents_fd);

#endif
