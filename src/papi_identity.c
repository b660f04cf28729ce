#include "papi_identity.h"
#include "papi_procstatus.h"

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

/* The fields of /proc/<pid>/stat after "pid (comm)" that are read: the 4th and the 22nd. */
#define PAPI_STAT_PPID 4
#define PAPI_STAT_STARTTIME 22

/* s[0..n) as a decimal number without sign; 0 when it is not one or overflows. */
static int papi_stat_number(const char *s, apr_size_t n, apr_uint64_t *v)
{
    apr_size_t i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i]) || *v > (APR_UINT64_MAX - 9) / 10)
            return 0;
        *v = *v * 10 + (apr_uint64_t)(s[i] - '0');
    }
    return n > 0;
}

/* The state (field 3) is one letter, every field after it a decimal number, maybe negative. */
static int papi_stat_field_ok(const char *s, apr_size_t n, int field)
{
    apr_size_t i = n > 1 && s[0] == '-';

    if (field == 3)
        return n == 1 && apr_isalpha(s[0]);
    for (; i < n; i++)
        if (!apr_isdigit(s[i]))
            return 0;
    return n > 0 && apr_isdigit(s[n - 1]);
}

int papi_procstat_parse(const char *text, apr_size_t len, papi_procstat *st)
{
    apr_size_t i = 0, end;
    apr_uint64_t v;
    int field;

    while (i < len && apr_isdigit(text[i]))
        i++;
    if (i == 0 || len - i < 2 || text[i] != ' ' || text[i + 1] != '(')
        return 0;
    /* comm is whatever the process called itself: the fields start after the last ')'. */
    for (end = len; end > i + 2 && text[end - 1] != ')'; end--)
        ;
    if (end <= i + 2)
        return 0;
    for (i = end, field = 3; field <= PAPI_STAT_STARTTIME; field++) {
        if (i >= len || text[i] != ' ')
            return 0;
        for (end = ++i; end < len && text[end] != ' ' && text[end] != '\n'; end++)
            ;
        if (!papi_stat_field_ok(text + i, end - i, field))
            return 0;
        if (field == PAPI_STAT_PPID) {
            if (!papi_stat_number(text + i, end - i, &v) || v > APR_INT32_MAX)
                return 0;
            st->ppid = (apr_int64_t)v;
        }
        else if (field == PAPI_STAT_STARTTIME) {
            if (!papi_stat_number(text + i, end - i, &v))
                return 0;
            st->start = v;
        }
        i = end;
    }
    return 1;
}

/* /proc/<pid>/stat of a live process and the process's owner; 0 when it cannot be read. */
static int papi_identity_proc(apr_pool_t *p, const char *proc, apr_int64_t pid,
                              papi_procstat *st, uid_t *owner)
{
    char buf[1024];
    long n = papi_proc_read(p, proc, pid, "stat", buf, sizeof(buf), owner);

    return n > 0 && papi_procstat_parse(buf, (apr_size_t)n, st);
}

/* How Passenger runs: properties.json's integration_mode when it is a plain word. */
static const char *papi_identity_mode(const papi_instance *inst)
{
    json_t *v = json_object_get(inst->properties, "integration_mode");
    const char *mode = json_is_string(v) ? json_string_value(v) : "";
    apr_size_t n = strlen(mode), i;

    for (i = 0; i < n && apr_islower(mode[i]); i++)
        ;
    return n > 0 && n <= 32 && i == n ? mode : "passenger";
}

typedef struct papi_contender {
    int index;                  /* in insts */
    const papi_instance *inst;
    int known;                  /* whether server and start are */
    apr_int64_t server;         /* pid of the server it belongs to */
    apr_uint64_t start;         /* when that server started */
    apr_int64_t created;        /* the instance's own creation, monotonic µs; 0 unknown */
} papi_contender;

/* The server an instance belongs to, from its watchdog (properties.json's watchdog_pid, only
 * if that process is the instance owner's): the watchdog's parent, or for Standalone, whose
 * watchdog is a daemon, the watchdog itself. */
static void papi_identity_server(apr_pool_t *p, const char *proc, papi_contender *c)
{
    json_t *dir = json_object_get(c->inst->properties, "instance_dir");
    json_t *wpid = json_object_get(c->inst->properties, "watchdog_pid");
    json_t *created = json_object_get(dir, "created_at_monotonic_usec");
    papi_procstat watchdog, server;
    uid_t owner, ignored;

    c->created = json_is_integer(created) ? json_integer_value(created) : 0;
    if (!json_is_integer(wpid)
        || !papi_identity_proc(p, proc, json_integer_value(wpid), &watchdog, &owner)
        || owner != c->inst->owner)
        return;
    if (!strcmp(papi_identity_mode(c->inst), "standalone")) {
        c->server = json_integer_value(wpid);
        c->start = watchdog.start;
        c->known = 1;
    }
    /* A parent of 1 is init: the server is gone and the watchdog was left behind. */
    else if (watchdog.ppid > 1 && papi_identity_proc(p, proc, watchdog.ppid, &server, &ignored)) {
        c->server = watchdog.ppid;
        c->start = server.start;
        c->known = 1;
    }
}

/* Servers known first, the oldest first (then by pid); instances of one server newest first,
 * as the newest is the one a restart leaves; then by name. */
static int papi_contender_order(const void *x, const void *y)
{
    const papi_contender *a = x, *b = y;

    if (a->known != b->known)
        return a->known ? -1 : 1;
    if (a->known && a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->known && a->server != b->server)
        return a->server < b->server ? -1 : 1;
    if (a->created != b->created)
        return a->created > b->created ? -1 : 1;
    return strcmp(a->inst->name, b->inst->name);
}

/* want, or if another instance has it already, want with the instance's name added (names are
 * unique among insts, so this ends). */
static const char *papi_identity_take(apr_pool_t *p, apr_hash_t *taken, const char *want,
                                      const char *name)
{
    while (apr_hash_get(taken, want, APR_HASH_KEY_STRING))
        want = apr_pstrcat(p, want, "~", name, NULL);
    apr_hash_set(taken, want, APR_HASH_KEY_STRING, want);
    return want;
}

/* The instances from insts whose plain identity is base, ranked, each given its identity. */
static void papi_identity_contest(apr_pool_t *p, const apr_array_header_t *insts,
                                  const char **bases, const char *base, const char *proc,
                                  apr_hash_t *taken, const char **ids)
{
    papi_contender *cs = apr_pcalloc(p, insts->nelts * sizeof(*cs));
    apr_hash_t *servers = apr_hash_make(p);
    int i, n = 0;

    for (i = 0; i < insts->nelts; i++) {
        if (strcmp(bases[i], base))
            continue;
        cs[n].index = i;
        cs[n].inst = APR_ARRAY_IDX(insts, i, const papi_instance *);
        papi_identity_server(p, proc, &cs[n++]);
    }
    qsort(cs, n, sizeof(*cs), papi_contender_order);
    for (i = 0; i < n; i++) {
        const char *want = base, *pid = apr_psprintf(p, "%" APR_INT64_T_FMT, cs[i].server);
        if (i > 0 && cs[i].known && !apr_hash_get(servers, pid, APR_HASH_KEY_STRING))
            want = apr_pstrcat(p, base, "#", pid, NULL);
        else if (i > 0)
            want = apr_pstrcat(p, base, "~", cs[i].inst->name, NULL);
        if (cs[i].known)
            apr_hash_set(servers, pid, APR_HASH_KEY_STRING, pid);
        ids[cs[i].index] = papi_identity_take(p, taken, want, cs[i].inst->name);
    }
}

apr_array_header_t *papi_identity_assign(apr_pool_t *p, const apr_array_header_t *insts,
                                         const char *proc)
{
    apr_array_header_t *out = apr_array_make(p, insts->nelts ? insts->nelts : 1, sizeof(char *));
    const char **bases = apr_pcalloc(p, (insts->nelts + 1) * sizeof(*bases));
    const char **ids = apr_pcalloc(p, (insts->nelts + 1) * sizeof(*ids));
    apr_hash_t *count = apr_hash_make(p), *taken = apr_hash_make(p);
    int i;

    for (i = 0; i < insts->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(insts, i, const papi_instance *);
        bases[i] = apr_pstrcat(p, papi_identity_mode(inst), "@", inst->registry, NULL);
        apr_hash_set(count, bases[i], APR_HASH_KEY_STRING,
                     apr_hash_get(count, bases[i], APR_HASH_KEY_STRING) ? "many" : "one");
    }
    /* A plain identity no other instance shares is theirs whatever else the registries hold. */
    for (i = 0; i < insts->nelts; i++)
        if (!strcmp(apr_hash_get(count, bases[i], APR_HASH_KEY_STRING), "one"))
            ids[i] = papi_identity_take(p, taken, bases[i],
                                        APR_ARRAY_IDX(insts, i, const papi_instance *)->name);
    for (i = 0; i < insts->nelts; i++)
        if (!ids[i])
            papi_identity_contest(p, insts, bases, bases[i], proc, taken, ids);
    for (i = 0; i < insts->nelts; i++)
        APR_ARRAY_PUSH(out, const char *) = ids[i];
    return out;
}
