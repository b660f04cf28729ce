/* What each access mode allows (DESIGN.md §3, §5): which requests reach a core, with which of
 * Passenger's credentials, and whether the answer must be scrubbed of secrets first. */
#ifndef PAPI_POLICY_H
#define PAPI_POLICY_H

#include "papi_cred.h"

typedef enum { PAPI_ACCESS_READONLY = 0, PAPI_ACCESS_FULL = 1 } papi_access;

typedef struct papi_verdict {
    int status;             /* 0 when allowed, else the HTTP status to refuse with */
    const char *why;        /* the reason for a refusal */
    int write;              /* the request changes state */
    papi_cred_level level;  /* ro_admin for reads, admin for writes */
    int redact;             /* scrub secrets from the answer (read-only mode) */
} papi_verdict;

/* Decides on method (as the client sent it) to core path (validated, without its query) with
 * the rebuilt query string (NULL or ""). In read-only mode: GET and HEAD only; never the core's
 * write endpoints, pool.json or config.json (they carry environment variables and settings), nor
 * secrets=...; answers are scrubbed. In full mode: also POST, PUT and DELETE, with admin. */
void papi_policy_decide(papi_access mode, const char *method, const char *core_path,
                        const char *query, papi_verdict *v);

/* Decides on method to a request sent straight to an application process: GET and HEAD in
 * read-only mode; also POST, PUT and DELETE in full mode (a write: the forgery rule applies). */
void papi_policy_direct(papi_access mode, const char *method, papi_verdict *v);

/* Why a write must be refused as one a web page could have made the browser send, or NULL.
 * A write needs Content-Type: application/json when it is a POST or PUT (no HTML form can send
 * that, and a script on another origin cannot without a CORS preflight nobody answers), and an
 * Origin or Sec-Fetch-Site header, when present, must say the request comes from this origin.
 * origin, fetch_site and content_type are the request's headers (NULL if absent); own_origin is
 * scheme://host[:port] as the client addressed this server. */
const char *papi_policy_forgery(const char *method, const char *content_type, const char *origin,
                                const char *fetch_site, const char *own_origin);

#endif
