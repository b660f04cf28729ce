#include "papi_rsshist.h"
#include "papi_procstatus.h"
#include "papi_shm.h"
#include "papi_view.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <string.h>

#define PAPI_RSSHIST_NAME_MAX 64    /* instance names are 1-64 letters and digits */

typedef struct papi_rsshist_slot {
    volatile apr_uint32_t seq;      /* odd while a writer is in it */
    char name[PAPI_RSSHIST_NAME_MAX + 1];
    apr_int64_t pid;
    apr_uint32_t tried;             /* when its /proc was last read, or tried (s since the epoch) */
    apr_uint32_t next;              /* where the next sample goes in ring */
    apr_uint32_t count;             /* samples in ring, up to PAPI_RSSHIST_SAMPLES */
    papi_rss_sample ring[PAPI_RSSHIST_SAMPLES];
} papi_rsshist_slot;

struct papi_rsshist {
    papi_rsshist_slot *slots;
    apr_uint32_t count;
};

papi_rsshist *papi_rsshist_create(apr_pool_t *p, int slots, const char **why)
{
    papi_rsshist *t = apr_pcalloc(p, sizeof(*t));

    t->slots = papi_shm_zeroed(p, (apr_size_t)slots * sizeof(papi_rsshist_slot),
                               "memory histories", why);
    if (!t->slots)
        return NULL;
    t->count = (apr_uint32_t)slots;
    return t;
}

static papi_rsshist_slot *papi_rsshist_slot_of(const papi_rsshist *t, const char *name,
                                               apr_int64_t pid)
{
    if (!t || strlen(name) > PAPI_RSSHIST_NAME_MAX)
        return NULL;
    return &t->slots[papi_shm_hash(name, pid) % t->count];
}

static int papi_rsshist_owns(const papi_rsshist_slot *s, const char *name, apr_int64_t pid)
{
    return s->pid == pid && !strcmp(s->name, name);
}

/* Whether at least span has passed since at (s since the epoch; 0: never). A time from the future
 * counts as passed: a clock set back must not stop sampling. */
static int papi_rsshist_passed(apr_uint32_t at, apr_time_t now, apr_time_t span)
{
    apr_int64_t sec = apr_time_sec(now);

    return at == 0 || (apr_int64_t)at > sec || sec - (apr_int64_t)at >= apr_time_sec(span);
}

/* Whether s (held by the caller, or a copy) may hold this process's history: it holds it
 * already; or no history, and no other process tried its /proc within PAPI_RSSHIST_EVERY; or a
 * history whose newest sample left the window (a process gone). A live history is never taken
 * over: of two processes that hash to one slot the first keeps its history and the other has
 * none, where taking turns would leave both one sample long and read /proc at every request. */
static int papi_rsshist_may_hold(const papi_rsshist_slot *s, const char *name, apr_int64_t pid,
                                 apr_time_t now)
{
    if (papi_rsshist_owns(s, name, pid))
        return 1;
    if (s->count == 0)
        return papi_rsshist_passed(s->tried, now, PAPI_RSSHIST_EVERY);
    return papi_rsshist_passed(s->ring[(s->next + PAPI_RSSHIST_SAMPLES - 1)
                                       % PAPI_RSSHIST_SAMPLES].at, now, PAPI_RSSHIST_WINDOW);
}

/* Whether this process's /proc is to be read now, per s: its last read (or try) is
 * PAPI_RSSHIST_EVERY old, or PAPI_RSSHIST_RETRY when none ever told anything (a pid /proc does
 * not show: gone, another user's, hidepid), so that neither is read at every request and a
 * process that hashes to the same slot gets its turn in between. */
static int papi_rsshist_is_due(const papi_rsshist_slot *s, const char *name, apr_int64_t pid,
                               apr_time_t now)
{
    if (!papi_rsshist_owns(s, name, pid))
        return 1;
    return papi_rsshist_passed(s->tried, now, s->count ? PAPI_RSSHIST_EVERY : PAPI_RSSHIST_RETRY);
}

int papi_rsshist_due(const papi_rsshist *t, const char *name, apr_int64_t pid, apr_time_t now)
{
    papi_rsshist_slot *s = papi_rsshist_slot_of(t, name, pid);
    apr_uint32_t before;
    int due;

    if (!s)
        return 0;
    before = papi_shm_seq_begin(&s->seq);
    if (before & 1)
        return 0;                   /* another child samples it right now */
    due = papi_rsshist_may_hold(s, name, pid, now) && papi_rsshist_is_due(s, name, pid, now);
    return papi_shm_seq_same(&s->seq, before) && due;
}

void papi_rsshist_add(papi_rsshist *t, const char *name, apr_int64_t pid, apr_time_t now,
                      apr_int64_t kb)
{
    papi_rsshist_slot *s = papi_rsshist_slot_of(t, name, pid);
    apr_uint32_t seq;

    if (!s || now < 0)
        return;
    seq = apr_atomic_read32(&s->seq);
    /* Another writer in the slot: its sample is as recent as ours, let it win. */
    if ((seq & 1) || apr_atomic_cas32(&s->seq, seq + 1, seq) != seq)
        return;
    if (!papi_rsshist_may_hold(s, name, pid, now)) {
        apr_atomic_inc32(&s->seq);
        return;
    }
    if (!papi_rsshist_owns(s, name, pid)) {
        /* Another process had the slot, gone by now (or none did): its history goes with it. */
        apr_cpystrn(s->name, name, sizeof(s->name));
        s->pid = pid;
        s->tried = s->next = s->count = 0;
    }
    if (papi_rsshist_is_due(s, name, pid, now)) {
        s->tried = (apr_uint32_t)apr_time_sec(now);
        if (kb >= 0 && kb <= APR_UINT32_MAX) {
            s->ring[s->next] = (papi_rss_sample){ s->tried, (apr_uint32_t)kb };
            s->next = (s->next + 1) % PAPI_RSSHIST_SAMPLES;
            if (s->count < PAPI_RSSHIST_SAMPLES)
                s->count++;
        }
    }
    apr_atomic_inc32(&s->seq);
}

int papi_rsshist_get(const papi_rsshist *t, const char *name, apr_int64_t pid, apr_time_t now,
                     papi_rss_sample *out)
{
    papi_rsshist_slot *s = papi_rsshist_slot_of(t, name, pid), copy;
    apr_int64_t sec = apr_time_sec(now), since = sec - apr_time_sec(PAPI_RSSHIST_WINDOW);
    apr_uint32_t before, i, count;
    int n = 0;

    if (!s)
        return 0;
    before = papi_shm_seq_begin(&s->seq);
    if (before & 1)
        return 0;
    memcpy(&copy, s, sizeof(copy));
    /* A writer came and went while we copied: what we have may be torn. */
    if (!papi_shm_seq_same(&s->seq, before) || copy.pid != pid
        || strncmp(copy.name, name, sizeof(copy.name)))
        return 0;
    count = copy.count > PAPI_RSSHIST_SAMPLES ? PAPI_RSSHIST_SAMPLES : copy.count;
    for (i = 0; i < count; i++) {
        const papi_rss_sample *x =
            &copy.ring[(copy.next % PAPI_RSSHIST_SAMPLES + PAPI_RSSHIST_SAMPLES - count + i)
                       % PAPI_RSSHIST_SAMPLES];
        if ((apr_int64_t)x->at > since && (apr_int64_t)x->at <= sec)
            out[n++] = *x;
    }
    return n;
}

void papi_rsshist_sample(papi_rsshist *t, apr_pool_t *p, const apr_array_header_t *views,
                         apr_time_t now, const char *proc)
{
    int i, j, k;

    for (i = 0; t && i < views->nelts; i++) {
        const papi_view *v = &APR_ARRAY_IDX(views, i, papi_view);
        for (j = 0; v->procpool && j < v->procpool->groups->nelts; j++) {
            const papi_procpool_group *g =
                APR_ARRAY_IDX(v->procpool->groups, j, const papi_procpool_group *);
            for (k = 0; k < g->processes->nelts; k++) {
                apr_int64_t pid = APR_ARRAY_IDX(g->processes, k, const papi_procpool_process *)->pid;
                if (papi_rsshist_due(t, v->inst->name, pid, now))
                    papi_rsshist_add(t, v->inst->name, pid, now,
                                     papi_procstatus_rss(p, proc, pid, g->uid));
            }
        }
    }
}
