#include "papi_stats.h"
#include "papi_shm.h"

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <string.h>

/* The last scan: written whole under a sequence number that is odd while a writer is in it. */
typedef struct papi_stats_scan {
    volatile apr_uint32_t seq;
    apr_time_t at;
    apr_uint32_t instances[PAPI_STATS_STATES];
} papi_stats_scan;

typedef struct papi_stats_shared {
    volatile apr_uint64_t counter[PAPI_STAT_COUNTERS];
    volatile apr_uint32_t helper;   /* papi_helper_state, written by the parent only */
    papi_stats_scan scan;
} papi_stats_shared;

struct papi_stats {
    papi_stats_shared *shared;
};

/* Each state's name in the section: the words of instances.json, and the keys of ?auto. */
static const char *const papi_state_words[PAPI_STATS_STATES] = {
    "good", "not finalized", "corrupted", "unsupported", "stale", "untrusted", "uninspected"
};
static const char *const papi_state_keys[PAPI_STATS_STATES] = {
    "Good", "NotFinalized", "Corrupted", "Unsupported", "Stale", "Untrusted", "Uninspected"
};
static const char *const papi_helper_words[] = { "none", "up", "down" };

papi_stats *papi_stats_create(apr_pool_t *p, const char **why)
{
    papi_stats *s = apr_pcalloc(p, sizeof(*s));
    apr_shm_t *shm;
    apr_status_t rv;
    char buf[120];

    if ((rv = apr_shm_create(&shm, sizeof(papi_stats_shared), NULL, p)) != APR_SUCCESS) {
        *why = apr_pstrcat(p, "cannot make shared memory for the status counters: ",
                           apr_strerror(rv, buf, sizeof(buf)), NULL);
        return NULL;
    }
    s->shared = apr_shm_baseaddr_get(shm);
    memset(s->shared, 0, sizeof(*s->shared));
    return s;
}

void papi_stats_add(papi_stats *s, papi_stat which, apr_uint64_t n)
{
    if (s && n)
        apr_atomic_add64(&s->shared->counter[which], n);
}

void papi_stats_set_helper(papi_stats *s, papi_helper_state state)
{
    if (s)
        apr_atomic_set32(&s->shared->helper, (apr_uint32_t)state);
}

void papi_stats_scanned(papi_stats *s, const apr_array_header_t *instances, apr_time_t now)
{
    apr_uint32_t counts[PAPI_STATS_STATES] = { 0 }, seq;
    papi_stats_scan *scan;
    int i;

    if (!s)
        return;
    for (i = 0; i < instances->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(instances, i, const papi_instance *);
        if (papi_instance_is_summary(inst)) {
            counts[PAPI_INST_UNTRUSTED] += (apr_uint32_t)inst->more_untrusted;
            counts[PAPI_STATS_UNINSPECTED] += (apr_uint32_t)inst->more_uninspected;
        }
        else
            counts[inst->state]++;
    }
    scan = &s->shared->scan;
    seq = apr_atomic_read32(&scan->seq);
    if ((seq & 1) || apr_atomic_cas32(&scan->seq, seq + 1, seq) != seq)
        return;
    scan->at = now;
    memcpy(scan->instances, counts, sizeof(counts));
    apr_atomic_inc32(&scan->seq);
}

/* A copy of the last scan that no writer tore; zeros when none could be had. */
static void papi_stats_read_scan(const papi_stats_scan *scan, papi_stats_view *v)
{
    apr_uint32_t before;
    int tries;

    for (tries = 0; tries < 100; tries++) {
        before = papi_shm_seq_begin(&scan->seq);
        if (before & 1)
            continue;
        v->scanned_at = scan->at;
        memcpy(v->instances, scan->instances, sizeof(v->instances));
        if (papi_shm_seq_same(&scan->seq, before))
            return;
    }
    v->scanned_at = 0;
    memset(v->instances, 0, sizeof(v->instances));
}

void papi_stats_read(const papi_stats *s, papi_stats_view *v)
{
    int i;

    memset(v, 0, sizeof(*v));
    if (!s)
        return;
    for (i = 0; i < PAPI_STAT_COUNTERS; i++)
        v->counter[i] = apr_atomic_read64((volatile apr_uint64_t *)&s->shared->counter[i]);
    v->helper = (papi_helper_state)apr_atomic_read32((volatile apr_uint32_t *)&s->shared->helper);
    if (v->helper > PAPI_HELPER_DOWN)
        v->helper = PAPI_HELPER_NONE;
    papi_stats_read_scan(&s->shared->scan, v);
}

static void papi_stats_write_auto(papi_buf *b, const papi_stats_view *v, apr_time_t now)
{
    int i;

    for (i = 0; i < PAPI_STATS_STATES; i++)
        papi_buf_printf(b, "PassengerApiInstances%s: %u\n", papi_state_keys[i], v->instances[i]);
    if (v->scanned_at)
        papi_buf_printf(b, "PassengerApiLastScanAge: %" APR_INT64_T_FMT "\n",
                        (apr_int64_t)apr_time_sec(now > v->scanned_at ? now - v->scanned_at : 0));
    papi_buf_printf(b, "PassengerApiHelper: %s\n", papi_helper_words[v->helper]);
    papi_buf_printf(b, "PassengerApiHelperRestarts: %" APR_UINT64_T_FMT "\n",
                    v->counter[PAPI_STAT_HELPER_RESTARTS]);
    papi_buf_printf(b, "PassengerApiCoreCalls: %" APR_UINT64_T_FMT "\n",
                    v->counter[PAPI_STAT_CORE_CALLS]);
    papi_buf_printf(b, "PassengerApiCoreCallsJoined: %" APR_UINT64_T_FMT "\n",
                    v->counter[PAPI_STAT_CALLS_JOINED]);
    papi_buf_printf(b, "PassengerApiInstanceCacheHits: %" APR_UINT64_T_FMT "\n",
                    v->counter[PAPI_STAT_CACHE_HITS]);
    papi_buf_printf(b, "PassengerApiInstanceCacheMisses: %" APR_UINT64_T_FMT "\n",
                    v->counter[PAPI_STAT_CACHE_MISSES]);
}

/* HTML in mod_status's own manner (a rule, a heading, a definition list); every value is a
 * number or one of the words above, so nothing needs escaping. */
static void papi_stats_write_html(papi_buf *b, const papi_stats_view *v, apr_time_t now)
{
    const char *sep = "";
    int i;

    papi_buf_puts(b, "<hr />\n<h2>Passenger API</h2>\n<dl>\n<dt>Counted over every child since "
                  "httpd's last start or restart</dt>\n<dt>Instances, by state, as the last "
                  "scan of any child found them");
    if (v->scanned_at)
        papi_buf_printf(b, " (%" APR_INT64_T_FMT " s ago): ",
                        (apr_int64_t)apr_time_sec(now > v->scanned_at ? now - v->scanned_at : 0));
    else
        papi_buf_puts(b, " (no scan yet): ");
    for (i = 0; i < PAPI_STATS_STATES; i++, sep = ", ")
        papi_buf_printf(b, "%s%u %s", sep, v->instances[i], papi_state_words[i]);
    papi_buf_printf(b, "</dt>\n<dt>Credential helper: %s", v->helper == PAPI_HELPER_NONE
                    ? "none (not needed: httpd does not start as root)"
                    : papi_helper_words[v->helper]);
    papi_buf_printf(b, ", restarted %" APR_UINT64_T_FMT " times</dt>\n",
                    v->counter[PAPI_STAT_HELPER_RESTARTS]);
    papi_buf_printf(b, "<dt>Core calls: %" APR_UINT64_T_FMT " made, %" APR_UINT64_T_FMT
                    " answers joined to another request's call</dt>\n",
                    v->counter[PAPI_STAT_CORE_CALLS], v->counter[PAPI_STAT_CALLS_JOINED]);
    papi_buf_printf(b, "<dt>Instance cache: %" APR_UINT64_T_FMT " hits, %" APR_UINT64_T_FMT
                    " misses (inspected afresh)</dt>\n</dl>\n",
                    v->counter[PAPI_STAT_CACHE_HITS], v->counter[PAPI_STAT_CACHE_MISSES]);
}

void papi_stats_write(papi_buf *b, const papi_stats_view *v, int short_form, apr_time_t now)
{
    if (short_form)
        papi_stats_write_auto(b, v, now);
    else
        papi_stats_write_html(b, v, now);
}
