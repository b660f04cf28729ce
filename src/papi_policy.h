/* What each access mode allows (README: "Read-only mode", "Full mode"): which requests reach a
 * core, with which of Passenger's credentials, and whether the answer must be scrubbed of secrets
 * first. */
#ifndef PAPI_POLICY_H
#define PAPI_POLICY_H

#include "papi_cred.h"
#include "papi_host.h"

typedef enum { PAPI_ACCESS_READONLY = 0, PAPI_ACCESS_FULL = 1 } papi_access;

typedef struct papi_verdict {
    int status;             /* 0 when allowed, else the HTTP status to refuse with */
    const char *why;        /* the reason for a refusal */
    int write;              /* the request changes state */
    papi_cred_level level;  /* ro_admin for reads, admin for writes */
    int redact;             /* scrub secrets from the answer (read-only mode) */
    int known_405;          /* a read of one of Passenger's write endpoints: no core is asked, each
                             * answers as it answers every read there (papi_core_405) */
} papi_verdict;

/* Decides on method (as the client sent it) to core path (validated, without its query) with
 * the rebuilt query string (NULL or ""). In read-only mode: GET and HEAD only; never pool.json or
 * config.json (they carry environment variables and settings), nor secrets=...; answers are
 * scrubbed. In full mode: also POST, PUT and DELETE, with admin. In both, a GET or HEAD to one of
 * the core's write endpoints is never sent: known_405 says its answer. */
void papi_policy_decide(papi_access mode, const char *method, const char *core_path,
                        const char *query, papi_verdict *v);

/* Decides on method to a request sent straight to an application process: GET and HEAD in
 * read-only mode, without a body (a body is what a read has no use for); also POST, PUT and
 * DELETE in full mode (a write: the forgery rule applies). */
void papi_policy_direct(papi_access mode, const char *method, int has_body, papi_verdict *v);

/* Why a request must be refused as one another site's page made the browser send, or NULL: an
 * Origin header, when present, must be one of this server's own (own: its names, scheme and
 * ports; never the request's Host, which such a page controls by pointing its name here), and a
 * Sec-Fetch-Site header, when present, must say same-origin or none. origin and fetch_site are
 * the request's headers, NULL if absent. */
const char *papi_policy_foreign(const char *origin, const char *fetch_site,
                                const papi_own_names *own);

/* Why a write must be refused as one a web page could have made the browser send, or NULL.
 * A write needs Content-Type: application/json when it is a POST or PUT (no HTML form can send
 * that, and a script on another origin cannot without a CORS preflight nobody answers), and must
 * not come from another site (papi_policy_foreign). */
const char *papi_policy_forgery(const char *method, const char *content_type, const char *origin,
                                const char *fetch_site, const papi_own_names *own);

#endif
