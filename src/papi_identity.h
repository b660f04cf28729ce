/* What /metrics calls a Passenger instance: a name that outlives the instance. Passenger names an
 * instance at random, and Apache starts a new instance (new name, directory, passwords) at every
 * restart, graceful or not: a series labelled with that name would end at each one. An instance
 * is labelled instead by how Passenger runs (properties.json's integration_mode) and the registry
 * directory it was found in, "apache@/var/run/passenger-instreg", which stay the same across
 * restarts of the same web server, or of a Passenger Standalone in its own registry.
 *
 * Two live instances that would share an identity are told apart by their server: the web
 * server's control process for Apache and Nginx (the watchdog's parent, which a graceful restart
 * keeps), the watchdog itself for Standalone. The oldest server keeps the plain identity, the
 * others add its pid ("apache@/tmp#4242"); two instances of one server (the old one lingering
 * while a restart drains it) add the older one's name ("~Ab12Cd34"). */
#ifndef PAPI_IDENTITY_H
#define PAPI_IDENTITY_H

#include "papi_registry.h"

#include <apr_tables.h>

/* What the identity needs of /proc/<pid>/stat. */
typedef struct papi_procstat {
    apr_int64_t ppid;
    apr_uint64_t start;         /* clock ticks since boot */
} papi_procstat;

/* Parses the text of /proc/<pid>/stat (its comm, set by the process itself, may hold any byte,
 * parentheses and spaces included). 1 with *st set, 0 when it is not such a line. */
int papi_procstat_parse(const char *text, apr_size_t len, papi_procstat *st);

/* The identity of every instance in insts (const papi_instance *, good, of distinct names), in
 * the same order (const char *), unique among them. proc is where /proc is ("/proc"; tests give
 * a directory of their own); it is read only for instances whose plain identity is shared. */
apr_array_header_t *papi_identity_assign(apr_pool_t *p, const apr_array_header_t *insts,
                                         const char *proc);

#endif
