/* The dashboard's actions in full mode: "Restart" an app group, "Detach" a process, posted as
 * plain HTML forms. Like mod_proxy_balancer's balancer-manager, a form is taken only with the
 * nonce its page carried (made once per server generation, compared in constant time) and only
 * from the server's own origin; what happened goes back to the dashboard as a short code it
 * renders itself, never as text from the URL. */
#ifndef PAPI_ACTION_H
#define PAPI_ACTION_H

#include "papi_core.h"
#include "papi_host.h"

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum { PAPI_ACTION_NONE = 0, PAPI_ACTION_RESTART, PAPI_ACTION_DETACH } papi_action_kind;

/* The URL of the actions, after the <Location>'s path. */
#define PAPI_ACTION_PATH "/actions"

/* The random bytes of a nonce; its text is twice as many hex digits. */
#define PAPI_ACTION_NONCE_BYTES 32

/* A posted form: action=restart&instance=<name>&group=<group name>&nonce=<hex>, or
 * action=detach&instance=<name>&pid=<pid>&nonce=<hex>. */
typedef struct papi_action {
    papi_action_kind kind;
    const char *instance;   /* 1-64 letters and digits */
    const char *group;      /* restart: the app group's name */
    apr_int64_t pid;        /* detach: 1 to 2^31-1 */
    const char *nonce;      /* as posted; NULL when the form has none */
} papi_action;

/* What the dashboard is told after an action (its query: done=...&group=... or &pid=...). */
typedef struct papi_action_done {
    papi_action_kind kind;  /* NONE: nothing to say */
    int ok;                 /* done, or the core refused or could not be asked */
    const char *group;      /* restart: the group's name as posted */
    apr_int64_t pid;        /* detach */
} papi_action_done;

/* The nonce's text for random (PAPI_ACTION_NONCE_BYTES bytes): lower-case hex. */
const char *papi_action_nonce_text(apr_pool_t *p, const unsigned char *random);

/* Whether given (a form's nonce, NULL for none) is nonce. The time taken depends on nonce's
 * length only, never on where the two differ. */
int papi_action_nonce_equal(const char *given, const char *nonce);

/* Why a post to the actions must be refused as one another site made the browser send, or NULL:
 * Content-Type must be application/x-www-form-urlencoded; an Origin, when present, one of the
 * server's own (papi_policy_foreign, never the Host); a Sec-Fetch-Site, when present,
 * same-origin. The headers are NULL when absent. */
const char *papi_action_foreign(const char *content_type, const char *origin,
                                const char *fetch_site, const papi_own_names *own);

/* Parses a posted form body[0..len) into *a. NULL, or why it is refused (a missing nonce is not
 * refused here: a->nonce is NULL, for the caller's 403). */
const char *papi_action_parse(apr_pool_t *p, const char *body, apr_size_t len, papi_action *a);

/* The call to the core a's action makes (with the admin credential, filled in by the fan-out):
 * POST /pool/restart_app_group.json {"name": group} or /pool/detach_process.json {"pid": pid}. */
void papi_action_core_request(apr_pool_t *p, const papi_action *a, papi_core_request *req);

/* Whether the core's answer (status, body[0..len)) says the action was done:
 * {"restarted": true} or {"detached": true} with a 200. */
int papi_action_succeeded(const papi_action *a, int status, const char *body, apr_size_t len);

/* Where the dashboard is sent back to after a's action (ok: done): base (the <Location>'s path)
 * + "/?done=...", a path of this server whatever the request said. */
const char *papi_action_location(apr_pool_t *p, const char *base, const papi_action *a, int ok);

/* One field of the dashboard's query, when it is one of the action's report (done, group, pid):
 * 1 when taken into *done, 0 when name is not one of them, -1 with *why when value is bad. */
int papi_action_done_field(apr_pool_t *p, const char *name, const char *value,
                           papi_action_done *done, const char **why);

/* Why the fields papi_action_done_field took do not make one report, or NULL. */
const char *papi_action_done_check(const papi_action_done *done);

#endif
