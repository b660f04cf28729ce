/* papi_procpool: the model of Passenger's process pool (the app groups of one instance and their
 * processes, as its core's pool.xml describes them); "pool" alone always means an APR pool.
 * Read from pool.xml with papi_xml, it is the one model that processes.json, /metrics and the
 * dashboard are drawn from. Only the fields those views show are kept; <options> (which always
 * carries the group's API key) is never read. */
#ifndef PAPI_PROCPOOL_H
#define PAPI_PROCPOOL_H

#include <apr_pools.h>
#include <apr_tables.h>

/* A number pool.xml did not give (element missing, empty or not an integer). */
#define PAPI_PROCPOOL_NONE APR_INT64_MIN

/* pool.xml's fields, said once: the structs below, the parser's tables (and from them the new
 * objects of papi_procpool_new and its kin, which the unit tests' builders use too) and
 * processes.json are all made from these lists, X(name, kind), in the order processes.json
 * writes them. Every kind but DERIVED is a child element of that name read into the member of
 * that name: STRING (const char *, NULL when not given), NUMBER (apr_int64_t, PAPI_PROCPOOL_NONE
 * when not given), FLAG (int: true/1 is 1, false/0 is 0, else -1), PRESENT (int: 1 when the
 * element is there, as <spawning/>), SECRET (a STRING no view ever shows). DERIVED is no member:
 * a name processes.json writes from something else (an attribute, a computation, a list). */
#define PAPI_PROCPOOL_SOCKET_FIELDS(X) \
    X(address, STRING)              /* tcp://127.0.0.1:39543, unix:/..., as Passenger wrote it */ \
    X(protocol, STRING)             /* "session", "http", ... */ \
    X(description, STRING) \
    X(concurrency, NUMBER) \
    X(sessions, NUMBER) \
    X(accept_http_requests, FLAG)

#define PAPI_PROCPOOL_PROCESS_FIELDS(X) \
    X(pid, NUMBER) \
    X(gupid, STRING) \
    X(concurrency, NUMBER) \
    X(sessions, NUMBER) \
    X(busyness, NUMBER) \
    X(processed, NUMBER)            /* requests handled since spawn */ \
    X(cpu, NUMBER)                  /* percent of one CPU, as Passenger measures it */ \
    X(rss, NUMBER)                  /* this and the five below: KiB */ \
    X(pss, NUMBER) \
    X(private_dirty, NUMBER) \
    X(swap, NUMBER) \
    X(real_memory, NUMBER) \
    X(vmsize, NUMBER) \
    X(spawner_creation_time, NUMBER) /* this and the three below: microseconds since the epoch */ \
    X(spawn_start_time, NUMBER) \
    X(spawn_end_time, NUMBER) \
    X(last_used, NUMBER) \
    X(uptime, DERIVED)              /* seconds since spawn_end_time */ \
    X(life_status, STRING)          /* ALIVE, SHUTDOWN_TRIGGERED, DEAD */ \
    X(enabled, STRING)              /* ENABLED, DISABLING, DISABLED, DETACHED */ \
    X(has_metrics, FLAG) \
    X(code_revision, STRING) \
    X(process_group_id, NUMBER) \
    X(command, STRING) \
    X(last_probe, DERIVED)          /* from papi_probes */ \
    X(requests_in_flight, DERIVED)  /* how many, from server.json (papi_inflight) */ \
    X(rss_history, DERIVED)         /* [[seconds since the epoch, kB], ...] from papi_rsshist */

#define PAPI_PROCPOOL_GROUP_FIELDS(X) \
    X(name, STRING)                 /* "/srv/app (production)" */ \
    X(component_name, STRING) \
    X(default, DERIVED)             /* is_default */ \
    X(app_root, STRING) \
    X(app_type, STRING) \
    X(environment, STRING) \
    X(uuid, STRING) \
    X(life_status, STRING) \
    X(user, STRING) \
    X(uid, NUMBER) \
    X(group, STRING) \
    X(gid, NUMBER) \
    X(enabled_process_count, NUMBER) \
    X(disabling_process_count, NUMBER) \
    X(disabled_process_count, NUMBER) \
    X(capacity_used, NUMBER) \
    X(get_wait_list_size, NUMBER)   /* requests queued for this group */ \
    X(disable_wait_list_size, NUMBER) \
    X(processes_being_spawned, NUMBER) \
    X(spawning, PRESENT) \
    X(restarting, PRESENT) \
    X(api_key, SECRET)              /* also its processes' connect password: secrets=true only */ \
    X(processes, DERIVED)           /* the list below */

#define PAPI_PROCPOOL_INFO_FIELDS(X) \
    X(passenger_version, STRING) \
    X(max, NUMBER)                  /* pool size */ \
    X(process_count, NUMBER) \
    X(group_count, NUMBER) \
    X(capacity_used, NUMBER) \
    X(get_wait_list_size, NUMBER)   /* requests in the top-level queue */ \
    X(app_groups, DERIVED)          /* groups */

/* A struct member per field: PAPI_PROCPOOL_MEMBER_<kind>(name). */
#define PAPI_PROCPOOL_MEMBER(name, kind) PAPI_PROCPOOL_MEMBER_##kind(name)
#define PAPI_PROCPOOL_MEMBER_STRING(name) const char *name;
#define PAPI_PROCPOOL_MEMBER_SECRET(name) const char *name;
#define PAPI_PROCPOOL_MEMBER_NUMBER(name) apr_int64_t name;
#define PAPI_PROCPOOL_MEMBER_FLAG(name) int name;
#define PAPI_PROCPOOL_MEMBER_PRESENT(name) int name;
#define PAPI_PROCPOOL_MEMBER_DERIVED(name)

typedef struct papi_procpool_socket {
    PAPI_PROCPOOL_SOCKET_FIELDS(PAPI_PROCPOOL_MEMBER)
} papi_procpool_socket;

typedef struct papi_procpool_process {
    PAPI_PROCPOOL_PROCESS_FIELDS(PAPI_PROCPOOL_MEMBER)
    apr_array_header_t *sockets;    /* papi_procpool_socket *; empty unless secrets=true */
} papi_procpool_process;

typedef struct papi_procpool_group {
    PAPI_PROCPOOL_GROUP_FIELDS(PAPI_PROCPOOL_MEMBER)
    int is_default;                 /* <group default="true"> */
    apr_array_header_t *processes;  /* papi_procpool_process *, in document order */
} papi_procpool_group;

typedef struct papi_procpool {
    PAPI_PROCPOOL_INFO_FIELDS(PAPI_PROCPOOL_MEMBER)
    apr_array_header_t *groups;     /* papi_procpool_group *; supergroups flattened, in order */
} papi_procpool;

/* Parses a core's pool.xml answer (xml[0..len), not NUL-terminated) into *procpool, allocated
 * from p. No network, no DTD, no entity expansion: a document with a DTD is refused. Returns NULL,
 * or why the document was not accepted. Text comes out as UTF-8: Passenger writes every byte of a
 * string outside [A-Za-z0-9/ _.:+-] as a character reference (&#195;&#169; for a UTF-8 "é") in a
 * document declared ISO-8859-1, so the bytes are put back together, and a string whose bytes
 * are not UTF-8 is read as Latin-1. */
const char *papi_procpool_parse(apr_pool_t *p, const char *xml, apr_size_t len,
                                papi_procpool **procpool);

/* A new procpool, group, process or socket (allocated from p) as the parser starts each: every
 * field "not given", as when pool.xml has no such element, and its list empty. */
papi_procpool *papi_procpool_new(apr_pool_t *p);
papi_procpool_group *papi_procpool_group_new(apr_pool_t *p);
papi_procpool_process *papi_procpool_process_new(apr_pool_t *p);
papi_procpool_socket *papi_procpool_socket_new(apr_pool_t *p);

#endif
