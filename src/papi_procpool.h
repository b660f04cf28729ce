/* papi_procpool: the model of Passenger's process pool (the app groups of one instance and their
 * processes, as its core's pool.xml describes them); "pool" alone always means an APR pool.
 * Read from pool.xml with libxml2, it is the one model that processes.json, /metrics and the
 * dashboard are drawn from. Only the fields those views show
 * are kept; <options> (which always carries the group's API key) is never read. */
#ifndef PAPI_PROCPOOL_H
#define PAPI_PROCPOOL_H

#include <apr_pools.h>
#include <apr_tables.h>

/* A number pool.xml did not give (element missing, empty or not an integer). */
#define PAPI_PROCPOOL_NONE APR_INT64_MIN

typedef struct papi_procpool_socket {
    const char *address;            /* tcp://127.0.0.1:39543, unix:/..., as Passenger wrote it */
    const char *protocol;           /* "session", "http", ... */
    const char *description;        /* or NULL */
    apr_int64_t concurrency;
    apr_int64_t sessions;
    int accept_http_requests;       /* 1, 0, or -1 when not given */
} papi_procpool_socket;

typedef struct papi_procpool_process {
    apr_int64_t pid;
    apr_int64_t concurrency;
    apr_int64_t sessions;
    apr_int64_t busyness;
    apr_int64_t processed;          /* requests handled since spawn */
    /* microseconds since the epoch */
    apr_int64_t spawner_creation_time;
    apr_int64_t spawn_start_time;
    apr_int64_t spawn_end_time;
    apr_int64_t last_used;
    apr_int64_t cpu;                /* percent of one CPU, as Passenger measures it */
    /* KiB */
    apr_int64_t rss;
    apr_int64_t pss;
    apr_int64_t private_dirty;
    apr_int64_t swap;
    apr_int64_t real_memory;
    apr_int64_t vmsize;
    apr_int64_t process_group_id;
    int has_metrics;                /* 1, 0, or -1 when not given */
    const char *gupid;              /* NULL when not given, as every string below */
    const char *life_status;        /* ALIVE, SHUTDOWN_TRIGGERED, DEAD */
    const char *enabled;            /* ENABLED, DISABLING, DISABLED, DETACHED */
    const char *code_revision;
    const char *command;
    apr_array_header_t *sockets;    /* papi_procpool_socket *; empty unless secrets=true */
} papi_procpool_process;

typedef struct papi_procpool_group {
    const char *name;               /* "/srv/app (production)" */
    const char *component_name;
    const char *app_root;
    const char *app_type;
    const char *environment;
    const char *uuid;
    const char *life_status;
    const char *user;
    const char *group;
    apr_int64_t uid;
    apr_int64_t gid;
    apr_int64_t enabled_process_count;
    apr_int64_t disabling_process_count;
    apr_int64_t disabled_process_count;
    apr_int64_t capacity_used;
    apr_int64_t get_wait_list_size;     /* requests queued for this group */
    apr_int64_t disable_wait_list_size;
    apr_int64_t processes_being_spawned;
    int is_default;                 /* <group default="true"> */
    int spawning;                   /* <spawning/> present */
    int restarting;                 /* <restarting/> present */
    /* The group's API key, which is also its processes' connect password: only when asked with
     * secrets=true, for the module's own use. No view ever shows it. */
    const char *api_key;
    apr_array_header_t *processes;  /* papi_procpool_process *, in document order */
} papi_procpool_group;

typedef struct papi_procpool {
    const char *passenger_version;
    apr_int64_t group_count;
    apr_int64_t process_count;
    apr_int64_t max;                /* pool size */
    apr_int64_t capacity_used;
    apr_int64_t get_wait_list_size; /* requests in the top-level queue */
    apr_array_header_t *groups;     /* papi_procpool_group *; supergroups flattened, in order */
} papi_procpool;

/* Parses a core's pool.xml answer (xml[0..len), not NUL-terminated) into *pool, allocated from p.
 * No network, no DTD, no entity expansion: a document with a DTD is refused. Returns NULL, or why
 * the document was not accepted. Text comes out as UTF-8: Passenger writes every byte of a
 * string outside [A-Za-z0-9/ _.:+-] as a character reference (&#195;&#169; for a UTF-8 "é") in a
 * document declared ISO-8859-1, so the bytes are put back together, and a string whose bytes
 * are not UTF-8 is read as Latin-1. */
const char *papi_procpool_parse(apr_pool_t *p, const char *xml, apr_size_t len,
                                papi_procpool **procpool);

/* Puts libxml2 in the state the module needs (called once per process, before threads). */
void papi_procpool_init(void);

#endif
