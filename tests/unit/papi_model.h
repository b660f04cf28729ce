/* Building by hand what the registry scan and pool.xml give the views, for the unit tests: an
 * instance, a procpool, its groups and processes, and the view of one instance. Every number a
 * builder does not take is "not given" (PAPI_PROCPOOL_NONE), as when pool.xml leaves it out; a test
 * sets what it needs. Include after papi_test.h. */
#ifndef PAPI_MODEL_H
#define PAPI_MODEL_H

#include "papi_view.h"

#include <apr_strings.h>
#include <jansson.h>

static inline apr_status_t papi_mk_decref(void *json)
{
    json_decref(json);
    return APR_SUCCESS;
}

/* registry/dirname as the scan finds it in state, with no core.pid. properties (JSON text, or
 * NULL) are freed with p, as papi_properties_parse frees them: a failed assertion then leaks
 * nothing either. */
static inline papi_instance *papi_mk_instance(apr_pool_t *p, const char *registry,
                                              const char *dirname, papi_inst_state state,
                                              const char *name, const char *properties)
{
    papi_instance *inst = apr_pcalloc(p, sizeof(*inst));
    json_error_t err;

    inst->registry = registry;
    inst->dirname = dirname;
    inst->path = apr_pstrcat(p, registry, "/", dirname, NULL);
    inst->state = state;
    inst->name = name;
    inst->core_pid = -1;
    if (properties) {
        inst->properties = json_loads(properties, 0, &err);
        assert_non_null(inst->properties);
        apr_pool_cleanup_register(p, inst->properties, papi_mk_decref, apr_pool_cleanup_null);
    }
    return inst;
}

/* A process with nothing given but its pid, and no socket. */
static inline papi_procpool_process *papi_mk_process(apr_pool_t *p, apr_int64_t pid)
{
    papi_procpool_process *proc = papi_procpool_process_new(p);

    proc->pid = pid;
    return proc;
}

/* An app group with nothing given but its name, and no process. */
static inline papi_procpool_group *papi_mk_group(apr_pool_t *p, const char *name)
{
    papi_procpool_group *g = papi_procpool_group_new(p);

    g->name = name;
    return g;
}

/* A procpool of Passenger version (or NULL) with nothing else given, and no group. */
static inline papi_procpool *papi_mk_procpool(apr_pool_t *p, const char *version)
{
    papi_procpool *pl = papi_procpool_new(p);

    pl->passenger_version = version;
    return pl;
}

/* The view of inst: status 0 (not asked), 200 with pl, or a failure with error. */
static inline void papi_mk_view(apr_array_header_t *views, const papi_instance *inst, int status,
                                const char *error, const papi_procpool *pl)
{
    papi_view *v = apr_array_push(views);

    v->inst = inst;
    v->status = status;
    v->error = error;
    v->procpool = pl;
    v->inflight = NULL;
}

#endif
