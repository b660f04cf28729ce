#include "papi_fanout.h"
#include "papi_answer.h"
#include "papi_coalesce.h"
#include "papi_log.h"
#include "papi_redact.h"

#include <apr_strings.h>
#include <string.h>
#include <unistd.h>

/* The credential for inst: kept from an earlier request (*kept set), else read or asked for,
 * and kept for the next ones. */
static const char *papi_password_for(apr_pool_t *p, const papi_fanout_config *cfg,
                                     const papi_instance *inst, apr_time_t deadline,
                                     const char **password, int *kept)
{
    const char *why, *user = papi_cred_user(cfg->level);
    int own;

    if ((*password = papi_instcache_password(cfg->cache, p, inst, cfg->level)) != NULL) {
        *kept = 1;
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "instance %s: its %s password is kept",
                 inst->name, user);
        return NULL;
    }
    *kept = 0;
    /* This process may read the files itself: it is the instance's owner (or has no helper). */
    own = inst->owner == geteuid() || !cfg->helper_socket;
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "instance %s: no %s password kept: %s", inst->name,
             user, own ? "read from its directory" : "asked of the credential helper");
    if (own)
        why = papi_cred_read(p, inst, cfg->level, password);
    else
        why = papi_cred_ask(p, cfg->helper_socket, cfg->level, inst->registry, inst->dirname,
                            deadline, password);
    if (!why)
        papi_instcache_keep_password(cfg->cache, inst, cfg->level, *password);
    return why;
}

/* Read-only mode never lets a secret through, whichever route the answer takes. */
static void papi_scrub(apr_pool_t *p, const papi_core_request *req, papi_exchange_result *res)
{
    const char *path = apr_pstrmemdup(p, req->path, strcspn(req->path, "?"));

    res->resp->body = (char *)papi_redact(p, path, res->resp->body, res->resp->body_len,
                                          &res->resp->body_len);
}

apr_time_t papi_fanout_deadline(const papi_fanout_config *cfg)
{
    apr_time_t deadline = apr_time_now() + cfg->timeout;

    return deadline < cfg->request_deadline ? deadline : cfg->request_deadline;
}

/* One instance's call within a request. */
typedef struct papi_ask {
    const papi_instance *inst;
    papi_exchange_result *res;          /* its outcome */
    apr_time_t deadline;
    papi_coalesce_turn turn;
    papi_coalesce_role role;
    int kept;                       /* its credential is an earlier request's */
} papi_ask;

/* The name of the answer a call gives, for joining identical calls: only a request that reads
 * (GET or HEAD, no body) gives the same answer twice. NULL when the call is not to be joined. */
static const char *papi_call_key(apr_pool_t *p, const papi_fanout_config *cfg,
                                 const papi_instance *inst, const papi_core_request *req)
{
    const papi_http_limits *l = cfg->limits ? cfg->limits : &papi_http_default_limits;

    if (!cfg->coalesce || req->body || (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")))
        return NULL;
    return apr_psprintf(p, "%s\n%lu:%lu:%ld\n%d:%" APR_SIZE_T_FMT ":%" APR_SIZE_T_FMT ":%d\n%s %s",
                        inst->path, (unsigned long)inst->dev, (unsigned long)inst->ino,
                        (long)inst->owner, (int)cfg->level, l->max_body, l->max_header_bytes,
                        l->max_headers, req->method, req->path);
}

/* Everything before the call itself: the socket path (through the instance's agents.s as it was
 * inspected), the credential (an earlier request's when kept) and an idle connection for a
 * request that may be sent twice, into an exchange x ready to run. Returns 0 with the outcome set
 * when the instance cannot be asked. */
static int papi_fanout_prepare(apr_pool_t *p, const papi_fanout_config *cfg, papi_ask *a,
                               const papi_core_request *req, papi_exchange *x)
{
    const char *why = NULL, *socket_path;
    int agents_fd = papi_instcache_agents(cfg->cache, p, a->inst, &why);
    papi_core_request mine = *req;

    if (agents_fd < 0) {
        *a->res = (papi_exchange_result){ 502, apr_pstrcat(p, "the core socket cannot be reached: ",
                                                           why, NULL), NULL };
        return 0;
    }
    if (!(socket_path = papi_instance_core_socket(p, a->inst, agents_fd))) {
        *a->res = (papi_exchange_result){ 502, "the core socket path is too long for a Unix socket "
                                           "address", NULL };
        return 0;
    }
    if ((why = papi_password_for(p, cfg, a->inst, a->deadline, &mine.password, &a->kept))) {
        *a->res = (papi_exchange_result){ 502, apr_pstrcat(p, "credential unavailable: ", why, NULL),
                                      NULL };
        return 0;
    }
    mine.user = papi_cred_user(cfg->level);
    papi_core_exchange(p, x, socket_path, a->inst->owner, &mine, a->deadline, cfg->limits);
    x->keep_alive = cfg->cache != NULL;
    if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))
        x->reuse_fd = papi_instcache_take_connection(cfg->cache, a->inst);
    papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "instance %s: %s %s on %s", a->inst->name,
             req->method, req->path, x->reuse_fd >= 0 ? "a kept connection" : "a new connection");
    return 1;
}

/* The outcome of a call this request made: the connection kept for the next request, the answer
 * given to the requests waiting for it, and a kept credential the core refused forgotten. */
static void papi_fanout_answered(const papi_fanout_config *cfg, papi_ask *a, papi_exchange *x)
{
    papi_instcache_give_connection(cfg->cache, a->inst, x->kept_fd);
    x->kept_fd = -1;
    *a->res = x->res;
    papi_coalesce_done(cfg->coalesce, &a->turn, a->res->failure ? NULL : a->res->resp);
    if (!a->res->failure && a->res->resp->status == 401 && a->kept)
        papi_instcache_keep_password(cfg->cache, a->inst, cfg->level, NULL);
}

/* Makes the calls of asks[0..n-1], all at once. */
static void papi_fanout_run(apr_pool_t *p, const papi_fanout_config *cfg, papi_ask **asks, int n,
                            const papi_core_request *req)
{
    papi_exchange *xs = apr_pcalloc(p, (n + 1) * sizeof(*xs));
    papi_ask **made = apr_pcalloc(p, (n + 1) * sizeof(*made));
    int i, nx = 0;

    for (i = 0; i < n; i++) {
        if (papi_fanout_prepare(p, cfg, asks[i], req, &xs[nx]))
            made[nx++] = asks[i];
        else
            papi_coalesce_done(cfg->coalesce, &asks[i]->turn, NULL);
    }
    papi_exchange_run(p, xs, nx);
    papi_stats_add(cfg->stats, PAPI_STAT_CORE_CALLS, (apr_uint64_t)nx);
    for (i = 0; i < nx; i++)
        papi_fanout_answered(cfg, made[i], &xs[i]);
}

/* A call another request is making: its answer, or the deadline, set as a's outcome. */
static void papi_fanout_followed(const papi_fanout_config *cfg, papi_ask *a,
                                 papi_http_response *resp)
{
    if (a->role == PAPI_TURN_ANSWERED) {
        *a->res = (papi_exchange_result){ 0, NULL, resp };
        papi_stats_add(cfg->stats, PAPI_STAT_CALLS_JOINED, 1);
        papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "instance %s: answered by a call another "
                 "request made", a->inst->name);
    }
    else if (a->role == PAPI_TURN_TIMEOUT)
        *a->res = (papi_exchange_result){ 504, "deadline passed while waiting for the same call, "
                                           "made by another request", NULL };
}

/* The calls of asks[0..n-1]: those this request leads at once; then those it waits for, taking
 * their answers, or making the calls itself when the ones it waited for gave none. Those it
 * makes are made together, never one after the other, and it never waits while it owes a call
 * to others, so every wait and every call ends by the instance's own deadline. Scrubbed in
 * read-only mode, whichever route the answer took. A request whose answer is known (req->known)
 * is never sent: every instance gets that answer. */
static void papi_fanout_ask(apr_pool_t *p, const papi_fanout_config *cfg, papi_ask *asks, int n,
                            const papi_core_request *req)
{
    papi_ask **lead;
    papi_http_response *resp;
    int i, nl = 0;

    if (req->known) {
        for (i = 0; i < n; i++)
            asks[i].res->resp = (papi_http_response *)req->known;
        return;
    }
    lead = apr_pcalloc(p, (n + 1) * sizeof(*lead));
    for (i = 0; i < n; i++) {
        const char *key = papi_call_key(p, cfg, asks[i].inst, req);
        asks[i].role = key ? papi_coalesce_join(cfg->coalesce, key, &asks[i].turn) : PAPI_TURN_LEAD;
        if (asks[i].role == PAPI_TURN_LEAD)
            lead[nl++] = &asks[i];
        else
            papi_log(PAPI_LOG_MARK, PAPI_LOG_TRACE1, 0, "instance %s: %s %s joined: the same call "
                     "is in flight, this request waits for the next one", asks[i].inst->name,
                     req->method, req->path);
    }
    for (;;) {
        papi_ask *blocked = NULL;
        if (nl) {
            papi_fanout_run(p, cfg, lead, nl, req);
            nl = 0;
        }
        for (i = 0; i < n; i++) {
            papi_ask *a = &asks[i];
            if (a->role != PAPI_TURN_WAIT)
                continue;
            /* Alone, it has nothing else to do: it waits at once (one look at the call less). */
            a->role = papi_coalesce_wait(cfg->coalesce, &a->turn, p, a->deadline, n == 1, &resp);
            papi_fanout_followed(cfg, a, resp);
            if (a->role == PAPI_TURN_LEAD)
                lead[nl++] = a;
            else if (a->role == PAPI_TURN_WAIT && !blocked)
                blocked = a;
        }
        if (nl)
            continue;
        if (!blocked)
            break;
        blocked->role = papi_coalesce_wait(cfg->coalesce, &blocked->turn, p, blocked->deadline, 1,
                                           &resp);
        papi_fanout_followed(cfg, blocked, resp);
        if (blocked->role == PAPI_TURN_LEAD)
            lead[nl++] = blocked;
    }
    for (i = 0; cfg->redact && i < n; i++)
        if (!asks[i].res->failure)
            papi_scrub(p, req, asks[i].res);
}

void papi_fanout_call(apr_pool_t *p, const papi_fanout_config *cfg, const papi_instance *inst,
                      const papi_core_request *req, papi_exchange_result *res)
{
    papi_ask a = { inst, res, papi_fanout_deadline(cfg), { NULL, 0, 0 }, PAPI_TURN_LEAD, 0 };

    papi_fanout_ask(p, cfg, &a, 1, req);
}

static void papi_note(apr_array_header_t *failures, const char *what)
{
    if (failures)
        APR_ARRAY_PUSH(failures, const char *) = what;
}

/* The element of an instance that is not asked (the cap, or the request's deadline), or NULL
 * when it may be. */
static const char *papi_not_asked(apr_pool_t *p, const papi_fanout_config *cfg, int nth,
                                  int *failure)
{
    if (nth > cfg->max_instances) {
        *failure = 503;
        return apr_psprintf(p, "not asked: more than %d good instances in one request "
                            "(PassengerApiMaxInstances)", cfg->max_instances);
    }
    if (apr_time_now() >= cfg->request_deadline) {
        *failure = 504;
        return "not asked: the request's deadline (PassengerApiRequestTimeout) had passed";
    }
    return NULL;
}

/* Credentials first, one instance after the other (local and quick, each bounded by its
 * deadline); then every core at once, so a hung one costs its own deadline only. */
apr_array_header_t *papi_fanout_collect(apr_pool_t *p, const papi_fanout_config *cfg,
                                        const apr_array_header_t *instances,
                                        const papi_core_request *req, apr_array_header_t *failures)
{
    apr_array_header_t *results = apr_array_make(p, instances->nelts + 1,
                                                 sizeof(papi_fanout_result));
    papi_ask *asks = apr_pcalloc(p, (instances->nelts + 1) * sizeof(*asks));
    char *asked = apr_pcalloc(p, instances->nelts + 1);                    /* by result */
    int i, n = 0, too_many = 0, too_late = 0;

    for (i = 0; i < instances->nelts; i++) {
        const papi_instance *inst = APR_ARRAY_IDX(instances, i, const papi_instance *);
        papi_fanout_result *out;
        if (inst->state != PAPI_INST_GOOD)
            continue;
        out = apr_array_push(results);
        out->inst = inst;
        out->res = (papi_exchange_result){ 0, NULL, NULL };
        if ((out->res.error = papi_not_asked(p, cfg, results->nelts, &out->res.failure))) {
            too_many += out->res.failure == 503;
            too_late += out->res.failure == 504;
            continue;
        }
        asked[results->nelts - 1] = 1;
        asks[n].inst = inst;
        asks[n].res = &out->res;    /* results never grows past instances->nelts: no move */
        asks[n++].deadline = papi_fanout_deadline(cfg);
    }
    papi_fanout_ask(p, cfg, asks, n, req);
    for (i = 0; i < results->nelts; i++) {
        const papi_fanout_result *one = &APR_ARRAY_IDX(results, i, papi_fanout_result);
        if (asked[i] && one->res.failure)
            papi_note(failures, apr_psprintf(p, "instance %s (%s): %d %s", one->inst->name,
                                             one->inst->path, one->res.failure, one->res.error));
    }
    if (too_many)
        papi_note(failures, apr_psprintf(p, "%d instances not asked: more than %d good instances in "
                                         "one request (PassengerApiMaxInstances)", too_many,
                                         cfg->max_instances));
    if (too_late)
        papi_note(failures, apr_psprintf(p, "%d instances not asked: the request's deadline "
                                         "(PassengerApiRequestTimeout) had passed", too_late));
    return results;
}

void papi_fanout_aggregate(papi_buf *b, apr_pool_t *p, const papi_fanout_config *cfg,
                           const apr_array_header_t *instances, const papi_core_request *req,
                           apr_array_header_t *failures)
{
    apr_array_header_t *results = papi_fanout_collect(p, cfg, instances, req, failures);
    int i;

    papi_buf_putc(b, '[');
    for (i = 0; i < results->nelts; i++) {
        const papi_fanout_result *one = &APR_ARRAY_IDX(results, i, papi_fanout_result);
        if (i)
            papi_buf_putc(b, ',');
        papi_answer_element(b, p, one->inst, &one->res);
    }
    papi_buf_puts(b, "]\n");
}
