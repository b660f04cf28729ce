#include "papi_probes.h"

#include "papi_shm.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <string.h>

#define PAPI_PROBES_NAME_MAX 64     /* instance names are 1-64 letters and digits */

typedef struct papi_probe_slot {
    volatile apr_uint32_t seq;      /* odd while a writer is in it */
    char name[PAPI_PROBES_NAME_MAX + 1];
    apr_int64_t pid;
    papi_probe_result result;
} papi_probe_slot;

struct papi_probes {
    papi_probe_slot *slots;
    apr_uint32_t count;
};

papi_probes *papi_probes_create(apr_pool_t *p, int slots, const char **why)
{
    papi_probes *t = apr_pcalloc(p, sizeof(*t));

    t->slots = papi_shm_zeroed(p, (apr_size_t)slots * sizeof(papi_probe_slot), "probe results",
                               why);
    if (!t->slots)
        return NULL;
    t->count = (apr_uint32_t)slots;
    return t;
}

void papi_probes_put(papi_probes *t, const char *name, apr_int64_t pid,
                     const papi_probe_result *r)
{
    papi_probe_slot *s;
    apr_uint32_t seq;

    if (!t || strlen(name) > PAPI_PROBES_NAME_MAX)
        return;
    s = &t->slots[papi_shm_hash(name, pid) % t->count];
    seq = apr_atomic_read32(&s->seq);
    /* Another writer in the slot: its result is as recent as ours, let it win. */
    if ((seq & 1) || apr_atomic_cas32(&s->seq, seq + 1, seq) != seq)
        return;
    apr_cpystrn(s->name, name, sizeof(s->name));
    s->pid = pid;
    s->result = *r;
    apr_atomic_inc32(&s->seq);
}

int papi_probes_get(const papi_probes *t, const char *name, apr_int64_t pid, apr_time_t now,
                    apr_interval_time_t max_age, papi_probe_result *r)
{
    papi_probe_slot *s, copy;
    apr_uint32_t before;

    if (!t || strlen(name) > PAPI_PROBES_NAME_MAX)
        return 0;
    s = &t->slots[papi_shm_hash(name, pid) % t->count];
    before = papi_shm_seq_begin(&s->seq);
    if (before & 1)
        return 0;
    memcpy(&copy, s, sizeof(copy));
    /* A writer came and went while we copied: what we have may be torn. */
    if (!papi_shm_seq_same(&s->seq, before) || copy.pid != pid || strcmp(copy.name, name))
        return 0;
    if (copy.result.at > now || now - copy.result.at > max_age)
        return 0;
    *r = copy.result;
    r->error[sizeof(r->error) - 1] = '\0';
    return 1;
}
