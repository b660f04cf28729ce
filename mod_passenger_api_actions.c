/* mod_passenger_api's dashboard actions (full mode): "Restart" an app group and "Detach" a
 * process, posted by the dashboard's plain forms. As mod_proxy_balancer's balancer-manager does,
 * a post is taken only with the nonce its page carried: random, made in post_config before the
 * children fork (so every child has the same one) and again at every restart, graceful ones
 * included, so a page of an earlier generation acts no more. The form, the comparison and the
 * anti-forgery rule are in src/papi_action.c. */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include "http_protocol.h"

#include <apr_strings.h>

#include "papi_action.h"

/* This generation's nonce; NULL when none could be made (then no action is taken). */
const char *papi_action_nonce;

void papi_actions_init(apr_pool_t *pconf, server_rec *s)
{
    unsigned char random[PAPI_ACTION_NONCE_BYTES];

    papi_action_nonce = NULL;
    if (apr_generate_random_bytes(random, sizeof(random)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PAPI_LOGNO(018) "no random bytes for the "
                     "dashboard's actions: full-mode dashboards show none");
        return;
    }
    papi_action_nonce = papi_action_nonce_text(pconf, random);
}

/* The one instance named by the form, by its whole name; NULL when it is not a good one. */
static const papi_instance *papi_action_instance(const apr_array_header_t *found, const char *name)
{
    int matches;
    const papi_instance *inst = papi_pick(found, name, &matches);

    return inst && !strcmp(inst->name, name) ? inst : NULL;
}

/* What the action is, in the log: "restart of app group /srv/app (production)". */
static const char *papi_action_what(apr_pool_t *p, const papi_action *a)
{
    return a->kind == PAPI_ACTION_RESTART
        ? apr_pstrcat(p, "restart of app group ", a->group, NULL)
        : apr_psprintf(p, "detach of process %" APR_INT64_T_FMT, a->pid);
}

/* POST <Location>/actions: checked, sent to the named instance's core with the admin credential,
 * logged, and answered with a 303 back to the dashboard with a report it shows. */
int papi_route_actions(const papi_call *k)
{
    static const papi_verdict admin = { .level = PAPI_CRED_FULL, .write = 1 };
    request_rec *r = k->r;
    papi_own_names own;
    papi_action a;
    papi_core_request req;
    papi_exchange_result res = { 0, NULL, NULL };
    papi_fanout_config f;
    apr_array_header_t *found;
    const papi_instance *inst;
    const char *why, *location;
    int ok;

    if (papi_conf_access(k->c) != PAPI_ACCESS_FULL || !papi_action_nonce)
        return papi_refuse(r, HTTP_FORBIDDEN, "the dashboard's actions are taken in full mode "
                           "only (PassengerApiAccess full): this <Location> is read-only");
    if (r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "POST");
        return papi_refuse(r, HTTP_METHOD_NOT_ALLOWED, "the dashboard's actions are posted by its "
                           "forms (POST)");
    }
    papi_own_of(r, &own);
    if ((why = papi_action_foreign(apr_table_get(r->headers_in, "Content-Type"),
                                   apr_table_get(r->headers_in, "Origin"),
                                   apr_table_get(r->headers_in, "Sec-Fetch-Site"), &own)))
        return papi_refuse(r, HTTP_FORBIDDEN, why);
    if ((why = papi_action_parse(r->pool, k->body, k->body_len, &a)) != NULL)
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!papi_action_nonce_equal(a.nonce, papi_action_nonce))
        return papi_refuse(r, HTTP_FORBIDDEN, "the form's nonce is missing or not this server's "
                           "(it changes at every restart): reload the dashboard and try again");
    if (!(found = papi_scan(r, k->c, &why)))
        return papi_refuse(r, HTTP_BAD_REQUEST, why);
    if (!(inst = papi_action_instance(found, a.instance)))
        return papi_refuse(r, HTTP_NOT_FOUND, apr_psprintf(r->pool, "no good instance is named "
                           "'%s' (see instances.json)", a.instance));
    papi_action_core_request(r->pool, &a, &req);
    papi_fanout_setup(r, k->c, &admin, &f);
    papi_fanout_call(r->pool, &f, inst, &req, &res);
    ok = !res.failure && papi_action_succeeded(&a, res.resp->status, res.resp->body,
                                               res.resp->body_len);
    if (res.failure)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PAPI_LOGNO(033) "dashboard: %s in "
                      "instance %s failed: %d %s", papi_action_what(r->pool, &a), inst->name,
                      res.failure, res.error);
    else
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, PAPI_LOGNO(042) "dashboard: %s in instance "
                      "%s with the admin credential: %s (the core answered %d)",
                      papi_action_what(r->pool, &a), inst->name, ok ? "done" : "not done",
                      res.resp->status);
    location = papi_action_location(r->pool, k->c->base, &a, ok);
    apr_table_setn(r->headers_out, "Location", location);
    return papi_send(r, HTTP_SEE_OTHER, "text/plain; charset=utf-8", "See the dashboard.\n", 19);
}
